"""Paper 2: accuracy per regime (every label-scored run with two or more regimes on a task), and the layer
analyses `faithex analyze --out` wrote inside the run directory (entropy, activation entropy, label ranks)."""

from __future__ import annotations

from pathlib import Path

from faithex.report.html import ReportContext, text
from faithex.report.plots import label_cells, regime_accuracy_figure
from faithex.report.sections import register_section

ANALYSIS_FILE = "analysis.json"
AGAINST_FILE = "against.json"


@register_section("paper2", "Accuracy per regime, and inside the model (paper 2)", order=30)
def paper2(context: ReportContext) -> str | None:
    parts = []
    if label_cells(context.results):
        parts.append(context.figure(regime_accuracy_figure(context.results), "regime-accuracy",
                                    "Answer accuracy per regime and task: bar, the mean over seeds; dots, each seed "
                                    "with its 95% interval; dashed, chance."))
    for folder in _analysis_folders(context.run_dir):
        parts.append(_layers(context, folder))
    return "\n".join(parts) or None


def _analysis_folders(run_dir: Path | None) -> list[Path]:
    """Folders with an analysis.json, at most two levels below the run directory."""
    if run_dir is None:
        return []
    found = [*run_dir.glob(f"*/{ANALYSIS_FILE}"), *run_dir.glob(f"*/*/{ANALYSIS_FILE}")]
    return sorted(path.parent for path in found)


def _layers(context: ReportContext, folder: Path) -> str:
    from faithex.analysis import LayerAnalysis
    from faithex.analysis.plots import layer_figure

    analysis = LayerAnalysis.load(folder / ANALYSIS_FILE)
    against = LayerAnalysis.load(folder / AGAINST_FILE) if (folder / AGAINST_FILE).is_file() else None
    name = folder.relative_to(context.run_dir).as_posix() if context.run_dir else folder.name
    caption = (f"Layer analysis in {name}: next-token entropy, MLP activation entropy and the rank of each "
               "label's first token per layer (logit lens at the decision position)"
               + (", against the second analysis, with the differences below." if against else "."))
    return f"<h3>{text(name)}</h3>" + context.figure(layer_figure(analysis, against), f"layers-{folder.name}", caption)
