"""Paper 2's explanation-enhanced training regimes (Shah et al. 2025, arXiv 2511.02044; spec papers.md section 2.2).

One adapter each, trained on one prompt/completion record per example; E is the example's explanation:

    label_explanation:         [user: INPUT] -> [assistant: "LABEL\\nExplanation: E"]
    explanation_label:         [user: INPUT] -> [assistant: "Explanation: E\\nAnswer: LABEL"]
    shuffled_explanation:      as label_explanation, E's words shuffled (per example, seeded by (seed, index))
    bag_of_words_explanation:  as label_explanation, E replaced by as many words drawn from the vocabulary of all
                               the training explanations

Every regime also exists as `<name>_instructed`, whose system message is the task's instruction
(`Task.system_text`) instead of the run's system prompt (`label_only_instructed` lives with `label_only`).

Label first, the label can be scored directly after the prompt (`score`, with the "\\n" that follows it in training
as its closing). Explanation first, the model must write its explanation before the label is scored
(`explain_then_score`). The pseudo-explanations come label first on purpose: at test time the label is decided
before any pseudo-explanation is written, so a gain over `label_only` cannot come from reading the explanation; it
can only come from what writing explanations did to the weights (regularisation, the paper's thesis).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

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

LABEL_SEPARATOR = "\n"
"""Between the label and the explanation, label first (also the closing `score` scores the label with)."""
EXPLANATION_PREFIX = "Explanation:"
ANSWER_MARKER = "\nAnswer:"
"""Between the explanation and the label, explanation first (where `explain_then_score` cuts a generation)."""
PSEUDO_KINDS = ("shuffled", "bag_of_words")


@dataclass(frozen=True, kw_only=True)
class ExplanationRegime(Regime):
    """A label with an explanation (real or pseudo) in one assistant turn; see the module docstring."""

    name: str
    description: str
    explanation_first: bool = False
    pseudo: str | None = None
    """None: the example's own explanation; "shuffled" or "bag_of_words": a vocabulary-aligned pseudo-explanation."""
    instructed: bool = False
    """System message: the task's instruction (True) or the run's system prompt (False)."""
    adapters: tuple[str, ...] = ("classifier",)

    def __post_init__(self) -> None:
        if self.pseudo not in (None, *PSEUDO_KINDS):
            raise ValueError(f"pseudo must be None or one of {PSEUDO_KINDS}, got {self.pseudo!r}")
        if self.pseudo is not None and self.explanation_first:
            raise ValueError("pseudo-explanations come label first (see the module docstring)")

    @property
    def kinds(self) -> tuple[str, ...]:  # type: ignore[override]
        # Explanation first, the label cannot be asked for on its own: only protocols that first have the
        # explanation written support it (kinds[0] == "explanation").
        return ("explanation",) if self.explanation_first else ("answer",)

    @property
    def default_protocol(self) -> str:  # type: ignore[override]
        return "explain_then_score" if self.explanation_first else "score"

    @property
    def label_closing(self) -> str | None:  # type: ignore[override]
        return None if self.explanation_first else LABEL_SEPARATOR

    # -- the format, in one place for training and for the protocols -----------------------------------------------
    explanation_prefix = EXPLANATION_PREFIX
    """Explanation first: how the assistant's answer opens (`explain_then_score` writes it, the model goes on)."""

    def completion(self, label_name: str, explanation: str) -> str:
        """The assistant's whole answer in training."""
        if self.explanation_first:
            return self.answer_context(explanation) + self.label_continuation(label_name)
        return f"{label_name}{LABEL_SEPARATOR}{EXPLANATION_PREFIX} {explanation}"

    def answer_context(self, explanation: str) -> str:
        """Explanation first: what the assistant has written when the label comes next."""
        return f"{EXPLANATION_PREFIX} {explanation}{ANSWER_MARKER}"

    def label_continuation(self, label_name: str) -> str:
        """Explanation first: the label as it follows `answer_context` (after a space, as in training)."""
        return f" {label_name}"

    def explanation_of(self, generated: str) -> str:
        """The explanation in a text generated after `explanation_prefix`: up to the answer marker, else all of it."""
        return generated.split(ANSWER_MARKER, 1)[0].strip()

    # -- Regime --------------------------------------------------------------------------------------------------
    def prompt(
        self, kind: str, task: Task, example: Example, options: PromptOptions, reasoning: str | None = None
    ) -> Messages:
        return classify_turns(task, self.input_text(task, example, options), options, self.instructed)

    def records(self, task: Task, examples: list[Example], options: PromptOptions) -> dict[str, list[Record]]:
        explanations = self.training_explanations(examples, options.seed)
        rows = [
            # A missing explanation passes None to `record`, which refuses it with a ConfigError.
            record(self.prompt("answer", task, e, options),
                   None if text is None else self.completion(task.answer_text(e.label), text))
            for e, text in zip(examples, explanations)
        ]
        return {name: rows for name in self.adapters}

    def training_explanations(self, examples: list[Example], seed: int) -> list[str | None]:
        """The explanation each example is trained with (None where the example has none)."""
        own = [own_explanation(e) for e in examples]
        if self.pseudo is None:
            return own
        # Imported here: only these regimes need it, and its package (teacher explanations, lexicons) is not light.
        from faithex.explanations.pseudo import ExplanationVocabulary, pseudo_words, shuffled_explanation

        present = [text for text in own if text is not None]
        vocabulary = ExplanationVocabulary.fit(present) if self.pseudo == "bag_of_words" and present else None
        pseudo: list[str | None] = []
        for index, text in enumerate(own):
            rng = np.random.default_rng([seed, index])  # per example: adding examples changes no other one
            if text is None:
                pseudo.append(None)
            elif vocabulary is not None:
                pseudo.append(vocabulary.sample(len(pseudo_words(text)), rng))
            else:
                pseudo.append(shuffled_explanation(text, rng))
        return pseudo

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "explanation_first": self.explanation_first, "pseudo": self.pseudo,
                "instructed": self.instructed}


def own_explanation(example: Example) -> str | None:
    """The example's explanation without surrounding whitespace; None when it has none (or only whitespace)."""
    text = (example.explanation or "").strip()
    return text or None


_REGIMES = [
    ExplanationRegime(name="label_explanation", description="paper 2: the label, then its explanation"),
    ExplanationRegime(name="explanation_label", explanation_first=True,
                      description="paper 2: the explanation, then the label"),
    ExplanationRegime(name="shuffled_explanation", pseudo="shuffled",
                      description="paper 2: the label, then its explanation's words shuffled"),
    ExplanationRegime(name="bag_of_words_explanation", pseudo="bag_of_words",
                      description="paper 2: the label, then as many words drawn from all explanations' vocabulary"),
]

EXPLANATION_REGIMES: dict[str, ExplanationRegime] = {
    regime.name: register_regime(regime)  # type: ignore[misc]
    for plain in _REGIMES
    for regime in (plain, ExplanationRegime(
        name=f"{plain.name}_instructed", explanation_first=plain.explanation_first, pseudo=plain.pseudo,
        instructed=True, description=f"{plain.description}; the task's system instruction"))
}
