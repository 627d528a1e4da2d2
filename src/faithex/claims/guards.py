"""Guards against untrained classifiers, and checks that cannot pass by construction.

A cell is **untrained** when one label is at least 95% of its parsed answers, or when the 95% interval of its
balanced accuracy (mean recall over the gold classes present) contains 1/K (K labels): both on the answers of the
cell's own protocol, a parse failure counted wrong. The interval is a percentile bootstrap over test items (balanced
accuracy is not a proportion, so it gets no Wilson interval). A cell with fewer than 5 answers is not judged.

The answers come from the per-item file (`items.json`: gold and answer positions per item) or, for runs written
before it existed, from results.json's confusion matrix, which holds the same (gold, answer) counts: resampling
items is resampling those pairs, so both give the same guard.

A faithfulness check is **not applicable by construction** when the classifier's training targets never held an
answer that can pass it: Madsen's attribution and redaction checks pass only when the classifier answers "unknown"
(or "neutral" for sentiment), which a regime trained on gold labels alone never learned to say. An observed rate
of 0 anywhere else is a result, not "not applicable".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: One label at least this share of the parsed answers: a constant classifier.
CONSTANT_SHARE = 0.95
#: Fewer answers than this: the guard does not judge (nothing to tell a classifier from noise with).
MIN_ANSWERS = 5
BOOTSTRAP_RESAMPLES = 2000

#: The metrics of Madsen's check whose pass needs an "unknown" (or "neutral") answer in the attribution and
#: redaction styles, with their random-word controls (0 by construction too, so their difference is); the looser
#: label change and the graded shift can pass on any other label.
MADSEN_METRICS = ("self_consistency_faithfulness", "self_consistency_faithfulness_parsed",
                  "self_consistency_faithfulness_random_control", "self_consistency_faithfulness_parsed_random_control",
                  "self_consistency_faithfulness_over_random")
NEEDS_UNKNOWN_STYLES = ("self_consistency_attribution", "self_consistency_redaction")


@dataclass(frozen=True)
class Guard:
    """What the guard saw of one cell."""

    untrained: bool
    reason: str | None
    n: int
    majority_share: float | None
    balanced_accuracy: float | None
    low: float | None
    high: float | None
    chance: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def guard(gold: Sequence[int | None], answer: Sequence[int | None], n_labels: int, seed: int = 0) -> Guard:
    """The guard of one cell from its items: `gold` and `answer` are label positions (0..K-1); an answer of None or
    outside 0..K-1 is a parse failure or an answer outside the labels ("unknown"), counted wrong. Items without a
    gold label are left out."""
    # sorted: the bootstrap then depends on the (gold, answer) counts alone, not on the item order, so the
    # confusion matrix of an older run gives exactly the guard its items would have
    pairs = sorted((int(g), _answer_slot(a, n_labels)) for g, a in zip(gold, answer) if g is not None)
    chance = 1.0 / n_labels if n_labels else math.nan
    if len(pairs) < MIN_ANSWERS:
        return Guard(False, None, len(pairs), None, None, None, None, chance)
    golds = np.array([g for g, _ in pairs])
    answers = np.array([a for _, a in pairs])
    parsed = answers[answers < n_labels]
    share = float(np.bincount(parsed, minlength=n_labels).max() / parsed.size) if parsed.size else None
    value = _balanced_accuracy(golds, answers, np.arange(len(pairs))[None, :])[0]
    low, high = _balanced_accuracy_interval(golds, answers, seed)
    reason = None
    if share is None:
        reason = "no answer could be read"
    elif share >= CONSTANT_SHARE:
        label = int(np.bincount(parsed, minlength=n_labels).argmax())
        reason = f"answers label {label} for {share:.0%} of its {parsed.size} parsed answers"
    elif low <= chance <= high:
        reason = (f"balanced accuracy {value:.3f} [{low:.2f}, {high:.2f}] contains chance 1/{n_labels} "
                  f"(n = {len(pairs)})")
    return Guard(reason is not None, reason, len(pairs), share, float(value), low, high, chance)


def guard_from_confusion(confusion: Mapping[str, Any], seed: int = 0) -> Guard:
    """The guard from results.json's `confusion_matrix` ({labels, matrix: gold x answer counts, invalid: per gold
    label the answers that could not be read})."""
    matrix = confusion.get("matrix") or []
    invalid = confusion.get("invalid") or [0] * len(matrix)
    n_labels = len(matrix)
    gold: list[int] = []
    answer: list[int | None] = []
    for g, row in enumerate(matrix):
        for a, count in enumerate(row):
            gold += [g] * int(count)
            answer += [a] * int(count)
        gold += [g] * int(invalid[g])
        answer += [None] * int(invalid[g])
    return guard(gold, answer, n_labels, seed)


def _answer_slot(answer: int | None, n_labels: int) -> int:
    return int(answer) if answer is not None and 0 <= int(answer) < n_labels else n_labels


def _balanced_accuracy(golds: np.ndarray, answers: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Mean recall over the gold classes present, for each resample (a row of item indices)."""
    g, a = golds[rows], answers[rows]
    recalls = []
    present = []
    for label in np.unique(golds):
        of_class = g == label
        count = of_class.sum(axis=1)
        hits = (of_class & (a == label)).sum(axis=1)
        present.append(count > 0)
        recalls.append(np.where(count > 0, hits / np.maximum(count, 1), 0.0))
    present_matrix = np.array(present)
    return np.array(recalls).sum(axis=0) / np.maximum(present_matrix.sum(axis=0), 1)


def _balanced_accuracy_interval(golds: np.ndarray, answers: np.ndarray, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, golds.size, size=(BOOTSTRAP_RESAMPLES, golds.size))
    draws = _balanced_accuracy(golds, answers, rows)
    low, high = np.quantile(draws, [0.025, 0.975])
    return float(low), float(high)


# -- checks that cannot pass by construction ------------------------------------------------------------------------
def not_applicable_by_construction(metric: str, protocol: str, trained: bool, answers_unknown: bool) -> str | None:
    """Why `metric` of a cell asked with `protocol` cannot pass by construction, or None. `trained`: the cell's
    regime was fine-tuned; `answers_unknown`: its training targets held "unknown" (an untrained model may say it)."""
    if metric not in MADSEN_METRICS or not protocol.startswith(NEEDS_UNKNOWN_STYLES):
        return None
    if trained and not answers_unknown:
        return (f"{protocol} passes only on \"unknown\" (or \"neutral\" for sentiment), which this regime's "
                "training targets never held")
    return None
