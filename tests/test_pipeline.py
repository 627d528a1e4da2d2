"""End to end on a tiny model built in the test: data -> regime -> train -> protocol -> samples -> metrics."""

from __future__ import annotations

import json

import pytest

from faithex.experiments import parse_experiment, run_experiment
from faithex.io import read_jsonl


def tiny_experiment(model_dir, configurations, **train):
    return parse_experiment({
        "name": "tiny",
        "model": model_dir,
        "tasks": [{"name": "decision_tree", "params": {"comparisons": 2, "decimals": 2},
                   "n_train": 6, "n_test": 4, "icl_shots": 1}],
        "configurations": configurations,
        "train": {"max_steps": 2, "batch_size": 4, "learning_rate": 1e-3, **train},
        "inference": {"batch_size": 3, "precision": "fp32"},
    })


def test_all_configurations_fill_the_run_directory(tiny_model_dir, tmp_path):
    configs = ["separate", "separate_icl", "joint", "joint_reasoning"]
    results = run_experiment(tiny_experiment(tiny_model_dir, configs), tmp_path)

    assert json.loads((tmp_path / "results.json").read_text())["tasks"]["decision_tree"]["n_test"] == 4
    task = results["tasks"]["decision_tree"]
    assert set(task["configurations"]) == set(configs)
    for name in configs:
        samples = read_jsonl(tmp_path / "samples" / f"decision_tree__{name}.jsonl")
        assert len(samples) == 4
        assert all(s["config"] == name and s["gold"] in (0, 1) for s in samples)
        # a random tiny model writes garbage: it must be recorded as parse failures, never crash the run
        metrics = task["configurations"][name]["metrics"]
        assert 0.0 <= metrics["answer_accuracy"]["value"] <= 1.0
        for adapter in ("answer", "explanation") if name.startswith("separate") else ("joint",):
            assert (tmp_path / "adapters" / "decision_tree" / name / adapter / "adapter_model.safetensors").exists()
    reasoning = read_jsonl(tmp_path / "samples" / "decision_tree__joint_reasoning.jsonl")
    assert all(s["protocol"] == "two_step" and s["outputs"]["reasoning"] is not None for s in reasoning)
    joint = read_jsonl(tmp_path / "samples" / "decision_tree__joint.jsonl")
    assert all(s["outputs"]["reasoning"] is None for s in joint)
    assert task["configurations"]["joint"]["metrics"]["reasoning_exact_match"]["n"] == 0


def test_rerun_reuses_adapters_and_samples(tiny_model_dir, tmp_path):
    experiment = tiny_experiment(tiny_model_dir, ["joint"])
    run_experiment(experiment, tmp_path)
    adapter = tmp_path / "adapters" / "decision_tree" / "joint" / "joint" / "adapter_model.safetensors"
    samples = tmp_path / "samples" / "decision_tree__joint.jsonl"
    before = (adapter.stat().st_mtime_ns, samples.stat().st_mtime_ns)
    run_experiment(experiment, tmp_path)
    assert (adapter.stat().st_mtime_ns, samples.stat().st_mtime_ns) == before


def test_rerun_with_a_changed_experiment_is_refused_and_keeps_results(tiny_model_dir, tmp_path):
    from faithex.experiments import ConfigError

    run_experiment(tiny_experiment(tiny_model_dir, ["joint"]), tmp_path)
    results = (tmp_path / "results.json").read_bytes()
    with pytest.raises(ConfigError, match="different experiment .*train changed"):
        run_experiment(tiny_experiment(tiny_model_dir, ["joint"], learning_rate=5e-4), tmp_path)
    assert (tmp_path / "results.json").read_bytes() == results
    # adding a configuration to the same experiment resumes: the trained adapter is reused
    adapter = tmp_path / "adapters" / "decision_tree" / "joint" / "joint" / "adapter_model.safetensors"
    trained = adapter.stat().st_mtime_ns
    extended = run_experiment(tiny_experiment(tiny_model_dir, ["joint", "joint_reasoning"]), tmp_path)
    assert set(extended["tasks"]["decision_tree"]["configurations"]) == {"joint", "joint_reasoning"}
    assert adapter.stat().st_mtime_ns == trained
