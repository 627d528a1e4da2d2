"""Check the numbers docs/results.md and README.md cite from runs against the committed files they come from.

A number from a run is followed by an HTML comment, its source marker, naming the file and the field(s) it was
printed from; the marker pairs with the numbers between the previous marker (or the start of the line, or of the
table cell) and itself, in order. The syntax is in docs/numbers.md; in short:

    0.890 [0.83, 0.95]<!-- demo: cell(decision_tree/joint_reasoning) answer_accuracy .low .high -->

Each paired number must equal its field within the printed rounding (0.890 matches 0.8896 and 0.8904, not 0.8906), a
marker must pair exactly as many numbers as it names fields, and every decimal number, percentage, number in
scientific notation and bracketed interval must be paired with a marker (a source or `<!-- skip: why -->`).

    python scripts/check_docs_numbers.py docs/results.md README.md
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = Path("docs/runs")

MARKER = re.compile(r"<!--(.*?)-->")
# Masked before numbers are read (kept the same length, so positions stay): code spans, link targets, short
# quotations (a label "0"), the papers' numbers and arXiv ids, "95% CI", seed numbers, dates, commit hashes. None
# of them is a measured number.
NOT_PROSE = [
    re.compile(r"`[^`]*`"),
    re.compile(r"\]\([^)]*\)"),
    re.compile(r'"[^"\n]{1,40}"'),
    re.compile(r"\b[Pp]apers? \d(?: and \d)?\b"),
    re.compile(r"\barXiv \d{4}\.\d{4,5}\b"),
    re.compile(r"\b95 ?%(?=\s+(?:bootstrap\s+)?CIs?\b)"),
    re.compile(r"\bseeds? \d+(?:(?:, | and )\d+)*\b"),
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b"),
]
NUMBER = re.compile(
    r"(?P<sign>[-+±])?(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?P<frac>\.\d+)?(?:[eE](?P<exp>[-+]?\d+))?"
    r"(?P<unit> ?%|x(?![A-Za-z]))?"
)
# "12 min 35 s" is one number of seconds.
DURATION = re.compile(r"(?<![\w.])(\d+) min\s+(\d+) s\b")
INTERVAL = re.compile(r"\[\s*[-+]?\d[\d.,eE+-]*\s*,\s*[-+]?\d[\d.eE+-]*\s*\]")
SKIP_TO_HEADING = "skip to heading:"
NOTE = "note:"
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")
SELECTOR = re.compile(r"^(?P<kind>[a-z]+)\((?P<args>[^()\s]*)\)(?:\.(?P<path>\S+))?$")
FIELD_SCALE = re.compile(r"^(?P<path>.*?)(?:(?P<percent>%)|:(?P<minutes>min)|\*(?P<factor>\d+(?:\.\d+)?))?$")

# selector kind -> (list in the file, the keys its positional arguments name, in order)
SELECTORS = {
    "cell": ("cells", ("task", "regime", "protocol", "seed")),
    "summary": ("seed_summaries", ("task", "regime", "protocol")),
    "cmp": ("comparisons", ("task", "regime", "metric", "seed")),
    "verdict": ("verdicts", ("claim", "setting", "regime", "protocol")),
}


def _verdict_keys(item: dict) -> dict:
    """A verdict's fields plus the parts a selector names it by: `regime`/`protocol` of its treatment, `vs` its
    baseline regime, `seed` when it rests on one seed."""
    regime, _, protocol = str(item.get("treatment", "")).partition("/")
    seeds = item.get("seeds") or []
    return {**item, "regime": regime, "protocol": protocol, "vs": str(item.get("baseline", "")).split("/")[0],
            "seed": seeds[0] if len(seeds) == 1 else "all"}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Number:
    """A number as printed: its value (sign included), how far rounding may have moved it, and how it reads."""

    text: str
    value: float
    tolerance: float
    decimals: int
    exponent: int | None
    relation: str  # "=" (rounded value), "<" / ">" (a bound on the field), "±" (a bound on its absolute value)
    must_mark: bool

    def matches(self, field: float) -> bool:
        slack = 1e-9
        if self.relation == "<":
            return field <= self.value + slack
        if self.relation == ">":
            return field >= self.value - slack
        if self.relation == "±":
            return abs(field) <= self.value + self.tolerance + slack
        return abs(self.value - field) <= self.tolerance + slack

    def expected(self, field: float) -> str:
        """The field printed the way this number is printed."""
        if self.exponent is not None:
            return f"{field:.{self.decimals}e}"
        return f"{field:.{self.decimals}f}"


@dataclass(frozen=True)
class Field:
    """One field a marker names: where it lies, the value found there, and the scale it is printed at."""

    label: str
    value: object
    scale: float
    also: tuple[Field, ...] = ()  # fields joined by & that the same number must match too

    @property
    def is_number(self) -> bool:
        """A number, or a list of numbers (a slice), each of which the printed number must match."""
        return _is_number(self.value) or isinstance(self.value, list)


class MarkerError(Exception):
    """A marker that cannot be read or names something the file does not have."""


# ---- reading numbers ------------------------------------------------------------------------------------------


def mask(text: str, patterns=NOT_PROSE) -> str:
    for pattern in patterns:
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def read_numbers(text: str, offset: int = 0, intervals: tuple[tuple[int, int], ...] = ()) -> list[tuple[int, Number]]:
    """The numbers of a piece of masked prose, with their positions (offset added); words like fp32, 2-core,
    top-10, SmolLM2-135M or a version 2.13.0 hold no number."""
    numbers = []
    for duration in DURATION.finditer(text):
        seconds = int(duration.group(1)) * 60 + int(duration.group(2))
        numbers.append((offset + duration.start(), Number(duration.group(), seconds, 0.5, 0, None, "=", False)))
    text = DURATION.sub(lambda m: " " * len(m.group()), text)
    for match in NUMBER.finditer(text):
        number = _number(text, match, offset, intervals)
        if number is not None:
            numbers.append((offset + match.start(), number))
    return sorted(numbers, key=lambda item: item[0])


def _number(text: str, match: re.Match, offset: int, intervals) -> Number | None:
    start, end = match.start(), match.end()
    sign = match.group("sign") or ""
    before = text[start - 1] if start > 0 else " "
    if sign in ("-", "+") and before.isdigit():
        sign, start = "", start + 1  # a range, 7-14: the second number is not negative
        before = "-"
    before2 = text[start - 2] if start >= 2 else " "
    if before.isalnum() or before in "_.#@\\" or (before in "-+/" and before2.isalpha()):
        return None  # part of a word, name or path: fp32, x86_64, top-10, v1.2, runs/2 (but 16/16/8 is three)
    after = text[end] if end < len(text) else " "
    after2 = text[end + 1] if end + 1 < len(text) else " "
    if after.isalnum() or after == "_" or (after == "." and after2.isdigit()) or (after == "-" and after2.isalpha()):
        return None  # 2-core, 1-epoch, a version's 2.13.0
    frac = match.group("frac") or ""
    exponent = int(match.group("exp")) if match.group("exp") is not None else None
    digits = match.group("int").replace(",", "") + frac
    decimals = len(frac) - 1 if frac else 0
    magnitude = float(digits) * (10.0 ** exponent if exponent is not None else 1.0)
    value = -magnitude if sign == "-" else magnitude
    tolerance = 0.5 * 10.0 ** (-decimals + (exponent or 0))
    relation = "±" if sign == "±" else _relation(text, start)
    unit = (match.group("unit") or "").strip()
    inside_interval = any(low <= offset + start < high for low, high in intervals)
    must_mark = bool(frac) or exponent is not None or unit == "%" or inside_interval
    return Number(text[start:end].strip(), value, tolerance, decimals, exponent, relation, must_mark)


def _relation(text: str, start: int) -> str:
    """"p < 0.002" is a bound; "0.74 -> 0.02" is not."""
    i = start - 1
    if i >= 0 and text[i] == " ":
        i -= 1
    if i >= 0 and text[i] == "=":
        i -= 1
    if i >= 0 and text[i] == "<":
        return "<"
    if i >= 0 and text[i] == ">" and not (i > 0 and text[i - 1] == "-"):
        return ">"
    return "="


# ---- resolving fields -----------------------------------------------------------------------------------------


class Sources:
    """The JSON files markers name, each read once; a bare name is docs/runs/<name>/results.json."""

    def __init__(self, root: Path = ROOT):
        self.root = Path(root)
        self._loaded: dict[str, object] = {}

    def get(self, name: str):
        if name not in self._loaded:
            self._loaded[name] = json.loads(self.path(name).read_text())
        return self._loaded[name]

    def path(self, name: str) -> Path:
        for candidate in (self.root / RUNS / name / "results.json", self.root / RUNS / name, self.root / name):
            if candidate.is_file():
                return candidate
        raise MarkerError(f"no file for source {name!r} "
                          f"(tried docs/runs/{name}/results.json, docs/runs/{name}, {name})")


def select(document, kind: str, args: str):
    """The one object a selector names: cell(task/regime/protocol/seed), summary(task/regime/protocol),
    cmp(task/regime/metric/seed), verdict(claim/setting/regime/protocol; vs=, seed=), task(name). Positional
    arguments may stop early or be *; key=value matches any key (protocol=..., baseline=...)."""
    if kind == "task":
        tasks = document.get("tasks", {})
        if args not in tasks:
            raise MarkerError(f"no task {args!r} (the file has {', '.join(sorted(tasks))})")
        return tasks[args]
    if kind not in SELECTORS:
        raise MarkerError(f"unknown selector {kind}(...): use cell, summary, cmp, verdict or task")
    listing, keys = SELECTORS[kind]
    wanted = {}
    positional = 0
    for part in (args.split("/") if args else []):
        if "=" in part:
            key, value = part.split("=", 1)
            wanted[key] = value
        else:
            if positional >= len(keys):
                raise MarkerError(f"{kind}({args}) has more than {len(keys)} positional parts")
            wanted[keys[positional]] = part
            positional += 1
    keyed = _verdict_keys if kind == "verdict" else (lambda item: item)
    found = [item for item in document.get(listing, []) if _matches(keyed(item), wanted)]
    if len(found) != 1:
        what = "nothing" if not found else f"{len(found)} entries"
        raise MarkerError(f"{kind}({args}) matches {what} in {listing}")
    return found[0]


def _matches(item: dict, wanted: dict) -> bool:
    return all(value == "*" or str(item.get(key)) == value for key, value in wanted.items())


def walk(base, path: str, label: str):
    """The object at a dotted path: keys and list indices; a metric name may leave out `metrics.`."""
    value = base
    for i, part in enumerate(part for part in path.split(".") if part):
        if isinstance(value, list) and re.fullmatch(r"-?\d+", part) and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, list) and re.fullmatch(r"\d*:\d*", part):
            low, high = part.split(":")  # a slice: every item must match ("within ±0.07", "all 0")
            value = value[int(low) if low else None:int(high) if high else None]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, dict) and part.replace("_", " ") in value:
            value = value[part.replace("_", " ")]  # a key with spaces: dropped.not_faithful
        elif i == 0 and isinstance(value, dict) and part in value.get("metrics", {}):
            value = value["metrics"][part]
        else:
            raise MarkerError(f"{label}: the file has no field {part!r} there")
    return value


def as_value(value, label: str):
    """A metric ends on its value, a seed summary's metric on its mean; anything else must be a number or a word."""
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    elif isinstance(value, dict) and "mean" in value:
        value = value["mean"]
    if isinstance(value, list) and value and all(_is_number(item) for item in value):
        return value
    if isinstance(value, (dict, list)) or value is None:
        raise MarkerError(f"{label}: not a number or a word ({type(value).__name__})")
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class Context:
    """What the later markers of a table row or paragraph inherit: a source, and an object picked by a selector."""

    source: str | None = None
    base: object = None
    label: str = ""


