"""Uncertainty and significance for metric values (numpy; exact tests use math.comb; scipy for the t-test only).

Test sets in these papers are small (200 examples), so a 3-point difference between two configurations may be noise:
every aggregate gets a percentile-bootstrap interval, and two runs on the same examples are compared with a paired
test (bootstrap for any metric, McNemar's exact test for 0/1 correctness). Across training seeds, a regime is
summarised by mean and sample standard deviation, and two regimes trained on the same seeds by a paired t-test.

Two bootstrap forms share one resampling scheme (rows of example indices drawn with replacement, deterministic per
seed): means of per-example values (`bootstrap_ci`, `paired_bootstrap_test`) and any statistic of a resample
(`bootstrap_statistic_ci`, `paired_bootstrap_statistic_test`: macro-F1 is not a mean of per-example values).
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
    """Interval and two-sided p-value of an observed difference from its bootstrap draws.

    p: share of draws, re-centred on 0 to mimic the null, at least as far from 0 as the observed difference, with the
    +1 correction so p is never exactly 0.
    """
    low, high = _percentiles(draws, confidence)
    extreme = np.abs(draws - diff) >= abs(diff) - 1e-12
    p_value = float((1 + np.count_nonzero(extreme)) / (1 + draws.size))
    return {"diff": diff, "low": low, "high": high, "p_value": min(1.0, p_value), "n": int(n)}


_NO_PAIRS = {"diff": math.nan, "low": math.nan, "high": math.nan, "p_value": math.nan, "n": 0}


def paired_bootstrap_test(
    values_a: Sequence[float] | np.ndarray,
    values_b: Sequence[float] | np.ndarray,
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Paired bootstrap of mean(a - b) over aligned per-example values (pairs with a NaN on either side dropped).

    Returns diff (observed mean difference), low/high (percentile interval of the difference), p_value (two-sided:
    share of bootstrap differences, re-centred on 0 to mimic the null, at least as far from 0 as the observed one,
    with the +1 correction so p is never exactly 0) and n (pairs used).
    """
    a, b = np.asarray(values_a, dtype=float).ravel(), np.asarray(values_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired test needs aligned values, got {a.size} and {b.size}")
    d = (a - b)[~(np.isnan(a) | np.isnan(b))]
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
    """Paired bootstrap of statistic_a - statistic_b over n aligned examples: each resample draws example indices once
    and evaluates both statistics on them (for aggregate metrics such as macro-F1). Same result keys as
    `paired_bootstrap_test`.
    """
    if n == 0:
        return dict(_NO_PAIRS)
    diff = float(statistic_a(_everything(n))[0] - statistic_b(_everything(n))[0])
    draws = bootstrap_statistic(lambda rows: statistic_a(rows) - statistic_b(rows), n, n_resamples, seed)
    if draws.size == 0:  # the statistic is undefined on every resample
        return {**_NO_PAIRS, "diff": diff, "n": int(n)}
    return _paired_result(diff, draws, n, confidence)


def mcnemar_test(correct_a: Sequence[Any] | np.ndarray, correct_b: Sequence[Any] | np.ndarray) -> float:
    """Exact (binomial) McNemar p-value for two classifiers scored on the same examples.

    Only discordant pairs carry information: with n01 = #(a right, b wrong) and n10 = #(a wrong, b right),
    under the null each discordant pair is a fair coin, so p = min(1, 2 * P(Binomial(n01 + n10, 1/2) <= min)).
    Pairs with a NaN on either side (metric not applicable) are dropped.
    """
    a, b = np.asarray(correct_a, dtype=float).ravel(), np.asarray(correct_b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"McNemar's test needs aligned values, got {a.size} and {b.size}")
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep] != 0, b[keep] != 0
    n01, n10 = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(~a & b))
    n = n01 + n10
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(n01, n10) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact integer arithmetic until the final division


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
