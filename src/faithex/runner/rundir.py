"""Where a run directory keeps each thing (one place, so the runner, `predict` and `Results` agree).

    runs/<name>/config.yaml                                         the resolved experiment
    runs/<name>/data/<task>-{train,test}.jsonl                     the examples used
    runs/<name>/adapters/<task>/<regime>/s<seed>/<adapter>/        PEFT adapters (safetensors) + train_result.json
    runs/<name>/adapters/_shared/<regime>/s<seed>/<adapter>/       the same, for a regime trained on several tasks
                                                                    (`train_on`), asked on every task
    runs/<name>/samples/<task>__<regime>__<protocol>__s<seed>.jsonl one line per test example, appended per batch
    runs/<name>/results.json                                       one entry per cell, plus provenance, guards
                                                                    and the verdicts on the papers' claims
    runs/<name>/items.json                                         per-item values of every cell (what the
                                                                    verdicts are computed from; small enough to
                                                                    commit beside results.json)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faithex.io import writable_folder

CELL_FILE = "faithex_cell.json"
#: The task folder of the adapters of a regime with `train_on` (one training for every task; no task id may be it).
SHARED = "_shared"


@dataclass(frozen=True)
class Cell:
    """The unit the runner trains, evaluates, resumes and reports."""

    task: str
    regime: str
    protocol: str
    seed: int

    @property
    def training(self) -> tuple[str, str, int]:
        """What the cell's adapters depend on: every protocol asking the same (task, regime, seed) shares them (a
        regime with `train_on` shares one training across tasks: `Plan.training_key`)."""
        return (self.task, self.regime, self.seed)

    def label(self) -> str:
        return f"{self.task} / {self.regime} / {self.protocol} / seed {self.seed}"


@dataclass(frozen=True)
class RunDir:
    root: Path

    @classmethod
    def usable(cls, root: str | Path) -> "RunDir":
        """A run directory, refused when something other than a folder is in its place."""
        return cls(writable_folder(root))

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def results(self) -> Path:
        return self.root / "results.json"

    @property
    def items(self) -> Path:
        return self.root / "items.json"

    def data(self, task: str, split: str) -> Path:
        return self.root / "data" / f"{task}-{split}.jsonl"

    def training(self, task: str, regime: str, seed: int) -> Path:
        """Folder of one training: one subfolder per adapter, and CELL_FILE (what `predict` needs)."""
        return self.root / "adapters" / task / regime / f"s{seed}"

    def samples(self, cell: Cell) -> Path:
        return self.root / "samples" / f"{cell.task}__{cell.regime}__{cell.protocol}__s{cell.seed}.jsonl"
