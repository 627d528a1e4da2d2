"""Per-item values: the vectors a run's verdicts are computed from, kept beside results.json as `items.json`, so a
verdict can be recomputed from committed files alone (the samples, with prompts and outputs, are too large to
commit).

    {"format": "faithex-items/1",
     "cells": [{"task": ..., "regime": ..., "protocol": ..., "seed": 0,
                "ids": ["dt-0", ...],                    # test item ids, in test-set order
                "n_labels": 2,
                "gold": [0, 1, ...],                     # label positions (null: unlabelled)
                "answer": [0, 2, null, ...],             # the cell's own answer: a label position, K for an answer
                                                         # outside the labels ("unknown", unreadable), null: not asked
                "metrics": {"answer_accuracy": [1, 0, null, ...], ...}}]}   # null: the metric does not apply

Only metrics that are means of per-item values are kept (macro-F1 and recall/<label> follow from gold and answer).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "faithex-items/1"
FILE_NAME = "items.json"
#: Decimals kept of float values: enough for any figure the reports print, small enough to commit.
DECIMALS = 6


def cell_items(samples: Sequence[Mapping[str, Any]], labels: Sequence[int], metric_names: Sequence[str],
               cell: Mapping[str, Any]) -> dict[str, Any]:
    """The per-item record of one cell from its samples (in test-set order)."""
    from faithex.metrics import get_metric
    from faithex.metrics.paper1 import MISSING, parsed_output

    position = {label: i for i, label in enumerate(labels)}
    answers = []
    for sample in samples:
        answer = parsed_output(sample, "answer")
        if answer is MISSING:  # the self-consistency checks classify under their own name
            answer = (sample.get("parsed") or {}).get("classification", MISSING)
        answers.append(None if answer is MISSING else position.get(answer, len(labels)))
    metrics = {}
    for name in metric_names:
        metric = get_metric(name)
        if metric.is_aggregate or "/" in name:
            continue
        metrics[name] = [_compact(v) for v in metric(samples, labels)]
    return {"task": cell["task"], "regime": cell["regime"], "protocol": cell["protocol"], "seed": cell["seed"],
            "ids": [str(s.get("id")) for s in samples], "n_labels": len(labels),
            "gold": [position.get(s.get("gold")) if s.get("gold") is not None else None for s in samples],
            "answer": answers, "metrics": metrics}


def _compact(value: float) -> float | int | None:
    if value is None or math.isnan(value):
        return None
    if value in (0.0, 1.0):
        return int(value)
    return round(float(value), DECIMALS)


def write_items(path: Path, cells: Sequence[Mapping[str, Any]]) -> None:
    from faithex.io import atomic_write_text

    # One cell per line: readable in a diff, small on disk.
    lines = ",\n".join(json.dumps(cell, separators=(",", ":")) for cell in cells)
    atomic_write_text(path, f'{{"format": "{FORMAT}", "cells": [\n{lines}\n]}}\n')


def read_items(path: Path) -> "Items | None":
    """The per-item file of a run directory, None when the run has none (written before it existed)."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    found = data.get("format") if isinstance(data, dict) else type(data).__name__
    if found != FORMAT:
        raise ValueError(f"{path}: not a faithex per-item file (format {found!r})")
    return Items(data["cells"])


class Items:
    """Per-item values of a run, looked up by cell."""

    def __init__(self, cells: Sequence[Mapping[str, Any]]) -> None:
        self._cells = {(c["task"], c["regime"], c["protocol"], c["seed"]): c for c in cells}

    def cell(self, task: str, regime: str, protocol: str, seed: int) -> Mapping[str, Any] | None:
        return self._cells.get((task, regime, protocol, seed))

    def values(self, key: tuple[str, str, str, int], metric: str) -> tuple[list[str], np.ndarray] | None:
        """(ids, values as floats with NaN where the metric does not apply), None if the cell or metric is absent."""
        cell = self._cells.get(key)
        if cell is None or metric not in cell["metrics"]:
            return None
        return cell["ids"], np.array([math.nan if v is None else v for v in cell["metrics"][metric]], dtype=float)
