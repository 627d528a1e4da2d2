"""Train the LoRA adapters of regimes on one task (TRL SFTTrainer + PEFT); `faithex evaluate` then asks them."""

from __future__ import annotations

from pathlib import Path

from faithex.cli import options as o
from faithex.cli.common import RichReporter, console, handle_user_errors

NAME = "train"


@handle_user_errors
def command(
    task: str = o.TASK, regime: list[str] = o.REGIME, param: list[str] = o.PARAM,
    n_train: int = o.N_TRAIN, n_test: int = o.N_TEST, model: str = o.MODEL, seed: int = o.SEED,
    out: Path = o.OUT, epochs: float = o.EPOCHS, learning_rate: float = o.LEARNING_RATE,
    batch_size: int = o.BATCH_SIZE, loss_on: str = o.LOSS_ON,
) -> None:
    from faithex.runner.run import prepare, train_all

    train = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size, "loss_on": loss_on}
    spec = o.one_task_experiment(task, regime, param, n_train, n_test, model, seed, out, train)
    for (task_key, regime_key, _), records in train_all(prepare(spec, out), RichReporter()).items():
        for adapter, t in records.items():
            console.print(f"{task_key} / {regime_key} / {adapter}: {t['steps']} steps, {t['seconds']} s, "
                          f"{t['tokens_per_second']} tokens/s")
