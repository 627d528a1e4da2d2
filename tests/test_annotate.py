"""`faithex annotate`: teacher explanations, written per batch and resumed after a kill; bad input is one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from faithex.cli.main import app
from faithex.explanations.teacher import (
    PROMPT_VERSION,
    TEACHER_SYSTEM,
    annotate,
    clean_explanation,
    read_annotations,
    teacher_conversation,
)
from faithex.tasks import get_task

runner = CliRunner()
N_ROWS = 30  # 24 training rows with test_fraction 0.2


@pytest.fixture(scope="module")
def chatty_model_dir(tmp_path_factory):
    """The tiny model with large random weights: the conftest one writes only newlines (empty explanations), this
    one writes text that differs from prompt to prompt, so that comparing outputs means something."""
    import torch
    from conftest import build_tiny_model, build_tokenizer

    tokenizer = build_tokenizer()
    model = build_tiny_model(len(tokenizer))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for weight in model.parameters():
            if weight.dim() > 1:
                weight.copy_(torch.randn(weight.shape, generator=generator) * 0.5)
    folder = tmp_path_factory.mktemp("chatty-llama")
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture
def reviews_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = [f"review number {i} was {'great' if i % 2 else 'awful'},{'positive' if i % 2 else 'negative'}"
            for i in range(N_ROWS)]
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    return path


def annotate_args(csv, out, model, *extra):
    return ["annotate", "--task", "dataset", "-p", f"path={csv}", "--model", model, "--out", str(out),
            "--batch-size", "2", "--max-new-tokens", "6", "--precision", "fp32", *extra]


def test_the_teacher_sees_the_question_the_input_and_the_gold_label():
    task = get_task("news_topic")
    example = task.examples(1, "train")[0]
    system, user = teacher_conversation(task, example)
    assert system == {"role": "system", "content": TEACHER_SYSTEM}
    label = task.label_names[example.label]
    assert user["content"] == (f"Topic of this BBC headline (business, entertainment, politics, sports or tech)?\n"
                               f"{example.input}\n\nLabel: {label}\n\nWhy is \"{label}\" the right label for this "
                               "text? Answer in one or two sentences that quote the words that show it.")


@pytest.mark.parametrize("raw, cleaned", [
    ("Explanation:  The tone is  bad.\nIt says \"awful\". A third one.", "The tone is bad. It says \"awful\"."),
    ("The text is negative. The tone is a", "The text is negative."),  # cut off by the token limit
    ("cut off mid", "cut off mid"),
    ("He said \"no.\" Then", "He said \"no.\""),
    ("", ""),
])
def test_clean_explanation(raw, cleaned):
    assert clean_explanation(raw) == cleaned


def test_annotate_writes_one_line_per_example_in_order_and_skips_them_on_a_rerun(chatty_model_dir, reviews_csv,
                                                                              tmp_path):
    from faithex.lm.models import load_model

    task = get_task("dataset", path=str(reviews_csv))
    examples = task.examples(5, "train")
    loaded = load_model(chatty_model_dir)
    out = tmp_path / "notes.jsonl"
    batches = []
    written = annotate(loaded.model, loaded.tokenizer, task, examples, out, teacher="tiny", batch_size=2,
                       max_new_tokens=4, precision="fp32", on_batch=batches.append)
    assert written == 5 and batches == [2, 2, 1]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [e.id for e in examples]
    assert [r["label"] for r in rows] == [e.label for e in examples]
    assert {(r["teacher"], r["prompt_version"]) for r in rows} == {("tiny", PROMPT_VERSION)}
    assert all(isinstance(r["explanation"], str) for r in rows) and len({r["explanation"] for r in rows}) > 1
    assert read_annotations(out) == {r["id"]: r for r in rows}
    before = out.read_bytes()
    assert annotate(loaded.model, loaded.tokenizer, task, examples, out, teacher="tiny") == 0
    assert out.read_bytes() == before


KILLED_ANNOTATE = """
import sys, time
from faithex.lm import generation
slow = generation.generate
def generate(*args, **kwargs):  # slow enough to be killed between batches
    time.sleep(0.4)
    return slow(*args, **kwargs)
generation.generate = generate
from faithex.cli.main import main
sys.argv = ["faithex", *sys.argv[1:]]
main()
"""


def test_a_killed_annotation_resumes_to_the_file_an_uninterrupted_run_writes(chatty_model_dir, reviews_csv,
                                                                            tmp_path):
    killed, clean = tmp_path / "killed.jsonl", tmp_path / "clean.jsonl"
    model = chatty_model_dir
    process = subprocess.Popen([sys.executable, "-c", KILLED_ANNOTATE, *annotate_args(reviews_csv, killed, model)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if killed.exists() and killed.read_bytes().count(b"\n") >= 2:  # at least one batch of 2
            break
        time.sleep(0.02)
    assert process.poll() is None, "the annotation finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = killed.read_bytes().count(b"\n")
    assert 2 <= written < 24

    resumed = runner.invoke(app, annotate_args(reviews_csv, killed, model))
    assert resumed.exit_code == 0, resumed.output
    assert f"{24 - written} new explanations" in resumed.output
    assert runner.invoke(app, annotate_args(reviews_csv, clean, model)).exit_code == 0
    assert killed.read_bytes() == clean.read_bytes()
    rows = [json.loads(line) for line in clean.read_bytes().splitlines()]
    assert len({r["id"] for r in rows}) == 24 and len({r["explanation"] for r in rows}) > 5
    again = runner.invoke(app, annotate_args(reviews_csv, clean, model))
    assert again.exit_code == 0 and "all 24 examples already annotated" in again.output


@pytest.mark.parametrize("case, message", [
    ("unknown_task", "did you mean 'dataset'"),
    ("not_annotations", "not an annotations file of `faithex annotate`"),
    ("other_teacher", "written by teacher 'someone else'"),
    ("generator_without_n", "say how many with --n"),
    ("folder", "it is a folder"),
])
def test_bad_input_is_one_line_and_exit_code_2(case, message, tiny_model_dir, reviews_csv, tmp_path):
    out = tmp_path / "notes.jsonl"
    args = annotate_args(reviews_csv, out, tiny_model_dir)
    if case == "unknown_task":
        args[2] = "datasett"
    elif case == "not_annotations":
        out.write_text('{"id": "a", "label_scores": {}}\n')
    elif case == "other_teacher":
        out.write_text(json.dumps({"id": "a", "explanation": "x", "label": 0, "teacher": "someone else",
                                   "prompt_version": PROMPT_VERSION}) + "\n")
    elif case == "generator_without_n":
        args = ["annotate", "--task", "decision_tree", "--out", str(out), "--model", tiny_model_dir]
    elif case == "folder":
        out.mkdir()
    before = out.read_bytes() if out.is_file() else None
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert (out.read_bytes() if out.is_file() else None) == before
