"""Uncertainty and significance for metric values: exact where the data allow it, the bootstrap only where not.

Test sets in these papers are small (200 examples), so a 3-point difference between two configurations may be noise.
Which method a number gets depends on what it is:

- a proportion (a mean of 0/1 values: accuracy, a failure rate) gets a Wilson score interval (`wilson_interval`):
  unlike a bootstrap it does not collapse to [0, 0] when no example succeeded;
- a paired difference of two proportions on the same items gets Newcombe's paired interval
  (`newcombe_paired_interval`) and the exact McNemar test (`mcnemar_exact`);
- any other per-item value (graded agreement, shifts) gets a percentile-bootstrap interval (`bootstrap_ci`,
  `paired_bootstrap_test`) and, paired, a sign-flip permutation test (`paired_permutation_test`);
- a statistic that is not a mean of per-item values (macro-F1) gets a bootstrap interval that recomputes it on
  resamples (`bootstrap_statistic_ci`, `paired_bootstrap_statistic_test`) and, paired, a permutation test that swaps
  each item's two rows between the cells (`paired_swap_permutation_test`).

No p-value comes from a bootstrap: a bootstrap re-centred on the null is an approximation that gives p = 1/(B+1)
where an exact test on one or two items gives p = 1 or 0.5. A family of p-values is adjusted with Holm's step-down
(`holm_adjust`), and `mde_paired_mean` / `mde_paired_proportions` say how large a difference a comparison could have
detected. Across training seeds, a regime is summarised by mean and sample standard deviation, and two regimes trained
on the same seeds by a paired t-test. Everything random is seeded, so results are deterministic.

The bootstrap forms share one resampling scheme (rows of example indices drawn with replacement, deterministic per
seed). scipy is imported inside the functions that need it: it is slow to import, and most callers only read results.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

#: Largest index matrix drawn at once (entries): 20M int64 = 160 MB.
_MAX_DRAW = 20_000_000
#: A statistic builds several arrays the size of its index block, so it is fed smaller blocks. The draws are the same
#: either way: numpy's generator fills consecutive blocks from one stream, exactly as one large draw.
_MAX_DRAW_STATISTIC = 2_000_000

#: statistic(rows) -> one value per row of `rows`, an (r, m) matrix of example indices (one resample per row).
Statistic = Callable[[np.ndarray], np.ndarray]


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Values as a 1-D float array without NaN (NaN marks "metric does not apply" and must not count)."""
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


def _resample_blocks(n: int, n_resamples: int, seed: int, max_entries: int = _MAX_DRAW) -> Iterator[np.ndarray]:
    """`n_resamples` resamples of the indices 0..n-1 with replacement, as row blocks of an index matrix.

    One vectorised draw of shape (n_resamples, n); only when that matrix would pass `max_entries` (large sample files)
    is it drawn in row blocks from the same generator, to bound memory. Deterministic per seed.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    rows = max(1, max_entries // n)
    for start in range(0, n_resamples, rows):
        yield rng.integers(0, n, size=(min(rows, n_resamples - start), n))


def _bootstrap_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of `n_resamples` resamples of `x` with replacement, deterministic per seed."""
    return np.concatenate([x[rows].mean(axis=1) for rows in _resample_blocks(x.size, n_resamples, seed)])