def read_marker(body: str, sources: Sources, context: Context) -> tuple[list[Field] | None, Context | None]:
    """The fields a marker names, or (None, the new context) for a marker that names only a source and perhaps a
    selector. Refs are separated by `;` and pair the numbers in order; refs joined by `&` pair the same numbers
    (0.205 for both regimes). A ref without a source or selector continues the previous ref's object, or the
    context's."""
    fields: list[Field] = []
    state = {"source": None, "base": None, "label": None}
    refs = [ref.strip() for ref in body.split(";")]
    for ref in refs:
        group = [_read_ref(part.strip(), sources, context, state) for part in ref.split("&")]
        if group[0] is None:
            if len(refs) == 1 and len(group) == 1:
                return None, Context(state["source"], state["selector_base"], state["label"])
            raise MarkerError(f"{ref!r} names no field")
        if any(alternative is None or len(alternative) != len(group[0]) for alternative in group[1:]):
            raise MarkerError(f"the refs joined by & in {ref!r} name different counts of fields")
        for i, field in enumerate(group[0]):
            fields.append(Field(field.label, field.value, field.scale, tuple(other[i] for other in group[1:])))
    return fields, None


def _read_ref(ref: str, sources: Sources, context: Context, state: dict) -> list[Field] | None:
    """The fields of one ref (None if it names none); `state` carries the source and object to the next ref."""
    tokens = ref.split()
    explicit = bool(tokens) and tokens[0].endswith(":")
    if explicit:
        state["source"], tokens = tokens[0][:-1], tokens[1:]
    own_source = state["source"] or context.source
    if own_source is None:
        raise MarkerError(f"no source in {ref!r} (start with a run name and a colon, e.g. 'demo:')")
    state["source"] = own_source
    document = sources.get(own_source)
    selector = SELECTOR.match(tokens[0]) if tokens else None
    state["selector_base"] = None
    if selector:
        kind, args, path = selector.group("kind", "args", "path")
        state["base"], state["label"] = select(document, kind, args), f"{own_source}: {kind}({args})"
        state["selector_base"] = state["base"]
        tokens = tokens[1:]
        if path and tokens:  # cell(...).answer_accuracy value low high: the fields lie under the path
            state["base"] = walk(state["base"], path, state["label"])
            state["label"] += f".{path}"
        elif path:  # cell(...).answer_accuracy is cell(...) answer_accuracy
            tokens = [path]
    elif explicit:
        state["base"], state["label"] = document, f"{own_source}:"
    elif state["base"] is None:
        state["base"] = context.base if context.base is not None else document
        state["label"] = context.label if context.base is not None else f"{own_source}:"
    if not tokens:
        return None
    fields, stem = [], ""
    for token in tokens:
        if token.startswith(".") and stem:
            token = stem + token  # `answer_accuracy .low .high`: .low continues the last full path
        else:
            stem = FIELD_SCALE.match(token).group("path")
        fields.append(_field(state["base"], token, state["label"]))
    return fields


