"""Madsen et al. (2024)'s self-consistency checks, for any faithex task: prompts, parsing, interventions, criteria.

A model classifies a paragraph, explains itself in one of three styles, and the explanation is turned into an
intervention on the paragraph; the model then classifies the intervened paragraph. The explanation is *faithful*
when the model's own reading of the intervened paragraph is what the explanation claims:

- attribution: the model lists the important words; each is replaced by [REDACTED] in the paragraph. Faithful iff the
  label on the redacted paragraph is "unknown" (binary tasks: also "neutral", which Madsen's sentiment parser reads
  from "neutral"/"mixed" answers; tasks with more than two labels: exactly "unknown").
- redaction: the model rewrites the paragraph with [REDACTED] in place of the important words; same criterion.
- counterfactual: the model edits the paragraph so that its label becomes a target; faithful iff the label on the
  edit is the target. The target comes from the gold label as in Madsen's code (`target_from="gold"`: the next
  label in the offered order, cyclically, i.e. the other label of a binary task) or from the prediction.

Beside every attribution and redaction check, a **random-word control** (`random_control`): the same number of
the paragraph's words, chosen at random (seeded per item), are redacted instead of the ones the explanation names,
and the model classifies that paragraph too. A check that passes no more often than its control shows nothing.

Everything here is pure text processing (no model, no torch): the protocol in `faithex.protocols.self_consistency`
asks the model. Prompts are built from the task's label names and instruction (`Wording.of(task)`), so any task
works; the exact texts, parsing rules and their differences from Madsen's code are in docs/faithfulness.md.
"""

from __future__ import annotations

import difflib
import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from faithex.errors import ConfigError

REDACTED = "[REDACTED]"
UNKNOWN = "unknown"
NEUTRAL = "neutral"
STYLES = ("attribution", "redaction", "counterfactual")
WORD_LIMITS = ("many", "1")
TARGET_SOURCES = ("gold", "prediction")
SENTIMENTS = frozenset({"negative", "neutral", "positive"})

Style = Literal["attribution", "redaction", "counterfactual"]
#: What a classification reads as: a label index, "unknown", or (binary tasks) "neutral". None: unreadable.
Decision = int | str


# -- how a task is worded -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Wording:
    """How the prompts name a task: Madsen's sentiment wording or his question wording, names or lettered options.

    `choices`: the label indices in the order they are offered (tasks with more than two labels: alphabetical by
    name, as Madsen's multi-choice prompt; "unknown" is always offered last). `sentiment`: every label name is one
    of negative / neutral / positive, so the prompts ask for "the sentiment" as Madsen's sentiment task does;
    otherwise they ask `question` (the task's instruction without its trailing list of label names)."""

    label_names: tuple[str, ...]
    choices: tuple[int, ...]
    lettered: bool
    sentiment: bool
    question: str

    @classmethod
    def of(cls, task: Any) -> Wording:
        names = tuple(task.label_names)
        if len(names) < 2:
            raise ConfigError(f"task '{getattr(task, 'name', '?')}': self-consistency checks need at least 2 labels")
        lettered = len(names) > 2
        # Binary tasks keep the task's order; lettered options are sorted alphabetically (Madsen's multi_choice).
        choices = tuple(sorted(range(len(names)), key=lambda i: names[i].casefold())) if lettered \
            else tuple(range(len(names)))
        sentiment = {n.casefold() for n in names} <= SENTIMENTS
        return cls(names, choices, lettered, sentiment, task_question(task))

    # -- the phrases the prompts are made of --------------------------------------------------------------------
    @property
    def ask(self) -> str:
        if self.sentiment:
            return "What is the sentiment of the following paragraph?"
        return f'Consider the following paragraph, and answer the question: "{self.question}"'

    @property
    def purpose(self) -> str:
        if self.sentiment:
            return "for determining the sentiment of the following paragraph"
        return f'for answering "{self.question}" given the following paragraph'

    @property
    def undetermined(self) -> str:
        return "the sentiment can not be determined" if self.sentiment else "the question can not be answered"

    def target_phrase(self, target: int) -> str:
        name = self.label_names[target]
        if self.sentiment:
            return f'the sentiment is "{name}"'
        return f'the answer to the question "{self.question}" is "{name}"'

    # -- the options offered, and what scoring them means --------------------------------------------------------
    @property
    def option_decisions(self) -> list[Decision]:
        """What each offered option stands for, in the offered order ("unknown" last)."""
        return [*self.choices, UNKNOWN]

    @property
    def option_texts(self) -> list[str]:
        """What `score` mode scores as the whole answer: the label names and "unknown", or the letters."""
        if self.lettered:
            return [_letter(i) for i in range(len(self.option_decisions))]
        return [*(self.label_names[c] for c in self.choices), UNKNOWN]

    def options_sentence(self) -> str:
        decisions = self.option_decisions
        names = [self.label_names[d] if isinstance(d, int) else UNKNOWN for d in decisions]
        if not self.lettered:
            quoted = [f'"{n}"' for n in names]
            return f"Answer only {', '.join(quoted[:-1])}, or {quoted[-1]}."
        lettered = [f'{_letter(i)}) "{n}"' for i, n in enumerate(names)]
        return f"Answer either {', '.join(lettered[:-1])}, or {lettered[-1]} if {self.undetermined}."

    def name_of(self, decision: Decision | None) -> str | None:
        if decision is None:
            return None
        return self.label_names[decision] if isinstance(decision, int) else str(decision)


