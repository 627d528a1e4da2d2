"""Crash-safe and continual LoRA training: checkpoints, resume after a kill, training on from an adapter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faithex.errors import ConfigError, ModelNotFoundError
from faithex.training import TrainConfig, lora, train_adapter

# Measured on the tiny model (fp32, dropout 0 and 0.1, killed in the first, at the boundary of, and inside a later
# epoch): a resumed adapter equals the uninterrupted one bit for bit. Any difference is a regression.
RESUME_TOLERANCE = 0.0

# 16 records, 4 per batch, 2 epochs: 8 optimiser steps, 4 per epoch. A high learning rate, so that a wrong batch
# order or a lost optimiser state shows in the weights.
SETTINGS = dict(precision="fp32", epochs=2, batch_size=4, lora_r=4, lora_alpha=8, learning_rate=1e-2, seed=3)
TOTAL_STEPS = 8
STEPS_PER_EPOCH = 4

# Run in a child process: train_adapter with every step slowed down, so the test can kill it between checkpoints.
SLOW_TRAINING = """
import json, sys, time
import faithex.training.lora as lora
model, records, settings, adapter_dir = json.loads(sys.argv[1])
fast_loss = lora._completion_loss
def slow_loss(model, inputs):
    time.sleep(0.3)
    return fast_loss(model, inputs)
