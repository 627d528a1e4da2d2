"""The task registry, filled by the `@register_task("name")` decorator (lm-evaluation-harness style).

An unknown name suggests the closest known one; an unknown parameter names the accepted ones (read from the
subclass `__init__` signature, so there is no second list to keep in sync).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from faithex.errors import ConfigError, UnknownNameError
from faithex.registry import Registry
from faithex.tasks.base import Task

TaskT = TypeVar("TaskT", bound=type[Task])

TASKS: Registry[type[Task]] = Registry("task")

#: Kept for callers of the first API: an unknown task name raises this (a FaithexError).
UnknownTaskError = UnknownNameError


def register_task(name: str) -> Callable[[TaskT], TaskT]:
    """Class decorator: register a Task subclass under `name` (and set its `name` attribute)."""

    def decorate(cls: TaskT) -> TaskT:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise TypeError(f"@register_task({name!r}) expects a Task subclass, got {cls!r}")
        cls.name = name
        if not cls.description:
            cls.description = (inspect.getdoc(cls) or "").split("\n")[0]
        return TASKS.add(name, cls)

    return decorate


def list_tasks() -> list[tuple[str, str]]:
    """(name, one-line description) of every registered task, sorted by name."""
    return [(name, TASKS.get(name).description) for name in TASKS.names()]


def task_class(name: str) -> type[Task]:
    return TASKS.get(name)


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
            raise ConfigError(
                f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(repr(k) for k in unknown)} "
                f"for task '{name}'; accepted: {', '.join(accepted) or '(none)'}"
            )
    return cls(seed=seed, **params)
