"""Tree packing: the training texts of one example that share a prefix are computed as one row, the prefix once.

Paper 1's `joint_reasoning` trains three texts per example that begin alike: the reasoning text
`[system][user: INPUT][assistant: R]` is, token for token, the beginning of the answer and explanation texts
(`... [user: ANSWER][assistant: D]`, `... [user: EXPLAIN][assistant: E]`); `joint` trains two texts that share
`[system][user: INPUT]`. Unpacked, that prefix runs through the model once per text. Packed, each group of texts
becomes one row:

    [ shared prefix | branch 1 | branch 2 | ... ]

The prefix is the texts' longest common token prefix (so a text that is entirely a prefix of the others, like the
reasoning text, has an empty branch); branch i is the rest of text i. A 4-D additive attention mask (0 where a token
may look, `finfo(dtype).min` elsewhere: transformers adds a float 4-D mask to the scores unchanged, so a bool or 0/1
mask would be misread) lets every token see the prefix causally and, among the branches, only the earlier tokens of
its own; position ids restart after the prefix in every branch. Mask and position ids always travel together: position
ids alone make transformers guess packed-sequence boundaries from them, and a branch stops seeing its prefix.

Every token is thus computed exactly as in its own text, and the loss keeps the separate texts' terms: each term is
(the column whose hidden state predicts it, the target token, how many texts carry it). The label shift cannot be
"the row shifted by one": a branch's first token is predicted by the prefix's last column, not by the previous
branch's last token, and that column predicts the first token of every branch. Terms that several texts share (with
`loss_on: all`, the prefix tokens, labelled once per text) are kept once with that count as their weight, so the
weighted mean over a packed batch equals the mean over all labelled tokens of the same texts unpacked.

Grouping: texts are grouped by their prompt's messages up to and including the first user turn (the system
instruction and the example's input in every faithex regime), not by adjacency or token overlap: two examples' texts
share the template's header tokens, and adjacency is a convention of `Regime.records` that a regime may not keep. A
group is capped at `MAX_TEXTS_PER_ROW` texts, in record order, so that a regime whose first user turn is shared by
every example (fixed demonstrations given as separate turns) cannot fold a whole data set into one row; any grouping
gives the same loss, only the saving depends on it. Examples with the same input share a row (48 decision-tree
examples on a 1,331-point grid made 47 rows).

Tokenisation follows TRL 1.16's `SFTTrainer` for conversational prompt/completion records (prompt rendered with the
generation prompt, prompt + completion rendered whole, the completion starting where the two diverge); a test checks
it against TRL's own preparation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from faithex.lm.scoring import block_attention_mask, shared_prefix_length

IGNORE_INDEX = -100
MAX_TEXTS_PER_ROW = 8
"""The most texts one packed row holds (a row's attention mask grows with the square of its width)."""
LOSS_KEYS = ("loss_columns", "loss_targets", "loss_weights")
"""Keys of a collated packed batch that carry its loss terms (their presence marks a packed batch)."""
MODEL_KEYS = ("input_ids", "attention_mask", "position_ids")


@dataclass
class TokenizedText:
    """One training text: its token ids, and its labels (the token id where it carries loss, -100 elsewhere)."""

    input_ids: list[int]
    labels: list[int]


@dataclass
class PackedRow:
    """One group of texts laid out as prefix + branches, with the loss terms of all of them.

    `segments`: 0 for the prefix, i + 1 for the branch of the group's text i. `loss_columns[t]` is the column whose
    hidden state predicts `loss_targets[t]`; `loss_weights[t]` counts the texts that carry that term."""

    input_ids: list[int]
    position_ids: list[int]
    segments: list[int]
    loss_columns: list[int]
    loss_targets: list[int]
    loss_weights: list[int]
    text_tokens: int
    """Tokens of the group's texts unpacked (what an unpacked run would compute)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- tokenisation and grouping ------------------------------------------------------------------------------------


def tokenize_record(tokenizer, record: dict[str, Any], completion_only: bool) -> TokenizedText:
    """A conversational prompt/completion record as TRL 1.16's `SFTTrainer` tokenises it (labels included)."""
    prompt_ids = _chat_ids(tokenizer, record["prompt"], add_generation_prompt=True)
    ids = _chat_ids(tokenizer, record["prompt"] + record["completion"])
    # Some templates render a prompt alone differently from the same prompt followed by an answer: TRL starts the
    # completion where the two renderings diverge, and so must we.
    completion_start = shared_prefix_length(prompt_ids, ids) if completion_only else 0
    return TokenizedText(ids, [IGNORE_INDEX] * completion_start + ids[completion_start:])


def _chat_ids(tokenizer, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> list[int]:
    rendered = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, add_generation_prompt=add_generation_prompt
    )
    return list(rendered["input_ids"])


def shared_context_key(record: dict[str, Any]) -> str:
    """What the texts of one example have in common: the prompt up to and including its first user turn."""
    prompt = record["prompt"]
    first_user = next((i for i, message in enumerate(prompt) if message["role"] == "user"), len(prompt) - 1)
    return json.dumps(prompt[: first_user + 1], sort_keys=True)


def group_records(records: Sequence[dict[str, Any]], max_texts: int = MAX_TEXTS_PER_ROW) -> list[list[int]]:
    """Indices of `records` grouped by `shared_context_key`, groups in order of first appearance, each group in record
    order and cut into runs of at most `max_texts`."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        groups[shared_context_key(record)].append(index)
    return [members[i : i + max_texts] for members in groups.values() for i in range(0, len(members), max_texts)]


# -- layout -------------------------------------------------------------------------------------------------------


def pack_texts(texts: Sequence[TokenizedText]) -> PackedRow:
    """Lay out texts as [their longest common prefix][rest of text 1][rest of text 2]..., with their loss terms."""
    prefix = _prefix_length(texts)
    tokens = sum(len(t.input_ids) for t in texts)
    row = PackedRow(texts[0].input_ids[:prefix], list(range(prefix)), [0] * prefix, [], [], [], tokens)
    weights: dict[tuple[int, int], int] = defaultdict(int)  # (predicting column, target) -> texts that carry it
    for number, text in enumerate(texts, start=1):
        branch_start = len(row.input_ids)
        branch = text.input_ids[prefix:]
        row.input_ids += branch
        row.position_ids += range(prefix, prefix + len(branch))
        row.segments += [number] * len(branch)
        for index in range(1, len(text.input_ids)):
            if text.labels[index] != IGNORE_INDEX:
                weights[_column(index - 1, prefix, branch_start), text.labels[index]] += 1
    for (column, target), weight in sorted(weights.items()):
        row.loss_columns.append(column)
        row.loss_targets.append(target)
        row.loss_weights.append(weight)
    return row


def _prefix_length(texts: Sequence[TokenizedText]) -> int:
    first = texts[0].input_ids
    return min((shared_prefix_length(first, t.input_ids) for t in texts[1:]), default=len(first))


def _column(index: int, prefix: int, branch_start: int) -> int:
    """Where a text's token `index` sits in the packed row: in the shared prefix, or in the text's own branch."""
    return index if index < prefix else branch_start + index - prefix


def packed_rows(tokenizer, records: Sequence[dict[str, Any]], completion_only: bool) -> list[PackedRow]:
    """Prompt/completion records -> one packed row per group of records that share their context."""
    texts = [tokenize_record(tokenizer, record, completion_only) for record in records]
    return [pack_texts([texts[i] for i in group]) for group in group_records(records)]


def packed_dataset(tokenizer, records: Sequence[dict[str, Any]], completion_only: bool):
    """A `datasets.Dataset` of packed rows, the columns `SharedPrefixCollator` reads (for `skip_prepare_dataset`)."""
    from datasets import Dataset

    return Dataset.from_list([row.as_dict() for row in packed_rows(tokenizer, records, completion_only)])


# -- batches and loss ---------------------------------------------------------------------------------------------


def _pad(rows: Sequence[Sequence[int]], value: int, dtype: torch.dtype = torch.long) -> torch.Tensor:
    width = max(len(row) for row in rows)
    return torch.tensor([list(row) + [value] * (width - len(row)) for row in rows], dtype=dtype)


@dataclass
class SharedPrefixCollator:
    """`data_collator` for `SFTTrainer` on a `packed_dataset`: right-padded rows, their position ids, the 4-D
    additive attention mask in `mask_dtype` (the dtype attention computes in: bf16 under bf16 autocast, where
    float32's `finfo.min` would round to -inf), and the loss terms (padding terms weigh 0)."""

    pad_token_id: int
    mask_dtype: torch.dtype = torch.float32

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        segments = _pad([row["segments"] for row in rows], -1)  # -1: padding, seen by no other token
        return {
            "input_ids": _pad([row["input_ids"] for row in rows], self.pad_token_id),
            "position_ids": _pad([row["position_ids"] for row in rows], 0),
            "attention_mask": block_attention_mask(segments, self.mask_dtype),
            "loss_columns": _pad([row["loss_columns"] for row in rows], 0),
            "loss_targets": _pad([row["loss_targets"] for row in rows], 0),
            "loss_weights": _pad([row["loss_weights"] for row in rows], 0, torch.float32),
        }


def is_packed_batch(inputs: dict[str, Any]) -> bool:
    return all(key in inputs for key in LOSS_KEYS)


def shared_prefix_loss(output_head, hidden: torch.Tensor, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Weighted mean cross-entropy of a packed batch's loss terms, the LM head applied at their columns only.

    Equals the mean over all labelled tokens of the same texts unpacked: a term carried by k texts weighs k."""
    columns, weights = inputs["loss_columns"], inputs["loss_weights"]
    keep = weights > 0
    rows = torch.arange(columns.shape[0], device=columns.device)[:, None].expand_as(columns)
    logits = output_head(hidden[rows[keep], columns[keep]])
    per_term = F.cross_entropy(logits.float(), inputs["loss_targets"][keep], reduction="none")
    kept_weights = weights[keep].to(per_term.dtype)
    # Clamped: a batch without labelled tokens gives a zero loss (no gradient), not 0 / 0.
    return (per_term * kept_weights).sum() / kept_weights.sum().clamp(min=1)


def text_tokens(dataset) -> int:
    """Tokens of the training texts as written (unpacked), whether `dataset` is packed or not."""
    if "text_tokens" in dataset.column_names:
        return int(sum(dataset["text_tokens"]))
    return sum(len(ids) for ids in dataset["input_ids"])
