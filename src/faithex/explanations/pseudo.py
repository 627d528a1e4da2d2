"""Pseudo-explanations for paper 2's random-explanation regimes: text that uses the vocabulary of real explanations
but carries no reasoning ("syntactically incoherent yet vocabulary-aligned", Shah et al. 2025).

- `shuffled_explanation(text, rng)`: the explanation's own words in a random order.
- `ExplanationVocabulary.fit(texts).sample(n_words, rng)`: a bag of `n_words` words drawn independently from the
  unigram distribution of the training explanations.

A word here is a whitespace-separated token (`pseudo_words`), punctuation attached: a shuffle keeps exactly the
characters of the original, and "same length" means the same number of tokens. Pass `len(pseudo_words(text))` as
`n_words` to match an explanation's length. Both functions draw only from the `numpy.random.Generator` given, so a
seeded generator gives the same text every time. The shuffle itself lives in the lower layer
`faithex.faithfulness.explanation_interventions`, whose intervention (c) shuffles a model's own explanation the same
way; it is imported from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from faithex.errors import ConfigError
from faithex.faithfulness.explanation_interventions import pseudo_words, shuffled_explanation  # noqa: F401


class ExplanationVocabulary:
    """Unigram frequencies of the words of the training explanations, to draw bag-of-words explanations from."""

    def __init__(self, counts: Counter[str]) -> None:
        if not counts:
            raise ConfigError("the explanation vocabulary is empty: the training explanations have no words")
        # In order of first appearance, so that a seeded draw depends only on the texts and their order.
        self.words = list(counts)
        total = sum(counts.values())
        self.probabilities = np.array([counts[word] / total for word in self.words])

    @classmethod
    def fit(cls, texts: Iterable[str | None]) -> "ExplanationVocabulary":
        """Count the words of `texts` (None, an example without an explanation, is skipped)."""
        counts: Counter[str] = Counter()
        for text in texts:
            if text is not None:
                counts.update(pseudo_words(text))
        return cls(counts)

    def sample(self, n_words: int, rng: np.random.Generator) -> str:
        """`n_words` words drawn independently (with replacement) by their training frequency, joined by spaces."""
        if isinstance(n_words, bool) or not isinstance(n_words, (int, np.integer)) or n_words < 0:
            raise ConfigError(f"the number of words must be a non-negative integer, got {n_words!r}")
        drawn = rng.choice(len(self.words), size=int(n_words), p=self.probabilities)
        return " ".join(self.words[i] for i in drawn)

    def __len__(self) -> int:
        return len(self.words)
