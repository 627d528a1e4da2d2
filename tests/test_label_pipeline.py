"""The general pipeline on a tiny model built in the test: a user's CSV, zero-shot vs label-only, the `score` and
`generate` protocols, several seeds, paired tests, continual training, `Results`, resume after a kill, predict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from faithex.errors import ConfigError, RunDirectoryError
from faithex.io import read_jsonl
from faithex.report import Results
from faithex.runner import parse_experiment, run_experiment

POSITIVE = ["great movie", "lovely film", "nice one", "good fun", "fine acting", "superb", "a joy", "well made"]
NEGATIVE = ["awful plot", "bad film", "terrible", "boring", "dull acting", "a mess", "weak", "too long"]


@pytest.fixture
def reviews_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = [f"{text},positive" for text in POSITIVE] + [f"{text},negative" for text in NEGATIVE]
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    return path


def experiment(model_dir, csv, regimes, protocols=("score",), seeds=(0,), n_test=None, **extra):
    return parse_experiment({
        "name": "labels", "model": model_dir, "seeds": list(seeds),
        "tasks": [{"name": "dataset", "id": "reviews", "params": {"path": str(csv), "test_fraction": 0.25},
                   "n_train": None, "n_test": n_test}],
        "regimes": regimes, "protocols": list(protocols),
        "train": {"max_steps": 2, "batch_size": 4, "learning_rate": 1e-3, "precision": "fp32"},
        "inference": {"batch_size": 2, "precision": "fp32"}, **extra,
    })


def test_zero_shot_and_label_only_cells_over_seeds_with_paired_tests(tiny_model_dir, reviews_csv, tmp_path):
    results = run_experiment(experiment(tiny_model_dir, reviews_csv, ["zero_shot", "label_only"],
                                        protocols=("score", "generate"), seeds=(0, 1)), tmp_path)

    cells = {(c["regime"], c["protocol"], c["seed"]) for c in results["cells"]}
    assert cells == {(r, p, s) for r in ("zero_shot", "label_only") for p in ("score", "generate") for s in (0, 1)}
    assert results["tasks"]["reviews"]["labels"] == ["negative", "positive"]
    score = read_jsonl(tmp_path / "samples" / "reviews__label_only__score__s1.jsonl")
    assert len(score) == 4  # a quarter of 16 rows, stratified
    for sample in score:  # scoring never fails to parse, and keeps the prompt it sent
        assert sample["parse_failed"] == [] and len(sample["label_scores"]) == 2
        assert sample["parsed"]["answer"] == max((0, 1), key=lambda k: sample["label_scores"][k])
        assert "Label of this text (negative or positive)?" in sample["prompts"]["answer"]
        assert sample["input"] in sample["prompts"]["answer"]
    label_only = next(c for c in results["cells"] if c["regime"] == "label_only" and c["protocol"] == "score")
    assert {"answer_accuracy", "macro_f1", "recall/0", "recall/1"} <= set(label_only["metrics"])
    assert "explanation_accuracy" not in label_only["metrics"]  # metrics only where their fields exist
    assert sum(map(sum, label_only["confusion_matrix"]["matrix"])) == 4
    assert label_only["train"]["label"]["hyperparameters"]["learning_rate"] == 1e-3
    summary = {(s["regime"], s["protocol"]): s for s in results["seed_summaries"]}
    assert summary[("label_only", "score")]["metrics"]["answer_accuracy"]["n"] == 2
    paired = [c for c in results["comparisons"] if c["regime"] == "label_only" and c["seed"] == 0
              and c["metric"] == "answer_accuracy" and c["protocol"] == "score"]
    assert len(paired) == 1 and paired[0]["baseline"] == "zero_shot" and paired[0]["n"] == 4
    assert any(c["seed"] == "all" and c["test"] == "paired t-test over seeds" for c in results["comparisons"])

    loaded = Results.load(tmp_path)
    frame = loaded.to_frame()
    assert len(frame[(frame.metric == "answer_accuracy")]) == 8
    assert loaded.samples(regime="label_only", protocol="score", seed=1) == score
    assert loaded.compare({"regime": "label_only"}, {"regime": "zero_shot"}, protocol="score", seed=0)["n"] == 4


def test_continual_training_starts_from_the_other_regimes_adapter(tiny_model_dir, reviews_csv, tmp_path):
    regimes = ["label_only", {"name": "label_only", "id": "label_more", "starts_from": "label_only",
                              "train": {"learning_rate": 5e-4}}]
    results = run_experiment(experiment(tiny_model_dir, reviews_csv, regimes), tmp_path)
    more = next(c for c in results["cells"] if c["regime"] == "label_more")
    start = tmp_path / "adapters" / "reviews" / "label_only" / "s0" / "label"
    assert more["train"]["label"]["init_adapter"] == str(start)
    # the entry's own `train:` applies to its training only, over the experiment's
    first = next(c for c in results["cells"] if c["regime"] == "label_only")
    assert more["train"]["label"]["hyperparameters"]["learning_rate"] == 5e-4
    assert first["train"]["label"]["hyperparameters"]["learning_rate"] == 1e-3
    assert more["train"]["label"]["hyperparameters"]["max_steps"] == first["train"]["label"]["hyperparameters"][
        "max_steps"]
    # and changing it afterwards would reuse an adapter trained otherwise: refused, results kept
    regimes[1]["train"] = {"learning_rate": 1e-4}
    with pytest.raises(RunDirectoryError, match="regime label_more changed"):
        run_experiment(experiment(tiny_model_dir, reviews_csv, regimes), tmp_path)
    assert json.loads((tmp_path / "results.json").read_text())["cells"] == results["cells"]


def test_a_regimes_own_train_settings_are_checked_when_the_experiment_is_read(tiny_model_dir, reviews_csv):
    for train, message in (({"epoch": 6}, "regimes\\[1\\].train: unknown key 'epoch'; accepted: lora_r"),
                           ({"epochs": "many"}, "regimes\\[1\\].train: epochs"),
                           ({"seed": 3}, "`seed` is the experiment's")):
        regimes = ["label_only", {"name": "label_only", "id": "other", "train": train}]
        with pytest.raises(ConfigError, match=message):
            experiment(tiny_model_dir, reviews_csv, regimes)


def test_a_task_listed_twice_gets_its_own_data_and_cells(tiny_model_dir, tmp_path):
    tasks = [{"name": "decision_tree", "id": f"dt{c}", "params": {"comparisons": c, "decimals": 1}, "n_train": 4,
              "n_test": 3} for c in (1, 2)]
    spec = parse_experiment({"name": "twice", "model": tiny_model_dir, "tasks": tasks, "regimes": ["zero_shot"],
                             "protocols": ["generate"], "inference": {"precision": "fp32"}})
    results = run_experiment(spec, tmp_path)
    assert {c["task"] for c in results["cells"]} == {"dt1", "dt2"}
    first, second = (read_jsonl(tmp_path / "data" / f"dt{c}-test.jsonl") for c in (1, 2))
    assert first[0]["reasoning"].count(",") == 1 and second[0]["reasoning"].count(",") == 2


KILLED_RUN = """
import sys, time
from faithex.protocols import label
slow = label.Generate.run_batch
def run_batch(self, *args):  # slow enough to be killed in the middle of the evaluation
    time.sleep(0.3)
    return slow(self, *args)
