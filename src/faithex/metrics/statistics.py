"""Uncertainty and significance for per-example metric values (numpy only; exact tests use math.comb).

Test sets in these papers are small (200 examples), so a 3-point difference between two configurations may be noise:
every aggregate gets a percentile-bootstrap interval, and two runs on the same examples are compared with a paired
test (bootstrap for any metric, McNemar's exact test for 0/1 correctness).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Sequence

import numpy as np

#: Largest index matrix drawn at once (entries): 20M int64 = 160 MB.
_MAX_DRAW = 20_000_000


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Values as a 1-D float array without NaN (NaN marks "metric does not apply" and must not count)."""
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


def _bootstrap_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of `n_resamples` resamples with replacement, deterministic per seed.

    One vectorised draw of shape (n_resamples, n); only when that index matrix would pass `_MAX_DRAW` entries
    (large sample files) is it drawn in row blocks from the same generator, to bound memory.
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    rng = np.random.default_rng(seed)
    rows = max(1, _MAX_DRAW // x.size)
    means = [x[rng.integers(0, x.size, size=(min(rows, n_resamples - start), x.size))].mean(axis=1)
             for start in range(0, n_resamples, rows)]
    return np.concatenate(means)


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
        return {"diff": math.nan, "low": math.nan, "high": math.nan, "p_value": math.nan, "n": 0}
    diff = float(d.mean())
    draws = _bootstrap_means(d, n_resamples, seed)
    low, high = _percentiles(draws, confidence)
    extreme = np.abs(draws - diff) >= abs(diff) - 1e-12
    p_value = float((1 + np.count_nonzero(extreme)) / (1 + n_resamples))
    return {"diff": diff, "low": low, "high": high, "p_value": min(1.0, p_value), "n": int(d.size)}


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
