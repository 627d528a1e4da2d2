"""Paper 3's pseudo-faithful one-word explanations (Doi et al. 2025, arXiv 2512.07288; spec papers.md section 3):
derived from a feature attribution and kept only where the self-consistency check passes on the model being
trained. The regimes that train on them are `faithex.regimes.pseudo_faithful`; the questions the filter asks are
answered by a loaded model in `faithex.explanations.oracle` (by a fake in tests).

Per training example, on the starting model (the base model, or base + the adapter the regime `starts_from`):

1. classify the paragraph with the self-consistency prompt (`classify_prompt`, options scored as the protocols'
   `score` mode): the prediction p;
2. attribute p to the paragraph's words (input x gradient of p's answer through that same prompt): the top word w*
   (a word with a letter or digit; `words_tried` > 1 tries the next-ranked words when w* fails its check);
3. one one-word explanation per style:
   - attribution: `w*`;
   - redaction: the paragraph with w* replaced by [REDACTED] (`redact_words`, every occurrence, as the attribution
     check redacts it, so both styles intervene on the same text);
   - counterfactual: the paragraph with w* (that occurrence) replaced by a word the model itself proposes there:
     the model is asked the one-word counterfactual prompt (target from the gold label, `counterfactual_target`) and
     its answer is forced to begin with the paragraph up to w*; its most likely next tokens that are alphabetic
     words the model ends there (not "wasn" before "'t"), other than w* and the answers' own words ("positive",
     "unknown"), are the candidates (`proposals` of them);
4. keep an explanation only where it passes on the starting model: attribution, redaction, by `Settings.criterion`:
   `changed` (default) the redacted paragraph's label differs from the prediction ("unknown" or another label;
   papers.md 3.2), `check` it is exactly the protocols' check (`is_faithful`: "unknown", binary tasks: or
   neutral), `drop` redacting the word lowers the prediction's probability (over the offered options) by at least
   `Settings.min_drop` (ERASER's comprehensiveness of one word: a classifier that one word never flips still
   leans on some words more than others), `none` no check (a control); counterfactual: a candidate edit is
   classified as the target (all candidates of a batch verified in one scoring call; the most likely verified one
   is kept), and the prediction was not the target already.

The outcome of every example and style (kept or dropped, and why) is what `explain_examples` returns; `yields`
counts them per style. `Settings` are what an experiment may change (`params:` of the regime entry).
docs/faithfulness.md, "Pseudo-faithful training", has the choices and the measured yields.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from faithex.errors import ConfigError
from faithex.faithfulness.self_consistency import (
    NEUTRAL,
    UNKNOWN,
    Decision,
    Wording,
    counterfactual_target,
    is_faithful,
    parse_attribution,
    parse_counterfactual,
    parse_redaction,
    redact_words,
)
from faithex.tasks.base import Example

ONE_WORD = "1"
#: Words an explanation can name: the attribution also scores punctuation runs ("!!!"), which the protocol's
#: attribution parser cannot read back as a whole word.
EXPLAINABLE = re.compile(r"\w")
Span = tuple[int, int]


#: When a redacted paragraph explains the prediction (attribution, redaction): see `Settings.criterion`.
CRITERIA = ("changed", "check", "drop", "none")


@dataclass(frozen=True)
class Settings:
    """How explanations are derived and filtered (the registered regimes use the defaults; an experiment changes
    them with `params:`, e.g. `{name: pseudo_faithful, params: {words_tried: 3, criterion: check}}`)."""

    method: str = "input_x_gradient"
    """The attribution method (`faithex.attribution.METHODS`)."""
    words_tried: int = 1
    """Attribution-ranked words tried per example and style, best first, until one passes its check (1: w* only)."""
    proposals: int = 10
    """Counterfactual candidates per word: the model's most likely whole-word next tokens at w*'s position."""
    proposal_pool: int = 200
    """Most likely next tokens scanned for those candidates."""
    correct_only: bool = True
    """Explain only correctly classified examples: the trained model is taught the gold label, so an explanation of
    a wrong prediction would explain a decision it is trained not to make."""
    criterion: str = "changed"
    """Attribution and redaction: when the paragraph with the word redacted counts as explained. `changed`: its label
    differs from the prediction on the whole paragraph ("unknown" or another label; papers.md 3.2's proposal).
    `check`: exactly the self-consistency check the protocols measure (`is_faithful`: "unknown", binary tasks also
    neutral); a classifier never trained to answer "unknown" passes it for no word (docs/faithfulness.md).
    `drop`: redacting the word lowers the prediction's probability by at least `min_drop` (on the default model one
    redacted word almost never changes the label: docs/faithfulness.md). `none`: no check, the best-ranked word is
    kept (with `method: random`, the control that trains the format on words that need not matter). Counterfactuals
    always need the edit to read as their target."""
    min_drop: float = 0.05
    """`criterion: drop`: the least fall of the prediction's probability (softmax over the offered options' scores)
    when the word is redacted."""
    explained: int | None = None
    """Explain only the first `explained` training examples (None: all); every example keeps its classification
    record. Building an explanation asks the model several times, so this bounds the cost on a CPU."""

    def __post_init__(self) -> None:
        for name in ("words_tried", "proposals", "proposal_pool", "explained"):
            value = getattr(self, name)
            if not (value is None and name == "explained") and (
                    isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"setting '{name}' must be a positive integer, got {value!r}")
        if not isinstance(self.correct_only, bool):
            raise ConfigError(f"setting 'correct_only' must be true or false, got {self.correct_only!r}")
        if isinstance(self.min_drop, bool) or not isinstance(self.min_drop, (int, float)) \
                or not 0 < self.min_drop < 1:
            raise ConfigError(f"setting 'min_drop' must be a number between 0 and 1, got {self.min_drop!r}")
        if self.criterion not in CRITERIA:
            raise ConfigError(f"setting 'criterion' must be one of {', '.join(CRITERIA)}, got {self.criterion!r}")
        if not isinstance(self.method, str):
            raise ConfigError(f"setting 'method' must be an attribution method's name, got {self.method!r}")

    def passes(self, wording: Wording, style: str, prediction: Decision, after: Decision | None,
               drop: float | None = None) -> bool:
        """Whether a redaction (attribution, redaction styles) explains `prediction` by this criterion (`drop`: the
        fall of the prediction's probability, needed by `criterion: drop`)."""
        if self.criterion == "check":
            return bool(is_faithful(wording, style, after))
        if self.criterion == "drop":
            return drop is not None and drop >= self.min_drop
        if self.criterion == "none":
            return True
        return after is not None and after != prediction


# -- what the model is asked (a fake in tests; `faithex.explanations.oracle.LoadedOracle` on a real model) -------
class Oracle(Protocol):
    def classify(self, paragraphs: Sequence[str]) -> list[Decision]:
        """The check's reading of each paragraph: a label index or "unknown"."""

    def probabilities(self, paragraphs: Sequence[str]) -> list[dict[Decision, float]]:
        """Each paragraph's probability of every offered answer (only `criterion: drop` asks)."""

    def rank_words(self, examples: Sequence[Example], labels: Sequence[int]) -> list[list[tuple[str, Span]]]:
        """Each example's words with their character spans, most supportive of its label first."""

    def propose(self, requests: Sequence[tuple[str, Span, int]]) -> list[list[str]]:
        """Replacement words for (paragraph, span of the word, target label), most likely first."""


# -- outcomes ------------------------------------------------------------------------------------------------------
@dataclass
class StyleOutcome:
    """One style of one example: the explanation kept (its training target) or why none was."""

    kept: bool
    reason: str | None = None
    """Why dropped: `predicted unknown`, `misclassified`, `no word`, `prediction is the target`, `no proposal`,
    `not faithful`, `does not parse back`."""
    word: str | None = None
    rank: int | None = None
    """1: the attribution's top word; 2...: a later word (with `words_tried` > 1)."""
    explanation: str | None = None
    """The assistant's answer trained on."""
    intervened: str | None = None
    """The paragraph the check classified (for the kept word, else for the top word)."""
    after: str | None = None
    """Its label name, "unknown" or "neutral"."""
    target: str | None = None
    """Counterfactual: the target label's name."""
    drop: float | None = None
    """`criterion: drop`: how much redacting the word lowered the prediction's probability."""


@dataclass
class ExampleOutcome:
    id: str
    prediction: str | None
    words: list[str]
    """The words tried, best first."""
    styles: dict[str, StyleOutcome] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prediction": self.prediction, "words": self.words,
                "styles": {style: asdict(outcome) for style, outcome in self.styles.items()}}


