"""Paper 1's results as a figure: per task, answer accuracy, explanation accuracy and alignment of each
configuration, with 95% bootstrap intervals and the chance level, so the claim (alignment near 1 *and* accuracy
above chance) can be read at a glance. Where a figure is not applicable (an untrained cell's alignment or
faithfulness, a check its regime cannot pass: `faithex.report.applicable`), paper 1's and paper 3's figures draw
no bar and no colour but write `n/a`."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from faithex.analysis.plots import plain
from faithex.report.applicable import not_applicable
from faithex.report.numbers import number

#: Written where a figure is not applicable (an untrained cell's faithfulness or alignment, a check its regime cannot
#: pass): no bar, no colour, so nothing reads as a measured 0.
NOT_APPLICABLE = "n/a"

#: (legend label, metric) drawn as one bar each per configuration
PAPER1_BARS = [("answer acc.", "answer_accuracy"), ("explanation acc.", "explanation_accuracy"),
               ("alignment", "alignment_rate")]


def _value(metrics: dict[str, Any], name: str) -> tuple[float, float, float]:
    m = metrics.get(name) or {}
    value = m.get("value")
    if value is None or math.isnan(value):
        return 0.0, 0.0, 0.0
    return value, value - m.get("low", value), m.get("high", value) - value


def _shown(results: dict[str, Any], cell: dict[str, Any] | None, name: str) -> tuple[float, float, float] | None:
    """`_value` of the cell's metric (zeros without the cell); None where the figure is not applicable."""
    if cell is None:
        return 0.0, 0.0, 0.0
    if name in cell["metrics"] and not_applicable(results, cell, name):
        return None
    return _value(cell["metrics"], name)


def _bars(ax, positions: list[float], values: list[tuple[float, float, float] | None], width: float, **style):
    """Bars with their 95% intervals; `n/a` written, small and grey, where a value is None (no bar)."""
    drawn = [v or (0.0, 0.0, 0.0) for v in values]
    ax.bar(positions, [v for v, _, _ in drawn], width, yerr=[[lo for _, lo, _ in drawn], [hi for _, _, hi in drawn]],
           capsize=2, **style)
    for x, value in zip(positions, values):
        if value is None:
            ax.text(x, 0.0, NOT_APPLICABLE, rotation=90, ha="center", va="bottom", fontsize=7, color="dimgray")


