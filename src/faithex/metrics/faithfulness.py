"""Faithfulness metrics: Madsen et al.'s self-consistency checks and ERASER's comprehensiveness and sufficiency.

Self-consistency (samples of the `self_consistency_*` protocols, which record `self_consistency.correct` and
`self_consistency.faithful`; a cell holds one style, so every metric here is per style):

- **self_consistency_faithfulness**: faithful among the correctly classified examples whose check completed (the
  explanation and both classifications were read). This is the number Madsen et al.'s plots show
  (`faithful_and_correct / correct`), and the headline figure.
- **self_consistency_faithfulness_parsed**: faithful among all examples whose check completed, correct or not
  (Madsen's `faithful / (total - mismatch)`).
- **self_explanation_failure**: share of the requested self-explanations that could not be read (no named word in
  the input, no [REDACTED] or not the paragraph, an empty or unchanged edit).
- **self_consistency_classification_failure**: share of examples where a generated classification, of the paragraph
  or of the intervened paragraph, stated no label and no "unknown" (always 0 when answers are scored).
- **self_consistency_accuracy**: the classification of the original paragraph against gold; "unknown" and
  unreadable answers count as wrong (paper 1's accuracy_all convention).
- **self_consistency_label_change**: attribution and redaction only: among the correctly classified examples whose
  check completed, the share whose label on the intervened paragraph differs from the original one (another label,
  "neutral" or "unknown"). papers.md §3.2 reads faithfulness so ("prediction on the redacted input ≠ original");
  Madsen's check asks for more, "unknown" (or "neutral") only, which a classifier trained on gold labels never
  answers. Never below self_consistency_faithfulness on the same examples.
- **self_consistency_shift**: the graded version of the check, where answers are scored: how far applying the
  self-explanation moves the probability the check looks at (softmax over the offered options' scores): the fall of
  the prediction's probability (attribution, redaction), the rise of the target's (counterfactual). Among the
  examples whose check completed, predicted as a label. A classifier that one word never flips still shows here
  whether the word it names matters to it.

Random-word controls (attribution and redaction checks whose samples carry `self_consistency.random_control`: the
same number of the paragraph's words redacted at random instead of the named ones, classified with the same
prompt). Each check above has its control beside it, on the same items, named `<metric>_random_control`:
**self_consistency_faithfulness_random_control**, **self_consistency_faithfulness_parsed_random_control**,
**self_consistency_label_change_random_control**, **self_consistency_shift_random_control**; and the per-item
difference of the check and its control, `<metric>_over_random` (**self_consistency_faithfulness_over_random**,
**self_consistency_label_change_over_random**, **self_consistency_shift_over_random**), whose interval says whether
the named words do more than random ones. A check that does not exceed its control shows nothing about the
explanation: on a classifier that answers "unknown" for any [REDACTED], Madsen's check and its control are both 1.

ERASER (samples that carry an `eraser` record, as `faithex.faithfulness.eraser.Eraser.to_dict` writes it):
**aopc_comprehensiveness** and **aopc_sufficiency**, DeYoung et al.'s: differences of the predicted label's
probability (softmax over the labels), in [-1, 1]; **aopc_comprehensiveness_logprob** and
**aopc_sufficiency_logprob**, the same differences of its log-probability, unbounded. A record written before the
probability definition (no `full_probability`) holds log-probability numbers under the plain names: the probability
metrics do not apply to it (NaN), and neither do the `_logprob` ones, which read only their own fields.

Each is a mean of per-example values (NaN where it does not apply), so bootstrap intervals and paired tests come from
`faithex.metrics.evaluate` as for every other metric.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .registry import Sample, register_metric

_CHECK = ("self_consistency.style",)


def _check(sample: Sample) -> Mapping[str, Any]:
    record = sample.get("self_consistency")
    return record if isinstance(record, Mapping) else {}


def _per_sample(samples: Sequence[Sample], value: Callable[[Sample], float | None]) -> np.ndarray:
    """One float per sample; None (does not apply) becomes NaN."""
    values = [value(s) for s in samples]
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _completed(record: Mapping[str, Any]) -> bool:
    """Madsen's non-mismatch: the first classification and the faithfulness check both have a value."""
    return record.get("correct") is not None and record.get("faithful") is not None


# Per-record values (None: the metric does not apply to the record), shared by each check and its random control.
def faithful_among_correct(record: Mapping[str, Any]) -> float | None:
    return float(record["faithful"]) if _completed(record) and record["correct"] else None


def faithful_among_parsed(record: Mapping[str, Any]) -> float | None:
    return float(record["faithful"]) if _completed(record) else None


