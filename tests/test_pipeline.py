"""End to end on a tiny model built in the test: data -> regime -> train -> protocol -> samples -> metrics."""

from __future__ import annotations

import json

import pytest

from faithex.io import read_jsonl
from faithex.runner import parse_experiment, run_experiment


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
    cells = {cell["regime"]: cell for cell in results["cells"]}
    assert set(cells) == set(configs)
    for name in configs:
        samples = read_jsonl(tmp_path / "samples" / f"decision_tree__{name}__{cells[name]['protocol']}__s0.jsonl")
        assert len(samples) == 4
        assert all(s["regime"] == name and s["gold"] in (0, 1) for s in samples)
        # a random tiny model writes garbage: it must be recorded as parse failures, never crash the run
        metrics = cells[name]["metrics"]
        assert 0.0 <= metrics["answer_accuracy"]["value"] <= 1.0
        for adapter in ("answer", "explanation") if name.startswith("separate") else ("joint",):
            assert (adapter_dir(tmp_path, name, adapter) / "adapter_model.safetensors").exists()
    reasoning = read_jsonl(tmp_path / "samples" / "decision_tree__joint_reasoning__two_step__s0.jsonl")
    assert all(s["protocol"] == "two_step" and s["outputs"]["reasoning"] is not None for s in reasoning)
    joint = read_jsonl(tmp_path / "samples" / "decision_tree__joint__direct__s0.jsonl")
    assert all(s["outputs"]["reasoning"] is None for s in joint)
    assert "reasoning_exact_match" not in cells["joint"]["metrics"]  # no reasoning: no column of NaN
    # the prompts actually sent are kept, in-context demonstrations included
    icl = read_jsonl(tmp_path / "samples" / "decision_tree__separate_icl__direct__s0.jsonl")
    assert all(s["prompts"]["answer"].count("ANSWER: ") == 1 and s["input"] in s["prompts"]["answer"] for s in icl)


def adapter_dir(run_dir, regime, adapter, task="decision_tree", seed=0):
    return run_dir / "adapters" / task / regime / f"s{seed}" / adapter


def test_rerun_reuses_adapters_and_samples(tiny_model_dir, tmp_path):
    experiment = tiny_experiment(tiny_model_dir, ["joint"])
    run_experiment(experiment, tmp_path)
    adapter = adapter_dir(tmp_path, "joint", "joint") / "adapter_model.safetensors"
    samples = tmp_path / "samples" / "decision_tree__joint__direct__s0.jsonl"
    before = (adapter.stat().st_mtime_ns, samples.stat().st_mtime_ns)
    results = tmp_path / "results.json"
    recorded = json.loads(results.read_text())
    assert recorded["cells"][0]["eval_seconds"] > 0
    recorded["cells"][0]["eval_seconds"] = 1000.0  # what the samples cost when they were written
    recorded["provenance"].update(git_commit="c0ffee", earlier_commits=["0ld"])  # and the code that wrote them
    results.write_text(json.dumps(recorded))
    rerun = run_experiment(experiment, tmp_path)
    assert (adapter.stat().st_mtime_ns, samples.stat().st_mtime_ns) == before
    # the reused samples keep what they cost (the report's timings), they are not counted as free
    assert rerun["cells"][0]["eval_seconds"] == 1000.0
    assert rerun["provenance"]["earlier_commits"] == ["0ld", "c0ffee"]
    # samples written again from scratch are timed anew, not added to the old time
    samples.unlink()
    again = run_experiment(experiment, tmp_path)["cells"][0]["eval_seconds"]
    assert 0 < again < 1000 and samples.exists()


def test_rerun_with_a_changed_experiment_is_refused_and_keeps_results(tiny_model_dir, tmp_path):
    from faithex.errors import RunDirectoryError

    run_experiment(tiny_experiment(tiny_model_dir, ["joint"]), tmp_path)
    results = (tmp_path / "results.json").read_bytes()
    with pytest.raises(RunDirectoryError, match="different experiment .*train changed"):
        run_experiment(tiny_experiment(tiny_model_dir, ["joint"], learning_rate=5e-4), tmp_path)
    assert (tmp_path / "results.json").read_bytes() == results
    # adding a configuration to the same experiment resumes: the trained adapter is reused
    adapter = adapter_dir(tmp_path, "joint", "joint") / "adapter_model.safetensors"
    trained = adapter.stat().st_mtime_ns
    extended = run_experiment(tiny_experiment(tiny_model_dir, ["joint", "joint_reasoning"]), tmp_path)
    assert {cell["regime"] for cell in extended["cells"]} == {"joint", "joint_reasoning"}
    assert adapter.stat().st_mtime_ns == trained