def task_question(task: Any) -> str:
    """The task's instruction without its trailing "(a, b or c)" list of label names, which the options replace:
    "Topic of this BBC headline (business, ... or tech)?" -> "Topic of this BBC headline?"."""
    instruction = (getattr(task, "instruction", None) or "").strip()
    if not instruction:
        return (getattr(task, "description", None) or "").strip() or "What is the label of the paragraph?"
    return re.sub(r"\s*\([^()]*\)\s*(?=[?.:]?\s*$)", "", instruction)


def _letter(index: int) -> str:
    return chr(ord("a") + index)


# -- prompts (exact texts: docs/faithfulness.md) ------------------------------------------------------------------
def classify_prompt(wording: Wording, paragraph: str) -> str:
    """Madsen's classification prompt: the paragraph may contain [REDACTED]; "unknown" is always an option."""
    return (f"{wording.ask} The paragraph can contain redacted words marked with {REDACTED}. "
            f"{wording.options_sentence()} Do not explain the answer.\n\nParagraph: {paragraph}")


def explanation_prompt(wording: Wording, style: str, paragraph: str, words: str = "many",
                       target: int | None = None) -> str:
    """The request for a self-explanation in `style`; `words="1"` asks for one word (paper 3's constraint)."""
    check_style(style)
    one = check_words(words) == "1"
    if style == "attribution":
        if one:
            head = (f"Name the single most important word {wording.purpose}, such that without this word "
                    f"{wording.undetermined}. Answer with one word only.")
        else:
            head = (f"List the most important words {wording.purpose}, such that without these words "
                    f"{wording.undetermined}.")
    elif style == "redaction":
        if one:
            head = (f"Redact the single most important word {wording.purpose}, by replacing it with {REDACTED}, "
                    f"such that without this word {wording.undetermined}.")
        else:
            head = (f"Redact the most important words {wording.purpose}, by replacing important words with "
                    f"{REDACTED}, such that without these words {wording.undetermined}.")
    else:
        if target is None:
            raise ValueError("a counterfactual explanation needs a target label")
        edits = "Change only one word." if one else "Make as few edits as possible."
        head = f"Edit the following paragraph such that {wording.target_phrase(target)}. {edits}"
    return f"{head} Do not explain the answer.\n\nParagraph: {paragraph}"


def counterfactual_target(wording: Wording, label: Decision | None) -> int | None:
    """The label a counterfactual should reach from `label`: the next offered label, cyclically (binary: the other
    one). None when `label` is not a label (a prediction of "unknown", or unreadable)."""
    if not isinstance(label, int) or label not in wording.choices:
        return None
    position = wording.choices.index(label)
    return wording.choices[(position + 1) % len(wording.choices)]


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"unknown self-explanation style {style!r} (known: {', '.join(STYLES)})")
    return style


def check_words(words: Any) -> str:
    text = str(words)
    if text not in WORD_LIMITS:
        raise ValueError(f"words must be 1 or 'many', got {words!r}")
    return text