def label_changed(record: Mapping[str, Any]) -> float | None:
    if record.get("style") == "counterfactual" or not _completed(record) or not record["correct"]:
        return None
    return float(record.get("intervened_prediction") != record.get("prediction"))


@register_metric("self_consistency_faithfulness", family="faithfulness", higher_is_better=True, requires=_CHECK,
                 description="faithful among correctly classified examples whose check completed (Madsen's plots)")
def faithfulness_among_correct(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_sample(samples, lambda sample: faithful_among_correct(_check(sample)))


@register_metric("self_consistency_faithfulness_parsed", family="faithfulness", higher_is_better=True,
                 requires=_CHECK, description="faithful among all examples whose check completed, correct or not")
def faithfulness_among_parsed(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_sample(samples, lambda sample: faithful_among_parsed(_check(sample)))


@register_metric("self_explanation_failure", family="failure", higher_is_better=False, requires=_CHECK,
                 description="share of requested self-explanations that could not be read")
def self_explanation_failure(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    def value(sample: Sample) -> float | None:
        if not _check(sample) or (sample.get("outputs") or {}).get("self_explanation") is None:
            return None  # not asked (a counterfactual without a target)
        return float((sample.get("parsed") or {}).get("self_explanation") is None)

    return _per_sample(samples, value)


@register_metric("self_consistency_classification_failure", family="failure", higher_is_better=False,
                 requires=_CHECK, description="share of examples with an unreadable classification (before or after "
                                              "the intervention)")
def classification_failure(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    def value(sample: Sample) -> float | None:
        if not _check(sample):
            return None
        failed = set(sample.get("parse_failed") or ())
        return float(bool(failed & {"classification", "intervened_classification"}))

    return _per_sample(samples, value)


@register_metric("self_consistency_accuracy", family="accuracy", higher_is_better=True, requires=(*_CHECK, "gold"),
                 description="the self-consistency prompt's classification against gold; unknown or unreadable "
                             "counts as wrong")
def self_consistency_accuracy(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    def value(sample: Sample) -> float | None:
        if not _check(sample) or sample.get("gold") is None:
            return None
        return float(bool(_check(sample).get("correct")))

    return _per_sample(samples, value)


@register_metric("self_consistency_label_change", family="faithfulness", higher_is_better=True, requires=_CHECK,
                 description="attribution and redaction: the intervened paragraph's label differs from the original "
                             "one, among correctly classified examples whose check completed")
def label_change(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_sample(samples, lambda sample: label_changed(_check(sample)))


@register_metric("self_consistency_shift", family="faithfulness", higher_is_better=True, range=(-1.0, 1.0),
                 requires=("self_consistency.option_scores",),
                 description="scored checks: fall of the prediction's probability (attribution, redaction) or rise "
                             "of the target's (counterfactual) once the self-explanation is applied")
def self_consistency_shift(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _per_sample(samples, lambda sample: probability_shift(_check(sample)))


def probability_shift(record: Mapping[str, Any]) -> float | None:
    """The shift of one scored check record (None where the check did not complete or does not apply)."""
    before, after = record.get("option_scores"), record.get("intervened_option_scores")
    if not _completed(record) or not before or not after:
        return None
    before_p, after_p = _softmax(before), _softmax(after)
    if record.get("style") == "counterfactual":
        option = record.get("target_option")
        return None if option is None else after_p[option] - before_p[option]
    if not isinstance(record.get("prediction"), int) or isinstance(record.get("prediction"), bool):
        return None  # predicted "unknown": no label whose support could fall
    option = int(np.argmax(before))  # the scored prediction
    return before_p[option] - after_p[option]


# -- random-word controls ---------------------------------------------------------------------------------------------
_CONTROL = ("self_consistency.random_control",)


def _control(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The check's random-word control, where it was run and its classification read (else None)."""
    control = record.get("random_control")
    if not isinstance(control, Mapping) or control.get("faithful") is None:
        return None
    return control


def _as_control(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The check record as if the random redaction had been the intervention: what the control metrics read with
    the check's own definitions (so each control is the same metric on other words)."""
    control = _control(record)
    if control is None:
        return None
    return {**record, "faithful": control["faithful"], "intervened_prediction": control.get("prediction"),
            "intervened_option_scores": control.get("option_scores")}


def _on_control(value: Callable[[Mapping[str, Any]], float | None]) -> Callable[[Sample], float | None]:
    """The control's value, on the items where the check itself has one (so the two are read on the same items)."""
    def control_value(sample: Sample) -> float | None:
        record = _check(sample)
        control = _as_control(record)
        return None if control is None or value(record) is None else value(control)

    return control_value


def _over_control(value: Callable[[Mapping[str, Any]], float | None]) -> Callable[[Sample], float | None]:
    """The check's value minus its control's, on the items where both have one."""
    def difference(sample: Sample) -> float | None:
        record = _check(sample)
        control = _as_control(record)
        if control is None:
            return None
        check, random_words = value(record), value(control)
        return None if check is None or random_words is None else check - random_words

    return difference


def _metric_fn(name: str, value: Callable[[Sample], float | None]) -> Callable[..., np.ndarray]:
    def per_item(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
        return _per_sample(samples, value)

    per_item.__name__ = per_item.__qualname__ = name  # the registry tells definitions apart by qualified name
    return per_item


#: The attribution-based checks' metrics that get a random-word control: (name, per-record value, what it reads).
CONTROLLED = (
    ("self_consistency_faithfulness", faithful_among_correct, "Madsen's check"),
    ("self_consistency_faithfulness_parsed", faithful_among_parsed, "Madsen's check among all checked"),
    ("self_consistency_label_change", label_changed, "the label change"),
    ("self_consistency_shift", probability_shift, "the shift"),
)


def _register_controls() -> None:
    """`<metric>_random_control` and `<metric>_over_random` for each metric of the attribution-based checks."""
    for name, value, what in CONTROLLED:
        low, high = (-1.0, 1.0) if name == "self_consistency_shift" else (0.0, 1.0)
        control = f"{name}_random_control"
        register_metric(control, family="faithfulness", higher_is_better=False, range=(low, high),
                        requires=_CONTROL,
                        description=f"{what} with as many random words redacted instead of the named ones: the "
                                    "check's random-word control")(_metric_fn(control, _on_control(value)))
        if name == "self_consistency_faithfulness_parsed":
            continue  # its difference would repeat the headline's on more items
        over = f"{name}_over_random"
        register_metric(over, family="faithfulness", higher_is_better=True, range=(low - high, high - low),
                        requires=_CONTROL,
                        description=f"{what} minus its random-word control, per item: above 0, the named words "
                                    "do more than random ones")(_metric_fn(over, _over_control(value)))


_register_controls()


def _softmax(scores: Sequence[float]) -> np.ndarray:
    values = np.asarray(scores, dtype=float)
    values = np.exp(values - values.max())
    return values / values.sum()


#: The field that marks an `eraser` record as DeYoung et al.'s probability definition; older records lack it.
_PROBABILITY_MARK = "full_probability"


def _eraser_values(samples: Sequence[Sample], key: str, needs: str | None = None) -> np.ndarray:
    """The number `key` of each sample's `eraser` record; NaN where it is absent, not finite, or the record lacks
    the field `needs` (so an old record's log-probability AOPC is never read as a probability)."""
    def value(sample: Sample) -> float | None:
        record = sample.get("eraser")
        if not isinstance(record, Mapping) or (needs is not None and record.get(needs) is None):
            return None
        number = record.get(key)
        return None if number is None or not math.isfinite(number) else number

    return _per_sample(samples, value)


@register_metric("aopc_comprehensiveness", family="faithfulness", higher_is_better=True, range=(-1.0, 1.0),
                 requires=("eraser.aopc_comprehensiveness", f"eraser.{_PROBABILITY_MARK}"),
                 description="ERASER (DeYoung et al.): mean over top-k bins of p(y|x) - p(y|x without the top-k "
                             "words), y the label predicted on x")
def aopc_comprehensiveness(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _eraser_values(samples, "aopc_comprehensiveness", needs=_PROBABILITY_MARK)


@register_metric("aopc_sufficiency", family="faithfulness", higher_is_better=False, range=(-1.0, 1.0),
                 requires=("eraser.aopc_sufficiency", f"eraser.{_PROBABILITY_MARK}"),
                 description="ERASER (DeYoung et al.): mean over top-k bins of p(y|x) - p(y|only the top-k words); "
                             "lower: the top words alone suffice")
def aopc_sufficiency(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _eraser_values(samples, "aopc_sufficiency", needs=_PROBABILITY_MARK)


@register_metric("aopc_comprehensiveness_logprob", family="faithfulness", higher_is_better=True,
                 range=(-math.inf, math.inf), requires=("eraser.aopc_comprehensiveness_logprob",),
                 description="aopc_comprehensiveness on the predicted label's log-probability instead of its "
                             "probability")
def aopc_comprehensiveness_logprob(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _eraser_values(samples, "aopc_comprehensiveness_logprob")


@register_metric("aopc_sufficiency_logprob", family="faithfulness", higher_is_better=False,
                 range=(-math.inf, math.inf), requires=("eraser.aopc_sufficiency_logprob",),
                 description="aopc_sufficiency on the predicted label's log-probability instead of its probability")
def aopc_sufficiency_logprob(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _eraser_values(samples, "aopc_sufficiency_logprob")
