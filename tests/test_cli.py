"""The command line: results for good input, one clear line and exit code 2 for bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from faithex.cli.main import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_tasks_lists_every_task_and_configuration():
    result = invoke("tasks")
    assert result.exit_code == 0
    for name in ("logistic_regression", "decision_tree", "mortgage", "joint_reasoning", "separate_icl"):
        assert name in result.output


def test_generate_writes_identical_files_for_the_same_seed(tmp_path):
    for folder in ("a", "b"):
        result = invoke("generate", "decision_tree", "--n-train", 5, "--n-test", 3, "-p", "comparisons=3",
                        "--out", tmp_path / folder)
        assert result.exit_code == 0, result.output
    first = (tmp_path / "a" / "decision_tree-train.jsonl").read_bytes()
    assert first == (tmp_path / "b" / "decision_tree-train.jsonl").read_bytes()
    rows = [json.loads(line) for line in first.decode().splitlines()]
    assert len(rows) == 5 and rows[0]["reasoning"].count(",") == 3


def write(path, text):
    path.write_text(text)
    return path


BAD_EXPERIMENT = "name: x\ntasks: [{name: decision_tree}]\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (("generate", "decison_tree"), "did you mean 'decision_tree'"),
        (("generate", "decision_tree", "-p", "depth=3"), "depth"),
        (("generate", "decision_tree", "-p", "depth"), "key=value"),
        (("run", "missing.yaml"), "not found"),
        (("validate", "missing.jsonl"), "no such file"),
        (("train", "--task", "decision_tree", "-c", "jointt"), "did you mean 'joint'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "text, message",
    [
        (BAD_EXPERIMENT + "train: {learning_rat: 0.1}\n", "learning_rat"),
        (BAD_EXPERIMENT + "colour: red\n", "colour"),
        ("name: x\ntasks: [{name: decision_tree, n_train: -1}]\n", "n_train"),
        ("name: x\ntasks: [{name: mortgag}]\n", "did you mean 'mortgage'"),
        ("name: [unclosed\n", "not valid YAML"),
        (BAD_EXPERIMENT + "configurations: [joint, bogus]\n", "bogus"),
    ],
)
def test_bad_experiment_files(text, message, tmp_path):
    result = invoke("validate", write(tmp_path / "exp.yaml", text))
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": "a", "input": "x", "label": 1}\n{broken', "data.jsonl:2"),
        ('{"id": "a", "input": "", "label": 1}', "data.jsonl:1: missing or empty text"),
        ('{"id": "a", "input": "x", "label": 7}', "data.jsonl:1: unknown label '7'"),
        ('{"id": "a", "label": 1}', "no column 'input'"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_datasets(line, message, tmp_path):
    path = write(tmp_path / "data.jsonl", line)
    result = invoke("validate", path, "-p", "text_column=input", "-p", "labels=[0, 1]")
    assert result.exit_code == 2
    assert message in result.output


def test_valid_experiment_and_dataset(tmp_path):
    assert invoke("validate", write(tmp_path / "e.yaml", BAD_EXPERIMENT)).exit_code == 0
    good = "".join(f'{{"id": "{i}", "text": "t{i}", "label": "{label}"}}\n' for i, label in enumerate("abab" * 3))
    result = invoke("validate", write(tmp_path / "d.jsonl", good))
    assert result.exit_code == 0, result.output
    assert "valid data, labels a, b: train 10 (a 5, b 5); test 2 (a 1, b 1)" in result.output


def test_a_failed_run_keeps_results_already_written(tmp_path, tiny_model_dir):
    run_dir = tmp_path / "runs" / "keep"
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text('{"kept": true}')
    exp = write(tmp_path / "keep.yaml", f"name: keep\nmodel: {tmp_path}/no-such-model\ntasks: [{{name: mortgage}}]\n")
    result = invoke("run", exp, "--out", tmp_path / "runs")
    assert result.exit_code == 2 and "not found" in result.output
    assert json.loads((run_dir / "results.json").read_text()) == {"kept": True}


def test_run_writes_the_report_and_refuses_a_changed_experiment_in_the_same_folder(tmp_path, tiny_model_dir):
    text = (f"name: tiny\nmodel: {tiny_model_dir}\n"
            "tasks: [{name: decision_tree, params: {comparisons: 1}, n_train: 4, n_test: 3}]\n"
            "configurations: [joint]\ntrain: {max_steps: 1, batch_size: 4}\ninference: {precision: fp32}\n")
    result = invoke("run", write(tmp_path / "tiny.yaml", text), "--out", tmp_path / "runs")
    run_dir = tmp_path / "runs" / "tiny"
    assert result.exit_code == 0, result.output
    assert "| decision_tree | joint |" in (run_dir / "report.md").read_text()
    assert (run_dir / "paper1.png").read_bytes()[:4] == b"\x89PNG"
    results = (run_dir / "results.json").read_bytes()

    changed = write(tmp_path / "tiny.yaml", text.replace("max_steps: 1", "max_steps: 2"))
    result = invoke("run", changed, "--out", tmp_path / "runs")
    assert result.exit_code == 2 and "different experiment" in result.output
    assert (run_dir / "results.json").read_bytes() == results


def test_train_then_evaluate_records_the_hyperparameters_actually_trained(tmp_path, tiny_model_dir):
    out = tmp_path / "runs" / "dt"
    common = ("--task", "decision_tree", "-c", "joint", "-p", "comparisons=1", "--n-train", 4, "--n-test", 3,
              "--model", tiny_model_dir, "--out", out)
    result = invoke("train", *common, "--learning-rate", 3e-4, "--batch-size", 2, "--epochs", 1)
    assert result.exit_code == 0, result.output
    result = invoke("evaluate", "--out", out)
    assert result.exit_code == 0, result.output
    cell = json.loads((out / "results.json").read_text())["cells"][0]
    hyperparameters = cell["train"]["joint"]["hyperparameters"]
    assert (hyperparameters["learning_rate"], hyperparameters["batch_size"]) == (3e-4, 2)
    assert cell["train"]["joint"]["steps"] == 4  # 4 examples x 2 instances (answer, explanation) / batch 2


def test_predict_from_the_command_line(tmp_path, tiny_model_dir):
    data = write(tmp_path / "d.csv", "text,label\n" + "".join(f"t{i},{'ab'[i % 2]}\n" for i in range(12)))
    text = (f"name: p\nmodel: {tiny_model_dir}\ntasks: [{{name: dataset, params: {{path: {data}}}, n_train: null, "
            "n_test: null}]\nregimes: [label_only]\ntrain: {max_steps: 1, batch_size: 4}\n"
            "inference: {precision: fp32}\n")
    assert invoke("run", write(tmp_path / "p.yaml", text), "--out", tmp_path / "runs").exit_code == 0
    texts = write(tmp_path / "new.csv", "text\nsome text\nanother [/b] text\n")
    output = tmp_path / "out.jsonl"
    result = invoke("predict", tmp_path / "runs" / "p", "--input", texts, "--output", output)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["text"] for row in rows] == ["some text", "another [/b] text"]
    assert all(row["answer"] in ("a", "b") and set(row["label_scores"]) == {"a", "b"} for row in rows)
    assert "2 new predictions" in result.output
