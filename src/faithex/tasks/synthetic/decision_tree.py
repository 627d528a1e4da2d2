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
- reasoning:    `1,0,0,0,0,1,0,0` (the path's truth bits, then the output),
- explanation:  `[["0.2396 < 0.4585", true], ["0.9882 < 0.6102", false], ..., ["OUTPUT", 0]]` (json.dumps; the
                left number is the input value of the compared variable, written as in the input),
- rationale:    the variable indices compared along the path.
"""

from __future__ import annotations

import json
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

#: 2**16 - 1 nodes at most: the tree is built eagerly, so its depth is bounded.
MAX_COMPARISONS = 16


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

    def __init__(self, seed: int = 0, n_inputs: int = 2, comparisons: int = 7, decimals: int = 4) -> None:
        n_inputs = check_int_param("n_inputs", n_inputs, 2, 256)  # a child must pick a variable other than its parent's
        comparisons = check_int_param("comparisons", comparisons, 1, MAX_COMPARISONS)
        decimals = check_int_param("decimals", decimals, 1, 8)
        super().__init__(seed, n_inputs=n_inputs, comparisons=comparisons, decimals=decimals)
        self.n_inputs, self.comparisons, self.decimals = n_inputs, comparisons, decimals
        self.nodes: list[Node] = [Node(-1, "<", 0.0)] * (2**comparisons - 1)
        self._grow(np.random.default_rng(seed), 0, None, [(0.0, 1.0)] * n_inputs)

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
    @staticmethod
    def reasoning_text(path: list[tuple[Node, bool]], label: int) -> str:
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
            reasoning=self.reasoning_text(path, label),
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
        return parse_comma_bits(text)

    def describe(self) -> dict[str, Any]:
        """The tree in heap order: node i = [variable, op, threshold], children 2i+1 (true) and 2i+2 (false)."""
        return {**super().describe(), "nodes": [list(node) for node in self.nodes]}