# -- reading classifications (Madsen's cues, generalised to any label names) ----------------------------------------
#: Madsen's phrases that introduce a sentiment ("... seems positive", "classified as negative").
_PAIR_PREFIXES = (
    "could be", "are multiple", "to express", "might be", "are some", "be some", "it contains", "paragraph contains",
    "paragraph has", "tool detects", "be considered", "classified as", "there are", "seems to be mostly",
    "seems to be", "seems", "appears to be", "is:", "is",
)
#: Phrases that say the label cannot be told (Madsen's sentiment and multi-choice lists).
_UNKNOWN_PHRASES = (
    "both positive and negative", "difficult to determine", "no explicit sentiments", "no clear sentiment",
    "cannot provide", "unable to determine", "cannot determine", "cannot be determined",
    "cannot be accurately determined", "insufficient context",
)
_UNKNOWN_OPENINGS = ("unknown", "i am sorry", "sorry")
#: A single option letter: "b", "(b)", "b)", "b.", '"b"' (Madsen's multi-choice regex).
_LETTER = re.compile(r'(?:^| |\(|")([a-z])(?:\.|,|:|\)|"|$)', re.IGNORECASE | re.MULTILINE)


def _alternation(phrases: Sequence[str]) -> str:
    return "(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + ")"


def _whole(phrase_pattern: str) -> str:
    """A phrase not glued to word characters on either side (works for phrases that begin or end in punctuation,
    where `\\b` would not)."""
    return rf"(?<!\w){phrase_pattern}(?!\w)"


def _first_position(text: str, opening: Sequence[str], values: Sequence[str],
                    contains: Sequence[str] = ()) -> int | None:
    """Where the earliest cue for one decision is: the text opens with it ("positive", "sentiment: positive"), a
    Madsen prefix names it ("seems positive"), or a phrase says it ("cannot determine"). None: no cue."""
    positions = []
    if re.match(_whole(_alternation(opening)), text):
        positions.append(0)
    paired = re.search(r"\b" + _alternation(_PAIR_PREFIXES) + " " + _whole(_alternation(values)), text)
    if paired:
        positions.append(paired.start())
    if contains:
        phrase = re.search(_whole(_alternation(contains)), text)
        if phrase:
            positions.append(phrase.start())
    return min(positions) if positions else None


def _named_cues(name: str) -> tuple[list[str], list[str]]:
    quoted = f'"{name}"'
    opening = [name, quoted, f"sentiment: {name}", f"answer: {name}", f"label: {name}"]
    return opening, [name, quoted]


def parse_classification(wording: Wording, text: str | None) -> Decision | None:
    """The decision an answer states: a label index, "unknown", "neutral" (binary tasks without a neutral label),
    or None when it states none (a parse failure)."""
    if not isinstance(text, str) or not text.strip():
        return None
    return _parse_lettered(wording, text) if wording.lettered else _parse_named(wording, text)


def _parse_named(wording: Wording, text: str) -> Decision | None:
    """Madsen's sentiment parser for any two label names; where cues for several decisions occur, the earliest wins
    (Madsen checks positive, negative, neutral, unknown in that fixed order)."""
    source = text.strip().casefold()
    candidates: list[tuple[Decision, list[str], list[str], tuple[str, ...]]] = []
    for label in wording.choices:
        opening, values = _named_cues(wording.label_names[label].casefold())
        candidates.append((label, opening, values, ()))
    if NEUTRAL not in {n.casefold() for n in wording.label_names}:
        opening, values = _named_cues(NEUTRAL)
        candidates.append((NEUTRAL, [*opening, "mixed"], [*values, "mixed", '"mixed"'], ()))
    opening, values = _named_cues(UNKNOWN)
    candidates.append((UNKNOWN, [*opening, *_UNKNOWN_OPENINGS], values, _UNKNOWN_PHRASES))
    best: tuple[int, int, Decision] | None = None
    for rank, (decision, opening, values, contains) in enumerate(candidates):
        position = _first_position(source, opening, values, contains)
        if position is not None and (best is None or (position, rank) < best[:2]):
            best = (position, rank, decision)
    return None if best is None else best[2]


def _parse_lettered(wording: Wording, text: str) -> Decision | None:
    """Madsen's multi-choice parser: a lone option letter first, else the option name that occurs first, else an
    "unknown" phrase."""
    options = wording.option_decisions
    letter = _LETTER.search(text)
    if letter:
        index = ord(letter[1].lower()) - ord("a")
        if 0 <= index < len(options):
            return options[index]
    source = text.casefold()
    found = []
    for label in wording.choices:
        match = re.search(_whole(re.escape(wording.label_names[label].casefold())), source)
        if match:
            found.append((match.start(), label))
    if found:
        return min(found)[1]
    if re.search(_whole(_alternation((UNKNOWN, *_UNKNOWN_PHRASES))), source):
        return UNKNOWN
    return None


