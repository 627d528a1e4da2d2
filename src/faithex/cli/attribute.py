"""Word attribution: which words of each input make the model answer its label. Prints a heat map of the words
(green: supports the target label, red: opposes it) and writes the scores as JSON with --out."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import RichReporter, console, handle_user_errors, parse_params

NAME = "attribute"


@handle_user_errors
def command(
    task: str = typer.Option(None, "--task", help="task name (see `faithex tasks`); a run directory gives its own"),
    n: int = typer.Option(5, "--n", min=1, help="examples to attribute"),
    split: str = typer.Option("test", help="split the examples are drawn from"),
    text: list[str] = typer.Option(None, "--text", help="attribute this text instead of drawn examples (repeatable)"),
    param: list[str] = typer.Option(None, "--param", "-p", help="task parameter key=value (repeatable)"),
    model: str = typer.Option("default", help="HF id, local folder or .gguf (default: bundled SmolLM2-135M-Instruct)"),
    adapter: Path = typer.Option(None, help="PEFT adapter folder, trained adapter folder or faithex run directory"),
    regime: str = typer.Option(None, "--regime", "-r",
                               help="regime whose prompt is attributed (default zero_shot; picks one in a run dir)"),
    method: str = typer.Option("input_x_gradient",
                               help="input_x_gradient, integrated_gradients, feature_ablation or leave_one_out"),
    target: str = typer.Option("predicted", help="'predicted', 'gold' or a label name"),
    contrast: str = typer.Option(None, help="'runner_up': explain log p(target) - log p(best other label)"),
    steps: int = typer.Option(None, min=1, help="integrated_gradients: steps of the integral (default 32)"),
    baseline: str = typer.Option(None, help="integrated_gradients: 'unk' (default), 'pad', 'eos' or a one-token text"),
    batch_size: int = typer.Option(8, min=1, help="examples per batch"),
    precision: str = typer.Option("fp32", help="'fp32', 'bf16' or 'auto' (bf16 where this machine has it)"),
    seed: int = typer.Option(None, help="data seed of the task (default 0); in a run directory: which training seed"),
    top: int = typer.Option(3, min=0, help="top words printed per example"),
    out: Path = typer.Option(None, "--out", "-o", help="JSON file for the attributions"),
) -> None:
    from rich.console import Console

    from faithex.attribution import load_attributor
    from faithex.attribution.methods import METHODS
    from faithex.errors import ConfigError
    from faithex.io import writable_file
    from faithex.lm.models import check_model, choose_precision
    from faithex.tasks import get_task

    options = {key: value for key, value in (("n_steps", steps), ("baseline", baseline)) if value is not None}
    METHODS.get(method).resolve_options(options)  # refuse a bad method or option before loading anything
    if contrast not in (None, "runner_up"):
        raise ConfigError(f"--contrast must be 'runner_up', not {contrast!r}")
    if out is not None:
        writable_file(out)
    precision = choose_precision(precision)
    from_run = adapter is not None and _is_run(adapter)
    if not from_run:
        check_model(model)
        if task is None:
            raise ConfigError("--task is required (unless --adapter is a faithex run directory)")
        get_task(task, seed=seed or 0, **parse_params(param))  # an unknown task or parameter fails before loading
    attributor = load_attributor(model, adapter=adapter, regime=regime, task=task if from_run else None,
                                 seed=seed if from_run else None)
    chosen_task = attributor.task if from_run else get_task(task, seed=seed or 0, **parse_params(param))
    examples = list(text) if text else chosen_task.examples(n, split)
    reporter = RichReporter()
    advance = reporter.progress("attributing", total=len(examples))
    try:
        result = attributor.attribute(examples, task=chosen_task, method=method, target=target, contrast=contrast,
                                      batch_size=batch_size, precision=precision, on_batch=advance, **options)
    finally:
        reporter.done()
    result.show(Console(markup=False, highlight=False, emoji=False), top=top)
    if out is not None:
        result.save(out)
        console.print(f"{out}: {len(result)} attributions ({result.meta['seconds_per_example']:.3f} s per example)")


def _is_run(path: Path) -> bool:
    from faithex.attribution.api import is_trained_classifier

    return is_trained_classifier(path)
