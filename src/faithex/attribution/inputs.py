"""What every attribution method starts from: the prompt around each input, its words, and the label to explain.

The chat prompt is rendered once with a marker in place of the example's input, which splits it into the text
before the input and the text after it (instruction, chat template, assistant header): a `PromptLayout`. The
prompt with any version of the input (a word removed) is then prefix + version + suffix, and the input's characters
sit at a known offset of the rendered prompt, where the tokenizer's offset mapping finds its tokens.

The target is the log-probability of a label's full token sequence as `faithex.lm.scoring.label_scores` computes it
(the label's tokens and what closes the answer, by default the end-of-turn token), optionally minus the same for a
contrast label.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from faithex.attribution.words import Span, Words
from faithex.errors import ConfigError, DatasetError, UnknownNameError
from faithex.tasks.base import Example, Task

Messages = list[dict[str, str]]
PromptFor = Callable[[Example], Messages]

# Stands for the input while the prompt is rendered; never in real text.
INPUT_MARKER = "\uE000FAITHEX_INPUT\uE001"
TARGETS = ("predicted", "gold")
CONTRASTS = (None, "runner_up")


@dataclass(frozen=True)
class PromptLayout:
    """The rendered chat prompt (text) around an example's input: `prefix + input + suffix`."""

    prefix: str
    suffix: str

    def text(self, input_text: str) -> str:
        return self.prefix + input_text + self.suffix


def prompt_layout(tokenizer, prompt_for: PromptFor, example: Example) -> PromptLayout:
    """Split the example's rendered prompt around its input. The chat template must put the input in verbatim (a
    template that trims or rewrites message content cannot be attributed word by word)."""
    def rendered(conversation: Messages) -> str:
        return tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)

    marked = rendered(prompt_for(replace(example, input=INPUT_MARKER)))
    if marked.count(INPUT_MARKER) != 1:
        raise ConfigError(f"example {example.id}: the prompt must contain the input exactly once to attribute its "
                          f"words (found {marked.count(INPUT_MARKER)} times)")
    prefix, suffix = marked.split(INPUT_MARKER)
    layout = PromptLayout(prefix, suffix)
    if rendered(prompt_for(example)) != layout.text(example.input):
        raise ConfigError(f"example {example.id}: the chat template changes the input text (it trims or rewrites "
                          "message content), so its words cannot be found in the prompt")
    return layout


def regime_prompt(regime, task: Task, options) -> PromptFor:
    """The regime's "answer" prompt for `task` as a function of the example."""
    return lambda example: regime.prompt("answer", task, example, options)


@dataclass
class Prepared:
    """One example ready to attribute: its words, prompt and the label(s) whose score is explained."""

    example: Example
    words: Words
    layout: PromptLayout
    prompt_ids: list[int]
    offsets: list[Span]
    """Character offsets of `prompt_ids` in `layout.text(example.input)`."""
    target: int
    """Index (into the task's labels) of the label whose log-probability is explained."""
    contrast: int | None
    """Index of the label whose log-probability is subtracted (None: none)."""
    label_scores: list[float]
    """Summed log-probability of every label after the prompt."""

    @property
    def target_score(self) -> float:
        score = self.label_scores[self.target]
        return score - self.label_scores[self.contrast] if self.contrast is not None else score

    @property
    def input_start(self) -> int:
        return len(self.layout.prefix)


def encode_with_offsets(tokenizer, text: str) -> tuple[list[int], list[Span]]:
    """Token ids of a rendered prompt (no special tokens added: the template wrote them) and their character
    offsets; only fast (Rust) tokenizers report offsets."""
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError("word attribution needs a fast tokenizer (with offset mapping); this model's is not")
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return list(encoded["input_ids"]), [tuple(span) for span in encoded["offset_mapping"]]


def label_index(task: Task, name: str) -> int:
    """The label whose answer text (or label name) is `name`; unknown names get a "did you mean"."""
    names = {task.answer_text(label): label for label in task.labels}
    if name in names:
        return names[name]
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UnknownNameError(f"unknown label '{name}' for task '{task.name}'{hint} (labels: {', '.join(names)}; or "
                           "'predicted', 'gold')")


def choose_labels(task: Task, example: Example, scores: Sequence[float], target: str,
                  contrast: str | None) -> tuple[int, int | None]:
    """(target label, contrast label or None) for one example, as positions in `task.labels`."""
    labels = list(task.labels)
    if target == "predicted":
        chosen = max(range(len(labels)), key=lambda j: scores[j])
    elif target == "gold":
        if example.label is None:
            raise DatasetError(f"example {example.id} has no gold label; use target='predicted' or a label name")
        chosen = labels.index(example.label)
    else:
        chosen = labels.index(label_index(task, target))
    if contrast is None:
        return chosen, None
    others = [j for j in range(len(labels)) if j != chosen]
    return chosen, max(others, key=lambda j: scores[j])


def check_target(task: Task, target: str, contrast: str | None) -> None:
    """Refuse a bad target or contrast before any model work."""
    if not isinstance(target, str) or not target:
        raise ConfigError(f"target must be 'predicted', 'gold' or a label name, not {target!r}")
    if target not in TARGETS:
        label_index(task, target)
    if contrast not in CONTRASTS:
        raise ConfigError(f"contrast must be None or 'runner_up', not {contrast!r}")
    if contrast is not None and len(task.labels) < 2:
        raise ConfigError("contrast='runner_up' needs a task with at least two labels")


def prepare(model, tokenizer, task: Task, examples: Sequence[Example], prompt_for: PromptFor, target: str,
            contrast: str | None, closing: str | None, batch_size: int, precision: str) -> list[Prepared]:
    """Words, prompt layout, tokens and target labels of every example (one `label_scores` pass for all)."""
    from faithex.lm.scoring import label_scores

    layouts = [prompt_layout(tokenizer, prompt_for, e) for e in examples]
    encoded = [encode_with_offsets(tokenizer, layout.text(e.input)) for layout, e in zip(layouts, examples)]
    names = [task.answer_text(label) for label in task.labels]
    scores = label_scores(model, tokenizer, [ids for ids, _ in encoded], names, batch_size=batch_size,
                          precision=precision, closing=closing).summed.tolist()
    prepared = []
    for example, layout, (ids, offsets), row in zip(examples, layouts, encoded, scores):
        chosen, other = choose_labels(task, example, row, target, contrast)
        prepared.append(Prepared(example, Words.split(example.input), layout, ids, offsets, chosen, other, row))
    return prepared
