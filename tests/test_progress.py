"""Library progress output: in a log (stderr not a terminal) no per-step bars, only faithex's own lines and the
trainer's loss lines; on a terminal the trainer's bar stays. datasets' per-map bars are always off."""

from __future__ import annotations

import sys

import pytest


class Stream:
    def __init__(self, terminal):
        self.terminal = terminal

    def isatty(self):
        return self.terminal

    def write(self, text):
        return len(text)

    def flush(self):
        pass


@pytest.fixture
def restore_bars():
    import datasets
    from transformers.utils import logging as transformers_logging

    yield
    datasets.enable_progress_bars()
    transformers_logging.enable_progress_bar()


@pytest.mark.parametrize("terminal", [False, True])
def test_bars_follow_whether_stderr_is_a_terminal(terminal, monkeypatch, tmp_path, restore_bars):
    import datasets
    from transformers.utils import logging as transformers_logging

    from faithex.progress import quiet_libraries
    from faithex.training.lora import TrainConfig, sft_config

    monkeypatch.setattr(sys, "stderr", Stream(terminal))
    quiet_libraries()
    assert not datasets.is_progress_bar_enabled()
    assert transformers_logging.is_progress_bar_enabled() is terminal
    assert sft_config(TrainConfig(), tmp_path, "fp32").disable_tqdm is not terminal
