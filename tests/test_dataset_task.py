"""The `dataset` task: the user's files in every format, label handling, splits, and the errors bad rows raise."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from faithex.errors import ConfigError, DatasetError
from faithex.tasks import get_task
from faithex.tasks.dataset import check_dataset

# 20 rows, 12 "neg" and 8 "pos": a 0.2 split leaves 4 test rows (2 + 2 after rounding 2.4 and 1.6).
ROWS = [
    {"text": f"review number {i}", "label": "pos" if i % 5 in (1, 3) else "neg", "why": f"reason {i}"}
    for i in range(20)
]


# -- writers: the same rows in every format the task reads -------------------------------------------------------
def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_saved_dataset(path: Path, rows: list[dict]) -> Path:
    from datasets import Dataset

    Dataset.from_list(rows).save_to_disk(str(path))
    return path


WRITERS = {
    "data.jsonl": write_jsonl,
    "data.csv": write_csv,
    "data.tsv": lambda path, rows: write_csv(path, rows, "\t"),
    "data.parquet": write_parquet,
    "saved": write_saved_dataset,
}


def task_for(path: Path, **params):
    return get_task("dataset", path=str(path), **params)


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_reads_the_same_rows(tmp_path, name):
    task = task_for(WRITERS[name](tmp_path / name, ROWS), explanation_column="why")
    assert task.label_names == ("neg", "pos") and task.labels == (0, 1)
    examples = task.examples(None, "train") + task.examples(None, "test")
    assert sorted(e.input for e in examples) == sorted(row["text"] for row in ROWS)
    assert Counter(e.meta["label_name"] for e in examples) == {"neg": 12, "pos": 8}
    by_text = {row["text"]: row for row in ROWS}
    assert all(e.explanation == by_text[e.input]["why"] for e in examples)
    assert all(task.label_names[e.label] == by_text[e.input]["label"] for e in examples)


def test_the_seeded_split_is_stratified_deterministic_and_disjoint(tmp_path):
    path = write_jsonl(tmp_path / "data.jsonl", ROWS)
    task = task_for(path)
    train, test = task.examples(None, "train"), task.examples(None, "test")
    assert (len(train), len(test)) == (16, 4)
    assert Counter(e.meta["label_name"] for e in test) == {"neg": 2, "pos": 2}
    assert not {e.id for e in train} & {e.id for e in test}
    assert [e.to_json() for e in test] == [e.to_json() for e in task_for(path).examples(None, "test")]
    other_seeds = {tuple(sorted(e.id for e in task.examples(None, "test", seed=s))) for s in range(1, 6)}
    assert other_seeds - {tuple(sorted(e.id for e in test))}
    half = task_for(path, test_fraction=0.5)
    assert len(half.examples(None, "test")) == 10
    assert Counter(e.meta["label_name"] for e in task.examples(5, "train")) == {"neg": 3, "pos": 2}


def test_a_second_file_is_the_test_split(tmp_path):
    test_rows = [{"text": f"held out {i}", "label": "pos" if i % 2 else "neg"} for i in range(6)]
    task = task_for(
        write_csv(tmp_path / "train.csv", ROWS), test_path=str(write_jsonl(tmp_path / "t.jsonl", test_rows))
    )
    assert len(task.examples(None, "train")) == 20
    test = task.examples(None, "test")
    assert sorted(e.input for e in test) == sorted(row["text"] for row in test_rows)
    assert {e.id for e in test} == {f"dataset-test-{line}" for line in range(1, 7)}
    assert all(e.explanation is None and e.meta["source"] == "test_path" for e in test)
    assert len(task.examples(4, "test")) == 4


def test_a_saved_dataset_dict_gives_its_parts_by_name(tmp_path):
    from datasets import Dataset, DatasetDict

    parts = {"train": Dataset.from_list(ROWS[:14]), "validation": Dataset.from_list(ROWS[14:])}
    folder = tmp_path / "dict"
    DatasetDict(parts).save_to_disk(str(folder))
    task = task_for(folder, test_split="validation")
    assert len(task.examples(None, "train")) == 14 and len(task.examples(None, "test")) == 6
    swapped = task_for(folder, split="validation", test_fraction=0.5)
    assert len(swapped.examples(None, "train")) + len(swapped.examples(None, "test")) == 6


def test_a_class_label_column_keeps_its_names_and_order(tmp_path):
    from datasets import ClassLabel, Dataset, Features, Value

    features = Features({"text": Value("string"), "label": ClassLabel(names=["pos", "neg"])})
    rows = [{"text": row["text"], "label": 0 if row["label"] == "pos" else 1} for row in ROWS]
    folder = tmp_path / "classlabel"
    Dataset.from_list(rows, features=features).save_to_disk(str(folder))
    task = task_for(folder)
    assert task.label_names == ("pos", "neg")
    examples = task.examples(None, "train") + task.examples(None, "test")
    assert all(task.label_names[e.label] == {r["text"]: r["label"] for r in ROWS}[e.input] for e in examples)


def test_a_folder_of_data_files_goes_through_load_dataset(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    folder = tmp_path / "files"
    folder.mkdir()
    write_csv(folder / "train.csv", ROWS)
    write_csv(folder / "test.csv", ROWS[:5])
    task = task_for(folder, test_split="test")
    assert len(task.examples(None, "train")) == 20 and len(task.examples(None, "test")) == 5


def test_a_hub_id_is_loaded_with_load_dataset_and_nothing_else(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        return datasets.DatasetDict(
            {"train": datasets.Dataset.from_list(ROWS), "test": datasets.Dataset.from_list(ROWS[:4])}
        )

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    task = get_task("dataset", path="someone/reviews", test_split="test")
    assert calls == [(("someone/reviews",), {})]  # no trust_remote_code, no other option
    assert len(task.examples(None, "test")) == 4
    assert task.sources == {"train": "someone/reviews [train]", "test": "someone/reviews [test]"}


def test_a_hub_id_that_cannot_be_loaded_is_one_dataset_error(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach the Hugging Face Hub\nmore details")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DatasetError, match=r"^someone/reviews: cannot load .*Couldn't reach the Hugging Face Hub\)$"):
        get_task("dataset", path="someone/reviews")


@pytest.mark.parametrize(
    "labels_in_file, labels_param, names",
    [
        ([0, 1, 2, 10], None, ("0", "1", "2", "10")),  # integers: numeric order
        (["0", "1", "2", "10"], None, ("0", "1", "2", "10")),  # digits in a CSV or JSON string: numeric too
        (["b", "a", "c", "a"], None, ("a", "b", "c")),
        (["b", "a", "c", "a"], ["c", "b", "a"], ("c", "b", "a")),  # the order the user gives
        ([1, 0, 1, 0], ["1", "0"], ("1", "0")),
        ([1.0, 0.0, 1.0, 0.0], None, ("0", "1")),  # Parquet/pandas floats that are whole numbers
        (["neg", "pos", "neg", "pos"], "pos,neg", ("pos", "neg")),  # -p labels=pos,neg on the command line
        (["neg", "pos", "neg", "pos"], ["neg", "pos", "mixed"], ("neg", "pos", "mixed")),  # an unseen label is fine
    ],
)
def test_label_values_and_order(tmp_path, labels_in_file, labels_param, names):
    rows = [{"text": f"text {i} {label}", "label": label} for i, label in enumerate(labels_in_file * 3)]
    task = task_for(write_jsonl(tmp_path / "data.jsonl", rows), labels=labels_param)
    assert task.label_names == names
    examples = task.examples(None, "train") + task.examples(None, "test")
    by_text = {row["text"]: row["label"] for row in rows}
    assert all(task.label_names[e.label] == str(by_text[e.input]).removesuffix(".0") for e in examples)
    assert all(name in task.instruction for name in names)


def test_ids_explanations_and_instruction_from_the_users_columns(tmp_path):
    rows = [
        {"uid": f"r{i}", "body": row["text"], "y": row["label"], "why": "" if i == 0 else row["why"]}
        for i, row in enumerate(ROWS)
    ]
    task = task_for(
        write_csv(tmp_path / "data.csv", rows),
        text_column="body",
        label_column="y",
        id_column="uid",
        explanation_column="why",
        instruction="Is this review negative or positive?",
    )
    examples = {e.id: e for e in task.examples(None, "train") + task.examples(None, "test")}
    assert set(examples) == {f"r{i}" for i in range(20)}
    assert examples["r0"].explanation is None and examples["r3"].explanation == "reason 3"
    assert task.user_text(examples["r3"]) == "Is this review negative or positive?\nreview number 3"


def test_default_ids_are_the_line_numbers_and_stay_put(tmp_path):
    task = task_for(write_csv(tmp_path / "data.csv", ROWS))
    assert {e.id for e in task.examples(None, "train") + task.examples(None, "test")} == {
        f"dataset-{line}" for line in range(2, 22)
    }  # line 1 is the header


def test_a_byte_order_mark_and_quoted_line_breaks_are_fine(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b'\xef\xbb\xbftext,label\n"two\nlines",a\nthree,b\n"x",a\n"y",b\n')
    task = task_for(path)
    assert task.label_names == ("a", "b")
    assert {e.id for e in task.examples(None, "train") + task.examples(None, "test")} == {
        "dataset-2",
        "dataset-4",
        "dataset-5",
        "dataset-6",
    }


def test_check_dataset_summarises_counts_per_split_and_label(tmp_path):
    path = write_csv(tmp_path / "data.csv", ROWS + [ROWS[0]])  # one repeated text
    summary = check_dataset(path=str(path), explanation_column="why")
    assert summary["labels"] == ["neg", "pos"]
    assert summary["splits"]["train"]["total"] + summary["splits"]["test"]["total"] == 21
    assert summary["splits"]["test"]["per_label"] == {"neg": 3, "pos": 2}
    assert summary["splits"]["train"]["with_explanation"] == summary["splits"]["train"]["total"]
    assert summary["duplicate_texts"] == 1 and "test_fraction 0.2" in summary["test_from"]
    json.dumps(summary)  # printable as JSON by the command line
    with pytest.raises(ConfigError, match="unknown parameter 'text_col'"):
        check_dataset(path=str(path), text_col="text")


def test_describe_records_parameters_labels_and_a_data_digest(tmp_path):
    csv_task = task_for(write_csv(tmp_path / "data.csv", ROWS))
    described = csv_task.describe()
    assert described["path"] == str(tmp_path / "data.csv") and described["label_names"] == ["neg", "pos"]
    assert described["test_fraction"] == 0.2 and len(described["data_sha256"]) == 64
    assert described["data_sha256"] == task_for(write_csv(tmp_path / "same.csv", ROWS)).describe()["data_sha256"]
    changed = ROWS[:-1] + [{**ROWS[-1], "label": "pos"}]
    assert described["data_sha256"] != task_for(write_csv(tmp_path / "other.csv", changed)).describe()["data_sha256"]


# -- bad inputs: one table; each message names the file, the line and the reason ----------------------------------
GOOD_CSV = "text,label\nfine,a\nalso fine,b\n"
BAD_INPUTS = [
    # (file name, bytes, parameters, where, reason)
    ("d.csv", "text,label\nfine,a\n,b\n", {}, "d.csv:3", "missing or empty text in column 'text'"),
    ("d.csv", 'text,label\nfine,a\n"   ",b\n', {}, "d.csv:3", "missing or empty text"),
    (
        "d.csv",
        'text,label\n"two\nlines",a\nok,b\nbad,c\n',
        {"labels": ["a", "b"]},
        "d.csv:5",
        "unknown label 'c' in column 'label'; labels: a, b",
    ),
    ("d.csv", "text,label\nfine,a\nnone,\n", {}, "d.csv:3", "missing label"),
    ("d.csv", "id,text,label\n1,x,a\n2,y,b\n1,z,a\n", {"id_column": "id"}, "d.csv:4", "duplicated id '1' (first at "),
    ("d.csv", b"text,label\nfine,a\ncaf\xe9,b\n", {}, "d.csv:3", "not valid UTF-8 (byte 0xe9)"),
    ("d.csv", "body,label\nfine,a\nok,b\n", {}, "d.csv:1", "no column 'text'; columns present: 'body', 'label'"),
    ("d.csv", GOOD_CSV, {"explanation_column": "why"}, "d.csv:1", "no column 'why'"),
    ("d.csv", "text,label\nfine,a,extra\n", {}, "d.csv:2", "3 fields, but the header has 2"),
    ("d.csv", "", {}, "d.csv:1", "empty file"),
    (
        "d.jsonl",
        '{"text": "x", "label": "a"}\n{"text": "y"}\n',
        {},
        "d.jsonl:2",
        "no column 'label'; columns present: 'text'",
    ),
    ("d.jsonl", '{"text": "x", "label": "a"}\n\n{"text": "y", "label": "b"\n', {}, "d.jsonl:3", "not valid JSON"),
    ("d.jsonl", '{"text": "x", "label": "a"}\n["y", "b"]\n', {}, "d.jsonl:2", "expected one JSON object per line"),
    (
        "d.jsonl",
        '{"text": "x", "label": "a"}\n{"text": 7, "label": "b"}\n',
        {},
        "d.jsonl:2",
        "text in column 'text' is a int, not a string",
    ),
    (
        "d.jsonl",
        '{"text": "x", "label": "a"}\n{"text": "y", "label": null}\n{"text": "z", "label": "b"}\n',
        {},
        "d.jsonl:2",
        "missing label",
    ),
    (
        "d.jsonl",
        '{"text": "x", "label": "a"}\n{"text": "y", "label": true}\n{"text": "z", "label": "b"}\n',
        {},
        "d.jsonl:2",
        "label True is neither a string nor an integer",
    ),
    (
        "d.jsonl",
        '{"text": "x", "label": 0}\n{"text": "y", "label": 1.5}\n{"text": "z", "label": 1}\n',
        {},
        "d.jsonl:2",
        "label 1.5 is neither",
    ),
    (
        "d.jsonl",
        '{"text": "x", "label": "a"}\n{"text": "y", "label": "a"}\n',
        {},
        "d.jsonl",
        "found 1 distinct label(s) in column 'label'; a classifier needs at least two",
    ),
    ("d.txt", GOOD_CSV, {}, "d.txt", "unknown file type '.txt'"),
    ("missing.csv", None, {}, "missing.csv", "no such file or folder"),
    ("d.parquet", b"not parquet at all", {}, "d.parquet", "not a readable Parquet file"),
]


def make_file(tmp_path: Path, name: str, content: str | bytes | None) -> Path:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(
    "name, content, params, where, reason", BAD_INPUTS, ids=[f"{row[0]}-{row[4][:30]}" for row in BAD_INPUTS]
)
def test_bad_inputs_name_the_file_the_line_and_the_reason(tmp_path, name, content, params, where, reason):
    path = make_file(tmp_path, name, content)
    with pytest.raises(DatasetError) as raised:
        task_for(path, **params)
    message = str(raised.value)
    assert message.startswith(str(tmp_path / where)) and reason in message and "\n" not in message


def test_bad_rows_in_parquet_and_in_the_test_file_are_named_too(tmp_path):
    parquet = write_parquet(tmp_path / "d.parquet", [{"text": "x", "label": "a"}, {"text": "", "label": "b"}])
    with pytest.raises(DatasetError, match=r"d\.parquet, row 2: missing or empty text"):
        task_for(parquet)
    test_file = make_file(tmp_path, "test.csv", "text,label\nok,a\nhm,z\n")
    with pytest.raises(DatasetError, match=r"test\.csv:3: unknown label 'z'"):
        task_for(make_file(tmp_path, "train.csv", GOOD_CSV), test_path=str(test_file))
    same_ids = make_file(tmp_path, "test_ids.csv", "id,text,label\n9,p,a\n1,q,b\n")
    with pytest.raises(DatasetError, match=r"test_ids\.csv:3: duplicated id '1' \(first at .*train_ids\.csv:2\)"):
        task_for(
            make_file(tmp_path, "train_ids.csv", "id,text,label\n1,x,a\n2,y,b\n"),
            id_column="id",
            test_path=str(same_ids),
        )


@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "parameter 'path' is required|parameter 'path' must name"),
        ({"path": ""}, "parameter 'path' must name"),
        ({"path": "PATH", "test_fraction": 0}, "'test_fraction'"),
        ({"path": "PATH", "test_fraction": 1}, "'test_fraction'"),
        ({"path": "PATH", "labels": ["a"]}, "at least two distinct"),
        ({"path": "PATH", "labels": ["a", "a"]}, "at least two distinct"),
        ({"path": "PATH", "labels": [True, False]}, "list of label names"),
        ({"path": "PATH", "labels": {"a": 1}}, "list of label names"),
        ({"path": "PATH", "text_column": "label"}, "must differ"),
        ({"path": "PATH", "text_column": ""}, "'text_column' must be a non-empty string"),
        ({"path": "PATH", "id_column": 3}, "'id_column' must be a non-empty string"),
        ({"path": "PATH", "test_path": "PATH", "test_split": "test"}, "not both"),
        ({"path": "PATH", "split": "train"}, "names a part of a dataset dict"),
        ({"path": "PATH", "test_split": "test"}, "names a part of a dataset dict"),
        ({"path": "PATH", "split": "x", "test_split": "x"}, "train and test must differ"),
        ({"path": "PATH", "max_rows": 3}, "unknown parameter 'max_rows'"),
    ],
)
def test_bad_parameters_are_config_errors(tmp_path, params, message):
    path = str(make_file(tmp_path, "d.csv", GOOD_CSV))
    params = {key: path if value == "PATH" else value for key, value in params.items()}
    with pytest.raises(ConfigError, match=message):
        get_task("dataset", **params)


def test_a_part_the_dataset_dict_lacks_is_named_with_the_parts_it_has(tmp_path):
    from datasets import Dataset, DatasetDict

    folder = tmp_path / "dict"
    DatasetDict({"train": Dataset.from_list(ROWS)}).save_to_disk(str(folder))
    with pytest.raises(ConfigError, match=r"'test_split'='test': .* has the parts train"):
        task_for(folder, test_split="test")
