"""Label metrics (macro-F1, per-class recall, confusion matrix), declared requirements, paired comparisons between
cells and statistics across seeds: hand-computed values on small hand-made sample lists."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from sklearn.metrics import f1_score

from faithex.errors import FaithexError
from faithex.metrics import (
    Metric,
    MisalignedSamplesError,
    UnknownMetricError,
    compare,
    confusion_matrix,
    evaluate_samples,
    get_metric,
    has_field,
    list_metrics,
    mcnemar_test,
    paired_seed_test,
    per_example,
    seed_summary,
    summarise_seeds,
)
from faithex.metrics.classification import label_slots, macro_f1_of_rows

THREE = (0, 1, 2)


def label_sample(i, gold, answer, explanation=None, reasoning=None, protocol="score"):
    """A sample as the label protocols write it: raw texts in outputs (None = never asked), decisions in parsed."""
    return {
        "id": f"x{i}",
        "task": "toy",
        "protocol": protocol,
        "gold": gold,
        "outputs": {"answer": "text", "explanation": explanation, "reasoning": reasoning},
        "parsed": {"answer": answer, "explanation": None, "reasoning": None},
        "label_scores": [-1.0, -2.0, -3.0],
    }


def rows(pairs, start=0):
    return [label_sample(start + i, gold, answer) for i, (gold, answer) in enumerate(pairs)]


# Nine labelled examples (gold, answer), 3 classes; class 2 is never predicted, one answer is unparsable (None), one
# lies outside the label space (5); an unlabelled sample does not count. By hand:
#   confusion (rows gold 0..2, columns predicted 0..2 | invalid):  [2 1 0 | 0]  [0 2 0 | 1]  [1 1 0 | 1]
#   F1_0 = 2*2/(3+3) = 2/3   F1_1 = 2*2/(3+4) = 4/7   F1_2 = 0/(3+0) = 0   macro = (2/3 + 4/7 + 0)/3 = 26/63
#   recall = 2/3, 2/3, 0 (3 examples each); accuracy = 4/9
MIXED = rows([(0, 0), (0, 0), (0, 1), (1, 1), (1, 1), (1, None), (2, 0), (2, 1), (2, 5), (None, 1)])

# Predicting a class that is never gold: F1_0 = 2/3, F1_1 = 1, F1_2 = 0/(0+1) = 0 -> 5/9; recall/2 has no examples.
PREDICTED_NOT_GOLD = rows([(0, 0), (0, 2), (1, 1)])

# Class 2 neither gold nor predicted: left out of the average. F1_0 = 2*2/(2+3) = 4/5, F1_1 = 2*1/(2+1) = 2/3.
ABSENT_CLASS = rows([(0, 0), (0, 0), (1, 1), (1, 0)])

NAN = math.nan
CASES = {
    "mixed": (MIXED, 26 / 63, [2 / 3, 2 / 3, 0.0], [3, 3, 3], [[2, 1, 0], [0, 2, 0], [1, 1, 0]], [0, 1, 1]),
    "predicted_not_gold": (PREDICTED_NOT_GOLD, 5 / 9, [1 / 2, 1.0, NAN], [2, 1, 0],
                           [[1, 0, 1], [0, 1, 0], [0, 0, 0]], [0, 0, 0]),
    "absent_class": (ABSENT_CLASS, (4 / 5 + 2 / 3) / 2, [1.0, 1 / 2, NAN], [2, 2, 0],
                     [[2, 0, 0], [1, 1, 0], [0, 0, 0]], [0, 0, 0]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_macro_f1_by_hand(case):
    samples, expected, *_ = CASES[case]
    result = evaluate_samples(samples, ["macro_f1"], labels=THREE)["macro_f1"]
    assert result["value"] == pytest.approx(expected)
    assert result["n"] == sum(s["gold"] is not None for s in samples)


@pytest.mark.parametrize("case", sorted(CASES))
def test_per_class_recall_by_hand(case):
    samples, _, recalls, counts, *_ = CASES[case]
    out = evaluate_samples(samples, [f"recall/{label}" for label in THREE], labels=THREE)
    for label, expected, n in zip(THREE, recalls, counts):
        result = out[f"recall/{label}"]
        assert result["n"] == n
        if n:
            assert result["value"] == pytest.approx(expected)
        else:
            assert math.isnan(result["value"])


@pytest.mark.parametrize("case", sorted(CASES))
def test_confusion_matrix_by_hand(case):
    samples, *_, matrix, invalid = CASES[case]
    assert confusion_matrix(samples, THREE) == {"labels": [0, 1, 2], "matrix": matrix, "invalid": invalid}
    json.dumps(confusion_matrix(samples, THREE))  # stored in results.json as is


def test_accuracy_is_paper1_answer_accuracy():
    # One definition of accuracy, not a second registration: invalid answers count as wrong, unlabelled are skipped.
    assert "accuracy" not in list_metrics()
    result = evaluate_samples(MIXED, ["answer_accuracy"], labels=THREE)["answer_accuracy"]
    assert result["value"] == pytest.approx(4 / 9)


def test_macro_f1_agrees_with_sklearn():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, size=60)
    answer = np.where(rng.random(60) < 0.6, gold, rng.integers(0, 3, size=60))  # class 3 is never predicted
    samples = rows(zip(gold.tolist(), answer.tolist()))
    ours = evaluate_samples(samples, ["macro_f1"], labels=(0, 1, 2, 3, 4))["macro_f1"]["value"]
    # scikit-learn's default labels are the classes present in gold or prediction: absent class 4 is left out.
    assert ours == pytest.approx(f1_score(gold, answer, average="macro"))


def test_macro_f1_invalid_answers_agree_with_sklearn_as_a_class_outside_labels():
    # Invalid answers as -1, outside sklearn's `labels`: a miss for the gold class, a false positive for none.
    gold = [g for g, _ in [(0, 0), (0, 0), (0, 1), (1, 1), (1, 1), (1, None), (2, 0), (2, 1), (2, 5)]]
    answer = [0, 0, 1, 1, 1, -1, 0, 1, -1]
    expected = f1_score(gold, answer, labels=[0, 1, 2], average="macro")
    assert expected == pytest.approx(26 / 63)
    assert evaluate_samples(MIXED, ["macro_f1"], labels=THREE)["macro_f1"]["value"] == pytest.approx(expected)


def test_vectorised_resamples_match_one_at_a_time():
    rng = np.random.default_rng(1)
    samples = rows(zip(rng.integers(0, 3, 40).tolist(), rng.choice([0, 1, 2, None, 7], 40).tolist()))
    slots = label_slots(samples, THREE)
    resamples = rng.integers(0, 40, size=(25, 40))
    batch = macro_f1_of_rows(slots, resamples, THREE)
    for row, value in zip(resamples, batch):
        gold, predicted = slots[row, 0], slots[row, 1]
        present = sorted(set(gold) | (set(predicted) - {3.0}))
        assert value == pytest.approx(f1_score(gold, predicted, labels=present, average="macro"))


def test_macro_f1_per_example_is_each_example_alone():
    # On one example, macro-F1 is 1 if the answer is right, else 0; unlabelled is NaN.
    np.testing.assert_array_equal(per_example(MIXED, "macro_f1", THREE), per_example(MIXED, "answer_accuracy", THREE))


def test_macro_f1_bootstrap_is_deterministic_and_contains_value():
    rng = np.random.default_rng(2)
    gold = rng.integers(0, 3, size=200)
    answer = np.where(rng.random(200) < 0.7, gold, rng.integers(0, 3, size=200))
    samples = rows(zip(gold.tolist(), answer.tolist()))
    first = evaluate_samples(samples, ["macro_f1"], labels=THREE, seed=1)["macro_f1"]
    assert evaluate_samples(samples, ["macro_f1"], labels=THREE, seed=1)["macro_f1"] == first
    assert evaluate_samples(samples, ["macro_f1"], labels=THREE, seed=2)["macro_f1"] != first
    assert first["low"] < first["value"] < first["high"]
    assert first["high"] - first["low"] < 0.2


@pytest.mark.parametrize("name", ["macro_f1", "recall/0", "recall/1", "recall/2"])
def test_label_metrics_contract(name):
    metric = get_metric(name)
    rng = np.random.default_rng(3)
    samples = rows(zip(rng.choice([0, 1, 2, None], 100).tolist(), rng.choice([0, 1, 2, None, 9], 100).tolist()))
    values = metric(samples, THREE)
    assert values.shape == (100,)
    finite = values[~np.isnan(values)]
    assert finite.size and np.all((finite >= metric.range[0]) & (finite <= metric.range[1]))
    assert metric.description and metric.requires == ("gold", "outputs.answer")


def test_per_label_names():
    assert "recall/0" not in list_metrics()
    assert list_metrics(labels=THREE)[-3:] == ["recall/0", "recall/1", "recall/2"]
    assert list_metrics(labels=range(11))[-2:] == ["recall/9", "recall/10"]  # label order, not string order
    with pytest.raises(ValueError, match="not in labels"):
        per_example(MIXED, "recall/5", THREE)
    with pytest.raises(UnknownMetricError, match="recall/<label>"):
        get_metric("recal/1")


# -- requires / applies_to --------------------------------------------------------------------------------------------
def paper1_sample(i, gold, answer, explanation, reasoning_text=None, reasoning=None):
    return {
        "id": f"p{i}",
        "gold": gold,
        "gold_reasoning": [1, 0, gold],
        "outputs": {"answer": "a", "explanation": "e", "reasoning": reasoning_text},
        "parsed": {"answer": answer, "explanation": explanation, "reasoning": reasoning},
    }


JOINT_WITHOUT_REASONING = [paper1_sample(1, 1, 1, 1), paper1_sample(2, 0, 1, None)]
JOINT_WITH_REASONING = [paper1_sample(1, 1, 1, 1, "1,0,1", [1, 0, 1]), paper1_sample(2, 0, 0, 0, "zz", None)]
REASONING_METRICS = {"reasoning_exact_match", "reasoning_step_agreement", "reasoning_failure",
                     "answer_reasoning_agreement", "explanation_reasoning_agreement"}
EXPLANATION_METRICS = {"explanation_accuracy", "explanation_failure", "alignment_rate", "alignment_failure"}
ANSWER_METRICS = {"answer_accuracy", "answer_failure", "macro_f1"}

DEFAULTS = {
    "label_scoring": (MIXED, ANSWER_METRICS),
    "joint_without_reasoning": (JOINT_WITHOUT_REASONING, ANSWER_METRICS | EXPLANATION_METRICS),
    "joint_with_reasoning": (JOINT_WITH_REASONING, ANSWER_METRICS | EXPLANATION_METRICS | REASONING_METRICS),
    "no_samples": ([], set()),
}


@pytest.mark.parametrize("case", sorted(DEFAULTS))
def test_default_metrics_are_those_that_apply(case):
    samples, expected = DEFAULTS[case]
    out = evaluate_samples(samples, labels=THREE)
    assert set(out) == expected
    assert all(result["n"] > 0 for result in out.values())  # no column of NaN


def test_metric_that_does_not_apply_is_computed_when_named():
    assert not get_metric("reasoning_exact_match").applies_to(MIXED)
    result = evaluate_samples(MIXED, ["reasoning_exact_match"], labels=THREE)["reasoning_exact_match"]
    assert result["n"] == 0 and math.isnan(result["value"])


def test_per_class_adds_recall_entries():
    out = evaluate_samples(MIXED, labels=THREE, per_class=True)
    assert set(out) == ANSWER_METRICS | {"recall/0", "recall/1", "recall/2"}
    assert out["recall/1"]["value"] == pytest.approx(2 / 3)


def test_paper1_metrics_declare_what_they_read():
    assert get_metric("answer_accuracy").requires == ("gold", "outputs.answer")
    assert get_metric("alignment_rate").requires == ("outputs.answer", "parsed.explanation")
    assert get_metric("reasoning_exact_match").requires == ("outputs.reasoning", "gold_reasoning")
    assert all(get_metric(name).requires for name in list_metrics())


def test_applies_to_reads_dotted_fields():
    scores_only = Metric("x", "accuracy", True, (0.0, 1.0), "x", lambda s, l: np.zeros(len(s)), ("label_scores",))
    assert scores_only.applies_to(MIXED)
    assert not scores_only.applies_to(JOINT_WITH_REASONING)
    # At least one sample must have every field (not one field each from different samples).
    both = Metric("y", "accuracy", True, (0.0, 1.0), "y", lambda s, l: np.zeros(len(s)), ("gold", "outputs.reasoning"))
    assert not both.applies_to([{"gold": 1}, {"outputs": {"reasoning": "r"}}])
    assert both.applies_to([{"gold": 1, "outputs": {"reasoning": "r"}}])


def test_has_field_counts_a_parsed_value_as_an_output():
    assert has_field({"parsed": {"answer": 0}}, "outputs.answer")  # record written without raw texts
    assert not has_field({"parsed": {"answer": None}}, "outputs.answer")
    assert not has_field({"outputs": "not a mapping"}, "outputs.answer")
    assert has_field({"gold": 0}, "gold")


# -- compare: two cells on the same test items --------------------------------------------------------------------
def cell(correct, start=0):
    """Samples of a binary task whose answers are right (1) or wrong (0) as listed."""
    return rows([(i % 2, i % 2 if ok else 1 - i % 2) for i, ok in enumerate(correct)], start)


def discordant_cells(n01, n10, both_right=5, both_wrong=3):
    a = [1] * n01 + [0] * n10 + [1] * both_right + [0] * both_wrong
    b = [0] * n01 + [1] * n10 + [1] * both_right + [0] * both_wrong
    return cell(a), cell(b)


@pytest.mark.parametrize("n01, n10, p_value", [
    (1, 6, 2 * (1 + 7) / 128),       # 0.125
    (1, 5, 14 / 64),
    (0, 5, 2 / 32),
    (2, 0, 2 / 4),
    (3, 3, 1.0),
    (0, 0, 1.0),
])
def test_compare_mcnemar_on_discordant_tables(n01, n10, p_value):
    a, b = discordant_cells(n01, n10)
    result = compare(a, b, "answer_accuracy", n_resamples=2000)
    assert result["mcnemar_p"] == pytest.approx(p_value)
    assert (result["a_only"], result["b_only"]) == (n01, n10)
    n = n01 + n10 + 8
    assert result["n"] == n
    assert result["diff"] == pytest.approx((n01 - n10) / n)
    assert result["a"] - result["b"] == pytest.approx(result["diff"])
    assert mcnemar_test(per_example(a, "answer_accuracy"), per_example(b, "answer_accuracy")) == pytest.approx(p_value)


def test_compare_aligns_shuffled_orders():
    a, b = discordant_cells(2, 9)
    shuffled = b[:]
    random.Random(0).shuffle(shuffled)
    for metric in ("answer_accuracy", "macro_f1"):
        assert compare(a, shuffled, metric, n_resamples=500) == compare(a, b, metric, n_resamples=500)


@pytest.mark.parametrize("change, message", [
    (lambda b: b[:-1], "only in a"),
    (lambda b: b + rows([(0, 0)], start=99), "only in b"),
    (lambda b: b[:-1] + [dict(b[0])], "repeats ids"),
    (lambda b: [{k: v for k, v in s.items() if k != "id"} for s in b], "no id"),
])
def test_compare_refuses_misaligned_ids(change, message):
    a, b = discordant_cells(1, 2)
    with pytest.raises(MisalignedSamplesError, match=message) as info:
        compare(a, change(b))
    assert isinstance(info.value, FaithexError) and isinstance(info.value, ValueError)


def test_compare_aggregate_metric_resamples_jointly():
    rng = np.random.default_rng(4)
    gold = rng.integers(0, 3, 150)
    good = np.where(rng.random(150) < 0.85, gold, rng.integers(0, 3, 150))
    poor = np.where(rng.random(150) < 0.45, gold, rng.integers(0, 3, 150))
    a, b = rows(zip(gold.tolist(), good.tolist())), rows(zip(gold.tolist(), poor.tolist()))
    result = compare(a, b, "macro_f1", labels=THREE, n_resamples=2000, seed=3)
    value = lambda s: evaluate_samples(s, ["macro_f1"], labels=THREE)["macro_f1"]["value"]
    assert result["a"] == pytest.approx(value(a)) and result["b"] == pytest.approx(value(b))
    assert result["diff"] == pytest.approx(value(a) - value(b))
    assert 0 < result["low"] < result["diff"] < result["high"] and result["p_value"] < 0.01
    assert result["mcnemar_p"] is None and result["n"] == 150
    assert compare(a, b, "macro_f1", labels=THREE, n_resamples=2000, seed=3) == result  # deterministic per seed
    same = compare(a, a, "macro_f1", labels=THREE, n_resamples=200)
    assert same["diff"] == 0.0 and same["p_value"] == 1.0


def test_compare_non_binary_metric_has_no_mcnemar():
    a = [paper1_sample(1, 1, 1, 1, "t", [1, 0, 0]), paper1_sample(2, 0, 0, 0, "t", [1, 0, 0])]
    b = [paper1_sample(1, 1, 1, 1, "t", [1, 0, 1]), paper1_sample(2, 0, 0, 0, "t", [0, 0, 1])]
    result = compare(a, b, "reasoning_step_agreement", n_resamples=100)
    assert result["mcnemar_p"] is None and result["a_only"] is None
    # Gold reasoning [1, 0, 1] and [1, 0, 0]: a reproduces 2/3 and 3/3 of the steps, b 3/3 and 1/3.
    assert (result["a"], result["b"]) == (pytest.approx(5 / 6), pytest.approx(2 / 3))
    assert result["diff"] == pytest.approx(1 / 6)


# -- across seeds ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("values, mean, sd, n", [
    ([0.8, 0.9, 1.0], 0.9, 0.1, 3),
    ({0: 2.0, 1: 4.0}, 3.0, math.sqrt(2), 2),
    ([0.7], 0.7, None, 1),
    ([0.5, math.nan, None, 0.7], 0.6, math.sqrt(0.02), 2),  # the metric did not apply in two seeds
])
def test_seed_summary(values, mean, sd, n):
    summary = seed_summary(values)
    assert summary["mean"] == pytest.approx(mean) and summary["n"] == n
    assert summary["sd"] == (None if sd is None else pytest.approx(sd))
    assert len(summary["values"]) == n


def test_summarise_seeds_from_evaluate_results():
    per_seed = [{"acc": {"value": 0.5}}, {"acc": {"value": 0.7}, "f1": {"value": 0.2}}]
    out = summarise_seeds(per_seed)
    assert out["acc"]["mean"] == pytest.approx(0.6) and out["f1"] == seed_summary([0.2])


def test_paired_seed_test_by_hand():
    # Differences 1, 1, 2: mean 4/3, sd sqrt(1/3), standard error 1/3, so t = 4 with 2 degrees of freedom, and for
    # df = 2 the two-sided p-value has the closed form 1 - t / sqrt(t^2 + 2) = 1 - 4/sqrt(18).
    result = paired_seed_test({0: 3.0, 1: 5.0, 2: 4.0}, {2: 2.0, 0: 2.0, 1: 4.0})
    assert result["mean_diff"] == pytest.approx(4 / 3)
    assert result["sd_diff"] == pytest.approx(math.sqrt(1 / 3))
    assert result["t"] == pytest.approx(4.0) and result["df"] == 2 and result["n"] == 3
    assert result["p_value"] == pytest.approx(1 - 4 / math.sqrt(18))
    assert result["note"] is None
    assert paired_seed_test([3.0, 5.0, 4.0], [2.0, 4.0, 2.0])["p_value"] == pytest.approx(result["p_value"])


@pytest.mark.parametrize("a, b, note", [
    ([0.9], [0.8], "at least 2 seeds"),
    ([0.9, math.nan], [0.8, 0.7], "at least 2 seeds"),
    ([0.9, 0.8], [0.8, 0.7], "zero variance"),
])
def test_paired_seed_test_undefined_says_why(a, b, note):
    result = paired_seed_test(a, b)
    assert result["p_value"] is None and result["t"] is None
    assert note in result["note"]


def test_paired_seed_test_refuses_different_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        paired_seed_test({0: 1.0, 1: 2.0}, {0: 1.0, 2: 2.0})
    with pytest.raises(ValueError, match="one value per seed"):
        paired_seed_test([1.0, 2.0], [1.0])


def test_free_text_explanations_get_no_explanation_metrics():
    # paper 2's explain_then_score writes an explanation no parser reads as a decision: `parsed` leaves it out
    samples = [{**label_sample(i, gold, gold, explanation="The reply is fluent."), "parsed": {"answer": gold}}
               for i, gold in enumerate([0, 1, 2, 1])]
    out = evaluate_samples(samples, labels=THREE)
    assert not {"explanation_accuracy", "explanation_failure", "alignment_rate", "alignment_failure"} & set(out)
    assert out["answer_accuracy"]["value"] == 1.0
    # paper 1's unreadable explanation (raw text, parse None) still counts as a failure
    failed = [{**s, "parsed": {"answer": s["gold"], "explanation": None}} for s in samples]
    assert evaluate_samples(failed, labels=THREE)["explanation_failure"]["value"] == 1.0


def test_mean_absolute_error_on_an_ordinal_scale():
    scale = [1, 2, 3, 4, 5]
    golds, answers = [0, 4, 2, 1], [0, 2, None, 3]  # distances 0, 2, (unreadable: left out), 2
    samples = [{**label_sample(i, g, a), "scale": scale} for i, (g, a) in enumerate(zip(golds, answers))]
    out = evaluate_samples(samples, labels=range(5))
    assert out["mean_absolute_error"]["value"] == pytest.approx(4 / 3)
    assert out["mean_absolute_error"]["n"] == 3
    # unordered categories carry no scale: no MAE
    plain = [label_sample(i, g, a) for i, (g, a) in enumerate(zip(golds, answers))]
    assert "mean_absolute_error" not in evaluate_samples(plain, labels=range(5))
