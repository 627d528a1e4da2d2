"""Write teacher explanations for a task's labelled examples: a model (the teacher) is given each input and its
gold label and asked for one or two sentences on why the label fits. One JSON line per example, appended per batch;
a rerun with the same --out continues where it stopped. Use the file in an experiment with
`explanations: <file>` (docs/explanations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from faithex.cli.common import RichReporter, console, handle_user_errors, parse_params

NAME = "annotate"


@handle_user_errors
def command(
    task: str = typer.Option(..., "--task", help="task name (see `faithex tasks`)"),
    param: list[str] = typer.Option(None, "--param", "-p", help="task parameter key=value (repeatable)"),
    split: str = typer.Option("train", help="split to annotate"),
    n: int = typer.Option(None, "--n", min=1, help="examples to annotate (default: the whole split of a dataset)"),
    seed: int = typer.Option(0, help="data seed (an experiment's `seed`: it picks the split)"),
    model: str = typer.Option("default", help="teacher: HF id, local folder or .gguf (default: bundled SmolLM2)"),
    out: Path = typer.Option(..., "--out", "--output", "-o", help="annotations JSONL (resumed when it exists)"),
    batch_size: int = typer.Option(8, min=1, help="examples per generation batch"),
    max_new_tokens: int = typer.Option(48, min=1, help="longest explanation, in tokens"),
    precision: str = typer.Option("auto", help="'auto', 'bf16' or 'fp32'"),
) -> None:
    from faithex.explanations.teacher import annotate, annotated_ids
    from faithex.io import writable_file
    from faithex.lm.models import check_model, choose_precision, load_model
    from faithex.tasks import get_task

    instance = get_task(task, seed=seed, **parse_params(param))
    examples = task_examples(instance, n, split)
    done = annotated_ids(writable_file(out), teacher=model)  # refuses a file that is not (these) annotations
    todo = sum(e.id not in done for e in examples)
    if not todo:
        console.print(f"{out}: all {len(examples)} examples already annotated")
        return
    check_model(model)
    precision = choose_precision(precision)
    reporter = RichReporter()
    reporter.message(f"loading the teacher ({model})")
    loaded = load_model(model)
    advance = reporter.progress("annotating", total=todo)
    try:
        written = annotate(loaded.model, loaded.tokenizer, instance, examples, out, teacher=model,
                           batch_size=batch_size, max_new_tokens=max_new_tokens, precision=precision,
                           on_batch=advance)
    finally:
        reporter.done()
    console.print(f"{out}: {written} new explanations ({len(examples) - written} already there)")


def task_examples(instance: Any, n: int | None, split: str) -> list[Any]:
    """The examples to annotate: `n` of `split`, or the whole split of a fixed dataset."""
    from faithex.errors import ConfigError
    from faithex.tasks.splits import FixedDatasetTask

    if n is None and not isinstance(instance, FixedDatasetTask):
        raise ConfigError(f"task '{instance.name}' generates its examples: say how many with --n")
    return instance.examples(n, split)
