"""Batched greedy generation on Hugging Face models.

Requests are sorted by length before batching (little padding), padded on the left, and decoded greedily until the
chat template's end-of-turn token. Requests that share a prefix (the answer and explanation requests of one example
differ only in their last user turn) are prefilled once: the prefix's key/value cache is computed in one forward
pass and copied into each branch, so the input and reasoning are not run through the model twice.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Sequence

import torch

Messages = list[dict[str, str]]


def render(tokenizer, conversation: Messages) -> list[int]:
    """Token ids of a conversation followed by the assistant's turn header (what the model continues)."""
    text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def stop_token_ids(tokenizer) -> list[int]:
    ids = {tokenizer.eos_token_id}
    for token in ("<|im_end|>", "<|eot_id|>", "<|end|>", "</s>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.add(token_id)
    return sorted(i for i in ids if i is not None)


def autocast(precision: str, device: torch.device):
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row) :] = 1
    return ids, mask


def _decode(tokenizer, sequences: torch.Tensor, prompt_width: int) -> list[str]:
    return [t.strip() for t in tokenizer.batch_decode(sequences[:, prompt_width:], skip_special_tokens=True)]


def _greedy(model, tokenizer, ids, mask, max_new_tokens: int, past_key_values=None) -> torch.Tensor:
    return model.generate(
        input_ids=ids,
        attention_mask=mask,
        past_key_values=past_key_values,
        do_sample=False,
        max_new_tokens=max_new_tokens,
        eos_token_id=stop_token_ids(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        temperature=None,
        top_p=None,
        top_k=None,
    )


def _batches(order: list[int], batch_size: int) -> list[list[int]]:
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@torch.inference_mode()
def generate(
    model,
    tokenizer,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    batch_size: int = 32,
    precision: str = "fp32",
    on_batch: Callable[[int], None] | None = None,
) -> list[str]:
    """Greedy continuations of tokenised prompts, in the prompts' order."""
    device = next(model.parameters()).device
    outputs: list[str] = [""] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    for batch in _batches(order, batch_size):
        ids, mask = _left_pad([prompts[i] for i in batch], tokenizer.pad_token_id)
        with autocast(precision, device):
            sequences = _greedy(model, tokenizer, ids.to(device), mask.to(device), max_new_tokens)
        for i, text in zip(batch, _decode(tokenizer, sequences, ids.shape[1])):
            outputs[i] = text
        if on_batch:
            on_batch(len(batch))
    return outputs


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix all rows share, leaving at least one token of each row after it."""
    shortest = min(len(r) for r in rows)
    length = 0
    while length < shortest - 1 and all(r[length] == rows[0][length] for r in rows):
        length += 1
    return length


@torch.inference_mode()
def generate_branches(
    model,
    tokenizer,
    branches: dict[str, Sequence[Sequence[int]]],
    max_new_tokens: dict[str, int],
    batch_size: int = 32,
    precision: str = "fp32",
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, list[str]]:
    """Greedy continuations of several prompts per example that share a prefix, prefilling the prefix once.

    `branches[name][i]` is example i's prompt for branch `name`. Where the branch suffixes differ across the rows of
    a batch (they do not for faithex's ANSWER/EXPLAIN turns), that batch falls back to plain generation.
    """
    names = list(branches)
    count = len(branches[names[0]])
    device = next(model.parameters()).device
    outputs = {name: [""] * count for name in names}
    order = sorted(range(count), key=lambda i: -len(branches[names[0]][i]))
    for batch in _batches(order, batch_size):
        split = [common_prefix_length([branches[n][i] for n in names]) for i in batch]
        suffixes = {n: {tuple(branches[n][i][s:]) for i, s in zip(batch, split)} for n in names}
        with autocast(precision, device):
            if len(names) > 1 and all(len(s) == 1 for s in suffixes.values()):
                prefixes = [branches[names[0]][i][:s] for i, s in zip(batch, split)]
                texts = _generate_from_prefix(model, tokenizer, prefixes, suffixes, max_new_tokens, device)
            else:
                texts = {}
                for n in names:
                    ids, mask = _left_pad([branches[n][i] for i in batch], tokenizer.pad_token_id)
                    seq = _greedy(model, tokenizer, ids.to(device), mask.to(device), max_new_tokens[n])
                    texts[n] = _decode(tokenizer, seq, ids.shape[1])
        for n in names:
            for i, text in zip(batch, texts[n]):
                outputs[n][i] = text
        if on_batch:
            on_batch(len(batch))
    return outputs


def _generate_from_prefix(model, tokenizer, prefixes, suffixes, max_new_tokens, device) -> dict[str, list[str]]:
    ids, mask = _left_pad(prefixes, tokenizer.pad_token_id)
    ids, mask = ids.to(device), mask.to(device)
    # Positions as generate() derives them from a left-padded mask, so the cached keys match a full prefill.
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True).past_key_values
    texts = {}
    for name, (suffix,) in suffixes.items():
        tail = torch.tensor(suffix, dtype=torch.long, device=device).expand(len(prefixes), -1)
        full_ids = torch.cat([ids, tail], dim=1)
        full_mask = torch.cat([mask, torch.ones_like(tail)], dim=1)
        seq = _greedy(model, tokenizer, full_ids, full_mask, max_new_tokens[name], copy.deepcopy(cache))
        texts[name] = _decode(tokenizer, seq, full_ids.shape[1])
    return texts