def bootstrap_statistic(statistic: Statistic, n: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """`statistic` on `n_resamples` resamples of n examples (the same index draws as `bootstrap_ci` for that n).

    Resamples where the statistic is undefined (NaN) are dropped.
    """
    blocks = _resample_blocks(n, n_resamples, seed, _MAX_DRAW_STATISTIC)
    draws = np.concatenate([np.asarray(statistic(rows), dtype=float) for rows in blocks])
    return draws[~np.isnan(draws)]


def _everything(n: int) -> np.ndarray:
    """The one "resample" holding every example once: the statistic's observed value."""
    return np.arange(n)[None, :]


def _percentiles(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the mean of `values`, ignoring NaN; (nan, nan) if none remain."""
    x = _finite(values)
    if x.size == 0:
        return (math.nan, math.nan)
    if np.all(x == x[0]):  # no spread to resample: the interval is the value itself, exactly
        return (float(x[0]), float(x[0]))
    return _percentiles(_bootstrap_means(x, n_resamples, seed), confidence)


def bootstrap_statistic_ci(
    statistic: Statistic, n: int, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap interval of any statistic of n examples, resampling example indices; (nan, nan) if n = 0."""
    draws = bootstrap_statistic(statistic, n, n_resamples, seed) if n > 0 else np.empty(0)
    if draws.size == 0:
        return (math.nan, math.nan)
    return _percentiles(draws, confidence)


def _paired_result(diff: float, draws: np.ndarray, n: int, confidence: float) -> dict[str, float]:
    """The observed difference with the percentile interval of its bootstrap draws (no p-value: see the module)."""
    low, high = _percentiles(draws, confidence)
    return {"diff": diff, "low": low, "high": high, "n": int(n)}


_NO_PAIRS = {"diff": math.nan, "low": math.nan, "high": math.nan, "n": 0}


def _aligned_pairs(values_a: Sequence[float] | np.ndarray, values_b: Sequence[float] | np.ndarray,
                        test: str) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as aligned float arrays without the pairs that have a NaN on either side."""
    a, b = np.asarray(values_a, dtype=float).ravel(), np.asarray(values_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"{test} needs aligned values, got {a.size} and {b.size}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def paired_bootstrap_test(
    values_a: Sequence[float] | np.ndarray,
    values_b: Sequence[float] | np.ndarray,
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Paired bootstrap interval of mean(a - b) over aligned per-example values (pairs with a NaN on either side
    dropped), for values that are not 0/1 (for proportions use `newcombe_paired_interval`).

    Returns diff (observed mean difference), low/high (percentile interval of the difference) and n (pairs used). It
    gives no p-value on purpose: test the difference with `paired_permutation_test`.
    """
    a, b = _aligned_pairs(values_a, values_b, "a paired bootstrap")
    d = a - b
    if d.size == 0:
        return dict(_NO_PAIRS)
    return _paired_result(float(d.mean()), _bootstrap_means(d, n_resamples, seed), d.size, confidence)


def paired_bootstrap_statistic_test(
    statistic_a: Statistic,
    statistic_b: Statistic,
    n: int,
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Paired bootstrap interval of statistic_a - statistic_b over n aligned examples: each resample draws example
    indices once and evaluates both statistics on them (for aggregate metrics such as macro-F1). Same result keys as
    `paired_bootstrap_test`, so no p-value either: test with `paired_swap_permutation_test`.
    """
    if n == 0:
        return dict(_NO_PAIRS)
    diff = float(statistic_a(_everything(n))[0] - statistic_b(_everything(n))[0])
    draws = bootstrap_statistic(lambda rows: statistic_a(rows) - statistic_b(rows), n, n_resamples, seed)
    if draws.size == 0:  # the statistic is undefined on every resample
        return {**_NO_PAIRS, "diff": diff, "n": int(n)}
    return _paired_result(diff, draws, n, confidence)


# -- proportions: Wilson, Newcombe, exact McNemar ---------------------------------------------------------------------
def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _count(value: int, name: str) -> int:
    """A count as a Python int (numpy integers welcome); a negative or fractional count is refused."""
    if value != int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative whole number, got {value}")
    return int(value)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the proportion successes / n; (nan, nan) if n == 0.

    Unlike a bootstrap of the 0/1 values it does not collapse at the ends: 0 of 4 gives [0, 0.49], where every
    bootstrap resample of four zeros is zero and the percentile interval claims [0, 0].
    """
    _check_confidence(confidence)
    successes, n = _count(successes, "successes"), _count(n, "n")
    if successes > n:
        raise ValueError(f"successes ({successes}) cannot exceed n ({n})")
    if n == 0:
        return (math.nan, math.nan)
    from scipy import stats

    interval = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def newcombe_paired_interval(
    both: int, a_only: int, b_only: int, neither: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Newcombe's paired interval of p_a - p_b (Newcombe 1998, method 10); (nan, nan) if there is no pair.

    The four counts are the paired 2x2 table: items where a and b both succeed, only a, only b, neither; so
    p_a = (both + a_only) / n and p_b = (both + b_only) / n. The interval combines the Wilson intervals (l, u) of both
    marginals ("square and add"), allowing for their correlation phi:

        low  = d - sqrt((p_a - l_a)^2 - 2 phi (p_a - l_a)(u_b - p_b) + (u_b - p_b)^2)
        high = d + sqrt((u_a - p_a)^2 - 2 phi (u_a - p_a)(p_b - l_b) + (p_b - l_b)^2)

    phi is Newcombe's corrected phi coefficient of the table (see `_newcombe_phi`): a positive association
    (both * neither - a_only * b_only) is reduced by n/2, to 0 if it is smaller; a negative one is kept; and phi is 0
    when a marginal is 0 or 1 (a margin of the table is empty, the plain phi is 0/0). The correction keeps a table
    without discordant pairs from getting a zero-width interval (raw phi would be 1 there). This is the version that
    reproduces Fagerland, Lydersen & Laake's published example (Stat Med 2014; table 1, 1, 7, 12: -0.2857 with
    [-0.5069, -0.0256]).
    """
    _check_confidence(confidence)
    both, a_only = _count(both, "both"), _count(a_only, "a_only")
    b_only, neither = _count(b_only, "b_only"), _count(neither, "neither")
    n = both + a_only + b_only + neither
    if n == 0:
        return (math.nan, math.nan)
    p_a, p_b = (both + a_only) / n, (both + b_only) / n
    low_a, high_a = wilson_interval(both + a_only, n, confidence)
    low_b, high_b = wilson_interval(both + b_only, n, confidence)
    phi = _newcombe_phi(both, a_only, b_only, neither)
    diff = p_a - p_b
    below = _square_and_add(p_a - low_a, high_b - p_b, phi)
    above = _square_and_add(high_a - p_a, p_b - low_b, phi)
    return max(-1.0, diff - below), min(1.0, diff + above)  # within [-1, 1] already, up to rounding


def _square_and_add(distance_a: float, distance_b: float, phi: float) -> float:
    """sqrt(x^2 - 2 phi x y + y^2): the half-width of a difference from the half-widths of its two terms."""
    return math.sqrt(max(0.0, distance_a**2 - 2.0 * phi * distance_a * distance_b + distance_b**2))


def _newcombe_phi(both: int, a_only: int, b_only: int, neither: int) -> float:
    """Newcombe's (1998) corrected phi coefficient of a paired 2x2 table, 0 when a margin is empty.

    With A = both * neither - a_only * b_only and the product M of the four margins: (A - n/2) / sqrt(M) if
    A > n/2, 0 if 0 <= A <= n/2, A / sqrt(M) if A < 0. An empty margin (a marginal proportion of 0 or 1) leaves the
    correlation undefined; it is taken as 0, i.e. the two marginals are combined as if independent, which only widens
    the interval relative to a positive correlation.
    """
    n = both + a_only + b_only + neither
    margins = (both + a_only) * (b_only + neither) * (both + b_only) * (a_only + neither)
    if margins == 0:
        return 0.0
    association = both * neither - a_only * b_only
    if association > n / 2:
        association -= n / 2
    elif association >= 0:
        association = 0
    return association / math.sqrt(margins)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Exact two-sided McNemar p-value from the discordant pairs; 1.0 when there is none.

    Only discordant pairs carry information: under the null each is a fair coin between "a only" and "b only", so
    p is the two-sided binomial test of a_only out of a_only + b_only at 1/2 (= min(1, 2 * the smaller tail)).
    """
    a_only, b_only = _count(a_only, "a_only"), _count(b_only, "b_only")
    discordant = a_only + b_only
    if discordant == 0:
        return 1.0
    from scipy import stats

    return float(stats.binomtest(a_only, discordant, 0.5).pvalue)


def paired_table(correct_a: Sequence[Any] | np.ndarray, correct_b: Sequence[Any] | np.ndarray) -> dict[str, int]:
    """The paired 2x2 table of two 0/1 outcomes on the same items: {"both", "a_only", "b_only", "neither"}.

    A non-zero value counts as a success; pairs with a NaN on either side (metric not applicable) are dropped.
    """
    a, b = _aligned_pairs(correct_a, correct_b, "a paired 2x2 table")
    a, b = a != 0, b != 0
    return {
        "both": int(np.count_nonzero(a & b)),
        "a_only": int(np.count_nonzero(a & ~b)),
        "b_only": int(np.count_nonzero(~a & b)),
        "neither": int(np.count_nonzero(~a & ~b)),
    }


def mcnemar_test(correct_a: Sequence[Any] | np.ndarray, correct_b: Sequence[Any] | np.ndarray) -> float:
    """Exact McNemar p-value (`mcnemar_exact`) for two classifiers scored 0/1 on the same examples.

    Pairs with a NaN on either side (metric not applicable) are dropped.
    """
    table = paired_table(correct_a, correct_b)
    return mcnemar_exact(table["a_only"], table["b_only"])


# -- permutation tests: paired values that are not 0/1, and aggregate statistics -------------------------------------
def paired_permutation_test(
    values_a: Sequence[float] | np.ndarray,
    values_b: Sequence[float] | np.ndarray,
    n_resamples: int = 9999,
    seed: int = 0,
) -> dict[str, float]:
    """Two-sided paired sign-flip permutation test of mean(a - b) = 0 over aligned per-item values.

    Under the null the two values of an item are exchangeable, so each difference is as likely to have the other
    sign: p is the share of sign assignments whose mean difference is at least as far from 0 as the observed one
    (scipy's `permutation_test`, permutation_type="samples", two-sided = twice the smaller one-sided tail, at most 1).
    All 2^n assignments are enumerated when 2^n <= n_resamples (n <= 13 at the default), else `n_resamples` random
    ones are drawn from `seed`. Pairs with a NaN on either side are dropped. Returns {"diff": mean(a - b), "p_value",
    "n": pairs used}; p is NaN without pairs, and exactly 1.0 with one pair (its two signs are equally extreme).
    """
    a, b = _aligned_pairs(values_a, values_b, "a paired permutation test")
    if a.size == 0:
        return {"diff": math.nan, "p_value": math.nan, "n": 0}

    def mean_difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        return np.mean(x - y, axis=axis)

    p_value = _paired_permutation_p(a, b, mean_difference, n_resamples, seed, _MAX_DRAW)
    return {"diff": float((a - b).mean()), "p_value": p_value, "n": int(a.size)}


def paired_swap_permutation_test(
    statistic: Statistic, n: int, n_resamples: int = 9999, seed: int = 0
) -> dict[str, float]:
    """Two-sided paired permutation test of a statistic that is not a mean of per-item values (macro-F1).

    `statistic(rows)` computes the metric on each row of `rows`, an (r, m) matrix of indices into a table that stacks
    the two cells: item i of cell a is row i, of cell b row n + i. The observed difference is the statistic on
    0..n-1 minus the statistic on n..2n-1; under the null the two cells' rows of an item are exchangeable, so each
    resample swaps them item by item (permutation_type="samples" on the two index arrays) and recomputes the metric on
    both sides. Exact enumeration when 2^n <= n_resamples, else `n_resamples` swaps drawn from `seed`. Returns
    {"diff", "p_value", "n"}; p is NaN when n = 0 or the statistic is undefined, 1.0 when n = 1.
    """
    if n == 0:
        return {"diff": math.nan, "p_value": math.nan, "n": 0}
    side_a, side_b = np.arange(n), np.arange(n, 2 * n)
    diff = float(statistic(side_a[None, :])[0] - statistic(side_b[None, :])[0])
    if math.isnan(diff):
        return {"diff": diff, "p_value": math.nan, "n": int(n)}

    def difference(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        rows_x, rows_y = np.moveaxis(x, axis, -1).astype(np.intp), np.moveaxis(y, axis, -1).astype(np.intp)
        values = statistic(np.atleast_2d(rows_x)) - statistic(np.atleast_2d(rows_y))
        return values[0] if rows_x.ndim == 1 else values

    p_value = _paired_permutation_p(side_a, side_b, difference, n_resamples, seed, _MAX_DRAW_STATISTIC)
    return {"diff": diff, "p_value": p_value, "n": int(n)}


def _paired_permutation_p(x: np.ndarray, y: np.ndarray, statistic: Callable[..., np.ndarray], n_resamples: int,
                          seed: int, max_entries: int) -> float:
    """Two-sided p of scipy's paired ("samples") permutation test, seeded, in batches of at most `max_entries`."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if x.size == 1:  # scipy needs two pairs; with one, swapping gives +d and -d, both as extreme: p = 1
        return 1.0
    from scipy import stats

    result = stats.permutation_test(
        (x, y), statistic, permutation_type="samples", vectorized=True, n_resamples=n_resamples,
        batch=max(1, max_entries // x.size), alternative="two-sided", rng=np.random.default_rng(seed),
    )
    return float(result.pvalue)


# -- families of tests and power ------------------------------------------------------------------------------------
def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values, in the input order.

    With the m present p-values sorted, p_(1) <= ... <= p_(m), the i-th adjusted one is max over j <= i of
    min(1, (m - j + 1) p_(j)): it controls the family-wise error rate without assuming independence. None and NaN
    (a comparison that could not be made) are passed through untouched and do not count in m.
    """
    present = []
    for index, p in enumerate(p_values):
        if p is None or math.isnan(p):
            continue
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"a p-value must be in [0, 1], got {p} at position {index}")
        present.append((float(p), index))
    adjusted: list[float | None] = list(p_values)
    running_max = 0.0
    for rank, (p, index) in enumerate(sorted(present)):
        running_max = max(running_max, min(1.0, (len(present) - rank) * p))
        adjusted[index] = running_max
    return adjusted


def _normal_quantiles(alpha: float, power: float) -> tuple[float, float]:
    """The normal quantiles z_(1 - alpha/2) and z_power of a two-sided test at level alpha with that power."""
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha} and {power}")
    from scipy import stats

    return float(stats.norm.ppf(1.0 - alpha / 2.0)), float(stats.norm.ppf(power))


def mde_paired_mean(sd_diff: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect of a paired mean difference: (z_(1-alpha/2) + z_power) * sd_diff / sqrt(n).

    The smallest true mean difference that a two-sided test at level alpha detects with the given power, from the
    standard deviation of the per-item differences (normal approximation). NaN when n = 0 or sd_diff is NaN.
    """
    z_alpha, z_power = _normal_quantiles(alpha, power)
    if n == 0 or sd_diff is None or math.isnan(sd_diff):
        return math.nan
    if sd_diff < 0 or n < 0:
        raise ValueError(f"sd_diff and n must be non-negative, got {sd_diff} and {n}")
    return (z_alpha + z_power) * sd_diff / math.sqrt(n)


def least_significant_discordance(alpha: float = 0.05) -> int:
    """The least number k of discordant pairs, all one way, that exact McNemar declares significant: 2 * 0.5**k < alpha
    (6 at alpha = 0.05: 2/64 = 0.031, whereas five give 2/32 = 0.0625). Fewer discordant pairs can never be significant.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    k = 1
    while 2.0 * 0.5**k >= alpha:
        k += 1
    return k


def mde_paired_proportions(n: int, discordant: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable difference p_a - p_b of two proportions on the same n items (exact McNemar, two-sided).

    From Connor's (1987) sample size for McNemar's test, n = (z_(1-alpha/2) sqrt(psi) + z_power sqrt(psi - d^2))^2
    / d^2 with psi the discordant rate, solved for d:

        d = sqrt(psi) (sqrt(n) z_(1-alpha/2) + z_power sqrt(n - z_(1-alpha/2)^2 + z_power^2)) / (n + z_power^2)

    Two floors keep it honest where the normal approximation is not:
    - the discordant rate is taken as at least k/n, k = `least_significant_discordance(alpha)` (6 at 0.05). This is
      the stated assumption when no discordant pair was observed (psi = 0 would claim that any difference is
      detectable): an effect the test could ever detect needs at least k discordant pairs;
    - the result is never below k/n, the smallest difference the exact test can declare significant at all (k
      discordant pairs, all one way).
    `math.inf` when no difference is detectable: fewer than k items, or a required difference above 1. NaN when n = 0.
    """
    z_alpha, z_power = _normal_quantiles(alpha, power)
    if n == 0:
        return math.nan
    n, discordant = _count(n, "n"), _count(discordant, "discordant")
    if discordant > n:
        raise ValueError(f"discordant ({discordant}) cannot exceed n ({n})")
    least = least_significant_discordance(alpha)
    if least > n:
        return math.inf
    rate = max(discordant, least) / n
    spread = math.sqrt(max(0.0, n - z_alpha**2 + z_power**2))
    effect = math.sqrt(rate) * (math.sqrt(n) * z_alpha + z_power * spread) / (n + z_power**2)
    effect = max(effect, least / n)
    return effect if effect <= 1.0 else math.inf


def chance_level(gold: Sequence[Any], labels: Sequence[int] = (0, 1)) -> float:
    """Accuracy of the constant predictor that always outputs the most frequent gold class (the majority rate).

    It is the baseline a classifier must beat, so unlike model metrics it reads gold labels alone. Unlabelled
    examples (None) are skipped; NaN if nothing is left.
    """
    known = [g for g in gold if g is not None]
    if not known:
        return math.nan
    counts = Counter(known)
    return max(counts.get(label, 0) for label in labels) / len(known)


# -- across training seeds ------------------------------------------------------------------------------------------
SeedValues = Sequence[float] | Mapping[Any, float]


def seed_summary(values: SeedValues) -> dict[str, Any]:
    """Mean and sample standard deviation (ddof=1) of one metric over training seeds.

    `values`: one value per seed, as a list or a {seed: value} mapping. NaN or None (the metric did not apply in that
    seed) is dropped; `n` counts the values used, `values` lists them, and `sd` is None below two values.
    """
    x = _finite(_seed_list(values))
    return {
        "mean": float(x.mean()) if x.size else math.nan,
        "sd": float(x.std(ddof=1)) if x.size >= 2 else None,
        "n": int(x.size),
        "values": x.tolist(),
    }


def paired_seed_test(values_a: SeedValues, values_b: SeedValues) -> dict[str, Any]:
    """Paired t-test of two regimes trained on the same seeds: is the mean per-seed difference a - b non-zero?

    Mappings {seed: value} are aligned by seed (different seed sets are refused); lists must be in the same seed
    order. Seeds with NaN/None on either side are dropped. Returns mean_diff, sd_diff (ddof=1), t, df, p_value
    (two-sided), n (seeds used) and note: why t and p are None when the test is undefined (fewer than 2 seeds, or
    differences without variance), else None.
    """
    a, b = _aligned_seed_values(values_a, values_b)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    d = a - b
    result: dict[str, Any] = {
        "mean_diff": float(d.mean()) if d.size else math.nan,
        "sd_diff": float(d.std(ddof=1)) if d.size >= 2 else None,
        "t": None, "df": None, "p_value": None, "n": int(d.size), "note": None,
    }
    if d.size < 2:
        result["note"] = f"a paired t-test needs at least 2 seeds with values on both sides, got {d.size}"
    elif np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())):  # equal up to float rounding (0.9-0.8 vs 0.8-0.7)
        result["note"] = "the per-seed differences are all equal (zero variance): the t statistic is undefined"
    else:
        from scipy import stats  # imported here: only this test needs scipy, and it is slow to import

        test = stats.ttest_rel(a, b)
        result.update(t=float(test.statistic), df=int(d.size - 1), p_value=float(test.pvalue))
    return result


def _seed_list(values: SeedValues) -> list[Any]:
    return list(values.values()) if isinstance(values, Mapping) else list(values)


def _aligned_seed_values(values_a: SeedValues, values_b: SeedValues) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as float arrays in one seed order; mappings by key, lists by position."""
    if isinstance(values_a, Mapping) != isinstance(values_b, Mapping):
        raise ValueError("pass both sides as {seed: value} mappings, or both as lists in the same seed order")
    if isinstance(values_a, Mapping):
        if set(values_a) != set(values_b):
            only_a = sorted(set(values_a) - set(values_b), key=str)
            only_b = sorted(set(values_b) - set(values_a), key=str)
            raise ValueError(f"a paired seed test needs the same seeds on both sides: only in a {only_a}, "
                             f"only in b {only_b}")
        seeds = list(values_a)
        values_a, values_b = [values_a[s] for s in seeds], [values_b[s] for s in seeds]
    a, b = np.asarray(_seed_list(values_a), dtype=float), np.asarray(_seed_list(values_b), dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a paired seed test needs one value per seed on both sides, got {a.size} and {b.size}")
    return a, b
