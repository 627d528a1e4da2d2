"""Paper 2's explanation interventions as a protocol: `explanation_interventions` (issue 17).

For regimes that write their explanation before their label (`explanation_label`, `explanation_label_instructed`):
per test item the model writes its own explanation, as `explain_then_score` does, and each label is then scored
after (a) that explanation, (b) the explanation it wrote for another test item on which it gave another label,
(c) its own explanation's words shuffled and (d) an empty explanation. What each is, how the donor is chosen and what
it costs: `faithex.faithfulness.explanation_interventions`, which runs the decision logic on the callables this
module builds from the model (`model_asker`). Label-first regimes are not asked: their label is decided before any
explanation is written, so no explanation can be swapped in front of it.

Samples keep `explain_then_score`'s `outputs`, `parsed` and `label_scores` for the own explanation (so the label
metrics apply), and an `interventions` record that the metrics of `faithex.metrics.explanation_interventions` read.
Every item's own explanation and label are produced before any intervention (any item may be another's donor);
then the samples come batch by batch. A run killed during that first phase keeps no sample of the cell, and a
resumed run chooses the donors among the items not yet written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from faithex.faithfulness.explanation_interventions import (
    DEFAULT_SETTINGS,
    Asker,
    Outcome,
    Request,
    Settings,
    run_explanation_interventions,
)
from faithex.protocols.base import (
    Protocol,
    ProtocolContext,
    Sample,
    decode_prompt,
    length_sorted_batches,
    register_protocol,
    sample_record,
)
from faithex.protocols.explanation import (
    answer_prompt,
    explains_first,
    explanation_budget,
    explanation_head,
    generate_explanations,
    parsed_decisions,
    score_labels,
    tokens,
)
from faithex.regimes.base import Regime
from faithex.tasks.base import Example


class ExplanationInterventions(Protocol):
    """The interventions of `faithex.faithfulness.explanation_interventions` with fixed `settings`."""

    def __init__(self, name: str = "explanation_interventions", settings: Settings = DEFAULT_SETTINGS,
                 description: str = "paper 2: the label scored after the own explanation, another item's (with "
                                    "another label), the own shuffled, and none: does the label follow?") -> None:
        self.name, self.settings, self.description = name, settings, description

    def supports(self, regime: Regime) -> bool:
        return explains_first(regime)

    def steps(self, regime: Regime) -> int:
        return 3  # own explanations, their scores, the interventions' scores

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        asker = model_asker(ctx, explanation_budget(ctx, self.name))  # a missing budget fails before any work
        lengths = [len(explanation_request(ctx, e)) for e in examples]
        batches = length_sorted_batches(lengths, ctx.batch_size)
        outcomes = run_explanation_interventions(ctx.task, examples, asker, self.settings, batches, ctx.on_batch)
        for batch in outcomes:
            yield [self.sample(ctx, outcome) for outcome in batch]

    def sample(self, ctx: ProtocolContext, outcome: Outcome) -> Sample:
        """The own explanation's sample, as `explain_then_score` writes it, with the `interventions` record. The
        intervened prompts differ from the answer prompt only in the explanation, which the record holds."""
        own = outcome.own
        example, fields = own.example, outcome.fields(ctx.task)
        prompts = {"explanation": decode_prompt(ctx.tokenizer, explanation_request(ctx, example)),
                   "answer": decode_prompt(ctx.tokenizer, answer_prompt(ctx, explanation_head(ctx, example),
                                                                        own.explanation))}
        return sample_record(ctx, self.name, example, prompts, fields["outputs"],
                             parsed_decisions(ctx, own.label, own.explanation), label_scores=fields["label_scores"],
                             interventions=fields["interventions"])


def explanation_request(ctx: ProtocolContext, example: Example) -> list[int]:
    """Token ids the own explanation is generated after: the head and the regime's explanation prefix."""
    return tokens(ctx.tokenizer, explanation_head(ctx, example) + ctx.regime.explanation_prefix)


def model_asker(ctx: ProtocolContext, budget: int) -> Asker:
    """The `Asker` of a protocol context: greedy explanations cut as the regime cuts them, and the labels' summed
    log-probabilities after an explanation; each call batched by `ctx.batch_size`."""

    def explain(examples: Sequence[Example]) -> list[str]:
        ctx.activate("explanation")
        generated = generate_explanations(ctx, [explanation_request(ctx, e) for e in examples], budget)
        return [ctx.regime.explanation_of(text) for text in generated]

    def label_scores(requests: Sequence[Request]) -> np.ndarray:
        ctx.activate("explanation")  # the label follows the explanation in the same turn, with the same adapter
        prompts = [answer_prompt(ctx, explanation_head(ctx, e), explanation) for e, explanation in requests]
        return score_labels(ctx, prompts).summed.numpy()

    return Asker(explain, label_scores)


EXPLANATION_INTERVENTIONS = register_protocol(ExplanationInterventions())
