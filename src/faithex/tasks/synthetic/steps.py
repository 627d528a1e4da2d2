"""What paper 1's synthetic tasks share to write and check *steps*: the reasoning formats and the step grammar.

A step is one partial decision a text writes: a comparison with its truth value (`0.6>0.4:1`, `["0.6 > 0.4",
true]`, "The debt-to-income ratio of 38% is below 43%.") or an arithmetic claim (`2.1352 2.1352`, a running sum).
A step is *valid* when the value it writes is true of its own written operands, whatever the classifier says;
so an explanation that copies a wrong reasoning bit (`["0.6 > 0.4", false]`) has an invalid step.

Reasoning formats (task parameter `reasoning_format`):
- `compressed` (paper 1, the default): one token per partial decision (`1,0,1` for a tree);
- `verbose`: every partial decision written with its operands first (`0.6>0.4:1;0.2<0.7:1;1`), the way the
  explanation writes it; the last `;`-item is the output.

A task object writes and reads one format; `with_reasoning_format` gives the same classifier in the other, and each
task's `rewrite_reasoning` re-writes a reasoning of its own format in the other one, stating the same steps and the
same output (the paraphrase of the reasoning interventions, and the both-formats regime's training data).

The task parsers built on these helpers never raise on model output: unreadable text gives None (or, inside a
readable text, an invalid step).
"""

from __future__ import annotations

import copy
import json
import math
import operator
from typing import Any

from faithex.errors import ConfigError
from faithex.tasks.base import _JSON_FENCE  # the same fence rule as the explanation's decision parser

REASONING_FORMATS = ("compressed", "verbose")
DEFAULT_REASONING_FORMAT = "compressed"

#: A decimal number as Python writes floats: sign, digits, optional fraction and exponent (`repr(0.00005)` is
#: "5e-05", which a task with `decimals >= 5` writes in its input). No `nan` or `inf`.
NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"

_OPERATIONS = {
    "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge,
    "in": lambda value, allowed: value in allowed,
}


def check_reasoning_format(value: Any) -> str:
    """`value` if it is a known reasoning format, else a ConfigError listing them."""
    if value not in REASONING_FORMATS:
        raise ConfigError(f"parameter 'reasoning_format' must be one of {', '.join(REASONING_FORMATS)}, got {value!r}")
    return value


def format_params(reasoning_format: str) -> dict[str, str]:
    """The task parameter to record for a format: none for the default, so that `describe()` (written to
    results.json) and every run made before the parameter existed stay byte-identical."""
    return {} if reasoning_format == DEFAULT_REASONING_FORMAT else {"reasoning_format": reasoning_format}


def other_reasoning_format(reasoning_format: str) -> str:
    """The format that is not `reasoning_format` (there are two)."""
    (other,) = [name for name in REASONING_FORMATS if name != check_reasoning_format(reasoning_format)]
    return other


def with_reasoning_format(task: Any, reasoning_format: str) -> Any:
    """A copy of `task` writing and reading `reasoning_format`: the same classifier, even one set by hand (a tree's
    nodes, the weights), since it is copied rather than drawn again; `params` (and so `describe()`) say the format as
    a task built with it would."""
    reasoning_format = check_reasoning_format(reasoning_format)
    other = copy.copy(task)
    other.reasoning_format = reasoning_format
    kept = {name: value for name, value in task.params.items() if name != "reasoning_format"}
    other.params = {**kept, **format_params(reasoning_format)}
    return other


def compare(left: Any, op: str, right: Any) -> bool:
    """The truth of `left op right` for op in <, >, <=, >=, in."""
    return bool(_OPERATIONS[op](left, right))


def close(a: float, b: float, decimals: int) -> bool:
    """Whether two numbers agree within the rounding of a format with `decimals` places (half a unit in the last
    place, plus float noise): a rounded product or sum passes, anything a unit or more off does not."""
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 0.5 * 10.0**-decimals + 1e-9


def split_reasoning(text: Any) -> tuple[list[str], str | None] | None:
    """A `;`-separated reasoning as (step items, output item): the output is the last item when it is a bare
    bit, else None (every item is then a step). None for a text that is not a string or is blank."""
    if not isinstance(text, str) or not text.strip():
        return None
    items = text.strip().split(";")
    if items[-1].strip() in ("0", "1"):
        return items[:-1], items[-1].strip()
    return items, None


def parse_verbose_reasoning(text: Any, read_step) -> list[int] | None:
    """The bits of a verbose reasoning (each step's written truth bit, then the output), or None when any step
    is unreadable (`read_step(item)` returns its bit or None), the output is missing, or there is no step."""
    parts = split_reasoning(text)
    if parts is None or parts[1] is None or not parts[0]:
        return None
    bits = [read_step(item) for item in parts[0]]
    if any(bit is None for bit in bits):
        return None
    return [*bits, int(parts[1])]


def json_items(text: Any) -> list[Any] | None:
    """The top-level list of a JSON explanation (optionally inside ```json fences), or None."""
    try:
        match = _JSON_FENCE.search(text)
        items = json.loads((match[1] if match is not None else text).strip())
    except Exception:  # noqa: BLE001 - any unreadable text (also RecursionError on absurd nesting) is unreadable
        return None
    return items if isinstance(items, list) else None


def is_output_item(item: Any) -> bool:
    """Whether a JSON explanation item is the decision (`["OUTPUT", d]`), which is not a comparison step."""
    return isinstance(item, list) and len(item) > 0 and item[0] == "OUTPUT"
