"""Layer analysis of a trained classifier (paper 2): logit-lens entropy, label-token ranks and MLP activation entropy
per layer at the decision position, on the run's test examples; optionally against another classifier or the base
model. Writes analysis.json and layers.png/.svg to --out and prints the table."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import RichReporter, console, handle_user_errors

NAME = "analyze"


@handle_user_errors
def command(
    trained: Path = typer.Argument(..., help="run directory, or a training or adapter folder inside one"),
    task: str = typer.Option(None, help="task id, when the run directory holds several"),
    regime: str = typer.Option(None, "--regime", "-r", help="regime id, when the run directory holds several"),
    seed: int = typer.Option(None, help="training seed, when the run directory holds several"),
    against: str = typer.Option(
        None, help="compare with: 'base' (the base model, same prompts), another run or adapter folder, or another "
                   "regime id of the same run"),
    n: int = typer.Option(200, "--n", min=1, help="test examples (the first n of the run's test set)"),
    out: Path = typer.Option(..., "--out", "-o", help="folder for analysis.json and the plots"),
    batch_size: int = typer.Option(16, min=1, help="prompts per forward pass"),
    precision: str = typer.Option("auto", help="'auto', 'bf16' or 'fp32'"),
) -> None:
    from rich.console import Console

    from faithex.analysis import analyze_run
    from faithex.io import writable_folder

    folder = writable_folder(out)
    # Both sides are found (or refused) before any model loads.
    count = examples_to_analyse(trained, task, regime, seed, n)
    other_spec = resolve_against(against, trained, regime) if against else None
    other_count = examples_to_analyse(other_spec[0], task, other_spec[1], seed, n) if other_spec else 0
    reporter = RichReporter()
    run = dict(batch_size=batch_size, precision=precision)
    try:
        analysis = analyze_run(trained, task, regime, seed, n, on_batch=reporter.progress("analysing", count), **run)
        other = None
        if other_spec is not None:
            path, other_regime, base = other_spec
            other = analyze_run(path, task, other_regime, seed, n, base=base,
                                on_batch=reporter.progress(f"analysing {against}", other_count), **run)
    finally:
        reporter.done()
    table = Console(markup=False, highlight=False, emoji=False)
    analysis.show(table)
    written = [analysis.save(folder / "analysis.json")]
    if other is not None:
        difference = analysis.difference(other)
        difference.show(table)
        written += [other.save(folder / "against.json"), difference.save(folder / "difference.json")]
    written += analysis.plot(folder / "layers", other=other)
    console.print("wrote " + ", ".join(str(p) for p in written))


def examples_to_analyse(path: Path, task: str | None, regime: str | None, seed: int | None, n: int) -> int:
    """How many test examples the analysis of the classifier in `path` will use (refused when there is none)."""
    from faithex.analysis.run import find_analysable, test_examples

    classifier = find_analysable(path, task, regime, seed)
    return min(n, len(test_examples(classifier, path)))


def resolve_against(against: str, trained: Path, regime: str | None) -> tuple[Path, str | None, bool]:
    """(path, regime filter, base?) of what --against names: 'base', a path, or a regime id of the run `trained`."""
    from faithex.errors import RunDirectoryError

    if against == "base":
        return trained, regime, True
    if Path(against).exists():
        return Path(against), regime, False
    if (trained / "config.yaml").is_file():
        from faithex.runner import load_experiment

        regimes = [spec.key for spec in load_experiment(trained / "config.yaml").regime_specs()]
        if against in regimes:
            return trained, against, False
        raise RunDirectoryError(f"--against {against}: neither 'base', an existing path, nor a regime of {trained} "
                                f"({', '.join(regimes)})")
    raise RunDirectoryError(f"--against {against}: neither 'base' nor an existing run or adapter folder")
