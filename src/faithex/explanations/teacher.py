"""Teacher explanations (`faithex annotate`): a model writes a short explanation for each labelled example, given the
input and its gold label, as paper 2's data pipeline does with its teacher LLMs (Shah et al. 2025, where several
teachers' explanations were summarised into one; here one local teacher writes one explanation).

The prompt (version `PROMPT_VERSION`) is a system message (`TEACHER_SYSTEM`; SmolLM2 would otherwise insert its own)
and one user turn (`TEACHER_PROMPT`): the task's question and the input as the classifier reads them
(`task.user_text`), the gold label (`task.answer_text`), and the request for one or two sentences that quote the
input's words. Generation is greedy (the same teacher
and prompt always give the same explanation); `clean_explanation` tidies what the teacher wrote.

The output is a JSONL file, one line per example:
    {"id": ..., "explanation": ..., "label": <label index>, "teacher": <the --model given>, "prompt_version": "v1"}
appended and flushed per batch, so a killed run resumes: a rerun skips the ids already written and keeps their order.
Batches are fixed slices of the example list, so a resumed run batches (and therefore pads) the remaining examples
as an uninterrupted run would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from faithex.errors import ConfigError, DatasetError
from faithex.io import append_jsonl, numbered_jsonl, read_complete_jsonl

PROMPT_VERSION = "v1"
TEACHER_SYSTEM = "You are a careful annotator. You explain in plain words why a text has the label it was given."
TEACHER_PROMPT = (
    "{question}\n"
    "\n"
    "Label: {label}\n"
    "\n"
    "Why is \"{label}\" the right label for this text? Answer in one or two sentences that quote the words that "
    "show it."
)
ANNOTATION_KEYS = ("id", "explanation", "label", "teacher", "prompt_version")
DEFAULT_MAX_NEW_TOKENS = 48
#: A sentence ends at . ! or ? (optionally inside a closing quote or bracket) followed by whitespace.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')]))\s+")
_SENTENCE_ENDINGS = (".", "!", "?", '."', '!"', '?"', ".'", "!'", "?'", ".)", "!)", "?)")
_LEADING_TAG = re.compile(r"^(?:explanation|answer)\s*:\s*", re.IGNORECASE)


def teacher_conversation(task: Any, example: Any) -> list[dict[str, str]]:
    """The chat the teacher continues for `example` (its gold label included)."""
    label = task.answer_text(example.label)
    user = TEACHER_PROMPT.format(question=task.user_text(example), label=label)
    return [{"role": "system", "content": TEACHER_SYSTEM}, {"role": "user", "content": user}]


def clean_explanation(text: str) -> str:
    """What the teacher wrote, tidied: whitespace runs become one space, a leading "Explanation:" goes, a last
    sentence cut off by the token limit goes when a whole sentence comes before it, and at most the first two
    sentences are kept."""
    sentences = _SENTENCE_END.split(_LEADING_TAG.sub("", " ".join(text.split())))
    if len(sentences) > 1 and not sentences[-1].endswith(_SENTENCE_ENDINGS):
        sentences.pop()
    return " ".join(sentences[:2])


def annotation(example: Any, explanation: str, teacher: str) -> dict[str, Any]:
    return {"id": example.id, "explanation": explanation, "label": example.label, "teacher": teacher,
            "prompt_version": PROMPT_VERSION}


def annotate(model, tokenizer, task: Any, examples: Sequence[Any], output: str | Path, teacher: str,
             batch_size: int = 8, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, precision: str = "fp32",
             on_batch: Callable[[int], None] | None = None) -> int:
    """Append an explanation for every example not yet in `output`; returns how many were written."""
    from faithex.lm.generation import generate, render

    done = annotated_ids(output, teacher)
    written = 0
    for start in range(0, len(examples), batch_size):
        chunk = [e for e in examples[start:start + batch_size] if e.id not in done]
        if not chunk:
            continue
        prompts = [render(tokenizer, teacher_conversation(task, e)) for e in chunk]
        texts = generate(model, tokenizer, prompts, max_new_tokens, batch_size=len(chunk), precision=precision)
        append_jsonl(output, [annotation(e, clean_explanation(t), teacher) for e, t in zip(chunk, texts)])
        written += len(chunk)
        if on_batch:
            on_batch(len(chunk))
    return written


# -- reading annotation files ------------------------------------------------------------------------------------
def _not_annotations(path: Path, number: int, hint: str = "; pass another --out") -> DatasetError:
    return DatasetError(f"{path}:{number}: not an annotations file of `faithex annotate` (each line needs the keys "
                        f"{', '.join(ANNOTATION_KEYS)}){hint}")


def annotated_ids(output: str | Path, teacher: str | None = None) -> set[str]:
    """Ids already in the annotations file `output` (none when it does not exist). Anything else, or annotations by
    another teacher or prompt version, is refused before any work: appending would mix them."""
    output = Path(output)
    if not output.is_file():
        return set()
    lines = output.read_bytes().split(b"\n")
    for number, line in enumerate(lines[:-1], 1):  # whole lines; the last is empty or a write cut short
        if line.strip():
            _check_annotation_line(output, number, line, teacher)
    if lines[-1] and not lines[-1].startswith(b"{"):
        raise _not_annotations(output, len(lines))
    return {row["id"] for row in read_complete_jsonl(output)}


def _check_annotation_line(path: Path, number: int, line: bytes, teacher: str | None) -> None:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        row = None
    if not isinstance(row, dict) or not set(ANNOTATION_KEYS) <= row.keys():
        raise _not_annotations(path, number)
    if teacher is not None and (row["teacher"], row["prompt_version"]) != (teacher, PROMPT_VERSION):
        raise DatasetError(f"{path}:{number}: written by teacher '{row['teacher']}' with prompt "
                           f"{row['prompt_version']}, not '{teacher}' with prompt {PROMPT_VERSION}; pass another --out")


def read_annotations(path: str | Path) -> dict[str, dict[str, Any]]:
    """The annotations of `path` by id; a file that is not one (or repeats an id, or has a non-text explanation)
    is refused with its line. The file is only read (a line cut short by a kill is reported, not removed)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"annotations file not found: {path} (write it with `faithex annotate`)")
    rows: dict[str, dict[str, Any]] = {}
    for number, row in numbered_jsonl(path):
        if not set(ANNOTATION_KEYS) <= row.keys():
            raise _not_annotations(path, number, hint="")
        if not isinstance(row["explanation"], str):
            raise DatasetError(f"{path}:{number}: the explanation is not a text")
        if row["id"] in rows:
            raise DatasetError(f"{path}:{number}: id '{row['id']}' appears twice")
        rows[row["id"]] = row
    return rows
