"""What the subcommands share: user-error handling (one line, exit code 2), progress bars, key=value params."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from faithex.errors import ConfigError, FaithexError
from faithex.runner import Reporter

# markup off: messages carry names and texts from the user's data (`[/b]` in a tweet must print as it is)
console = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
USER_ERROR = 2


def handle_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input (a FaithexError) becomes one clear line on stderr and exit code 2, never a traceback. Any other
    exception is a bug and keeps its traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except FaithexError as error:
            print_user_error(str(error) or type(error).__name__)
            raise typer.Exit(USER_ERROR) from None

    return wrapper


def print_user_error(message: str) -> None:
    """The one line every refused input gets (plain print: the message may hold `[/b]` from the user's data)."""
    print(f"faithex: error: {message.strip().splitlines()[0]}", file=sys.stderr)


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """`--param comparisons=3 --param decimals=2` -> {"comparisons": 3, "decimals": 2} (values read as YAML)."""
    import yaml

    params: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"--param expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            params[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--param {pair!r}: the value is not valid YAML") from None
    return params


class RichReporter(Reporter):
    """Progress bars for generation, plain lines for milestones."""

    def __init__(self) -> None:
        self._progress: Progress | None = None

    def message(self, text: str) -> None:
        console.print(text)

    def progress(self, description: str, total: int) -> Callable[[int], None]:
        self.done()
        self._progress = Progress(
            TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        )
        self._progress.start()
        task_id = self._progress.add_task(description, total=total)
        progress = self._progress
        return lambda n: progress.advance(task_id, n)

    def done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
