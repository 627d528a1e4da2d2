"""Protocols for regimes that write an explanation before their label (paper 2's `explanation_label`).

- `explain_then_score`: the explanation generated greedily after the regime's opening ("Explanation:") and cut at the
  answer marker ("\\nAnswer:"; without one, the whole generation is the explanation); then every label scored after
  prompt + "Explanation: {generated}\\nAnswer:", its tokens and the end of turn, exactly as the label followed the
  explanation in training. The answer is the best-scoring label: no parse failures.

The regime owns the format (`explanation_prefix`, `explanation_of`, `answer_context`, `label_continuation`), so this
module imports no regime module; its steps (`explanation_head`, `generate_explanations`, `answer_prompt`,
`score_labels`) are shared with `explanation_interventions`. The scoring prompt is rebuilt as text and tokenised
again: the tokens the model generated need not be the ones its text tokenises to, and training saw the text's own
tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from faithex.errors import ConfigError
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


class ExplainThenScore(Protocol):
    name = "explain_then_score"
    description = "the explanation generated first, then each label's log-probability after it"

    def supports(self, regime: Regime) -> bool:
        return explains_first(regime)

    def steps(self, regime: Regime) -> int:
        return 2  # a generation pass, then a scoring pass

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        ctx.activate("explanation")
        budget = explanation_budget(ctx)
        heads = [explanation_head(ctx, e) for e in examples]
        requests = [tokens(ctx.tokenizer, head + ctx.regime.explanation_prefix) for head in heads]
        for batch in length_sorted_batches([len(r) for r in requests], ctx.batch_size):
            yield self.run_batch(ctx, [examples[i] for i in batch], [heads[i] for i in batch],
                                 [requests[i] for i in batch], budget)

    def run_batch(self, ctx: ProtocolContext, examples: list[Example], heads: list[str], requests: list[list[int]],
                  budget: int) -> list[Sample]:
        task, tokenizer = ctx.task, ctx.tokenizer
        generated = generate_explanations(ctx, requests, budget, on_batch=ctx.on_batch)
        explanations = [ctx.regime.explanation_of(text) for text in generated]
        answer_prompts = [answer_prompt(ctx, head, explanation) for head, explanation in zip(heads, explanations)]
        scores = score_labels(ctx, answer_prompts, on_batch=ctx.on_batch)
        names = [task.answer_text(label) for label in task.labels]
        samples = []
        for i, example in enumerate(examples):
            best = int(scores.predicted[i])
            prompts = {"explanation": decode_prompt(tokenizer, requests[i]),
                       "answer": decode_prompt(tokenizer, answer_prompts[i])}
            outputs = {"explanation": explanations[i], "answer": names[best], "generated": generated[i]}
            samples.append(sample_record(
                ctx, self.name, example, prompts, outputs, parsed_decisions(ctx, task.labels[best], explanations[i]),
                label_scores=[round(float(v), 6) for v in scores.summed[i]],
                label_scores_mean=[round(float(v), 6) for v in scores.mean[i]],
            ))
        return samples


# -- the format's steps, shared with the explanation interventions ---------------------------------------------------
def explains_first(regime: Regime) -> bool:
    """Whether the regime writes its explanation before its label (then the label is scored after it)."""
    return regime.kinds[:1] == ("explanation",)


def explanation_head(ctx: ProtocolContext, example: Example) -> str:
    """The example's conversation as text, up to the assistant's turn header."""
    return chat_prompt(ctx.tokenizer, ctx.regime.prompt("explanation", ctx.task, example, ctx.options))


def generate_explanations(ctx: ProtocolContext, requests: Sequence[list[int]], budget: int,
                          on_batch: Callable[[int], None] | None = None) -> list[str]:
    """The model's greedy continuations of `requests` (heads with the regime's explanation prefix), as generated."""
    from faithex.lm.generation import generate  # torch: imported when a model is asked, not at start-up

    return generate(ctx.model, ctx.tokenizer, list(requests), budget, batch_size=ctx.batch_size,
                    precision=ctx.precision, on_batch=on_batch)


def answer_prompt(ctx: ProtocolContext, head: str, explanation: str) -> list[int]:
    """Token ids of the head and the assistant's text up to the label: "Explanation: {explanation}\nAnswer:"."""
    return tokens(ctx.tokenizer, head + ctx.regime.answer_context(explanation))


def score_labels(ctx: ProtocolContext, prompts: Sequence[list[int]], on_batch: Callable[[int], None] | None = None):
    """`LabelScores` of the task's labels, each as it continues an `answer_prompt` (its tokens, the end of turn)."""
    from faithex.lm.scoring import label_scores

    names = [ctx.task.answer_text(label) for label in ctx.task.labels]
    return label_scores(ctx.model, ctx.tokenizer, list(prompts), [ctx.regime.label_continuation(n) for n in names],
                        batch_size=ctx.batch_size, precision=ctx.precision, on_batch=on_batch)


def parsed_decisions(ctx: ProtocolContext, answer: int, explanation: str) -> dict[str, int | None]:
    """The scored answer, and the decision the explanation states where the task can read one (paper 1's tasks)."""
    parsed: dict[str, int | None] = {"answer": answer}
    try:
        parsed["explanation"] = ctx.task.parse_explanation(explanation)
    except NotImplementedError:  # free-text explanations (text tasks) state no decision a parser could read
        pass
    return parsed


def explanation_budget(ctx: ProtocolContext, protocol: str = "explain_then_score") -> int:
    """max_new_tokens for the explanation: from the training explanations, as the model writes them (after a
    space). `protocol`: the one asking, named in the error."""
    texts = [" " + e.explanation.strip() for e in ctx.train if e.explanation and e.explanation.strip()]
    if not texts:
        raise ConfigError(f"protocol '{protocol}' sizes its explanations from the training examples' "
                          "explanations, and none has one")
    return token_budget(ctx.tokenizer, texts)


def chat_prompt(tokenizer, conversation: list[dict[str, str]]) -> str:
    """A conversation as text, followed by the assistant's turn header (what `render` tokenises)."""
    return tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)


def tokens(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


EXPLAIN_THEN_SCORE = register_protocol(ExplainThenScore())
