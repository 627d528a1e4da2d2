"""The shape every task shares: an `Example` record and the `Task` interface.

A task is a seeded source of labelled examples plus the knowledge needed to read a model's outputs for it
(answer, explanation and reasoning parsers). For paper 1's synthetic problems the task object *is* the hidden
classifier (a weight vector, a tree): two task objects built with the same seed are the same classifier.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from faithex.errors import ConfigError


@dataclass
class Example:
    """One labelled record, as written to `data/*.jsonl`."""

    id: str
    input: str
    label: int
    labels: list[int]
    reasoning: str | None = None
    explanation: str | None = None
    rationale: list[Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Example":
        return cls(**row)


class Task:
    """A classification problem whose outputs can be parsed back into decisions.

    Labels are integer indices `0..k-1` everywhere (examples, samples, metrics); `label_names[i]` is what the model
    reads and writes for label i (`"positive"`, `"business"`; paper 1's synthetic tasks write `"0"`/`"1"`).
    Subclasses implement `sample_one` (seeded generators) or override `examples` (fixed datasets), and the parsers
    they need. Parsers never raise on model output: they return `None` when a text cannot be read (counted as a
    failure by the metrics).
    """

    name: str = ""
    labels: tuple[int, ...] = (0, 1)
    label_names: tuple[str, ...] = ("0", "1")
    description: str = ""
    #: Put before the input in the user turn (text tasks: what to classify and the label names); None for paper 1's
    #: synthetic tasks, whose input is the whole user turn as in C1.
    instruction: str | None = None
    #: Whether `fresh()` can draw another random classifier of the same family (needed by the in-context
    #: learning configuration, which trains on a new classifier for every example).
    supports_icl: bool = True
    #: The system message of the `*_instructed` regimes (paper 2's "with system instruction" condition); None: one
    #: built from the description and label names (`system_text`).
    system_instruction: str | None = None
    #: The number each label stands for, for ordinal tasks (paper 2's 1-5 ratings); samples then carry it and the
    #: metrics add the mean absolute error. None: the labels are unordered categories.
    scale: tuple[float, ...] | None = None

    def __init__(self, seed: int = 0, **params: Any) -> None:
        self.seed = seed
        self.params = params

    # -- data ---------------------------------------------------------------------------------------------------
    def sample_one(self, rng: np.random.Generator, index: int) -> Example:
        raise NotImplementedError

    def examples(self, n: int, split: str, seed: int | None = None) -> list[Example]:
        """`n` examples drawn with a generator seeded by (task seed, split): same arguments, same bytes."""
        split_key = {"train": 1, "test": 2, "icl": 3}.get(split, sum(map(ord, split)))
        rng = np.random.default_rng([self.seed if seed is None else seed, split_key])
        examples = [self.sample_one(rng, i) for i in range(n)]
        for example in examples:  # ids stay unique across splits of one task
            example.id = f"{example.id}-{split}"
        return examples

    def fresh(self, seed: int) -> "Task":
        """Another classifier of the same family and parameters (in-context learning draws one per example)."""
        return type(self)(seed=seed, **self.params)

    # -- what the model reads and is trained to write -----------------------------------------------------------
    def user_text(self, example: Example) -> str:
        """The user turn that asks for `example`: the instruction (if any), then the input."""
        return example.input if not self.instruction else f"{self.instruction}\n{example.input}"

    def answer_text(self, label: int) -> str:
        return self.label_names[label]

    def system_text(self) -> str:
        """The system message of the `*_instructed` regimes: `system_instruction`, else what the task is and which
        answers it accepts."""
        if self.system_instruction is not None:
            return self.system_instruction
        what = self.description.strip().rstrip(".") or f"the {self.name or 'classification'} task"
        names = ", ".join(self.answer_text(label) for label in self.labels)
        return f"You classify inputs. Task: {what}. Answer with exactly one of these labels: {names}."

    # -- reading the model's outputs back ----------------------------------------------------------------------
    def parse_answer(self, text: str) -> int | None:
        """The label whose answer text the output is (case and surrounding punctuation ignored), else None."""
        return parse_label_name(text, [self.answer_text(label) for label in self.labels])

    def parse_explanation(self, text: str) -> int | None:
        raise NotImplementedError

    def parse_reasoning(self, text: str) -> list[int] | None:
        """The reasoning as a list of partial decisions (bits); its last element is the decision it implies."""
        raise NotImplementedError

    #: Whether the reasoning writes the operands of its steps, so that `reasoning_steps` can check them.
    reasoning_writes_operands: bool = False

    def explanation_steps(self, text: str) -> list[bool] | None:
        """Validity of each step an explanation writes (None: unreadable); tasks that cannot check steps have none."""
        raise NotImplementedError

    def reasoning_steps(self, text: str) -> list[bool] | None:
        """Validity of each step a reasoning writes with its operands (None: unreadable)."""
        raise NotImplementedError

    def written_steps(self, outputs: dict[str, Any]) -> dict[str, list[bool] | None]:
        """What a protocol records in `parsed` for the step-validity metrics: `explanation_steps` and
        `reasoning_steps`, each a list of booleans or None when the text is unreadable. A field is left out when
        the output was not generated or this task cannot check it, so the metrics apply only where they mean
        something."""
        fields: dict[str, list[bool] | None] = {}
        if outputs.get("explanation") is not None and _overrides(self, "explanation_steps"):
            fields["explanation_steps"] = self.explanation_steps(outputs["explanation"])
        if outputs.get("reasoning") is not None and self.reasoning_writes_operands:
            fields["reasoning_steps"] = self.reasoning_steps(outputs["reasoning"])
        return fields

    def describe(self) -> dict[str, Any]:
        """What defines the task, for the run directory (for paper 1: the hidden classifier, checkable by hand)."""
        return {"name": self.name, "seed": self.seed, **self.params}


def _overrides(task: Task, method: str) -> bool:
    return getattr(type(task), method) is not getattr(Task, method)


def parse_label_name(text: str, names: Sequence[str]) -> int | None:
    """Index of the name `text` is (ignoring case, whitespace and trailing punctuation), or of the only name it
    starts with; None when it is none of them or starts with several (no guessing)."""
    if not isinstance(text, str):
        return None
    cleaned = text.strip().strip(".!\"'").strip().casefold()
    lowered = [n.casefold() for n in names]
    if cleaned in lowered:
        return lowered.index(cleaned)
    starts = [i for i, n in enumerate(lowered) if re.match(re.escape(n) + r"\b", cleaned)]
    return starts[0] if len(starts) == 1 else None


def reasoning_decision(bits: Sequence[int] | None) -> int | None:
    """The decision a parsed reasoning sequence implies (its last element), or None."""
    if not bits:
        return None
    return int(bits[-1])


# -- helpers shared by several tasks (parsers never raise; they return None when a text cannot be read) ----------
_JSON_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def check_int_param(name: str, value: Any, low: int, high: int) -> int:
    """`value` as an int in [low, high], or a ValueError naming the parameter (bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"parameter '{name}' must be an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise ConfigError(f"parameter '{name}' must be in {low}..{high}, got {value}")
    return int(value)


def parse_bit(text: str) -> int | None:
    """'0' or '1' (surrounding whitespace allowed) as an int, else None."""
    stripped = text.strip()
    return int(stripped) if stripped in ("0", "1") else None


def parse_leading_bit(text: str) -> int | None:
    """Paper 1's synthetic answer parser, `int(text.strip()[0])`, restricted to 0/1 and made total."""
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    return int(stripped[0]) if stripped[:1] in ("0", "1") else None


def parse_json_explanation(text: str) -> int | None:
    """Decision of a JSON explanation (optionally inside ```json fences): its last item must be ["OUTPUT", 0|1]."""
    try:
        match = _JSON_FENCE.search(text)
        body = match[1] if match is not None else text
        items = json.loads(body.strip())
        last = items[-1] if isinstance(items, list) and items else None
        if not (isinstance(last, list) and len(last) == 2 and last[0] == "OUTPUT"):
            return None
        decision = last[1]
        # `type(...) is int` refuses JSON booleans and floats: the target always writes a bare 0 or 1.
        return decision if type(decision) is int and decision in (0, 1) else None
    except Exception:  # noqa: BLE001 - any unreadable text (also RecursionError on absurd nesting) is a failure
        return None


def parse_comma_bits(text: str) -> list[int] | None:
    """'1,0,0,1' -> [1, 0, 0, 1]; None when empty or any item is not 0/1 (whitespace around items is allowed)."""
    if not isinstance(text, str):
        return None
    bits = [parse_bit(item) for item in text.strip().split(",")]
    if any(bit is None for bit in bits):
        return None
    return [int(bit) for bit in bits if bit is not None]
