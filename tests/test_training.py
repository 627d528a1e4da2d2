"""Training data and loss mask: decode one collated batch and check which tokens carry the loss."""

from __future__ import annotations

import pytest

from faithex.regimes import get_configuration, training_records
from faithex.tasks import get_task
from faithex.training import TrainConfig, build_trainer, loss_mask_preview


@pytest.fixture(scope="module")
def task():
    return get_task("decision_tree", seed=0, comparisons=2, decimals=2)


def test_joint_reasoning_has_three_texts_per_example(task):
    examples = task.examples(2, "train")
    records = training_records(get_configuration("joint_reasoning"), task, examples)
    assert list(records) == ["joint"]
    rows = records["joint"]
    assert len(rows) == 6
    first = examples[0]
    assert rows[0]["prompt"][-1] == {"role": "user", "content": first.input}
    assert rows[0]["completion"][0]["content"] == first.reasoning
    assert [m["content"] for m in rows[1]["prompt"][-2:]] == [first.reasoning, "ANSWER"]
    assert rows[1]["completion"][0]["content"] == str(first.label)
    assert rows[2]["prompt"][-1]["content"] == "EXPLAIN"
    assert rows[2]["completion"][0]["content"] == first.explanation
    assert all(r["prompt"][0] == {"role": "system", "content": ""} for r in rows)


def test_separate_icl_draws_a_new_classifier_per_example(task):
    examples = task.examples(3, "train")
    records = training_records(get_configuration("separate_icl"), task, examples, icl_shots=2)
    inputs = [r["prompt"][-1]["content"] for r in records["answer"]]
    assert all(text.count("ANSWER: ") == 2 for text in inputs)
    assert all(text.count("\nEXPLANATION: ") == 2 for text in inputs)  # C1's demonstration format
    assert len(set(inputs)) == 3
    assert not any(e.input in text for e in examples for text in inputs)


def test_mortgage_has_no_icl_configuration():
    mortgage = get_task("mortgage", seed=0)
    with pytest.raises(ValueError, match="no in-context"):
        training_records(get_configuration("separate_icl"), mortgage, mortgage.examples(1, "train"), icl_shots=1)


@pytest.mark.parametrize("loss_on", ["completion", "all"])
def test_loss_mask_of_a_collated_batch(tiny_model_dir, tmp_path, task, loss_on):
    example = task.examples(1, "train")[0]
    rows = training_records(get_configuration("joint_reasoning"), task, [example])["joint"]
    trainer, _ = build_trainer(tiny_model_dir, rows, TrainConfig(loss_on=loss_on, precision="fp32"), tmp_path)
    preview = loss_mask_preview(trainer, count=3)
    targets = [example.reasoning, str(example.label), example.explanation]
    for (text, loss_text), target in zip(preview, targets):
        if loss_on == "completion":
            # exactly the assistant's target and its end-of-turn marker: no prompt, no padding
            assert loss_text.startswith(target) and loss_text.replace(target, "", 1).strip() == "<|im_end|>"
        else:
            assert example.input in loss_text and target in loss_text
        assert "<|im_start|>system" in text


def test_train_config_rejects_bad_values():
    with pytest.raises(ValueError, match="loss_on"):
        TrainConfig(loss_on="prompt")
    with pytest.raises(TypeError):
        TrainConfig(learning_rat=1e-3)


def test_trainer_defaults_skip_the_slow_paths(tiny_model_dir, tmp_path, task):
    # TRL turns activation checkpointing on by default (a second forward per step); on a small model it only costs
    rows = training_records(get_configuration("joint"), task, task.examples(4, "train"))["joint"]
    trainer, _ = build_trainer(tiny_model_dir, rows, TrainConfig(precision="fp32"), tmp_path)
    assert trainer.args.gradient_checkpointing is False
    assert trainer.args.train_sampling_strategy == "group_by_length"


def test_bf16_training_computes_its_loss_under_autocast(tiny_model_dir, tmp_path, task):
    """The fast loss calls the backbone directly, past accelerate's autocast wrapper: it must enter autocast itself."""
    import torch

    rows = training_records(get_configuration("joint"), task, task.examples(4, "train"))["joint"]
    losses = {}
    for precision in ("fp32", "bf16"):
        config = TrainConfig(precision=precision, max_steps=1, batch_size=4, checkpoint_minutes=0)
        trainer, _ = build_trainer(tiny_model_dir, rows, config, tmp_path / precision)
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(4)])
        with torch.no_grad():
            losses[precision] = trainer.compute_loss(trainer.model, batch).item()
    assert losses["bf16"] != losses["fp32"]  # bf16 matmuls round differently
    assert abs(losses["bf16"] - losses["fp32"]) < 0.05 * losses["fp32"]
