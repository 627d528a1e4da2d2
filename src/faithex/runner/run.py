"""The runner: an experiment's cells (task x regime x protocol x seed) trained, evaluated and written to a run
directory (layout: `faithex.runner.rundir`), skipping whatever is already done.

Everything a run needs is checked before anything is written (`prepare`): the model resolves, the run directory is
usable and holds no other experiment, every task's data loads, every regime can build its training records. Then
per task and regime, each training seed trains once (its adapters are reused by every protocol and by reruns), and
each cell's samples are appended batch by batch, so a killed run resumes where it stopped. A regime with
`train_on` trains once per seed on the listed tasks' records together (adapters/_shared/<regime>/s<seed>), and that
one training answers the cells of every task.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faithex.claims import Items, cell_items, judge, write_items
from faithex.claims.analysis import analysis_pairs
from faithex.errors import ConfigError, FaithexError, RunDirectoryError
from faithex.explanations import with_explanations
from faithex.io import append_jsonl, atomic_write_text, read_complete_jsonl, read_jsonl, write_json, write_jsonl
from faithex.protocols import ProtocolContext, get_protocol
from faithex.regimes import PromptOptions, Regime
from faithex.runner import provenance
from faithex.runner.config import Experiment, RegimeSpec, TaskSpec
from faithex.runner.rundir import CELL_FILE, SHARED, Cell, RunDir
from faithex.tasks import Example, Task, get_task


class Reporter:
    """Where the runner reports progress; the CLI plugs rich progress bars in here."""

    def message(self, text: str) -> None:
        print(text, flush=True)

    def progress(self, description: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def done(self) -> None:
        pass


@dataclass
class TaskData:
    spec: TaskSpec
    task: Task
    train: list[Example]
    test: list[Example]


@dataclass
class Plan:
    """A validated experiment: resolved model, loaded data, training records and the cells to run."""

    experiment: Experiment
    run_dir: RunDir
    model_source: str
    tasks: dict[str, TaskData]
    regimes: dict[str, RegimeSpec]
    records: dict[tuple[str, str], dict[str, list[dict[str, Any]]]]
    cells: list[Cell]
    skipped: list[str] = field(default_factory=list)

    def regime(self, regime_key: str) -> Regime:
        """The regime of an entry, its `params` applied."""
        return self.regimes[regime_key].regime()

    def training_task(self, task_key: str, regime_key: str) -> str:
        """Whose training a (task, regime) cell uses: the task's own, or SHARED for a regime with `train_on`."""
        return SHARED if self.regimes[regime_key].shared else task_key

    def training_key(self, cell: Cell) -> tuple[str, str, int]:
        """What the cell's adapters depend on: cells with the same key share one training."""
        return (self.training_task(cell.task, cell.regime), cell.regime, cell.seed)

    def training_dir(self, task_key: str, regime_key: str, seed: int) -> Path:
        return self.run_dir.training(self.training_task(task_key, regime_key), regime_key, seed)

    def training_tasks(self, task_key: str, regime_key: str) -> list[str]:
        """The tasks whose training data trains the cell's adapters."""
        return list(self.regimes[regime_key].train_on or [task_key])

    def options(self, task_key: str, regime: Regime) -> PromptOptions:
        data, experiment = self.tasks[task_key], self.experiment
        shots = data.spec.icl_shots
        return PromptOptions(system_prompt=experiment.system_prompt, icl_shots=shots, seed=experiment.seed,
                             demonstrations=tuple(data.train[:shots]) if regime.shows_demonstrations else ())


# -- preparing ------------------------------------------------------------------------------------------------------
def prepare(experiment: Experiment, run_dir: str | Path, resolve: bool = True) -> Plan:
    """Check everything the run needs; nothing is written (a refused run leaves the run directory as it was).
    `resolve=False` checks the model without converting or downloading it (`faithex validate`)."""
    from faithex.lm.models import check_model, resolve_model

    folder = RunDir.usable(run_dir)
    check_same_experiment(folder, experiment)
    model_source = resolve_model(experiment.model) if resolve else check_model(experiment.model)
    tasks = {spec.key: load_task_data(experiment, spec, folder) for spec in experiment.tasks}
    regimes = {spec.key: spec for spec in experiment.regime_specs()}
    plan = Plan(experiment, folder, model_source, tasks, regimes, {}, [])
    for regime_key, spec in regimes.items():
        if spec.shared:
            plan.records[(SHARED, regime_key)] = shared_training_records(plan, regime_key)
    for task_key, data in tasks.items():
        for regime_key, spec in regimes.items():
            regime = spec.regime()
            reason = regime.unsupported(data.task)
            if reason:
                plan.skipped.append(f"{task_key}: skipping {regime_key} ({reason})")
                continue
            if regime.trains and not spec.shared:
                plan.records[(task_key, regime_key)] = training_records(plan, task_key, regime_key)
            plan.cells += [Cell(task_key, regime_key, protocol, seed)
                           for protocol in experiment.protocols_for(spec) for seed in experiment.training_seeds()]
    return plan


