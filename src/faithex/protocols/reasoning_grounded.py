"""Paper 1's protocols: how a reasoning-grounded regime is asked for its answer and explanation.

- `direct`: answer and explanation requested from the input alone (regimes without reasoning).
- `two_step` (paper 1): generate the reasoning first, then request answer and explanation independently, each from
  input + the *generated* reasoning; the two requests share that prefix, which is prefilled once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

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
from faithex.regimes.base import Regime
from faithex.tasks.base import Example

KINDS = ("answer", "explanation")


class AnswerAndExplanation(Protocol):
    """Asks for the answer and the explanation, after the model's own reasoning when `with_reasoning`."""

    def __init__(self, name: str, with_reasoning: bool, description: str) -> None:
        self.name, self.with_reasoning, self.description = name, with_reasoning, description

    def supports(self, regime: Regime) -> bool:
        return set(KINDS) <= set(regime.kinds) and self.with_reasoning == ("reasoning" in regime.kinds)

    def steps(self, regime: Regime) -> int:
        return int(self.with_reasoning) + (1 if len(regime.adapters) == 1 else 2)

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        from faithex.lm.generation import render  # torch: imported when a model is asked, not at start-up

        budgets = output_budgets(ctx)
        first = "reasoning" if self.with_reasoning else "answer"
        first_prompts = [render(ctx.tokenizer, ctx.regime.prompt(first, ctx.task, e, ctx.options)) for e in examples]
        for batch in length_sorted_batches([len(p) for p in first_prompts], ctx.batch_size):
            yield self._run_batch(ctx, [examples[i] for i in batch], budgets)

    def _run_batch(self, ctx: ProtocolContext, examples: list[Example], budgets: dict[str, int]) -> list[Sample]:
        from faithex.lm.generation import generate, generate_branches, render

        tokenizer, regime, options = ctx.tokenizer, ctx.regime, ctx.options
        generation = dict(batch_size=ctx.batch_size, precision=ctx.precision, on_batch=ctx.on_batch)
        prompts: dict[str, list[list[int]]] = {}
        reasoning: list[str | None] = [None] * len(examples)
        if self.with_reasoning:
            ctx.activate("reasoning")
            prompts["reasoning"] = [render(tokenizer, regime.prompt("reasoning", ctx.task, e, options)) for e in examples]
            reasoning = generate(ctx.model, tokenizer, prompts["reasoning"], budgets["reasoning"], **generation)
        for kind in KINDS:
            prompts[kind] = [render(tokenizer, regime.prompt(kind, ctx.task, e, options, r))
                             for e, r in zip(examples, reasoning)]
        if len(regime.adapters) == 1:  # one adapter answers both: the shared prefix is prefilled once
            ctx.activate("answer")
            texts = generate_branches(ctx.model, tokenizer, {k: prompts[k] for k in KINDS}, budgets, **generation)
        else:
            texts = {}
            for kind in KINDS:
                ctx.activate(kind)
                texts[kind] = generate(ctx.model, tokenizer, prompts[kind], budgets[kind], **generation)
        return [self._sample(ctx, e, i, prompts, reasoning[i], texts) for i, e in enumerate(examples)]

    def _sample(self, ctx, example, i, prompts, reasoning, texts) -> Sample:
        task = ctx.task
        outputs = {"reasoning": reasoning, "answer": texts["answer"][i], "explanation": texts["explanation"][i]}
        parsed = {
            "answer": task.parse_answer(outputs["answer"]),
            "explanation": task.parse_explanation(outputs["explanation"]),
            "reasoning": task.parse_reasoning(reasoning) if reasoning is not None else None,
        }
        parsed.update(task.written_steps(outputs))  # validity of each written step (step-validity metrics)
        sent = {kind: decode_prompt(ctx.tokenizer, ids[i]) for kind, ids in prompts.items()}
        return sample_record(ctx, self.name, example, sent, outputs, parsed)


def output_budgets(ctx: ProtocolContext) -> dict[str, int]:
    """Output budgets per kind, from the training targets (answers: the label texts)."""
    tokenizer, task = ctx.tokenizer, ctx.task
    return {
        "answer": token_budget(tokenizer, [task.answer_text(label) for label in task.labels]),
        "explanation": token_budget(tokenizer, [e.explanation or "" for e in ctx.train]),
        "reasoning": token_budget(tokenizer, [e.reasoning or "" for e in ctx.train]),
    }


DIRECT = register_protocol(AnswerAndExplanation("direct", False, "answer and explanation from the input alone"))
TWO_STEP = register_protocol(AnswerAndExplanation(
    "two_step", True, "paper 1: reasoning first, then answer and explanation each from input + reasoning"))