def paper1_cells(results: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """{task: {regime (with its seed when there are several): cell}} of the cells asked with paper 1's protocols."""
    several_seeds = len({c["seed"] for c in results["cells"]}) > 1
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for cell in results["cells"]:
        if cell["protocol"] in ("direct", "two_step"):
            name = f"{cell['regime']} s{cell['seed']}" if several_seeds else cell["regime"]
            out.setdefault(cell["task"], {})[name] = cell
    return out


def paper1_figure(results: dict[str, Any], path: str | Path | None = None):
    """One panel per task; returns the matplotlib Figure and writes it to `path` (PNG) when given."""
    # A bare Figure, not pyplot: no display or global backend is touched (safe in scripts, servers and notebooks).
    from matplotlib.figure import Figure

    tasks = paper1_cells(results)
    fig = Figure(figsize=(4.5 * max(1, len(tasks)), 3.6))
    axes = fig.subplots(1, max(1, len(tasks)), squeeze=False, sharey=True)
    width = 0.8 / len(PAPER1_BARS)
    for ax, (task_name, cells) in zip(axes[0], tasks.items()):
        configs = list(cells)
        for k, (label, metric) in enumerate(PAPER1_BARS):
            values = [_shown(results, cells[c], metric) for c in configs]
            _bars(ax, [i + (k - 1) * width for i in range(len(configs))], values, width, label=label)
        ax.axhline(results["tasks"][task_name]["chance_level"], color="black", linestyle="--", linewidth=1,
                   label="chance")
        ax.set_xticks(range(len(configs)), configs, rotation=20, ha="right", fontsize=8)
        ax.set_title(task_name, fontsize=10)
        ax.set_ylim(0, 1.05)
    axes[0][0].set_ylabel("rate (95% CI)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)  # below: no bar hidden
    fig.suptitle(f"{results['experiment']}: paper 1 (reasoning-grounded explanations)", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _saved(fig, path)


def _saved(fig, path: str | Path | None):
    if path is not None:
        path = Path(path)
        staging = path.with_name(f".{path.name}.partial.png")  # written whole, then renamed: never a half image
        fig.savefig(staging, dpi=120)
        os.replace(staging, path)
    return fig


#: (line label, regime, metric) of paper 1's depth figure
DEPTH_LINES = [("answers, with reasoning", "joint_reasoning", "answer_accuracy"),
               ("explanations, with reasoning", "joint_reasoning", "explanation_accuracy"),
               ("answers, without", "joint", "answer_accuracy"),
               ("explanations, without", "joint", "explanation_accuracy")]


def depth_cells(results: dict[str, Any]) -> dict[int, dict[str, dict[str, Any]]]:
    """{comparisons: {regime: cell}} of decision-tree tasks asked with paper 1's protocols, when the run holds
    trees of at least two depths with both `joint` and `joint_reasoning` (paper 1's depth study); else {}."""
    by_depth: dict[int, dict[str, dict[str, Any]]] = {}
    for task_key, cells in paper1_cells(results).items():
        task = results["tasks"][task_key]
        comparisons = (task.get("params") or {}).get("comparisons")
        if task.get("name") == "decision_tree" and comparisons and {"joint", "joint_reasoning"} <= set(cells):
            by_depth[int(comparisons)] = cells
    return dict(sorted(by_depth.items())) if len(by_depth) >= 2 else {}


def depth_figure(results: dict[str, Any], path: str | Path | None = None):
    """Paper 1's depth figure: answer and explanation accuracy against the tree's comparisons per path, with and
    without reasoning, 95% intervals as error bars; returns the Figure and writes it to `path` when given."""
    from matplotlib.figure import Figure

    cells = depth_cells(results)
    depths = list(cells)
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.subplots()
    for label, regime, metric in DEPTH_LINES:
        values = [_value(cells[d][regime]["metrics"], metric) for d in depths]
        ax.errorbar(depths, [v for v, _, _ in values], yerr=[[lo for _, lo, _ in values], [hi for _, _, hi in values]],
                    marker="o" if "answers" in label else "s", linestyle="-" if "with reasoning" in label else "--",
                    capsize=3, label=label)
    ax.set_xticks(depths)
    ax.set_xlabel("comparisons per path (tree depth)")
    ax.set_ylabel("accuracy (95% CI)")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"{results['experiment']}: accuracy against depth (paper 1)", fontsize=10)
    fig.tight_layout()
    return _saved(fig, path)


# -- paper 2: accuracy per regime ----------------------------------------------------------------------------------
LABEL_PROTOCOLS = ("score", "generate", "explain_then_score")


def label_cells(results: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """{task: {regime: [cells over seeds]}} of the cells asked with a label protocol (one protocol per regime: its
    first in the run), when some task has at least two regimes; else {}."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    chosen: dict[tuple[str, str], str] = {}
    for cell in results["cells"]:
        if cell["protocol"] not in LABEL_PROTOCOLS or "answer_accuracy" not in cell["metrics"]:
            continue
        protocol = chosen.setdefault((cell["task"], cell["regime"]), cell["protocol"])
        if cell["protocol"] == protocol:
            out.setdefault(cell["task"], {}).setdefault(cell["regime"], []).append(cell)
    return out if any(len(regimes) >= 2 for regimes in out.values()) else {}


def regime_accuracy_figure(results: dict[str, Any], path: str | Path | None = None):
    """Per task, answer accuracy of each regime: one dot per seed with its 95% interval, the mean over seeds as a
    bar, and the chance level."""
    from matplotlib.figure import Figure

    tasks = label_cells(results)
    fig = Figure(figsize=(max(4.5, 1.0 + 1.1 * max(len(r) for r in tasks.values())) * min(3, len(tasks)),
                          3.8 * math.ceil(len(tasks) / 3)))
    axes = fig.subplots(math.ceil(len(tasks) / 3), min(3, len(tasks)), squeeze=False)
    for ax, (task_name, regimes) in zip(axes.flat, tasks.items()):
        for i, (regime, cells) in enumerate(regimes.items()):
            values = [_value(c["metrics"], "answer_accuracy") for c in cells]
            ax.bar(i, sum(v for v, _, _ in values) / len(values), 0.6, color="#9cc3e6")
            offsets = [i + 0.12 * (k - (len(values) - 1) / 2) for k in range(len(values))]
            ax.errorbar(offsets, [v for v, _, _ in values], yerr=[[lo for _, lo, _ in values],
                                                                  [hi for _, _, hi in values]],
                        fmt="o", color="#1f4e79", markersize=3, capsize=2)
        ax.axhline(results["tasks"][task_name]["chance_level"], color="black", linestyle="--", linewidth=1)
        ax.set_xticks(range(len(regimes)), [plain(r) for r in regimes], rotation=25, ha="right", fontsize=8)
        ax.set_title(plain(task_name), fontsize=10)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("accuracy (95% CI)", fontsize=9)
    for ax in list(axes.flat)[len(tasks):]:
        ax.set_visible(False)
    fig.suptitle(plain(f"{results['experiment']}: accuracy per regime (bar: mean over seeds; dots: seeds; "
                       "dashed: chance)"), fontsize=10)
    fig.tight_layout()
    return _saved(fig, path)


# -- paper 3: faithfulness per task x style, and the generalisation grid -------------------------------------------
FAITHFULNESS = "self_consistency_faithfulness"


def faithfulness_cells(results: dict[str, Any]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """{task: {protocol: {regime: cell}}} of the self-consistency cells (the first seed of each)."""
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for cell in results["cells"]:
        if FAITHFULNESS in cell["metrics"]:
            out.setdefault(cell["task"], {}).setdefault(cell["protocol"], {}).setdefault(cell["regime"], cell)
    return out


def faithfulness_not_applicable(results: dict[str, Any], metric: str = FAITHFULNESS) -> bool:
    """Whether paper 3's figures of `metric` write `n/a` somewhere (their caption then says what it means)."""
    return any(_shown(results, cell, metric) is None for protocols in faithfulness_cells(results).values()
               for cells in protocols.values() for cell in cells.values())


def short_protocol(protocol: str) -> str:
    """`self_consistency_redaction_1word` -> `redaction 1word`."""
    return protocol.removeprefix("self_consistency_").replace("_", " ")


def faithfulness_figure(results: dict[str, Any], metric: str = FAITHFULNESS, path: str | Path | None = None):
    """Per task, `metric` of every regime for each self-consistency protocol (style, one word or not), 95% CIs."""
    from matplotlib.figure import Figure

    tasks = faithfulness_cells(results)
    regimes = list(dict.fromkeys(r for protocols in tasks.values() for cells in protocols.values() for r in cells))
    fig = Figure(figsize=(max(5.0, 1.2 * max(len(p) for p in tasks.values()) + 1.5), 3.4 * len(tasks)))
    axes = fig.subplots(len(tasks), 1, squeeze=False)
    width = 0.8 / len(regimes)
    for ax, (task_name, protocols) in zip(axes[:, 0], tasks.items()):
        names = list(protocols)
        for k, regime in enumerate(regimes):
            values = [_shown(results, protocols[p].get(regime), metric) for p in names]
            _bars(ax, [i + (k - (len(regimes) - 1) / 2) * width for i in range(len(names))], values, width,
                  label=plain(regime))
        ax.set_xticks(range(len(names)), [short_protocol(p) for p in names], fontsize=8)
        ax.set_title(plain(task_name), fontsize=10)
        ax.set_ylabel(metric.removeprefix("self_consistency_"), fontsize=9)
        ax.axhline(0, color="black", linewidth=0.6)
    axes[0][0].legend(fontsize=8, loc="upper right")
    fig.suptitle(plain(f"{results['experiment']}: {metric} per task and style (95% CI)"), fontsize=10)
    fig.tight_layout()
    return _saved(fig, path)


def generalisation_figure(results: dict[str, Any], metric: str = FAITHFULNESS, path: str | Path | None = None):
    """The grid: rows are regimes, columns task x protocol, each square `metric` (its value written in it), so
    transfer across styles and tasks reads off one picture; a square whose figure is not applicable is hatched and
    says `n/a`."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    tasks = faithfulness_cells(results)
    columns = [(t, p) for t, protocols in tasks.items() for p in protocols]
    regimes = list(dict.fromkeys(r for protocols in tasks.values() for cells in protocols.values() for r in cells))
    unreadable = {(i, j) for i, r in enumerate(regimes) for j, (t, p) in enumerate(columns)
                  if _shown(results, tasks[t][p].get(r), metric) is None}
    grid = [[None if (i, j) in unreadable else _grid_value(tasks[t][p].get(r), metric)
             for j, (t, p) in enumerate(columns)] for i, r in enumerate(regimes)]
    fig = Figure(figsize=(max(4.5, 2.5 + 0.9 * len(columns)), max(2.8, 1.6 + 0.45 * len(regimes))))
    ax = fig.subplots()
    # shares sit on one scale [0, 1]; the shift may be negative and is small: its own range shows it better
    share = metric != "self_consistency_shift"
    image = ax.imshow([[math.nan if v is None else v for v in row] for row in grid], cmap="viridis",
                      vmin=0 if share else None, vmax=1 if share else None, aspect="auto")
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            if (i, j) in unreadable:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="lightgray",
                                       linewidth=0))
            ax.text(j, i, NOT_APPLICABLE if (i, j) in unreadable else number(value, 2), ha="center", va="center",
                    fontsize=7, color="white" if value is not None and image.norm(value) < 0.5 else "black")
    ax.set_xticks(range(len(columns)), [plain(f"{t}\n{short_protocol(p)}") for t, p in columns], fontsize=7,
                  rotation=45, ha="right")
    ax.set_yticks(range(len(regimes)), [plain(r) for r in regimes], fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.03)
    ax.set_title(plain(f"{results['experiment']}: {metric}, regime x (task, style)"), fontsize=10)
    fig.tight_layout()
    return _saved(fig, path)


def _grid_value(cell: dict[str, Any] | None, metric: str) -> float | None:
    value = ((cell or {}).get("metrics", {}).get(metric) or {}).get("value")
    return None if value is None or math.isnan(value) else value
