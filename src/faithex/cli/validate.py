"""Check an experiment YAML (names, parameters, data, model) or a data file for the `dataset` task, without
training; with --loss-mask, show which tokens of the first training texts carry the loss."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import console, handle_user_errors, parse_params

NAME = "validate"
DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq")  # what the `dataset` task reads


@handle_user_errors
def command(
    path: Path = typer.Argument(..., help="experiment .yaml, or a .jsonl/.csv/.parquet data file"),
    param: list[str] = typer.Option(None, "--param", "-p",
                                    help="data file: a `dataset` task parameter key=value, e.g. text_column=review"),
    loss_mask: bool = typer.Option(False, help="decode one collated training batch per regime"),
) -> None:
    from faithex.errors import ConfigError

    if path.suffix in (".yaml", ".yml"):
        validate_experiment(path, loss_mask)
    elif path.suffix.lower() in DATA_SUFFIXES or path.is_dir():
        from faithex.tasks.dataset import check_dataset

        summary = check_dataset(path=str(path), **parse_params(param))
        splits = "; ".join(f"{split} {counts['total']} ({', '.join(f'{k} {v}' for k, v in counts['per_label'].items())})"
                           for split, counts in summary["splits"].items())
        console.print(f"{path}: valid data, labels {', '.join(summary['labels'])}: {splits}; "
                      f"test split: {summary['test_from']}")
    else:
        raise ConfigError(f"{path}: expected an experiment (.yaml) or a data file ({', '.join(DATA_SUFFIXES)})")


def validate_experiment(path: Path, loss_mask: bool) -> None:
    from faithex.lm.models import check_model
    from faithex.runner import load_experiment, prepare

    spec = load_experiment(path)
    check_model(spec.model)
    plan = prepare(spec, Path("runs") / spec.name, resolve=False)
    console.print(f"{path}: valid experiment '{spec.name}': {len(plan.tasks)} task(s), "
                  f"{len(plan.regimes)} regime(s), {len(plan.cells)} cell(s)")
    if loss_mask:
        show_loss_masks(plan)


def show_loss_masks(plan) -> None:
    import tempfile

    from rich.text import Text

    from faithex.training import build_trainer, loss_mask_preview

    for (task_key, regime_key), records in plan.records.items():
        for adapter, rows in records.items():
            rows = rows[:3]
            with tempfile.TemporaryDirectory() as tmp:
                config = plan.experiment.train_config(spec=plan.regimes[regime_key])
                trainer, _ = build_trainer(plan.experiment.model, rows, config, tmp)
                for text, loss_text in loss_mask_preview(trainer, count=len(rows)):
                    console.print(Text(f"{task_key}/{regime_key}/{adapter}\n  text: {text!r}\n  loss: {loss_text!r}"))
