"""Run-directory writes that survive a kill at any moment.

Whole files are written atomically (temporary file + rename): a reader sees the old file or the new one, never half.
Sample files grow by appending one batch at a time, flushed to disk; a line cut short by a kill is dropped when the
file is opened again (`read_complete_jsonl`), so a resumed run neither loses nor duplicates a sample.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from faithex.errors import DatasetError, RunDirectoryError


def writable_folder(path: str | Path) -> Path:
    """`path` as a folder to write into; refused (one line, exit 2) when a file stands in its place or above it."""
    path = Path(path)
    for parent in (path, *path.parents):
        if parent.exists() and not parent.is_dir():
            raise RunDirectoryError(f"cannot write into {path}: {parent} is a file")
    return path


def writable_file(path: str | Path) -> Path:
    """`path` as a file to write; refused when it is a folder or a file stands where its folder should be."""
    path = Path(path)
    if path.is_dir():
        raise RunDirectoryError(f"cannot write {path}: it is a folder")
    writable_folder(path.parent)
    return path


def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes files private; results get the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))


def write_json(path: str | Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def read_text(path: str | Path) -> str:
    """A UTF-8 text file's content; a missing file, or non-UTF-8 bytes (named by their line), is a DatasetError. A
    UTF-8 byte-order mark is allowed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"file not found: {path}") from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read ({error.strerror or error})") from None
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        raise DatasetError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{body[error.start]:02x}); save the file as UTF-8"
        ) from None


def numbered_jsonl(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-blank line of a JSONL file; a line that is not a JSON object is refused
    with its number."""
    rows = []
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and other characters splitlines() breaks at.
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path}:{number}: not valid JSON ({error.msg}, column {error.colno})") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: expected one JSON object per line, got {type(row).__name__}")
        rows.append((number, row))
    return rows


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [row for _, row in numbered_jsonl(path)]


def append_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Append `rows` as one write, flushed and synced: after a kill the file ends with whole lines, or one partial
    line that `read_complete_jsonl` drops."""
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def read_complete_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The whole lines of an append-only JSONL file; a last line cut short by a kill is removed from the file."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        with path.open("r+b") as handle:
            handle.truncate(len(complete))
    return [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]


def read_format_json(path: str | Path, file_format: str, version: int, what: str) -> dict:
    """A JSON object that faithex wrote with `"format": file_format` and `"version": version` (result files:
    attributions, layer analyses), or a DatasetError saying which of the three it is not: valid JSON, that kind of
    file, that version."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != file_format:
        raise DatasetError(f"{path}: not {what} written by faithex (no \"format\": \"{file_format}\")")
    if data.get("version") != version:
        raise DatasetError(f"{path}: {what} version {data.get('version')} (this faithex reads {version})")
    return data
