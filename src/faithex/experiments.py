"""Experiments: a YAML file naming tasks x configurations, validated into typed configs, and the runner that fills a
run directory (data, adapters, samples, results) and skips whatever is already done.

    runs/<name>/config.yaml          the resolved configuration
    runs/<name>/data/*.jsonl         generated datasets
    runs/<name>/adapters/<task>/<configuration>/<adapter>/   PEFT adapters (safetensors)
    runs/<name>/samples/<task>__<configuration>.jsonl        one line per test example
    runs/<name>/results.json         metrics with 95% bootstrap intervals, timings, versions, seed, git commit
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from faithex.io import atomic_write_text, read_jsonl, write_json, write_jsonl
from faithex.regimes.reasoning_grounded import CONFIGURATIONS, get_configuration
from faithex.tasks import get_task
from faithex.training import TrainConfig


class ConfigError(ValueError):
    """An experiment file is missing or invalid (reported as one line, exit code 2)."""


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    n_train: int = Field(2000, gt=0)
    n_test: int = Field(200, gt=0)
    icl_shots: int = Field(0, ge=0, description="demonstrations per input for separate_icl (paper 1: 5 LR, 20 DT)")


class InferenceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_size: int = Field(32, gt=0)
    precision: str = "auto"


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    model: str = "default"
    seed: int = 0
    system_prompt: str | None = ""
    tasks: list[TaskSpec]
    configurations: list[str] = Field(default_factory=lambda: list(CONFIGURATIONS))
    train: dict[str, Any] = Field(default_factory=dict)
    inference: InferenceSpec = Field(default_factory=InferenceSpec)

    @field_validator("configurations")
    @classmethod
    def _known_configurations(cls, names: list[str]) -> list[str]:
        for name in names:
            get_configuration(name)
        return names

    @field_validator("train")
    @classmethod
    def _known_train_keys(cls, values: dict[str, Any]) -> dict[str, Any]:
        TrainConfig(**values)  # raises on unknown keys and bad values
        return values

    def train_config(self) -> TrainConfig:
        return TrainConfig(**{"seed": self.seed, **self.train})


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_experiment(data, source=str(path))


def parse_experiment(data: dict[str, Any], source: str = "experiment") -> Experiment:
    from pydantic import ValidationError

    try:
        experiment = Experiment(**data)
        for spec in experiment.tasks:
            get_task(spec.name, seed=experiment.seed, **spec.params)
        return experiment
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: {where}: {first['msg']}") from None
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: {error}") from None


# -- running --------------------------------------------------------------------------------------------------------
class Reporter:
    """Where the runner reports progress; the CLI plugs rich progress bars in here."""

    def message(self, text: str) -> None:
        print(text, flush=True)

    def progress(self, description: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def done(self) -> None:
        pass


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def versions() -> dict[str, str]:
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for package in ("faithex", "torch", "transformers", "peft", "trl", "datasets"):
        try:
            found[package] = md.version(package)
        except md.PackageNotFoundError:
            pass
    return found


def token_budget(tokenizer, texts: list[str], slack: float = 1.5) -> int:
    """max_new_tokens for a kind of output: the longest training target, with slack, so runaways stop early."""
    longest = max(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    return int(longest * slack) + 8


def run_experiment(experiment: Experiment, run_dir: str | Path, reporter: Reporter | None = None) -> dict[str, Any]:
    """Fill `run_dir`; resumes: datasets, adapters and sample files already there are reused."""
    from faithex.models import choose_precision, resolve_model

    reporter = reporter or Reporter()
    model_source = resolve_model(experiment.model)  # fail on a missing model before anything is written
    run_dir = Path(run_dir)
    check_same_experiment(run_dir, experiment)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(experiment.model_dump(), sort_keys=False))
    results: dict[str, Any] = {
        "experiment": experiment.name,
        "model": experiment.model,
        "seed": experiment.seed,
        "git_commit": git_commit(),
        "versions": versions(),
        "machine": f"{platform.machine()}, {_cpu_count()} CPU cores",
        "precision": choose_precision(experiment.inference.precision),
        "tasks": {},
    }
    started = time.perf_counter()
    for spec in experiment.tasks:
        results["tasks"][spec.name] = run_task(experiment, spec, model_source, run_dir, reporter)
        write_json(run_dir / "results.json", results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    write_json(run_dir / "results.json", results)
    return results


def check_same_experiment(run_dir: Path, experiment: Experiment) -> None:
    """Refuse to resume into a run directory written by a different experiment: its datasets, adapters and samples
    would be reused silently. Adding tasks or configurations is fine; changing what existing ones mean is not."""
    path = run_dir / "config.yaml"
    if not path.exists():
        return
    old, new = yaml.safe_load(path.read_text(encoding="utf-8")) or {}, experiment.model_dump()
    changed = [key for key in ("model", "seed", "system_prompt", "train", "inference") if old.get(key) != new[key]]
    old_tasks = {task.get("name"): task for task in old.get("tasks") or []}
    changed += [f"task {t['name']}" for t in new["tasks"] if t["name"] in old_tasks and old_tasks[t["name"]] != t]
    if changed:
        raise ConfigError(
            f"{run_dir} holds a run of a different experiment ({', '.join(changed)} changed); "
            "pass another --out or remove that folder"
        )


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def task_data(experiment: Experiment, spec: TaskSpec, run_dir: Path):
    """The task and its train/test splits, written to data/ once (and read back on a rerun)."""
    from faithex.tasks.base import Example

    task = get_task(spec.name, seed=experiment.seed, **spec.params)
    splits = {}
    for split, n in (("train", spec.n_train), ("test", spec.n_test)):
        path = run_dir / "data" / f"{spec.name}-{split}.jsonl"
        if path.exists():
            splits[split] = [Example.from_dict(r) for r in read_jsonl(path)]
        if len(splits.get(split, [])) != n:
            splits[split] = task.examples(n, split)
            write_jsonl(path, [e.to_dict() for e in splits[split]])
    return task, splits["train"], splits["test"]


def run_task(experiment: Experiment, spec: TaskSpec, model_source: str, run_dir: Path, reporter: Reporter):
    from faithex.metrics import chance_level, evaluate_samples

    task, train, test = task_data(experiment, spec, run_dir)
    out: dict[str, Any] = {
        "params": task.describe(),
        "n_train": len(train),
        "n_test": len(test),
        "chance_level": chance_level([e.label for e in test], task.labels),
        "configurations": {},
    }
    for name in experiment.configurations:
        config = get_configuration(name)
        if config.icl and not task.supports_icl:
            reporter.message(f"{spec.name}: skipping {name} (paper 1 defines no in-context variant for this task)")
            continue
        reporter.message(f"{spec.name} / {name}")
        timings = train_configuration(experiment, spec, task, train, config, model_source, run_dir, reporter)
        samples, seconds = evaluate_configuration(experiment, spec, task, train, test, config, model_source, run_dir,
                                                  reporter)
        out["configurations"][name] = {
            "metrics": evaluate_samples(samples, labels=task.labels, seed=experiment.seed),
            "train": timings,
            "eval_seconds": seconds,
        }
    return out


def adapter_root(run_dir: Path, task_name: str, config_name: str) -> Path:
    return run_dir / "adapters" / task_name / config_name


def train_configuration(experiment, spec, task, train, config, model_source, run_dir, reporter) -> dict[str, Any]:
    from faithex.regimes import training_records
    from faithex.training import train_adapter

    records = training_records(
        config, task, train, experiment.system_prompt, icl_shots=spec.icl_shots, seed=experiment.seed
    )
    timings = {}
    for adapter, rows in records.items():
        target = adapter_root(run_dir, spec.name, config.name) / adapter
        done = target / "train_result.json"
        if done.exists():
            reporter.message(f"  adapter {adapter}: already trained, reusing {target}")
            timings[adapter] = json.loads(done.read_text(encoding="utf-8"))
            continue
        reporter.message(f"  training adapter '{adapter}' on {len(rows)} conversations")
        result = train_adapter(model_source, rows, experiment.train_config(), target)
        timings[adapter] = {k: v for k, v in asdict(result).items() if k != "config"}
    return timings


def evaluate_configuration(experiment, spec, task, train, test, config, model_source, run_dir, reporter):
    from faithex.inference.protocols import run_configuration
    from faithex.models import choose_precision

    path = run_dir / "samples" / f"{spec.name}__{config.name}.jsonl"
    if path.exists():
        samples = read_jsonl(path)
        if len(samples) == len(test):
            reporter.message(f"  samples already written, reusing {path}")
            return samples, 0.0
    model, tokenizer = load_configuration_model(model_source, adapter_root(run_dir, spec.name, config.name), config)
    budgets = {
        "answer": token_budget(tokenizer, [task.answer_text(label) for label in task.labels]),
        "explanation": token_budget(tokenizer, [e.explanation for e in train]),
        "reasoning": token_budget(tokenizer, [e.reasoning or "" for e in train]),
    }
    demonstrations = train[: spec.icl_shots] if config.icl else None
    steps = int(config.reasoning) + (1 if len(config.adapters) == 1 else 2)  # generate() calls over the test set
    advance = reporter.progress(f"  generating ({config.protocol})", total=len(test) * steps)
    started = time.perf_counter()
    samples = run_configuration(
        model, tokenizer, config, task, test, budgets, experiment.system_prompt, demonstrations,
        batch_size=experiment.inference.batch_size,
        precision=choose_precision(experiment.inference.precision),
        on_batch=advance,
    )
    seconds = round(time.perf_counter() - started, 1)
    reporter.done()
    write_jsonl(path, samples)
    return samples, seconds


def load_configuration_model(model_source: str, adapters_dir: Path, config):
    """The base model with every adapter of the configuration loaded under its own name."""
    from peft import PeftModel

    from faithex.models import load_model

    loaded = load_model(model_source)
    model = loaded.model
    for index, name in enumerate(config.adapters):
        folder = str(adapters_dir / name)
        if index == 0:
            model = PeftModel.from_pretrained(model, folder, adapter_name=name)
        else:
            model.load_adapter(folder, adapter_name=name)
    model.eval()
    return model, loaded.tokenizer
