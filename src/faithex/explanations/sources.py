"""Where the training examples' explanations come from (the `explanations:` key of a task in an experiment).

- `task` (default): what the task itself provides in `Example.explanation` (a `dataset`'s explanation column, the
  dialogue task's reference explanation, paper 1's JSON explanations); examples without one keep None.
- `evidence`: evidence explanations built without a model (`faithex.explanations.evidence`), of the task's own
  kind (`evidence_kind`); `evidence:sentiment` or `evidence:topic` chooses the kind. Topic evidence is fitted on the
  training split only (the whole split of a fixed dataset, else the run's training examples).
- a path to an annotations JSONL written by `faithex annotate`: every training example must have a line there.

Only training examples are given explanations; test examples keep the task's own. Each one records where its
explanation came from in `meta["explanation_source"]` (`task`, `evidence:topic`, `annotations:<path>`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from faithex.errors import ConfigError
from faithex.explanations.evidence import EVIDENCE_KINDS, evidence_explainer, evidence_kind

TASK_SOURCE = "task"
EVIDENCE_SOURCE = "evidence"
KEYWORDS = (TASK_SOURCE, EVIDENCE_SOURCE, *(f"{EVIDENCE_SOURCE}:{kind}" for kind in EVIDENCE_KINDS))
ANNOTATION_SUFFIXES = (".jsonl", ".ndjson", ".json")


def check_explanation_source(value: str) -> str:
    """`value` if it names a source: a keyword, or a JSONL file (checked by suffix here: the file is read when the
    run is prepared). A misspelt keyword fails here, not as a missing file."""
    if value in KEYWORDS or Path(value).suffix.lower() in ANNOTATION_SUFFIXES:
        return value
    raise ConfigError(f"explanations {value!r} is none of {', '.join(KEYWORDS)}, nor a .jsonl annotations file "
                      "of `faithex annotate`")


def with_explanations(task: Any, train: list[Any], source: str = TASK_SOURCE) -> list[Any]:
    """Copies of the training examples `train` of `task` with their explanations taken from `source`."""
    check_explanation_source(source)
    if source == TASK_SOURCE:
        return [_explained(e, e.explanation, TASK_SOURCE) for e in train]
    if source in KEYWORDS:  # evidence, evidence:<kind>
        return evidence_explanations(task, train, source.partition(":")[2] or None)
    return annotated_explanations(train, source)


def evidence_explanations(task: Any, train: list[Any], kind: str | None = None) -> list[Any]:
    """`train` with evidence explanations of `kind` (None: the task's own kind)."""
    from faithex.tasks.splits import FixedDatasetTask

    kind = evidence_kind(task, kind)
    # More training text gives steadier word statistics; the test split is never read.
    fitted_on = task.examples(None, "train") if isinstance(task, FixedDatasetTask) and kind == "topic" else train
    explainer = evidence_explainer(task, fitted_on, kind)
    return [_explained(e, explainer.explain(e), f"{EVIDENCE_SOURCE}:{kind}") for e in train]


def annotated_explanations(train: list[Any], path: str) -> list[Any]:
    """`train` with the explanations of the annotations file `path`, which must hold each of them (same label,
    non-empty explanation)."""
    from faithex.explanations.teacher import read_annotations

    annotations = read_annotations(path)
    for example in train:
        row = annotations.get(example.id)
        if row is None:
            raise ConfigError(f"{path} has no explanation for training example '{example.id}'; annotate it with "
                              "`faithex annotate` (same task, parameters, seed and split)")
        if row["label"] != example.label:
            raise ConfigError(f"{path}: training example '{example.id}' has label {row['label']!r} there but "
                              f"{example.label!r} in the task; it annotates other data")
        if not row["explanation"].strip():
            raise ConfigError(f"{path}: the explanation of training example '{example.id}' is empty")
    return [_explained(e, annotations[e.id]["explanation"], f"annotations:{path}") for e in train]


def _explained(example: Any, explanation: str | None, source: str) -> Any:
    return replace(example, explanation=explanation, meta={**example.meta, "explanation_source": source})
