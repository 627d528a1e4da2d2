"""Evidence explanations: the input's own words that support its label, found without any model.

Two kinds, chosen per task (`evidence_kind`):

- `sentiment`: the input's words that VADER's sentiment lexicon (Hutto & Gilbert 2014, PyPI `vadersentiment`
  3.3.2) lists, each with its polarity, strongest first:  `Evidence: 'love' (positive), 'awful' (negative).`
- `topic`: the input's words most indicative of the gold label, scored on the training split with weighted
  log-odds ratios with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008), strongest first:
  `Evidence for business: 'shares', 'profits'.`

Both are deterministic: the same input (and, for `topic`, the same training examples) gives the same text.

Words (`words`): web addresses and @handles are removed (`@united` names an airline, it is not the word "united";
a hashtag's text stays: `#fail` gives `fail`), the rest is lower-cased (curly apostrophes read as straight ones),
and a word is every run of letters and digits, with apostrophe suffixes kept attached (`don't`, `o'sullivan`):
the regex `WORD`. Punctuation, emoticons and VADER's three multi-word entries ("can't stand", "fed up", "screwed
up") are therefore never evidence.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from faithex.errors import ConfigError, DatasetError

#: A word: letters or digits (any script), optionally followed by apostrophe + letters/digits parts.
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
#: What is not prose: web addresses and @handles (removed before words are found).
NOT_PROSE = re.compile(r"(?:https?://|www\.)\S+|@\w+", re.IGNORECASE)
EVIDENCE_KINDS = ("sentiment", "topic")
DEFAULT_K = 5
#: Topic evidence keeps words whose z-score is at least this (two-sided 5% level). With the default prior a word
#: seen once in training scores about 1.2 and needs about three occurrences, all in one label, to pass.
DEFAULT_MIN_Z = 1.96
#: The default prior's total pseudo-count, as a share of the training word count.
PRIOR_SHARE = 0.1
NO_SENTIMENT_WORDS = "No sentiment words."
NO_TOPIC_WORDS = "No indicative words."
VADER = ("vadersentiment", "vaderSentiment", "3.3.2", "vader_lexicon.txt")


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased, in order (see the module docstring for what counts as a word)."""
    prose = NOT_PROSE.sub(" ", text).replace("\u2019", "'").replace("\u2018", "'")
    return WORD.findall(prose.lower())


def first_positions(tokens: Sequence[str]) -> dict[str, int]:
    """Each distinct word and the position of its first occurrence (evidence names a repeated word once)."""
    positions: dict[str, int] = {}
    for position, token in enumerate(tokens):
        positions.setdefault(token, position)
    return positions


def quoted(word: str) -> str:
    return f"'{word}'"


