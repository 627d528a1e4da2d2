"""Write report.md and report.html for a run directory from its results.json and samples: the tables, the
figures of each paper the run has data for, and a viewer of every example (docs/report.md). `faithex run` and
`faithex demo` write them at the end; use this after `faithex evaluate`, or to add layer analyses or attribution
files put in the run directory later."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import console, handle_user_errors

NAME = "report"


@handle_user_errors
def command(run_dir: Path = typer.Argument(..., help="a run directory (with results.json)")) -> None:
    from faithex.report import write_reports

    markdown, html = write_reports(run_dir)
    console.print(f"wrote {markdown} and {html}", markup=False)
