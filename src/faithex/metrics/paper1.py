"""Paper 1's metrics (Cahlik et al. 2025, spec papers.md section 1.6), written as per-example values.

The paper defines, over N test examples and two decision vectors a, b:

    failure(a, b)      = 1 - #(a valid and b valid) / N      (parse-failure rate)
    accuracy_all(a, b) = #(a == b and a valid) / N           (invalid outputs count as wrong)

Here both are per-example indicator vectors whose mean is the paper's number, so that bootstrap intervals and paired
tests come for free. A decision is *valid* when it is one of the task's labels (`None`, the parser's failure
marker, and anything outside the label space, e.g. C1's -1, are invalid).

When a metric does not apply to a sample its value is NaN, and NaN is excluded from means (not counted as wrong):
- the sample has no gold label (`gold is None`), for metrics against gold;
- the output was never generated. An output counts as generated when its parsed value is present, or when the
  sample's raw `outputs[field]` text is not None. Without an `outputs` dict, answers and explanations count as
  generated (a None parse is a failure) while reasoning does not (configurations without reasoning simply have
  none): so `parsed.reasoning is None` is "no reasoning" -> NaN, unless a raw reasoning text exists -> failure.
  A raw text that the sample's `parsed` dict leaves out entirely is free text that no parser reads as a decision
  (paper 2's explanations): not generated, so no explanation metric applies.

Gold fields are only ever compared with model outputs; no model metric is computed from gold fields alone.

Beside paper 1's metrics, the step-validity metrics of issue 9 (bottom of this module): the share of an explanation's
(or a verbose reasoning's) written steps that are true of their own written operands.

Each metric declares the sample fields it reads (`requires`): by default a metric is computed only for sample sets that
have them (a cell without reasoning gets no reasoning metrics). The declaration never changes a value.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .registry import Sample, register_metric

#: Marks "does not apply to this sample" (distinct from None, which marks a parse failure).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

#: Fields whose absence (no parse and no raw text) means "not requested" even without an `outputs` dict.
_OPTIONAL_WITHOUT_OUTPUTS = frozenset({"reasoning"})


# -- validity and the two paper formulas ------------------------------------------------------------------------
def is_valid(value: Any, labels: Sequence[int]) -> bool:
    """Whether a decision is one of the labels (the paper's `a in {0, 1}`, generalised to any label space)."""
    return isinstance(value, numbers.Number) and value in labels


def failure(a: Sequence[Any], b: Sequence[Any], labels: Sequence[int] = (0, 1)) -> np.ndarray:
    """Per-example 1 - [a valid and b valid]; NaN where either side is MISSING. Mean = paper's failure(a, b)."""
    return np.array(
        [np.nan if _missing(x, y) else float(not (is_valid(x, labels) and is_valid(y, labels))) for x, y in zip(a, b)],
        dtype=float,
    )


def accuracy_all(a: Sequence[Any], b: Sequence[Any], labels: Sequence[int] = (0, 1)) -> np.ndarray:
    """Per-example [a == b and a valid]; NaN where either side is MISSING. Mean = paper's accuracy_all(a, b)."""
    return np.array(
        [np.nan if _missing(x, y) else float(is_valid(x, labels) and x == y) for x, y in zip(a, b)],
        dtype=float,
    )


def _missing(*values: Any) -> bool:
    return any(v is MISSING for v in values)


# -- reading fields from a sample -------------------------------------------------------------------------------
def gold_label(sample: Sample, labels: Sequence[int]) -> Any:
    """The gold label, MISSING if unlabelled; a gold label outside `labels` means the wrong label space was passed."""
    gold = sample.get("gold")
    if gold is None:
        return MISSING
    if not is_valid(gold, labels):
        raise ValueError(
            f"sample {sample.get('id')!r}: gold label {gold!r} is not in labels {tuple(labels)}; pass the task's labels"
        )
    return gold


def generated(sample: Sample, field: str) -> bool:
    """Whether the model was asked for `field` (see the module docstring for the rule)."""
    if _parsed(sample).get(field) is not None:
        return True
    outputs = sample.get("outputs")
    if isinstance(outputs, Mapping):
        if isinstance(sample.get("parsed"), Mapping) and field not in sample["parsed"]:
            return False  # free text the task does not read as a decision (paper 2's explanations): no metric of it
        return outputs.get(field) is not None
    return field not in _OPTIONAL_WITHOUT_OUTPUTS


def parsed_output(sample: Sample, field: str) -> Any:
    """The parsed value of `field`: the value, None for a parse failure, MISSING if it was never generated."""
    return _parsed(sample).get(field) if generated(sample, field) else MISSING


def reasoning_decision(sample: Sample) -> Any:
    """The decision the model's own reasoning ends with (its last element); None if unparsable or empty."""
    reasoning = parsed_output(sample, "reasoning")
    if reasoning is MISSING:
        return MISSING
    if not isinstance(reasoning, (list, tuple)) or len(reasoning) == 0:
        return None
    return reasoning[-1]


def _parsed(sample: Sample) -> Mapping[str, Any]:
    parsed = sample.get("parsed")
    return parsed if isinstance(parsed, Mapping) else {}


def _column(samples: Sequence[Sample], get: Callable[[Sample], Any]) -> list[Any]:
    return [get(s) for s in samples]


def _gold_column(samples: Sequence[Sample], labels: Sequence[int]) -> list[Any]:
    return [gold_label(s, labels) for s in samples]


def _output_column(samples: Sequence[Sample], field: str) -> list[Any]:
    return [parsed_output(s, field) for s in samples]


# What each metric reads (registry `requires`): a metric is computed by default only where its fields exist.
_GOLD_ANSWER = ("gold", "outputs.answer")
# Explanations are decisions only where the protocol parsed them (`parsed.explanation`, None for a failure): paper 2's
# free-text explanations have none, and no explanation metric.
_GOLD_EXPLANATION = ("gold", "parsed.explanation")
_ANSWER_EXPLANATION = ("outputs.answer", "parsed.explanation")
_REASONING = ("outputs.reasoning",)
_REASONING_GOLD = ("outputs.reasoning", "gold_reasoning")
_REASONING_ANSWER = ("outputs.reasoning", "outputs.answer")
_REASONING_EXPLANATION = ("outputs.reasoning", "outputs.explanation")

# -- table metrics: answer, explanation, alignment --------------------------------------------------------------
@register_metric("answer_accuracy", family="accuracy", higher_is_better=True,
                 description="accuracy_all(gold, parsed answer): unparsable answers count as wrong",
                 requires=_GOLD_ANSWER)
def answer_accuracy(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return accuracy_all(_gold_column(samples, labels), _output_column(samples, "answer"), labels)


@register_metric("answer_failure", family="failure", higher_is_better=False,
                 description="failure(gold, parsed answer): share of answers that could not be parsed",
                 requires=_GOLD_ANSWER)
def answer_failure(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return failure(_gold_column(samples, labels), _output_column(samples, "answer"), labels)


@register_metric("explanation_accuracy", family="accuracy", higher_is_better=True,
                 description="accuracy_all(gold, decision parsed from the explanation)",
                 requires=_GOLD_EXPLANATION)
def explanation_accuracy(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return accuracy_all(_gold_column(samples, labels), _output_column(samples, "explanation"), labels)


@register_metric("explanation_failure", family="failure", higher_is_better=False,
                 description="failure(gold, explanation decision): share of explanations without a readable decision",
                 requires=_GOLD_EXPLANATION)
def explanation_failure(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return failure(_gold_column(samples, labels), _output_column(samples, "explanation"), labels)


@register_metric("alignment_rate", family="alignment", higher_is_better=True,
                 description="accuracy_all(answer, explanation decision): both invalid counts as not aligned",
                 requires=_ANSWER_EXPLANATION)
def alignment_rate(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return accuracy_all(_output_column(samples, "answer"), _output_column(samples, "explanation"), labels)


@register_metric("alignment_failure", family="failure", higher_is_better=False,
                 description="failure(answer, explanation decision): either side unparsable",
                 requires=_ANSWER_EXPLANATION)
def alignment_failure(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return failure(_output_column(samples, "answer"), _output_column(samples, "explanation"), labels)


# -- reasoning --------------------------------------------------------------------------------------------------
def _canonical(value: Any) -> Any:
    """Tuples and lists compare equal after this (JSON round trips turn tuples into lists)."""
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def _gold_reasoning(sample: Sample) -> list[Any] | None:
    gold = sample.get("gold_reasoning")
    return _canonical(gold) if isinstance(gold, (list, tuple)) and len(gold) > 0 else None


def _reasoning_exact(sample: Sample) -> float:
    gold, reasoning = _gold_reasoning(sample), parsed_output(sample, "reasoning")
    if gold is None or reasoning is MISSING:
        return np.nan
    return float(reasoning is not None and _canonical(reasoning) == gold)


def _reasoning_steps(sample: Sample) -> float:
    gold, reasoning = _gold_reasoning(sample), parsed_output(sample, "reasoning")
    if gold is None or reasoning is MISSING:
        return np.nan
    if not isinstance(reasoning, (list, tuple)):
        return 0.0
    reasoning = _canonical(reasoning)
    hits = sum(1 for i, g in enumerate(gold) if i < len(reasoning) and reasoning[i] == g)
    return hits / len(gold)


@register_metric("reasoning_exact_match", family="accuracy", higher_is_better=True,
                 description="parsed reasoning equals gold reasoning exactly; unparsable = 0; NaN without reasoning",
                 requires=_REASONING_GOLD)
def reasoning_exact_match(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return np.array(_column(samples, _reasoning_exact), dtype=float)


@register_metric("reasoning_failure", family="failure", higher_is_better=False,
                 description="generated reasoning that could not be parsed; NaN without reasoning",
                 requires=_REASONING)
def reasoning_failure(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    values = _output_column(samples, "reasoning")
    return np.array([np.nan if r is MISSING else float(r is None) for r in values], dtype=float)


@register_metric("reasoning_step_agreement", family="accuracy", higher_is_better=True,
                 description="share of gold reasoning positions the parsed reasoning reproduces; unparsable = 0",
                 requires=_REASONING_GOLD)
def reasoning_step_agreement(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return np.array(_column(samples, _reasoning_steps), dtype=float)


@register_metric("answer_reasoning_agreement", family="alignment", higher_is_better=True,
                 description="accuracy_all(decision ending the model's reasoning, parsed answer)",
                 requires=_REASONING_ANSWER)
def answer_reasoning_agreement(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return accuracy_all(_column(samples, reasoning_decision), _output_column(samples, "answer"), labels)


@register_metric("explanation_reasoning_agreement", family="alignment", higher_is_better=True,
                 description="accuracy_all(decision ending the model's reasoning, explanation decision)",
                 requires=_REASONING_EXPLANATION)
def explanation_reasoning_agreement(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return accuracy_all(_column(samples, reasoning_decision), _output_column(samples, "explanation"), labels)


# -- step validity (no paper reports it; issue 9) ----------------------------------------------------------------
# A written step is valid when the truth value (or result) it writes is true of its own written operands: the
# explanation `["0.6 > 0.4", false]` has an invalid step even where the reasoning it copied said 0. The protocol
# records, per sample, `parsed.explanation_steps` / `parsed.reasoning_steps`: a list of booleans (one per step), or
# None when the text is unreadable; the field is absent where the output was not generated or the task cannot check
# it (`Task.written_steps`). These are "accuracy" metrics, not faithfulness: an explanation
# that faithfully copies a wrong reasoning bit is faithful and still wrong.
_EXPLANATION_STEPS = ("outputs.explanation", "parsed.explanation_steps")
_REASONING_STEPS = ("outputs.reasoning", "parsed.reasoning_steps")


def _steps(sample: Sample, field: str) -> Any:
    """The recorded step validities: a list, None (unreadable), or MISSING (not recorded: does not apply)."""
    parsed = _parsed(sample)
    return parsed[field] if field in parsed else MISSING


def _step_share(sample: Sample, field: str) -> float:
    """Share of valid steps; 0 for an unreadable text (invalid counts as wrong); NaN without recorded or written
    steps."""
    steps = _steps(sample, field)
    if steps is MISSING or (isinstance(steps, (list, tuple)) and len(steps) == 0):
        return np.nan
    if not isinstance(steps, (list, tuple)):
        return 0.0
    return sum(bool(step) for step in steps) / len(steps)


def _step_failure(sample: Sample, field: str) -> float:
    steps = _steps(sample, field)
    return np.nan if steps is MISSING else float(not isinstance(steps, (list, tuple)))


@register_metric("explanation_step_validity", family="accuracy", higher_is_better=True,
                 description="share of the explanation's written steps that are true of their own operands; "
                             "unreadable explanation = 0; NaN without checkable steps",
                 requires=_EXPLANATION_STEPS)
def explanation_step_validity(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return np.array([_step_share(s, "explanation_steps") for s in samples], dtype=float)


@register_metric("explanation_step_failure", family="failure", higher_is_better=False,
                 description="explanations whose steps could not be read (counted 0 in explanation_step_validity)",
                 requires=_EXPLANATION_STEPS)
def explanation_step_failure(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return np.array([_step_failure(s, "explanation_steps") for s in samples], dtype=float)


@register_metric("reasoning_step_validity", family="accuracy", higher_is_better=True,
                 description="share of the reasoning's written steps that are true of their own operands (verbose "
                             "reasoning; logistic regression's sums); unreadable = 0; NaN without checkable steps",
                 requires=_REASONING_STEPS)
def reasoning_step_validity(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return np.array([_step_share(s, "reasoning_steps") for s in samples], dtype=float)


@register_metric("reasoning_step_failure", family="failure", higher_is_better=False,
                 description="reasoning texts whose steps could not be read (counted 0 in reasoning_step_validity)",
                 requires=_REASONING_STEPS)
def reasoning_step_failure(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return np.array([_step_failure(s, "reasoning_steps") for s in samples], dtype=float)
