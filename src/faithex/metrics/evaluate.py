"""One cell's samples -> `{metric: {value, low, high, n}}`, the shape results.json and the reports use."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .registry import Metric, Sample, applicable_rows, get_metric, list_metrics
from .statistics import bootstrap_ci, bootstrap_statistic_ci, wilson_interval


def per_example(samples: Sequence[Sample], name: str, labels: Sequence[int] = (0, 1)) -> np.ndarray:
    """Per-example values of one metric (NaN where it does not apply): the input of paired tests between runs."""
    return get_metric(name)(samples, labels)


def applicable_metrics(samples: Sequence[Sample], labels: Sequence[int] = (0, 1), per_class: bool = False) -> list[str]:
    """The registered metrics whose required fields some sample has (with `per_class`, also recall/<label> ...)."""
    names = list_metrics(labels=labels if per_class else None)
    return [name for name in names if get_metric(name).applies_to(samples)]


def summarise_metric(
    metric: Metric, samples: Sequence[Sample], labels: Sequence[int] = (0, 1), n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """{value, low, high, n} of one metric: n counts the examples it applies to; NaN value and interval when n = 0.

    The interval: Wilson's for a proportion (a mean metric whose values are all 0 or 1), a percentile bootstrap for
    other means and for aggregate metrics (macro-F1).
    """
    if metric.is_aggregate:
        return _aggregate_summary(metric, samples, labels, n_resamples, seed)
    return _mean_summary(metric(samples, labels), n_resamples, seed)


def _mean_summary(values: np.ndarray, n_resamples: int, seed: int) -> dict[str, Any]:
    """Mean over the examples the metric applies to, with its interval and that count.

    0/1 values make the mean a proportion: its Wilson interval does not collapse to [0, 0] or [1, 1] when every
    example agrees, as a bootstrap does. Other values get the bootstrap.
    """
    finite = values[~np.isnan(values)]
    value = float(finite.mean()) if finite.size else math.nan
    if finite.size and np.isin(finite, (0.0, 1.0)).all():
        low, high = wilson_interval(int(np.count_nonzero(finite)), int(finite.size))
    else:
        low, high = bootstrap_ci(finite, n_resamples=n_resamples, seed=seed)
    return {"value": value, "low": low, "high": high, "n": int(finite.size)}


def _aggregate_summary(
    metric: Metric, samples: Sequence[Sample], labels: Sequence[int], n_resamples: int, seed: int
) -> dict[str, Any]:
    """The metric on the examples it applies to, with the interval of its value on resamples of those examples."""
    stats = metric.statistics(samples, labels)
    kept = stats[applicable_rows(stats)]
    n = len(kept)
    if n == 0:
        return {"value": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    statistic = lambda rows: metric.on_rows(kept, rows, labels)
    value = float(statistic(np.arange(n)[None, :])[0])
    low, high = bootstrap_statistic_ci(statistic, n, n_resamples=n_resamples, seed=seed)
    return {"value": value, "low": low, "high": high, "n": n}


def evaluate_samples(
    samples: Sequence[Sample],
    metric_names: Sequence[str] | None = None,
    labels: Sequence[int] = (0, 1),
    n_resamples: int = 1000,
    seed: int = 0,
    per_class: bool = False,
) -> dict[str, dict[str, Any]]:
    """Aggregate metrics over one cell's `samples` as {name: {value, low, high, n}}, with 95% intervals (Wilson for
    proportions, percentile bootstrap otherwise: see `summarise_metric`).

    `metric_names` None: every registered metric that applies to these samples (its `requires` fields exist in at
    least one sample), so a cell gets no all-NaN columns; with `per_class`, also "recall/<label>" for each label.
    Named metrics are computed even where they do not apply (value NaN, n = 0). `n` counts the examples a metric
    applies to. Names are resolved before anything is computed, so a typo fails fast with a suggestion.
    """
    samples = list(samples)
    names = applicable_metrics(samples, labels, per_class) if metric_names is None else list(metric_names)
    metrics = [get_metric(name) for name in names]
    return {m.name: summarise_metric(m, samples, labels, n_resamples, seed) for m in metrics}
