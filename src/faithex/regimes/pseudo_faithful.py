"""Paper 3's pseudo-faithful training (Doi et al. 2025, arXiv 2512.07288; spec papers.md section 3): one-word
self-explanations derived from a feature attribution, kept only where the self-consistency check passes on the
model being trained, mixed with the classification task for continual training.

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

Training records (one adapter, answering every kind the self-consistency protocols ask):

    [system] [user: classify_prompt(paragraph)]                                  -> [assistant: gold option]
    [system] [user: explanation_prompt(style, paragraph, words="1", target=...)] -> [assistant: explanation]

the first for every training example (so accuracy is kept), the second for every kept explanation; each target is
checked to read back as itself with the protocols' parsers. The outcome of every example and style (kept or dropped,
and why) is returned beside the records (`ModelRecords.summary`): the yields per style. `Settings` are what an
experiment may change (`params:` of the regime entry, `PseudoFaithful.configured`). docs/faithfulness.md,
"Pseudo-faithful training", has the choices and the measured yields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from faithex.errors import ConfigError
from faithex.faithfulness.self_consistency import (
    NEUTRAL,
    STYLES,
    UNKNOWN,
    Decision,
    Wording,
    classify_prompt,
    counterfactual_target,
    decision_of_option,
    explanation_prompt,
    is_faithful,
    parse_attribution,
    parse_counterfactual,
    parse_redaction,
    redact_words,
)
from faithex.regimes.base import (
    Messages,
    ModelRecords,
    PromptOptions,
    Record,
    Regime,
    record,
    register_regime,
    system,
    user,
)
from faithex.tasks.base import Example, Task

ONE_WORD = "1"
ADAPTER = "self_explainer"
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


# -- what the model is asked (a fake in tests; `LoadedOracle` on a real model) ---------------------------------------
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


# -- training records and yields -----------------------------------------------------------------------------------
def option_answer(wording: Wording, label: int) -> str:
    """The answer the self-consistency protocols score for `label`: its name, or its letter (lettered options)."""
    return wording.option_texts[wording.option_decisions.index(label)]


def classification_record(wording: Wording, example: Example, options: PromptOptions) -> Record:
    return record(system(options) + [user(classify_prompt(wording, example.input))],
                  option_answer(wording, example.label))


def explanation_messages(wording: Wording, style: str, example: Example, options: PromptOptions) -> Messages:
    """The protocols' one-word request in `style` (counterfactual: towards the target from the gold label)."""
    target = counterfactual_target(wording, example.label) if style == "counterfactual" else None
    return system(options) + [user(explanation_prompt(wording, style, example.input, ONE_WORD, target))]


def training_rows(wording: Wording, examples: Sequence[Example], outcomes: Sequence[ExampleOutcome],
                  options: PromptOptions) -> list[Record]:
    """Per example, its classification record, then one record per kept explanation. `outcomes` may cover only
    the first examples (`Settings.explained`): the rest are classified, not explained."""
    rows = []
    for index, example in enumerate(examples):
        rows.append({**classification_record(wording, example, options), "kind": "answer", "id": example.id})
        styles = outcomes[index].styles if index < len(outcomes) else {}
        for style, result in styles.items():
            if result.kept:
                rows.append({**record(explanation_messages(wording, style, example, options), result.explanation),
                             "kind": style, "id": example.id})
    return rows


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


# -- the real model ------------------------------------------------------------------------------------------------
class OptionAnswers:
    """The task as the self-consistency prompt answers it: each label's answer text is its option (the name, or
    the letter when options are lettered), so the attribution explains the score the check reads."""

    def __init__(self, task: Task, wording: Wording) -> None:
        self._task = task
        self._answers = {label: option_answer(wording, label) for label in task.labels}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)

    def answer_text(self, label: int) -> str:
        return self._answers[label]