def _field(base, token: str, label: str) -> Field:
    scaled = FIELD_SCALE.match(token)
    path = scaled.group("path")
    scale = 1.0
    if scaled.group("percent"):
        scale = 100.0
    elif scaled.group("minutes"):
        scale = 1 / 60
    elif scaled.group("factor"):
        scale = float(scaled.group("factor"))
    name = label if not path else (f"{label} {path}" if label.endswith(":") else f"{label}.{path.lstrip('.')}")
    name += token[len(path):]
    return Field(name, as_value(walk(base, path, name), name), scale)


# ---- checking a document --------------------------------------------------------------------------------------


def check_text(text: str, path: str = "<text>", sources: Sources | None = None) -> list[Problem]:
    """Every problem of one Markdown document: numbers that do not match their fields, markers that cannot be
    read or pair the wrong count of numbers, and decimals or intervals that no marker covers."""
    sources = sources or Sources()
    lines = text.splitlines()
    exempt = exempt_lines(lines)
    problems: list[Problem] = []
    for first, block in blocks(lines):
        block_exempt = exempt[first - 1:first + block.count("\n")]
        problems += [Problem(path, first + offset, message)
                     for offset, message in check_block(block, sources, block_exempt)]
    return problems


def exempt_lines(lines: list[str]) -> list[bool]:
    """Per line: inside a `skip to heading` scope (from the marker's line to the next heading)?"""
    exempt, flags = False, []
    for line in lines:
        if line.startswith("#"):
            exempt = False
        exempt = exempt or any(m.group(1).strip().startswith(SKIP_TO_HEADING) for m in MARKER.finditer(line))
        flags.append(exempt)
    return flags


