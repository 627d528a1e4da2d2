"""Evaluate trained configurations on a task's test split and print paper 1's table."""

from __future__ import annotations

from pathlib import Path

from faithex.cli import options as o
from faithex.cli.common import RichReporter, console, handle_user_errors

NAME = "evaluate"


@handle_user_errors
def command(
    task: str = o.TASK, configuration: list[str] = o.CONFIGURATION, param: list[str] = o.PARAM,
    n_train: int = o.N_TRAIN, n_test: int = o.N_TEST, model: str = o.MODEL, seed: int = o.SEED,
    out: Path = o.OUT,
) -> None:
    from faithex.experiments import adapter_root, run_experiment

    spec = o.one_task_experiment(task, configuration, param, n_train, n_test, model, seed, out)
    for name in spec.configurations:
        root = adapter_root(out, task, name)
        if not any(root.glob("*/adapter_config.json")):
            raise FileNotFoundError(f"no trained adapters in {root}: run `faithex train` first")
    from faithex.report import rich_table

    results = run_experiment(spec, out, RichReporter())
    console.print(rich_table(results))
