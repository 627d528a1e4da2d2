"""Metrics: pure functions of sample dicts, registered with name, family, direction and range.

`evaluate_samples(samples)` turns one configuration's samples into `{metric: {value, low, high, n}}`, the shape that
results.json and the reports use. Importing this package registers paper 1's metrics.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from . import paper1  # noqa: F401 - registers paper 1's metrics
from .registry import (
    FAMILIES,
    Metric,
    Sample,
    UnknownMetricError,
    get_metric,
    list_metrics,
    register_metric,
)
from .statistics import bootstrap_ci, chance_level, mcnemar_test, paired_bootstrap_test

__all__ = [
    "FAMILIES",
    "Metric",
    "Sample",
    "UnknownMetricError",
    "bootstrap_ci",
    "chance_level",
    "evaluate_samples",
    "get_metric",
    "list_metrics",
    "mcnemar_test",
    "paired_bootstrap_test",
    "per_example",
    "register_metric",
]


def per_example(samples: Sequence[Sample], name: str, labels: Sequence[int] = (0, 1)) -> np.ndarray:
    """Per-example values of one metric (NaN where it does not apply): the input of paired tests between runs."""
    return get_metric(name)(samples, labels)


def _summary(values: np.ndarray, n_resamples: int, seed: int) -> dict[str, Any]:
    """Mean over the examples the metric applies to, with its bootstrap interval and that count."""
    finite = values[~np.isnan(values)]
    value = float(finite.mean()) if finite.size else math.nan
    low, high = bootstrap_ci(finite, n_resamples=n_resamples, seed=seed)
    return {"value": value, "low": low, "high": high, "n": int(finite.size)}


def evaluate_samples(
    samples: Sequence[Sample],
    metric_names: Sequence[str] | None = None,
    labels: Sequence[int] = (0, 1),
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Aggregate metrics over `samples` (default: every registered metric) as {name: {value, low, high, n}}.

    `n` counts the examples the metric applies to; a metric that applies to none has value NaN and n = 0. Names are
    resolved before anything is computed, so a typo fails fast with a suggestion.
    """
    metrics = [get_metric(name) for name in (list_metrics() if metric_names is None else metric_names)]
    samples = list(samples)
    return {m.name: _summary(m(samples, labels), n_resamples, seed) for m in metrics}