lora._completion_loss = slow_loss
lora.train_adapter(model, records, lora.TrainConfig(**settings), adapter_dir)
"""


def make_records(count: int = 16, answer: str = "yes") -> list[dict]:
    """Prompt/completion conversations of varied lengths (so length grouping has something to sort)."""
    return [
        {
            "prompt": [{"role": "system", "content": ""}, {"role": "user", "content": f"item {i}" + " more" * (i % 5)}],
            "completion": [{"role": "assistant", "content": answer if i % 3 else "no"}],
        }
        for i in range(count)
    ]


def adapter_tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def max_difference(first: Path, second: Path) -> float:
    a, b = adapter_tensors(first), adapter_tensors(second)
    assert a.keys() == b.keys()
    return max((a[name] - b[name]).abs().max().item() for name in a)


def complete_checkpoint_steps(trainer_dir: Path) -> list[int]:
    """Steps of the checkpoints the trainer has finished writing (trainer_state.json comes last)."""
    return [int(c.name.split("-")[1]) for c in trainer_dir.glob("checkpoint-*") if (c / "trainer_state.json").is_file()]


def crash_after(monkeypatch, steps: int) -> None:
    """Make training raise after `steps` optimiser steps, as a crash would (one batch per step here)."""
    fast_loss, calls = lora._completion_loss, []

    def crashing_loss(model, inputs):
        calls.append(1)
        if len(calls) > steps:
            raise KeyboardInterrupt("simulated crash")
        return fast_loss(model, inputs)

    monkeypatch.setattr(lora, "_completion_loss", crashing_loss)


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir, tmp_path_factory) -> Path:
    """The adapter of the same training run without checkpoints or interruption."""
    folder = tmp_path_factory.mktemp("uninterrupted") / "adapter"
    train_adapter(tiny_model_dir, make_records(), TrainConfig(**SETTINGS, checkpoint_minutes=0), folder)
    return folder


def test_killed_training_resumes_to_the_same_adapter(tiny_model_dir, tmp_path, uninterrupted):
    adapter_dir = tmp_path / "adapter"
    settings = {**SETTINGS, "checkpoint_steps": 1}
    arguments = json.dumps([tiny_model_dir, make_records(), settings, str(adapter_dir)])
    with open(tmp_path / "child.log", "w") as log:
        child = subprocess.Popen([sys.executable, "-c", SLOW_TRAINING, arguments], stdout=log, stderr=log)
    trainer_dir = adapter_dir.with_name("adapter.partial") / "trainer"
    deadline = time.monotonic() + 120
    # Kill inside the second epoch: the hardest case for the batch order.
    while not any(step > STEPS_PER_EPOCH for step in complete_checkpoint_steps(trainer_dir)):
        assert child.poll() is None, (tmp_path / "child.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within two minutes"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not adapter_dir.exists()

    result = train_adapter(tiny_model_dir, make_records(), TrainConfig(**settings), adapter_dir)

    assert STEPS_PER_EPOCH < result.resumed_from_step < TOTAL_STEPS
    assert result.steps == TOTAL_STEPS
    assert max_difference(adapter_dir, uninterrupted) <= RESUME_TOLERANCE
    assert not trainer_dir.parent.exists()  # the staging folder (and its checkpoints) is gone once the adapter is in


@pytest.mark.parametrize(
    "crash_at, records_after_crash, resumes",
    [
        (2, make_records(), True),  # inside the first epoch
        (STEPS_PER_EPOCH, make_records(), True),  # at the epoch boundary
        (6, make_records(), True),  # inside the second epoch
        (6, make_records(answer="maybe"), False),  # other data: the checkpoint is not used
    ],
)
def test_resume_only_from_a_checkpoint_of_the_same_data(
    tiny_model_dir, tmp_path, monkeypatch, uninterrupted, crash_at, records_after_crash, resumes
):
    adapter_dir = tmp_path / "adapter"
    config = TrainConfig(**SETTINGS, checkpoint_steps=1)
    crash_after(monkeypatch, crash_at)
    with pytest.raises(KeyboardInterrupt):
        train_adapter(tiny_model_dir, make_records(), config, adapter_dir)
    monkeypatch.undo()

    result = train_adapter(tiny_model_dir, records_after_crash, config, adapter_dir)

    if resumes:
        assert result.resumed_from_step == crash_at
        assert max_difference(adapter_dir, uninterrupted) <= RESUME_TOLERANCE
    else:
        assert result.resumed_from_step is None
        fresh = train_adapter(tiny_model_dir, records_after_crash, config, tmp_path / "fresh")
        assert max_difference(adapter_dir, tmp_path / "fresh") == 0.0
        assert fresh.resumed_from_step is None


def test_a_checkpoint_cut_off_mid_write_is_skipped(tiny_model_dir, tmp_path, monkeypatch, uninterrupted):
    adapter_dir = tmp_path / "adapter"
    config = TrainConfig(**SETTINGS, checkpoint_steps=1)
    crash_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        train_adapter(tiny_model_dir, make_records(), config, adapter_dir)
    monkeypatch.undo()
    # A kill while the trainer writes checkpoint-4 leaves a folder without trainer_state.json beside checkpoint-3.
    broken = adapter_dir.with_name("adapter.partial") / "trainer" / "checkpoint-4"
    broken.mkdir()
    (broken / "adapter_model.safetensors").write_bytes(b"cut off")

    result = train_adapter(tiny_model_dir, make_records(), config, adapter_dir)

    assert result.resumed_from_step == 3
    assert max_difference(adapter_dir, uninterrupted) <= RESUME_TOLERANCE


def test_checkpoints_do_not_change_the_adapter(tiny_model_dir, tmp_path, uninterrupted):
    result = train_adapter(tiny_model_dir, make_records(), TrainConfig(**SETTINGS, checkpoint_steps=1), tmp_path / "a")
    assert result.resumed_from_step is None and result.init_adapter is None
    assert max_difference(tmp_path / "a", uninterrupted) == 0.0


def test_continual_training_starts_from_the_init_adapter(tiny_model_dir, tmp_path, uninterrupted):
    # A learning rate too small to move the weights: the result is the init adapter itself, not a fresh LoRA
    # (whose B matrices start at zero) and not the rank-16 default of this config.
    config = TrainConfig(precision="fp32", epochs=1, learning_rate=1e-9)
    result = train_adapter(tiny_model_dir, make_records(), config, tmp_path / "b", init_adapter=uninterrupted)

    assert result.init_adapter == str(uninterrupted)
    assert max_difference(tmp_path / "b", uninterrupted) < 1e-6
    assert json.loads((tmp_path / "b" / "adapter_config.json").read_text())["r"] == SETTINGS["lora_r"]


def test_continual_training_moves_on_from_the_init_adapter(tiny_model_dir, tmp_path, uninterrupted):
    config = TrainConfig(**{**SETTINGS, "epochs": 1})
    train_adapter(tiny_model_dir, make_records(), config, tmp_path / "on", init_adapter=uninterrupted)
    train_adapter(tiny_model_dir, make_records(), config, tmp_path / "fresh")
    assert max_difference(tmp_path / "on", uninterrupted) > 1e-4
    assert max_difference(tmp_path / "on", tmp_path / "fresh") > 1e-2


@pytest.mark.parametrize("files", [None, [], ["adapter_config.json"], ["adapter_config.json", "adapter_model.bin"]])
def test_init_adapter_must_be_a_safetensors_adapter_folder(tiny_model_dir, tmp_path, files):
    folder = tmp_path / "not-an-adapter"
    if files is not None:
        folder.mkdir()
        for name in files:
            (folder / name).write_text("{}")
    config = TrainConfig(precision="fp32")
    with pytest.raises(ModelNotFoundError, match="not-an-adapter"):
        train_adapter(tiny_model_dir, make_records(), config, tmp_path / "a", init_adapter=folder)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"loss_on": "prompt"}, "loss_on"),
        ({"lora_r": 0}, "positive"),
        ({"learning_rate": -1.0}, "positive"),
        ({"checkpoint_minutes": -1.0}, "checkpoint_minutes"),
        ({"checkpoint_steps": 0}, "checkpoint_steps"),
    ],
)
def test_bad_settings_are_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**settings)


def test_no_records_is_a_config_error(tiny_model_dir, tmp_path):
    with pytest.raises(ConfigError, match="no training records"):
        train_adapter(tiny_model_dir, [], TrainConfig(), tmp_path / "a")
