"""Word attribution methods: each turns a batch of prepared examples into one score per word.

- `input_x_gradient` (own, batched over examples): the gradient of the target with respect to the input embeddings
  times the embeddings, summed over the hidden dimension, then over each word's tokens. One forward and one backward
  pass per batch.
- `integrated_gradients` (captum `LayerIntegratedGradients` on the embedding layer, one example at a time): the
  baseline replaces the input's tokens (and only those; the template stays) by one token, the unknown token by
  default (`baseline="unk"`; `"pad"`, `"eos"` or any single-token text). Completeness: the word scores sum to
  f(input) - f(baseline), up to the integral's approximation (`n_steps`).
- `feature_ablation` (captum `LLMAttribution(FeatureAblation)` over a `TextTemplateInput` whose features are the
  words and whose template is the chat prompt around them): the score drop when a word is removed (baseline: the
  empty string). One forward pass per word, unbatched: the reference for `leave_one_out`.
- `leave_one_out` (own): the same score drop, with all variants of one example scored in one batched pass of
  `label_scores`.
- `random` (no model): a seeded random score per word, the same for the same example id and `seed`: the
  baseline an attribution must beat (ERASER's random rationale), and paper 3's control for "any named word".

Scores are in the units of the target: log-probability (nats). A positive score means the word supports the target
label (or the target over the contrast label).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from faithex.attribution.inputs import Prepared
from faithex.errors import ConfigError
from faithex.lm.generation import autocast
from faithex.lm.scoring import shared_prefix_length
from faithex.registry import Registry

# Rows of one leave-one-out forward pass at most (an example with more words takes several passes).
MAX_VARIANT_ROWS = 128


@dataclass
class MethodContext:
    """What every method needs besides the model and the examples."""

    label_texts: list[str]
    closing: str
    """The text scored after the label (the end-of-turn token by default)."""
    precision: str = "fp32"
    options: dict[str, Any] = field(default_factory=dict)


MethodFunction = Callable[[Any, Any, Sequence[Prepared], MethodContext], list[list[float]]]


@dataclass(frozen=True)
class AttributionMethod:
    name: str
    description: str
    function: MethodFunction
    options: dict[str, Any] = field(default_factory=dict)
    """Options the method accepts, with their defaults."""
    uses_gradients: bool = False

    def resolve_options(self, given: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            accepted = ", ".join(self.options) or "none"
            raise ConfigError(f"method '{self.name}' has no option {', '.join(unknown)} (options: {accepted})")
        return {**self.options, **given}


METHODS: Registry[AttributionMethod] = Registry("attribution method")


def register_method(name: str, description: str, options: dict[str, Any] | None = None,
                    uses_gradients: bool = False) -> Callable[[MethodFunction], MethodFunction]:
    def decorate(function: MethodFunction) -> MethodFunction:
        METHODS.add(name, AttributionMethod(name, description, function, options or {}, uses_gradients))
        return function

    return decorate


# -- shared by the gradient methods ---------------------------------------------------------------------------------
@dataclass
class LabelRow:
    """One (example, label) sequence: prompt + label + closing, tokenised together; the last token only a target."""

    owner: int
    """Index of the example in the batch."""
    sign: float
    """+1 for the target label, -1 for the contrast label."""
    ids: list[int]
    predictors: list[int]
    """Positions whose next-token distribution scores a label token."""
    targets: list[int]


def input_tokens(item: Prepared) -> list[tuple[int, int, float]]:
    """(token, word, weight) of the tokens of the example's input (see `Words.token_weights`)."""
    return item.words.token_weights(item.offsets, item.input_start)


def label_row(tokenizer, item: Prepared, owner: int, label: int, sign: float, context: MethodContext) -> LabelRow:
    """The sequence whose summed label log-probability equals `label_scores`' score of `label` after the prompt."""
    text = item.layout.text(item.example.input) + context.label_texts[label] + context.closing
    full = tokenizer(text, add_special_tokens=False)["input_ids"]
    start = shared_prefix_length(item.prompt_ids, full)
    last_input_token = max((t for t, _, _ in input_tokens(item)), default=-1)
    if start <= last_input_token:
        raise ConfigError(f"example {item.example.id}: the label's tokens merge with the input's (the prompt "
                          "template must put text between the input and the answer)")
    return LabelRow(owner, sign, full[:-1], list(range(start - 1, len(full) - 1)), full[start:])


def label_rows(tokenizer, items: Sequence[Prepared], context: MethodContext) -> list[LabelRow]:
    rows = []
    for owner, item in enumerate(items):
        rows.append(label_row(tokenizer, item, owner, item.target, 1.0, context))
        if item.contrast is not None:
            rows.append(label_row(tokenizer, item, owner, item.contrast, -1.0, context))
    return rows


