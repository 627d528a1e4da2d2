"""Comparisons between cells: two cells on the same test items (paired by example id), and regimes across seeds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from faithex.errors import FaithexError

from .registry import Metric, Sample, applicable_rows, get_metric
from .statistics import (
    mcnemar_exact,
    newcombe_paired_interval,
    paired_bootstrap_statistic_test,
    paired_bootstrap_test,
    paired_permutation_test,
    paired_swap_permutation_test,
    paired_table,
    seed_summary,
)

#: What `compare` puts in "test": which test its p_value comes from.
EXACT_MCNEMAR = "exact McNemar"
SIGN_FLIP = "sign-flip permutation"
ITEM_SWAP = "item-swap permutation"


class MisalignedSamplesError(FaithexError, ValueError):
    """Two cells cannot be paired: their samples do not hold the same test items (ids)."""


def align_by_id(samples_a: Sequence[Sample], samples_b: Sequence[Sample]) -> tuple[list[Sample], list[Sample]]:
    """Both sample lists in one order (a's), paired by `id`. Refuses missing or repeated ids and different id sets:
    a paired test on different items would silently compare different things."""
    by_id_a, by_id_b = _index_by_id(samples_a, "a"), _index_by_id(samples_b, "b")
    if by_id_a.keys() != by_id_b.keys():
        only_a, only_b = sorted(by_id_a.keys() - by_id_b.keys()), sorted(by_id_b.keys() - by_id_a.keys())
        raise MisalignedSamplesError(
            f"cannot pair the two cells: their test items differ ({len(only_a)} ids only in a, e.g. {only_a[:3]}; "
            f"{len(only_b)} only in b, e.g. {only_b[:3]}); compare cells evaluated on the same test set"
        )
    return list(by_id_a.values()), [by_id_b[i] for i in by_id_a]


def _index_by_id(samples: Sequence[Sample], side: str) -> dict[str, Sample]:
    ids = [sample.get("id") for sample in samples]
    if any(i is None for i in ids):
        raise MisalignedSamplesError(f"cannot pair the two cells: a sample of {side} has no id")
    repeated = [i for i, count in Counter(ids).items() if count > 1]
    if repeated:
        raise MisalignedSamplesError(f"cannot pair the two cells: {side} repeats ids {sorted(map(str, repeated))[:3]}")
    return {str(i): sample for i, sample in zip(ids, samples)}


def compare(
    samples_a: Sequence[Sample],
    samples_b: Sequence[Sample],
    metric: str = "answer_accuracy",
    labels: Sequence[int] = (0, 1),
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Paired comparison of two cells (a - b) on the same test items, aligned by example id.

    Only examples the metric applies to on both sides count (n). Returns {"metric", "a", "b" (each cell's value on
    those examples), "diff", "low", "high" (interval of the difference), "p_value" (two-sided), "n", "test" (where
    p_value comes from), "mcnemar_p", "a_only", "b_only", "both", "neither"}. The method depends on the metric:

    - 0/1 per example (correctness, a failure): Newcombe's paired interval and the exact McNemar test ("test":
      `EXACT_MCNEMAR`); "mcnemar_p" repeats p_value, and the paired table's counts are filled (a right and b wrong,
      the reverse, both, neither);
    - other per-example values: paired-bootstrap interval of the mean difference, sign-flip permutation p
      (`SIGN_FLIP`);
    - an aggregate metric (macro-F1): paired-bootstrap interval drawing example ids jointly for both cells and
      recomputing it on each side, and a permutation p that swaps each item's rows between the cells (`ITEM_SWAP`).

    The McNemar fields are None where the metric is not 0/1; without a pair, every number is NaN and "test" None.
    Deterministic per seed; no p-value comes from the bootstrap.
    """
    chosen = get_metric(metric)
    aligned_a, aligned_b = align_by_id(samples_a, samples_b)
    if chosen.is_aggregate:
        result = _compare_aggregate(chosen, aligned_a, aligned_b, labels, n_resamples, seed, confidence)
    else:
        result = _compare_means(chosen, aligned_a, aligned_b, labels, n_resamples, seed, confidence)
    return {"metric": chosen.name, **result}


_NO_TABLE = {"mcnemar_p": None, "a_only": None, "b_only": None, "both": None, "neither": None}


def _compare_means(metric: Metric, samples_a, samples_b, labels, n_resamples, seed, confidence) -> dict[str, Any]:
    values_a, values_b = metric(samples_a, labels), metric(samples_b, labels)
    both = ~(np.isnan(values_a) | np.isnan(values_b))
    values_a, values_b = values_a[both], values_b[both]
    values = {"a": _mean_or_nan(values_a), "b": _mean_or_nan(values_b)}
    if values_a.size == 0:
        return {**values, "diff": np.nan, "low": np.nan, "high": np.nan, "p_value": np.nan, "n": 0, "test": None,
                **_NO_TABLE}
    if np.isin(values_a, (0.0, 1.0)).all() and np.isin(values_b, (0.0, 1.0)).all():
        return {**values, **_compare_proportions(values_a, values_b, confidence)}
    interval = paired_bootstrap_test(values_a, values_b, n_resamples=n_resamples, seed=seed, confidence=confidence)
    test = paired_permutation_test(values_a, values_b, n_resamples=n_resamples, seed=seed)
    return {**values, **interval, "p_value": test["p_value"], "n": test["n"], "test": SIGN_FLIP, **_NO_TABLE}


def _compare_proportions(values_a: np.ndarray, values_b: np.ndarray, confidence: float) -> dict[str, Any]:
    """Paired 0/1 outcomes: the difference of the two proportions, Newcombe's interval and exact McNemar."""
    table = paired_table(values_a, values_b)
    low, high = newcombe_paired_interval(table["both"], table["a_only"], table["b_only"], table["neither"],
                                         confidence=confidence)
    p_value = mcnemar_exact(table["a_only"], table["b_only"])
    return {"diff": float((values_a - values_b).mean()), "low": low, "high": high, "p_value": p_value,
            "n": int(values_a.size), "test": EXACT_MCNEMAR, "mcnemar_p": p_value, "a_only": table["a_only"],
            "b_only": table["b_only"], "both": table["both"], "neither": table["neither"]}


def _compare_aggregate(metric: Metric, samples_a, samples_b, labels, n_resamples, seed, confidence) -> dict[str, Any]:
    stats_a, stats_b = metric.statistics(samples_a, labels), metric.statistics(samples_b, labels)
    both = applicable_rows(stats_a) & applicable_rows(stats_b)
    stats_a, stats_b = stats_a[both], stats_b[both]
    n = int(both.sum())

    def on_a(rows: np.ndarray) -> np.ndarray:
        return metric.on_rows(stats_a, rows, labels)

    def on_b(rows: np.ndarray) -> np.ndarray:
        return metric.on_rows(stats_b, rows, labels)

    stacked = np.concatenate([stats_a, stats_b])  # item i of a is row i, of b row n + i: what the swaps exchange

    def on_stacked(rows: np.ndarray) -> np.ndarray:
        return metric.on_rows(stacked, rows, labels)

    interval = paired_bootstrap_statistic_test(on_a, on_b, n, n_resamples=n_resamples, seed=seed,
                                               confidence=confidence)
    test = paired_swap_permutation_test(on_stacked, n, n_resamples=n_resamples, seed=seed)
    everything = np.arange(n)[None, :]
    value_a, value_b = (float(on_a(everything)[0]), float(on_b(everything)[0])) if n else (np.nan, np.nan)
    return {"a": value_a, "b": value_b, **interval, "p_value": test["p_value"], "test": ITEM_SWAP if n else None,
            **_NO_TABLE}


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def summarise_seeds(results_per_seed: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """{metric: seed_summary} from one `evaluate_samples` result per seed (a metric missing in a seed is skipped)."""
    names = sorted({name for results in results_per_seed for name in results})
    return {
        name: seed_summary([results[name]["value"] for results in results_per_seed if name in results])
        for name in names
    }
