"""Model loading: every path that loads base weights (inference and training) refuses pickled checkpoints."""

from __future__ import annotations

import shutil

import pytest

from faithex.lm.models import ModelNotFoundError, load_model
from faithex.training import TrainConfig, build_trainer


@pytest.fixture
def pickled_model_dir(tiny_model_dir, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not to be unpickled")
    return str(folder)


def test_inference_refuses_pickled_weights(pickled_model_dir):
    with pytest.raises(ModelNotFoundError, match="no .safetensors weights"):
        load_model(pickled_model_dir)


def test_training_refuses_pickled_weights(pickled_model_dir, tmp_path):
    rows = [{"prompt": [{"role": "user", "content": "X"}], "completion": [{"role": "assistant", "content": "1"}]}]
    with pytest.raises(ModelNotFoundError, match="no .safetensors weights"):
        build_trainer(pickled_model_dir, rows, TrainConfig(precision="fp32"), tmp_path / "out")
