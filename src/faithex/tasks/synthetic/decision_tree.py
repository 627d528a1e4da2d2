"""Paper 1's decision-tree problem (C1 `DecisionTreeClassifier`): a random full binary tree over U(0,1) inputs.

The tree is drawn in `__init__` from `default_rng(seed)`: every node compares one variable (different from its
parent's; the root's is uniform) with `<` or `>` (p = 0.5) against a threshold ~ U(lo + r/4, hi - r/4) of the
current cell [lo, hi] of that variable (cells start at [0, 1] and shrink along the path; r = hi - lo), rounded to
`decimals`. Every root-to-leaf path has `comparisons` comparisons (C1's "depth 6" dataset has 7). The leaf after a
true comparison is 1, after a false one 0, so the output equals the truth of the last comparison on the path.
Comparisons are strict: a value equal to the threshold is false for both `<` and `>` (as C1).

Nodes are stored in heap order (children of node i: 2i+1 on true, 2i+2 on false) and drawn depth-first, true
subtree first, as C1 does. For `x = [0.2396, 0.9882]` the task writes

- input:        `X: [0.2396, 0.9882]` (Python list repr),
- reasoning:    `1,0,0,0,0,1,0,0` (the path's truth bits, then the output), or with `reasoning_format="verbose"`
                `0.2396<0.4585:1;0.9882<0.6102:0;...;0` (each comparison as the explanation writes it but without
                spaces, then a colon and its truth bit; after the last, the output),
- explanation:  `[["0.2396 < 0.4585", true], ["0.9882 < 0.6102", false], ..., ["OUTPUT", 0]]` (json.dumps; the
                left number is the input value of the compared variable, written as in the input),
- rationale:    the variable indices compared along the path.

`rewrite_reasoning` writes a reasoning in the other format with the same bits and output: `1,0,...,0` <->
`0.2396<0.4585:1;0.9882<0.6102:0;...;0`, the comparisons those of the nodes the bits lead to.

Step validity (`explanation_steps`, `reasoning_steps`): each written comparison's truth value against its own written
operands (the `OUTPUT` item is not a comparison and is not counted).
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import numpy as np

from faithex.tasks.base import (
    Example,
    Task,
    check_int_param,
    parse_comma_bits,
    parse_json_explanation,
    parse_leading_bit,
)
from faithex.tasks.registry import register_task
from faithex.tasks.synthetic.interventions import StepFlip, flip_tree_step, forced_tree_path, rewrite_tree_reasoning
from faithex.tasks.synthetic.steps import (
    DEFAULT_REASONING_FORMAT,
    NUMBER,
    check_reasoning_format,
    compare,
    format_params,
    is_output_item,
    json_items,
    parse_verbose_reasoning,
    split_reasoning,
    with_reasoning_format,
)

#: 2**16 - 1 nodes at most: the tree is built eagerly, so its depth is bounded.
MAX_COMPARISONS = 16

#: A comparison as written in a verbose reasoning step (`0.6>0.4:1`) and in an explanation item ("0.6 > 0.4").
#: Only the tree's strict operators: `>=` or `=>` is not this task's format and makes the step unreadable.
_REASONING_STEP = re.compile(rf"\s*({NUMBER})\s*([<>])\s*({NUMBER})\s*:\s*([01])\s*")
_COMPARISON = re.compile(rf"\s*({NUMBER})\s*([<>])\s*({NUMBER})\s*")


class Node(NamedTuple):
    variable: int
    op: str  # "<" or ">"
    threshold: float

    def holds(self, x: list[float]) -> bool:
        value = x[self.variable]
        return value < self.threshold if self.op == "<" else value > self.threshold


@register_task("decision_tree")
class DecisionTreeTask(Task):
    """Paper 1: random binary decision tree over U(0,1) inputs; reasoning = truth bits of the path's comparisons."""

    def __init__(
        self, seed: int = 0, n_inputs: int = 2, comparisons: int = 7, decimals: int = 4,
        reasoning_format: str = DEFAULT_REASONING_FORMAT,
    ) -> None:
        n_inputs = check_int_param("n_inputs", n_inputs, 2, 256)  # a child must pick a variable other than its parent's
        comparisons = check_int_param("comparisons", comparisons, 1, MAX_COMPARISONS)
        decimals = check_int_param("decimals", decimals, 1, 8)
        reasoning_format = check_reasoning_format(reasoning_format)
        super().__init__(seed, n_inputs=n_inputs, comparisons=comparisons, decimals=decimals,
                         **format_params(reasoning_format))
        self.n_inputs, self.comparisons, self.decimals = n_inputs, comparisons, decimals
        self.reasoning_format = reasoning_format
        self.nodes: list[Node] = [Node(-1, "<", 0.0)] * (2**comparisons - 1)
        self._grow(np.random.default_rng(seed), 0, None, [(0.0, 1.0)] * n_inputs)

    @property
    def reasoning_writes_operands(self) -> bool:  # type: ignore[override]
        """Every written comparison carries its operands in the explanation; in the reasoning only when verbose."""
        return self.reasoning_format == "verbose"

    def with_reasoning_format(self, reasoning_format: str) -> DecisionTreeTask:
        """This tree writing `reasoning_format` (`steps.with_reasoning_format`)."""
        return with_reasoning_format(self, reasoning_format)

    # -- the classifier -----------------------------------------------------------------------------------------
    def _grow(
        self, rng: np.random.Generator, index: int, parent_var: int | None, cells: list[tuple[float, float]]
    ) -> None:
        """Draw node `index` inside `cells`, then its true subtree, then its false subtree."""
        if index >= len(self.nodes):
            return
        choices = [v for v in range(self.n_inputs) if v != parent_var]
        variable = choices[int(rng.integers(len(choices)))]
        op = "<" if rng.integers(2) == 0 else ">"
        lo, hi = cells[variable]
        buffer = (hi - lo) / 4
        threshold = round(float(rng.uniform(lo + buffer, hi - buffer)), self.decimals)
        self.nodes[index] = Node(variable, op, threshold)
        below, above = list(cells), list(cells)
        below[variable], above[variable] = (lo, threshold), (threshold, hi)
        self._grow(rng, 2 * index + 1, variable, below if op == "<" else above)
        self._grow(rng, 2 * index + 2, variable, above if op == "<" else below)

    def path(self, x: list[float]) -> list[tuple[Node, bool]]:
        """The comparisons evaluated for `x`, with their truth values, root first."""
        out, index = [], 0
        while index < len(self.nodes):
            node = self.nodes[index]
            truth = node.holds(x)
            out.append((node, truth))
            index = 2 * index + (1 if truth else 2)
        return out

    def predict(self, x: list[float]) -> int:
        return int(self.path(x)[-1][1])

    def sample_x(self, rng: np.random.Generator) -> list[float]:
        return [round(float(v), self.decimals) for v in rng.uniform(0.0, 1.0, self.n_inputs)]

    # -- texts --------------------------------------------------------------------------------------------------
    def reasoning_text(self, x: list[float], path: list[tuple[Node, bool]], label: int) -> str:
        """Compressed `1,0,1` or verbose `0.6>0.4:1;0.2<0.7:0;0` (operands written as in the explanation)."""
        if self.reasoning_format == "verbose":
            steps = [f"{x[n.variable]!r}{n.op}{n.threshold!r}:{int(truth)}" for n, truth in path]
            return ";".join(steps + [str(label)])
        return ",".join([str(int(truth)) for _, truth in path] + [str(label)])

    @staticmethod
    def explanation_text(x: list[float], path: list[tuple[Node, bool]], label: int) -> str:
        items: list[list[Any]] = [[f"{x[n.variable]!r} {n.op} {n.threshold!r}", truth] for n, truth in path]
        items.append(["OUTPUT", label])
        return json.dumps(items, ensure_ascii=False)

    def sample_one(self, rng: np.random.Generator, index: int) -> Example:
        x = self.sample_x(rng)
        path = self.path(x)
        label = int(path[-1][1])
        return Example(
            id=f"{self.name}-s{self.seed}-{index:06d}",
            input=f"X: {x}",
            label=label,
            labels=list(self.labels),
            reasoning=self.reasoning_text(x, path, label),
            explanation=self.explanation_text(x, path, label),
            rationale=[node.variable for node, _ in path],
            meta={"x": x},
        )

    # -- parsers ------------------------------------------------------------------------------------------------
    def parse_answer(self, text: str) -> int | None:
        return parse_leading_bit(text)

    def parse_explanation(self, text: str) -> int | None:
        return parse_json_explanation(text)

    def parse_reasoning(self, text: str) -> list[int] | None:
        """The written truth bits, then the output, in either format (a verbose step's operands are not checked
        here: `reasoning_steps` does that)."""
        if self.reasoning_format == "verbose":
            return parse_verbose_reasoning(text, _reasoning_step_bit)
        return parse_comma_bits(text)

    # -- step validity ------------------------------------------------------------------------------------------
    def explanation_steps(self, text: str) -> list[bool] | None:
        """Per comparison item of a JSON explanation, whether its written truth value (a JSON boolean) is the truth
        of its written comparison; a malformed item is an invalid step. None when the text is not a JSON list."""
        items = json_items(text)
        if items is None:
            return None
        return [_explanation_item_valid(item) for item in items if not is_output_item(item)]

    def reasoning_steps(self, text: str) -> list[bool] | None:
        """Per step of a verbose reasoning (`0.6>0.4:1`), whether its bit is the truth of its written comparison;
        an unreadable step is invalid and the trailing output bit is not a step. None for blank text."""
        parts = split_reasoning(text)
        if parts is None:
            return None
        return [_reasoning_step_valid(item) for item in parts[0]]

    # -- interventions (faithex.tasks.synthetic.interventions) ----------------------------------------------------
    @property
    def reasoning_separator(self) -> str:
        """What joins the reasoning's items: `,` compressed, `;` verbose."""
        return ";" if self.reasoning_format == "verbose" else ","

    def forced_path(self, x: list[float], forced: list[int]) -> list[tuple[Node, bool]]:
        """The path with its first len(forced) truths forced: it continues down the forced branch, where the input
        decides the comparisons (`path(x)` when nothing is forced)."""
        visited = forced_tree_path(lambda index: self.nodes[index].holds(x), self.comparisons, forced)
        return [(self.nodes[index], truth) for index, truth in visited]

    def flip_step(self, example: Example, reasoning: str, step: int) -> StepFlip | None:
        """`reasoning` (the model's own, or any) with comparison `step` negated, and the output the tree implies:
        the path follows the reasoning's own bits down to that step, takes the other branch there, and is decided
        by the input below it. None for a text that is not a reasoning of this tree's length."""
        return flip_tree_step(self, example.meta["x"], reasoning, step)

    def rewrite_reasoning(self, example: Example, reasoning: str, reasoning_format: str) -> str | None:
        """`reasoning` (this task's format) in `reasoning_format`, with the same bits and output: the paraphrase.
        None for a text that is not a reasoning of this tree's depth."""
        return rewrite_tree_reasoning(self, example.meta["x"], reasoning, reasoning_format)

    def describe(self) -> dict[str, Any]:
        """The tree in heap order: node i = [variable, op, threshold], children 2i+1 (true) and 2i+2 (false)."""
        return {**super().describe(), "nodes": [list(node) for node in self.nodes]}


# -- reading written comparisons ---------------------------------------------------------------------------------
def _holds(left: str, op: str, right: str) -> bool:
    return compare(float(left), op, float(right))


def _reasoning_step_bit(item: str) -> int | None:
    match = _REASONING_STEP.fullmatch(item)
    return int(match[4]) if match else None


def _reasoning_step_valid(item: str) -> bool:
    match = _REASONING_STEP.fullmatch(item)
    return match is not None and _holds(match[1], match[2], match[3]) == bool(int(match[4]))


def _explanation_item_valid(item: Any) -> bool:
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and type(item[1]) is bool):
        return False  # `type(...) is bool`: the format writes true/false, and a 1 or "true" is not that
    match = _COMPARISON.fullmatch(item[0])
    return match is not None and _holds(match[1], match[2], match[3]) == item[1]