# -- sentiment: VADER's lexicon ----------------------------------------------------------------------------------
def vader_lexicon_path() -> Path:
    """Where the installed `vadersentiment` package keeps its lexicon (found, never imported: it imports requests)."""
    package, module, version, relative = VADER
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(f"sentiment evidence reads VADER's lexicon from the PyPI package '{package}', which is "
                           f"not installed; install it with: pip install --no-deps {package}=={version}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise DatasetError(f"{path}: not found in the installed package '{package}' (faithex reads {version})")
    return path


def parse_vader_lexicon(text: str, where: str = "vader_lexicon.txt") -> dict[str, float]:
    """token -> mean valence (-4..4) for every entry that is one word by `WORD`; lines: token TAB mean TAB sd TAB
    ratings (CRLF line ends in 3.3.2)."""
    lexicon: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            token, mean = fields[0], float(fields[1])
        except (IndexError, ValueError):
            raise DatasetError(f"{where}:{number}: expected token<TAB>mean<TAB>sd<TAB>ratings") from None
        if words(token) == [token] and mean != 0.0:  # one word as the input is split; 0 has no polarity
            lexicon[token] = mean
    return lexicon


@lru_cache(maxsize=1)
def vader_lexicon() -> dict[str, float]:
    path = vader_lexicon_path()
    return parse_vader_lexicon(path.read_text(encoding="utf-8"), str(path))


@dataclass(frozen=True)
class Evidence:
    """One evidence word: the word, its score (valence or z-score), where it first occurs, and its direction."""

    word: str
    score: float
    position: int
    direction: str


def strongest(found: Iterable[Evidence], k: int) -> list[Evidence]:
    """The k strongest (largest |score|), ties broken by position in the input."""
    return sorted(found, key=lambda e: (-abs(e.score), e.position))[:k]


class SentimentLexicon:
    """Sentiment evidence from a word -> valence lexicon (VADER's by default)."""

    kind = "sentiment"

    def __init__(self, valences: dict[str, float] | None = None, k: int = DEFAULT_K) -> None:
        self.valences = vader_lexicon() if valences is None else valences
        self.k = check_k(k)

    def evidence(self, text: str) -> list[Evidence]:
        found = [
            Evidence(word, self.valences[word], position, "positive" if self.valences[word] > 0 else "negative")
            for word, position in first_positions(words(text)).items()
            if word in self.valences
        ]
        return strongest(found, self.k)

    def explain(self, example: Any) -> str:
        """`Evidence: 'love' (positive), 'awful' (negative).`, or `No sentiment words.`"""
        found = self.evidence(_text(example))
        if not found:
            return NO_SENTIMENT_WORDS
        return "Evidence: " + ", ".join(f"{quoted(e.word)} ({e.direction})" for e in found) + "."


# -- topic: weighted log-odds with an informative Dirichlet prior ------------------------------------------------
class LogOddsLexicon:
    """z-scores of each word's log-odds in one label against all the other labels, from training texts only.

    For word w and label i (Monroe, Colaresi & Quinn 2008, eqs. 16-22), with y the word counts of label i's texts
    and of all other labels' texts (j), n their totals, and the prior alpha_w = alpha0 * (background frequency of
    w over all training texts):

        delta = log((y_iw + a_w) / (n_i + alpha0 - y_iw - a_w)) - log((y_jw + a_w) / (n_j + alpha0 - y_jw - a_w))
        z     = delta / sqrt(1 / (y_iw + a_w) + 1 / (y_jw + a_w))

    A word the training texts never contain has no prior mass and no score: it is never evidence. Evidence for an
    example is its words with z >= `min_z` for its gold label (`z[label][word]`).
    """

    kind = "topic"

    def __init__(self, z: dict[int, dict[str, float]], label_names: Sequence[str], k: int = DEFAULT_K,
                 min_z: float = DEFAULT_MIN_Z) -> None:
        self.z = z
        self.label_names = tuple(label_names)
        self.k = check_k(k)
        self.min_z = min_z

    @classmethod
    def fit(cls, train_examples: Iterable[Any], label_names: Sequence[str], alpha0: float | None = None,
            k: int = DEFAULT_K, min_z: float = DEFAULT_MIN_Z) -> "LogOddsLexicon":
        """Count the words of each label's training texts. `alpha0`, the prior's total pseudo-count, defaults to a
        tenth of the training word count (`PRIOR_SHARE`): every word's prior is then a tenth of its own count,
        whatever the size of the training set."""
        per_label: dict[int, Counter[str]] = {label: Counter() for label in range(len(label_names))}
        for example in train_examples:
            per_label[int(example.label)].update(words(example.input))
        background: Counter[str] = sum(per_label.values(), Counter())
        total = sum(background.values())
        if len(background) < 2:  # one word has the whole prior: its log-odds divide by zero
            raise ConfigError("topic evidence needs training texts with at least two distinct words")
        alpha0 = PRIOR_SHARE * total if alpha0 is None else alpha0
        if not alpha0 > 0:
            raise ConfigError(f"alpha0 must be positive, got {alpha0}")
        z = {label: _z_scores(counts, background, total, alpha0) for label, counts in per_label.items()}
        return cls(z, label_names, k=k, min_z=min_z)

    def score(self, word: str, label: int) -> float | None:
        """The word's z-score for `label`, or None for a word the training texts never contain."""
        return self.z[label].get(word)

    def evidence(self, text: str, label: int) -> list[Evidence]:
        """The input's words whose z-score for `label` is at least `min_z`, strongest first."""
        name = self.label_names[label]
        found = []
        for word, position in first_positions(words(text)).items():
            score = self.score(word, label)
            if score is not None and score >= self.min_z:
                found.append(Evidence(word, score, position, name))
        return strongest(found, self.k)

    def explain(self, example: Any) -> str:
        """`Evidence for business: 'shares', 'profits'.`, or `No indicative words.`"""
        found = self.evidence(example.input, int(example.label))
        if not found:
            return NO_TOPIC_WORDS
        return f"Evidence for {self.label_names[int(example.label)]}: " + ", ".join(quoted(e.word) for e in found) + "."


def _z_scores(counts: Counter[str], background: Counter[str], total: int, alpha0: float) -> dict[str, float]:
    n_label = sum(counts.values())
    n_rest = total - n_label
    scores = {}
    for word, count_all in background.items():
        prior = alpha0 * count_all / total
        inside, outside = counts.get(word, 0), count_all - counts.get(word, 0)
        delta = (math.log((inside + prior) / (n_label + alpha0 - inside - prior))
                 - math.log((outside + prior) / (n_rest + alpha0 - outside - prior)))
        scores[word] = delta / math.sqrt(1.0 / (inside + prior) + 1.0 / (outside + prior))
    return scores


# -- choosing the kind and building explanations for a task --------------------------------------------------------
def evidence_kind(task: Any, requested: str | None = None) -> str:
    """`requested`, else the task's own `evidence_kind`; a task without one must be told."""
    kind = requested or getattr(task, "evidence_kind", None)
    if kind is None:
        raise ConfigError(f"task '{task.name}' has no default evidence kind; choose one: "
                          f"explanations: evidence:sentiment or evidence:topic")
    if kind not in EVIDENCE_KINDS:
        raise ConfigError(f"unknown evidence kind {kind!r}; known: {', '.join(EVIDENCE_KINDS)}")
    return kind


def evidence_explainer(task: Any, train_examples: Sequence[Any], kind: str | None = None, k: int = DEFAULT_K):
    """The explainer of `kind` for `task`; `topic` is fitted on `train_examples` (pass training examples only)."""
    kind = evidence_kind(task, kind)
    if kind == "sentiment":
        return SentimentLexicon(k=k)
    return LogOddsLexicon.fit(train_examples, task.label_names, k=k)


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"the number of evidence words must be a positive integer, got {k!r}")
    return k


def _text(example: Any) -> str:
    return example if isinstance(example, str) else example.input
