"""The user's own labelled texts as a task: a JSONL, CSV/TSV or Parquet file, a `datasets` folder, or a hub id.

    faithex generate dataset -p path=reviews.csv -p text_column=review -p label_column=stars
    faithex validate reviews.csv -p text_column=review -p label_column=stars      (-> `check_dataset`)

Where `path` points:
- a `.jsonl` / `.ndjson` / `.json` file: one JSON object per line (blank lines are skipped);
- a `.csv` / `.tsv` file: a header line naming the columns, then one row per record (quoted fields may span lines);
- a `.parquet` / `.pq` file (read with pyarrow);
- a folder written by `datasets`' `save_to_disk` (a Dataset, or a DatasetDict: pick parts with `split`/`test_split`);
- any other folder, or a Hugging Face dataset id (`user/name`): read with `datasets.load_dataset` (no remote code).

Labels may be strings or integers; `labels` fixes their order (label i is the i-th name) and otherwise it is the
sorted distinct labels of the training source (numbers in numeric order; a `datasets` ClassLabel column keeps its
own names and order). The model reads and writes the label names; `labels` given as a mapping renames them
({0: negative, 4: positive}: Sentiment140's numbers). `skip_labels` drops rows by the label written (SNLI's -1, "no
gold label"). `text_template` builds the text from several columns ("Premise: {premise}\\nHypothesis: {hypothesis}").
The test part is `test_path` (a second source), `test_split` (a part of a dataset dict), or else a seeded stratified
split of the training source (`test_fraction`).

Every bad row is refused with a `DatasetError` that names the file, the line (1-based, the CSV header is line 1;
"row N" in Parquet files and `datasets` tables) and the reason: missing or empty text, missing or unknown label,
duplicated id, bytes that are not UTF-8, a missing column (naming the columns present). Bad parameters raise a
`ConfigError`. Nothing is unpickled and no dataset code is executed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from faithex.errors import ConfigError, DatasetError
from faithex.io import numbered_jsonl, read_text
from faithex.tasks.registry import get_task, register_task
from faithex.tasks.splits import FixedDatasetTask, Row, check_test_fraction

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
DELIMITERS = {".csv": ",", ".tsv": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")
KNOWN_SUFFIXES = JSONL_SUFFIXES + tuple(DELIMITERS) + PARQUET_SUFFIXES
#: What `save_to_disk` writes at the top of its folder (a DatasetDict, a Dataset).
SAVED_DATASET_MARKERS = ("dataset_dict.json", "state.json")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
_INTEGER = re.compile(r"-?\d+")


# -- reading sources into rows ---------------------------------------------------------------------------------
@dataclass
class SourceRow:
    """One record of a source and where it is (what an error message names)."""

    where: str  # "data.csv:3" or "data.parquet, row 2"
    number: int  # that line or row number (1-based), also used in the row's default id
    values: dict[str, Any]


@dataclass
class Source:
    """The records of one file or dataset part, as plain dicts."""

    name: str
    rows: list[SourceRow]
    #: The columns of the whole source (CSV header, table schema); None for JSONL, whose rows each have their own.
    columns: list[str] | None
    #: Where a missing column is reported ("data.csv:1" for the header line; the name alone for tables).
    header_where: str = ""
    #: Names of `datasets` ClassLabel columns: integers stored there stand for these names.
    class_names: dict[str, list[str]] = field(default_factory=dict)


def read_jsonl(path: Path) -> Source:
    name = str(path)
    return Source(name, [SourceRow(f"{name}:{number}", number, values) for number, values in numbered_jsonl(path)],
                  columns=None)


def read_delimited(path: Path, delimiter: str) -> Source:
    """A CSV/TSV file with a header line; a row's number is the line it starts on (the header is line 1)."""
    return parse_delimited(read_text(path), str(path), delimiter)


