"""Tasks: seeded sources of labelled examples and the parsers that read a model's outputs for them.

Importing this package registers every built-in task (the imports below run the `@register_task` decorators).
"""

from faithex.tasks import decision_tree, logistic_regression, mortgage  # noqa: F401  (imported to register them)
from faithex.tasks.base import Example, Task, reasoning_decision
from faithex.tasks.registry import UnknownTaskError, get_task, list_tasks, register_task

__all__ = [
    "Example",
    "Task",
    "UnknownTaskError",
    "get_task",
    "list_tasks",
    "reasoning_decision",
    "register_task",
]
