"""Regimes whose output is a label: the zero-shot baseline and label-only fine-tuning.

    [system] [user: INSTRUCTION + INPUT] -> [assistant: LABEL NAME]

`zero_shot` trains nothing: the base model is asked with the same prompt, so any task gets a baseline. `label_only`
trains one adapter on the label name alone (paper 2's baseline; paper 3's classification task).
`label_only_instructed` is `label_only` with the task's system instruction (`Task.system_text`) as its system message
instead of the run's (paper 2's "with system instruction" condition).
"""

from __future__ import annotations

from dataclasses import dataclass

from faithex.regimes.base import (
    Messages,
    PromptOptions,
    Record,
    Regime,
    classify_turns,
    record,
    register_regime,
)
from faithex.tasks.base import Example, Task


@dataclass(frozen=True, kw_only=True)
class LabelRegime(Regime):
    name: str
    adapters: tuple[str, ...]
    description: str
    instructed: bool = False
    """System message: the task's instruction (True) or the run's system prompt (False)."""

    def prompt(
        self, kind: str, task: Task, example: Example, options: PromptOptions, reasoning: str | None = None
    ) -> Messages:
        return classify_turns(task, self.input_text(task, example, options), options, self.instructed)

    def records(self, task: Task, examples: list[Example], options: PromptOptions) -> dict[str, list[Record]]:
        rows = [record(self.prompt("answer", task, e, options), task.answer_text(e.label)) for e in examples]
        return {name: rows for name in self.adapters}


ZERO_SHOT = register_regime(LabelRegime(name="zero_shot", adapters=(),
                                       description="the base model asked for the label, no training"))
LABEL_ONLY = register_regime(LabelRegime(name="label_only", adapters=("label",),
                                         description="one adapter trained to answer the label name"))
LABEL_ONLY_INSTRUCTED = register_regime(LabelRegime(
    name="label_only_instructed", adapters=("label",), instructed=True,
    description="label_only with the task's system instruction as the system message"))
