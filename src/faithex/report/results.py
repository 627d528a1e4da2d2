"""`Results`: a run directory loaded as an object (in the spirit of inseq's result objects).

    from faithex.report import Results

    results = Results.load("runs/text-baseline")
    results.show()                                   # the tables (and verdicts), in the terminal
    results.verdicts                                 # the verdicts on the papers' claims (results.json)
    frame = results.to_frame()                       # one row per cell and metric (pandas)
    results.compare({"regime": "label_only"}, {"regime": "zero_shot"}, task="tweet_sentiment", protocol="score")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faithex.errors import RunDirectoryError
from faithex.runner.rundir import Cell, RunDir


class Results:
    def __init__(self, data: dict[str, Any], run_dir: str | Path | None = None) -> None:
        if "cells" not in data:
            raise RunDirectoryError("these results have no `cells` (written by an older faithex): rerun the "
                                    "experiment into a new run directory")
        self.data = data
        self.run_dir = RunDir(Path(run_dir)) if run_dir is not None else None

    @classmethod
    def load(cls, run_dir: str | Path) -> "Results":
        path = RunDir(Path(run_dir)).results
        if not path.is_file():
            raise RunDirectoryError(f"no results.json in {run_dir}: is it a faithex run directory?")
        return cls(json.loads(path.read_text(encoding="utf-8")), run_dir)

    @property
    def cells(self) -> list[dict[str, Any]]:
        return self.data["cells"]

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        """The verdicts on the papers' claims; empty for a run made before they existed."""
        from faithex.report.tables import verdicts

        return verdicts(self.data)

    def select(self, **where: Any) -> list[dict[str, Any]]:
        """Cells whose fields equal every given value (task=, regime=, protocol=, seed=)."""
        return [c for c in self.cells if all(c.get(k) == v for k, v in where.items() if v is not None)]

    def cell(self, **where: Any) -> dict[str, Any]:
        """The one cell matching `where`; an error naming the candidates otherwise."""
        found = self.select(**where)
        if len(found) != 1:
            known = ", ".join(f"{c['task']}/{c['regime']}/{c['protocol']}/s{c['seed']}" for c in self.cells)
            raise RunDirectoryError(f"{len(found)} cells match {where} (cells: {known})")
        return found[0]

    def samples(self, **where: Any) -> list[dict[str, Any]]:
        """The sample records of one cell, read from the run directory."""
        from faithex.io import read_complete_jsonl

        if self.run_dir is None:
            raise RunDirectoryError("these results were not loaded from a run directory")
        cell = self.cell(**where)
        return read_complete_jsonl(self.run_dir.samples(Cell(cell["task"], cell["regime"], cell["protocol"],
                                                             cell["seed"])))

    def to_frame(self):
        """A pandas DataFrame with one row per cell and metric: task, regime, protocol, seed, metric, value, low,
        high, n (pivot it for a wide table)."""
        import pandas as pd

        rows = [
            {"task": c["task"], "regime": c["regime"], "protocol": c["protocol"], "seed": c["seed"], "metric": name,
             **{key: m.get(key) for key in ("value", "low", "high", "n")}}
            for c in self.cells for name, m in c["metrics"].items()
        ]
        return pd.DataFrame(rows, columns=["task", "regime", "protocol", "seed", "metric", "value", "low", "high",
                                           "n"])

    def show(self, console=None) -> None:
        from rich.console import Console
        from rich.text import Text

        from faithex.report.tables import rich_tables, untrained_cells, untrained_title, verdict_table

        console = console or Console(width=200)
        for table in rich_tables(self.data):
            console.print(table)
        untrained = untrained_cells(self.data)
        if untrained:  # Text: cell names and reasons hold the user's names, never markup
            console.print(Text("\n".join([f"{untrained_title(self.data)}:", *untrained])))
        verdicts = verdict_table(self.data)
        if verdicts is not None:
            console.print(verdicts)

    def compare(self, a: dict[str, Any], b: dict[str, Any], metric: str = "answer_accuracy",
                **shared: Any) -> dict[str, Any]:
        """Paired test of cell `a` against cell `b` on the same test items (McNemar and paired bootstrap)."""
        from faithex.metrics import compare

        task = self.cell(**{**shared, **a})["task"]
        labels = tuple(range(len(self.data["tasks"][task]["labels"])))
        return compare(self.samples(**{**shared, **a}), self.samples(**{**shared, **b}), metric=metric, labels=labels)

    def __repr__(self) -> str:
        return f"Results({self.data.get('experiment')!r}, {len(self.cells)} cells)"
