"""Paper 1's results as a figure: per task, answer accuracy, explanation accuracy and alignment of each
configuration, with 95% bootstrap intervals and the chance level, so the claim (alignment near 1 *and* accuracy
above chance) can be read at a glance."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

#: (legend label, metric) drawn as one bar each per configuration
PAPER1_BARS = [("answer acc.", "answer_accuracy"), ("explanation acc.", "explanation_accuracy"),
               ("alignment", "alignment_rate")]


def _value(metrics: dict[str, Any], name: str) -> tuple[float, float, float]:
    m = metrics.get(name) or {}
    value = m.get("value")
    if value is None or math.isnan(value):
        return 0.0, 0.0, 0.0
    return value, value - m.get("low", value), m.get("high", value) - value


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
            values = [_value(cells[c]["metrics"], metric) for c in configs]
            ax.bar([i + (k - 1) * width for i in range(len(configs))], [v for v, _, _ in values], width,
                   yerr=[[lo for _, lo, _ in values], [hi for _, _, hi in values]], capsize=2, label=label)
        ax.axhline(results["tasks"][task_name]["chance_level"], color="black", linestyle="--", linewidth=1, label="chance")
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