@dataclass
class LoadedOracle:
    """`Oracle` on a loaded model (the active adapter answers): scored classification, input x gradient
    attribution, next-token proposals."""

    model: Any
    tokenizer: Any
    task: Task
    wording: Wording
    options: PromptOptions
    settings: Settings = Settings()
    batch_size: int = 8
    precision: str = "fp32"

    def classify_messages(self, paragraph: str) -> Messages:
        return system(self.options) + [user(classify_prompt(self.wording, paragraph))]

    def classify(self, paragraphs: Sequence[str]) -> list[Decision]:
        return [decision_of_option(self.wording, j) for j in self._scores(paragraphs).predicted.tolist()]

    def probabilities(self, paragraphs: Sequence[str]) -> list[dict[Decision, float]]:
        """Softmax over the options' summed log-probabilities: the distribution the scored check reads."""
        probabilities = self._scores(paragraphs).summed.float().softmax(dim=-1).tolist()
        return [dict(zip(self.wording.option_decisions, row)) for row in probabilities]

    def _scores(self, paragraphs: Sequence[str]):
        from faithex.lm.generation import render
        from faithex.lm.scoring import label_scores

        prompts = [render(self.tokenizer, self.classify_messages(p)) for p in paragraphs]
        return label_scores(self.model, self.tokenizer, prompts, self.wording.option_texts,
                            batch_size=self.batch_size, precision=self.precision)

    def rank_words(self, examples: Sequence[Example], labels: Sequence[int]) -> list[list[tuple[str, Span]]]:
        """One attribution call per predicted label, whose option's log-probability is explained."""
        from faithex.attribution import attribute

        view = OptionAnswers(self.task, self.wording)
        ranked: list[list[tuple[str, Span]]] = [[] for _ in examples]
        for label in sorted(set(labels)):
            group = [i for i, x in enumerate(labels) if x == label]
            result = attribute(self.model, self.tokenizer, view, [examples[i] for i in group],
                               method=self.settings.method, target=view.answer_text(label),
                               prompt=lambda e: self.classify_messages(e.input), batch_size=self.batch_size,
                               precision=self.precision)
            for i, item in zip(group, result):
                order = sorted(range(len(item.words)), key=lambda j: (-item.scores[j], j))
                ranked[i] = [(item.words[j], tuple(item.spans[j])) for j in order]
        return ranked

    def propose(self, requests: Sequence[tuple[str, Span, int]]) -> list[list[str]]:
        """The model asked for the one-word counterfactual, its answer forced to start with the paragraph up to the
        word: its most likely next tokens that are alphabetic words (spelled with the leading space the paragraph
        has there) and that the model itself ends there (its next token after them does not go on with the word:
        "wasn" before "'t" is no word)."""
        rows, spaced = [], []
        for paragraph, (start, _), target in requests:
            before = paragraph[:start].rstrip()
            forced = self.tokenizer(before, add_special_tokens=False)["input_ids"] if before else []
            rows.append(self._counterfactual_ids(paragraph, target) + forced)
            spaced.append(bool(before) and before != paragraph[:start])
        candidates = [self._alphabetic(ids, needs_space)
                      for ids, needs_space in zip(self._next_tokens(rows, self.settings.proposal_pool), spaced)]
        extended = [(r, token_id, word) for r, found in enumerate(candidates) for token_id, word in found]
        following = self._next_tokens([rows[r] + [token_id] for r, token_id, _ in extended], 1)
        proposals: list[list[str]] = [[] for _ in requests]
        for (r, _, word), (after,) in zip(extended, following):
            if not continues_word(self.tokenizer.decode([after])):
                proposals[r].append(word)
        return proposals

    def _counterfactual_ids(self, paragraph: str, target: int) -> list[int]:
        from faithex.lm.generation import render

        asked = explanation_prompt(self.wording, "counterfactual", paragraph, ONE_WORD, target)
        return render(self.tokenizer, system(self.options) + [user(asked)])

    def _alphabetic(self, token_ids: list[int], needs_space: bool) -> list[tuple[int, str]]:
        """(token, word) of the first tokens that are a space (where the paragraph has one) and letters."""
        found = []
        for token_id in token_ids:
            text = self.tokenizer.decode([token_id])
            word = text[1:] if needs_space and text.startswith(" ") else (None if needs_space else text)
            if word and word.isalpha():
                found.append((token_id, word))
            if len(found) > self.settings.proposals:  # one more: the word itself may be among them
                break
        return found

    def _next_tokens(self, rows: Sequence[Sequence[int]], k: int) -> list[list[int]]:
        """The k most likely next tokens after each row of token ids (batched, left-padded)."""
        import torch

        from faithex.lm.generation import autocast

        device = next(self.model.parameters()).device
        ranked: list[list[int]] = []
        for begin in range(0, len(rows), self.batch_size):
            ids, mask = _left_padded(rows[begin:begin + self.batch_size], self.tokenizer.pad_token_id or 0)
            with torch.inference_mode(), autocast(self.precision, device):
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                    position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(device),
                                    logits_to_keep=1).logits[:, -1].float()
            ranked += logits.topk(min(k, logits.shape[-1]), dim=-1).indices.tolist()
        return ranked


def continues_word(text: str) -> bool:
    """Whether a token glued after a word goes on with that word: a letter, digit, apostrophe or hyphen with no
    space before it."""
    return bool(text) and (text[0].isalnum() or text[0] in "'’-")


def _left_padded(rows: Sequence[Sequence[int]], pad_id: int):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row):] = 1
    return ids, mask


