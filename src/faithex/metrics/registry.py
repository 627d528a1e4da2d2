"""A typed registry of metrics, in the style of lm-evaluation-harness.

Every metric is a pure function `fn(samples, labels) -> np.ndarray` returning one float per sample (NaN where the
metric does not apply to that sample). Returning per-example values rather than one number is what lets the same
function feed the aggregate, its bootstrap confidence interval and paired significance tests between runs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

Sample = Mapping[str, Any]
MetricFn = Callable[[Sequence[Sample], Sequence[int]], np.ndarray]

#: The families a metric may belong to; reports group their tables by family.
FAMILIES: tuple[str, ...] = ("accuracy", "alignment", "failure", "faithfulness", "plausibility")


class UnknownMetricError(ValueError):
    """Raised for a metric name that is not registered (a user-input error, so a ValueError)."""


@dataclass(frozen=True)
class Metric:
    """A registered metric: what it measures, which way is better, and the function computing it per example."""

    name: str
    family: str
    higher_is_better: bool
    range: tuple[float, float]
    description: str
    fn: MetricFn

    def __call__(self, samples: Sequence[Sample], labels: Sequence[int] = (0, 1)) -> np.ndarray:
        """Per-example values as a float array, checked to have one value per sample."""
        values = np.asarray(self.fn(samples, labels), dtype=float)
        if values.shape != (len(samples),):
            raise ValueError(f"metric {self.name!r} returned shape {values.shape} for {len(samples)} samples")
        return values


_REGISTRY: dict[str, Metric] = {}


def _check_declaration(name: str, family: str, higher_is_better: bool, value_range: tuple[float, float]) -> None:
    """Reject malformed declarations at import time, where the mistake is cheapest to find."""
    if not name or not isinstance(name, str):
        raise ValueError(f"metric name must be a non-empty string, got {name!r}")
    if family not in FAMILIES:
        raise ValueError(f"metric {name!r}: family {family!r} is not one of {FAMILIES}")
    if not isinstance(higher_is_better, bool):
        raise ValueError(f"metric {name!r}: higher_is_better must be a bool")
    low, high = value_range
    if not low < high:
        raise ValueError(f"metric {name!r}: range {value_range} must satisfy low < high")


def register_metric(
    name: str,
    *,
    family: str,
    higher_is_better: bool,
    range: tuple[float, float] = (0.0, 1.0),  # noqa: A002 - the public keyword mirrors Metric.range
    description: str = "",
) -> Callable[[MetricFn], MetricFn]:
    """Decorator registering `fn(samples, labels) -> per-example values` under `name`; returns `fn` unchanged.

    Re-registering the same function (a module reload) replaces the entry; a different function under a taken name
    is an error, because two definitions of one metric name would make results ambiguous.
    """
    value_range = (float(range[0]), float(range[1]))
    _check_declaration(name, family, higher_is_better, value_range)

    def decorate(fn: MetricFn) -> MetricFn:
        existing = _REGISTRY.get(name)
        if existing is not None and _qualified(existing.fn) != _qualified(fn):
            raise ValueError(f"metric {name!r} is already registered by {_qualified(existing.fn)}")
        doc = description or (fn.__doc__ or "").strip().split("\n")[0]
        _REGISTRY[name] = Metric(name, family, higher_is_better, value_range, doc, fn)
        return fn

    return decorate


def _qualified(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def get_metric(name: str) -> Metric:
    """The metric registered as `name`; an unknown name raises UnknownMetricError suggesting close names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        known = ", ".join(sorted(_REGISTRY)) or "(none registered)"
        raise UnknownMetricError(f"unknown metric {name!r}.{hint} Known metrics: {known}") from None


def list_metrics(family: str | None = None) -> list[str]:
    """Registered metric names (sorted), optionally only those of one family."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family {family!r} is not one of {FAMILIES}")
    return sorted(n for n, m in _REGISTRY.items() if family is None or m.family == family)