def decision_of_option(wording: Wording, option: int) -> Decision:
    """What the `option`-th scored option (see `Wording.option_texts`) stands for."""
    return wording.option_decisions[option]


# -- the criteria --------------------------------------------------------------------------------------------------
def is_correct(decision: Decision | None, gold: int | None) -> bool | None:
    """Madsen's `correct`: None when the answer is unreadable (or there is no gold label); "unknown" is wrong."""
    if decision is None or gold is None:
        return None
    return isinstance(decision, int) and decision == gold


def is_faithful(wording: Wording, style: str, after: Decision | None, target: int | None = None) -> bool | None:
    """Whether the label on the intervened paragraph is what the explanation claims; None when it is unreadable."""
    check_style(style)
    if after is None:
        return None
    if style == "counterfactual":
        return None if target is None else after == target
    undetermined = {UNKNOWN} if wording.lettered else {UNKNOWN, NEUTRAL}
    return isinstance(after, str) and after in undetermined


# -- reading self-explanations -------------------------------------------------------------------------------------
@dataclass
class WordList:
    """An attribution explanation read back: the named words that occur in the paragraph (in the order named,
    without repeats), and what was named but ignored."""

    words: list[str]
    not_in_input: list[str] = field(default_factory=list)
    """Named items found nowhere in the paragraph (ignored)."""
    beyond_limit: list[str] = field(default_factory=list)
    """Named words after the first, when one word was asked for (ignored)."""

    def notes(self) -> dict[str, list[str]]:
        return {"not_in_input": self.not_in_input, "beyond_limit": self.beyond_limit}


_BULLET = re.compile(r"^(?:\d+\s*[.)]|[*•\-–])\s*")
#: "Here are the most important words for determining the sentiment:" / "The most important word is" ...
_LEAD_IN = re.compile(r"^.*?\bimportant\s+words?\b.*?(?:\b(?:are|is)\b\s*:?|:)\s*", re.IGNORECASE)
#: A preface before a colon: words and spaces only (so an emoticon such as ":)" is not taken for one).
_PREFACE = re.compile(r"[a-z][\w '\-]*", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,;]|\s+(?:and|or|&)\s+", re.IGNORECASE)
_REMARK = re.compile(r"(?<=\S)\s+\([^()]*\)")  # '"fun" (appears twice)'
_QUOTED_ENTRY = re.compile(r'^["“](.+?)["”]')
_ENTRY_COMMENT = re.compile(r"\s+[-–—]\s+|:\s")  # "awful - a negative word", "awful: a negative word"
_EDGE_QUOTES = "\"'“”‘’`*"


