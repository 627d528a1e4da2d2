"""Paper 1's reasoning interventions as a protocol (after Lanham et al. 2023): `reasoning_interventions`.

For any regime with a reasoning turn (`joint_reasoning`, or any regime whose kinds include reasoning and answer),
per test example: the model's own reasoning is generated (as `two_step` does), then the answer is *scored* (label
log-probabilities, `faithex.lm.scoring.label_scores`: no parse failures) and the explanation generated, after the
own reasoning, the gold reasoning, the reasoning with a mistake at each step (the model continues it), the conflict,
the reasoning cut after each step, a filler, and, for a regime trained on both reasoning formats (its
`both_reasoning_formats`, e.g. `joint_reasoning_both_formats`), the paraphrase: the own reasoning in the task's other
format, asked with the input turn naming that format; what each is and what it costs per item:
`faithex.faithfulness.interventions`, which runs the decision logic on the callables this module builds from the
model (`model_asker`). Samples keep paper 1's `outputs`/`parsed` for the own reasoning (so its metrics apply), and an
`interventions` record that the metrics of `faithex.metrics.interventions` read.

Cost per item with K reasoning steps: 1 + K generated reasonings, 1 + K generated explanations and at most 3K + 4
scored answers, 3K + 5 with the paraphrase (a decision tree of 7 comparisons: 8 + 8 generations, 25 or 26
scorings; two_step makes 3 generations).
Requests are batched across the items of a batch, one model call per kind of request.

Other settings are one line of Python, e.g. the last step only and no explanations:
`register_protocol(ReasoningInterventions("reasoning_interventions_last", Settings(steps="last", explain=())))`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from faithex.faithfulness.interventions import Asker, Request, Settings, paraphrase_format, run_interventions
from faithex.protocols.base import (
    Protocol,
    ProtocolContext,
    Sample,
    decode_prompt,
    length_sorted_batches,
    register_protocol,
    sample_record,
)
from faithex.protocols.reasoning_grounded import output_budgets
from faithex.regimes.base import Regime
from faithex.tasks.base import Example, Task


class ReasoningInterventions(Protocol):
    """The interventions of `faithex.faithfulness.interventions` with fixed `settings`."""

    def __init__(self, name: str = "reasoning_interventions", settings: Settings = Settings(),
                 description: str = "paper 1: the own reasoning changed (mistakes, conflicts, cuts, filler, gold; "
                                    "paraphrase where trained on both formats); "
                                    "do the answer and the explanation follow? (Lanham et al. 2023)") -> None:
        self.name, self.settings, self.description = name, settings, description

    def supports(self, regime: Regime) -> bool:
        needed = {"reasoning", "answer"} | ({"explanation"} if self.settings.explain else set())
        return needed <= set(regime.kinds)

    def steps(self, regime: Regime) -> int:
        return 3 + bool(self.settings.explain)  # own reasoning, continuations, answers (, explanations)

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        from faithex.lm.generation import render  # torch: imported when a model is asked, not at start-up

        asker = model_asker(ctx)
        first = [render(ctx.tokenizer, ctx.regime.prompt("reasoning", ctx.task, e, ctx.options)) for e in examples]
        for batch in length_sorted_batches([len(p) for p in first], ctx.batch_size):
            chosen = [examples[i] for i in batch]
            outcomes = run_interventions(ctx.task, chosen, asker, self.settings, on_phase=ctx.on_batch)
            yield [sample_record(ctx, self.name, e, self._prompts(ctx, e, o.outputs), o.outputs, o.parsed,
                                 interventions=o.interventions) for e, o in zip(chosen, outcomes)]

    def _prompts(self, ctx: ProtocolContext, example: Example, outputs: dict) -> dict[str, str]:
        """The prompts of the own reasoning, answer and explanation as sent (the intervened ones differ only in the
        reasoning turn, which the `interventions` record holds)."""
        from faithex.lm.generation import render

        kinds = ["reasoning", "answer"] + (["explanation"] if outputs.get("explanation") is not None else [])
        return {kind: decode_prompt(ctx.tokenizer, render(ctx.tokenizer, ctx.regime.prompt(
            kind, ctx.task, example, ctx.options, None if kind == "reasoning" else outputs["reasoning"])))
            for kind in kinds}


def continuation_prompt(tokenizer, messages: list[dict[str, str]], prefix: str) -> list[int]:
    """Token ids of the conversation, the assistant's turn header, then `prefix` as the start of its answer (the
    model continues it); tokenised together, as the model would read its own text. `prefix` "": `render`'s ids."""
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tokenizer(text + prefix, add_special_tokens=False)["input_ids"]


