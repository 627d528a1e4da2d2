"""Exact statistics: Wilson and Newcombe intervals, exact McNemar, sign-flip and item-swap permutation tests, Holm's
adjustment and the minimum detectable effect, against scipy, published examples and hand enumeration; and what
`compare` and `evaluate_samples` report with them."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score

from faithex.metrics import (
    bootstrap_ci,
    compare,
    evaluate_samples,
    holm_adjust,
    least_significant_discordance,
    mcnemar_exact,
    mcnemar_test,
    mde_paired_mean,
    mde_paired_proportions,
    newcombe_paired_interval,
    paired_bootstrap_statistic_test,
    paired_bootstrap_test,
    paired_permutation_test,
    per_example,
    wilson_interval,
)
from faithex.metrics.comparison import EXACT_MCNEMAR, ITEM_SWAP, SIGN_FLIP

Z95 = 1.959963984540054  # the 97.5% normal quantile


def wilson_by_hand(k, n, z=Z95):
    """Wilson's score interval from its closed form: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    p = k / n
    centre = p + z**2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n)


# -- Wilson ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k, n", [(0, 4), (4, 4), (8, 10), (1, 1), (37, 200)])
def test_wilson_matches_scipy_and_the_closed_form(k, n):
    expected = stats.binomtest(k, n).proportion_ci(method="wilson")
    low, high = wilson_interval(k, n)
    assert (low, high) == pytest.approx((expected.low, expected.high), abs=1e-12)
    assert (low, high) == pytest.approx(wilson_by_hand(k, n), abs=1e-12)
    assert low <= k / n <= high


def test_wilson_does_not_collapse_at_zero_or_all():
    assert wilson_interval(0, 4) == pytest.approx((0.0, 0.4899), abs=1e-4)  # not [0, 0]
    assert wilson_interval(4, 4) == pytest.approx((0.5101, 1.0), abs=1e-4)


def test_wilson_confidence_level_and_empty():
    expected = stats.binomtest(8, 10).proportion_ci(confidence_level=0.9, method="wilson")
    assert wilson_interval(8, 10, confidence=0.9) == pytest.approx((expected.low, expected.high))
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(5, 4)
    with pytest.raises(ValueError):
        wilson_interval(1, 4, confidence=1.0)


