"""Train the LoRA adapters of paper 1 configurations on one task (TRL SFTTrainer + PEFT)."""

from __future__ import annotations

from pathlib import Path

from faithex.cli import options as o
from faithex.cli.common import RichReporter, console, handle_user_errors

NAME = "train"


@handle_user_errors
def command(
    task: str = o.TASK, configuration: list[str] = o.CONFIGURATION, param: list[str] = o.PARAM,
    n_train: int = o.N_TRAIN, n_test: int = o.N_TEST, model: str = o.MODEL, seed: int = o.SEED,
    out: Path = o.OUT, epochs: float = o.EPOCHS, learning_rate: float = o.LEARNING_RATE,
    batch_size: int = o.BATCH_SIZE, loss_on: str = o.LOSS_ON,
) -> None:
    from faithex.experiments import task_data, train_configuration
    from faithex.models import resolve_model
    from faithex.regimes import get_configuration

    train = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "loss_on": loss_on}
    spec = o.one_task_experiment(task, configuration, param, n_train, n_test, model, seed, out, train)
    task_spec = spec.tasks[0]
    instance, train_examples, _ = task_data(spec, task_spec, out)
    for name in spec.configurations:
        timings = train_configuration(spec, task_spec, instance, train_examples, get_configuration(name),
                                      resolve_model(spec.model), out, RichReporter())
        for adapter, t in timings.items():
            console.print(f"{name}/{adapter}: {t['steps']} steps, {t['seconds']} s, {t['tokens_per_second']} tokens/s")
