"""The pseudo-faithful filter's questions (`faithex.explanations.pseudo_faithful.Oracle`) answered by a loaded
model: the check's classification scored over the offered options, input x gradient (or any registered attribution
method) of the predicted option, and the model's own one-word counterfactual proposals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from faithex.explanations.pseudo_faithful import ONE_WORD, Settings, Span, option_answer
from faithex.faithfulness.self_consistency import (
    Decision,
    Wording,
    classify_prompt,
    decision_of_option,
    explanation_prompt,
)
from faithex.regimes.base import Messages, PromptOptions, system, user
from faithex.tasks.base import Example, Task


class OptionAnswers:
    """The task as the self-consistency prompt answers it: each label's answer text is its option (the name, or
    the letter when options are lettered), so the attribution explains the score the check reads."""

    def __init__(self, task: Task, wording: Wording) -> None:
        self._task = task
        self._answers = {label: option_answer(wording, label) for label in task.labels}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._task, name)

    def answer_text(self, label: int) -> str:
        return self._answers[label]


@dataclass
class LoadedOracle:
    """`Oracle` on a loaded model (the active adapter answers): scored classification, input x gradient
    attribution, next-token proposals."""

    model: Any
    tokenizer: Any
    task: Task
    wording: Wording
    options: PromptOptions
    settings: Settings = Settings()
    batch_size: int = 8
    precision: str = "fp32"

    def classify_messages(self, paragraph: str) -> Messages:
        return system(self.options) + [user(classify_prompt(self.wording, paragraph))]

    def classify(self, paragraphs: Sequence[str]) -> list[Decision]:
        return [decision_of_option(self.wording, j) for j in self._scores(paragraphs).predicted.tolist()]

    def probabilities(self, paragraphs: Sequence[str]) -> list[dict[Decision, float]]:
        """Softmax over the options' summed log-probabilities: the distribution the scored check reads."""
        probabilities = self._scores(paragraphs).summed.float().softmax(dim=-1).tolist()
        return [dict(zip(self.wording.option_decisions, row)) for row in probabilities]

    def _scores(self, paragraphs: Sequence[str]):
        from faithex.lm.generation import render
        from faithex.lm.scoring import label_scores

        prompts = [render(self.tokenizer, self.classify_messages(p)) for p in paragraphs]
        return label_scores(self.model, self.tokenizer, prompts, self.wording.option_texts,
                            batch_size=self.batch_size, precision=self.precision)

    def rank_words(self, examples: Sequence[Example], labels: Sequence[int]) -> list[list[tuple[str, Span]]]:
        """One attribution call per predicted label, whose option's log-probability is explained."""
        from faithex.attribution import attribute

        view = OptionAnswers(self.task, self.wording)
        ranked: list[list[tuple[str, Span]]] = [[] for _ in examples]
        for label in sorted(set(labels)):
            group = [i for i, x in enumerate(labels) if x == label]
            result = attribute(self.model, self.tokenizer, view, [examples[i] for i in group],
                               method=self.settings.method, target=view.answer_text(label),
                               prompt=lambda e: self.classify_messages(e.input), batch_size=self.batch_size,
                               precision=self.precision)
            for i, item in zip(group, result):
                order = sorted(range(len(item.words)), key=lambda j: (-item.scores[j], j))
                ranked[i] = [(item.words[j], tuple(item.spans[j])) for j in order]
        return ranked

    def propose(self, requests: Sequence[tuple[str, Span, int]]) -> list[list[str]]:
        """The model asked for the one-word counterfactual, its answer forced to start with the paragraph up to the
        word: its most likely next tokens that are alphabetic words (spelled with the leading space the paragraph
        has there) and that the model itself ends there (its next token after them does not go on with the word:
        "wasn" before "'t" is no word)."""
        rows, spaced = [], []
        for paragraph, (start, _), target in requests:
            before = paragraph[:start].rstrip()
            forced = self.tokenizer(before, add_special_tokens=False)["input_ids"] if before else []
            rows.append(self._counterfactual_ids(paragraph, target) + forced)
            spaced.append(bool(before) and before != paragraph[:start])
        candidates = [self._alphabetic(ids, needs_space)
                      for ids, needs_space in zip(self._next_tokens(rows, self.settings.proposal_pool), spaced)]
        extended = [(r, token_id, word) for r, found in enumerate(candidates) for token_id, word in found]
        following = self._next_tokens([rows[r] + [token_id] for r, token_id, _ in extended], 1)
        proposals: list[list[str]] = [[] for _ in requests]
        for (r, _, word), (after,) in zip(extended, following):
            if not continues_word(self.tokenizer.decode([after])):
                proposals[r].append(word)
        return proposals

    def _counterfactual_ids(self, paragraph: str, target: int) -> list[int]:
        from faithex.lm.generation import render

        asked = explanation_prompt(self.wording, "counterfactual", paragraph, ONE_WORD, target)
        return render(self.tokenizer, system(self.options) + [user(asked)])

    def _alphabetic(self, token_ids: list[int], needs_space: bool) -> list[tuple[int, str]]:
        """(token, word) of the first tokens that are a space (where the paragraph has one) and letters."""
        found = []
        for token_id in token_ids:
            text = self.tokenizer.decode([token_id])
            word = text[1:] if needs_space and text.startswith(" ") else (None if needs_space else text)
            if word and word.isalpha():
                found.append((token_id, word))
            if len(found) > self.settings.proposals:  # one more: the word itself may be among them
                break
        return found

    def _next_tokens(self, rows: Sequence[Sequence[int]], k: int) -> list[list[int]]:
        """The k most likely next tokens after each row of token ids (batched, left-padded)."""
        import torch

        from faithex.lm.generation import autocast

        device = next(self.model.parameters()).device
        ranked: list[list[int]] = []
        for begin in range(0, len(rows), self.batch_size):
            ids, mask = _left_padded(rows[begin:begin + self.batch_size], self.tokenizer.pad_token_id or 0)
            with torch.inference_mode(), autocast(self.precision, device):
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                    position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(device),
                                    logits_to_keep=1).logits[:, -1].float()
            ranked += logits.topk(min(k, logits.shape[-1]), dim=-1).indices.tolist()
        return ranked


def continues_word(text: str) -> bool:
    """Whether a token glued after a word goes on with that word: a letter, digit, apostrophe or hyphen with no
    space before it."""
    return bool(text) and (text[0].isalnum() or text[0] in "'’-")


def _left_padded(rows: Sequence[Sequence[int]], pad_id: int):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row):] = 1
    return ids, mask

