"""Metrics for label outputs, for any number of classes: macro-F1, per-class recall and the confusion matrix.

All read the parsed answer (`parsed.answer`) against the gold label (`gold`) with paper 1's conventions: an answer
that could not be parsed (None) or lies outside `labels` is wrong, never dropped; an unlabelled sample, or one whose
answer was never asked for, does not count. Accuracy is paper 1's `answer_accuracy` (the same definition, so it is
not registered twice).

- **macro_f1**: F1_c = 2 TP_c / (#gold c + #predicted c) for each class c, averaged over the classes that occur in the
  evaluated set as a gold label or as a (valid) prediction. A class with neither has no F1 and is left out of the
  average, as scikit-learn's `f1_score(average="macro")` does with its default labels (the classes present in y_true
  or y_pred); passing every class through scikit-learn's `labels=` would instead count such a class as F1 = 0. An
  invalid answer is a miss (false negative) for its gold class and a false positive for no class. macro-F1 is not a
  mean of per-example values: it is an aggregate metric, and its interval recomputes it on resamples of examples.
- **recall/<label>**: for each label, the share of the examples of that gold class answered with it. One flat entry
  per label ("recall/0", "recall/1", ...) rather than one entry holding a list, so that every results entry keeps
  the {value, low, high, n} shape that tables, plots and `compare` read; `n` is the class's number of examples, and
  the interval resamples those examples (the class count held fixed).
- **mean_absolute_error**: for ordinal tasks only (paper 2's 1-5 ratings: the samples carry the task's `scale`, the
  number each label stands for), mean |scale[answer] - scale[gold]|. An invalid answer has no distance: it is left
  out (NaN), and counted by `answer_failure`; `score` never has one.
- **confusion_matrix(samples, labels)**: gold x predicted counts, plus a column of invalid answers; not a metric (no
  single value), stored beside the metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .paper1 import MISSING, answer_accuracy, gold_label, is_valid, parsed_output
from .registry import Sample, applicable_rows, register_metric, register_per_label_metric

_GOLD_ANSWER = ("gold", "outputs.answer")


# -- per-example statistics: which class is gold, which was predicted -----------------------------------------------
def label_slots(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    """(n, 2) array: the gold label's position in `labels` and the answer's position, len(labels) for an invalid
    answer (unparsable or outside the labels). A NaN row: no gold label, or no answer asked for."""
    position = {label: i for i, label in enumerate(labels)}
    invalid = len(labels)
    slots = np.full((len(samples), 2), np.nan)
    for i, sample in enumerate(samples):
        gold, answer = gold_label(sample, labels), parsed_output(sample, "answer")
        if gold is MISSING or answer is MISSING:
            continue
        slots[i] = position[gold], position[answer] if is_valid(answer, labels) else invalid
    return slots


def _counts_per_row(slots: np.ndarray, n_slots: int) -> np.ndarray:
    """Histogram of each row of `slots` (r, m) over 0..n_slots-1 -> (r, n_slots), in one bincount for all rows."""
    n_rows = slots.shape[0]
    offsets = np.arange(n_rows)[:, None] * n_slots
    return np.bincount((slots + offsets).ravel(), minlength=n_rows * n_slots).reshape(n_rows, n_slots)


def macro_f1_of_rows(slots: np.ndarray, rows: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """macro-F1 of each row of example indices `rows` (r, m) into `slots` (see `label_slots`): one value per row."""
    k = len(labels)
    gold = slots[:, 0].astype(np.intp)[rows]
    predicted = slots[:, 1].astype(np.intp)[rows]
    # Slot k collects what must not count: invalid predictions, and (for true positives) the wrong answers.
    gold_count = _counts_per_row(gold, k + 1)[:, :k]
    predicted_count = _counts_per_row(predicted, k + 1)[:, :k]
    true_positive = _counts_per_row(np.where(gold == predicted, gold, k), k + 1)[:, :k]
    gold_plus_predicted = gold_count + predicted_count  # = 2 TP + FP + FN
    present = gold_plus_predicted > 0
    f1 = np.divide(2.0 * true_positive, gold_plus_predicted, out=np.zeros(present.shape), where=present)
    with np.errstate(invalid="ignore", divide="ignore"):  # only an empty resample has no class present: NaN
        return f1.sum(axis=1) / present.sum(axis=1)


# -- registered metrics ---------------------------------------------------------------------------------------------
@register_metric("macro_f1", family="accuracy", higher_is_better=True, requires=_GOLD_ANSWER,
                 aggregate=macro_f1_of_rows,
                 description="mean F1 over the classes present as gold or prediction; unparsable answers are misses")
def macro_f1_statistics(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return label_slots(samples, labels)


@register_per_label_metric("recall", family="accuracy", higher_is_better=True, requires=_GOLD_ANSWER,
                           description="share of the examples of a gold class answered with that class")
def class_recall(samples: Sequence[Sample], labels: Sequence[int], label: int) -> np.ndarray:
    # Recall of a class is accuracy restricted to that class's examples: reuse paper 1's accuracy_all conventions.
    values = answer_accuracy(samples, labels)
    other_class = np.array([sample.get("gold") != label for sample in samples], dtype=bool)
    values[other_class] = np.nan
    return values


@register_metric("mean_absolute_error", family="error", higher_is_better=False, range=(0.0, math.inf),
                 requires=(*_GOLD_ANSWER, "scale"),
                 description="mean distance between answer and gold on the task's scale (ordinal tasks); invalid "
                             "answers left out")
def mean_absolute_error(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    slots = label_slots(samples, labels)
    values = np.full(len(samples), np.nan)
    for i, (sample, (gold, answer)) in enumerate(zip(samples, slots)):
        scale = sample.get("scale")
        if scale is None or np.isnan(gold) or answer == len(labels):
            continue
        values[i] = abs(float(scale[int(answer)]) - float(scale[int(gold)]))
    return values


# -- the confusion matrix -------------------------------------------------------------------------------------------
def confusion_matrix(samples: Sequence[Sample], labels: Sequence[int]) -> dict[str, Any]:
    """Counts of gold x predicted answers, JSON-ready.

    Returns {"labels": labels, "matrix": k x k counts (row: gold label, column: predicted label, in `labels` order),
    "invalid": k counts (per gold label, answers unparsable or outside the labels)}. Unlabelled samples and samples
    without an answer are not counted.
    """
    slots = label_slots(samples, labels)
    kept = slots[applicable_rows(slots)].astype(np.intp)
    k = len(labels)
    counts = np.zeros((k, k + 1), dtype=np.int64)
    np.add.at(counts, (kept[:, 0], kept[:, 1]), 1)
    return {
        "labels": [int(label) for label in labels],
        "matrix": counts[:, :k].tolist(),
        "invalid": counts[:, k].tolist(),
    }
