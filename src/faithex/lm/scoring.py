"""Label scoring: the log-probability of each candidate label as the assistant's whole answer.

A label's score is the summed log-probability of its tokens *and* the chat template's end-of-turn token, given the
prompt: "pos" is not a prefix-match for "positive", because after "pos" the model must also end its turn. The label's
tokens are found by tokenising the prompt's text and the label (plus the template's closing text) together, since
tokens can merge across the boundary, and keeping whatever follows the longest common prefix with the prompt tokens.

Layout (one forward pass per batch, no key/value cache copies). Each example becomes one row:

    [ shared context | label 1 block | label 2 block | ... | label k block ]

The context is the prompt up to where the first label's tokens begin; each block is the rest of one label's token
sequence less its last token (the end of turn is only a target, never fed), so usually just the label's own tokens.
A 4-D additive attention mask lets every token see the context causally and, among the blocks, only the earlier
tokens of its own block; position ids restart after the context in every block, so each block is computed exactly
as if it followed the prompt alone. The prompt therefore runs through the model once for all k labels, and only the
few label tokens are added per label. This beats expanding a prefix cache k times: no cache copies (k x the prompt's
keys and values), one model call instead of two, and the logits of the context's last position, which predict every
label's first token, are computed once. (Labels that share leading tokens, "The tweet is negative." / "The tweet is
positive.", still feed them once per label; a token tree would save those few tokens at the cost of a tree mask.)

Rows are sorted by length and left-padded, so a batch holds rows of similar length. The language-model head (a
49k-word vocabulary on the default model: a fifth of its compute per position) is applied only at the positions that
predict a scored token, via `logits_to_keep` with per-row positions (transformers 5.x); this goes through the model's
own forward, so PEFT adapters, final norms and logit scaling all apply as in generation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from faithex.lm.generation import _batches, _left_pad, autocast

# Stands for the assistant's answer when the chat template is rendered to find what closes an assistant turn.
_ANSWER_MARKER = "FAITHEX_ANSWER_MARKER"


@dataclass
class LabelScores:
    """Scores of k labels for n examples.

    `summed[i, j]`: log-probability of label j's tokens (its closing included: by default the end of turn) after
    prompt i. `token_counts[i, j]`: how many tokens that is (it can differ between examples where a label merges
    with the prompt's last token). `label_tokens[i][j]`: those token ids."""

    labels: list[str]
    summed: torch.Tensor
    token_counts: torch.Tensor
    label_tokens: list[list[list[int]]]

    @property
    def mean(self) -> torch.Tensor:
        """Length-normalised scores: mean log-probability per label token."""
        return self.summed / self.token_counts

    @property
    def predicted(self) -> torch.Tensor:
        """Index of the best label per example (by summed log-probability, i.e. the most probable answer)."""
        return self.summed.argmax(dim=1)

    @property
    def predicted_labels(self) -> list[str]:
        return [self.labels[j] for j in self.predicted.tolist()]


def end_of_turn(tokenizer) -> tuple[str, int]:
    """What the chat template writes after an assistant answer, up to and including its end-of-turn token, and that
    token's id. Found by rendering a conversation, so any template works (`<|im_end|>`, `<|eot_id|>`, ...); a
    template that closes a turn with no special token falls back to the end-of-sequence token, where generation
    stops too."""
    conversation = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": _ANSWER_MARKER}]
    text = tokenizer.apply_chat_template(conversation, tokenize=False)
    closing = text[text.rindex(_ANSWER_MARKER) + len(_ANSWER_MARKER):]
    ids = tokenizer(closing, add_special_tokens=False)["input_ids"]
    special = set(tokenizer.all_special_ids) | {i for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    for count, token in enumerate(ids, start=1):
        if token in special:
            return tokenizer.decode(ids[:count], skip_special_tokens=False, clean_up_tokenization_spaces=False), token
    return tokenizer.eos_token, tokenizer.eos_token_id


def shared_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` have in common."""
    length = 0
    for x, y in zip(a, b):
        if x != y:
            break
        length += 1
    return length


def _label_sequences(tokenizer, prompt: Sequence[int], label_texts: Sequence[str], closing: str):
    """Token ids of prompt + label + closing text, tokenised together, and where each label's tokens begin."""
    prompt_text = tokenizer.decode(prompt, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    texts = [prompt_text + label + closing for label in label_texts]
    sequences = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return sequences, [shared_prefix_length(prompt, s) for s in sequences]


@dataclass
class _Row:
    """One example laid out as context + one block per label, with the positions whose logits are needed."""

    tokens: list[int]
    segments: list[int]  # 0: shared context; j + 1: label j's block
    positions: list[int]  # position ids: each block continues the context as if it were alone
    predictors: list[int]  # distinct columns whose next-token logits score some label token
    scored: list[tuple[int, int, int]]  # (index into predictors, target token, label index)


def _row(prompt: Sequence[int], sequences: list[list[int]], starts: list[int]) -> _Row:
    """Lay out one example: `sequences[j]` is prompt + label j tokenised together, its label tokens from `starts[j]`."""
    context = min(starts)
    if context == 0:
        raise ValueError("a label's tokens begin at the prompt's first token: there is nothing to condition on")
    row = _Row(list(prompt[:context]), [0] * context, list(range(context)), [context - 1], [])
    predictor_index = {context - 1: 0}
    for label, (sequence, start) in enumerate(zip(sequences, starts)):
        block_start = len(row.tokens)
        block = sequence[context:]
        for offset, token in enumerate(block):
            if context + offset < start:
                continue  # a prompt token that this label did not merge with: context, not scored
            # The first block token is predicted by the context's last position; later ones by their predecessor.
            column = context - 1 if offset == 0 else block_start + offset - 1
            if column not in predictor_index:
                predictor_index[column] = len(row.predictors)
                row.predictors.append(column)
            row.scored.append((predictor_index[column], token, label))
        # The last token (end of turn) is only a target: nothing after it is scored, so it is never fed.
        fed = block[:-1]
        row.tokens += fed
        row.segments += [label + 1] * len(fed)
        row.positions += range(context, context + len(fed))
    return row


def block_attention_mask(segments: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive (batch, 1, width, width) mask: causal; the context is visible to every token, a label block only to
    itself; padding (segment -1) is visible to no one. Additive 0 / finfo.min, as transformers passes a 4-D mask
    to attention unchanged (a 0/1 float mask would be added to the scores without complaint)."""
    width = segments.shape[1]
    query, key = segments[:, :, None], segments[:, None, :]
    causal = torch.ones(width, width, dtype=torch.bool, device=segments.device).tril()
    visible = causal & (key >= 0) & ((key == 0) | (key == query))
    # Padding positions see themselves, so no attention row is fully masked.
    visible |= torch.eye(width, dtype=torch.bool, device=segments.device)
    mask = torch.zeros(visible.shape, dtype=dtype, device=segments.device)
    return mask.masked_fill_(~visible, torch.finfo(dtype).min)[:, None]


def _pad_right(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def _score_rows(model, rows: list[_Row], label_count: int, pad_id: int, device: torch.device) -> torch.Tensor:
    """Summed log-probabilities (batch, k) of the labels of a batch of rows, in one forward pass."""
    ids, _ = _left_pad([r.tokens for r in rows], pad_id)
    segments, _ = _left_pad([r.segments for r in rows], -1)
    positions, _ = _left_pad([r.positions for r in rows], 0)
    width = ids.shape[1]
    shifts = [width - len(r.tokens) for r in rows]
    predictors = _pad_right([[c + s for c in r.predictors] for r, s in zip(rows, shifts)], width - 1)
    predictor_index = _pad_right([[p for p, _, _ in r.scored] for r in rows], 0)
    targets = _pad_right([[t for _, t, _ in r.scored] for r in rows], 0)
    # Padding entries are summed into an extra label column that is dropped.
    owners = _pad_right([[label for _, _, label in r.scored] for r in rows], label_count)
    dtype = next(model.parameters()).dtype
    logits = model(
        input_ids=ids.to(device),
        attention_mask=block_attention_mask(segments.to(device), dtype),
        position_ids=positions.to(device),
        logits_to_keep=predictors.to(device),
        use_cache=False,
    ).logits
    logprobs = logits.float().log_softmax(dim=-1).cpu()
    picked = logprobs[torch.arange(len(rows))[:, None], predictor_index, targets]
    summed = torch.zeros(len(rows), label_count + 1).scatter_add_(1, owners, picked)
    return summed[:, :label_count]


@torch.inference_mode()
def label_scores(
    model,
    tokenizer,
    prompts: Sequence[Sequence[int]],
    label_texts: Sequence[str],
    batch_size: int = 32,
    precision: str = "fp32",
    on_batch: Callable[[int], None] | None = None,
    closing: str | None = None,
) -> LabelScores:
    """Log-probability of each label as the assistant's answer to each prompt.

    `prompts`: token ids of rendered chat prompts ending with the assistant header (as `render` returns).
    `label_texts`: the k answers, each scored with the end-of-turn token that closes it. Works on PEFT models (the
    active adapter applies). `on_batch(n)` is called after each batch of n examples. One forward pass per batch of
    `batch_size` examples, whatever k (layout in the module docstring).
    `closing`: the text scored after each label instead of the end of turn, for answers that go on after the label
    (paper 2's "LABEL\nExplanation: ..." scores the label with "\n"); it is tokenised with the label, so a closing
    that merges with the label's last characters is scored as the merged tokens."""
    if closing is None:
        closing, _ = end_of_turn(tokenizer)
    elif not closing:
        raise ValueError("closing must be a non-empty text (None: the end of the turn)")
    label_count = len(label_texts)
    summed = torch.zeros(len(prompts), label_count)
    token_counts = torch.zeros(len(prompts), label_count, dtype=torch.long)
    label_tokens: list[list[list[int]]] = []
    rows = []
    for i, prompt in enumerate(prompts):
        sequences, starts = _label_sequences(tokenizer, prompt, label_texts, closing)
        label_tokens.append([s[start:] for s, start in zip(sequences, starts)])
        token_counts[i] = torch.tensor([len(t) for t in label_tokens[-1]])
        rows.append(_row(prompt, sequences, starts))
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0  # padding is masked anyway
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i].tokens))
    for batch in _batches(order, batch_size):
        with autocast(precision, device):
            summed[batch] = _score_rows(model, [rows[i] for i in batch], label_count, pad_id, device)
        if on_batch:
            on_batch(len(batch))
    return LabelScores(list(label_texts), summed, token_counts, label_tokens)
