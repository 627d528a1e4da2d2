"""Explanations to train on (paper 2): evidence built without a model, pseudo-explanations for the random regimes,
and teacher explanations written by `faithex annotate`; `with_explanations` applies the source a task asks for.

Light to import (no torch): the runner and the experiment schema use it; the teacher loads models only when asked.
"""

from faithex.explanations.evidence import (
    DEFAULT_K,
    EVIDENCE_KINDS,
    LogOddsLexicon,
    SentimentLexicon,
    evidence_explainer,
    evidence_kind,
    words,
)
from faithex.explanations.pseudo import ExplanationVocabulary, pseudo_words, shuffled_explanation
from faithex.explanations.sources import KEYWORDS, check_explanation_source, with_explanations

__all__ = [
    "DEFAULT_K",
    "EVIDENCE_KINDS",
    "KEYWORDS",
    "ExplanationVocabulary",
    "LogOddsLexicon",
    "SentimentLexicon",
    "check_explanation_source",
    "evidence_explainer",
    "evidence_kind",
    "pseudo_words",
    "shuffled_explanation",
    "with_explanations",
    "words",
]
