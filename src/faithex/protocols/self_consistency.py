"""Self-consistency protocols (Madsen et al. 2024; paper 3's faithfulness measurement): classify, self-explain,
intervene, classify again.

For each batch of test examples, three passes over the model:

1. classify each paragraph with Madsen's prompt (which offers "unknown" and allows [REDACTED]);
2. generate a self-explanation in the protocol's style (attribution, redaction or counterfactual);
3. classify the paragraph the explanation implies (named words redacted, the model's redaction, the model's edit);
4. attribution and redaction: classify the random-word control, the paragraph with as many random words redacted
   (`faithex.faithfulness.self_consistency.random_control`, seeded by the experiment's seed and the item's id);
5. `_eraser` protocols (attribution and redaction, opt-in): ERASER's comprehensiveness and sufficiency of the
   words the explanation names, scored with the check's own prompt.

Classification is `score` (the options' log-probabilities, `faithex.lm.scoring.label_scores`: no parse failures, the
fast default) or `generate` (greedy, then Madsen-style parsing). Explanations are always generated. Prompts, parsing
and criteria live in `faithex.faithfulness.self_consistency`; the metrics in `faithex.metrics.faithfulness`.

One protocol is registered per (style, word limit, classification mode, counterfactual target source, ERASER), named
`self_consistency_<style>[_1word][_generate][_from_prediction][_eraser]`, because a protocol is chosen by name in an
experiment (cells are task x regime x protocol x seed): `self_consistency_attribution` is Madsen's check, scored;
`self_consistency_redaction_1word_generate` asks for one redacted word and generates every answer;
`self_consistency_attribution_1word_eraser` is the one-word attribution check with ERASER's scores beside it.

ERASER (DeYoung et al. 2020, `faithex.faithfulness.eraser`) on a check: the ranking is the named words in the order
named (attribution; `ranking_from_words`) or the words the model's redaction masked, in text order (redaction: it
gives no order); ŷ is the first classification's decision, when it is a label; p(.|text) is the softmax over the
check's offered options (the labels and "unknown") scored with the check's own classification prompt, as
`self_consistency_shift` reads it, so probability moved to "unknown" counts as taken from ŷ. At most 1 + 2 x 5 bins
= 11 more scored paragraphs per checked item (fewer: identical variants are scored once), one batched call.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from faithex.faithfulness.eraser import DEFAULT_BINS, eraser_batch, ranking_from_words
from faithex.faithfulness.self_consistency import (
    STYLES,
    TARGET_SOURCES,
    Decision,
    Intervention,
    RandomRedaction,
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
    masked_positions,
    parse_classification,
    random_control,
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


@dataclass
class Control:
    """The random-word control of one check: the paragraph redacted at random, and its classification."""

    redaction: RandomRedaction
    classification: Classification


class SelfConsistency(Protocol):
    """Madsen's self-consistency check in one style (see the module docstring)."""

    def __init__(self, style: str, words: str | int = "many", classify: str = "score", target_from: str = "gold",
                 max_explanation_tokens: int | None = None, eraser: bool = False) -> None:
        self.style = check_style(style)
        self.words = check_words(words)
        if classify not in CLASSIFY_MODES:
            raise ValueError(f"classify must be one of {CLASSIFY_MODES}, got {classify!r}")
        if target_from not in TARGET_SOURCES:
            raise ValueError(f"target_from must be one of {TARGET_SOURCES}, got {target_from!r}")
        if target_from != "gold" and style != "counterfactual":
            raise ValueError("target_from applies to the counterfactual style only")
        if eraser and style == "counterfactual":
            raise ValueError("ERASER scores the words an explanation names: attribution and redaction styles only")
        self.classify, self.target_from, self.eraser = classify, target_from, eraser
        self.max_explanation_tokens = max_explanation_tokens
        self.name = protocol_name(style, self.words, classify, target_from, eraser)
        self.description = (f"self-consistency check ({style}{', one word' if self.words == '1' else ''}; "
                            f"answers {'scored' if classify == 'score' else 'generated and parsed'}"
                            f"{'; target from the prediction' if target_from == 'prediction' else ''}"
                            f"{'; random-word control' if self.controlled else ''}"
                            f"{'; ERASER comprehensiveness and sufficiency' if eraser else ''})")

    @property
    def controlled(self) -> bool:
        """Whether the check redacts words, and so gets a random-word control (attribution, redaction)."""
        return self.style != "counterfactual"

    def supports(self, regime: Regime) -> bool:
        return True  # the prompts are the protocol's own: a base model or any adapter can be asked

    def steps(self, regime: Regime) -> int:
        return 3 + int(self.controlled) + int(self.eraser)

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        wording = Wording.of(ctx.task)
        if self.eraser:  # opt-in work: say what it costs before it runs
            print(f"{self.name}: ERASER scores at most {1 + 2 * len(DEFAULT_BINS)} more paragraphs per checked item "
                  f"(the whole one, and without / with only the top-k named words for {len(DEFAULT_BINS)} bins), "
                  f"{len(examples)} items", file=sys.stderr, flush=True)
        lengths = [len(e.input) for e in examples]
        for batch in length_sorted_batches(lengths, ctx.batch_size):
            yield self.run_batch(ctx, wording, [examples[i] for i in batch])

    # -- one batch: classify, explain, intervene, classify again, the control, ERASER ------------------------------
    def run_batch(self, ctx: ProtocolContext, wording: Wording, examples: list[Example]) -> list[Sample]:
        before = self.classify_texts(ctx, wording, [e.input for e in examples])
        targets = [self.target(wording, e, c.decision) for e, c in zip(examples, before)]
        explained = self.explain(ctx, wording, examples, targets)
        interventions = [intervene(self.style, x[1], e.input, self.words) if x else Intervention(None, None)
                         for x, e in zip(explained, examples)]
        after = self.classify_some(ctx, wording, [v.text for v in interventions])
        controls = self.controls(ctx, wording, examples, interventions) if self.controlled else [None] * len(examples)
        erasers = self.eraser_records(ctx, wording, examples, before, interventions) if self.eraser \
            else [None] * len(examples)
        rows = zip(examples, before, targets, explained, interventions, after, controls, erasers)
        return [self.sample(ctx, wording, *row) for row in rows]

    def classify_some(self, ctx: ProtocolContext, wording: Wording,
                      paragraphs: list[str | None]) -> list[Classification | None]:
        """The classification of each paragraph that is not None, in one batched call; the progress bar moves past
        the others."""
        asked = [i for i, p in enumerate(paragraphs) if p is not None]
        answers = self.classify_texts(ctx, wording, [paragraphs[i] for i in asked])
        _advance(ctx, len(paragraphs) - len(asked))
        classified: list[Classification | None] = [None] * len(paragraphs)
        for i, classification in zip(asked, answers):
            classified[i] = classification
        return classified

    def controls(self, ctx: ProtocolContext, wording: Wording, examples: list[Example],
                 interventions: list[Intervention]) -> list[Control | None]:
        """The random-word control of every check whose explanation was read: as many random words redacted, asked
        with the same prompt (seeded by the experiment's seed and the item's id, so a rerun redacts the same words)."""
        redactions = [random_control(self.style, e.input, v, ctx.options.seed, e.id)
                      for e, v in zip(examples, interventions)]
        answers = self.classify_some(ctx, wording, [r.text if r else None for r in redactions])
        return [Control(r, a) if r is not None and a is not None else None for r, a in zip(redactions, answers)]

    def eraser_records(self, ctx: ProtocolContext, wording: Wording, examples: list[Example],
                       before: list[Classification], interventions: list[Intervention]) -> list[dict | None]:
        """ERASER's record of every check whose explanation was read and whose first answer is a label (see the
        module docstring); all variants of the batch scored in one call."""
        rows, rankings = [], []
        for i, (example, classification, intervention) in enumerate(zip(examples, before, interventions)):
            ranking = explanation_ranking(self.style, example.input, intervention)
            if ranking and isinstance(classification.decision, int):
                rows.append(i)
                rankings.append(ranking)
        records: list[dict | None] = [None] * len(examples)
        if rows:
            options = [wording.option_decisions.index(before[i].decision) for i in rows]
            results = eraser_batch([examples[i].input for i in rows], rankings, self.option_scorer(ctx, wording),
                                   labels=options)
            for i, ranking, result in zip(rows, rankings, results):
                words = examples[i].input.split()
                records[i] = {**result.to_dict(), "ranking": [words[p] for p in ranking],
                              "options": wording.option_texts}
        _advance(ctx, len(examples))
        return records

    def option_scorer(self, ctx: ProtocolContext, wording: Wording):
        """texts -> (n, options) log-probabilities of the check's offered options (renormalised over them), asked
        with the check's classification prompt: ERASER's label scorer."""
        def scorer(texts: Sequence[str]) -> np.ndarray:
            from faithex.lm.generation import render
            from faithex.lm.scoring import label_scores

            ctx.activate("answer")
            prompts = [render(ctx.tokenizer, system(ctx.options) + [user(classify_prompt(wording, t))]) for t in texts]
            scores = label_scores(ctx.model, ctx.tokenizer, prompts, wording.option_texts, batch_size=ctx.batch_size,
                                  precision=ctx.precision)
            return scores.summed.log_softmax(dim=1).double().numpy()

        return scorer

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
               after: Classification | None, control: Control | None = None, eraser: dict | None = None) -> Sample:
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
        if self.controlled:  # the control's question and answer, shown beside the check's in the example viewer
            answer = control.classification if control else None
            if answer is not None:
                prompts["random_control_classification"] = decode_prompt(tokenizer, answer.prompt)
            outputs["random_control_classification"] = answer.raw if answer else None
            parsed["random_control_classification"] = answer.decision if answer else None
        extra = {"eraser": eraser} if eraser is not None else {}
        return sample_record(ctx, self.name, example, prompts, outputs, parsed,
                             self_consistency=self.check(wording, example, before, target, intervention, after,
                                                         control), **extra)

    def check(self, wording: Wording, example: Example, before: Classification, target: int | None,
              intervention: Intervention, after: Classification | None,
              control: Control | None = None) -> dict[str, Any]:
        """What the metrics read: the setting, the labels before and after, correct and faithful; the random-word
        control beside them (attribution, redaction; None where the explanation could not be read)."""
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
        if self.controlled:
            record["random_control"] = self.control_record(wording, control)
        return record

    def control_record(self, wording: Wording, control: Control | None) -> dict[str, Any] | None:
        """The control as the check's own fields: the redacted paragraph, the words, the answer, `faithful` by the
        check's criterion (None: unreadable), the option scores in score mode."""
        if control is None:
            return None
        decision = control.classification.decision
        record = {**control.redaction.to_dict(), "prediction": decision, "prediction_name": wording.name_of(decision),
                  "faithful": is_faithful(wording, self.style, decision)}
        if self.classify == "score":
            record["option_scores"] = control.classification.option_scores
        return record