# -- Newcombe's paired interval (method 10) -------------------------------------------------------------------------
def newcombe_by_hand(a, b, c, d, z=Z95):
    """Method 10 written out: Wilson limits of both marginals, combined with Newcombe's corrected phi."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_by_hand(a + b, n, z)
    l2, u2 = wilson_by_hand(a + c, n, z)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    excess = a * d - b * c
    corrected = excess - n / 2 if excess > n / 2 else (0 if excess >= 0 else excess)
    phi = corrected / math.sqrt(margins) if margins else 0.0
    theta = p1 - p2
    low = theta - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    high = theta + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return low, high


def test_newcombe_reproduces_the_published_example():
    # Fagerland, Lydersen & Laake (Stat Med 2014), airway hyper-responsiveness before/after transplantation (Bentur
    # et al.): table 1, 1, 7, 12 -> difference -0.2857, Newcombe square-and-add interval -0.5069 to -0.0256.
    assert newcombe_paired_interval(1, 1, 7, 12) == pytest.approx((-0.5069, -0.0256), abs=5e-5)


def test_newcombe_on_the_issue_table():
    # a = 12 both, b = 9 only the first, c = 2 only the second, d = 21 neither: difference 7/44 = 0.1591. Method 10
    # as written (corrected phi 0.4707) gives 0.0112 to 0.2954, not the -0.0112 to 0.3268 quoted in the issue; the
    # uncorrected phi (0.5195) would give 0.0182 to 0.2892, and phi = 0 (independence) -0.0440 to 0.3449.
    low, high = newcombe_paired_interval(12, 9, 2, 21)
    assert (low, high) == pytest.approx(newcombe_by_hand(12, 9, 2, 21), abs=1e-12)
    assert (low, high) == pytest.approx((0.0112, 0.2954), abs=5e-5)
    assert low < 7 / 44 < high


@pytest.mark.parametrize("table", [(0, 0, 0, 4), (4, 0, 0, 0), (0, 4, 0, 0), (3, 0, 0, 0), (2, 0, 0, 2), (10, 3, 1, 0),
                                   (0, 2, 1, 0), (50, 30, 10, 110)])
def test_newcombe_zero_cells_and_margins(table):
    low, high = newcombe_paired_interval(*table)
    assert (low, high) == pytest.approx(newcombe_by_hand(*table), abs=1e-12)
    both, a_only, b_only, neither = table
    diff = (a_only - b_only) / sum(table)
    assert -1.0 <= low <= diff <= high <= 1.0
    assert high - low > 0  # never a zero-width interval, even without discordant pairs


def test_newcombe_without_discordance_is_not_zero_width():
    # all four items right on both sides: a margin is empty, phi is taken as 0; with two and two, the raw phi is 1 and
    # the interval would collapse to [0, 0], Newcombe's correction (A - n/2) keeps it open
    assert newcombe_paired_interval(4, 0, 0, 0) == pytest.approx((-0.4899, 0.4899), abs=1e-4)
    low, high = newcombe_paired_interval(2, 0, 0, 2)
    assert low < 0 < high


def test_newcombe_is_antisymmetric_and_handles_empty():
    low, high = newcombe_paired_interval(12, 9, 2, 21)
    assert newcombe_paired_interval(12, 2, 9, 21) == pytest.approx((-high, -low))
    assert all(math.isnan(x) for x in newcombe_paired_interval(0, 0, 0, 0))
    wider = newcombe_paired_interval(12, 9, 2, 21, confidence=0.99)
    assert wider[0] < low and wider[1] > high


# -- exact McNemar --------------------------------------------------------------------------------------------------
def test_mcnemar_exact_small_tables_by_hand():
    assert mcnemar_exact(2, 0) == 0.5 and mcnemar_exact(0, 2) == 0.5  # 2 * (1/2)^2
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 0) == 1.0 and mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(6, 0) == pytest.approx(2 / 64)


def test_mcnemar_exact_against_binomtest_and_the_binomial_tail():
    tail = sum(math.comb(26, k) for k in range(7)) / 2**26
    assert mcnemar_exact(20, 6) == pytest.approx(2 * tail, rel=1e-9)
    assert mcnemar_exact(20, 6) == pytest.approx(stats.binomtest(20, 26, 0.5).pvalue, rel=1e-12)
    assert mcnemar_exact(6, 20) == mcnemar_exact(20, 6)


def test_mcnemar_test_reads_the_discordant_pairs_of_0_1_values():
    a = [1] * 20 + [0] * 6 + [1] * 5 + [0] * 3 + [np.nan]
    b = [0] * 20 + [1] * 6 + [1] * 5 + [0] * 3 + [1]
    assert mcnemar_test(a, b) == mcnemar_exact(20, 6)


# -- sign-flip permutation test -------------------------------------------------------------------------------------
def test_sign_flip_exact_small_cases_by_hand():
    # differences [1, 1, 1]: of the 8 sign assignments only all-plus reaches a mean of 1: p = 2 * 1/8
    assert paired_permutation_test([1, 1, 1], [0, 0, 0]) == {"diff": 1.0, "p_value": 0.25, "n": 3}
    # differences [2, -1, 1] (sum 2): sums of the 8 assignments 4, 2, 2, 0, 0, -2, -2, -4; 3 reach 2: p = 2 * 3/8
    assert paired_permutation_test([2, 0, 1], [0, 1, 0])["p_value"] == pytest.approx(0.75)
    # two pairs the same way: 1 of 4 assignments: p = 0.5; one pair: both signs as extreme: p = 1
    assert paired_permutation_test([0.7, 0.9], [0.2, 0.4])["p_value"] == pytest.approx(0.5)
    assert paired_permutation_test([0.7], [0.2])["p_value"] == 1.0
    # no difference at all
    assert paired_permutation_test([0.3, 0.5, 0.1], [0.3, 0.5, 0.1])["p_value"] == 1.0


def test_sign_flip_enumerates_exactly_like_a_brute_force():
    d = np.array([0.5, -0.2, 0.9, 0.3, 0.1, -0.4, 0.6, 0.25])
    signs = np.array(list(itertools.product((1, -1), repeat=d.size)))
    means = (signs * d).mean(axis=1)
    tol = 1e-12
    one_sided = min(np.mean(means >= d.mean() - tol), np.mean(means <= d.mean() + tol))
    result = paired_permutation_test(d, np.zeros_like(d))
    assert result["p_value"] == pytest.approx(min(1.0, 2 * one_sided))


def test_sign_flip_drops_nan_pairs_and_is_seeded():
    result = paired_permutation_test([1.0, np.nan, 0.5, 0.2], [0.0, 0.3, np.nan, 0.1])
    assert result["n"] == 2 and result["diff"] == pytest.approx(0.55)
    empty = paired_permutation_test([np.nan], [1.0])
    assert empty["n"] == 0 and math.isnan(empty["p_value"]) and math.isnan(empty["diff"])
    with pytest.raises(ValueError):
        paired_permutation_test([1.0, 2.0], [1.0])
    # 40 pairs: too many to enumerate, so resampled; the same seed gives the same p, and p is never 0
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.3, 1, 40), rng.normal(0, 1, 40)
    first = paired_permutation_test(a, b, n_resamples=999, seed=7)
    assert paired_permutation_test(a, b, n_resamples=999, seed=7) == first
    assert first["p_value"] >= 1 / 1000
    assert paired_permutation_test(a, b, n_resamples=999, seed=8)["p_value"] == pytest.approx(first["p_value"],
                                                                                               abs=0.05)


def test_paired_bootstrap_gives_intervals_only():
    assert "p_value" not in paired_bootstrap_test([0.1, 0.5, 0.9], [0.0, 0.2, 0.4])
    assert "p_value" not in paired_bootstrap_statistic_test(lambda r: r.mean(axis=1), lambda r: r.sum(axis=1), 3)


# -- Holm -----------------------------------------------------------------------------------------------------------
def test_holm_textbook_example():
    # sorted 0.005, 0.01, 0.03, 0.04 with m = 4: 4 * 0.005 = 0.02, 3 * 0.01 = 0.03, 2 * 0.03 = 0.06,
    # 1 * 0.04 = 0.04 -> raised to the running maximum 0.06
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_passes_missing_values_through_and_caps_at_one():
    adjusted = holm_adjust([0.02, None, math.nan, 0.5, 0.01])
    assert adjusted[1] is None and math.isnan(adjusted[2])
    # m = 3 present: 3 * 0.01 = 0.03, 2 * 0.02 = 0.04, 1 * 0.5 = 0.5
    assert [adjusted[0], adjusted[3], adjusted[4]] == pytest.approx([0.04, 0.5, 0.03])
    assert holm_adjust([0.6, 0.7]) == [1.0, 1.0]
    assert holm_adjust([]) == []
    with pytest.raises(ValueError):
        holm_adjust([1.5])


# -- minimum detectable effect --------------------------------------------------------------------------------------
def test_mde_paired_mean_by_hand_and_monotone():
    z_power = stats.norm.ppf(0.8)
    assert mde_paired_mean(1.0, 100) == pytest.approx((Z95 + z_power) / 10)
    assert mde_paired_mean(0.5, 25) == pytest.approx((Z95 + z_power) * 0.5 / 5)
    values = [mde_paired_mean(0.3, n) for n in (5, 20, 50, 200, 1000)]
    assert all(later < earlier for earlier, later in zip(values, values[1:]))
    assert mde_paired_mean(0.3, 50, alpha=0.01) > mde_paired_mean(0.3, 50)
    assert mde_paired_mean(0.3, 50, power=0.9) > mde_paired_mean(0.3, 50)
    assert math.isnan(mde_paired_mean(0.3, 0)) and math.isnan(mde_paired_mean(math.nan, 10))


def test_least_significant_discordance_is_the_exact_floor():
    k = least_significant_discordance(0.05)
    assert k == 6
    assert mcnemar_exact(k, 0) < 0.05 <= mcnemar_exact(k - 1, 0)
    assert least_significant_discordance(0.01) == 8  # 2/256 < 0.01 <= 2/128


def test_mde_paired_proportions_solves_connors_sample_size():
    # Connor (1987): n = (z_a sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2; the MDE at n = 200, psi = 0.2 gives back n
    d, psi = mde_paired_proportions(200, 40), 0.2
    z_power = stats.norm.ppf(0.8)
    assert (Z95 * math.sqrt(psi) + z_power * math.sqrt(psi - d**2)) ** 2 / d**2 == pytest.approx(200)


def test_mde_paired_proportions_floors_and_monotone():
    # no discordant pair in 100 items: not 0, at least the 6 one-way pairs the exact test needs
    assert mde_paired_proportions(100, 0) >= 6 / 100
    assert mde_paired_proportions(100, 0) == mde_paired_proportions(100, 6)  # the documented floor on the rate
    assert mde_paired_proportions(100, 30) > mde_paired_proportions(100, 10)
    for rate in (0.0, 0.1, 0.3):
        values = [mde_paired_proportions(n, round(rate * n)) for n in (10, 20, 50, 100, 200, 1000)]
        assert all(later < earlier for earlier, later in zip(values, values[1:]))
        assert all(v >= least_significant_discordance() / n for v, n in zip(values, (10, 20, 50, 100, 200, 1000)))
    assert mde_paired_proportions(5, 0) == math.inf  # fewer items than the test needs: nothing is detectable
    assert math.isnan(mde_paired_proportions(0, 0))


# -- compare: which test and interval each kind of metric gets ------------------------------------------------------
def answer_sample(i, correct, gold=1):
    """A binary-task sample whose answer is right (correct = 1) or wrong (0)."""
    answer = gold if correct else 1 - gold
    return {"id": f"x{i}", "gold": gold, "outputs": {"answer": str(answer)},
            "parsed": {"answer": answer, "explanation": None, "reasoning": None}}


def cells(correct_a, correct_b, golds=None):
    golds = golds or [1] * len(correct_a)
    return ([answer_sample(i, c, g) for i, (c, g) in enumerate(zip(correct_a, golds))],
            [answer_sample(i, c, g) for i, (c, g) in enumerate(zip(correct_b, golds))])


def test_compare_binary_metric_uses_newcombe_and_exact_mcnemar():
    # 12 both right, 9 only a, 2 only b, 21 neither
    a, b = cells([1] * 12 + [1] * 9 + [0] * 2 + [0] * 21, [1] * 12 + [0] * 9 + [1] * 2 + [0] * 21)
    result = compare(a, b, "answer_accuracy")
    assert result["test"] == EXACT_MCNEMAR
    assert (result["both"], result["a_only"], result["b_only"], result["neither"]) == (12, 9, 2, 21)
    assert result["diff"] == pytest.approx(7 / 44) and result["n"] == 44
    assert (result["low"], result["high"]) == pytest.approx(newcombe_paired_interval(12, 9, 2, 21))
    assert result["p_value"] == result["mcnemar_p"] == pytest.approx(mcnemar_exact(9, 2))


@pytest.mark.parametrize("correct_a, correct_b, p_value", [
    ([1], [0], 1.0),          # one discordant pair
    ([1, 1], [0, 0], 0.5),    # two, the same way
    ([1, 0], [0, 1], 1.0),
])
def test_compare_small_n_gives_exact_p_not_a_resampling_floor(correct_a, correct_b, p_value):
    a, b = cells(correct_a, correct_b)
    for n_resamples in (99, 9999):
        result = compare(a, b, "answer_accuracy", n_resamples=n_resamples)
        assert result["p_value"] == p_value
        assert result["low"] <= result["diff"] <= result["high"] and result["low"] < result["high"]


def reasoning_sample(i, reasoning):
    """A sample whose reasoning steps are compared with the gold steps [1, 0, 1]: a graded per-example value."""
    return {"id": f"r{i}", "gold": 1, "gold_reasoning": [1, 0, 1],
            "outputs": {"answer": "1", "explanation": "e", "reasoning": "r"},
            "parsed": {"answer": 1, "explanation": 1, "reasoning": reasoning}}


@pytest.mark.parametrize("count, p_value", [(1, 1.0), (2, 0.5)])
def test_compare_graded_metric_small_n_uses_sign_flip(count, p_value):
    a = [reasoning_sample(i, [1, 0, 1]) for i in range(count)]  # 3/3 of the steps
    b = [reasoning_sample(i, [1, 1, 1]) for i in range(count)]  # 2/3
    result = compare(a, b, "reasoning_step_agreement", n_resamples=9999)
    assert result["test"] == SIGN_FLIP and result["mcnemar_p"] is None and result["both"] is None
    assert result["diff"] == pytest.approx(1 / 3) and result["p_value"] == p_value


def test_compare_graded_metric_p_is_the_sign_flip_test():
    # 12 pairs: 4096 sign assignments, more than the 500 resamples, so the seeded random draw is used
    steps_a = [[1, 0, 1], [1, 1, 1], [1, 0, 1], [1, 0, 0], [1, 0, 1], [0, 0, 1]] * 2
    steps_b = [[0, 0, 0], [1, 1, 1], [0, 1, 1], [1, 1, 0], [1, 1, 1], [0, 1, 0]] * 2
    a = [reasoning_sample(i, s) for i, s in enumerate(steps_a)]
    b = [reasoning_sample(i, s) for i, s in enumerate(steps_b)]
    result = compare(a, b, "reasoning_step_agreement", n_resamples=500, seed=2)
    values_a, values_b = per_example(a, "reasoning_step_agreement"), per_example(b, "reasoning_step_agreement")
    expected = paired_permutation_test(values_a, values_b, n_resamples=500, seed=2)
    assert result["test"] == SIGN_FLIP and result["diff"] > 0
    assert result["p_value"] == expected["p_value"] and result["diff"] == pytest.approx(expected["diff"])
    interval = paired_bootstrap_test(values_a, values_b, n_resamples=500, seed=2)
    assert (result["low"], result["high"]) == (interval["low"], interval["high"])


def macro_f1_swap_p_by_brute_force(gold, predicted_a, predicted_b):
    """Every way of swapping items' predictions between the two cells, macro-F1 recomputed by sklearn."""
    def macro(predicted):
        return f1_score(gold, predicted, average="macro")

    observed = macro(predicted_a) - macro(predicted_b)
    null = []
    for swap in itertools.product((False, True), repeat=len(gold)):
        side_a = [pb if s else pa for pa, pb, s in zip(predicted_a, predicted_b, swap)]
        side_b = [pa if s else pb for pa, pb, s in zip(predicted_a, predicted_b, swap)]
        null.append(macro(side_a) - macro(side_b))
    null, tol = np.array(null), 1e-12
    return observed, min(1.0, 2 * min(np.mean(null >= observed - tol), np.mean(null <= observed + tol)))


