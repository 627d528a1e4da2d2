"""Paper 3's regimes: continual training on pseudo-faithful one-word self-explanations
(`faithex.explanations.pseudo_faithful`: derived from an attribution, kept where their check passes on the starting
model) mixed with the classification task, the starting classifier itself (`self_consistency_classifier`), and its
variant taught to answer "unknown" when the words that decide are redacted (`self_consistency_classifier_unknown`,
`faithex.explanations.deciding_words`), for which Madsen's attribution and redaction checks can pass.

Training records (one adapter, answering every kind the self-consistency protocols ask):

    [system] [user: classify_prompt(paragraph)]                                  -> [assistant: gold option]
    [system] [user: explanation_prompt(style, paragraph, words="1", target=...)] -> [assistant: explanation]

the first for every training example (so accuracy is kept), the second for every kept explanation; each target is
checked to read back as itself with the protocols' parsers. The outcome of every example and style (kept or
dropped, and why) is returned beside the records (`ModelRecords.summary`): the yields per style.
docs/faithfulness.md, "Pseudo-faithful training", has the choices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from faithex.errors import ConfigError
from faithex.explanations.deciding_words import UnknownSettings, unknown_copies
from faithex.explanations.oracle import LoadedOracle
from faithex.explanations.pseudo_faithful import (
    ONE_WORD,
    ExampleOutcome,
    Settings,
    explain_examples,
    option_answer,
    yields,
)
from faithex.faithfulness.self_consistency import (
    STYLES,
    UNKNOWN,
    Wording,
    classify_prompt,
    counterfactual_target,
    explanation_prompt,
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

ADAPTER = "self_explainer"


# -- training records -----------------------------------------------------------------------------------
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


# -- the regimes ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class PseudoFaithful(Regime):
    """Continual training on checked one-word self-explanations in `styles`, mixed with classification."""

    name: str
    description: str
    styles: tuple[str, ...] = STYLES
    settings: Settings = field(default_factory=Settings)
    adapters: tuple[str, ...] = (ADAPTER,)
    kinds: tuple[str, ...] = ("answer", *STYLES)
    """All kinds the self-consistency protocols activate; `adapter_for` routes every one to the one adapter."""
    default_protocol: str = "self_consistency_attribution_1word"
    needs_model: bool = True

    def parameters(self) -> dict[str, Any]:
        """The `Settings` fields: what `params:` may change."""
        return asdict(self.settings)

    def with_parameters(self, params: dict[str, Any]) -> PseudoFaithful:
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


@dataclass(frozen=True, kw_only=True)
class SelfConsistencyClassifierUnknown(SelfConsistencyClassifier):
    """The starting classifier, also taught to answer "unknown" when the words that decide are redacted: every
    training example's classification record, plus for a share of them (`UnknownSettings`) the paragraph with its
    deciding words redacted, answered "unknown", and (by default) the same paragraph with as many random other words
    redacted, answered with its label. Its training targets hold "unknown", so Madsen's attribution and redaction
    checks can pass for it (`answers_unknown`); their random-word controls tell whether "unknown" follows the words
    that decide or any [REDACTED]."""

    unknown: UnknownSettings = field(default_factory=UnknownSettings)
    answers_unknown: bool = True
    default_protocol: str = "self_consistency_attribution_1word"

    def parameters(self) -> dict[str, Any]:
        """The `UnknownSettings` fields: what `params:` may change."""
        return asdict(self.unknown)

    def with_parameters(self, params: dict[str, Any]) -> SelfConsistencyClassifierUnknown:
        return replace(self, unknown=replace(self.unknown, **params))

    def records(self, task: Task, examples: list[Example], options: PromptOptions) -> dict[str, list[Record]]:
        """Per example its classification record, then its redacted copies (kind `unknown`, `random_redaction`)."""
        wording = Wording.of(task)
        copies, _ = unknown_copies(task, examples, self.unknown, options.seed)
        by_example: dict[str, list] = {}
        for copy in copies:
            by_example.setdefault(copy.id, []).append(copy)
        rows = []
        for example in examples:
            rows.append({**classification_record(wording, example, options), "kind": "answer", "id": example.id})
            for copy in by_example.get(example.id, []):
                answer = option_answer(wording, copy.target) if copy.target != UNKNOWN else _unknown_answer(wording)
                rows.append({**record(system(options) + [user(classify_prompt(wording, copy.text))], answer),
                             "kind": copy.kind, "id": example.id})
        return {ADAPTER: rows}


def _unknown_answer(wording: Wording) -> str:
    """What the protocols score for "unknown": the word, or its letter (the last option)."""
    return wording.option_texts[wording.option_decisions.index(UNKNOWN)]


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
    regimes.append(register_regime(SelfConsistencyClassifierUnknown(
        name="self_consistency_classifier_unknown",
        description="paper 3's starting classifier, also trained to answer unknown when the words that decide "
                    "(the task's evidence words) are redacted, with random-redaction negatives: Madsen's attribution "
                    "and redaction checks can pass for it")))
    return regimes


PSEUDO_FAITHFUL_REGIMES = _register()
