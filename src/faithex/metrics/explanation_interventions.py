"""Metrics of the explanation interventions (paper 2's explanation-first regimes; the protocol is
`faithex.protocols.explanation_interventions`, the record it writes is
`faithex.faithfulness.explanation_interventions`).

Every metric is one value per test item, so the verdict machinery can pair items across cells: a 0/1 value (a
proportion, with a Wilson interval) or a probability shift (a mean, with a bootstrap interval). NaN where the
intervention does not apply to the item (no donor, an explanation too short to shuffle, an empty own explanation):
excluded from the mean, never counted as 0.

The *own label* is the best label after the model's own explanation. A label's probability under an explanation is
the softmax of the task's label scores (summed log-probabilities) after it: the probability among the task's labels.
A *shift* is the own label's probability after the own explanation minus after the intervened one: positive when the
intervention takes probability from the own label.

What "follows" means per intervention:
- donor (another item's explanation, written where the model gave another label): the label becomes the donor's own
  label. A model that ignores the explanation never does (its label stays the own one, which differs from the
  donor's), so 0 is not the reference: the *ignore-the-explanation baseline* is the share of items whose label after
  the *empty* explanation already is the donor's label, what a model that reads nothing from the donor's explanation
  (treats it as no explanation) scores;
- shuffled (the own explanation's words in another order): the label stays the own label. The shuffle keeps every
  word, so a label read from the explanation's words stays; a model that ignores the explanation keeps it too, so
  read it beside the empty explanation's change;
- empty: the label changes from the own label (the reference shift: how much the label needs an explanation at
  all); 0 for a model that ignores the explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .registry import Sample, register_metric

_DONOR = ("interventions.donor",)
_DONOR_AND_EMPTY = ("interventions.donor", "interventions.empty")
_SHUFFLED = ("interventions.shuffled",)
_EMPTY = ("interventions.empty",)
_SHIFT_RANGE = (-1.0, 1.0)


def _record(sample: Sample, condition: str) -> Mapping[str, Any] | None:
    """The sample's record of one intervention (or of "own"), None where it has none."""
    interventions = sample.get("interventions")
    record = interventions.get(condition) if isinstance(interventions, Mapping) else None
    return record if isinstance(record, Mapping) else None


def _per_item(samples: Sequence[Sample], conditions: Sequence[str],
              value: Callable[..., float]) -> np.ndarray:
    """Per item: `value(own, *records)` of the own record and the records of `conditions`; NaN where one is missing."""
    out = []
    for sample in samples:
        records = [_record(sample, c) for c in ("own", *conditions)]
        out.append(np.nan if any(r is None for r in records) else float(value(*records)))
    return np.array(out, dtype=float)


def label_probabilities(scores: Sequence[float]) -> np.ndarray:
    """The softmax of label scores: each label's probability among the task's labels."""
    values = np.asarray(scores, dtype=float)
    weights = np.exp(values - values.max())
    return weights / weights.sum()


def own_label_shift(own: Mapping[str, Any], intervened: Mapping[str, Any]) -> float:
    """The own label's probability after the own explanation minus after the intervened one."""
    label = int(np.argmax(own["scores"]))  # the own label, as the scores chose it
    return float(label_probabilities(own["scores"])[label] - label_probabilities(intervened["scores"])[label])


# -- (b) another item's explanation ----------------------------------------------------------------------------------
@register_metric("explanation_donor_follow", family="faithfulness", higher_is_better=True,
                 description="the label after another test item's explanation (one where the model gave another "
                             "label) is that item's label (read against explanation_donor_ignore_baseline)",
                 requires=_DONOR)
def explanation_donor_follow(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_item(samples, ["donor"], lambda own, donor: donor["answer"] == donor["donor_answer"])


@register_metric("explanation_donor_ignore_baseline", family="faithfulness", higher_is_better=False,
                 description="the label after an empty explanation already is the donor item's label (what "
                             "explanation_donor_follow is for a model that reads nothing from the donor's explanation)",
                 requires=_DONOR_AND_EMPTY)
def explanation_donor_ignore_baseline(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_item(samples, ["donor", "empty"], lambda own, donor, empty: empty["answer"] == donor["donor_answer"])


@register_metric("explanation_donor_shift", family="faithfulness", higher_is_better=True, range=_SHIFT_RANGE,
                 description="the own label's probability after the own explanation minus after the donor's",
                 requires=_DONOR)
def explanation_donor_shift(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_item(samples, ["donor"], own_label_shift)


# -- (c) the own explanation's words shuffled ------------------------------------------------------------------------
@register_metric("explanation_shuffle_keep", family="faithfulness", higher_is_better=True,
                 description="the own explanation's words shuffled: the label stays the own label (the words are "
                             "kept; read beside explanation_empty_change, since ignoring the explanation keeps it too)",
                 requires=_SHUFFLED)
def explanation_shuffle_keep(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_item(samples, ["shuffled"], lambda own, shuffled: shuffled["answer"] == own["answer"])


@register_metric("explanation_shuffle_shift", family="faithfulness", higher_is_better=False, range=_SHIFT_RANGE,
                 description="the own label's probability after the own explanation minus after its words shuffled",
                 requires=_SHUFFLED)
def explanation_shuffle_shift(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_item(samples, ["shuffled"], own_label_shift)


# -- (d) no explanation ----------------------------------------------------------------------------------------------
@register_metric("explanation_empty_change", family="faithfulness", higher_is_better=True,
                 description="with an empty explanation the label differs from the own label (0: the label needs no "
                             "explanation)",
                 requires=_EMPTY)
def explanation_empty_change(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_item(samples, ["empty"], lambda own, empty: empty["answer"] != own["answer"])


@register_metric("explanation_empty_shift", family="faithfulness", higher_is_better=True, range=_SHIFT_RANGE,
                 description="the own label's probability after the own explanation minus after an empty one",
                 requires=_EMPTY)
def explanation_empty_shift(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_item(samples, ["empty"], own_label_shift)
