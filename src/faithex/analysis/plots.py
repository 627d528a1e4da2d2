"""Figures of a layer analysis: entropy, activation entropy and label-token ranks per layer; with a second
analysis, both drawn together over a row of differences."""

from __future__ import annotations

import os
from pathlib import Path

from faithex.analysis.result import LayerAnalysis

PANELS = [("entropy", "next-token entropy (nats)"), ("activation_entropy", "MLP activation entropy (nats)"),
          ("label_rank", "rank of label's first token")]


def layer_figure(analysis: LayerAnalysis, other: LayerAnalysis | None = None):
    """One row of three panels per analysis kind: the values (both analyses when `other` is given) and, when
    comparing or when `analysis` is a difference, the signed differences."""
    # A bare Figure, not pyplot: no display or global backend is touched (Agg renders it when saved).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = 2 if other is not None else 1
    fig = Figure(figsize=(13, 3.6 * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, len(PANELS), squeeze=False)
    if analysis.kind == "difference":
        _draw_differences(axes[0], analysis)
    else:
        _draw_values(axes[0], analysis, "-")
        if other is not None:
            _draw_values(axes[0], other, "--")
            _draw_differences(axes[1], analysis.difference(other))
    title = analysis.description if other is None else f"{analysis.description} (solid) vs {other.description} (dashed)"
    fig.suptitle(plain(f"{title}: {_scope(analysis)}"), fontsize=10)
    fig.tight_layout()
    return fig


def _draw_values(axes, analysis: LayerAnalysis, style: str) -> None:
    name = analysis.description
    axes[0].plot(analysis.layers, analysis.entropy, style, color="C0", label=plain(name))
    axes[1].plot(analysis.layers, analysis.activation_entropy, style, color="C1", label=plain(name))
    for j, label in enumerate(analysis.labels):
        axes[2].plot(analysis.layers, analysis.label_rank[label], style, color=f"C{j + 2}",
                     label=plain(f"{label} ({name})"))
    axes[2].set_yscale("log")
    for ax, (_, ylabel) in zip(axes, PANELS):
        _layer_axis(ax, ylabel)
        ax.legend(fontsize=7)


def _draw_differences(axes, difference: LayerAnalysis) -> None:
    axes[0].plot(difference.layers, difference.entropy, color="C0")
    axes[1].plot(difference.layers, difference.activation_entropy, color="C1")
    for j, label in enumerate(difference.labels):
        axes[2].plot(difference.layers, difference.label_rank[label], color=f"C{j + 2}", label=plain(label))
    axes[2].set_yscale("symlog", linthresh=1)  # signed rank differences span several orders of magnitude
    axes[2].legend(fontsize=7)
    for ax, (_, ylabel) in zip(axes, PANELS):
        ax.axhline(0, color="black", linewidth=0.8)
        _layer_axis(ax, f"difference: {ylabel}")


def _layer_axis(ax, ylabel: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are whole numbers
    ax.set_xlabel("layer")
    ax.set_ylabel(ylabel, fontsize=9)


def _scope(analysis: LayerAnalysis) -> str:
    return f"{analysis.task}, n={analysis.n}" if analysis.task else f"n={analysis.n}"


def plain(text: str) -> str:
    """`text` drawn as written: a label such as "$5 off$" from a dataset is not read as matplotlib math."""
    return text.replace("$", r"\$")


def save_figure(fig, path_stem: str | Path) -> list[Path]:
    """`<path_stem>.png` and `.svg`, each written whole and renamed (never half an image)."""
    from faithex.io import writable_file

    paths = []
    for suffix in (".png", ".svg"):
        path = writable_file(Path(f"{path_stem}{suffix}"))
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.partial{suffix}")
        fig.savefig(staging, dpi=120)
        os.replace(staging, path)
        paths.append(path)
    return paths