def label_sample(i, gold, answer):
    return {"id": f"m{i}", "gold": gold, "outputs": {"answer": "text"},
            "parsed": {"answer": answer, "explanation": None, "reasoning": None}}


def test_compare_macro_f1_swaps_items_between_cells_exactly():
    gold = [0, 1, 2, 0, 1, 2, 0, 1]
    predicted_a = [0, 1, 2, 0, 1, 1, 0, 1]
    predicted_b = [0, 2, 2, 1, 0, 1, 1, 1]
    a = [label_sample(i, g, p) for i, (g, p) in enumerate(zip(gold, predicted_a))]
    b = [label_sample(i, g, p) for i, (g, p) in enumerate(zip(gold, predicted_b))]
    result = compare(a, b, "macro_f1", labels=(0, 1, 2), n_resamples=9999)
    diff, p_value = macro_f1_swap_p_by_brute_force(gold, predicted_a, predicted_b)
    assert result["test"] == ITEM_SWAP and result["mcnemar_p"] is None
    assert result["diff"] == pytest.approx(diff)
    assert result["p_value"] == pytest.approx(p_value)
    assert compare(a, b, "macro_f1", labels=(0, 1, 2), n_resamples=9999) == result  # deterministic


def test_compare_macro_f1_with_two_items():
    a = [label_sample(0, 0, 0), label_sample(1, 1, 1)]
    b = [label_sample(0, 0, 1), label_sample(1, 1, 0)]
    result = compare(a, b, "macro_f1", labels=(0, 1), n_resamples=9999)
    assert result["diff"] == pytest.approx(1.0) and result["p_value"] == pytest.approx(0.5)