def parse_delimited(text: str, name: str, delimiter: str) -> Source:
    """CSV/TSV text with a header line as a Source; a row's number is the line it starts on (header: line 1)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [column.strip() for column in _next_record(reader, name) or []]
    if not header:
        raise DatasetError(f"{name}:1: empty file (expected a header line naming the columns)")
    repeated = sorted(column for column, count in Counter(header).items() if count > 1)
    if repeated:
        raise DatasetError(f"{name}:1: column {repeated[0]!r} appears more than once in the header")
    rows = []
    while True:
        start = reader.line_num + 1
        fields = _next_record(reader, name)
        if fields is None:
            break
        if not fields:  # a blank line
            continue
        if len(fields) != len(header):
            raise DatasetError(f"{name}:{start}: {len(fields)} fields, but the header has {len(header)}")
        rows.append(SourceRow(f"{name}:{start}", start, dict(zip(header, fields, strict=True))))
    return Source(name, rows, columns=header, header_where=f"{name}:1")


def _next_record(reader: Any, name: str) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as error:
        raise DatasetError(f"{name}:{reader.line_num}: unreadable CSV ({error})") from None


def read_parquet(path: Path) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise DatasetError(f"{path}: not a readable Parquet file ({error})") from None
    return table_source(str(path), table.column_names, table.to_pylist())


def table_source(name: str, columns: list[str], records: list[dict[str, Any]], class_names=None) -> Source:
    rows = [SourceRow(f"{name}, row {number}", number, values) for number, values in enumerate(records, start=1)]
    return Source(name, rows, columns=list(columns), header_where=name, class_names=class_names or {})


def arrow_source(dataset: Any, name: str) -> Source:
    """A `datasets.Dataset` as a Source (ClassLabel columns keep their names)."""
    from datasets import ClassLabel

    names = {
        column: list(feature.names) for column, feature in dataset.features.items() if isinstance(feature, ClassLabel)
    }
    return table_source(name, dataset.column_names, dataset.to_list(), names)


def open_path(path: str) -> Source | dict[str, Any]:
    """A file as a Source; a `datasets` folder or hub id as a Source (a Dataset) or {part: Dataset} (a dict)."""
    local = Path(path).expanduser()
    suffix = local.suffix.lower()
    if local.is_file():
        if suffix in JSONL_SUFFIXES:
            return read_jsonl(local)
        if suffix in DELIMITERS:
            return read_delimited(local, DELIMITERS[suffix])
        if suffix in PARQUET_SUFFIXES:
            return read_parquet(local)
        raise DatasetError(
            f"{path}: unknown file type {suffix or '(no suffix)'!r}; expected {', '.join(KNOWN_SUFFIXES)}"
        )
    if local.is_dir() and any((local / marker).is_file() for marker in SAVED_DATASET_MARKERS):
        return _as_parts(_load_saved(local), str(path))
    if local.is_dir() or (_HUB_ID.fullmatch(path) and suffix not in KNOWN_SUFFIXES):
        return _as_parts(_load_with_datasets(path), str(path))
    raise DatasetError(f"{path}: no such file or folder")


def _load_saved(folder: Path) -> Any:
    from datasets import load_from_disk

    try:
        return load_from_disk(str(folder))
    except Exception as error:  # noqa: BLE001 - any failure to read the folder is the folder's problem
        raise DatasetError(f"{folder}: not a readable `datasets` folder ({_first_line(error)})") from error


def _load_with_datasets(path: str) -> Any:
    from datasets import load_dataset

    try:
        # No trust_remote_code: only data files (and Parquet conversions on the hub) are read, never a script.
        return load_dataset(path)
    except Exception as error:  # noqa: BLE001 - a wrong id, no network, unreadable files: all the user's to fix
        raise DatasetError(f"{path}: cannot load with datasets.load_dataset ({_first_line(error)})") from error


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _as_parts(loaded: Any, name: str) -> Source | dict[str, Any]:
    from datasets import Dataset

    if isinstance(loaded, Dataset):
        return arrow_source(loaded, name)
    return dict(loaded)  # a DatasetDict: its parts are converted only when picked


def pick_part(opened: Source | dict[str, Any], part: str | None, name: str, parameter: str) -> Source:
    """The part `part` of a dataset dict (None: 'train', or its only part) as a Source."""
    if isinstance(opened, Source):
        if part is not None:
            raise ConfigError(f"parameter '{parameter}'={part!r} names a part of a dataset dict, but {name} has none")
        return opened
    if part is None:
        part = "train" if "train" in opened or len(opened) != 1 else next(iter(opened))
    if part not in opened:
        what = f"parameter '{parameter}'={part!r}" if parameter else f"part {part!r}"
        raise ConfigError(f"{what}: {name} has the parts {', '.join(sorted(opened)) or '(none)'}")
    return arrow_source(opened[part], f"{name} [{part}]")


# -- turning source rows into task rows ------------------------------------------------------------------------
class RowProblem(Exception):
    """What is wrong with one row (the caller adds where the row is)."""


class NamedRow(NamedTuple):
    """A checked row whose label is still the name written in the file (the label order is not known yet)."""

    id: str
    text: str
    label_name: str
    explanation: str | None
    meta: dict[str, Any]
    where: str


def label_key(value: Any, class_names: list[str] | None) -> str:
    """A label value as the name the model reads: strings stripped, integers (also 3.0) written as digits."""
    if value is None or (isinstance(value, float) and value != value) or (isinstance(value, str) and not value.strip()):
        raise RowProblem("missing label")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RowProblem(f"label {value!r} is neither a string nor an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise RowProblem(f"label {value!r} is neither a string nor an integer")
        value = int(value)
    if isinstance(value, int) and class_names is not None:
        if not 0 <= value < len(class_names):
            raise RowProblem(f"label {value} is outside the ClassLabel names {class_names}")
        return class_names[value]
    return value.strip() if isinstance(value, str) else str(value)


def sorted_label_names(names: set[str]) -> list[str]:
    """Numbers in numeric order (2 before 10), then the other names alphabetically."""
    return sorted(names, key=lambda name: (0, int(name), "") if _INTEGER.fullmatch(name) else (1, 0, name))


def default_instruction(names: list[str]) -> str:
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"Label of this text ({listed})?"


@register_task("dataset")
class DatasetTask(FixedDatasetTask):
    """The user's labelled texts: a JSONL, CSV/TSV or Parquet file, a `datasets` folder or a Hugging Face id."""

    evidence_kind = "topic"  # word log-odds work for any labels (faithex.explanations.evidence)

    def __init__(
        self,
        seed: int = 0,
        path: str | None = None,
        text_column: str = "text",
        label_column: str = "label",
        explanation_column: str | None = None,
        id_column: str | None = None,
        labels: list[str | int] | str | None = None,
        test_path: str | None = None,
        split: str | None = None,
        test_split: str | None = None,
        test_fraction: float = 0.2,
        instruction: str | None = None,
        text_template: str | None = None,
        skip_labels: list[str | int] | str | None = None,
    ) -> None:
        params = _checked_params(
            seed=seed,
            path=path,
            text_column=text_column,
            label_column=label_column,
            explanation_column=explanation_column,
            id_column=id_column,
            labels=labels,
            test_path=test_path,
            split=split,
            test_split=test_split,
            test_fraction=test_fraction,
            instruction=instruction,
            text_template=text_template,
            skip_labels=skip_labels,
        )
        # Parameters added later are recorded only when given, so earlier runs describe their task as before.
        super().__init__(seed, **{k: v for k, v in params.items() if k not in LATER_PARAMS or v is not None})
        self.test_fraction = params["test_fraction"]
        self._columns = {"text": text_column, "label": label_column, "explanation": explanation_column, "id": id_column}
        self._template = params["text_template"]
        self._template_columns = _template_fields(self._template) if self._template else []
        self._skipped = set(params["skip_labels"] or [])
        self._renamed = params["labels"] if isinstance(params["labels"], dict) else {}
        train, test = self._open_sources()
        self.sources = {"train": train.name, "test": None if test is None else test.name}
        # Two passes, so that errors come in file order: read every row (label names as written), then fix the
        # label order and turn names into indices.
        seen_ids: dict[str, str] = {}
        train_rows = self._rows_of(train, "path", seen_ids)
        test_rows = None if test is None else self._rows_of(test, "test_path", seen_ids)
        given = list(params["labels"].values()) if isinstance(params["labels"], dict) else params["labels"]
        names = given or self._label_order(train, train_rows)
        self.labels, self.label_names = tuple(range(len(names))), tuple(names)
        self.instruction = instruction or default_instruction(names)
        self._train_rows = self._indexed(train_rows)
        self._test_rows = None if test_rows is None else self._indexed(test_rows)

    # -- FixedDatasetTask ---------------------------------------------------------------------------------------
    def rows(self) -> list[Row]:
        return self._train_rows

    def test_rows(self) -> list[Row] | None:
        return self._test_rows

    def describe(self) -> dict[str, Any]:
        """The parameters, the label names, and a digest of the rows read (the same digest means the same data)."""
        return {**super().describe(), "label_names": list(self.label_names), "data_sha256": self.data_digest()}

    def data_digest(self) -> str:
        digest = hashlib.sha256()
        for part in (self._train_rows, self._test_rows or []):
            for row in part:
                record = [row.id, row.text, self.label_names[row.label], row.explanation]
                digest.update(json.dumps(record, ensure_ascii=False).encode() + b"\n")
            digest.update(b"\x00")  # where the training rows end
        return digest.hexdigest()

    # -- reading ------------------------------------------------------------------------------------------------
    def _open_sources(self) -> tuple[Source, Source | None]:
        p = self.params
        opened = open_path(p["path"])
        train = pick_part(opened, p["split"], p["path"], "split")
        if p["test_split"] is not None:
            if isinstance(opened, Source):
                raise ConfigError(f"parameter 'test_split' names a part of a dataset dict, but {p['path']} has none")
            return train, pick_part(opened, p["test_split"], p["path"], "test_split")
        if p["test_path"] is not None:
            opened_test = open_path(p["test_path"])
            part = "test" if isinstance(opened_test, dict) and "test" in opened_test else None
            return train, pick_part(opened_test, part, p["test_path"], "")
        return train, None

    def _label_order(self, source: Source, rows: list[NamedRow]) -> list[str]:
        """Default label order: a ClassLabel's names, else the sorted distinct labels of the training source."""
        column = self._columns["label"]
        if column in source.class_names:
            return source.class_names[column]
        names = {row.label_name for row in rows}
        if len(names) < 2:
            raise DatasetError(
                f"{source.name}: found {len(names)} distinct label(s) in column {column!r}; "
                "a classifier needs at least two"
            )
        return sorted_label_names(names)

    def _rows_of(self, source: Source, parameter: str, seen_ids: dict[str, str]) -> list[NamedRow]:
        """Every row of `source` checked and converted; the first bad row raises a DatasetError naming it."""
        self._check_columns(source, required_explanation=parameter == "path")
        if not source.rows:
            raise DatasetError(f"{source.name}: no rows")
        rows = []
        for source_row in source.rows:
            try:
                row = self._row(source_row, source, parameter, seen_ids)
            except RowProblem as problem:
                raise DatasetError(f"{source_row.where}: {problem}") from None
            if row is not None:
                rows.append(row)
        if not rows:
            raise DatasetError(f"{source.name}: no rows left after skip_labels")
        return rows

    def _indexed(self, rows: list[NamedRow]) -> list[Row]:
        """The rows with their label index; a label outside `labels` is refused with the row's place."""
        index = {name: i for i, name in enumerate(self.label_names)}
        unknown = next((row for row in rows if row.label_name not in index), None)
        if unknown is not None:
            raise DatasetError(
                f"{unknown.where}: unknown label {unknown.label_name!r} in column "
                f"{self._columns['label']!r}; labels: {', '.join(index)}"
            )
        return [Row(row.id, row.text, index[row.label_name], row.explanation, row.meta) for row in rows]

    def _check_columns(self, source: Source, required_explanation: bool) -> None:
        texts = self._template_columns or [self._columns["text"]]
        wanted = [*texts, self._columns["label"], self._columns["id"]]
        if required_explanation:
            wanted.append(self._columns["explanation"])
        wanted = [column for column in wanted if column is not None]
        if source.columns is None:  # JSONL: checked row by row, but an explanation column must show up somewhere
            explanation = self._columns["explanation"]
            if required_explanation and explanation and not any(explanation in r.values for r in source.rows):
                raise DatasetError(f"{source.name}: no row has the explanation column {explanation!r}")
            return
        for column in wanted:
            if column not in source.columns:
                raise DatasetError(
                    f"{source.header_where}: no column {column!r}; "
                    f"columns present: {', '.join(map(repr, source.columns))}"
                )

    def _row(self, source_row: SourceRow, source: Source, parameter: str,
             seen_ids: dict[str, str]) -> NamedRow | None:
        """The checked row; None for a row whose label is one of `skip_labels`."""
        values = source_row.values
        label_column = self._column(values, "label")
        if self._skipped and label_key(values[label_column], None) in self._skipped:
            return None
        text = self._text(values)
        name = label_key(values[label_column], source.class_names.get(label_column))
        name = self._renamed.get(name, name)
        row_id = self._id(values, source_row, parameter, seen_ids)
        return NamedRow(
            row_id,
            text,
            name,
            self._explanation(values),
            {"source": parameter, "line": source_row.number},
            source_row.where,
        )

    def _column(self, values: dict[str, Any], role: str) -> str:
        column = self._columns[role]
        if column not in values:  # only JSONL rows get here: tables are checked once for the whole file
            present = ", ".join(map(repr, values)) or "(none)"
            raise RowProblem(f"no column {column!r}; columns present: {present}")
        return column

    def _text(self, values: dict[str, Any]) -> str:
        if self._template:
            return self._template.format_map({column: self._text_of(values, column) for column in
                                              self._template_columns})
        return self._text_of(values, self._column(values, "text"))

    def _text_of(self, values: dict[str, Any], column: str) -> str:
        if column not in values:  # only JSONL rows get here: tables are checked once for the whole file
            raise RowProblem(f"no column {column!r}; columns present: {', '.join(map(repr, values)) or '(none)'}")
        text = values[column]
        if text is None or (isinstance(text, str) and not text.strip()):
            raise RowProblem(f"missing or empty text in column {column!r}")
        if not isinstance(text, str):
            raise RowProblem(f"text in column {column!r} is a {type(text).__name__}, not a string")
        return text

    def _explanation(self, values: dict[str, Any]) -> str | None:
        """The row's explanation; None where the column is not named, absent (JSONL, test file) or empty."""
        column = self._columns["explanation"]
        value = values.get(column) if column else None
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise RowProblem(f"explanation in column {column!r} is a {type(value).__name__}, not a string")
        return value

    def _id(self, values: dict[str, Any], source_row: SourceRow, parameter: str, seen: dict[str, str]) -> str:
        """The user's id (unique across both sources), else one made from the row's line: stable for a file."""
        if self._columns["id"] is None:
            prefix = self.name if parameter == "path" else f"{self.name}-test"
            return f"{prefix}-{source_row.number}"
        column = self._column(values, "id")
        value = values[column]
        if value is None or isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            raise RowProblem(f"missing or invalid id in column {column!r}: {value!r}")
        row_id = str(value).strip()
        if row_id in seen:
            raise RowProblem(f"duplicated id {row_id!r} (first at {seen[row_id]})")
        seen[row_id] = source_row.where
        return row_id


