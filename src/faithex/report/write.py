"""report.md and report.html of a run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faithex.io import atomic_write_text
from faithex.report.battery import battery_figure, figure_groups
from faithex.report.plots import depth_cells, depth_figure, paper1_cells, paper1_figure
from faithex.report.tables import markdown_cell, markdown_table, untrained_cells, untrained_title, verdict_markdown


def write_markdown_report(run_dir: Path, results: dict[str, Any]) -> Path:
    """report.md: the verdicts on the papers' claims where the run has some, every table, the untrained cells, and
    paper 1's and the battery's figures (PNG beside it) where the run has their cells."""
    verdicts = verdict_markdown(results)
    report = f"# {results['experiment']}\n\n"
    report += f"{verdicts}\n## Tables\n\n" if verdicts else ""
    report += markdown_table(results)
    untrained = untrained_cells(results)
    if untrained:
        report += f"\n**{untrained_title(results)}**\n\n"
        report += "".join(f"- {markdown_cell(line)}\n" for line in untrained)
    if paper1_cells(results):
        paper1_figure(results, run_dir / "paper1.png")
        report += "\n![paper 1: accuracy and alignment](paper1.png)\n"
    if depth_cells(results):
        depth_figure(results, run_dir / "depth.png")
        report += "\n![paper 1: accuracy against tree depth](depth.png)\n"
    if figure_groups(results):
        battery_figure(results, run_dir / "battery.png")
        report += "\n![the faithfulness battery: does the decision follow?](battery.png)\n"
    path = run_dir / "report.md"
    atomic_write_text(path, report)
    return path


def write_reports(run_dir: str | Path, results: dict[str, Any] | None = None) -> tuple[Path, Path]:
    """report.md and report.html of `run_dir` (its results.json unless `results` is given)."""
    from faithex.report.html import render
    from faithex.report.results import Results

    run_dir = Path(run_dir)
    results = results if results is not None else Results.load(run_dir).data
    markdown = write_markdown_report(run_dir, results)
    page, _ = render(results, run_dir)
    html = run_dir / "report.html"
    atomic_write_text(html, page)
    return markdown, html