def blocks(lines: list[str]):
    """(first line number, text) of each paragraph, list item and table row: a marker's numbers may run over the
    line breaks of a paragraph, never past its end. Code (fenced or indented) is left out."""
    block: list[str] = []
    first = 0
    in_fence = False
    for number, line in enumerate(lines, start=1):
        fence = line.lstrip().startswith("```")
        if fence:
            in_fence = not in_fence
        starts_new = (not line.strip() or fence or in_fence or line.startswith(("#", "    "))
                      or line.lstrip().startswith("|") or LIST_ITEM.match(line))
        if starts_new and block:
            yield first, "\n".join(block)
            block = []
        if fence or in_fence or not line.strip() or line.startswith("    "):
            continue
        if not block:
            first = number
        block.append(line)
        if line.startswith("#") or line.lstrip().startswith("|"):
            yield first, "\n".join(block)
            block = []
    if block:
        yield first, "\n".join(block)


def check_block(text: str, sources: Sources, exempt: list[bool]) -> list[tuple[int, str]]:
    """The problems of one paragraph or table row, as (line offset, message)."""
    markers = list(MARKER.finditer(text))
    prose = mask(mask(text, [MARKER]))
    intervals = tuple((m.start(), m.end()) for m in INTERVAL.finditer(prose))
    boundaries = [m.start() for m in re.finditer(r"\|", prose)] if text.lstrip().startswith("|") else []
    events = sorted([(m.start(), "marker", m) for m in markers] + [(b, "cell", None) for b in boundaries],
                    key=lambda event: event[0])
    line_of = lambda position: text.count("\n", 0, position)  # noqa: E731
    messages: list[tuple[int, str]] = []
    context = Context()
    start = 0
    for position, kind, marker in events + [(len(text), "end", None)]:
        numbers = read_numbers(prose[start:position], start, intervals)
        if kind == "marker":
            found, context = pair(marker.group(1).strip(), numbers, text[start:position], sources, context)
            messages += [(line_of(at if at is not None else position), message) for at, message in found]
            start = marker.end()
        else:
            messages += [(line_of(at), f"{n.text}: a decimal, percentage or interval with no source marker "
                                       "(add <!-- SOURCE: FIELD --> or <!-- skip: why -->)")
                         for at, n in numbers if n.must_mark and not exempt[line_of(at)]]
            start = position + 1
    return messages


