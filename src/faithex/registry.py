"""One registry type for every pluggable part (tasks, regimes, protocols, metrics), in the style of
lm-evaluation-harness: decorator registration, lookup by name with a "did you mean" hint, and a sorted listing.

    TASKS = Registry[type[Task]]("task")

    @TASKS.register("decision_tree")
    class DecisionTree(Task): ...

    TASKS.get("decison_tree")   # UnknownNameError: unknown task 'decison_tree'; did you mean 'decision_tree'? ...
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from faithex.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> entry. `kind` names what is registered in error messages ("task", "regime", ...); `error` is raised
    for an unknown name; `identity` tells whether a re-registration is the same definition (default: where the
    class, function or instance is defined)."""

    def __init__(self, kind: str, error: type[UnknownNameError] = UnknownNameError,
                 identity: Callable[[T], str] | None = None) -> None:
        self.kind = kind
        self.error = error
        self.identity = identity or _qualified
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register `entry` under `name`. Re-registering the same definition (a module reload) replaces it; a
        different definition under a taken name is an error: two meanings of one name would make results ambiguous."""
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        existing = self._entries.get(name)
        if existing is not None and self.identity(existing) != self.identity(entry):
            raise ValueError(f"{self.kind} '{name}' is already registered by {self.identity(existing)}")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""
        return lambda entry: self.add(name, entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self.error(self._unknown_message(name)) from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def values(self) -> list[T]:
        return [self._entries[name] for name in self.names()]

    def _unknown_message(self, name: object, extra_names: list[str] | None = None) -> str:
        known = self.names() + list(extra_names or [])
        message = f"unknown {self.kind} '{name}'"
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
        if close:
            message += f"; did you mean '{close[0]}'?"
        return message + f" (known: {', '.join(known) or 'none'})"


def _qualified(entry: object) -> str:
    """Where a definition comes from: a class or function by its qualified name, an instance by its class and name."""
    if isinstance(entry, type) or callable(entry) and hasattr(entry, "__qualname__"):
        return f"{entry.__module__}.{entry.__qualname__}"
    return f"{type(entry).__module__}.{type(entry).__qualname__}:{getattr(entry, 'name', id(entry))}"
