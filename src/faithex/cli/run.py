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
    """Run `spec`, then write report.md (every table; paper 1's figures where the run has paper-1 cells) and
    report.html (docs/report.md)."""
    from rich.console import Console

    from faithex.report import rich_tables, write_reports
    from faithex.report.tables import untrained_cells, verdict_table
    from faithex.runner import run_experiment

    results = run_experiment(spec, run_dir, RichReporter())
    _, page = write_reports(run_dir, results)
    # wide enough for the tables in logs and CI; no markup: titles hold the experiment's name as the user wrote it
    wide = Console(stderr=True, width=200, markup=False, highlight=False)
    for table in rich_tables(results):
        wide.print(table)
    for line in untrained_cells(results):
        wide.print(f"warning: {line}")
    verdicts = verdict_table(results)
    if verdicts is not None:
        wide.print(verdicts)
    console.print(f"run directory: {run_dir} ({results['seconds']} s); report: {page}", markup=False)
    return results
