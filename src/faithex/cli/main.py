"""`faithex <command>`: the app and its subcommands (each in its own module)."""

from __future__ import annotations

import typer

from faithex.cli import demo, evaluate, generate, predict, run, tasks, train, validate

app = typer.Typer(
    name="faithex",
    help="Train and evaluate LLM classifiers whose explanations are faithful to their decisions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (tasks, generate, train, evaluate, predict, run, validate, demo):
    app.command(name=module.NAME, help=module.__doc__)(module.command)


def main() -> None:
    app()
