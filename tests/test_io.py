"""Run-directory writes: whole or not at all, readable like any other file the user creates."""

from __future__ import annotations

import os
import stat

import pytest

from faithex.io import atomic_write_text, read_jsonl, write_jsonl


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    atomic_write_text(path, '{"kept": true}\n')
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "\ud800")  # a lone surrogate cannot be encoded: the write fails midway
    assert path.read_text() == '{"kept": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_written_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        write_jsonl(tmp_path / "samples.jsonl", [{"id": "a"}])
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "samples.jsonl").stat().st_mode) == 0o644
    assert read_jsonl(tmp_path / "samples.jsonl") == [{"id": "a"}]
