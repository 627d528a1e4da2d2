"""A typed registry of metrics, in the style of lm-evaluation-harness.

A metric is a pure function of samples, registered with its family, direction, range, and the sample fields it
`requires`. It comes in one of two kinds:

- **mean** (the default): `fn(samples, labels) -> np.ndarray` returns one float per sample (NaN where the metric does
  not apply to that sample); the metric is their mean. Returning per-example values rather than one number is what
  lets the same function feed the aggregate, its bootstrap interval and paired significance tests between runs.
- **aggregate** (`aggregate=` given): for metrics that are not a mean of per-example values (macro-F1).
  `fn(samples, labels)` returns per-example *statistics*, an (n, k) float array (a row with a NaN: the metric does
  not apply to that sample), and `aggregate(stats, rows, labels)` returns the metric computed on each row of `rows`,
  an (r, m) matrix of indices into `stats`. A bootstrap is then `rows` drawn with replacement: one call computes
  a whole block of resamples, vectorised.

Per-label metrics (`register_per_label_metric`, e.g. "recall") are one metric per label, named `<name>/<label>`
("recall/2"): `get_metric` builds them on demand, and `list_metrics(labels=...)` lists them for a label space.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from faithex.errors import UnknownNameError
from faithex.registry import Registry

Sample = Mapping[str, Any]
MetricFn = Callable[[Sequence[Sample], Sequence[int]], np.ndarray]
#: aggregate(stats, rows, labels) -> the metric on each resample: stats (n, k), rows (r, m) indices -> shape (r,).
Aggregate = Callable[[np.ndarray, np.ndarray, Sequence[int]], np.ndarray]
#: fn(samples, labels, label) -> per-example values of the metric for one label.
PerLabelFn = Callable[[Sequence[Sample], Sequence[int], int], np.ndarray]

#: The families a metric may belong to; reports group their tables by family.
FAMILIES: tuple[str, ...] = ("accuracy", "error", "alignment", "failure", "faithfulness", "plausibility")

#: Separates a per-label metric's name from its label: "recall/2".
LABEL_SEPARATOR = "/"


class UnknownMetricError(UnknownNameError):
    """Raised for a metric name that is not registered (a user-input error: a ValueError, shown as one line)."""


# -- reading the fields a metric requires ---------------------------------------------------------------------------
def sample_field(sample: Sample, path: str) -> Any:
    """The value at a dotted `path` ("outputs.answer") of a sample, None where any step is missing."""
    value: Any = sample
    for key in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def has_field(sample: Sample, path: str) -> bool:
    """Whether the sample holds `path` (not None).

    A model output counts as present when its raw text (`outputs.<field>`) or its parsed value (`parsed.<field>`) is:
    a parse implies an output, and hand-made or older records may carry parsed decisions without raw texts. A
    `parsed.<field>` holding None is present when the raw text is: the output was read, and could not be.
    """
    if sample_field(sample, path) is not None:
        return True
    head, _, field = path.partition(".")
    if head == "parsed":
        parsed = sample.get("parsed")
        return isinstance(parsed, Mapping) and field in parsed and sample_field(sample, f"outputs.{field}") is not None
    return head == "outputs" and sample_field(sample, f"parsed.{field}") is not None


# -- the metric -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    """A registered metric: what it measures, which way is better, what it reads, and how it is computed."""

    name: str
    family: str
    higher_is_better: bool
    range: tuple[float, float]
    description: str
    fn: MetricFn
    requires: tuple[str, ...] = ()
    aggregate: Aggregate | None = None

    @property
    def is_aggregate(self) -> bool:
        """True for metrics computed on a set of examples (macro-F1), False for means of per-example values."""
        return self.aggregate is not None

    def applies_to(self, samples: Sequence[Sample]) -> bool:
        """Whether at least one sample has every required field (a metric without requirements: any sample)."""
        return any(all(has_field(s, path) for path in self.requires) for s in samples)

    def statistics(self, samples: Sequence[Sample], labels: Sequence[int] = (0, 1)) -> np.ndarray:
        """What `fn` returns, checked: per-example values (n,) for a mean metric, statistics (n, k) for an aggregate."""
        values = np.asarray(self.fn(samples, labels), dtype=float)
        expected_ndim = 2 if self.is_aggregate else 1
        if values.ndim != expected_ndim or values.shape[0] != len(samples):
            raise ValueError(f"metric {self.name!r} returned shape {values.shape} for {len(samples)} samples")
        return values

    def __call__(self, samples: Sequence[Sample], labels: Sequence[int] = (0, 1)) -> np.ndarray:
        """Per-example values as a float array of shape (n,), NaN where the metric does not apply.

        For an aggregate metric, the value of each example is the metric computed on that example alone (for
        macro-F1: 1 if the answer is right, else 0); their mean is not the metric, which `evaluate_samples` and
        `compare` compute on the set.
        """
        values = self.statistics(samples, labels)
        if not self.is_aggregate:
            return values
        per_example = np.full(len(samples), np.nan)
        kept = applicable_rows(values)
        if kept.any():
            per_example[kept] = self.on_rows(values[kept], np.arange(int(kept.sum()))[:, None], labels)
        return per_example

    def on_rows(self, stats: np.ndarray, rows: np.ndarray, labels: Sequence[int]) -> np.ndarray:
        """The metric on each row of example indices `rows` (r, m) into `stats`: one value per row."""
        if self.aggregate is None:
            return stats[rows].mean(axis=1)
        return np.asarray(self.aggregate(stats, rows, labels), dtype=float)


def applicable_rows(stats: np.ndarray) -> np.ndarray:
    """Boolean mask of the examples a metric applies to: per-example values or statistics rows without NaN."""
    stats = np.asarray(stats, dtype=float)
    return ~np.isnan(stats) if stats.ndim == 1 else ~np.isnan(stats).any(axis=1)


# -- registration ---------------------------------------------------------------------------------------------------
def _definition(metric: Metric) -> str:
    """A metric is the same definition when its function is (a module reload re-registers it)."""
    return _qualified(metric.fn)


METRICS: Registry[Metric] = Registry("metric", error=UnknownMetricError, identity=_definition)
PER_LABEL_METRICS: Registry[Metric] = Registry("per-label metric", error=UnknownMetricError, identity=_definition)
# PER_LABEL_METRICS holds templates: their fn is a PerLabelFn, bound to one label by get_metric.


def _check_declaration(
    name: str, family: str, higher_is_better: bool, value_range: tuple[float, float], requires: tuple[str, ...]
) -> None:
    """Reject malformed declarations at import time, where the mistake is cheapest to find."""
    if not name or not isinstance(name, str):
        raise ValueError(f"metric name must be a non-empty string, got {name!r}")
    if LABEL_SEPARATOR in name:
        raise ValueError(f"metric {name!r}: {LABEL_SEPARATOR!r} is reserved for per-label metrics (recall/2)")
    if family not in FAMILIES:
        raise ValueError(f"metric {name!r}: family {family!r} is not one of {FAMILIES}")
    if not isinstance(higher_is_better, bool):
        raise ValueError(f"metric {name!r}: higher_is_better must be a bool")
    low, high = value_range
    if not low < high:
        raise ValueError(f"metric {name!r}: range {value_range} must satisfy low < high")
    if not all(isinstance(path, str) and path and not path.startswith(".") for path in requires):
        raise ValueError(f"metric {name!r}: requires must be dotted field paths, got {requires!r}")


def _declare(
    table: Registry[Metric], name: str, family: str, higher_is_better: bool, value_range: tuple[float, float],
    description: str, requires: Sequence[str], aggregate: Aggregate | None,
) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    value_range = (float(value_range[0]), float(value_range[1]))
    requires = (requires,) if isinstance(requires, str) else tuple(requires)
    _check_declaration(name, family, higher_is_better, value_range, requires)

    def decorate(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        other = PER_LABEL_METRICS if table is METRICS else METRICS
        if name in other:
            raise ValueError(f"metric {name!r} is already registered by {_definition(other.get(name))}")
        doc = description or (fn.__doc__ or "").strip().split("\n")[0]
        table.add(name, Metric(name, family, higher_is_better, value_range, doc, fn, requires, aggregate))
        return fn

    return decorate


def register_metric(
    name: str,
    *,
    family: str,
    higher_is_better: bool,
    range: tuple[float, float] = (0.0, 1.0),
    description: str = "",
    requires: Sequence[str] = (),
    aggregate: Aggregate | None = None,
) -> Callable[[MetricFn], MetricFn]:
    """Decorator registering `fn(samples, labels)` under `name`; returns `fn` unchanged.

    `requires`: the dotted sample fields the metric reads ("gold", "outputs.answer"); by default the metric is
    computed only for sample sets where at least one sample has them all. `aggregate`: see the module docstring.
    Re-registering the same function (a module reload) replaces the entry; a different function under a taken name
    is an error, because two definitions of one metric name would make results ambiguous.
    """
    return _declare(METRICS, name, family, higher_is_better, range, description, requires, aggregate)


def register_per_label_metric(
    name: str,
    *,
    family: str,
    higher_is_better: bool,
    range: tuple[float, float] = (0.0, 1.0),
    description: str = "",
    requires: Sequence[str] = (),
) -> Callable[[PerLabelFn], PerLabelFn]:
    """Decorator registering `fn(samples, labels, label) -> per-example values` as the metrics `<name>/<label>`."""
    return _declare(PER_LABEL_METRICS, name, family, higher_is_better, range, description, requires, None)


def _qualified(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


# -- lookup ---------------------------------------------------------------------------------------------------------
def get_metric(name: str) -> Metric:
    """The metric registered as `name` ("recall/2" binds a per-label metric to label 2); an unknown name raises
    UnknownMetricError suggesting close names."""
    if name in METRICS:
        return METRICS.get(name)
    base, separator, label = str(name).partition(LABEL_SEPARATOR)
    if separator and base in PER_LABEL_METRICS and _is_int(label):
        return _bind_label(PER_LABEL_METRICS.get(base), int(label))
    per_label = [f"{base}{LABEL_SEPARATOR}<label>" for base in PER_LABEL_METRICS.names()]
    raise UnknownMetricError(METRICS._unknown_message(name, per_label))


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _bind_label(template: Metric, label: int) -> Metric:
    """The per-label template as an ordinary mean metric for one label."""
    per_label_fn: PerLabelFn = template.fn  # type: ignore[assignment]

    def fn(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
        if label not in labels:
            raise ValueError(f"metric '{template.name}/{label}': label {label} is not in labels {tuple(labels)}")
        return per_label_fn(samples, labels, label)

    name = f"{template.name}{LABEL_SEPARATOR}{label}"
    description = f"{template.description} (label {label})"
    return Metric(name, template.family, template.higher_is_better, template.range, description, fn, template.requires)


def list_metrics(family: str | None = None, labels: Sequence[int] | None = None) -> list[str]:
    """Registered metric names (sorted), optionally only those of one family.

    Per-label metrics are listed only for a given label space: `labels=(0, 1, 2)` appends "recall/0" ... "recall/2".
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"family {family!r} is not one of {FAMILIES}")
    names = [m.name for m in METRICS.values() if family is None or m.family == family]
    if labels is not None:  # in label order, not string order: recall/2 before recall/10
        names += [f"{m.name}{LABEL_SEPARATOR}{label}" for m in PER_LABEL_METRICS.values()
                  if family is None or m.family == family for label in labels]
    return names


def list_per_label_metrics() -> list[str]:
    """The per-label metric templates ("recall"), each listed for a label space by `list_metrics(labels=...)`."""
    return PER_LABEL_METRICS.names()