@dataclass
class RowTensors:
    """A batch of label rows, right-padded: real tokens never attend to padding (causal), so positions stay 0..n-1
    and no position ids are needed."""

    ids: torch.Tensor
    mask: torch.Tensor
    predictors: torch.Tensor
    targets: torch.Tensor
    valid: torch.Tensor
    """1.0 where (predictor, target) is a real label token, 0.0 for padding."""
    signs: torch.Tensor

    def args(self) -> tuple[torch.Tensor, ...]:
        return self.mask, self.predictors, self.targets, self.valid, self.signs


def _pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def row_tensors(rows: Sequence[LabelRow], pad_id: int, device: torch.device) -> RowTensors:
    ids = _pad([r.ids for r in rows], pad_id)
    mask = _pad([[1] * len(r.ids) for r in rows], 0)
    valid = _pad([[1] * len(r.targets) for r in rows], 0).float()
    return RowTensors(ids.to(device), mask.to(device), _pad([r.predictors for r in rows], 0).to(device),
                      _pad([r.targets for r in rows], 0).to(device), valid.to(device),
                      torch.tensor([r.sign for r in rows], device=device))


def signed_scores(model, mask, predictors, targets, valid, signs, input_ids=None, inputs_embeds=None) -> torch.Tensor:
    """sign x summed log-probability of each row's label tokens, shape (rows,). The language-model head runs only
    at the predicting positions (`logits_to_keep`)."""
    logits = model(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=mask, logits_to_keep=predictors,
                   use_cache=False).logits
    logprobs = logits.float().log_softmax(dim=-1).gather(-1, targets[..., None]).squeeze(-1)
    return (logprobs * valid).sum(dim=-1) * signs


def word_scores(items: Sequence[Prepared], rows: Sequence[LabelRow], token_scores: torch.Tensor) -> list[list[float]]:
    """Sum each row's token scores (rows, positions) into its example's words, by the token -> word weights."""
    scores = [[0.0] * len(item.words) for item in items]
    values = token_scores.detach().double().cpu()
    for index, row in enumerate(rows):
        for token, word, weight in input_tokens(items[row.owner]):
            scores[row.owner][word] += float(values[index, token]) * weight
    return scores


def model_device(model) -> torch.device:
    return next(model.parameters()).device


def pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0  # padding is masked anyway


# -- the methods ----------------------------------------------------------------------------------------------------
@register_method("input_x_gradient", "gradient x input embedding, summed over each word's tokens (own, batched)",
                 uses_gradients=True)
def input_x_gradient(model, tokenizer, items: Sequence[Prepared], context: MethodContext) -> list[list[float]]:
    rows = label_rows(tokenizer, items, context)
    device = model_device(model)
    batch = row_tensors(rows, pad_id(tokenizer), device)
    with torch.enable_grad(), autocast(context.precision, device):
        embeds = model.get_input_embeddings()(batch.ids).detach().requires_grad_(True)
        total = signed_scores(model, *batch.args(), inputs_embeds=embeds).sum()
        # Gradients for the embeddings only: no weight gradients are computed or stored.
        (gradient,) = torch.autograd.grad(total, embeds)
    return word_scores(items, rows, (gradient.float() * embeds.float()).sum(dim=-1))


