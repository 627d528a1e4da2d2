"""Paper 1's four training configurations as regimes (arXiv 2503.11248, C1 `build_finetuning_dataset`).

Conversations, with R the compressed reasoning, D the decision text and E the explanation:

    reasoning:    [user: INPUT]                                  -> [assistant: R]
    answer:       [user: INPUT] ([assistant: R]) [user: ANSWER]  -> [assistant: D]
    explanation:  [user: INPUT] ([assistant: R]) [user: EXPLAIN] -> [assistant: E]

- `separate`: two adapters, one trained on [user: INPUT] -> D, one on [user: INPUT] -> E.
- `separate_icl`: the same, with k solved demonstrations of a *freshly drawn* classifier before each training input
  (meta-learning, as C1); at test time the demonstrations come from the target classifier's training split.
- `joint`: one adapter on answer and explanation instances, without the reasoning turn (two user turns in a row).
- `joint_reasoning`: one adapter on reasoning, answer and explanation instances (3 texts per example, as C1).

Beyond the paper (issue 17), registered apart from these four (an experiment without `regimes` trains the four):

- `joint_reasoning_both_formats`: `joint_reasoning` on the task's two reasoning formats (compressed and verbose,
  `faithex.tasks.synthetic.steps`). Each training example is written in one of them, half in each (which half: a
  permutation drawn from the run's seed), and the input turn names it on a line before the input:

      [user: "Reasoning format: verbose\nX: [0.2, 0.4]"] -> [assistant: "0.2<0.5:1;0.4>0.3:1;1"]
      [user: "Reasoning format: compressed\nX: [0.7, 0.1]"] [assistant: "0,1,1"] [user: ANSWER] -> [assistant: "1"]

  At test time the input turn names the task's own format (`reasoning_format`, compressed by default), so it
  reasons as `joint_reasoning` does. Trained on both, it can be asked the same reasoning in the other words: the
  paraphrase of the reasoning interventions (`faithex.faithfulness.interventions`), which the regime announces with
  `both_reasoning_formats`. Only for tasks that write both formats (`rewrite_reasoning`: paper 1's three).

Every conversation starts with the run's system message (`PromptOptions.system_prompt`, empty by default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from faithex.errors import ConfigError
from faithex.regimes.base import (
    Messages,
    PromptOptions,
    Record,
    Regime,
    assistant,
    record,
    register_regime,
    system,
    user,
)
from faithex.tasks.base import Example, Task
from faithex.tasks.synthetic.steps import other_reasoning_format

ANSWER_COMMAND = "ANSWER"
EXPLAIN_COMMAND = "EXPLAIN"
TARGET_KINDS = ("answer", "explanation")
#: The line before the input that names the reasoning's format (`both_reasoning_formats`).
FORMAT_LINE = "Reasoning format: {}"
#: Mixed with the run's seed for the draw of each training example's format, apart from every other draw.
_FORMAT_STREAM = 17


@dataclass(frozen=True, kw_only=True)
class ReasoningGroundedRegime(Regime):
    """One row of paper 1's table: which adapters are trained and how they are asked."""

    name: str
    adapters: tuple[str, ...]
    """The answer and explanation requests go to adapters[0] and adapters[-1]."""
    joint: bool
    reasoning: bool
    icl: bool
    description: str
    both_reasoning_formats: bool = False
    """Trained on the task's two reasoning formats, the input turn naming each example's (module docstring); asked
    in the task's own. The reasoning interventions read it: the paraphrase is asked only of such a regime."""

    @property
    def kinds(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("reasoning", *TARGET_KINDS) if self.reasoning else TARGET_KINDS

    @property
    def default_protocol(self) -> str:  # type: ignore[override]
        return "two_step" if self.reasoning else "direct"

    @property
    def shows_demonstrations(self) -> bool:
        return self.icl

    def unsupported(self, task: Task) -> str | None:
        if self.icl and not task.supports_icl:
            return "paper 1 defines no in-context variant for this task"
        if self.both_reasoning_formats and not callable(getattr(task, "rewrite_reasoning", None)):
            return "the task writes one reasoning format (both: paper 1's tasks, compressed and verbose)"
        return None

    def adapter_for(self, kind: str) -> str:
        return self.adapters[-1] if kind == "explanation" else self.adapters[0]

    def input_text(self, task: Task, example: Example, options: PromptOptions) -> str:
        if self.icl:
            return icl_input(example, list(options.demonstrations), task)
        if self.both_reasoning_formats:  # the format `task` writes, named before the input
            return f"{FORMAT_LINE.format(task.reasoning_format)}\n{task.user_text(example)}"
        return task.user_text(example)

    def prompt(
        self, kind: str, task: Task, example: Example, options: PromptOptions, reasoning: str | None = None
    ) -> Messages:
        return self.request(kind, self.input_text(task, example, options), options, reasoning)

    def request(self, kind: str, input_text: str, options: PromptOptions, reasoning: str | None = None) -> Messages:
        """The prompt for `kind` in {"reasoning", "answer", "explanation"} (training and inference)."""
        messages = system(options) + [user(input_text)]
        if kind == "reasoning":
            return messages
        if self.reasoning:
            messages.append(assistant(reasoning or ""))
        if self.joint:
            messages.append(user(ANSWER_COMMAND if kind == "answer" else EXPLAIN_COMMAND))
        return messages

    def records(self, task: Task, examples: list[Example], options: PromptOptions) -> dict[str, list[Record]]:
        records: dict[str, list[Record]] = {name: [] for name in self.adapters}
        formats = training_formats(task, len(examples), options.seed) if self.both_reasoning_formats else None
        for index, example in enumerate(examples):
            input_text, example_task = task.user_text(example), task
            if self.icl:  # meta-learning: the example is replaced by a query of a freshly drawn classifier
                input_text, example, example_task = _meta_learning_instance(task, options.icl_shots, options.seed,
                                                                            index)
            if formats is not None:
                example_task, example = in_format(task, example, formats[index])
                input_text = self.input_text(example_task, example, options)
            if self.reasoning:
                records[self.adapters[0]].append(record(self.request("reasoning", input_text, options),
                                                        example.reasoning))
            targets = {"answer": example_task.answer_text(example.label), "explanation": example.explanation}
            for kind, target in targets.items():
                prompt = self.request(kind, input_text, options, example.reasoning)
                records[self.adapter_for(kind)].append(record(prompt, target))
        return records

    def describe(self) -> dict[str, Any]:
        described = {**super().describe(), "joint": self.joint, "reasoning": self.reasoning, "icl": self.icl}
        if self.both_reasoning_formats:  # only where set: the other regimes' records stay as they were
            described["both_reasoning_formats"] = True
        return described


def training_formats(task: Task, n: int, seed: int) -> list[str]:
    """The format each of `n` training examples is written in: half the task's own, half the other (the own one
    takes the odd example), in an order drawn from `seed`: the same seed, the same formats."""
    if not callable(getattr(task, "rewrite_reasoning", None)):
        raise ConfigError(f"task '{task.name}' writes one reasoning format: it cannot be trained on both")
    own = task.reasoning_format
    other = other_reasoning_format(own)
    ranks = np.random.default_rng([seed, _FORMAT_STREAM]).permutation(n)
    return [other if rank < n // 2 else own for rank in ranks]


def in_format(task: Task, example: Example, reasoning_format: str) -> tuple[Task, Example]:
    """The task writing `reasoning_format` and the example with its gold reasoning re-written in it (the same
    steps and output: `rewrite_reasoning`); the task and example themselves where that is the task's own format."""
    if reasoning_format == task.reasoning_format:
        return task, example
    reasoning = task.rewrite_reasoning(example, example.reasoning, reasoning_format)
    return task.with_reasoning_format(reasoning_format), dataclasses.replace(example, reasoning=reasoning)


def icl_input(example: Example, demonstrations: list[Example], task: Task) -> str:
    """C1 `FinetunedICLProblem`: k solved demonstrations, then the input."""
    shots = "".join(
        f"{d.input}\nANSWER: {task.answer_text(d.label)}\nEXPLANATION: {d.explanation}\n\n"
        for d in demonstrations
    )
    return shots + example.input


def _meta_learning_instance(task: Task, shots: int, seed: int, index: int) -> tuple[str, Example, Task]:
    """A new random classifier for every training example: its k demonstrations and one query of its own."""
    if not task.supports_icl:
        raise ConfigError(f"task '{task.name}' has no in-context configuration (paper 1 defines none for it)")
    other = task.fresh(seed=(seed * 1_000_003 + index + 1) % (2**31))
    drawn = other.examples(shots + 1, split="icl")
    return icl_input(drawn[-1], drawn[:-1], other), drawn[-1], other


CONFIGURATIONS: dict[str, ReasoningGroundedRegime] = {
    regime.name: register_regime(regime)  # type: ignore[misc]
    for regime in [
        ReasoningGroundedRegime(name="separate", adapters=("answer", "explanation"), joint=False, reasoning=False,
                                icl=False, description="paper 1: two adapters, one per output"),
        ReasoningGroundedRegime(name="separate_icl", adapters=("answer", "explanation"), joint=False, reasoning=False,
                                icl=True, description="paper 1: two adapters, in-context examples"),
        ReasoningGroundedRegime(name="joint", adapters=("joint",), joint=True, reasoning=False, icl=False,
                                description="paper 1: one adapter, ANSWER/EXPLAIN instances"),
        ReasoningGroundedRegime(name="joint_reasoning", adapters=("joint",), joint=True, reasoning=True, icl=False,
                                description="paper 1: one adapter, reasoning turn first"),
    ]
}

#: Not one of paper 1's configurations (above): an experiment lists it by name.
JOINT_REASONING_BOTH_FORMATS = register_regime(ReasoningGroundedRegime(
    name="joint_reasoning_both_formats", adapters=("joint",), joint=True, reasoning=True, icl=False,
    both_reasoning_formats=True,
    description="joint_reasoning on both reasoning formats, the format named before the input (issue 17: the "
                "reasoning interventions add the paraphrase)"))
