"""Generate a task's train and test splits as JSONL (same seed, same bytes)."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import console, handle_user_errors, parse_params

NAME = "generate"


@handle_user_errors
def command(
    task: str = typer.Argument(..., help="task name (see `faithex tasks`)"),
    n_train: int = typer.Option(2000, min=0, help="training examples"),
    n_test: int = typer.Option(200, min=0, help="test examples"),
    seed: int = typer.Option(0, help="seed of the classifier and the samples"),
    param: list[str] = typer.Option(None, "--param", "-p", help="task parameter key=value (repeatable)"),
    out: Path = typer.Option(Path("data"), help="output folder"),
) -> None:
    from faithex.io import write_jsonl
    from faithex.tasks import get_task

    instance = get_task(task, seed=seed, **parse_params(param))
    for split, n in (("train", n_train), ("test", n_test)):
        path = out / f"{task}-{split}.jsonl"
        write_jsonl(path, [e.to_dict() for e in instance.examples(n, split)])
        console.print(f"wrote {n} examples to {path}")
