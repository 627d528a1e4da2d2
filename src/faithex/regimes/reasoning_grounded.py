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

Every conversation starts with the run's system message (`PromptOptions.system_prompt`, empty by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

ANSWER_COMMAND = "ANSWER"
EXPLAIN_COMMAND = "EXPLAIN"
TARGET_KINDS = ("answer", "explanation")


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
        return None

    def adapter_for(self, kind: str) -> str:
        return self.adapters[-1] if kind == "explanation" else self.adapters[0]

    def input_text(self, task: Task, example: Example, options: PromptOptions) -> str:
        return icl_input(example, list(options.demonstrations), task) if self.icl else task.user_text(example)

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
        for index, example in enumerate(examples):
            input_text, example_task = task.user_text(example), task
            if self.icl:  # meta-learning: the example is replaced by a query of a freshly drawn classifier
                input_text, example, example_task = _meta_learning_instance(task, options.icl_shots, options.seed,
                                                                            index)
            if self.reasoning:
                records[self.adapters[0]].append(record(self.request("reasoning", input_text, options),
                                                        example.reasoning))
            targets = {"answer": example_task.answer_text(example.label), "explanation": example.explanation}
            for kind, target in targets.items():
                prompt = self.request(kind, input_text, options, example.reasoning)
                records[self.adapter_for(kind)].append(record(prompt, target))
        return records

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "joint": self.joint, "reasoning": self.reasoning, "icl": self.icl}


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