def dropped(reason: str, **details: Any) -> StyleOutcome:
    return StyleOutcome(False, reason, **details)


# -- the filter (pure given the oracle) ----------------------------------------------------------------------------
def explain_examples(oracle: Oracle, wording: Wording, examples: Sequence[Example], styles: Sequence[str],
                     settings: Settings = Settings()) -> list[ExampleOutcome]:
    """Pseudo-faithful one-word explanations of `examples` in `styles`, each checked on the oracle's model."""
    predictions = oracle.classify([e.input for e in examples])
    outcomes = [ExampleOutcome(e.id, wording.name_of(p), []) for e, p in zip(examples, predictions)]
    explained = []
    for index, (example, prediction) in enumerate(zip(examples, predictions)):
        reason = _unexplained(example, prediction, settings)
        if reason:
            outcomes[index].styles = {style: dropped(reason) for style in styles}
        else:
            explained.append(index)
    ranked = oracle.rank_words([examples[i] for i in explained], [predictions[i] for i in explained]) \
        if explained else []
    words: dict[int, list[tuple[str, Span]]] = {}
    for index, ranking in zip(explained, ranked):
        words[index] = _distinct_words(ranking)[:settings.words_tried]
        outcomes[index].words = [w for w, _ in words[index]]
        if not words[index]:
            outcomes[index].styles = {style: dropped("no word") for style in styles}
    candidates = {i: w for i, w in words.items() if w}
    redacting = [s for s in styles if s in ("attribution", "redaction")]
    if redacting and candidates:
        for index, results in _redaction_checks(oracle, wording, examples, predictions, candidates, redacting,
                                                settings).items():
            outcomes[index].styles.update(results)
    if "counterfactual" in styles and candidates:
        for index, result in _counterfactual_checks(oracle, wording, examples, predictions, candidates,
                                                    settings).items():
            outcomes[index].styles["counterfactual"] = result
    for outcome in outcomes:  # in the order asked
        outcome.styles = {style: outcome.styles[style] for style in styles}
    return outcomes