# -- parameters ------------------------------------------------------------------------------------------------
#: Parameters added after runs were recorded: `describe()` lists them only when given.
LATER_PARAMS = ("text_template", "skip_labels")


def _template_fields(template: str) -> list[str]:
    """The column names `{name}` of a text template, each once, in order."""
    fields = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name or name.isdigit() or any(c in name for c in ".[]") or spec or conversion:
            raise ConfigError(f"parameter 'text_template': {{{name}}} must name a column, e.g. {{premise}} "
                              "(double the braces for a literal one: {{ }})")
        if name not in fields:
            fields.append(name)
    return fields


def _checked_params(**params: Any) -> dict[str, Any]:
    """The parameters as `describe()` records them (paths as strings, labels as a list); ConfigError if invalid."""
    if isinstance(params["seed"], bool) or not isinstance(params["seed"], int):
        raise ConfigError(f"the seed must be an integer, got {params['seed']!r}")
    params.pop("seed")
    for key in ("path", "test_path"):
        params[key] = _path_param(key, params[key], required=key == "path")
    for key in ("text_column", "label_column"):
        _name_param(key, params[key], optional=False)
    for key in ("explanation_column", "id_column", "split", "test_split", "instruction"):
        _name_param(key, params[key], optional=True)
    columns = [params[k] for k in ("text_column", "label_column", "explanation_column", "id_column") if params[k]]
    if len(set(columns)) != len(columns):
        raise ConfigError(f"the text, label, explanation and id columns must differ, got {columns}")
    if params["test_path"] is not None and params["test_split"] is not None:
        raise ConfigError(
            "give either 'test_path' (a second file) or 'test_split' (a part of a dataset dict), not both"
        )
    if params["split"] is not None and params["split"] == params["test_split"]:
        raise ConfigError(f"'split' and 'test_split' are both {params['split']!r}: train and test must differ")
    params["labels"] = _labels_param(params["labels"])
    params["test_fraction"] = check_test_fraction(params["test_fraction"])
    template = params["text_template"]
    if template is not None:
        if not isinstance(template, str) or not template.strip():
            raise ConfigError(f"parameter 'text_template' must be a non-empty string, got {template!r}")
        try:
            fields = _template_fields(template)
        except ValueError as error:  # an unmatched brace
            raise ConfigError(f"parameter 'text_template': {error}") from None
        if not fields:
            raise ConfigError("parameter 'text_template' names no column; write them as {column}")
    params["skip_labels"] = _skip_labels_param(params["skip_labels"])
    return params


