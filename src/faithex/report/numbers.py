"""How every figure of the reports is written (terminal, report.md, report.html), so one rule holds everywhere: a
value that rounds to zero is written `0.000`, never `-0.000` or `+0.000` (a sign on a zero claims a direction the
figure does not have); missing values (None, NaN) are `-`; intervals sit in brackets; `n` beside the figure it
counts."""

from __future__ import annotations

import math
from typing import Any

MISSING = "-"


def missing(value: Any) -> bool:
    """None, NaN, or anything that is not a number (a results.json field an older faithex did not write)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    return math.isnan(value)


def number(value: Any, digits: int = 3, signed: bool = False) -> str:
    """`value` with `digits` decimals (`signed`: `+` before a positive value); a zero after rounding has no sign."""
    if missing(value):
        return MISSING
    written = format(value, f"{'+' if signed else ''}.{digits}f")
    if math.isfinite(value) and float(written) == 0:
        return format(0.0, f".{digits}f")
    return written


def interval(low: Any, high: Any, digits: int = 2, signed: bool = False) -> str:
    """`[low, high]`; empty when either end is missing (an interval with one end is no interval)."""
    if missing(low) or missing(high):
        return ""
    return f"[{number(low, digits, signed)}, {number(high, digits, signed)}]"


def p_value(p: Any) -> str:
    """Two significant digits; below 0.001 as `< 0.001` (the digits beyond say nothing more)."""
    if missing(p):
        return MISSING
    return "< 0.001" if p < 0.001 else format(p, ".2g")


def count(n: Any) -> str:
    """`n=300` beside a figure; nothing when the results do not say how many examples it rests on."""
    return f"n={n}" if isinstance(n, int) and not isinstance(n, bool) else ""
