"""Name -> Task class registry, filled by the `@register_task("name")` decorator (lm-evaluation-harness style).

Tasks are looked up by name from configs and the command line, so lookup errors must be helpful: an unknown name
suggests the closest known one, and an unknown parameter names the accepted ones (read from the subclass
`__init__` signature, so there is no second list to keep in sync).
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from faithex.tasks.base import Task

TaskT = TypeVar("TaskT", bound=type[Task])

_REGISTRY: dict[str, type[Task]] = {}


class UnknownTaskError(ValueError):
    """Raised by `get_task` for a name no task registered."""


def register_task(name: str) -> Callable[[TaskT], TaskT]:
    """Class decorator: register a Task subclass under `name` (and set its `name` attribute)."""

    def decorate(cls: TaskT) -> TaskT:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise TypeError(f"@register_task({name!r}) expects a Task subclass, got {cls!r}")
        existing = _REGISTRY.get(name)
        if existing is not None and _qualified(existing) != _qualified(cls):  # a module reload re-registers: fine
            raise ValueError(f"task '{name}' is already registered by {_qualified(existing)}")
        cls.name = name
        if not cls.description:
            cls.description = (inspect.getdoc(cls) or "").split("\n")[0]
        _REGISTRY[name] = cls
        return cls

    return decorate


def list_tasks() -> list[tuple[str, str]]:
    """(name, one-line description) of every registered task, sorted by name."""
    return [(name, _REGISTRY[name].description) for name in sorted(_REGISTRY)]


def task_class(name: str) -> type[Task]:
    """The class registered under `name`, or UnknownTaskError with a suggestion and the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownTaskError(_unknown_message(name)) from None


def accepted_params(cls: type[Task]) -> list[str] | None:
    """Keyword parameters of `cls.__init__` besides `seed`; None when it takes **kwargs (anything goes)."""
    names = []
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        named = param.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        if named and param.name != "seed":
            names.append(param.name)
    return names


def get_task(name: str, seed: int = 0, **params: Any) -> Task:
    """Build the task registered under `name` with `seed` and task parameters (validated by name)."""
    cls = task_class(name)
    accepted = accepted_params(cls)
    if accepted is not None:
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ValueError(
                f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(repr(k) for k in unknown)} "
                f"for task '{name}'; accepted: {', '.join(accepted) or '(none)'}"
            )
    return cls(seed=seed, **params)


def _unknown_message(name: str) -> str:
    known = sorted(_REGISTRY)
    message = f"unknown task '{name}'"
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
    if close:
        message += f"; did you mean '{close[0]}'?"
    return message + f" (known tasks: {', '.join(known) or 'none'})"


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
