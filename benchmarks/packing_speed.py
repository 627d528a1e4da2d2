"""Seconds per training epoch with and without tree packing of shared prefixes, measured in the same run.

Same data, same machine, same process, the real default model in fp32: paper 1's decision tree
(`comparisons=2, decimals=1, n_inputs=3`), the `joint_reasoning` (3 texts per example) and `joint` (2 texts) regimes,
one epoch over the same examples through `faithex.training.build_trainer` (TRL's `SFTTrainer`, faithex's loss).
  unpacked: every text its own row, `pack_shared_prefixes=False` (the default).
  packed:   one row per example, the shared prefix computed once (`pack_shared_prefixes=True`).
Both see the same examples per optimiser step: a packed batch of 8 rows holds 8 examples, so the unpacked batch holds
their 24 texts (`joint_reasoning`) or 16 (`joint`). Then both runs take the same optimiser steps over the same
texts with the same loss, and only the layout differs; an unpacked batch of 8 texts would take 3x the steps, each
with its own fixed costs (optimiser, Python), and compare two trainings rather than two layouts.

With `--top-layers N` it also times the same runs with adapters on the top N layers only and measures, with forward
hooks inside the timed steps, the share of each step spent in the frozen lower layers' forward pass: what caching
their outputs across epochs could save from the second epoch on.

    python benchmarks/packing_speed.py [--examples 48] [--repeats 2] [--top-layers 10] [--out docs/benchmarks-packing.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from faithex.lm.models import resolve_model
from faithex.regimes import get_regime, training_records
from faithex.tasks import get_task
from faithex.training import TrainConfig, build_trainer

TASK_PARAMS = {"comparisons": 2, "decimals": 1, "n_inputs": 3}
TEXTS_PER_EXAMPLE = {"joint_reasoning": 3, "joint": 2}
EXAMPLES_PER_STEP = 8


def regime_records(regime: str, examples: int) -> list[dict]:
    task = get_task("decision_tree", seed=0, **TASK_PARAMS)
    records = training_records(get_regime(regime), task, task.examples(examples, "train"), system_prompt="")
    return records["joint"]


class FrozenForwardClock:
    """Seconds spent from the lowest layer's start to the highest frozen layer's end, summed over forward passes."""

    def __init__(self, layers, frozen: int):
        self.seconds = 0.0
        self._start = 0.0
        self._handles = [
            layers[0].register_forward_pre_hook(self._begin),
            layers[frozen - 1].register_forward_hook(self._end),
        ]

    def _begin(self, *args):
        self._start = time.perf_counter()

    def _end(self, *args):
        self.seconds += time.perf_counter() - self._start

    def remove(self):
        for handle in self._handles:
            handle.remove()


def decoder_layers(model):
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    return causal_lm.model.layers


def train_one_epoch(source: str, rows: list[dict], packed: bool, batch_size: int, top_layers: int | None) -> dict:
    """Train one epoch and time it (model loading and dataset preparation excluded)."""
    config = TrainConfig(batch_size=batch_size, learning_rate=1e-3, precision="fp32", epochs=1, top_layers=top_layers,
                         pack_shared_prefixes=packed, logging_steps=10**6, checkpoint_minutes=0)
    with tempfile.TemporaryDirectory() as folder:
        trainer, _ = build_trainer(source, rows, config, folder)
        trainer.args.disable_tqdm = True
        layers = decoder_layers(trainer.model)
        frozen = len(layers) - top_layers if top_layers else 0
        clock = FrozenForwardClock(layers, frozen) if frozen else None
        start = time.perf_counter()
        output = trainer.train()
        seconds = time.perf_counter() - start
        if clock:
            clock.remove()
        computed = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    result = {"seconds": round(seconds, 2), "steps": output.global_step, "rows": len(trainer.train_dataset),
              "computed_tokens": computed, "final_loss": round(output.training_loss, 4)}
    if clock:
        result["frozen_forward_seconds"] = round(clock.seconds, 2)
        result["frozen_forward_share"] = round(clock.seconds / seconds, 3)
    return result


def warm_up(source: str) -> None:
    """One short training, untimed: first-call costs (allocator, kernels, imports) land here."""
    config = TrainConfig(batch_size=4, precision="fp32", max_steps=2, logging_steps=10**6, checkpoint_minutes=0)
    with tempfile.TemporaryDirectory() as folder:
        trainer, _ = build_trainer(source, regime_records("joint", 4), config, folder)
        trainer.args.disable_tqdm = True
        trainer.train()


def bench(source: str, examples: int, repeats: int, top_layers: int | None) -> list[dict]:
    """Every measured epoch, unpacked and packed alternating (so load changes hit both alike)."""
    runs = []
    settings = [(regime, None) for regime in TEXTS_PER_EXAMPLE]
    if top_layers:
        settings.append(("joint_reasoning", top_layers))
    for repeat in range(repeats):
        for regime, top in settings:
            rows = regime_records(regime, examples)
            for packed in (False, True):
                batch_size = EXAMPLES_PER_STEP if packed else EXAMPLES_PER_STEP * TEXTS_PER_EXAMPLE[regime]
                result = train_one_epoch(source, rows, packed, batch_size, top)
                runs.append({"regime": regime, "top_layers": top, "packed": packed, "batch_size": batch_size,
                             "repeat": repeat, "examples": examples, "texts": len(rows), **result})
                print(json.dumps(runs[-1]), flush=True)
    return runs


def ratios(runs: list[dict]) -> dict:
    """Unpacked seconds / packed seconds per (regime, top layers), from the best of the repeats of each."""
    best: dict[tuple, float] = {}
    for run in runs:
        key = (run["regime"], run["top_layers"], run["packed"])
        best[key] = min(best.get(key, float("inf")), run["seconds"])
    out = {}
    for regime, top, packed in best:
        if packed:
            name = regime + (f"_top{top}_layers" if top else "")
            out[f"{name}_unpacked_vs_packed_seconds"] = round(best[regime, top, False] / best[regime, top, True], 2)
    return out


def machine() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines()
        name = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        name = platform.processor() or platform.machine()
    return f"{name}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--top-layers", type=int, default=10, help="0: skip the top-layers runs")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks-packing.json"))
    args = parser.parse_args()
    source = resolve_model(args.model)
    load_before = os.getloadavg()
    warm_up(source)
    runs = bench(source, args.examples, args.repeats, args.top_layers or None)
    report = {
        "machine": machine(),
        "torch": torch.__version__,
        "task": {"name": "decision_tree", **TASK_PARAMS},
        "precision": "fp32",
        "examples_per_step": EXAMPLES_PER_STEP,
        "load_average_1_5_15_min": {"before": [round(x, 2) for x in load_before],
                                    "after": [round(x, 2) for x in os.getloadavg()]},
        "ratios": ratios(runs),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("machine", "load_average_1_5_15_min", "ratios")}, indent=2))


if __name__ == "__main__":
    main()