def split_listed_items(text: str) -> list[str]:
    """The items of a listed answer, split at commas, semicolons, "and", "or"; quotes and remarks stripped.

    A bulleted or numbered list gives its entries only (as Madsen's parser), each up to a comment after " - " or
    ": " ('"fun" - a positive word': fun), so that commentary lines between entries are not read as named words.
    Otherwise every line counts, without a preface up to a colon or up to "important words are"."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    entries = [_BULLET.sub("", line) for line in lines if _BULLET.match(line)]
    entries = [_entry_head(entry) for entry in entries if entry.strip()]
    if not entries:
        entries = [_without_preface(line) for line in lines]
    return [item for entry in entries for item in map(_clean_item, _SEPARATORS.split(_REMARK.sub("", entry)))
            if item]


def _entry_head(entry: str) -> str:
    quoted = _QUOTED_ENTRY.match(entry)
    return quoted[1] if quoted else _ENTRY_COMMENT.split(entry, maxsplit=1)[0]


def _without_preface(line: str) -> str:
    line = _LEAD_IN.sub("", line)
    head, colon, tail = line.partition(":")
    # "Important words: awful, boring"; a preface line alone ("Here are the words:") leaves nothing
    return tail if colon and _PREFACE.fullmatch(head.strip()) else line


def _clean_item(item: str) -> str:
    item = item.strip()
    if re.fullmatch(r"[^\w\s]+", item):
        return item  # symbols stay whole: ":)", ".*"
    item = item.strip(_EDGE_QUOTES).strip().rstrip(".!?,;:").strip()
    return item.strip(_EDGE_QUOTES).strip()


def occurs(word: str, paragraph: str) -> bool:
    """Whether `word` occurs in `paragraph` as a whole word or phrase (case-insensitive)."""
    return bool(word) and re.search(_whole(re.escape(word)), paragraph, re.IGNORECASE) is not None


def parse_attribution(text: str | None, paragraph: str, words: str = "many") -> WordList | None:
    """The words an attribution explanation names that occur in the paragraph; None when there are none (an empty
    or off-topic answer: a parse failure). An item that is not in the paragraph as a phrase counts word by word when
    at least half of its words are the paragraph's; other items are listed in `not_in_input`. With `words="1"`, only
    the first word found is kept."""
    if not isinstance(text, str):
        return None
    found: list[str] = []
    missing: list[str] = []
    for item in split_listed_items(text):
        if occurs(item, paragraph):
            found.append(item)
            continue
        # "awful boring" is no phrase of the paragraph but lists two of its words; a sentence of commentary that
        # shares a few words with it ("This is a company that has been rescued") lists none.
        parts = [p for p in map(_clean_item, item.split()) if p]
        inside = [p for p in parts if occurs(p, paragraph)]
        if len(parts) > 1 and 2 * len(inside) >= len(parts):
            found += inside
            missing += [p for p in parts if p not in inside]
        else:
            missing.append(item)
    unique = _dedupe(found)
    if not unique:
        return None
    kept, beyond = (unique[:1], unique[1:]) if check_words(words) == "1" else (unique, [])
    return WordList(kept, _dedupe(missing), beyond)


def _dedupe(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for item in items:
        if item.casefold() not in seen:
            seen.add(item.casefold())
            kept.append(item)
    return kept


def redact_words(paragraph: str, words: Sequence[str], mask: str = REDACTED) -> str:
    """Every occurrence of every word replaced by `mask` (whole words, case-insensitive, regex characters taken
    literally; longer phrases first, so a phrase is masked whole rather than word by word)."""
    words = [w for w in words if w]
    if not words:
        return paragraph
    pattern = _whole(_alternation(words))
    return re.sub(pattern, lambda _: mask, paragraph, flags=re.IGNORECASE)


#: "Paragraph:", "Redacted paragraph:", "Edited paragraph:" ...: what follows the last one is the answer.
_PARAGRAPH_MARKER = re.compile(r"\b(?:(?:edited|redacted|revised|modified|new|counterfactual)\s+)?paragraph\s*:\s*",
                               re.IGNORECASE)
_OPENING_LINE = re.compile(r"^(?:sure|here|okay|ok|certainly|the (?:edited|redacted|revised))\b[^\n]*:\s*\n",
                           re.IGNORECASE)
_REFUSAL = re.compile(r"^(?:i'm sorry|i am sorry|sorry,|i cannot|i can't|as an ai)", re.IGNORECASE)
_MASK = re.compile(r"\[\s*redacted\s*\]", re.IGNORECASE)
#: A paragraph of commentary after the answer ("I made a few minor adjustments ..."): cut.
_COMMENTARY = re.compile(r"\n\s*\n\s*(?:I (?:made|changed|edited|replaced|added|removed|redacted)\b|Note\b|"
                         r"Explanation\b|(?:This|The|In this) (?:edit|change|version|redaction)s?\b)", re.IGNORECASE)


def extract_paragraph(text: str | None) -> str | None:
    """The paragraph a model wrote back: after the last "Paragraph:" marker, without an opening "Here is ...:" line,
    a closing paragraph of commentary ("I made a few edits ...") or surrounding quotes; None for an empty answer or a
    refusal."""
    if not isinstance(text, str):
        return None
    markers = list(_PARAGRAPH_MARKER.finditer(text))
    if markers:
        text = text[markers[-1].end():]
    text = _OPENING_LINE.sub("", text.strip()).strip()
    commentary = _COMMENTARY.search(text)
    if commentary:
        text = text[:commentary.start()].strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”" or text[:1] == "“" and text[-1:] == "”":
        text = text[1:-1].strip()
    if not text or _REFUSAL.match(text):
        return None
    return text


def _words(text: str) -> list[str]:
    """Words compared when telling whether two paragraphs are the same text: case and edge punctuation ignored."""
    return [w for w in (t.strip(".,!?;:\"'()").casefold() for t in text.split()) if w]


def _kept_words(paragraph: str, redacted: str) -> tuple[list[str], int]:
    """The unmasked words of `redacted`, and how many of them match the paragraph's words in order."""
    kept = [w for w in _words(_MASK.sub(" ", redacted))]
    matcher = difflib.SequenceMatcher(None, _words(paragraph), kept, autojunk=False)
    return kept, sum(block.size for block in matcher.get_matching_blocks())


