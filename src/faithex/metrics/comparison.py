"""Comparisons between cells: two cells on the same test items (paired by example id), and regimes across seeds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from faithex.errors import FaithexError

from .registry import Metric, Sample, applicable_rows, get_metric
from .statistics import mcnemar_test, paired_bootstrap_statistic_test, paired_bootstrap_test, seed_summary


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
    those examples), "diff", "low", "high" (paired-bootstrap interval of the difference), "p_value" (paired
    bootstrap, two-sided), "n", "mcnemar_p", "a_only", "b_only"}. The McNemar fields are filled where the metric is
    0/1 per example (correctness): the exact test's p-value and the discordant counts (a right and b wrong, and the
    reverse); None otherwise. An aggregate metric (macro-F1) is bootstrapped by drawing example ids jointly for both
    cells and recomputing it on each side.
    """
    chosen = get_metric(metric)
    aligned_a, aligned_b = align_by_id(samples_a, samples_b)
    if chosen.is_aggregate:
        result = _compare_aggregate(chosen, aligned_a, aligned_b, labels, n_resamples, seed, confidence)
    else:
        result = _compare_means(chosen, aligned_a, aligned_b, labels, n_resamples, seed, confidence)
    return {"metric": chosen.name, **result}


def _compare_means(metric: Metric, samples_a, samples_b, labels, n_resamples, seed, confidence) -> dict[str, Any]:
    values_a, values_b = metric(samples_a, labels), metric(samples_b, labels)
    both = ~(np.isnan(values_a) | np.isnan(values_b))
    values_a, values_b = values_a[both], values_b[both]
    test = paired_bootstrap_test(values_a, values_b, n_resamples=n_resamples, seed=seed, confidence=confidence)
    binary = bool(np.isin(values_a, (0.0, 1.0)).all() and np.isin(values_b, (0.0, 1.0)).all())
    mcnemar = {"mcnemar_p": None, "a_only": None, "b_only": None}
    if binary and values_a.size:
        mcnemar = {
            "mcnemar_p": mcnemar_test(values_a, values_b),
            "a_only": int(np.count_nonzero((values_a == 1) & (values_b == 0))),
            "b_only": int(np.count_nonzero((values_a == 0) & (values_b == 1))),
        }
    return {"a": _mean_or_nan(values_a), "b": _mean_or_nan(values_b), **test, **mcnemar}


def _compare_aggregate(metric: Metric, samples_a, samples_b, labels, n_resamples, seed, confidence) -> dict[str, Any]:
    stats_a, stats_b = metric.statistics(samples_a, labels), metric.statistics(samples_b, labels)
    both = applicable_rows(stats_a) & applicable_rows(stats_b)
    stats_a, stats_b = stats_a[both], stats_b[both]
    n = int(both.sum())

    def on_a(rows: np.ndarray) -> np.ndarray:
        return metric.on_rows(stats_a, rows, labels)

    def on_b(rows: np.ndarray) -> np.ndarray:
        return metric.on_rows(stats_b, rows, labels)

    test = paired_bootstrap_statistic_test(on_a, on_b, n, n_resamples=n_resamples, seed=seed, confidence=confidence)
    everything = np.arange(n)[None, :]
    value_a, value_b = (float(on_a(everything)[0]), float(on_b(everything)[0])) if n else (np.nan, np.nan)
    return {"a": value_a, "b": value_b, **test, "mcnemar_p": None, "a_only": None, "b_only": None}


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def summarise_seeds(results_per_seed: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """{metric: seed_summary} from one `evaluate_samples` result per seed (a metric missing in a seed is skipped)."""
    names = sorted({name for results in results_per_seed for name in results})
    return {
        name: seed_summary([results[name]["value"] for results in results_per_seed if name in results])
        for name in names
    }