def _unexplained(example: Example, prediction: Decision, settings: Settings) -> str | None:
    if not isinstance(prediction, int):
        return "predicted unknown"
    if settings.correct_only and prediction != example.label:
        return "misclassified"
    return None


def _distinct_words(ranking: Sequence[tuple[str, Span]]) -> list[tuple[str, Span]]:
    """Explainable words, best first, each word once (case-insensitive: redacting it redacts every occurrence)."""
    seen: set[str] = set()
    kept = []
    for word, span in ranking:
        if EXPLAINABLE.search(word) and word.casefold() not in seen:
            seen.add(word.casefold())
            kept.append((word, span))
    return kept


def _redaction_checks(oracle: Oracle, wording: Wording, examples: Sequence[Example], predictions: Sequence[Decision],
                      candidates: dict[int, list[tuple[str, Span]]], styles: list[str],
                      settings: Settings) -> dict[int, dict]:
    """Attribution and redaction: every tried word redacted, all classified in one call; per example and style the
    best-ranked word whose redaction passes `settings.criterion` and whose explanation parses back."""
    asked = [(i, rank, word) for i, words in candidates.items() for rank, (word, _) in enumerate(words, 1)]
    redacted = [redact_words(examples[i].input, [word]) for i, _, word in asked]
    after, drops = _read_redactions(oracle, examples, predictions, candidates, asked, redacted, settings)
    tries: dict[int, list[tuple[int, str, str, Decision, float | None]]] = {}
    for (i, rank, word), text, decision, drop in zip(asked, redacted, after, drops):
        tries.setdefault(i, []).append((rank, word, text, decision, drop))
    results = {}
    for i, attempts in tries.items():
        paragraph = examples[i].input
        results[i] = {}
        for style in styles:
            best = None
            for rank, word, text, decision, drop in attempts:
                explanation = word if style == "attribution" else text
                outcome = StyleOutcome(True, None, word, rank, explanation, text, wording.name_of(decision), drop=drop)
                if not settings.passes(wording, style, predictions[i], decision, drop):
                    outcome.kept, outcome.reason, outcome.explanation = False, "not faithful", None
                elif not _parses_back(style, explanation, paragraph):
                    outcome.kept, outcome.reason, outcome.explanation = False, "does not parse back", None
                best = best or outcome  # the top word's outcome, unless a later word is kept
                if outcome.kept:
                    best = outcome
                    break
            results[i][style] = best
    return results


def _read_redactions(oracle: Oracle, examples: Sequence[Example], predictions: Sequence[Decision],
                     candidates: dict[int, list[tuple[str, Span]]], asked: list[tuple[int, int, str]],
                     redacted: list[str], settings: Settings) -> tuple[list[Decision], list[float | None]]:
    """The label of each redacted paragraph and, for `criterion: drop`, the fall of the prediction's probability
    from the whole paragraph to the redacted one (the whole paragraphs scored in the same call)."""
    if settings.criterion != "drop":
        return oracle.classify(redacted), [None] * len(redacted)
    explained = list(candidates)
    read = oracle.probabilities([examples[i].input for i in explained] + redacted)
    before = {i: read[n][predictions[i]] for n, i in enumerate(explained)}
    after = read[len(explained):]
    return ([max(p, key=p.__getitem__) for p in after],
            [round(before[i] - p[predictions[i]], 6) for (i, _, _), p in zip(asked, after)])


