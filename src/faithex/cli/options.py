"""Options shared by `train` and `evaluate`: they describe a one-task experiment on the command line."""

from __future__ import annotations

from pathlib import Path

import typer

TASK = typer.Option("decision_tree", "--task", help="task name (see `faithex tasks`)")
REGIME = typer.Option(
    ["joint_reasoning"], "--regime", "--configuration", "-r", "-c",
    help="regime (paper 1 calls them configurations; repeatable)",
)
PROTOCOL = typer.Option(None, "--protocol", help="protocol asking the trained model (default: the regime's own)")
PARAM = typer.Option(None, "--param", "-p", help="task parameter key=value (repeatable)")
N_TRAIN = typer.Option(2000, min=1, help="training examples")
N_TEST = typer.Option(200, min=1, help="test examples")
MODEL = typer.Option("default", help="HF id, local folder or .gguf (default: bundled SmolLM2-135M-Instruct)")
SEED = typer.Option(0, help="seed of data, classifier and training")
OUT = typer.Option(Path("runs/cli"), help="run directory")
EPOCHS = typer.Option(1.0, help="training epochs")
LEARNING_RATE = typer.Option(5e-5, help="peak learning rate")
BATCH_SIZE = typer.Option(4, help="training batch size")
LOSS_ON = typer.Option("completion", help="'completion' (model turns only) or 'all' (whole text, as paper 1)")


def one_task_experiment(task, regimes, param, n_train, n_test, model, seed, out, train=None, protocols=None):
    from faithex.cli.common import parse_params
    from faithex.runner import parse_experiment

    data = {
        "name": Path(out).name,
        "model": model,
        "seed": seed,
        "tasks": [{"name": task, "params": parse_params(param), "n_train": n_train, "n_test": n_test}],
        "regimes": regimes,
        "protocols": protocols or None,
        "train": train or {},
    }
    return parse_experiment(data, source="command line")
