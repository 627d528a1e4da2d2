"""`cc_shap`: CC-SHAP (Parcalabescu & Frank 2024) for regimes that write an answer and an explanation.

Per test item:

1. The regime's own protocol runs on the full input and gives the answer and the explanation (paper 1's `direct`
   or `two_step`; paper 2's `explain_then_score` for the explanation-first regimes). Its sample is kept whole, so
   every other metric (accuracy, alignment) still reads it.
2. The input's features (`faithex.faithfulness.ccshap.features_for`: words, removed when masked; paper 1's numbers,
   replaced by "?") are the players. For every coalition the protocol asks for, the masked input is put back into
   the regime's prompts, and the model's answer and its explanation, *as generated on the full input*, are
   teacher-forced after them: the value of a coalition is the vector of per-token log-probabilities of the answer's
   tokens, then the explanation's (without the end of turn, which carries no attribution). One batched pass per
   output kind scores every coalition (the kind's adapter active).
3. Shapley values per output token (exact for at most `max_coalitions` = 2^n coalitions, else antithetic
   permutation sampling with at most `max_coalitions` distinct coalitions, seeded per item), ratios averaged over
   each output's tokens, and the CC-SHAP score; the random-attribution baseline beside it.

The answer and the explanation share one sample of coalitions (common random numbers): where both outputs respond
to the input identically, the sampled score is exactly 1, as the exact one would be.

What stays fixed: everything in the prompt but the input's features, so in-context demonstrations and, in
`two_step`, the reasoning generated on the full input. CC-SHAP on a reasoning regime therefore asks which input
features move the answer and the explanation *given the model's reasoning*; where the answer copies the reasoning,
its attributions are small and its ratios mostly noise (look at `answer_ratios`).

Paper 2's label-first regimes (`label_explanation`, ...) write "LABEL\\nExplanation: E", but no protocol generates
their explanation yet (`score` scores the label only): they are not supported here.

Cost (recorded per item as `cc_shap.forward_passes`: teacher-forced sequences, batched `batch_size` at a time):
2 x the coalitions evaluated, plus the regime's own protocol once. The bound is printed before the items run.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from faithex.faithfulness.ccshap import (
    DEFAULT_MAX_COALITIONS,
    DEFAULT_MAX_FEATURES,
    Features,
    cc_shap_score,
    features_for,
    item_seed,
    random_score,
    ratios,
    shapley_values,
)
from faithex.protocols.base import Protocol, ProtocolContext, Sample, register_protocol
from faithex.protocols.explanation import EXPLAIN_THEN_SCORE, chat_prompt
from faithex.protocols.reasoning_grounded import DIRECT, KINDS, TWO_STEP
from faithex.regimes.base import Regime
from faithex.tasks.base import Example

#: The output kinds whose attributions are compared: the answer's first, then the explanation's.
OUTPUTS = ("answer", "explanation")
#: Output positions scored per forward pass at most: their logits take positions x vocabulary floats (2048 x 49k,
#: the default model's vocabulary: 400 MB in fp32), so a long explanation is scored in fewer rows per pass.
MAX_SCORED_POSITIONS = 2048


@dataclass
class Target:
    """One output to teacher-force: the prompt text around a (masked) input, and the output's text after it."""

    kind: str
    context: Callable[[str], str]
    """input text -> the rendered prompt text (chat template included) that the output follows."""
    continuation: str