def baseline_token(tokenizer, baseline: str) -> int:
    """The token id that replaces the input's tokens in the integrated-gradients baseline."""
    special = {"unk": tokenizer.unk_token_id, "pad": tokenizer.pad_token_id, "eos": tokenizer.eos_token_id}
    if baseline in special:
        token = special[baseline]
        if token is None and baseline == "unk":  # tokenizers without an unknown token (byte-level BPE)
            token = tokenizer.pad_token_id
        if token is None:
            raise ConfigError(f"baseline '{baseline}': this tokenizer has no such token")
        return token
    ids = tokenizer(baseline, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ConfigError(f"baseline {baseline!r} must be 'unk', 'pad', 'eos' or a text of exactly one token "
                          f"(it is {len(ids)} tokens)")
    return ids[0]


def baseline_ids(items: Sequence[Prepared], rows: Sequence[LabelRow], ids: torch.Tensor, token: int) -> torch.Tensor:
    """`ids` with every token of each row's input replaced by `token` (the template and the label stay)."""
    baseline = ids.clone()
    for index, row in enumerate(rows):
        positions = sorted({t for t, _, _ in input_tokens(items[row.owner])})
        baseline[index, positions] = token
    return baseline


@register_method("integrated_gradients",
                 "captum LayerIntegratedGradients on the embedding layer; baseline: the input's tokens replaced",
                 options={"n_steps": 32, "baseline": "unk", "internal_batch_size": 16}, uses_gradients=True)
def integrated_gradients(model, tokenizer, items: Sequence[Prepared], context: MethodContext) -> list[list[float]]:
    # One example at a time: its n_steps interpolations already fill a batch, and mixing examples of different
    # lengths only adds padding (measured a third slower per example on tweets).
    return [_integrated_gradients(model, tokenizer, item, context) for item in items]


def _integrated_gradients(model, tokenizer, item: Prepared, context: MethodContext) -> list[float]:
    from captum.attr import LayerIntegratedGradients

    rows = label_rows(tokenizer, [item], context)
    device = model_device(model)
    batch = row_tensors(rows, pad_id(tokenizer), device)
    baselines = baseline_ids([item], rows, batch.ids, baseline_token(tokenizer, context.options["baseline"]))

    def forward(ids, mask, predictors, targets, valid, signs):
        return signed_scores(model, mask, predictors, targets, valid, signs, input_ids=ids)

    method = LayerIntegratedGradients(forward, model.get_input_embeddings())
    # captum evaluates rows x n_steps sequences; internal_batch_size bounds how many go through the model at once.
    chunk = max(int(context.options["internal_batch_size"]), len(rows))
    with autocast(context.precision, device):
        attributions = method.attribute(batch.ids, baselines=baselines, additional_forward_args=batch.args(),
                                        n_steps=int(context.options["n_steps"]), internal_batch_size=chunk)
    return word_scores([item], rows, attributions.float().sum(dim=-1))[0]


class _NoSpecialTokens:
    """The tokenizer, except that `encode` adds no special tokens: captum encodes the rendered prompt with
    `encode`, and the chat template has written the special tokens already (a second BOS would change the scores)."""

    def __init__(self, tokenizer) -> None:
        self._tokenizer = tokenizer

    def encode(self, text, **kwargs):
        kwargs["add_special_tokens"] = False
        return self._tokenizer.encode(text, **kwargs)

    def __call__(self, *args, **kwargs):
        return self._tokenizer(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._tokenizer, name)


def _prompt_template(item: Prepared) -> Callable[..., str]:
    """captum's template: the rendered prompt around the words' pieces (a removed word's piece is "")."""
    return lambda *pieces: item.layout.text(item.words.compose(pieces))


@register_method("feature_ablation", "captum LLMAttribution(FeatureAblation) over the words: score drop when a word "
                 "is removed (one pass per word)")
def feature_ablation(model, tokenizer, items: Sequence[Prepared], context: MethodContext) -> list[list[float]]:
    from captum.attr import FeatureAblation, LLMAttribution, TextTemplateInput

    attribution = LLMAttribution(FeatureAblation(model), _NoSpecialTokens(tokenizer))
    device = model_device(model)
    results = []
    for item in items:
        if not len(item.words):
            results.append([])
            continue
        features = TextTemplateInput(_prompt_template(item), list(item.words.pieces))
        total = torch.zeros(len(item.words), dtype=torch.float64)
        labels = [(item.target, 1.0)] + ([(item.contrast, -1.0)] if item.contrast is not None else [])
        for label, sign in labels:
            targets = torch.tensor(label_row(tokenizer, item, 0, label, sign, context).targets)
            with torch.no_grad(), autocast(context.precision, device):
                result = attribution.attribute(features, target=targets, forward_in_tokens=False)
            total += sign * result.seq_attr.double().cpu()
        results.append(total.tolist())
    return results


@register_method("leave_one_out", "score drop when each word is removed; all variants of an example in one batch")
def leave_one_out(model, tokenizer, items: Sequence[Prepared], context: MethodContext) -> list[list[float]]:
    from faithex.lm.scoring import label_scores

    results = []
    for item in items:
        texts = [item.example.input] + [item.words.without(i) for i in range(len(item.words))]
        prompts = [tokenizer(item.layout.text(t), add_special_tokens=False)["input_ids"] for t in texts]
        scores = label_scores(model, tokenizer, prompts, context.label_texts, precision=context.precision,
                              batch_size=min(len(prompts), MAX_VARIANT_ROWS), closing=context.closing).summed
        target = scores[:, item.target].double()
        if item.contrast is not None:
            target = target - scores[:, item.contrast].double()
        results.append((target[0] - target[1:]).tolist())
    return results


@register_method("random", "a seeded random score per word, the same for the same example id (no model): the "
                           "baseline", options={"seed": 0})
def random_scores(model, tokenizer, items: Sequence[Prepared], context: MethodContext) -> list[list[float]]:
    results = []
    for item in items:
        key = f"{context.options['seed']}:{item.example.id}".encode()
        generator = random.Random(hashlib.sha256(key).digest())  # not hash(): that is salted per process
        results.append([generator.random() for _ in range(len(item.words))])
    return results