def test_compare_without_pairs_reports_no_test():
    a = [reasoning_sample(0, None)]
    b = [reasoning_sample(0, [1, 0, 1])]
    a[0]["outputs"]["reasoning"] = None  # reasoning never asked: the metric does not apply
    result = compare(a, b, "reasoning_step_agreement")
    assert result["n"] == 0 and result["test"] is None and math.isnan(result["p_value"])


# -- evaluate_samples: Wilson for proportions -----------------------------------------------------------------------
def test_evaluate_gives_proportions_a_wilson_interval():
    none_right, _ = cells([0, 0, 0, 0], [0, 0, 0, 0])
    result = evaluate_samples(none_right, ["answer_accuracy"])["answer_accuracy"]
    assert result["value"] == 0.0 and result["n"] == 4
    assert (result["low"], result["high"]) == pytest.approx((0.0, 0.4899), abs=1e-4)  # not [0.00, 0.00]
    eight_of_ten, _ = cells([1] * 8 + [0] * 2, [0] * 10)
    result = evaluate_samples(eight_of_ten, ["answer_accuracy"])["answer_accuracy"]
    assert result["value"] == pytest.approx(0.8)
    assert (result["low"], result["high"]) == pytest.approx(wilson_interval(8, 10))


def test_evaluate_keeps_the_bootstrap_for_graded_values():
    samples = [reasoning_sample(i, s) for i, s in enumerate([[1, 0, 1], [1, 1, 1], [0, 0, 0], [1, 0, 0]])]
    result = evaluate_samples(samples, ["reasoning_step_agreement"], n_resamples=500, seed=1)
    values = per_example(samples, "reasoning_step_agreement")
    assert result["reasoning_step_agreement"]["value"] == pytest.approx(values.mean())
    expected = bootstrap_ci(values, n_resamples=500, seed=1)
    assert (result["reasoning_step_agreement"]["low"], result["reasoning_step_agreement"]["high"]) == expected