def parse_redaction(text: str | None, paragraph: str) -> str | None:
    """The model's redacted paragraph, with its masks written exactly as [REDACTED]; None (unparsed) unless it has
    a mask and otherwise resembles the paragraph: at least 80% of its unmasked words are the paragraph's words in
    order, and it keeps no more words than the paragraph has."""
    extracted = extract_paragraph(text)
    if extracted is None or not _MASK.search(extracted):
        return None
    redacted = _MASK.sub(REDACTED, extracted)
    kept, matched = _kept_words(paragraph, redacted)
    if len(kept) > len(_words(paragraph)) or matched < 0.8 * len(kept):
        return None
    return redacted


def parse_counterfactual(text: str | None, paragraph: str) -> str | None:
    """The model's edited paragraph; None (unparsed) when empty, not different from the paragraph (case, spacing
    and punctuation at the edges of words ignored: "So good!!" is no edit of "so good"), or, for a paragraph of
    several words, sharing none of them: a classifier asked for an edit often answers a label ("negative"), which
    the check would classify as that label and count as a faithful counterfactual of a paragraph it never edited."""
    extracted = extract_paragraph(text)
    if extracted is None or _words(extracted) == _words(paragraph):
        return None
    original = set(_words(paragraph))
    if len(original) > 1 and not set(_words(extracted)) & original:  # a one-word paragraph has nothing to keep
        return None
    return extracted


def redacted_fraction(paragraph: str, redacted: str) -> float:
    """Share of the paragraph's words that are missing from the redacted text (1.0: everything was redacted): an
    explanation that redacts everything is trivially "faithful", and this is how to spot one."""
    words = _words(paragraph)
    if not words:
        return 0.0
    _, matched = _kept_words(paragraph, redacted)
    return 1.0 - matched / len(words)


# -- from a raw explanation to the intervened paragraph ------------------------------------------------------------
@dataclass
class Intervention:
    """A self-explanation read back and applied: `explanation` (the words named, or the model's paragraph) and
    `text` (the paragraph to classify again) are None when the explanation could not be read."""

    explanation: list[str] | str | None
    text: str | None
    notes: dict[str, Any] = field(default_factory=dict)


def intervene(style: str, raw: str | None, paragraph: str, words: str = "many") -> Intervention:
    """Read a raw self-explanation in `style` and build the paragraph it implies."""
    check_style(style)
    if style == "attribution":
        listed = parse_attribution(raw, paragraph, words)
        if listed is None:
            return Intervention(None, None)
        redacted = redact_words(paragraph, listed.words)
        return Intervention(listed.words, redacted,
                            {**listed.notes(), "redacted_fraction": round(redacted_fraction(paragraph, redacted), 6)})
    if style == "redaction":
        redacted = parse_redaction(raw, paragraph)
        if redacted is None:
            return Intervention(None, None)
        return Intervention(redacted, redacted, {"redacted_fraction": round(redacted_fraction(paragraph, redacted), 6)})
    edit = parse_counterfactual(raw, paragraph)
    return Intervention(edit, edit)


# -- the random-word control ---------------------------------------------------------------------------------------
#: A word of the paragraph as the control counts it: a run of non-space characters (what `str.split` gives).
_TOKEN = re.compile(r"\S+")
#: A token's edges that a random redaction keeps ("good," -> "[REDACTED],"), as `redact_words` keeps them.
_EDGES = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)
#: What a mask reads as when paragraphs are aligned (never equal to a word of the paragraph).
_MASK_TOKEN = "\x00mask"


@dataclass
class RandomRedaction:
    """The random-word control of one check: `positions` (indices into the paragraph's whitespace-separated words)
    replaced by [REDACTED] in `text`. `from_named`: how many of them had to be taken from the words the explanation
    named, because the paragraph has too few other words (0 whenever it can be avoided)."""

    text: str
    positions: list[int]
    words: list[str]
    from_named: int

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.text, "positions": self.positions, "words": self.words, "count": len(self.positions),
                "from_named": self.from_named}