def _skip_labels_param(value: Any) -> list[str] | None:
    """`skip_labels` as label keys (as `label_key` writes them): a list of strings/integers, or "a,b"."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items or any(
            isinstance(i, bool) or not isinstance(i, (str, int)) for i in items):
        raise ConfigError(f"parameter 'skip_labels' must be a list of labels as written in the data, got {value!r}")
    return [str(item).strip() for item in items]


def _path_param(key: str, value: Any, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ConfigError(f"parameter '{key}' must name a file, a folder or a Hugging Face dataset id, got {value!r}")
    return str(value)


def _name_param(key: str, value: Any, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"parameter '{key}' must be a non-empty string, got {value!r}")


def _labels_param(value: Any) -> list[str] | dict[str, str] | None:
    """`labels` as a list of names (a list of strings/integers, or one comma-separated string), or as a mapping
    {label as written: name the model reads} (its order is the label order)."""
    if value is None:
        return None
    if isinstance(value, dict):
        keys = [str(key).strip() for key in value if not isinstance(key, bool) and isinstance(key, (str, int))]
        names = [str(name).strip() for name in value.values() if isinstance(name, str)]
        if len(keys) != len(value) or len(names) != len(value) or len(value) < 2 or not all(keys + names) or \
                len(set(keys)) != len(keys) or len(set(names)) != len(names):
            raise ConfigError("parameter 'labels' must be a list of label names, or a mapping from at least two "
                              f"distinct labels as written to distinct names, got {value!r}")
        return dict(zip(keys, names, strict=True))
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or any(isinstance(i, bool) or not isinstance(i, (str, int)) for i in items):
        raise ConfigError(f"parameter 'labels' must be a list of label names or integers, got {value!r}")
    names = [str(item).strip() for item in items]
    if len(names) < 2 or not all(names) or len(set(names)) != len(names):
        raise ConfigError(f"parameter 'labels' must list at least two distinct, non-empty labels, got {value!r}")
    return names


def check_dataset(seed: int = 0, **params: Any) -> dict[str, Any]:
    """Read and check the user's data without training: counts per split and per label (raises on a bad row).

    Takes the `dataset` task's parameters (`path`, `text_column`, ...); unknown names raise a ConfigError.
    """
    task = get_task("dataset", seed=seed, **params)
    assert isinstance(task, DatasetTask)
    summary = task.summary()
    texts = Counter(row.text for row in task.rows() + (task.test_rows() or []))
    summary["sources"] = task.sources
    summary["test_from"] = (
        "test_path"
        if task.params["test_path"]
        else "test_split"
        if task.params["test_split"]
        else f"seeded stratified split (test_fraction {task.test_fraction})"
    )
    summary["duplicate_texts"] = sum(count - 1 for count in texts.values() if count > 1)
    summary["instruction"] = task.instruction
    return summary
