"""`analyze_run`: the layer analysis of a trained classifier of a faithex run directory (or of its base model), on
the run's own test examples and prompts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from faithex.analysis.result import LayerAnalysis
from faithex.errors import ConfigError, RunDirectoryError
from faithex.predict import Classifier, find_classifier
from faithex.regimes import PromptOptions
from faithex.runner.rundir import RunDir
from faithex.tasks import Example


def analyze_run(
    path: str | Path,
    task: str | None = None,
    regime: str | None = None,
    seed: int | None = None,
    n: int | None = 200,
    *,
    base: bool = False,
    batch_size: int = 16,
    precision: str = "auto",
    on_batch: Callable[[int], None] | None = None,
) -> LayerAnalysis:
    """Analyse the classifier in `path` (a run directory, one of its training folders or adapter folders; `task`,
    `regime` and `seed` pick one where the run holds several) on the first `n` test examples of its task (None: all),
    asked with its regime's answer prompt. `base=True`: the same prompts to the base model without adapters."""
    from faithex.analysis.lens import analyze
    from faithex.lm.generation import render
    from faithex.lm.models import choose_precision, load_model, resolve_model
    from faithex.runner.run import load_cell_model

    classifier = find_analysable(path, task, regime, seed)
    task_obj, regime_obj = classifier.task(), classifier.regime
    examples = test_examples(classifier, path)[:n]
    source = resolve_model(classifier.description["model"])
    if base or not regime_obj.trains:
        loaded = load_model(source)
        model, tokenizer = loaded.model, loaded.tokenizer
    else:
        model, tokenizer = load_cell_model(source, classifier.folder, regime_obj)
        adapter = regime_obj.adapter_for("answer")
        if adapter is not None and adapter in getattr(model, "peft_config", {}):
            model.set_adapter(adapter)
    options = prompt_options(classifier, path)
    prompts = [render(tokenizer, regime_obj.prompt("answer", task_obj, e, options)) for e in examples]
    labels = [task_obj.answer_text(label) for label in task_obj.labels]
    description, meta = describe(classifier, base)
    return analyze(model, tokenizer, prompts, labels, batch_size=batch_size, precision=choose_precision(precision),
                   ids=[e.id for e in examples], gold=[_gold_index(task_obj, e) for e in examples],
                   description=description, task=_task_key(classifier), meta=meta, on_batch=on_batch)


def find_analysable(path: str | Path, task: str | None = None, regime: str | None = None,
                    seed: int | None = None) -> Classifier:
    """`find_classifier`, refusing regimes whose label is not predicted right after the prompt."""
    classifier = find_classifier(path, task, regime, seed)
    if getattr(classifier.regime, "explanation_first", False):
        raise ConfigError(f"regime '{classifier.regime.name}' writes its explanation before the label: the position "
                          "after the prompt does not predict the label, so the layer analysis does not apply")
    return classifier


def describe(classifier: Classifier, base: bool) -> tuple[str, dict]:
    """A short name for tables and plots, and the provenance kept in the result."""
    spec = classifier.description
    regime = spec["regime"].get("id") or spec["regime"]["name"]
    name = f"base model ({regime} prompts)" if base else f"{regime} seed {spec['seed']}"
    meta = {"model": spec["model"], "regime": regime, "seed": spec["seed"], "base": base,
            "training_folder": None if base or classifier.folder is None else str(classifier.folder)}
    return name, meta


def run_root(classifier: Classifier, path: str | Path) -> Path | None:
    """The run directory a classifier belongs to (None: a training folder moved out of its run)."""
    path = Path(path)
    if (path / "config.yaml").is_file():
        return path
    if classifier.folder is not None and len(classifier.folder.parents) > 3:
        root = classifier.folder.parents[3]  # <run>/adapters/<task>/<regime>/s<seed>
        if (root / "config.yaml").is_file():
            return root
    return None


def _task_key(classifier: Classifier) -> str:
    spec = classifier.description["task"]
    return spec.get("id") or spec["name"]


def test_examples(classifier: Classifier, path: str | Path) -> list[Example]:
    """The run's test examples (data/<task>-test.jsonl), or the task's seeded test split where the file is gone."""
    return _split(classifier, path, "test")


def _split(classifier: Classifier, path: str | Path, split: str) -> list[Example]:
    from faithex.io import read_jsonl

    root = run_root(classifier, path)
    data = RunDir(root).data(_task_key(classifier), split) if root else None
    if data is not None and data.is_file():
        return [Example.from_dict(row) for row in read_jsonl(data)]
    spec = classifier.description["task"]
    examples = classifier.task().examples(spec.get(f"n_{split}"), split)
    if not examples:
        raise RunDirectoryError(f"no {split} examples for task '{_task_key(classifier)}' of {path}")
    return examples


def prompt_options(classifier: Classifier, path: str | Path) -> PromptOptions:
    """The prompt options the run asked this classifier with (system prompt, in-context demonstrations)."""
    spec = classifier.description
    shots = spec["task"].get("icl_shots", 0) if classifier.regime.shows_demonstrations else 0
    demonstrations = tuple(_split(classifier, path, "train")[:shots]) if shots else ()
    return PromptOptions(system_prompt=spec.get("system_prompt", ""), demonstrations=demonstrations)


def _gold_index(task, example: Example) -> int | None:
    return task.labels.index(example.label) if example.label in task.labels else None