def shared_training_records(plan: Plan, regime_key: str) -> dict[str, list[dict[str, Any]]]:
    """{adapter: records} of a regime with `train_on`: each listed task's records, built with its own task object
    (its prompts and label names), concatenated in the order listed."""
    spec = plan.regimes[regime_key]
    regime, merged = spec.regime(), {}
    for task_key in spec.train_on or []:
        reason = regime.unsupported(plan.tasks[task_key].task)
        if reason:
            raise ConfigError(f"regime '{regime_key}' cannot train on task '{task_key}': {reason}")
        for adapter, rows in training_records(plan, task_key, regime_key).items():
            merged.setdefault(adapter, []).extend(rows)
    return merged


def training_records(plan: Plan, task_key: str, regime_key: str) -> dict[str, list[dict[str, Any]]]:
    regime, data = plan.regime(regime_key), plan.tasks[task_key]
    try:
        return regime.records(data.task, data.train, plan.options(task_key, regime))
    except ConfigError as error:
        raise ConfigError(f"regime '{regime_key}' cannot train on task '{task_key}': {error}") from None


def load_task_data(experiment: Experiment, spec: TaskSpec, run_dir: RunDir) -> TaskData:
    """The task and its splits, the training examples explained as `spec.explanations` says; a run directory whose
    data files hold other examples or explanations is refused."""
    task = get_task(spec.name, seed=experiment.seed, **spec.params)
    splits = {}
    for split, n in (("train", spec.n_train), ("test", spec.n_test)):
        splits[split] = task.examples(n, split)
        if split == "train":
            splits[split] = with_explanations(task, splits[split], spec.explanations)
        path = run_dir.data(spec.key, split)
        if path.exists() and [(r["id"], r.get("explanation")) for r in read_jsonl(path)] != \
                [(e.id, e.explanation) for e in splits[split]]:
            raise RunDirectoryError(f"{path} holds other examples than task '{spec.key}' gives now (its data "
                                    "or explanations changed); pass another --out or remove that folder")
    return TaskData(spec, task, splits["train"], splits["test"])


def check_same_experiment(run_dir: RunDir, experiment: Experiment) -> None:
    """Refuse to resume into a run directory written by a different experiment: its datasets, adapters and samples
    would be reused silently. Adding tasks, regimes, protocols or seeds is fine; changing what existing ones mean
    is not."""
    if not run_dir.config.exists():
        return
    old = _resolved(yaml.safe_load(run_dir.config.read_text(encoding="utf-8")) or {})
    new = experiment.model_dump()
    changed = [key for key in ("model", "seed", "system_prompt", "train", "inference") if old.get(key) != new.get(key)]
    changed += [f"task {key}" for key, spec in _by_key(new["tasks"]).items()
                if key in _by_key(old.get("tasks")) and _by_key(old.get("tasks"))[key] != spec]
    old_regimes = _by_key(old.get("regimes"))
    changed += [f"regime {key}" for key, spec in _by_key(new["regimes"]).items()
                if key in old_regimes and _training_meaning(old_regimes[key]) != _training_meaning(spec)]
    if changed:
        raise RunDirectoryError(
            f"{run_dir.root} holds a run of a different experiment ({', '.join(changed)} changed); "
            "pass another --out or remove that folder"
        )