def _counterfactual_checks(oracle: Oracle, wording: Wording, examples: Sequence[Example],
                           predictions: Sequence[Decision], candidates: dict[int, list[tuple[str, Span]]],
                           settings: Settings) -> dict[int, StyleOutcome]:
    """Counterfactual: the model's proposals at each tried word, every edit classified in one call; per example the
    best-ranked word with a verified flip to the target, and its most likely verified proposal."""
    results: dict[int, StyleOutcome] = {}
    requests = []
    for i, words in candidates.items():
        target = counterfactual_target(wording, examples[i].label)
        if target is None:
            results[i] = dropped("no target")
        elif predictions[i] == target:
            results[i] = dropped("prediction is the target", target=wording.name_of(target))
        else:
            requests += [(i, rank, word, span, target) for rank, (word, span) in enumerate(words, 1)]
    proposed = oracle.propose([(examples[i].input, span, target) for i, _, _, span, target in requests]) \
        if requests else []
    edits = []  # (request index, edited paragraph, the word put in)
    for r, ((i, _, word, span, _), words) in enumerate(zip(requests, proposed)):
        paragraph = examples[i].input
        for new in _fresh(words, word, wording)[:settings.proposals]:
            edits.append((r, paragraph[:span[0]] + new + paragraph[span[1]:], new))
    verdicts = oracle.classify([text for _, text, _ in edits]) if edits else []
    by_request: dict[int, list[tuple[str, str, Decision]]] = {}
    for (r, text, new), decision in zip(edits, verdicts):
        by_request.setdefault(r, []).append((text, new, decision))
    for r, (i, rank, word, _, target) in enumerate(requests):
        if i in results and results[i].kept:
            continue  # a better-ranked word already flipped
        outcome = _counterfactual_outcome(wording, examples[i].input, word, rank, target, by_request.get(r, []))
        if i not in results or outcome.kept:
            results[i] = outcome
    return results


def _fresh(words: Sequence[str], original: str, wording: Wording) -> list[str]:
    """Proposals other than the word itself and the answers' own words, each once. A model asked to make the
    sentiment "positive" proposes the word "positive" itself, and the classifier reads it: a flip that explains
    nothing about the paragraph."""
    seen = {original.casefold(), UNKNOWN, NEUTRAL, *(name.casefold() for name in wording.label_names)}
    kept = []
    for word in words:
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            kept.append(word)
    return kept


def _counterfactual_outcome(wording: Wording, paragraph: str, word: str, rank: int, target: int,
                            verdicts: list[tuple[str, str, Decision]]) -> StyleOutcome:
    name = wording.name_of(target)
    if not verdicts:
        return dropped("no proposal", word=word, rank=rank, target=name)
    for text, _, decision in verdicts:
        if is_faithful(wording, "counterfactual", decision, target):
            if _parses_back("counterfactual", text, paragraph):
                return StyleOutcome(True, None, word, rank, text, text, wording.name_of(decision), name)
    text, _, decision = verdicts[0]
    return dropped("not faithful", word=word, rank=rank, intervened=text, after=wording.name_of(decision),
                   target=name)


def _parses_back(style: str, explanation: str, paragraph: str) -> bool:
    """Whether the protocol's parser reads the trained answer as exactly this explanation."""
    if style == "attribution":
        listed = parse_attribution(explanation, paragraph, ONE_WORD)
        return listed is not None and listed.words == [explanation]
    if style == "redaction":
        return parse_redaction(explanation, paragraph) == explanation
    return parse_counterfactual(explanation, paragraph) == explanation


# -- answers and yields ---------------------------------------------------------------------------------------------
def option_answer(wording: Wording, label: int) -> str:
    """The answer the self-consistency protocols score for `label`: its name, or its letter (lettered options)."""
    return wording.option_texts[wording.option_decisions.index(label)]


def yields(outcomes: Sequence[ExampleOutcome], styles: Sequence[str]) -> dict[str, Any]:
    """Per style: examples, kept, the yield, kept from the top word alone, and the reasons for dropping."""
    summary = {}
    for style in styles:
        results = [o.styles[style] for o in outcomes]
        kept = [r for r in results if r.kept]
        reasons: dict[str, int] = {}
        for r in results:
            if not r.kept:
                reasons[r.reason or "?"] = reasons.get(r.reason or "?", 0) + 1
        summary[style] = {"examples": len(results), "kept": len(kept),
                          "yield": round(len(kept) / len(results), 4) if results else None,
                          "kept_top_word": sum(r.rank == 1 for r in kept), "dropped": reasons}
    return summary
