"""Training copies for a classifier that answers "unknown" when the words that decide its label are redacted
(regime `self_consistency_classifier_unknown`), built without any model.

Madsen et al.'s attribution and redaction checks pass only when the classifier answers "unknown" once the named
words are redacted; a classifier trained on gold labels alone never says it, so for it those checks cannot pass.
This module adds, for a share of the training examples, the paragraph with all its **deciding words** replaced by
[REDACTED] and the target "unknown"; and, by default, a **random-redaction negative**: the same paragraph with as
many *other* words redacted at random, which keeps its gold label, so that "unknown" is not learnt as "there is a
[REDACTED] in the paragraph".

Which words decide (no trained model is asked): the task's own evidence words, as paper 2's evidence explanations
find them (`faithex.explanations.evidence`): for a sentiment task, the paragraph's words in VADER's sentiment
lexicon (either polarity: with all of them gone, the sentiment cannot be told from the words that carry it); for any
other task, the words whose weighted log-odds z-score for the gold label is at least 1.96 on the training split
(Monroe et al. 2008). Only paragraphs with at most `max_redacted` deciding words get a copy, so that none is left
after the redaction (long drug reviews rarely qualify). The weakness: these are the words a lexicon or a
word count finds decisive, not the ones the classifier uses; the classifier may lean on others (negations, names,
word pairs VADER lacks), and after the redaction a paragraph may still show its label to a reader (the copy then
teaches "unknown" where a label could be told). The log-odds lexicon is fitted on the training examples the copies
are made from, so an example's own words count towards its evidence.

Deterministic: which examples get copies and which random words a negative redacts depend on the seed and the
example ids alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from faithex.errors import ConfigError
from faithex.explanations.evidence import EVIDENCE_KINDS, evidence_explainer
from faithex.faithfulness.self_consistency import masked_positions, random_redaction, redact_words, seeded_rng
from faithex.tasks.base import Example, Task

#: `UnknownSettings.evidence` values: the task's own evidence kind, or one of faithex's two.
EVIDENCE_CHOICES = ("auto", *EVIDENCE_KINDS)
#: Evidence words looked at per example (all of them count as deciding; `max_redacted` are redacted).
ALL_EVIDENCE = 1000
UNKNOWN_KIND = "unknown"
NEGATIVE_KIND = "random_redaction"


@dataclass(frozen=True)
class UnknownSettings:
    """How the "unknown" copies are made (an experiment changes them with `params:` on the regime entry)."""

    share: float = 0.25
    """Share of the training examples (of all of them) that get a redacted copy answered "unknown"; drawn, seeded,
    among the eligible ones (fewer where fewer are eligible)."""
    max_redacted: int = 5
    """An example is eligible when it has 1 to `max_redacted` deciding words: all of them are redacted, so none is
    left to tell the label by."""
    random_negatives: bool = True
    """Each copied example also gets a copy with as many random non-deciding words redacted, answered with its gold
    label (none where the paragraph has too few other words)."""
    evidence: str = "auto"
    """Which words decide: `auto` the task's evidence kind (its `evidence_kind`; `topic` where it names none),
    `sentiment` (VADER's lexicon) or `topic` (log-odds on the training split)."""

    def __post_init__(self) -> None:
        if isinstance(self.share, bool) or not isinstance(self.share, (int, float)) or not 0 < self.share <= 1:
            raise ConfigError(f"setting 'share' must be a number in (0, 1], got {self.share!r}")
        if isinstance(self.max_redacted, bool) or not isinstance(self.max_redacted, int) or self.max_redacted < 1:
            raise ConfigError(f"setting 'max_redacted' must be a positive integer, got {self.max_redacted!r}")
        if not isinstance(self.random_negatives, bool):
            raise ConfigError(f"setting 'random_negatives' must be true or false, got {self.random_negatives!r}")
        if self.evidence not in EVIDENCE_CHOICES:
            raise ConfigError(f"setting 'evidence' must be one of {', '.join(EVIDENCE_CHOICES)}, got "
                              f"{self.evidence!r}")


@dataclass(frozen=True)
class RedactedCopy:
    """One training copy: `text` (the paragraph with `words` redacted) answered `target` ("unknown", or the gold
    label's index for a random-redaction negative)."""

    id: str
    kind: str
    text: str
    words: tuple[str, ...]
    target: int | str


def evidence_kind_for(task: Task, settings: UnknownSettings) -> str:
    if settings.evidence != "auto":
        return settings.evidence
    return getattr(task, "evidence_kind", None) or "topic"  # word log-odds work for any labels


def deciding_words(explainer: Any, example: Example) -> list[str]:
    """The example's deciding words, strongest first (lower-cased, as `evidence.words` finds them)."""
    if explainer.kind == "sentiment":
        return [e.word for e in explainer.evidence(example.input)]
    return [e.word for e in explainer.evidence(example.input, int(example.label))]


def _spellings(word: str) -> list[str]:
    """The word as `evidence.words` read it and with a curly apostrophe, which it reads as a straight one."""
    return [word, word.replace("'", "\u2019")] if "'" in word else [word]


def _order(seed: int, example: Example) -> bytes:
    return hashlib.sha256(f"{seed}:unknown:{example.id}".encode()).digest()


def unknown_copies(task: Task, examples: Sequence[Example], settings: UnknownSettings = UnknownSettings(),
                   seed: int = 0) -> tuple[list[RedactedCopy], dict[str, Any]]:
    """The "unknown" copies (and their random-redaction negatives) of `examples`, and a summary of the counts."""
    labelled = [e for e in examples if e.label is not None]
    kind = evidence_kind_for(task, settings)
    explainer = evidence_explainer(task, labelled, kind, k=ALL_EVIDENCE)
    decisive = {e.id: deciding_words(explainer, e) for e in labelled}
    eligible = [e for e in labelled if 1 <= len(decisive[e.id]) <= settings.max_redacted]
    wanted = round(settings.share * len(examples))
    chosen = {e.id for e in sorted(eligible, key=lambda e: _order(seed, e))[:wanted]}
    copies: list[RedactedCopy] = []
    for example in (e for e in labelled if e.id in chosen):
        copies += _copies_of(example, decisive[example.id], settings, seed)
    counts = {k: sum(c.kind == k for c in copies) for k in (UNKNOWN_KIND, NEGATIVE_KIND)}
    summary = {"evidence": kind, "examples": len(examples), "eligible": len(eligible), **counts,
               "settings": asdict(settings)}
    return copies, summary


def _copies_of(example: Example, words: list[str], settings: UnknownSettings, seed: int) -> list[RedactedCopy]:
    """The example's "unknown" copy (every deciding word redacted) and, if asked and possible, its negative (as
    many random other words redacted, never a deciding one)."""
    text = redact_words(example.input, [s for w in words for s in _spellings(w)])
    masked = masked_positions(example.input, text)
    if not masked:
        return []  # the lexicon's word is not a whole word of the text (it never is: a guard, not a rule)
    copies = [RedactedCopy(example.id, UNKNOWN_KIND, text, tuple(words), "unknown")]
    if settings.random_negatives:
        negative = random_redaction(example.input, len(masked), seeded_rng(seed, "negative", example.id),
                                    avoid_words=[s for w in words for s in _spellings(w)], avoid_positions=masked)
        if negative is not None and negative.from_named == 0:
            copies.append(RedactedCopy(example.id, NEGATIVE_KIND, negative.text, tuple(negative.words),
                                       int(example.label)))
    return copies
