"""The logit lens at the decision position, with the entropy of each layer's MLP activations.

For every prompt (token ids of a rendered chat prompt ending with the assistant header), one forward pass returns
the residual stream after every decoder layer (`output_hidden_states`, embeddings dropped). At the last prompt
position, the position that predicts the label's first token, each layer's state is read through the model's own
final norm and language-model head: `lm_head(final_norm(h_l))` for l < L, and `lm_head(h_L)` for the last layer,
whose state transformers 5.x already returns normalised (so the last layer's lens is the model's own logits). A
forward pre-hook on every MLP's `down_proj` records its input at the same position: the MLP's intermediate
activations, whose normalised magnitudes give the activation entropy.

Prompts are sorted by length and left-padded, with position ids counted from each row's first real token, so the
last column is every row's decision position and padding changes nothing (a test checks batched == one by one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from faithex.analysis.result import LayerAnalysis, mean_rows
from faithex.errors import ConfigError
from faithex.lm.generation import _batches, _left_pad, autocast
from faithex.lm.scoring import shared_prefix_length

#: Attribute names of the final norm on the decoder (Llama/Mistral/Qwen: norm; Phi: final_layernorm; GPT-2: ln_f).
FINAL_NORMS = ("norm", "final_layernorm", "ln_f")


@dataclass
class LensParts:
    """The modules the lens reads through, found on the (unwrapped) model."""

    norm: torch.nn.Module
    head: torch.nn.Module
    mlp_projections: list[torch.nn.Module]
    """Each decoder layer's MLP output projection, in layer order: its input is the MLP's intermediate activation."""


def lens_parts(model, activation_module: str = "down_proj") -> LensParts:
    """Final norm, lm_head and MLP output projections of `model` (a PeftModel is unwrapped); a clear ConfigError for
    an architecture without them."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    kind = type(base).__name__
    head = base.get_output_embeddings()
    if head is None:
        raise ConfigError(f"{kind} has no language-model head (get_output_embeddings() is None): not a causal LM")
    decoder = base.get_decoder() if hasattr(base, "get_decoder") else getattr(base, "model", None)
    norm = next((getattr(decoder, name) for name in FINAL_NORMS
                 if isinstance(getattr(decoder, name, None), torch.nn.Module)), None)
    if norm is None:
        raise ConfigError(f"{kind}: no final norm found on its decoder (looked for {', '.join(FINAL_NORMS)})")
    # Outer modules only: with LoRA on down_proj, ".down_proj.base_layer" is inside and would count twice.
    projections = [m for name, m in base.named_modules() if name.endswith("." + activation_module)]
    layers = base.config.get_text_config().num_hidden_layers
    if len(projections) != layers:
        raise ConfigError(
            f"activation entropy reads the input of each layer's MLP output projection '{activation_module}' (as in "
            f"Llama, Mistral and Qwen); {kind} has {len(projections)} such modules for {layers} layers: pass "
            "activation_module= naming its MLP output projection")
    return LensParts(norm, head, projections)


