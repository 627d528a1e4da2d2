"""Run an experiment YAML (tasks x configurations) into a run directory; work already done is reused."""

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
    from faithex.experiments import load_experiment

    spec = load_experiment(experiment, {"model": model, "seed": seed})
    run_and_report(spec, out / spec.name)


def run_and_report(spec, run_dir: Path) -> dict:
    from faithex.experiments import run_experiment
    from faithex.io import atomic_write_text
    from faithex.report import markdown_table, paper1_figure, rich_table

    results = run_experiment(spec, run_dir, RichReporter())
    paper1_figure(results, run_dir / "paper1.png")
    report = f"# {spec.name}\n\n{markdown_table(results)}\n![paper 1: accuracy and alignment](paper1.png)\n"
    atomic_write_text(run_dir / "report.md", report)
    from rich.console import Console

    Console(stderr=True, width=200).print(rich_table(results))  # wide enough for the table in logs and CI
    console.print(f"run directory: {run_dir} ({results['seconds']} s)")
    return results