def asks_paraphrase(regime: Regime, task: Task) -> bool:
    """Whether the paraphrase is asked: the regime was trained on both of the task's reasoning formats. Read as the
    regime's `both_reasoning_formats` attribute (absent: False), since a protocol imports no particular regime."""
    return bool(getattr(regime, "both_reasoning_formats", False)) and paraphrase_format(task) is not None


def model_asker(ctx: ProtocolContext) -> Asker:
    """The `Asker` of a protocol context: greedy generation for reasonings and explanations, label scoring for
    answers, each request routed to the regime's adapter for its kind and batched by `ctx.batch_size`. The
    paraphrase's answers are scored with the task in its other format, so the input turn names that format."""
    from faithex.lm.generation import generate, render
    from faithex.lm.scoring import label_scores

    tokenizer, regime, task, options = ctx.tokenizer, ctx.regime, ctx.task, ctx.options
    budgets = output_budgets(ctx)
    common = {"batch_size": ctx.batch_size, "precision": ctx.precision}

    def continue_reasoning(requests: Sequence[Request]) -> list[str]:
        ctx.activate("reasoning")
        prompts = [continuation_prompt(tokenizer, regime.prompt("reasoning", task, e, options), prefix)
                   for e, prefix in requests]
        return generate(ctx.model, tokenizer, prompts, budgets["reasoning"], **common)

    def scores_after(requests: Sequence[Request], written_for: Task):
        ctx.activate("answer")
        prompts = [render(tokenizer, regime.prompt("answer", written_for, e, options, r)) for e, r in requests]
        names = [task.answer_text(label) for label in task.labels]
        return label_scores(ctx.model, tokenizer, prompts, names, closing=regime.label_closing, **common).summed.numpy()

    def answer_scores(requests: Sequence[Request]):
        return scores_after(requests, task)

    other = task.with_reasoning_format(paraphrase_format(task)) if asks_paraphrase(regime, task) else None

    def paraphrase_scores(requests: Sequence[Request]):
        return scores_after(requests, other)

    def explain(requests: Sequence[Request]) -> list[str]:
        ctx.activate("explanation")
        prompts = [render(tokenizer, regime.prompt("explanation", task, e, options, r)) for e, r in requests]
        return generate(ctx.model, tokenizer, prompts, budgets["explanation"], **common)

    def count_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return Asker(continue_reasoning, answer_scores, explain, count_tokens,
                 paraphrase_scores if other is not None else None)


REASONING_INTERVENTIONS = register_protocol(ReasoningInterventions())
#: The demo's step flip (issue 17, item 6): every step flipped, answers scored, explanations generated only after the
#: flipped reasoning (the unintervened explanation is `two_step`'s, asked beside it), and no gold, filler, early or
#: conflict answers: per item with K steps 1 + K reasonings, K explanations and 1 + K scored answers (the full
#: protocol scores up to 3K + 4).
REASONING_STEP_FLIP = register_protocol(ReasoningInterventions(
    "reasoning_step_flip", Settings(explain=("mistake",), also=()),
    "paper 1: each step of the own reasoning flipped; does the answer follow? (explanations after the flip only)"))
