"""Check an experiment YAML or a dataset JSONL; with --loss-mask, show which tokens carry the training loss."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import console, handle_user_errors

NAME = "validate"
REQUIRED_FIELDS = ("id", "input", "label", "labels")


@handle_user_errors
def command(
    path: Path = typer.Argument(..., help="experiment .yaml or dataset .jsonl"),
    loss_mask: bool = typer.Option(False, help="decode one collated training batch per configuration"),
) -> None:
    if path.suffix in (".yaml", ".yml"):
        from faithex.experiments import load_experiment

        spec = load_experiment(path)
        console.print(f"{path}: valid experiment '{spec.name}' ({len(spec.tasks)} task(s), "
                      f"configurations {', '.join(spec.configurations)})")
        if loss_mask:
            show_loss_masks(spec)
    elif path.suffix == ".jsonl":
        rows = validate_dataset(path)
        console.print(f"{path}: {len(rows)} valid examples")
    else:
        raise ValueError(f"{path}: expected a .yaml experiment or a .jsonl dataset")


def validate_dataset(path: Path) -> list[dict]:
    from faithex.io import DatasetError, read_jsonl

    rows = read_jsonl(path)
    if not rows:
        raise DatasetError(f"{path}: no examples")
    for number, row in enumerate(rows, 1):
        missing = [f for f in REQUIRED_FIELDS if f not in row]
        if missing:
            raise DatasetError(f"{path}: example {number} lacks field(s) {', '.join(missing)}")
        if not isinstance(row["input"], str) or not row["input"].strip():
            raise DatasetError(f"{path}: example {number} has an empty input text")
        if row["label"] not in row["labels"]:
            raise DatasetError(f"{path}: example {number} has label {row['label']!r}, not one of {row['labels']}")
    return rows


def show_loss_masks(spec) -> None:
    import tempfile

    from faithex.regimes import get_configuration, training_records
    from faithex.tasks import get_task
    from faithex.training import build_trainer, loss_mask_preview

    task_spec = spec.tasks[0]
    task = get_task(task_spec.name, seed=spec.seed, **task_spec.params)
    examples = task.examples(2, "train")
    for name in spec.configurations:
        records = training_records(get_configuration(name), task, examples, spec.system_prompt,
                                   icl_shots=task_spec.icl_shots, seed=spec.seed)
        for adapter, rows in records.items():
            with tempfile.TemporaryDirectory() as tmp:
                trainer, _ = build_trainer(spec.model, rows, spec.train_config(), tmp)
                for text, loss_text in loss_mask_preview(trainer, count=len(rows)):
                    console.print(f"[bold]{name}/{adapter}[/bold]\n  text: {text!r}\n  loss: {loss_text!r}")