def pair(body: str, numbers: list[tuple[int, Number]], segment: str, sources: Sources,
         context: Context) -> tuple[list[tuple[int | None, str]], Context]:
    """Check the numbers a marker pairs with against the fields it names; also the context after it. Messages
    carry the position of the number they are about (None: the marker's)."""
    if body.startswith(SKIP_TO_HEADING):
        return [], context
    if body.startswith(NOTE):  # a remark for the writer (where a generated block starts): no number may precede it
        printed = ", ".join(n.text for _, n in numbers)
        return ([(None, f"<!-- {body} --> is a note and pairs no number, but follows {printed}")] if numbers
                else []), context
    if body == "skip" or body.startswith("skip:"):
        return ([] if numbers else [(None, f"<!-- {body} --> pairs no number")]), context
    try:
        fields, new_context = read_marker(body, sources, context)
    except (MarkerError, OSError, json.JSONDecodeError) as error:
        return [(None, f"<!-- {body} -->: {error}")], context
    if fields is None:
        if numbers:
            printed = ", ".join(n.text for _, n in numbers)
            return [(None, f"<!-- {body} --> names no field but follows {printed}")], new_context
        return [], new_context
    return check_pairs(body, numbers, fields, segment), context


def check_pairs(body: str, numbers: list[tuple[int, Number]], fields: list[Field],
                segment: str) -> list[tuple[int | None, str]]:
    words = [field for field in fields if not field.is_number]
    numeric = [field for field in fields if field.is_number]
    messages = [(None, f"{field.label} = {field.value!r} is not in the text before <!-- {body} -->")
                for field in words if str(field.value).lower() not in segment.lower()]
    if len(numeric) != len(numbers):
        printed = ", ".join(n.text for _, n in numbers) or "none"
        return messages + [(None, f"<!-- {body} --> names {len(numeric)} numeric field(s) but pairs "
                                  f"{len(numbers)} number(s) ({printed})")]
    for (at, number), first in zip(numbers, numeric):
        for field in (first, *first.also):
            if not field.is_number:
                messages.append((at, f"{field.label} = {field.value!r} is not a number"))
                continue
            if isinstance(field.value, list):
                values = [float(item) * field.scale for item in field.value]
                if not all(number.matches(value) for value in values):
                    messages.append((at, f"{number.text} does not match every item of {field.label} = "
                                         f"{field.value!r}"))
                continue
            value = float(field.value) * field.scale
            if math.isnan(value) or not number.matches(value):
                bound = "" if number.relation == "=" else f" (a bound: {number.relation})"
                messages.append((at, f"{number.text} does not match {field.label} = {field.value!r}{bound}: "
                                     f"expected {number.expected(value)}"))
    return messages


def check_file(path: str | Path, sources: Sources | None = None) -> list[Problem]:
    return check_text(Path(path).read_text(), str(path), sources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="Markdown files, e.g. docs/results.md README.md")
    parser.add_argument("--root", default=str(ROOT), help="the repository the sources are read from")
    args = parser.parse_args(argv)
    sources = Sources(Path(args.root))
    problems = [problem for name in args.files for problem in check_file(name, sources)]
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"{', '.join(args.files)}: every marked number matches its source")
    return 0


if __name__ == "__main__":
    sys.exit(main())
