"""Protocols for label outputs.

- `score`: the log-probability of every label's full token sequence after the prompt (one pass over the shared
  prompt, batched); the answer is the best-scoring label. No parse failures, and the fastest way to classify.
- `generate`: the answer generated greedily and parsed back into a label (unparsable answers count as wrong).
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


class LabelProtocol(Protocol):
    def supports(self, regime: Regime) -> bool:
        return "answer" in regime.kinds

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        from faithex.lm.generation import render  # torch: imported when a model is asked, not at start-up

        ctx.activate("answer")
        prompts = [render(ctx.tokenizer, ctx.regime.prompt("answer", ctx.task, e, ctx.options)) for e in examples]
        for batch in length_sorted_batches([len(p) for p in prompts], ctx.batch_size):
            yield self.run_batch(ctx, [examples[i] for i in batch], [prompts[i] for i in batch])

    def run_batch(self, ctx: ProtocolContext, examples: list[Example], prompts: list[list[int]]) -> list[Sample]:
        raise NotImplementedError


class Score(LabelProtocol):
    name = "score"
    description = "log-probability of each label's tokens after the prompt; the answer is the best one"

    def run_batch(self, ctx: ProtocolContext, examples: list[Example], prompts: list[list[int]]) -> list[Sample]:
        from faithex.lm.scoring import label_scores

        names = [ctx.task.answer_text(label) for label in ctx.task.labels]
        scores = label_scores(ctx.model, ctx.tokenizer, prompts, names, batch_size=ctx.batch_size,
                              precision=ctx.precision, on_batch=ctx.on_batch, closing=ctx.regime.label_closing)
        samples = []
        for i, example in enumerate(examples):
            best = int(scores.predicted[i])
            samples.append(sample_record(
                ctx, self.name, example, {"answer": decode_prompt(ctx.tokenizer, prompts[i])},
                outputs={"answer": names[best]}, parsed={"answer": ctx.task.labels[best]},
                label_scores=[round(float(v), 6) for v in scores.summed[i]],
                label_scores_mean=[round(float(v), 6) for v in scores.mean[i]],
            ))
        return samples


class Generate(LabelProtocol):
    name = "generate"
    description = "the answer generated greedily and parsed into a label"

    def run_batch(self, ctx: ProtocolContext, examples: list[Example], prompts: list[list[int]]) -> list[Sample]:
        from faithex.lm.generation import generate

        budget = token_budget(ctx.tokenizer, [ctx.task.answer_text(label) for label in ctx.task.labels])
        texts = generate(ctx.model, ctx.tokenizer, prompts, budget, batch_size=ctx.batch_size,
                         precision=ctx.precision, on_batch=ctx.on_batch)
        return [
            sample_record(ctx, self.name, example, {"answer": decode_prompt(ctx.tokenizer, prompts[i])},
                          outputs={"answer": texts[i]}, parsed={"answer": ctx.task.parse_answer(texts[i])})
            for i, example in enumerate(examples)
        ]


SCORE = register_protocol(Score())
GENERATE = register_protocol(Generate())
