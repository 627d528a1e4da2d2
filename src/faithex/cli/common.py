"""What the subcommands share: user-error handling (one line, exit code 2), progress bars, key=value params."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from faithex.experiments import Reporter

console = Console(stderr=True, soft_wrap=True)
USER_ERROR = 2


def user_errors() -> tuple[type[BaseException], ...]:
    from faithex.experiments import ConfigError
    from faithex.io import DatasetError
    from faithex.models import ModelNotFoundError

    return (ConfigError, DatasetError, ModelNotFoundError, ValueError, FileNotFoundError)


def handle_user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input becomes one clear line on stderr and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except user_errors() as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            print(f"faithex: error: {message}", file=sys.stderr)
            raise typer.Exit(USER_ERROR) from None

    return wrapper


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """`--param comparisons=3 --param decimals=2` -> {"comparisons": 3, "decimals": 2} (values read as YAML)."""
    import yaml

    params: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--param expects key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        params[key.strip()] = yaml.safe_load(value)
    return params


class RichReporter(Reporter):
    """Progress bars for generation, plain lines for milestones."""

    def __init__(self) -> None:
        self._progress: Progress | None = None

    def message(self, text: str) -> None:
        console.print(text, highlight=False)

    def progress(self, description: str, total: int) -> Callable[[int], None]:
        self.done()
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        )
        self._progress.start()
        task_id = self._progress.add_task(description, total=total)
        progress = self._progress
        return lambda n: progress.advance(task_id, n)

    def done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