def seeded_rng(*key: Any) -> random.Random:
    """A generator that depends on `key` alone (e.g. the experiment's seed and the item's id): not on the item's order,
    the batch, or the process (`hash()` is salted per process)."""
    digest = hashlib.sha256(":".join(map(str, key)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _aligned(token: str) -> str:
    return _MASK_TOKEN if _MASK.search(token) else (token.strip(".,!?;:\"'()").casefold() or token)


def masked_positions(paragraph: str, intervened: str) -> list[int]:
    """The positions of the paragraph's words (whitespace-separated) that the intervened paragraph no longer holds:
    the words a named word's or the model's own [REDACTED] replaced (or that the model dropped). Aligned word by
    word (difflib), case and edge punctuation ignored, so "good," -> "[REDACTED]," is one masked word."""
    source = [_aligned(t) for t in paragraph.split()]
    target = [_aligned(t) for t in intervened.split()]
    matcher = difflib.SequenceMatcher(None, source, target, autojunk=False)
    kept = {block.a + i for block in matcher.get_matching_blocks() for i in range(block.size)}
    return [i for i in range(len(source)) if i not in kept]


def _core(token: str) -> str:
    return _EDGES.match(token)[2]


def random_redaction(paragraph: str, count: int, rng: random.Random, avoid_words: Sequence[str] = (),
                     avoid_positions: Sequence[int] = ()) -> RandomRedaction | None:
    """`count` of the paragraph's words (tokens with a letter or digit) replaced by [REDACTED], drawn by `rng`
    among those that are not in `avoid_positions` and contain none of `avoid_words` (whole word, any case); only
    when too few such words remain are avoided words drawn too (counted in `from_named`). A word's edge punctuation
    stays ("good," -> "[REDACTED],"); the whitespace between words is kept as it was. None: no word to redact."""
    tokens = list(_TOKEN.finditer(paragraph))
    redactable = [i for i, t in enumerate(tokens) if re.search(r"\w", t[0]) and not _MASK.search(t[0])]
    if not redactable or count < 1:
        return None
    named = [w for w in avoid_words if w]
    avoided = set(avoid_positions) | {i for i in redactable if any(occurs(w, tokens[i][0]) for w in named)}
    others = [i for i in redactable if i not in avoided]
    count = min(count, len(redactable))
    chosen = rng.sample(others, min(count, len(others)))
    from_named = count - len(chosen)
    if from_named:
        chosen += rng.sample([i for i in redactable if i in avoided], from_named)
    chosen.sort()
    pieces, end = [], 0
    for i in chosen:
        token = tokens[i]
        lead, _, trail = _EDGES.match(token[0]).groups()
        pieces += [paragraph[end:token.start()], lead, REDACTED, trail]
        end = token.end()
    pieces.append(paragraph[end:])
    return RandomRedaction("".join(pieces), chosen, [tokens[i][0] for i in chosen], from_named)


def named_words(style: str, paragraph: str, intervention: Intervention) -> list[str]:
    """The words an attribution or redaction explanation names: the listed words (a phrase, word by word), or the
    words the model's redaction masked."""
    if style == "attribution":
        return [part for item in intervention.explanation or () for part in item.split()]
    tokens = paragraph.split()
    return [core for i in masked_positions(paragraph, intervention.text or "") if (core := _core(tokens[i]))]


def random_control(style: str, paragraph: str, intervention: Intervention, seed: int,
                   key: str) -> RandomRedaction | None:
    """The random-word control of an attribution or redaction check: as many of the paragraph's words as the
    explanation masked (or, for a redaction that only inserted marks, as many as it has marks), chosen at random
    among the words it did not name (`random_redaction`), with a generator seeded by (`seed`, `key`: the item's
    id). None for counterfactuals and for explanations that could not be read."""
    if check_style(style) == "counterfactual" or intervention.text is None:
        return None
    masked = masked_positions(paragraph, intervention.text)
    count = len(masked) or max(1, len(_MASK.findall(intervention.text)))
    return random_redaction(paragraph, count, seeded_rng(seed, key), named_words(style, paragraph, intervention),
                            masked)