# -- the regimes ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PseudoFaithful(Regime):
    """Continual training on checked one-word self-explanations in `styles`, mixed with classification."""

    name: str
    description: str
    styles: tuple[str, ...] = STYLES
    settings: Settings = Settings()
    adapters: tuple[str, ...] = (ADAPTER,)
    kinds: tuple[str, ...] = ("answer", *STYLES)
    """All kinds the self-consistency protocols activate; `adapter_for` routes every one to the one adapter."""
    default_protocol: str = "self_consistency_attribution_1word"
    needs_model: bool = True

    def parameters(self) -> dict[str, Any]:
        """The `Settings` fields: what `params:` may change."""
        return asdict(self.settings)

    def with_parameters(self, params: dict[str, Any]) -> "PseudoFaithful":
        if "method" in params:  # the method registry imports torch: checked only where a method is named
            from faithex.attribution import METHODS

            if params["method"] not in METHODS.names():
                raise ConfigError(f"setting 'method': unknown attribution method {params['method']!r}; "
                                  f"accepted: {', '.join(METHODS.names())}")
        return replace(self, settings=replace(self.settings, **params))

    def prompt(self, kind: str, task: Task, example: Example, options: PromptOptions,
               reasoning: str | None = None) -> Messages:
        """Kind "answer": the self-consistency classification prompt (what the adapter is trained on); a style:
        the one-word explanation request."""
        wording = Wording.of(task)
        if kind in STYLES:
            return explanation_messages(wording, kind, example, options)
        return system(options) + [user(classify_prompt(wording, example.input))]

    def records(self, task: Task, examples: list[Example], options: PromptOptions) -> dict[str, list[Record]]:
        """The part that needs no model, the classification records (what `faithex validate` checks)."""
        wording = Wording.of(task)
        return {ADAPTER: [classification_record(wording, e, options) for e in examples]}

    def model_records(self, model, tokenizer, task: Task, examples: list[Example], options: PromptOptions,
                      batch_size: int = 8, precision: str = "fp32",
                      on_batch: Callable[[int], None] | None = None) -> ModelRecords:
        """Explanations derived and checked on `model` (the starting model), in chunks of `batch_size` examples;
        only the first `settings.explained` examples are explained (all get their classification record)."""
        wording = Wording.of(task)
        oracle = LoadedOracle(model, tokenizer, task, wording, options, self.settings, batch_size, precision)
        model.eval()
        outcomes: list[ExampleOutcome] = []
        explained = examples[:self.settings.explained]
        for begin in range(0, len(explained), batch_size):
            chunk = explained[begin:begin + batch_size]
            outcomes += explain_examples(oracle, wording, chunk, self.styles, self.settings)
            if on_batch:
                on_batch(len(chunk))
        if on_batch and len(examples) > len(explained):
            on_batch(len(examples) - len(explained))  # the rest are classified only: done at once
        rows = training_rows(wording, examples, outcomes, options)
        summary = {"styles": yields(outcomes, self.styles), "settings": asdict(self.settings),
                   "examples": [o.to_dict() for o in outcomes]}
        return ModelRecords({ADAPTER: rows}, summary)


@dataclass(frozen=True, kw_only=True)
class SelfConsistencyClassifier(PseudoFaithful):
    """The task alone, asked as the self-consistency check asks it (the options and "unknown"): paper 3's starting
    classifier. A classifier trained on its own prompt (`label_only`) meets the check's prompt as a new task (on the
    default model label_only answered the majority label for every training tweet there), so neither its
    predictions nor the words that drive them are the ones the check and the filter read."""

    styles: tuple[str, ...] = ()
    needs_model: bool = False
    default_protocol: str = "score"

    def parameters(self) -> dict[str, Any]:
        return {}


def _register() -> list[PseudoFaithful]:
    regimes = [register_regime(PseudoFaithful(
        name="pseudo_faithful",
        description="paper 3: checked one-word self-explanations (attribution, redaction, counterfactual) mixed "
                    "with classification, trained on the starting model"))]
    for style in STYLES:
        regimes.append(register_regime(PseudoFaithful(
            name=f"pseudo_faithful_{style}", styles=(style,),
            default_protocol=f"self_consistency_{style}_1word",
            description=f"paper 3: checked one-word {style} self-explanations mixed with classification")))
    regimes.append(register_regime(SelfConsistencyClassifier(
        name="self_consistency_classifier",
        description="paper 3's starting classifier: the task in the self-consistency prompt's wording (options "
                    "and unknown), no explanations; pseudo_faithful regimes start from it")))
    return regimes


PSEUDO_FAITHFUL_REGIMES = _register()