class CcShap(Protocol):
    """CC-SHAP over the input's features (see the module docstring)."""

    def __init__(self, name: str = "cc_shap", max_coalitions: int = DEFAULT_MAX_COALITIONS,
                 max_features: int = DEFAULT_MAX_FEATURES, features: str = "auto", seed: int = 0) -> None:
        if max_features < 1 or max_coalitions < max_features + 1:
            raise ValueError(f"cc_shap needs max_features >= 1 and max_coalitions >= max_features + 1 (one "
                             f"permutation); got {max_features} and {max_coalitions}")
        self.name, self.max_coalitions, self.max_features = name, max_coalitions, max_features
        self.features, self.seed = features, seed
        self.description = (f"CC-SHAP: Shapley values of the input's {features} features for the answer and the "
                            f"explanation (at most {max_coalitions} coalitions per item), compared by cosine")

    # -- Protocol -----------------------------------------------------------------------------------------------
    def supports(self, regime: Regime) -> bool:
        return self._inner(regime) is not None

    def steps(self, regime: Regime) -> int:
        inner = self._inner(regime)
        return (inner.steps(regime) if inner is not None else 0) + 1

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        inner = self._inner(ctx.regime)
        if inner is None:
            raise ValueError(f"protocol '{self.name}' cannot ask regime '{ctx.regime.name}': it writes no answer "
                             "and explanation that a protocol generates")
        print(f"{self.name}: at most {self.max_coalitions} coalitions x {len(OUTPUTS)} outputs = "
              f"{self.max_coalitions * len(OUTPUTS)} teacher-forced sequences per item, {len(examples)} items, "
              f"after '{inner.name}'", file=sys.stderr, flush=True)
        by_id = {e.id: e for e in examples}
        for batch in inner.run(ctx, examples):
            yield [self.item(ctx, by_id[sample["id"]], sample) for sample in batch]
            if ctx.on_batch:
                ctx.on_batch(len(batch))

    def _inner(self, regime: Regime) -> Protocol | None:
        """The protocol whose answer and explanation this one attributes."""
        if set(KINDS) <= set(regime.kinds):
            return TWO_STEP if "reasoning" in regime.kinds else DIRECT
        if EXPLAIN_THEN_SCORE.supports(regime):
            return EXPLAIN_THEN_SCORE
        return None

    # -- one item -----------------------------------------------------------------------------------------------
    def item(self, ctx: ProtocolContext, example: Example, sample: Sample) -> Sample:
        """The inner protocol's sample with this protocol's name and a `cc_shap` record."""
        started = time.perf_counter()
        features = features_for(example.input, example.meta.get("x"), self.features, self.max_features)
        targets = self.targets(ctx, example, sample)
        record = cc_shap_record(ctx, features, targets, self.max_coalitions, item_seed(self.seed, example.id))
        record["random_score"] = _json_number(random_score(len(features), item_seed(self.seed + 1, example.id)))
        record["seconds"] = round(time.perf_counter() - started, 3)
        return {**sample, "protocol": self.name, "cc_shap": record}

    def targets(self, ctx: ProtocolContext, example: Example, sample: Sample) -> list[Target]:
        """The answer and the explanation as the sample holds them, each with the prompt it follows as a function of
        the input text."""
        regime, task, options, tokenizer = ctx.regime, ctx.task, ctx.options, ctx.tokenizer
        outputs = sample["outputs"]
        with_input = lambda text: replace(example, input=text)  # noqa: E731
        if self._inner(regime) is EXPLAIN_THEN_SCORE:
            explanation = outputs.get("explanation") or ""

            def head(text: str) -> str:
                return chat_prompt(tokenizer, regime.prompt("explanation", task, with_input(text), options))

            return [
                Target("answer", lambda text: head(text) + regime.answer_context(explanation),
                       regime.label_continuation(outputs["answer"])),
                # The explanation as the model wrote it after the prefix, after a space as in training.
                Target("explanation", lambda text: head(text) + regime.explanation_prefix,
                       " " + explanation if explanation else ""),
            ]
        reasoning = outputs.get("reasoning")

        def prompt(kind: str) -> Callable[[str], str]:
            return lambda text: chat_prompt(tokenizer, regime.prompt(kind, task, with_input(text), options, reasoning))

        return [Target(kind, prompt(kind), outputs.get(kind) or "") for kind in OUTPUTS]


def cc_shap_record(ctx: ProtocolContext, features: Features, targets: Sequence[Target], max_coalitions: int,
                   seed: int) -> dict[str, Any]:
    """Shapley values of `features` for both targets (one shared sample of coalitions), their ratios and the
    score; a target without tokens (an empty output) or an input without features gives score None with a reason."""
    record: dict[str, Any] = {"n_features": len(features), "features": features.names,
                              "masking": "removed" if features.placeholder is None else features.placeholder,
                              "coalitions": 0, "forward_passes": 0, "score": None}
    empty = [t.kind for t in targets if not t.continuation.strip()]
    if empty or not len(features):
        record["reason"] = f"empty {' and '.join(empty)}" if empty else "the input has no features"
        return record
    scorers = [TargetScorer.build(ctx, features, target) for target in targets]
    passes = 0

    def value(coalitions: np.ndarray) -> np.ndarray:
        nonlocal passes
        texts = [features.masked(row) for row in coalitions]
        passes += len(texts) * len(scorers)
        return np.concatenate([scorer.logprobs(ctx, texts) for scorer in scorers], axis=1)

    shapley = shapley_values(value, len(features), max_coalitions, seed)
    split = np.cumsum([len(s.continuation_ids) for s in scorers])[:-1]
    answer, explanation = (ratios(block) for block in np.split(shapley.values, split, axis=1))
    record.update({
        "score": _json_number(cc_shap_score(answer, explanation)),
        "coalitions": shapley.coalitions, "forward_passes": passes, "exact": shapley.exact,
        "permutations": shapley.permutations,
        "answer_ratios": _rounded(answer), "explanation_ratios": _rounded(explanation),
        "output_tokens": {s.kind: len(s.continuation_ids) for s in scorers},
    })
    if record["score"] is None:
        record["reason"] = "no attribution: an output did not change under any coalition"
    return record


