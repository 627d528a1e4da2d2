"""Apply a trained classifier to new texts: `faithex predict RUN_DIR --input texts.jsonl --output predictions.jsonl`.

One output line per input text, with the answer, the log-probability of every label (the `score` protocol) and,
where the regime writes them, the explanation and the reasoning (its own protocol, e.g. paper 1's `two_step`).
Lines are appended and flushed batch by batch; a rerun with the same output file continues where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faithex.errors import DatasetError, RunDirectoryError
from faithex.io import append_jsonl, read_complete_jsonl
from faithex.regimes import PromptOptions, Regime, get_regime
from faithex.runner.rundir import CELL_FILE, SHARED
from faithex.tasks import Example, Task, get_task


@dataclass
class Classifier:
    """A trained (task, regime, seed) of a run directory, ready to be asked."""

    description: dict[str, Any]
    folder: Path | None
    """The training folder with the adapters (None: a zero-shot regime, the base model as it is)."""

    @property
    def regime(self) -> Regime:
        spec = self.description["regime"]
        return get_regime(spec["name"]).configured(**(spec.get("params") or {}))

    def task(self) -> Task:
        spec = self.description["task"]
        return get_task(spec["name"], seed=self.description["data_seed"], **spec.get("params", {}))


def find_classifier(path: str | Path, task: str | None = None, regime: str | None = None,
                    seed: int | None = None) -> Classifier:
    """The classifier in `path`: a training folder (holds faithex_cell.json), one of its adapter folders, or a run
    directory (then --task/--regime/--seed pick one training when it holds several)."""
    path = Path(path)
    for folder in (path, path.parent):
        if (folder / CELL_FILE).is_file():
            return Classifier(json.loads((folder / CELL_FILE).read_text(encoding="utf-8")), folder)
    if not (path / "config.yaml").is_file():
        raise RunDirectoryError(f"{path} is neither a faithex run directory nor a trained adapter folder")
    return _classifier_in_run(path, task, regime, seed)


def _classifier_in_run(run_dir: Path, task: str | None, regime: str | None, seed: int | None) -> Classifier:
    from faithex.runner import load_experiment
    from faithex.runner.rundir import RunDir

    experiment = load_experiment(run_dir / "config.yaml")
    tasks = {s.key: s for s in experiment.tasks if task in (None, s.key)}
    regimes = {s.key: s for s in experiment.regime_specs() if regime in (None, s.key)}
    seeds = [s for s in experiment.training_seeds() if seed in (None, s)]
    choices = [(t, r, s) for t in tasks for r in regimes for s in seeds]
    if len(choices) != 1:
        raise RunDirectoryError(
            f"{run_dir} holds {len(choices)} matching classifiers; pick one with --task ({', '.join(tasks) or '-'}), "
            f"--regime ({', '.join(regimes) or '-'}) and --seed ({', '.join(map(str, seeds)) or '-'})")
    task_key, regime_key, chosen_seed = choices[0]
    description = {"model": experiment.model, "task": tasks[task_key].model_dump(),
                   "data_seed": experiment.seed, "regime": regimes[regime_key].model_dump(),
                   "seed": chosen_seed, "system_prompt": experiment.system_prompt}
    spec = regimes[regime_key]  # a regime with `train_on` has one training for every task
    folder = RunDir(run_dir).training(SHARED if spec.train_on else task_key, regime_key, chosen_seed)
    if spec.regime().trains and not (folder / CELL_FILE).is_file():
        raise RunDirectoryError(f"{folder} holds no trained adapters: train that regime first")
    return Classifier(description, folder if folder.exists() else None)


def read_texts(path: str | Path, text_column: str = "text", id_column: str | None = None) -> list[tuple[str, str]]:
    """(id, text) of every row of a JSONL, CSV, TSV or Parquet file (read as the `dataset` task reads them); a row
    without a usable text, or a repeated id, is refused with its line."""
    from faithex.tasks.dataset import open_path, pick_part

    source = pick_part(open_path(str(path)), None, str(path), "split")
    texts, seen = [], set()
    for row in source.rows:
        text = row.values.get(text_column)
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{row.where}: no text in column '{text_column}' (columns: {', '.join(row.values)})")
        row_id = str(row.values.get(id_column)) if id_column else f"{Path(path).stem}-{row.number}"
        if row_id in seen:
            raise DatasetError(f"{row.where}: id '{row_id}' appears twice")
        seen.add(row_id)
        texts.append((row_id, text))
    if not texts:
        raise DatasetError(f"{path}: no texts")
    return texts


def predict(classifier: Classifier, texts: list[tuple[str, str]], output: str | Path, batch_size: int = 32,
            precision: str = "auto", on_batch=None) -> int:
    """Append one prediction per text not yet in `output`; returns how many were written."""
    done = predicted_ids(output)
    todo = [(i, t) for i, t in texts if i not in done]
    if todo:
        for batch in _predictions(classifier, todo, batch_size, precision, on_batch):
            append_jsonl(output, batch)
    return len(todo)


def predicted_ids(output: str | Path) -> set[str]:
    """Ids already in the predictions file `output` (none when it does not exist). A file that holds anything else
    is refused before any work: appending to it, or dropping its last line as a cut-off write, would damage it."""
    output = Path(output)
    if not output.is_file():
        return set()
    lines = output.read_bytes().split(b"\n")
    for number, line in enumerate(lines[:-1], 1):  # whole lines; the last is empty or a write cut short
        try:
            row = json.loads(line) if line.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            row = None
        if not isinstance(row, dict) or line.strip() and not {"id", "label_scores"} <= row.keys():
            raise DatasetError(f"{output}:{number}: not a predictions file of `faithex predict`; pass another --output")
    if lines[-1] and not lines[-1].startswith(b"{"):
        raise DatasetError(f"{output}:{len(lines)}: not a predictions file of `faithex predict`; pass another --output")
    return {row["id"] for row in read_complete_jsonl(output)}


def _predictions(classifier: Classifier, texts, batch_size: int, precision: str, on_batch) -> Iterator[list[dict]]:
    from faithex.lm.generation import render
    from faithex.lm.models import choose_precision, resolve_model
    from faithex.lm.scoring import label_scores
    from faithex.protocols import ProtocolContext, get_protocol
    from faithex.runner.run import load_cell_model

    task, regime = classifier.task(), classifier.regime
    names = [task.answer_text(label) for label in task.labels]
    examples = {i: Example(id=i, input=t, label=None, labels=list(task.labels)) for i, t in texts}
    model, tokenizer = load_cell_model(resolve_model(classifier.description["model"]), classifier.folder or Path(),
                                       regime)
    # The training split the regime was trained on: output budgets and in-context demonstrations come from it.
    train = task.examples(classifier.description["task"].get("n_train"), "train")
    shots = classifier.description["task"].get("icl_shots", 0) if regime.shows_demonstrations else 0
    context = ProtocolContext(model=model, tokenizer=tokenizer, regime=regime, task=task,
                              options=PromptOptions(system_prompt=classifier.description.get("system_prompt", ""),
                                                    demonstrations=tuple(train[:shots])),
                              train=train, batch_size=batch_size, precision=choose_precision(precision),
                              on_batch=on_batch)
    protocol = get_protocol(regime.default_protocol)
    order = list(examples)
    position = {text_id: k for k, text_id in enumerate(order)}
    for start in range(0, len(order), batch_size):  # batch by batch in input order, so the output keeps it
        chunk = [examples[i] for i in order[start: start + batch_size]]
        samples = sorted((s for batch in protocol.run(context, chunk) for s in batch), key=lambda s: position[s["id"]])
        if "label_scores" not in samples[0]:  # the regime's protocol generates: score the labels after its prompt
            context.activate("answer")
            prompts = [render(tokenizer, regime.prompt("answer", task, examples[s["id"]], context.options,
                                                       s["outputs"].get("reasoning"))) for s in samples]
            scores = label_scores(model, tokenizer, prompts, names, batch_size=batch_size, precision=context.precision)
            for sample, row in zip(samples, scores.summed):
                sample["label_scores"] = [float(v) for v in row]
        yield [_prediction(sample, names) for sample in samples]


def _prediction(sample: dict[str, Any], names: list[str]) -> dict[str, Any]:
    answer = sample["parsed"].get("answer")
    row = {"id": sample["id"], "text": sample["input"],
           "answer": names[answer] if answer is not None else None,
           "answer_text": sample["outputs"].get("answer"),
           "label_scores": {name: round(score, 6) for name, score in zip(names, sample["label_scores"])}}
    for kind in ("explanation", "reasoning"):
        if sample["outputs"].get(kind) is not None:
            row[kind] = sample["outputs"][kind]
    return row

