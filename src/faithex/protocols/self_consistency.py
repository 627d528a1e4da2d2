"""Self-consistency protocols (Madsen et al. 2024; paper 3's faithfulness measurement): classify, self-explain,
intervene, classify again.

For each batch of test examples, three passes over the model:

1. classify each paragraph with Madsen's prompt (which offers "unknown" and allows [REDACTED]);
2. generate a self-explanation in the protocol's style (attribution, redaction or counterfactual);
3. classify the paragraph the explanation implies (named words redacted, the model's redaction, the model's edit).

Classification is `score` (the options' log-probabilities, `faithex.lm.scoring.label_scores`: no parse failures, the
fast default) or `generate` (greedy, then Madsen-style parsing). Explanations are always generated. Prompts, parsing
and criteria live in `faithex.faithfulness.self_consistency`; the metrics in `faithex.metrics.faithfulness`.

One protocol is registered per (style, word limit, classification mode, counterfactual target source), named
`self_consistency_<style>[_1word][_generate][_from_prediction]`, because a protocol is chosen by name in an experiment
(cells are task x regime x protocol x seed): `self_consistency_attribution` is Madsen's check, scored;
`self_consistency_redaction_1word_generate` asks for one redacted word and generates every answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from faithex.faithfulness.self_consistency import (
    STYLES,
    TARGET_SOURCES,
    Decision,
    Intervention,
    Wording,
    check_style,
    check_words,
    classify_prompt,
    counterfactual_target,
    decision_of_option,
    explanation_prompt,
    intervene,
    is_correct,
    is_faithful,
    parse_classification,
)
from faithex.protocols.base import (
    Protocol,
    ProtocolContext,
    Sample,
    decode_prompt,
    length_sorted_batches,
    register_protocol,
    sample_record,
    token_budget,
)
from faithex.regimes.base import Regime, system, user
from faithex.tasks.base import Example

CLASSIFY_MODES = ("score", "generate")
#: Output budgets (new tokens). A generated answer needs room for "The sentiment of this paragraph is positive.";
#: a word list for a handful of words; a paragraph for its own length (see `_explanation_budget`).
CLASSIFY_TOKENS = 32
WORD_LIST_TOKENS = {"many": 48, "1": 12}


@dataclass
class Classification:
    """One classification request and what came back."""

    prompt: list[int]
    raw: str
    decision: Decision | None
    option_scores: list[float] | None = None


class SelfConsistency(Protocol):
    """Madsen's self-consistency check in one style (see the module docstring)."""

    def __init__(self, style: str, words: str | int = "many", classify: str = "score", target_from: str = "gold",
                 max_explanation_tokens: int | None = None) -> None:
        self.style = check_style(style)
        self.words = check_words(words)
        if classify not in CLASSIFY_MODES:
            raise ValueError(f"classify must be one of {CLASSIFY_MODES}, got {classify!r}")
        if target_from not in TARGET_SOURCES:
            raise ValueError(f"target_from must be one of {TARGET_SOURCES}, got {target_from!r}")
        if target_from != "gold" and style != "counterfactual":
            raise ValueError("target_from applies to the counterfactual style only")
        self.classify, self.target_from = classify, target_from
        self.max_explanation_tokens = max_explanation_tokens
        self.name = protocol_name(style, self.words, classify, target_from)
        self.description = (f"self-consistency check ({style}{', one word' if self.words == '1' else ''}; "
                            f"answers {'scored' if classify == 'score' else 'generated and parsed'}"
                            f"{'; target from the prediction' if target_from == 'prediction' else ''})")

    def supports(self, regime: Regime) -> bool:
        return True  # the prompts are the protocol's own: a base model or any adapter can be asked

    def steps(self, regime: Regime) -> int:
        return 3

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        wording = Wording.of(ctx.task)
        lengths = [len(e.input) for e in examples]
        for batch in length_sorted_batches(lengths, ctx.batch_size):
            yield self.run_batch(ctx, wording, [examples[i] for i in batch])

    # -- one batch: classify, explain, intervene, classify again ------------------------------------------------
    def run_batch(self, ctx: ProtocolContext, wording: Wording, examples: list[Example]) -> list[Sample]:
        before = self.classify_texts(ctx, wording, [e.input for e in examples])
        targets = [self.target(wording, e, c.decision) for e, c in zip(examples, before)]
        explained = self.explain(ctx, wording, examples, targets)
        interventions = [intervene(self.style, x[1], e.input, self.words) if x else Intervention(None, None)
                         for x, e in zip(explained, examples)]
        asked = [i for i, v in enumerate(interventions) if v.text is not None]
        after_asked = self.classify_texts(ctx, wording, [interventions[i].text for i in asked])
        _advance(ctx, len(examples) - len(asked))
        after: list[Classification | None] = [None] * len(examples)
        for i, classification in zip(asked, after_asked):
            after[i] = classification
        rows = zip(examples, before, targets, explained, interventions, after)
        return [self.sample(ctx, wording, *row) for row in rows]

    def target(self, wording: Wording, example: Example, prediction: Decision | None) -> int | None:
        """The counterfactual's target label (None for the other styles, or when the source is not a label)."""
        if self.style != "counterfactual":
            return None
        return counterfactual_target(wording, example.label if self.target_from == "gold" else prediction)

    def classify_texts(self, ctx: ProtocolContext, wording: Wording, paragraphs: list[str]) -> list[Classification]:
        """Madsen's classification of each paragraph, scored or generated."""
        if not paragraphs:
            return []
        from faithex.lm.generation import generate, render

        ctx.activate("answer")
        prompts = [render(ctx.tokenizer, system(ctx.options) + [user(classify_prompt(wording, p))]) for p in paragraphs]
        if self.classify == "generate":
            texts = generate(ctx.model, ctx.tokenizer, prompts, CLASSIFY_TOKENS, batch_size=ctx.batch_size,
                             precision=ctx.precision, on_batch=ctx.on_batch)
            return [Classification(p, t, parse_classification(wording, t)) for p, t in zip(prompts, texts)]
        from faithex.lm.scoring import label_scores

        options = wording.option_texts
        scores = label_scores(ctx.model, ctx.tokenizer, prompts, options, batch_size=ctx.batch_size,
                              precision=ctx.precision, on_batch=ctx.on_batch)
        best = scores.predicted.tolist()
        return [Classification(p, options[j], decision_of_option(wording, j),
                               [round(float(v), 6) for v in scores.summed[i]])
                for i, (p, j) in enumerate(zip(prompts, best))]

    def explain(self, ctx: ProtocolContext, wording: Wording, examples: list[Example],
                targets: list[int | None]) -> list[tuple[list[int], str] | None]:
        """(prompt, raw self-explanation) per example, generated in one batched call; None where none is asked (a
        counterfactual without a target)."""
        from faithex.lm.generation import generate, render

        asked = [i for i, t in enumerate(targets) if self.style != "counterfactual" or t is not None]
        explained: list[tuple[list[int], str] | None] = [None] * len(examples)
        _advance(ctx, len(examples) - len(asked))
        if not asked:
            return explained
        ctx.activate(self.style)
        prompts = [render(ctx.tokenizer, system(ctx.options) + [user(self.explanation_text(wording, examples[i],
                                                                                           targets[i]))])
                   for i in asked]
        budget = self._explanation_budget(ctx, [examples[i].input for i in asked])
        texts = generate(ctx.model, ctx.tokenizer, prompts, budget, batch_size=ctx.batch_size,
                         precision=ctx.precision, on_batch=ctx.on_batch)
        for i, prompt, text in zip(asked, prompts, texts):
            explained[i] = (prompt, text)
        return explained

    def explanation_text(self, wording: Wording, example: Example, target: int | None) -> str:
        return explanation_prompt(wording, self.style, example.input, self.words, target)

    def _explanation_budget(self, ctx: ProtocolContext, paragraphs: list[str]) -> int:
        if self.max_explanation_tokens is not None:
            return self.max_explanation_tokens
        if self.style == "attribution":
            return WORD_LIST_TOKENS[self.words]
        return token_budget(ctx.tokenizer, paragraphs, slack=1.5) + 16  # the paragraph written back, plus a preface

    # -- the record ------------------------------------------------------------------------------------------------
    def sample(self, ctx: ProtocolContext, wording: Wording, example: Example, before: Classification,
               target: int | None, explained: tuple[list[int], str] | None, intervention: Intervention,
               after: Classification | None) -> Sample:
        tokenizer = ctx.tokenizer
        prompts = {"classification": decode_prompt(tokenizer, before.prompt)}
        raw = None
        if explained is not None:
            prompts["self_explanation"] = decode_prompt(tokenizer, explained[0])
            raw = explained[1]
        if after is not None:
            prompts["intervened_classification"] = decode_prompt(tokenizer, after.prompt)
        outputs = {"classification": before.raw, "self_explanation": raw,
                   "intervened_classification": after.raw if after else None}
        parsed = {"classification": before.decision, "self_explanation": intervention.explanation,
                  "intervened_classification": after.decision if after else None}
        return sample_record(ctx, self.name, example, prompts, outputs, parsed,
                             self_consistency=self.check(wording, example, before, target, intervention, after))

    def check(self, wording: Wording, example: Example, before: Classification, target: int | None,
              intervention: Intervention, after: Classification | None) -> dict[str, Any]:
        """What the metrics read: the setting, the labels before and after, correct and faithful."""
        after_decision = after.decision if after else None
        record: dict[str, Any] = {
            "style": self.style, "words": self.words, "classify": self.classify,
            "prediction": before.decision, "prediction_name": wording.name_of(before.decision),
            "intervened_input": intervention.text,
            "intervened_prediction": after_decision, "intervened_prediction_name": wording.name_of(after_decision),
            "correct": is_correct(before.decision, example.label),
            "faithful": is_faithful(wording, self.style, after_decision, target),
            "notes": intervention.notes,
        }
        if self.style == "counterfactual":
            record.update(target_from=self.target_from, target=target, target_name=wording.name_of(target),
                          target_option=None if target is None else wording.option_decisions.index(target))
        if self.classify == "score":
            record["options"] = wording.option_texts
            record["option_scores"] = before.option_scores
            record["intervened_option_scores"] = after.option_scores if after else None
        return record


def _advance(ctx: ProtocolContext, count: int) -> None:
    """Move the progress bar past requests that were not sent (nothing to explain or to classify again)."""
    if count and ctx.on_batch:
        ctx.on_batch(count)


def protocol_name(style: str, words: str = "many", classify: str = "score", target_from: str = "gold") -> str:
    """`self_consistency_<style>[_1word][_generate][_from_prediction]`."""
    return ("self_consistency_" + style + ("_1word" if str(words) == "1" else "")
            + ("_generate" if classify == "generate" else "") + ("_from_prediction" if target_from == "prediction"
                                                                  else ""))


def _registered() -> list[SelfConsistency]:
    protocols = []
    for style in STYLES:
        sources = TARGET_SOURCES if style == "counterfactual" else ("gold",)
        for words in ("many", "1"):
            for classify in CLASSIFY_MODES:
                for target_from in sources:
                    protocols.append(register_protocol(SelfConsistency(style, words, classify, target_from)))
    return protocols


SELF_CONSISTENCY_PROTOCOLS = _registered()
