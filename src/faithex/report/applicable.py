"""Which figures of a run the reports may show (docs/claims.md, "Guards" and "Not applicable").

`faithex.claims` stores a guard for every cell it could judge (results.json `guards`, keyed
`task/regime/protocol/s<seed>`). A faithfulness or alignment figure of a cell the guard calls untrained means
nothing (a classifier that ignores its input has no explanation to be faithful to): the reports write
`n/a (untrained)` in its place. Its accuracy figures stay, marked `†`: paper 1's point may be exactly that one
configuration cannot learn. Madsen's attribution and redaction checks of a trained regime whose training targets
never held "unknown" cannot pass by construction: `n/a (by construction)`, whatever the guard says.

The reports read results.json only: its `regimes` (written with the verdicts) says what each regime id is and
whether it learned "unknown"; for an older results.json without it, a regime id that is not a registered regime
name is taken as one that never learned "unknown" (every registered regime so far). Whether the cell trained is read
from its own `train` entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNTRAINED = "n/a (untrained)"
BY_CONSTRUCTION = "n/a (by construction)"
#: Beside a figure of an untrained cell that stays (accuracy): the footnote says why.
MARK = "†"
#: The metric families whose figures an untrained cell cannot have.
GUARDED_FAMILIES = ("faithfulness", "alignment")


def cell_key(cell: Mapping[str, Any]) -> str:
    """The cell's key in results.json `guards`."""
    return f"{cell['task']}/{cell['regime']}/{cell['protocol']}/s{cell['seed']}"


def has_guards(results: Mapping[str, Any]) -> bool:
    """Whether `faithex.claims` judged this run (results.json written or re-read since the guards exist)."""
    return isinstance(results.get("guards"), Mapping)


def untrained_reason(results: Mapping[str, Any], cell: Mapping[str, Any]) -> str | None:
    """Why the guard calls the cell untrained, or None (trained, not judged, or a run without guards)."""
    found = (results.get("guards") or {}).get(cell_key(cell)) if has_guards(results) else None
    if not isinstance(found, Mapping) or not found.get("untrained"):
        return None
    return str(found.get("reason") or "untrained")


def guarded(metric: str) -> bool:
    """A faithfulness or alignment metric (a per-label recall or a metric this version lacks: no)."""
    from faithex.metrics import METRICS

    return metric in METRICS and METRICS.get(metric).family in GUARDED_FAMILIES


def by_construction(cell: Mapping[str, Any], metric: str, results: Mapping[str, Any] | None = None) -> bool:
    """`metric` of `cell` cannot pass by construction (`faithex.claims.not_applicable_by_construction`)."""
    from faithex.claims.guards import not_applicable_by_construction

    return not_applicable_by_construction(metric, cell["protocol"], bool(cell.get("train")),
                                          _answers_unknown(cell["regime"], results)) is not None


def _answers_unknown(regime: str, results: Mapping[str, Any] | None) -> bool:
    """What results.json's `regimes` (written with the verdicts) says of the regime id; for an older results.json,
    the registered regime of that name (an id that is no registered name: never learned "unknown")."""
    from faithex.regimes import REGIMES

    entry = ((results or {}).get("regimes") or {}).get(regime)
    if entry is not None:
        return bool(entry.get("answers_unknown"))
    return REGIMES.get(regime).answers_unknown if regime in REGIMES else False


def not_applicable(results: Mapping[str, Any], cell: Mapping[str, Any], metric: str) -> str | None:
    """`n/a (by construction)`, `n/a (untrained)`, or None where the figure may be shown. By construction first:
    it holds whatever the classifier learned (the verdicts decide in the same order)."""
    if by_construction(cell, metric, results):
        return BY_CONSTRUCTION
    if guarded(metric) and untrained_reason(results, cell) is not None:
        return UNTRAINED
    return None


def group_not_applicable(results: Mapping[str, Any], metric: str, task: str, regime: str, protocol: str,
                         seed: Any = "all") -> str | None:
    """`not_applicable` of the first matching cell that has it: one seed's, or any seed's with seed "all" (a
    summary over seeds is n/a when one of its seeds is)."""
    for cell in results.get("cells", []):
        if (cell["task"], cell["regime"], cell["protocol"]) == (task, regime, protocol) and \
                (seed == "all" or cell["seed"] == seed):
            found = not_applicable(results, cell, metric)
            if found:
                return found
    return None


def untrained_lines(results: Mapping[str, Any]) -> list[str]:
    """`† untrained: <task>/<regime>/s<seed> (<protocols>): <reason>`, one line per training and reason the guard
    calls untrained (a training's protocols judged alike share a line: the self-consistency checks of older runs
    are all judged on `score`), in the order of the cells."""
    protocols: dict[tuple[str, str, Any, str], list[str]] = {}
    for cell in results.get("cells", []):
        reason = untrained_reason(results, cell)
        if reason is not None:
            protocols.setdefault((cell["task"], cell["regime"], cell["seed"], reason), []).append(cell["protocol"])
    return [f"{MARK} untrained: {task}/{regime}/s{seed} ({', '.join(asked)}): {reason}"
            for (task, regime, seed, reason), asked in protocols.items()]


LEGEND = {
    MARK: f"{MARK} an untrained cell (listed below): its accuracy is kept",
    UNTRAINED: f"{UNTRAINED}: a faithfulness or alignment figure of an untrained cell means nothing",
    BY_CONSTRUCTION: (f"{BY_CONSTRUCTION}: the check passes only on \"unknown\", which this regime's training "
                      "targets never held"),
}


def legend(rows: list[list[str]]) -> str:
    """What the marks shown in `rows` mean ("" when none is): one table's footnote."""
    shown = [entry for mark, entry in LEGEND.items() if any(mark in value for row in rows for value in row)]
    return "; ".join(shown)
