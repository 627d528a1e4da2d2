"""Run an experiment YAML (tasks x regimes x protocols x seeds) into a run directory; work already done is reused."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import RichReporter, console, handle_user_errors

NAME = "run"


@handle_user_errors
def command(
    experiment: Path = typer.Argument(..., help="experiment YAML file"),
    out: Path = typer.Option(Path("runs"), help="parent folder of the run directory"),
    model: str = typer.Option(None, help="HF id, local folder or .gguf (default: the experiment's model)"),
    seed: int = typer.Option(None, help="override the experiment's seed"),
) -> None:
    from faithex.runner import load_experiment

    spec = load_experiment(experiment, {"model": model, "seed": seed})
    run_and_report(spec, out / spec.name)


def run_and_report(spec, run_dir: Path) -> dict:
    """Run `spec`, then write report.md (every table; paper 1's figure where the run has paper-1 cells)."""
    from rich.console import Console

    from faithex.io import atomic_write_text
    from faithex.report import depth_figure, markdown_table, paper1_figure, rich_tables
    from faithex.report.plots import depth_cells, paper1_cells
    from faithex.runner import run_experiment

    results = run_experiment(spec, run_dir, RichReporter())
    report = f"# {spec.name}\n\n{markdown_table(results)}"
    if paper1_cells(results):
        paper1_figure(results, run_dir / "paper1.png")
        report += "\n![paper 1: accuracy and alignment](paper1.png)\n"
    if depth_cells(results):
        depth_figure(results, run_dir / "depth.png")
        report += "\n![paper 1: accuracy against tree depth](depth.png)\n"
    atomic_write_text(run_dir / "report.md", report)
    # wide enough for the tables in logs and CI; no markup: titles hold the experiment's name as the user wrote it
    wide = Console(stderr=True, width=200, markup=False, highlight=False)
    for table in rich_tables(results):
        wide.print(table)
    console.print(f"run directory: {run_dir} ({results['seconds']} s)")
    return results