def _resolved(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config with every default filled in, as the new experiment is (a file missing a default, or
    writing one differently, is the same experiment); as it is when it no longer parses."""
    try:
        return Experiment(**config).model_dump()
    except (TypeError, ValueError):  # an older or hand-edited config: compare what it says
        return config


def _training_meaning(entry: dict[str, Any]) -> tuple[Any, ...]:
    """What a regime entry's adapters depend on besides its name: where it starts, its settings, its training
    tasks, its own training settings (an entry written without them has none)."""
    return (entry.get("starts_from"), entry.get("params") or {}, entry.get("train_on") or None,
            entry.get("train") or {})


def _by_key(entries: list[Any] | None) -> dict[str, dict[str, Any]]:
    """Task or regime entries of a config by id (plain names are regimes without options)."""
    out = {}
    for entry in entries or []:
        entry = {"name": entry} if isinstance(entry, str) else entry
        out[entry.get("id") or entry["name"]] = entry
    return out


# -- running --------------------------------------------------------------------------------------------------------
def run_experiment(experiment: Experiment, run_dir: str | Path, reporter: Reporter | None = None) -> dict[str, Any]:
    """Fill `run_dir` and return the results (also written to results.json); work already done is reused."""
    plan = prepare(experiment, run_dir)
    return run_plan(plan, reporter or Reporter())


def write_inputs(plan: Plan) -> None:
    """The resolved experiment and the examples it uses (data files are written once and checked on reruns)."""
    folder = plan.run_dir
    folder.root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder.config, yaml.safe_dump(plan.experiment.model_dump(), sort_keys=False))
    for key, data in plan.tasks.items():
        for split, examples in (("train", data.train), ("test", data.test)):
            if not folder.data(key, split).exists():
                write_jsonl(folder.data(key, split), [e.to_dict() for e in examples])


def run_plan(plan: Plan, reporter: Reporter) -> dict[str, Any]:
    """Train and evaluate every cell of `plan` (each training once), writing results.json after every cell."""
    from faithex.lm.models import choose_precision

    experiment = plan.experiment
    write_inputs(plan)
    results: dict[str, Any] = {
        "experiment": experiment.name,
        "provenance": {
            "model": experiment.model, "seed": experiment.seed, "seeds": experiment.training_seeds(),
            "git_commit": provenance.git_commit(), "versions": provenance.versions(),
            "machine": provenance.machine(), "precision": choose_precision(experiment.inference.precision),
        },
        "tasks": {key: describe_task(data) for key, data in plan.tasks.items()},
        "cells": [],
    }
    earlier = earlier_results(plan.run_dir.results)
    commits = earlier_commits(earlier, results["provenance"]["git_commit"])
    if commits:
        results["provenance"]["earlier_commits"] = commits
    for line in plan.skipped:
        reporter.message(line)
    started = time.perf_counter()
    spent_before = earlier_eval_seconds(earlier)
    trained: dict[tuple[str, str, int], dict[str, Any]] = {}
    items: list[dict[str, Any]] = []
    for cell in plan.cells:
        reporter.message(cell.label())
        key = plan.training_key(cell)
        if key not in trained:
            trained[key] = train_cell(plan, cell, reporter)
        spent = spent_before.get((cell.task, cell.regime, cell.protocol, cell.seed), 0.0)
        entry, values = evaluate_cell(plan, cell, trained[key], reporter, spent)
        results["cells"].append(entry)
        items.append(values)
        write_items(plan.run_dir.items, items)
        write_json(plan.run_dir.results, results)
    add_summaries(results, plan)
    judge(results, plan.experiment.model_dump(), Items(items), plan.run_dir.root.name, run_analyses(plan, reporter))
    results["seconds"] = round(time.perf_counter() - started, 1)
    write_json(plan.run_dir.results, results)
    return results


def run_analyses(plan: Plan, reporter: Reporter) -> list[tuple[str, Any, Any]]:
    """The layer analyses in the run directory (paper 2's layer claims); an unreadable one is reported and left out
    rather than ending a run whose cells are all done."""
    try:
        return analysis_pairs(plan.run_dir.root)
    except FaithexError as error:
        reporter.message(f"warning: layer analyses left out of the verdicts: {error}")
        return []


def earlier_results(results_path: Path) -> dict[str, Any]:
    """The run directory's results.json before this run rewrites it ({} if none or unreadable): a rerun reuses its
    samples, so what they cost and which code wrote them must carry over."""
    try:
        earlier = json.loads(results_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no results yet, or unreadable: timings and commits restart, the samples are untouched
    return earlier if isinstance(earlier, dict) else {}


def earlier_eval_seconds(earlier: dict[str, Any]) -> dict[tuple[Any, ...], float]:
    """Evaluation seconds per (task, regime, protocol, seed) that `earlier` results record."""
    out = {}
    for cell in earlier.get("cells") or []:
        try:
            out[(cell["task"], cell["regime"], cell["protocol"], cell["seed"])] = float(cell.get("eval_seconds") or 0)
        except (KeyError, TypeError, ValueError):
            continue
    return out


def earlier_commits(earlier: dict[str, Any], current: str | None) -> list[str]:
    """The commits of earlier runs into this directory, oldest first, without the current one: reused samples
    were written by them."""
    provenance = earlier.get("provenance") or {}
    commits = [*(provenance.get("earlier_commits") or []), provenance.get("git_commit")]
    return [c for c in dict.fromkeys(commits) if isinstance(c, str) and c and c != current]


def train_all(plan: Plan, reporter: Reporter) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Train (or reuse) every training of `plan` without evaluating: {(task, regime, seed): {adapter: record}}
    (task: SHARED for a regime with `train_on`)."""
    write_inputs(plan)
    trained: dict[tuple[str, str, int], dict[str, Any]] = {}
    for cell in plan.cells:
        key = plan.training_key(cell)
        if key not in trained:
            trained[key] = train_cell(plan, cell, reporter)
    return {key: records for key, records in trained.items() if records}


def untrained(plan: Plan) -> list[Path]:
    """Training folders of `plan` that lack a trained adapter."""
    missing = []
    for cell in plan.cells:
        regime = plan.regime(cell.regime)
        folder = plan.training_dir(cell.task, cell.regime, cell.seed)
        missing += [folder for name in regime.adapters if not (folder / name / "train_result.json").exists()]
    return sorted(set(missing))


def describe_task(data: TaskData) -> dict[str, Any]:
    from faithex.metrics import chance_level

    return {
        "name": data.spec.name,
        "params": data.task.describe(),
        "labels": [data.task.answer_text(label) for label in data.task.labels],
        "n_train": len(data.train),
        "n_test": len(data.test),
        "chance_level": chance_level([e.label for e in data.test], data.task.labels),
    }


# -- training -------------------------------------------------------------------------------------------------------
def train_cell(plan: Plan, cell: Cell, reporter: Reporter) -> dict[str, Any]:
    """Train (or reuse) the adapters of the cell's regime for its task and seed (a regime with `train_on`: for
    every task at once); {adapter: training record}."""
    from faithex.training import train_adapter

    regime = plan.regime(cell.regime)
    if not regime.trains:
        return {}
    folder = plan.training_dir(cell.task, cell.regime, cell.seed)
    init = initial_adapter(plan, cell)
    planned = plan.records[(plan.training_task(cell.task, cell.regime), cell.regime)]
    if regime.needs_model and any(not (folder / name / "train_result.json").exists() for name in planned):
        planned = model_records(plan, cell, init, reporter)
    records = {}
    for adapter, rows in planned.items():
        target = folder / adapter
        done = target / "train_result.json"
        if done.exists():
            reporter.message(f"  adapter {adapter}: already trained, reusing {target}")
            records[adapter] = _training_record(read_json(done))
            continue
        start = f" from {init}" if init else ""
        tasks = plan.regimes[cell.regime].train_on
        source = f" of {', '.join(tasks)}" if tasks else ""
        reporter.message(f"  training adapter '{adapter}' on {len(rows)} conversations{source}{start}")
        extra = {"init_adapter": init} if init else {}
        config = plan.experiment.train_config(cell.seed, plan.regimes[cell.regime])
        result = train_adapter(plan.model_source, rows, config, target, **extra)
        records[adapter] = _training_record(read_json(Path(result.adapter_dir) / "train_result.json"))
    write_json(folder / CELL_FILE, cell_description(plan, cell))
    return records


def model_records_path(run_dir: RunDir, cell: Cell, task_key: str | None = None) -> Path:
    """Where the training records a regime builds with its starting model from one task's training data are kept
    (`.summary.json` beside): the cell's task, or `task_key` (one of a `train_on` list)."""
    return run_dir.root / "data" / f"{task_key or cell.task}-{cell.regime}-s{cell.seed}-records.jsonl"


def model_records(plan: Plan, cell: Cell, init: str | None, reporter: Reporter) -> dict[str, list[dict[str, Any]]]:
    """{adapter: records} of a regime that builds them with its starting model (`Regime.needs_model`, paper 3's
    pseudo-faithful explanations): the base model, or base + `init`, is loaded once, asked for each training task
    (the cell's, or every task of `train_on`, each with its own task object) and freed before training. Per task,
    the records and their summary are written to data/ (the records last: their file means done) and reused; the
    tasks' records are concatenated in the order listed."""
    regime = plan.regime(cell.regime)
    paths = {key: model_records_path(plan.run_dir, cell, key) for key in plan.training_tasks(cell.task, cell.regime)}
    for path in paths.values():
        if path.exists():
            reporter.message(f"  training records already built, reusing {path}")
            _check_record_settings(path, regime)
    missing = [key for key, path in paths.items() if not path.exists()]
    if missing:
        _build_model_records(plan, cell, regime, {key: paths[key] for key in missing}, init, reporter)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in (row for path in paths.values() for row in read_jsonl(path)):
        grouped.setdefault(row.pop("adapter"), []).append(row)
    kinds: dict[str, int] = {}
    for row in (row for rows in grouped.values() for row in rows):
        kinds[row.get("kind", "?")] = kinds.get(row.get("kind", "?"), 0) + 1
    reporter.message(f"  training records: {', '.join(f'{kind} {n}' for kind, n in kinds.items())}")
    return grouped


def _build_model_records(plan: Plan, cell: Cell, regime: Regime, paths: dict[str, Path], init: str | None,
                         reporter: Reporter) -> None:
    """Load the starting model once and write the records of each task in `paths` ({task id: records file})."""
    import gc

    from faithex.lm.models import choose_precision, load_model

    reporter.message(f"  building training records with the starting model{f' ({init})' if init else ''}")
    loaded = load_model(plan.model_source, adapter=init)
    try:
        for task_key, path in paths.items():
            data = plan.tasks[task_key]
            label = f"  {cell.regime}: training records" + (f" ({task_key})" if len(paths) > 1 else "")
            advance = reporter.progress(label, total=len(data.train))
            try:
                built = regime.model_records(loaded.model, loaded.tokenizer, data.task, data.train,
                                             plan.options(task_key, regime),
                                             batch_size=plan.experiment.inference.batch_size,
                                             precision=choose_precision(plan.experiment.inference.precision),
                                             on_batch=advance)
            finally:
                reporter.done()
            write_json(path.with_suffix(".summary.json"), built.summary)
            write_jsonl(path, [{"adapter": name, **row} for name, rows in built.records.items() for row in rows])
    finally:
        del loaded
        gc.collect()  # the model is freed before training loads its own


def _check_record_settings(path: Path, regime: Regime) -> None:
    """Records built with other settings than the regime's now are refused, not trained on (a summary without
    `criterion` was built before that setting existed, with the self-consistency check; one without `min_drop`
    before `criterion: drop` existed, so its default applies)."""
    summary_path = path.with_suffix(".summary.json")
    if not summary_path.exists():
        return
    stored = read_json(summary_path).get("settings")
    current = regime.parameters()
    if not stored or not current:
        return
    stored = {"criterion": "check", "explained": None, "min_drop": 0.05, **stored}
    if stored != current:
        differ = sorted(key for key in current if stored.get(key) != current[key])
        raise RunDirectoryError(f"{path} was built with other settings ({', '.join(differ)}); remove it, or "
                                "pass another --out")


def _training_record(result: dict[str, Any]) -> dict[str, Any]:
    """What results.json keeps of a training: timings, steps, loss and the hyperparameters actually used."""
    return {**{k: v for k, v in result.items() if k != "config"}, "hyperparameters": result.get("config", {})}


def initial_adapter(plan: Plan, cell: Cell) -> str | None:
    """The adapter folder a continual-training regime starts from (another regime's, same task and seed; a
    regime with `train_on` has one for every task)."""
    spec = plan.regimes[cell.regime]
    start = spec.starts_from or plan.regime(cell.regime).starts_from
    if start is None:
        return None
    if start in plan.regimes:
        source = plan.regime(start)
        return str(plan.training_dir(cell.task, start, cell.seed) / source.adapters[0])
    return str(Path(start))


def cell_description(plan: Plan, cell: Cell) -> dict[str, Any]:
    """Beside the adapters: what `faithex predict` needs to ask them (task, labels, regime, prompt options); for a
    regime with `train_on`, the first task it trained on (predict in the run directory picks any with --task)."""
    spec = plan.regimes[cell.regime]
    data = plan.tasks[spec.train_on[0] if spec.train_on else cell.task]
    return {
        "model": plan.experiment.model,
        "task": data.spec.model_dump(),
        "data_seed": plan.experiment.seed,
        "regime": spec.model_dump(),
        "seed": cell.seed,
        "system_prompt": plan.experiment.system_prompt,
        "labels": [data.task.answer_text(label) for label in data.task.labels],
    }


def read_json(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text(encoding="utf-8"))


# -- evaluation -----------------------------------------------------------------------------------------------------
def evaluate_cell(plan: Plan, cell: Cell, training: dict[str, Any], reporter: Reporter,
                  earlier_seconds: float = 0.0) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cell's results.json entry and its per-item values (items.json); `earlier_seconds`: what its samples
    already on disk cost (a rerun)."""
    from faithex.metrics import confusion_matrix, evaluate_samples

    data = plan.tasks[cell.task]
    samples, seconds = cell_samples(plan, cell, reporter, earlier_seconds)
    entry = {
        "task": cell.task, "regime": cell.regime, "protocol": cell.protocol, "seed": cell.seed,
        "metrics": evaluate_samples(samples, labels=data.task.labels, seed=plan.experiment.seed, per_class=True),
        "train": training,
        "eval_seconds": seconds,
        "n_test": len(samples),
    }
    if "answer_accuracy" in entry["metrics"]:
        entry["confusion_matrix"] = confusion_matrix(samples, data.task.labels)
    return entry, cell_items(samples, data.task.labels, list(entry["metrics"]), entry)


def cell_samples(plan: Plan, cell: Cell, reporter: Reporter,
                 earlier_seconds: float = 0.0) -> tuple[list[dict[str, Any]], float]:
    """The cell's samples in test-set order, and the seconds they cost; only examples without a sample yet are run
    (resume after a kill), and the samples reused cost `earlier_seconds`."""
    data = plan.tasks[cell.task]
    path = plan.run_dir.samples(cell)
    done = {s["id"]: s for s in read_complete_jsonl(path)}
    todo = [e for e in data.test if e.id not in done]
    seconds = earlier_seconds if done else 0.0
    if todo:
        if done:
            reporter.message(f"  resuming: {len(done)} samples already written, {len(todo)} to go")
        started = time.perf_counter()
        for batch in run_protocol(plan, cell, todo, reporter):
            append_jsonl(path, batch)
            done.update((s["id"], s) for s in batch)
        seconds += time.perf_counter() - started
    else:
        reporter.message(f"  samples already written, reusing {path}")
    return [done[e.id] for e in data.test], round(seconds, 1)


def run_protocol(plan: Plan, cell: Cell, examples: list[Example], reporter: Reporter):
    """Batches of samples of `cell` for `examples`, stamped with the cell."""
    from faithex.lm.models import choose_precision

    data = plan.tasks[cell.task]
    regime, protocol = plan.regime(cell.regime), get_protocol(cell.protocol)
    model, tokenizer = load_cell_model(plan.model_source, plan.training_dir(cell.task, cell.regime, cell.seed),
                                       regime)
    advance = reporter.progress(f"  {cell.protocol}", total=len(examples) * protocol.steps(regime))
    context = ProtocolContext(
        model=model, tokenizer=tokenizer, regime=regime, task=data.task, options=plan.options(cell.task, regime),
        train=data.train, batch_size=plan.experiment.inference.batch_size,
        precision=choose_precision(plan.experiment.inference.precision), on_batch=advance,
    )
    try:
        for batch in protocol.run(context, examples):
            yield [{**sample, "task": cell.task, "regime": cell.regime, "seed": cell.seed} for sample in batch]
    finally:
        reporter.done()


def load_cell_model(model_source: str, training_dir: Path, regime: Regime):
    """The base model with every adapter of the regime loaded under its own name (none: zero-shot)."""
    from peft import PeftModel

    from faithex.lm.models import load_model

    loaded = load_model(model_source)
    model = loaded.model
    for index, name in enumerate(regime.adapters):
        folder = str(training_dir / name)
        if index == 0:
            model = PeftModel.from_pretrained(model, folder, adapter_name=name)
        else:
            model.load_adapter(folder, adapter_name=name)
    model.eval()
    return model, loaded.tokenizer


# -- across cells ---------------------------------------------------------------------------------------------------
def add_summaries(results: dict[str, Any], plan: Plan) -> None:
    """Mean and sd over seeds per (task, regime, protocol), and paired tests of each regime against the first."""
    from faithex.runner.summaries import comparisons, seed_summaries

    results["seed_summaries"] = seed_summaries(results["cells"])
    results["comparisons"] = comparisons(plan, results["cells"])
