"""The faithfulness battery table (issue 17): one row per task and regime of a run, one column per test that
applies to some regime of it, each figure with its interval and n, and its baseline or control beside it.

    Task | Regime | Alignment | Answer follows reasoning (ignore) | No-change kept | Filler acc. (gold) | ...

A test reads the regime's cells in order: its own protocol first, then the others, and takes the first that has the
metric, so the alignment comes from `two_step` and the follow rate from `reasoning_interventions`. A cell is
`n/a` where no protocol of the test can ask the regime (a regime without a reasoning turn has no reasoning to flip),
`-` where one could but the run did not ask it (the battery was turned off), and `n/a (untrained)` where the guards
call the regime's classifier untrained (`faithex.report.cells`). The table is shown only when the run has a causal
test; paper 1's alignment alone is in paper 1's table.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faithex.report.cells import cell_figure
from faithex.report.numbers import MISSING, number

NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class Column:
    title: str
    metric: str
    #: The protocols (glob patterns) that can compute the metric: a regime none of them supports gets "n/a".
    protocols: tuple[str, ...]
    #: (label, metric) shown after the figure: the baseline to read it against (`ignore 0.520`).
    beside: tuple[str, str] | None = None


INTERVENTIONS = ("reasoning_interventions", "reasoning_step_flip")
COLUMNS = (
    Column("Alignment", "alignment_rate", ("direct", "two_step")),
    Column("Answer follows reasoning", "mistake_answer_follow", INTERVENTIONS,
           ("ignore", "mistake_answer_ignore_baseline")),
    Column("No-change kept", "mistake_nochange_keep", INTERVENTIONS),
    Column("Filler acc.", "filler_accuracy", INTERVENTIONS, ("gold reasoning", "gold_reasoning_accuracy")),
    Column("Expl. follows reasoning", "mistake_explanation_follow", INTERVENTIONS,
           ("ignore", "mistake_explanation_ignore_baseline")),
    Column("Label follows explanation", "explanation_donor_follow", ("explanation_interventions",),
           ("ignore", "explanation_donor_ignore_baseline")),
    Column("CC-SHAP", "cc_shap", ("cc_shap",), ("random", "cc_shap_random")),
    Column("ERASER compr.", "aopc_comprehensiveness", ("*_eraser",)),
    Column("ERASER suff.", "aopc_sufficiency", ("*_eraser",)),
)
#: Columns that make the table worth showing (alignment alone is paper 1's table).
CAUSAL = {column.metric for column in COLUMNS[1:]}
MADSEN = "self_consistency_faithfulness"
RANDOM_CONTROL = f"{MADSEN}_random_control"


def battery_table(results: Mapping[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """(headers, rows) of the battery, or None when the run has no causal test."""
    columns = _columns(results)
    if not any(column.metric in CAUSAL or (column.beside and column.beside[1] == RANDOM_CONTROL)
               for column in columns):
        return None  # nothing the other tables do not show already
    several_seeds = len({cell["seed"] for cell in results["cells"]}) > 1
    headers = ["Task", "Regime"] + (["Seed"] if several_seeds else []) + [_title(column) for column in columns]
    rows = []
    for (task, regime, seed), cells in _groups(results).items():
        head = [task, regime] + ([str(seed)] if several_seeds else [])
        rows.append(head + [_figure(results, cells, regime, column) for column in columns])
    return headers, rows


def _columns(results: Mapping[str, Any]) -> list[Column]:
    """The fixed columns some cell of the run has, then one column per Madsen check asked (with its random-word
    control beside it where the run has one)."""
    present = {name for cell in results["cells"] for name in cell["metrics"]}
    columns = [column for column in COLUMNS if column.metric in present]
    checks = sorted({cell["protocol"] for cell in results["cells"] if MADSEN in cell["metrics"]})
    for protocol in checks:
        beside = ("random", RANDOM_CONTROL) if _has(results, protocol, RANDOM_CONTROL) else None
        columns.append(Column(protocol, MADSEN, (protocol,), beside))
    return columns


def _has(results: Mapping[str, Any], protocol: str, metric: str) -> bool:
    return any(cell["protocol"] == protocol and metric in cell["metrics"] for cell in results["cells"])


def _title(column: Column) -> str:
    return f"{column.title} ({column.beside[0]})" if column.beside else column.title


def _groups(results: Mapping[str, Any]) -> dict[tuple[str, str, int], list[Mapping[str, Any]]]:
    """{(task, regime id, seed): its cells, own protocol first}."""
    groups: dict[tuple[str, str, int], list[Mapping[str, Any]]] = {}
    for cell in results["cells"]:
        groups.setdefault((cell["task"], cell["regime"], cell["seed"]), []).append(cell)
    for (_, regime, _), cells in groups.items():
        own = _own_protocol(results, regime)
        cells.sort(key=lambda c: (c["protocol"] != own, c["protocol"]))
    return groups


def _figure(results: Mapping[str, Any], cells: list[Mapping[str, Any]], regime: str, column: Column) -> str:
    if column.metric == MADSEN:  # one column per check: only that check's cell
        cells = [cell for cell in cells if cell["protocol"] == column.protocols[0]]
    cell = next((c for c in cells if column.metric in c["metrics"]), None)
    if cell is None:
        return MISSING if _applies(results, regime, column) else NOT_APPLICABLE
    shown = cell_figure(results, cell, column.metric)
    if column.beside and not shown.startswith(NOT_APPLICABLE):
        beside = (cell["metrics"].get(column.beside[1]) or {}).get("value")
        shown += f" ({column.beside[0]} {number(beside)})" if beside is not None else ""
    return shown


def _regime_name(results: Mapping[str, Any], regime: str) -> str:
    return ((results.get("regimes") or {}).get(regime) or {}).get("name") or regime


def _own_protocol(results: Mapping[str, Any], regime: str) -> str | None:
    from faithex.regimes import REGIMES

    name = _regime_name(results, regime)
    return REGIMES.get(name).default_protocol if name in REGIMES else None


def _applies(results: Mapping[str, Any], regime: str, column: Column) -> bool:
    """Whether a protocol of the column can ask the regime (unknown regimes, a user's own: assume it can)."""
    from faithex.protocols import PROTOCOLS
    from faithex.regimes import REGIMES

    name = _regime_name(results, regime)
    if name not in REGIMES:
        return True
    regime_entry = REGIMES.get(name)
    names = [name for pattern in column.protocols for name in fnmatch.filter(PROTOCOLS.names(), pattern)]
    return any(PROTOCOLS.get(name).supports(regime_entry) for name in names)


# -- the figure: per task and regime, each causal test's rate with its interval and its baseline --------------------
#: (label, metric, baseline metric drawn as a black tick on the bar, or None)
FIGURE_BARS = (
    ("answer follows", "mistake_answer_follow", "mistake_answer_ignore_baseline"),
    ("expl. follows", "mistake_explanation_follow", "mistake_explanation_ignore_baseline"),
    ("no-change kept", "mistake_nochange_keep", None),
    ("conflict: steps", "mistake_conflict_follow", None),
    ("filler acc.", "filler_accuracy", "gold_reasoning_accuracy"),
    ("early AOC", "early_answering_aoc", None),
    ("paraphrase kept", "paraphrase_answer_keep", None),
    ("label follows donor", "explanation_donor_follow", "explanation_donor_ignore_baseline"),
    ("shuffle kept", "explanation_shuffle_keep", None),
    ("empty changes", "explanation_empty_change", None),
)


def figure_groups(results: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """{"task / regime (protocol)": cell} of the cells that hold some bar of the figure."""
    metrics = {metric for _, metric, _ in FIGURE_BARS}
    return {f"{c['task']} / {c['regime']} ({c['protocol']})" + (f" s{c['seed']}" if c["seed"] else ""): c
            for c in results["cells"] if metrics & set(c["metrics"])}


def battery_figure(results: Mapping[str, Any], path: str | Path | None = None):
    """One panel per task and regime asked with an intervention: each test's rate (95% interval), the rate it is read
    against as a black tick (the ignore-the-reasoning baseline, the gold reasoning's accuracy); `n/a` where the
    guards call the classifier untrained. Returns the matplotlib Figure; writes a PNG to `path` when given."""
    from matplotlib.figure import Figure

    from faithex.analysis.plots import plain
    from faithex.report.applicable import not_applicable

    groups = figure_groups(results)
    fig = Figure(figsize=(4.2 * max(1, len(groups)), 3.8))
    axes = fig.subplots(1, max(1, len(groups)), squeeze=False, sharey=True)
    for ax, (title, cell) in zip(axes[0], groups.items()):
        bars = [(label, metric, base) for label, metric, base in FIGURE_BARS if metric in cell["metrics"]]
        for x, (label, metric, base) in enumerate(bars):
            entry = cell["metrics"][metric]
            if not_applicable(results, cell, metric) or entry.get("value") is None:
                ax.text(x, 0.0, "n/a", rotation=90, ha="center", va="bottom", fontsize=7, color="dimgray")
                continue
            value = entry["value"]
            low, high = entry.get("low", value), entry.get("high", value)
            ax.bar(x, value, 0.7, yerr=[[value - low], [high - value]], capsize=2, color="tab:blue")
            reference = (cell["metrics"].get(base) or {}).get("value") if base else None
            if reference is not None:
                ax.hlines(reference, x - 0.35, x + 0.35, colors="black", linewidth=2)
        ax.set_xticks(range(len(bars)), [label for label, _, _ in bars], rotation=45, ha="right", fontsize=8)
        ax.set_title(plain(title), fontsize=8)
        ax.set_ylim(0, 1.05)
    axes[0][0].set_ylabel("rate (black: baseline)")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
