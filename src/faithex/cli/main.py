"""`faithex <command>`: the app and its subcommands (each in its own module)."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from faithex.cli import (analyze, annotate, attribute, demo, evaluate, generate, predict, report, run, tasks, train,
                         validate)
from faithex.cli.common import USER_ERROR, print_user_error


class FaithexGroup(TyperGroup):
    """A bad command line (unknown command or option, an option value of the wrong type or range) is bad input
    like any other: one line `faithex: error: ...` and exit code 2, not click's usage box."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as error:  # typer's click: UsageError, BadParameter, NoSuchOption, ...
            if type(error).__name__ == "NoArgsIsHelpError":  # `faithex` alone: the help is printed already
                sys.exit(error.exit_code)
            hint = f" (see `{error.ctx.command_path} --help`)" if getattr(error, "ctx", None) else ""
            print_user_error(error.format_message() + hint)
            sys.exit(USER_ERROR)
        except typer.Abort:
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        # Without standalone mode click returns the code of a typer.Exit, or the command's own value (None).
        sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)


app = typer.Typer(
    name="faithex",
    cls=FaithexGroup,
    help="Train and evaluate LLM classifiers whose explanations are faithful to their decisions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (tasks, generate, annotate, train, evaluate, predict, attribute, analyze, run, report, validate,
               demo):
    app.command(name=module.NAME, help=module.__doc__)(module.command)


def main() -> None:
    app()
