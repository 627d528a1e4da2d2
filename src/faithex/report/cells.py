"""One figure of a cell as every table writes it: `value (failure rate) [95% CI] n=N`, or why it is not applicable
(`n/a (untrained)`, `n/a (by construction)`), an untrained cell's figures marked `†`."""

from __future__ import annotations

from typing import Any

from faithex.report.applicable import MARK, not_applicable, untrained_reason
from faithex.report.numbers import MISSING, count, interval, missing, number


def figure(metrics: dict[str, Any], name: str, failure: str | None = None, mark: str = "") -> str:
    """One metric of a cell as the tables show it: `value (failure rate) [low, high] n=N`; `-` when the cell has no
    value (with its failure rate where it has one: the reason there is none, e.g. every self-explanation failed).
    `mark` follows the value (`0.650†`: an untrained cell's)."""
    entry = metrics.get(name) or {}
    failed = _failure(entry, metrics.get(failure) if failure else None)
    if missing(entry.get("value")):
        return " ".join(part for part in (MISSING, failed) if part)
    parts = [number(entry["value"]) + mark, failed, interval(entry.get("low"), entry.get("high")),
             count(entry.get("n"))]
    return " ".join(part for part in parts if part)


def cell_figure(results: dict[str, Any], cell: dict[str, Any], name: str, failure: str | None = None) -> str:
    """`figure` of one cell, or why it is not applicable (`n/a (untrained)`, `n/a (by construction)`); an untrained
    cell's figures that stay carry the mark `†`."""
    if name in cell["metrics"]:
        reason = not_applicable(results, cell, name)
        if reason:
            return reason
    mark = MARK if untrained_reason(results, cell) is not None else ""
    return figure(cell["metrics"], name, failure, mark)


def _failure(entry: dict[str, Any], failure: dict[str, Any] | None) -> str:
    """`(0.020)`, or `(0.750, n=80)` where the failure rate counts other examples than the figure beside it."""
    if not failure or missing(failure.get("value")):
        return ""
    own_n = count(failure.get("n")) if failure.get("n") != entry.get("n") or missing(entry.get("value")) else ""
    return f"({number(failure['value'])}{', ' + own_n if own_n else ''})"