def first_label_tokens(tokenizer, prompt: Sequence[int], label_texts: Sequence[str]) -> list[int]:
    """The token each label starts with after `prompt`: prompt and label are tokenised together (tokens can merge
    across the boundary); where a label merged with the prompt's last token, the label's own first token."""
    text = tokenizer.decode(prompt, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    sequences = tokenizer([text + label for label in label_texts], add_special_tokens=False)["input_ids"]
    tokens = []
    for label, sequence in zip(label_texts, sequences):
        if len(sequence) > len(prompt) and shared_prefix_length(prompt, sequence) == len(prompt):
            tokens.append(sequence[len(prompt)])
            continue
        alone = tokenizer(label, add_special_tokens=False)["input_ids"]
        if not alone:
            raise ConfigError(f"label {label!r} has no tokens")
        tokens.append(alone[0])
    return tokens


def activation_entropy(activations: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of the normalised magnitudes along the last axis: p = |a| / sum|a|, H = -sum p log p.
    Uniform magnitudes over n units give log(n), one active unit gives 0; all-zero activations give 0."""
    magnitudes = activations.float().abs()
    total = magnitudes.sum(-1, keepdim=True)
    p = magnitudes / total.clamp_min(torch.finfo(torch.float32).tiny)
    return torch.special.entr(p).sum(-1)


def lens_logits(parts: LensParts, hidden: torch.Tensor) -> torch.Tensor:
    """(L, batch, vocab) logits of the (L, batch, hidden) states at the decision position: final norm on all but the
    last layer, whose state the model already normalised."""
    hidden = hidden.to(parts.head.weight.dtype)
    normed = torch.cat([parts.norm(hidden[:-1]), hidden[-1:]])
    return parts.head(normed).float()


def layer_values(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """Entropy (L, batch), and rank and probability (L, batch, k) of target tokens `targets` (batch, k)."""
    logprobs = logits.log_softmax(-1)
    index = targets.expand(logits.shape[0], -1, -1)
    picked = logits.gather(-1, index)
    # Rank 1 + the number of tokens scored strictly higher: a token tied with the best is rank 1.
    ranks = torch.stack([(logits > picked[..., j:j + 1]).sum(-1) + 1 for j in range(targets.shape[-1])], dim=-1)
    return {"entropy": torch.special.entr(logprobs.exp()).sum(-1), "rank": ranks,
            "prob": logprobs.gather(-1, index).exp()}


@torch.inference_mode()
def _batch_values(model, parts: LensParts, prompts, targets, pad_id: int, precision: str) -> dict[str, torch.Tensor]:
    device = next(model.parameters()).device
    ids, mask = _left_pad(prompts, pad_id)
    # Positions from each row's first real token, as generate() counts them: padding shifts nothing.
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    captured: list[torch.Tensor | None] = [None] * len(parts.mlp_projections)

    def recorder(index: int):
        def hook(module, args):
            captured[index] = args[0][:, -1].float()
        return hook

    handles = [m.register_forward_pre_hook(recorder(i)) for i, m in enumerate(parts.mlp_projections)]
    try:
        with autocast(precision, device):
            out = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                        output_hidden_states=True, logits_to_keep=1, use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    hidden = torch.stack([h[:, -1] for h in out.hidden_states[1:]])
    values = layer_values(lens_logits(parts, hidden), targets.to(device))
    values["activation_entropy"] = activation_entropy(torch.stack(captured))
    return {name: value.cpu() for name, value in values.items()}


def analyze(
    model,
    tokenizer,
    prompts: Sequence[Sequence[int]],
    label_texts: Sequence[str],
    *,
    batch_size: int = 16,
    precision: str = "fp32",
    ids: Sequence[str] | None = None,
    gold: Sequence[int | None] | None = None,
    description: str = "model",
    task: str = "",
    meta: dict | None = None,
    activation_module: str = "down_proj",
    keep_examples: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> LayerAnalysis:
    """Logit lens and activation entropy at the decision position of each prompt, averaged over the prompts.

    `prompts`: token ids of rendered chat prompts ending with the assistant header (`faithex.lm.generation.render`).
    `label_texts`: the k label answers; each is followed through the layers by its first token. `gold`: optional
    label index per prompt (for the first-token accuracy). Works on a PeftModel (its active adapter applies).
    `on_batch(n)` is called after each batch of n prompts."""
    if not prompts or not label_texts:
        raise ConfigError("analyze needs at least one prompt and one label")
    started = time.perf_counter()
    parts = lens_parts(model, activation_module)
    targets = torch.tensor([first_label_tokens(tokenizer, p, label_texts) for p in prompts])
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0  # padding is masked anyway
    results: dict[int, dict[str, torch.Tensor]] = {}
    for batch in _batches(sorted(range(len(prompts)), key=lambda i: -len(prompts[i])), batch_size):
        values = _batch_values(model, parts, [prompts[i] for i in batch], targets[batch], pad_id, precision)
        for column, i in enumerate(batch):
            results[i] = {name: value[:, column] for name, value in values.items()}
        if on_batch:
            on_batch(len(batch))
    rows = [results[i] for i in range(len(prompts))]
    per_example = _per_example(rows, list(label_texts), ids, gold)
    analysis = LayerAnalysis(
        description=description, task=task, n=len(prompts), labels=list(label_texts),
        layers=list(range(1, rows[0]["entropy"].shape[0] + 1)),
        entropy=mean_rows(per_example["entropy"]),
        activation_entropy=mean_rows(per_example["activation_entropy"]),
        label_rank={k: mean_rows(per_example["label_rank"][k]) for k in label_texts},
        label_prob={k: mean_rows(per_example["label_prob"][k]) for k in label_texts},
        label_tokens=_label_token_names(tokenizer, targets, label_texts),
        final_preference={k: per_example["preferred"].count(k) for k in label_texts},
        meta={**(meta or {}), "precision": precision, "batch_size": batch_size,
              "activation_module": activation_module, "seconds": round(time.perf_counter() - started, 2)},
        per_example=per_example,
    )
    if not keep_examples:
        analysis.per_example = None
    return analysis


def _per_example(rows: list[dict[str, torch.Tensor]], labels: list[str], ids, gold) -> dict:
    """Per-example values as plain lists ([n][L] per quantity), the last layer's preferred label and the gold one."""
    def listed(name: str, j: int | None = None) -> list[list[float]]:
        return [_significant((row[name] if j is None else row[name][:, j]).tolist()) for row in rows]

    preferred = [labels[int(row["prob"][-1].argmax())] for row in rows]
    return {
        "ids": list(ids) if ids is not None else [str(i) for i in range(len(rows))],
        "entropy": listed("entropy"), "activation_entropy": listed("activation_entropy"),
        "label_rank": {k: listed("rank", j) for j, k in enumerate(labels)},
        "label_prob": {k: listed("prob", j) for j, k in enumerate(labels)},
        "preferred": preferred,
        "gold": [labels[g] if g is not None else None for g in gold] if gold is not None else [None] * len(rows),
    }


def _significant(values: list) -> list:
    """Floats to 7 significant digits (float32 holds no more; the JSON file shrinks by half); ranks stay ints."""
    return [float(f"{v:.7g}") if isinstance(v, float) else v for v in values]


def _label_token_names(tokenizer, targets: torch.Tensor, labels: Sequence[str]) -> dict[str, str]:
    """Each label's first token as text (the most frequent one where prompts tokenise it differently)."""
    names = {}
    for j, label in enumerate(labels):
        token = int(targets[:, j].mode().values)
        names[label] = tokenizer.convert_ids_to_tokens(token)
    return names
