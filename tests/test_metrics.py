"""Metrics: hand-computed paper-1 numbers, NaN rules, the registry contract and the statistics helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faithex.metrics import (
    FAMILIES,
    UnknownMetricError,
    bootstrap_ci,
    chance_level,
    evaluate_samples,
    get_metric,
    list_metrics,
    mcnemar_test,
    paired_bootstrap_test,
    paired_permutation_test,
    per_example,
    register_metric,
)
from faithex.metrics.paper1 import accuracy_all, failure


def sample(i, gold, answer, explanation, reasoning=None, gold_reasoning=None, outputs=None):
    row = {
        "id": f"s{i}",
        "config": "joint",
        "gold": gold,
        "gold_reasoning": gold_reasoning,
        "parsed": {"answer": answer, "explanation": explanation, "reasoning": reasoning},
    }
    if outputs is not None:
        row["outputs"] = outputs
    return row


# Six samples, worked out by hand (a = answer, e = explanation decision; None and -1 are parse failures):
#   id gold a     e    | answer acc/fail | expl acc/fail | aligned/fail
#   s1  1   1     1    |   1 / 0         |   1 / 0       |   1 / 0
#   s2  0   1     0    |   0 / 0         |   1 / 0       |   0 / 0      (disagreement)
#   s3  1   None  1    |   0 / 1         |   1 / 0       |   0 / 1
#   s4  0   0     1    |   1 / 0         |   0 / 0       |   0 / 0      (disagreement)
#   s5  1   None  -1   |   0 / 1         |   0 / 1       |   0 / 1      (both invalid: not aligned)
#   s6  0   0     0    |   1 / 0         |   1 / 0       |   1 / 0
TABLE = [
    sample(1, 1, 1, 1),
    sample(2, 0, 1, 0),
    sample(3, 1, None, 1),
    sample(4, 0, 0, 1),
    sample(5, 1, None, -1),
    sample(6, 0, 0, 0),
]

EXPECTED_TABLE = {
    "answer_accuracy": ([1, 0, 0, 1, 0, 1], 3 / 6),
    "answer_failure": ([0, 0, 1, 0, 1, 0], 2 / 6),
    "explanation_accuracy": ([1, 1, 1, 0, 0, 1], 4 / 6),
    "explanation_failure": ([0, 0, 0, 0, 1, 0], 1 / 6),
    "alignment_rate": ([1, 0, 0, 0, 0, 1], 2 / 6),
    "alignment_failure": ([0, 0, 1, 0, 1, 0], 2 / 6),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_TABLE))
def test_paper1_table_metrics_by_hand(name):
    per, mean = EXPECTED_TABLE[name]
    np.testing.assert_array_equal(per_example(TABLE, name), np.array(per, dtype=float))
    result = evaluate_samples(TABLE, [name])[name]
    assert result["value"] == pytest.approx(mean)
    assert result["n"] == 6


def test_invalid_counts_as_wrong_not_excluded():
    # Paper 1 divides by N, not by the valid pairs: accuracy over valid answers only would be 3/4.
    assert evaluate_samples(TABLE, ["answer_accuracy"])["answer_accuracy"]["value"] == pytest.approx(0.5)


def test_formulas_match_paper_definitions():
    a = np.array([1, 0, -1, 1, 0])
    b = np.array([1, 1, 1, -1, 0])
    # failure = 1 - #(a valid & b valid)/N = 1 - 3/5 ; accuracy_all = #(a == b & a valid)/N = 2/5
    assert failure(a, b).mean() == pytest.approx(0.4)
    assert accuracy_all(a, b).mean() == pytest.approx(0.4)
    # Both invalid and equal (-1 == -1) is still not a match.
    assert accuracy_all([-1, None], [-1, None]).tolist() == [0.0, 0.0]


def test_other_label_spaces():
    rows = [sample(1, 2, 2, 1), sample(2, 1, 1, 1), sample(3, 0, 3, 0)]
    out = evaluate_samples(rows, ["answer_accuracy", "answer_failure"], labels=(0, 1, 2))
    assert out["answer_accuracy"]["value"] == pytest.approx(2 / 3)
    assert out["answer_failure"]["value"] == pytest.approx(1 / 3)  # 3 is outside the label space


def test_gold_outside_labels_is_an_error():
    with pytest.raises(ValueError, match="labels"):
        per_example([sample(1, 2, 2, 2)], "answer_accuracy", labels=(0, 1))


def test_unlabelled_sample_is_nan_not_wrong():
    values = per_example([sample(1, None, 1, 1), sample(2, 1, 1, 1)], "answer_accuracy")
    assert math.isnan(values[0]) and values[1] == 1.0
    # Alignment needs no gold label, so it still applies.
    assert per_example([sample(1, None, 1, 1)], "alignment_rate").tolist() == [1.0]


def test_output_not_requested_is_nan():
    # A label-only configuration: no explanation text was generated, so explanation metrics do not apply.
    row = sample(1, 1, 1, None, outputs={"answer": "1", "explanation": None})
    assert math.isnan(per_example([row], "explanation_accuracy")[0])
    assert math.isnan(per_example([row], "alignment_rate")[0])
    # ... whereas an explanation text that did not parse is a failure.
    row = sample(1, 1, 1, None, outputs={"answer": "1", "explanation": "garbled"})
    assert per_example([row], "explanation_accuracy").tolist() == [0.0]
    assert per_example([row], "explanation_failure").tolist() == [1.0]


# Reasoning: gold reasoning ends with the decision.
#   r1 parsed == gold                       exact 1, steps 1,   fail 0, ans~reas 1, expl~reas 1
#   r2 [1,1,0] vs gold [1,0,1], a 1, e 0    exact 0, steps 1/3, fail 0, ans~reas 0, expl~reas 1
#   r3 reasoning text unparsable            exact 0, steps 0,   fail 1, ans~reas 0, expl~reas 0
#   r4 outputs.reasoning is None            all NaN
#   r5 no outputs, parsed.reasoning None    all NaN (configuration without reasoning)
#   r6 [0] vs gold [0,1] (too short), a 0   exact 0, steps 1/2, fail 0, ans~reas 1, expl~reas 0 (e = 1)
REASONING = [
    sample(1, 1, 1, 1, [1, 0, 1], [1, 0, 1], {"reasoning": "1,0,1"}),
    sample(2, 1, 1, 0, [1, 1, 0], [1, 0, 1], {"reasoning": "1,1,0"}),
    sample(3, 0, 0, 0, None, [0, 1, 0], {"reasoning": "zzz"}),
    sample(4, 1, 1, 1, None, [1, 0, 1], {"reasoning": None, "answer": "1", "explanation": "[1]"}),
    sample(5, 1, 1, 1, None, [1, 0, 1]),
    sample(6, 1, 0, 1, [0], [0, 1], {"reasoning": "0"}),
]
NAN = math.nan
EXPECTED_REASONING = {
    "reasoning_exact_match": [1, 0, 0, NAN, NAN, 0],
    "reasoning_step_agreement": [1, 1 / 3, 0, NAN, NAN, 1 / 2],
    "reasoning_failure": [0, 0, 1, NAN, NAN, 0],
    "answer_reasoning_agreement": [1, 0, 0, NAN, NAN, 1],
    "explanation_reasoning_agreement": [1, 1, 0, NAN, NAN, 0],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_REASONING))
def test_reasoning_metrics_by_hand(name):
    expected = np.array(EXPECTED_REASONING[name], dtype=float)
    np.testing.assert_allclose(per_example(REASONING, name), expected)
    result = evaluate_samples(REASONING, [name])[name]
    assert result["n"] == 4
    assert result["value"] == pytest.approx(np.nanmean(expected))


def test_configuration_without_reasoning_reports_nan():
    out = evaluate_samples(TABLE, ["reasoning_exact_match", "answer_reasoning_agreement"])
    for result in out.values():
        assert result["n"] == 0 and math.isnan(result["value"])
        assert math.isnan(result["low"]) and math.isnan(result["high"])


def test_evaluate_defaults_to_all_metrics():
    # one sample that also carries the checked steps its texts write, so the step-validity metrics apply too
    written = {**REASONING[0], "parsed": {**REASONING[0]["parsed"], "explanation_steps": [True, False],
                                          "reasoning_steps": [True]}}
    out = evaluate_samples(TABLE + REASONING + [{**written, "id": "steps"}])
    # every metric that reads what these samples hold; those that read fields two_step never writes (an ordinal
    # scale, self-consistency checks, ERASER scores, reasoning interventions, CC-SHAP) are left out rather than
    # reported as all-NaN columns
    other_papers = {name for name in list_metrics()
                    if any(path == "scale" or path.split(".")[0] in ("self_consistency", "eraser", "interventions",
                                                                     "cc_shap")
                           for path in get_metric(name).requires)}
    assert other_papers and set(out) == set(list_metrics()) - other_papers
    for result in out.values():
        assert set(result) == {"value", "low", "high", "n"}
        if result["n"]:
            assert result["low"] <= result["value"] <= result["high"]


# -- registry -----------------------------------------------------------------------------------------------------
def test_unknown_metric_suggests_close_name():
    with pytest.raises(UnknownMetricError, match="answer_accuracy") as info:
        get_metric("answer_acuracy")
    assert isinstance(info.value, ValueError)
    with pytest.raises(UnknownMetricError, match="(?i)did you mean"):
        evaluate_samples(TABLE, ["alignment_rte"])


def test_registration_rejects_bad_declarations():
    with pytest.raises(ValueError, match="family"):
        register_metric("x_bad_family", family="speed", higher_is_better=True)
    with pytest.raises(ValueError, match="range"):
        register_metric("x_bad_range", family="accuracy", higher_is_better=True, range=(1, 0))
    with pytest.raises(ValueError, match="already registered"):
        register_metric("answer_accuracy", family="accuracy", higher_is_better=True)(lambda s, l: np.zeros(len(s)))


def _random_samples(n, seed):
    rng = np.random.default_rng(seed)
    choices = [0, 1, None, -1]
    rows = []
    for i in range(n):
        gold_reasoning = [int(v) for v in rng.integers(0, 2, size=4)]
        kind = rng.integers(0, 3)  # 0: no reasoning, 1: unparsable reasoning, 2: parsed reasoning
        reasoning = [int(v) for v in rng.integers(0, 2, size=rng.integers(1, 6))] if kind == 2 else None
        outputs = {"reasoning": None if kind == 0 else "text"}
        rows.append(sample(i, int(rng.integers(0, 2)), choices[rng.integers(4)], choices[rng.integers(4)],
                           reasoning, gold_reasoning, outputs))
    return rows


@pytest.mark.parametrize("name", list_metrics())
def test_every_metric_declares_a_valid_contract(name):
    metric = get_metric(name)
    assert metric.family in FAMILIES
    assert isinstance(metric.higher_is_better, bool)
    low, high = metric.range
    assert low < high
    assert metric.description
    for rows in (TABLE, REASONING, _random_samples(200, seed=1)):
        values = metric(rows, (0, 1))
        assert values.shape == (len(rows),)
        finite = values[~np.isnan(values)]
        assert np.all((finite >= low) & (finite <= high))


def test_list_metrics_by_family():
    assert "alignment_rate" in list_metrics("alignment")
    assert all(get_metric(n).family == "failure" for n in list_metrics("failure"))


# -- statistics -----------------------------------------------------------------------------------------------------
def test_bootstrap_ci_contains_mean_and_is_deterministic():
    values = np.random.default_rng(0).binomial(1, 0.7, size=100).astype(float)
    low, high = bootstrap_ci(values, seed=3)
    assert low < values.mean() < high
    assert bootstrap_ci(values, seed=3) == (low, high)
    # A different seed gives a different resampling (continuous values, so the percentiles cannot tie).
    continuous = np.random.default_rng(0).normal(size=100)
    assert bootstrap_ci(continuous, seed=3) != bootstrap_ci(continuous, seed=4)


def test_bootstrap_ci_shrinks_with_more_data():
    rng = np.random.default_rng(1)
    small, large = rng.binomial(1, 0.5, 50), rng.binomial(1, 0.5, 5000)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(bootstrap_ci(large)) < width(bootstrap_ci(small)) / 4


def test_bootstrap_ci_constant_and_nan():
    assert bootstrap_ci([0.3] * 20) == (0.3, 0.3)
    assert bootstrap_ci([1.0, np.nan, 1.0]) == (1.0, 1.0)
    low, high = bootstrap_ci([np.nan, np.nan])
    assert math.isnan(low) and math.isnan(high)
    low, high = bootstrap_ci([])
    assert math.isnan(low) and math.isnan(high)
    # NaN is dropped, not counted as zero.
    low, high = bootstrap_ci([0.0, 1.0, np.nan] * 30)
    assert low < 0.5 < high


def test_paired_bootstrap_detects_real_difference():
    rng = np.random.default_rng(2)
    a, b = rng.binomial(1, 0.85, 300), rng.binomial(1, 0.6, 300)
    result = paired_bootstrap_test(a, b, n_resamples=2000, seed=0)
    assert result["diff"] == pytest.approx(a.mean() - b.mean())
    assert 0 < result["low"] < result["diff"] < result["high"]
    assert "p_value" not in result  # the p-value comes from the permutation test, never from the bootstrap
    assert paired_permutation_test(a, b, n_resamples=2000, seed=0)["p_value"] < 0.01


def test_paired_bootstrap_no_difference():
    rng = np.random.default_rng(5)
    a = rng.binomial(1, 0.7, 300)
    same = paired_bootstrap_test(a, a.copy(), n_resamples=500)
    assert same["diff"] == 0.0
    assert paired_permutation_test(a, a.copy(), n_resamples=500)["p_value"] == 1.0
    b = rng.binomial(1, 0.7, 300)
    null = paired_bootstrap_test(a, b, n_resamples=2000, seed=0)
    assert paired_permutation_test(a, b, n_resamples=2000, seed=0)["p_value"] > 0.05
    assert null["low"] < 0 < null["high"]


def test_paired_bootstrap_drops_nan_pairs_and_checks_alignment():
    result = paired_bootstrap_test([1, np.nan, 1, 0], [0, 1, np.nan, 0])
    assert result["n"] == 2 and result["diff"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        paired_bootstrap_test([1, 0], [1])


def test_mcnemar_known_tables():
    # n01 = 1 (a right, b wrong), n10 = 5: p = 2 * (C(6,0) + C(6,1)) / 2^6 = 14/64.
    a = [1] * 10 + [1] + [0] * 5
    b = [1] * 10 + [0] + [1] * 5
    assert mcnemar_test(a, b) == pytest.approx(14 / 64)
    assert mcnemar_test(b, a) == pytest.approx(14 / 64)
    # n01 = 10, n10 = 2: p = 2 * (1 + 12 + 66) / 4096.
    a = [1] * 10 + [0] * 2 + [0] * 3
    b = [0] * 10 + [1] * 2 + [0] * 3
    assert mcnemar_test(a, b) == pytest.approx(158 / 4096)
    # No discordant pairs, or a balanced table: no evidence of a difference.
    assert mcnemar_test([1, 0, 1], [1, 0, 1]) == 1.0
    assert mcnemar_test([1, 0], [0, 1]) == 1.0


def test_mcnemar_large_table_is_finite():
    a = np.r_[np.ones(600), np.zeros(400)]
    b = np.r_[np.zeros(600), np.ones(400)]
    assert 0.0 < mcnemar_test(a, b) < 1e-9


def test_chance_level_is_majority_rate():
    assert chance_level([0, 0, 1]) == pytest.approx(2 / 3)
    assert chance_level([1, 1, 1, 0]) == pytest.approx(3 / 4)
    assert chance_level([2, 2, 0, 1, None], labels=(0, 1, 2)) == pytest.approx(2 / 4)
    assert math.isnan(chance_level([]))