def explanation_ranking(style: str, paragraph: str, intervention: Intervention) -> list[int]:
    """ERASER's ranking of a read explanation, as positions of the paragraph's whitespace-separated words: the named
    words in the order named (attribution), or the words the model's redaction masked, in text order (redaction)."""
    if intervention.text is None:
        return []
    if style == "attribution":
        return ranking_from_words(paragraph, intervention.explanation or [])
    return masked_positions(paragraph, intervention.text)


def _advance(ctx: ProtocolContext, count: int) -> None:
    """Move the progress bar past requests that were not sent (nothing to explain or to classify again)."""
    if count and ctx.on_batch:
        ctx.on_batch(count)


def protocol_name(style: str, words: str = "many", classify: str = "score", target_from: str = "gold",
                  eraser: bool = False) -> str:
    """`self_consistency_<style>[_1word][_generate][_from_prediction][_eraser]`."""
    return ("self_consistency_" + style + ("_1word" if str(words) == "1" else "")
            + ("_generate" if classify == "generate" else "")
            + ("_from_prediction" if target_from == "prediction" else "") + ("_eraser" if eraser else ""))


def _registered() -> list[SelfConsistency]:
    protocols = []
    for style in STYLES:
        sources = TARGET_SOURCES if style == "counterfactual" else ("gold",)
        with_eraser = (False,) if style == "counterfactual" else (False, True)
        for words in ("many", "1"):
            for classify in CLASSIFY_MODES:
                for target_from in sources:
                    for eraser in with_eraser:
                        protocols.append(register_protocol(SelfConsistency(style, words, classify, target_from,
                                                                           eraser=eraser)))
    return protocols


SELF_CONSISTENCY_PROTOCOLS = _registered()
