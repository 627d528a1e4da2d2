"""What paper 1's tasks share to *change* a reasoning: one step negated, and what the task's own model then implies.

The reasoning interventions (Lanham et al. 2023, "Measuring Faithfulness in Chain-of-Thought Reasoning"; the
protocol is `faithex.protocols.interventions`, the model-free orchestration `faithex.faithfulness.interventions`)
change the model's own reasoning and watch whether the answer and the explanation follow. To know what "follow"
means, the task evaluates its own classifier with the changed step forced: that is the *implied output*.

A reasoning is a list of step items joined by the task's `reasoning_separator` (`,` for the compressed trees, `;`
otherwise), ending with the output item. `StepFlip` holds, for one step i of one reasoning:

- `mistake`: the reasoning cut after step i, step i negated, ending with the separator: what the model is asked to
  continue (Lanham's "adding mistakes"; the model writes the later steps and the output itself);
- `implied`: the whole reasoning the forced step implies: the model's own steps before i, step i negated, the later
  steps as the task's model computes them from the forced step (a tree continues down the forced branch, the input
  deciding the comparisons there), then the implied output;
- `conflict`: `implied` with the stated output left as the original reasoning's: steps and output disagree, so an
  answer that follows the steps and one that copies the stated output part ways;
- `implied_output` and `original_output` (the output the unchanged reasoning states): where they are equal the flip
  is a *no-change control*: a model that reasons from the steps keeps its answer.

The steps before i are the model's own, as it wrote them (not the gold ones), because it is the model's reasoning
that is intervened on: for a tree the forced branch is the child of the node the model's own bits lead to.

The *paraphrase* (`rewrite_tree_reasoning` here, `rewrite_reasoning` on each task) changes the words, not the
content: the reasoning written in the task's other format (`faithex.tasks.synthetic.steps`) with the same steps,
right or wrong as the model wrote them, and the same stated output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StepFlip:
    """One step of one reasoning negated (module docstring): the texts the interventions ask with, and what the
    task's model implies."""

    step: int
    mistake: str
    implied: str
    conflict: str
    implied_output: int
    original_output: int

    @property
    def changes_output(self) -> bool:
        """Whether the forced step changes the output; False: a no-change control."""
        return self.implied_output != self.original_output


def split_steps(text: str, separator: str) -> tuple[list[str], str] | None:
    """(step items, output item) of a reasoning, each stripped of surrounding whitespace; None for a text that is not
    a string, is blank, or has no step before its output item. The caller checks with the task's parser that the
    text is a reasoning at all: this only cuts it."""
    if not isinstance(text, str) or not text.strip():
        return None
    items = [item.strip() for item in text.strip().split(separator)]
    if len(items) < 2:
        return None
    return items[:-1], items[-1]


def truncate(steps: Sequence[str], k: int, separator: str) -> str:
    """The reasoning cut after its k-th step (no output item; k = 0: the empty reasoning)."""
    if not 0 <= k <= len(steps):
        raise ValueError(f"a reasoning of {len(steps)} steps is cut after 0..{len(steps)} steps, not {k}")
    return separator.join(steps[:k])


def negate_bit_item(item: str) -> str:
    """A comparison step with its truth bit negated: `1` -> `0` (compressed), `0.6>0.4:1` -> `0.6>0.4:0`
    (verbose: the written comparison kept, its bit flipped, so the step becomes false of its own operands)."""
    head, colon, bit = item.strip().rpartition(":")
    if bit not in ("0", "1"):
        raise ValueError(f"not a step ending with a truth bit: {item!r}")
    return f"{head}{colon}{1 - int(bit)}"


def forced_tree_path(holds: Callable[[int], bool], depth: int, forced: Sequence[int]) -> list[tuple[int, bool]]:
    """(node index, truth) along a heap-ordered tree (children of node n: 2n+1 on true, 2n+2 on false) of `depth`
    comparisons, the first len(forced) truths forced, the others `holds(node)`: the path continues from the forced
    branch, decided by the input there."""
    if len(forced) > depth:
        raise ValueError(f"{len(forced)} forced steps on a path of {depth}")
    path, node = [], 0
    for level in range(depth):
        truth = bool(forced[level]) if level < len(forced) else bool(holds(node))
        path.append((node, truth))
        node = 2 * node + (1 if truth else 2)
    return path


def build_flip(step: int, steps: Sequence[str], output: str, negated: str, later: Sequence[str],
               implied_output: int, separator: str) -> StepFlip:
    """The three texts of one flip from the model's own step items, the negated step i, and the task-computed steps
    after it (see the module docstring)."""
    head = [*steps[:step], negated]
    tail = [*head, *later]
    return StepFlip(
        step=step,
        mistake=separator.join(head) + separator,
        implied=separator.join([*tail, str(implied_output)]),
        conflict=separator.join([*tail, output]),
        implied_output=int(implied_output),
        original_output=int(output),
    )


def flip_tree_step(task, inputs, reasoning: str, step: int) -> StepFlip | None:
    """A path-tree task's flip (decision tree, mortgage): the reasoning's own bits down to `step`, the other branch
    there, `inputs` (the task's own: numbers or an applicant) deciding below it, through the task's `forced_path`
    and `reasoning_text`. None for a text that is not a reasoning of the tree's depth."""
    parts, bits = split_steps(reasoning, task.reasoning_separator), task.parse_reasoning(reasoning)
    if parts is None or bits is None or len(parts[0]) != task.comparisons or not 0 <= step < task.comparisons:
        return None
    path = task.forced_path(inputs, [*bits[:step], 1 - bits[step]])
    implied = int(path[-1][1])
    later = task.reasoning_text(inputs, path, implied).split(task.reasoning_separator)[step + 1:-1]
    return build_flip(step, parts[0], parts[1], negate_bit_item(parts[0][step]), later, implied,
                      task.reasoning_separator)


def flip_all(task, example, reasoning: str, steps: str = "all") -> list[StepFlip]:
    """The flips of every step (`steps="all"`) or of the last one (`"last"`) of a reasoning, for a task with
    `flip_step`; none where the reasoning is not one the task can flip (unreadable, wrong number of steps)."""
    if steps not in ("all", "last"):
        raise ValueError(f"steps must be 'all' or 'last', got {steps!r}")
    parts = split_steps(reasoning, task.reasoning_separator)
    if parts is None:
        return []
    indices = range(len(parts[0])) if steps == "all" else [len(parts[0]) - 1]
    flips = [task.flip_step(example, reasoning, i) for i in indices]
    return [flip for flip in flips if flip is not None]


def rewrite_tree_reasoning(task, inputs, reasoning: str, reasoning_format: str) -> str | None:
    """A path-tree task's reasoning (decision tree, mortgage) in `reasoning_format`: the nodes the written bits lead
    to (the task's `forced_path` with every bit forced), each with its written bit, then the written output, through
    the task's `reasoning_text` in that format. A verbose target writes each node's comparison with `inputs`' value,
    so a wrong bit becomes a step false of its own operands. None for a text that is not a reasoning of the tree's
    depth."""
    bits = task.parse_reasoning(reasoning)
    if bits is None or len(bits) != task.comparisons + 1:
        return None
    path = task.forced_path(inputs, bits[:-1])
    return task.with_reasoning_format(reasoning_format).reasoning_text(inputs, path, bits[-1])