label.Generate.run_batch = run_batch
from faithex.runner import parse_experiment, run_experiment
import json
run_experiment(parse_experiment(json.loads(sys.argv[1])), sys.argv[2])
"""


def test_an_evaluation_killed_with_sigkill_resumes_without_losing_or_repeating_samples(tiny_model_dir, tmp_path):
    spec = {"name": "kill", "model": tiny_model_dir, "seed": 0,
            "tasks": [{"name": "decision_tree", "params": {"comparisons": 1, "decimals": 1}, "n_train": 4,
                       "n_test": 24}],
            "regimes": ["zero_shot"], "protocols": ["generate"], "inference": {"batch_size": 2, "precision": "fp32"}}
    samples = tmp_path / "killed" / "samples" / "decision_tree__zero_shot__generate__s0.jsonl"
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, json.dumps(spec), str(tmp_path / "killed")])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if samples.exists() and samples.read_text().count("\n") >= 4:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the evaluation finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = samples.read_text().count("\n")
    assert 4 <= written < 24

    resumed = run_experiment(parse_experiment(spec), tmp_path / "killed")
    uninterrupted = run_experiment(parse_experiment(spec), tmp_path / "clean")
    rows = read_jsonl(samples)
    assert len(rows) == 24 and len({r["id"] for r in rows}) == 24
    clean = {r["id"]: r["outputs"] for r in read_jsonl(tmp_path / "clean" / samples.relative_to(tmp_path / "killed"))}
    assert {r["id"]: r["outputs"] for r in rows} == clean
    assert resumed["cells"][0]["metrics"] == uninterrupted["cells"][0]["metrics"]


def test_predict_writes_one_line_per_text_and_resumes(tiny_model_dir, reviews_csv, tmp_path):
    from faithex.predict import find_classifier, predict, read_texts

    run_experiment(experiment(tiny_model_dir, reviews_csv, ["label_only"]), tmp_path / "run")
    texts_file = tmp_path / "new.jsonl"
    texts_file.write_text("".join(json.dumps({"text": t, "id": f"n{i}"}) + "\n" for i, t in enumerate(
        ["what a film [/b]", "so dull", "<b>fine</b>"])))
    texts = read_texts(texts_file, id_column="id")
    output = tmp_path / "predictions.jsonl"
    adapter = tmp_path / "run" / "adapters" / "reviews" / "label_only" / "s0" / "label"
    for trained in (tmp_path / "run", adapter):  # a run directory or an adapter folder inside it
        output.unlink(missing_ok=True)
        assert predict(find_classifier(trained), texts, output) == 3
        rows = read_jsonl(output)
        assert [r["id"] for r in sorted(rows, key=lambda r: r["id"])] == ["n0", "n1", "n2"]
        for row in rows:
            assert set(row["label_scores"]) == {"negative", "positive"}
            assert row["answer"] == max(row["label_scores"], key=row["label_scores"].get)
    assert predict(find_classifier(tmp_path / "run"), texts, output) == 0  # all there: nothing redone
