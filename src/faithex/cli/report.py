"""Write report.md and report.html for a run directory from its results.json and samples: the verdicts on the
papers' claims, the tables, the figures of each paper the run has data for, and a viewer of every example
(docs/report.md). The guards and verdicts are computed anew from results.json, items.json (the per-item values) and
config.yaml, and written back into results.json: a run made before a claim or a rule changed gets today's verdicts.
`faithex run` and `faithex demo` do all this at the end; use this after `faithex evaluate`, or to add layer analyses
or attribution files put in the run directory later."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import console, handle_user_errors

NAME = "report"


@handle_user_errors
def command(
    run_dir: Path = typer.Argument(..., help="a run directory (with results.json)"),
    html: bool = typer.Option(True, help="also write report.html (--no-html: results.json and report.md only, e.g. "
                                         "for a committed run whose samples were not kept)"),
) -> None:
    from faithex.report import write_reports
    from faithex.report.write import write_markdown_report

    results = judged_results(run_dir)
    if html:
        markdown, page = write_reports(run_dir, results)
        console.print(f"wrote {markdown} and {page}; verdicts in {run_dir / 'results.json'}", markup=False)
    else:
        markdown = write_markdown_report(Path(run_dir), results)
        console.print(f"wrote {markdown}; verdicts in {run_dir / 'results.json'}", markup=False)


def judged_results(run_dir: Path) -> dict:
    """The run's results with guards and verdicts recomputed, written back to its results.json."""
    import yaml

    from faithex.claims import judge, read_items
    from faithex.claims.analysis import analysis_pairs
    from faithex.errors import RunDirectoryError
    from faithex.io import write_json
    from faithex.report import Results
    from faithex.runner.rundir import RunDir

    folder = RunDir(run_dir)
    results = Results.load(run_dir).data
    try:
        config = yaml.safe_load(folder.config.read_text(encoding="utf-8")) if folder.config.is_file() else None
        items = read_items(folder.items)
    except (yaml.YAMLError, ValueError) as error:
        raise RunDirectoryError(f"{run_dir}: {error}") from None
    judge(results, config, items, Path(run_dir).name, analysis_pairs(folder.root))
    write_json(folder.results, results)
    return results