@dataclass
class TargetScorer:
    """One target tokenised for teacher forcing: its output's token ids (fixed, from the full input) and how many
    tokens of each masked prompt to drop because they merged into the output's first token on the full input."""

    kind: str
    context: Callable[[str], str]
    continuation_ids: list[int]
    tail_drop: int

    @classmethod
    def build(cls, ctx: ProtocolContext, features: Features, target: Target) -> "TargetScorer":
        from faithex.lm.scoring import shared_prefix_length

        context = target.context(features.text)
        context_ids = _tokens(ctx.tokenizer, context)
        full = _tokens(ctx.tokenizer, context + target.continuation)
        start = shared_prefix_length(context_ids, full)
        if start == 0:
            raise ValueError("the output's tokens begin at the prompt's first token: nothing to condition on")
        return cls(target.kind, target.context, full[start:], len(context_ids) - start)

    def logprobs(self, ctx: ProtocolContext, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), output tokens): the log-probability of each output token after each input text's prompt."""
        contexts = []
        for text in texts:
            ids = _tokens(ctx.tokenizer, self.context(text))
            contexts.append(ids[:len(ids) - self.tail_drop])
        ctx.activate(self.kind)
        return continuation_logprobs(ctx.model, ctx.tokenizer, contexts, self.continuation_ids, ctx.batch_size,
                                     ctx.precision)


def continuation_logprobs(model, tokenizer, contexts: Sequence[Sequence[int]], continuation: Sequence[int],
                          batch_size: int = 32, precision: str = "fp32") -> np.ndarray:
    """Per-token log-probabilities (len(contexts), len(continuation)) of the same `continuation` teacher-forced
    after each context, `batch_size` rows per forward pass (fewer for a long output: `MAX_SCORED_POSITIONS`). Rows
    are right-padded (causal attention: real tokens never see the padding, so no position ids are needed) and the
    language-model head runs only where an output token is predicted."""
    import torch

    from faithex.lm.generation import autocast

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0  # padding is masked anyway
    width = len(continuation)
    out = np.zeros((len(contexts), width))
    targets = torch.tensor(list(continuation), dtype=torch.long, device=device)
    batch_size = max(1, min(batch_size, MAX_SCORED_POSITIONS // max(width, 1)))
    for first in range(0, len(contexts), batch_size):
        rows = [list(c) + list(continuation[:-1]) for c in contexts[first:first + batch_size]]
        longest = max(len(r) for r in rows)
        ids = torch.tensor([r + [pad] * (longest - len(r)) for r in rows], dtype=torch.long, device=device)
        mask = torch.tensor([[1] * len(r) + [0] * (longest - len(r)) for r in rows], dtype=torch.long, device=device)
        predictors = torch.tensor([[len(c) - 1 + j for j in range(width)] for c in contexts[first:first + batch_size]],
                                  dtype=torch.long, device=device)
        with torch.inference_mode(), autocast(precision, device):
            logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=predictors, use_cache=False).logits
        picked = logits.float().log_softmax(dim=-1).gather(-1, targets.expand(len(rows), -1)[..., None])
        out[first:first + len(rows)] = picked.squeeze(-1).double().cpu().numpy()
    return out


def _tokens(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _json_number(value: float) -> float | None:
    """A score for JSON: NaN (not applicable) is None."""
    return None if value is None or math.isnan(value) else round(float(value), 6)


def _rounded(values: np.ndarray) -> list[float | None]:
    return [_json_number(v) for v in values]


CC_SHAP = register_protocol(CcShap())
