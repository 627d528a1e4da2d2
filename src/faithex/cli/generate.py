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
    from faithex.io import writable_file, write_jsonl
    from faithex.tasks import get_task

    instance = get_task(task, seed=seed, **parse_params(param))
    paths = {split: writable_file(out / f"{task}-{split}.jsonl") for split in ("train", "test")}
    # Both splits are built before either is written: a refused test split leaves no train file behind.
    examples = {split: instance.examples(n, split) for split, n in (("train", n_train), ("test", n_test))}
    for split, rows in examples.items():
        write_jsonl(paths[split], [e.to_dict() for e in rows])
        console.print(f"wrote {len(rows)} examples to {paths[split]}")
