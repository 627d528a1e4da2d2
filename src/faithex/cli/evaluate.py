"""Evaluate the regimes `faithex train` trained in a run directory, and print the results tables."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli import options as o
from faithex.cli.common import RichReporter, console, handle_user_errors

NAME = "evaluate"


@handle_user_errors
def command(
    out: Path = o.OUT,
    regime: list[str] = typer.Option(None, "--regime", "--configuration", "-r", "-c",
                                     help="evaluate only these regimes of the run (repeatable)"),
    protocol: list[str] = o.PROTOCOL,
) -> None:
    from faithex.errors import RunDirectoryError
    from faithex.report import rich_tables
    from faithex.runner import load_experiment, prepare
    from faithex.runner.run import run_plan, untrained
    from faithex.runner.rundir import RunDir

    config = RunDir(out).config
    if not config.is_file():
        raise RunDirectoryError(f"no experiment in {out} (no config.yaml): run `faithex train --out {out}` first")
    plan = prepare(load_experiment(config, {"protocols": protocol or None}), out)
    if regime:
        unknown = sorted(set(regime) - set(plan.regimes))
        if unknown:
            raise RunDirectoryError(f"regime '{unknown[0]}' is not in {out} (it has {', '.join(plan.regimes)})")
        plan.cells = [cell for cell in plan.cells if cell.regime in regime]
    missing = untrained(plan)
    if missing:
        raise RunDirectoryError(f"no trained adapters in {missing[0]}: run `faithex train` first")
    results = run_plan(plan, RichReporter())
    for table in rich_tables(results):
        console.print(table)
