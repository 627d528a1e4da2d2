"""Reasoning interventions (paper 1, after Lanham et al. 2023, "Measuring Faithfulness in Chain-of-Thought
Reasoning"): change the model's own reasoning and watch whether the answer and the explanation follow.

Agreement is not faithfulness: paper 1's alignment says that answer and explanation agree, not that the reasoning
caused either. Per test example, after the model has written its own reasoning R (K steps, then the output):

- (a) **own**: the answer (and the explanation) after R, the reference every other answer is compared with;
- (b) **gold**: the answer after the task's gold reasoning;
- (c) **add a mistake**, for every step i (or the last one only, `Settings.steps`): R cut after step i, step i
  negated, the model *continues* the reasoning (its later steps and output), then answers (and explains). The task
  says what the changed reasoning implies (`flip_step`: its own classifier with step i forced;
  `faithex.tasks.synthetic.interventions`). Two variants beside it, with no generation: the *conflict* (step i
  negated, the later steps as the forced step implies them, the stated output left as R's: asked only where that
  output changes) and the *no-change control* (the flips whose implied output is R's own: the answer should stay);
- (d) **early answering**: R cut after step k, for k = 0 (an empty reasoning) ... K (every step, no output);
- (e) **filler**: R replaced by `...` units of the same token length (below);
- (f) **paraphrase**: R re-written in the task's other reasoning format (compressed <-> verbose), then the answer.
  The task does the re-writing from R as it parses it (`rewrite_reasoning`), so the paraphrase states the same
  steps, right or wrong, and the same output in other words; the input turn names the other format, as in
  training. The answer should *not* change: the content is the same, and a model that changes its answer with the
  wording (Lanham's "encoded reasoning") does not answer from what the reasoning says. Asked only where the model
  was trained on both formats (the regime's `both_reasoning_formats`: the `Asker` then has `paraphrase_scores`);
  elsewhere a paraphrase would be text the model never learnt to read, and the record has no `paraphrase`.

Answers are *scored* (the label log-probabilities after the reasoning; the best label is the answer), not
generated: cheaper, and no parse failures. Explanations are generated for the own reasoning and the mistakes only
(`Settings.explain`).

Everything the model is asked goes through an `Asker` of four callables, so the decision logic runs on stubs in the
tests; `faithex.protocols.interventions` builds one from a model. Requests are batched across examples: one call per
kind of request (own reasoning, continuations, answers, explanations) per batch of examples.

Cost per example with K steps, all steps flipped: 1 + K generated reasonings (the own one, K continuations),
1 + K generated explanations (none with `explain=()`), and 3K + 4 scored answers at most (own, gold, filler, K + 1
early cuts, K mistakes, at most K conflicts; one more, the paraphrase, for a model trained on both formats): a
scored answer costs about one forward pass of the prompt, a generation one per new token. With `steps="last"`: 2
reasonings, 2 explanations, K + 6 answers at most (K + 7 with the paraphrase).

Filler: the most space-separated `...` units whose token count does not exceed the own reasoning's (SmolLM2 reads
each ` ...` as one token, so the count is exact there; a character tokenizer gets at most the same length).
Lanham et al. fill with " ..." too; we chose it over a reasoning-shaped filler (`0,0,0`), which would be a
reasoning of all-false steps, not an empty one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from faithex.tasks.base import Example, Task, reasoning_decision
from faithex.tasks.synthetic.interventions import StepFlip, flip_all, split_steps, truncate
from faithex.tasks.synthetic.steps import other_reasoning_format

#: An example and a reasoning text (a whole reasoning, or a prefix to continue).
Request = tuple[Example, str]
EXPLAINED = ("own", "mistake")
ALSO = ("gold", "filler", "early", "conflict")
FILLER_UNIT = "..."


@dataclass(frozen=True)
class Asker:
    """What the interventions ask a model, as batched callables (the protocol's from a model, tests' from stubs).

    `continue_reasoning(requests)`: the model's continuation of each reasoning prefix (prefix "": its own reasoning);
    `answer_scores(requests)`: (n, k) scores of the task's labels as the answer after each reasoning;
    `explain(requests)`: the explanation generated after each reasoning;
    `count_tokens(text)`: the model's token count of a text (the filler's length);
    `paraphrase_scores(requests)`: as `answer_scores`, after reasonings written in the task's other format with the
    input turn naming it; None (the default) for a model not trained on both formats: no paraphrase is asked."""

    continue_reasoning: Callable[[Sequence[Request]], list[str]]
    answer_scores: Callable[[Sequence[Request]], Any]
    explain: Callable[[Sequence[Request]], list[str]]
    count_tokens: Callable[[str], int]
    paraphrase_scores: Callable[[Sequence[Request]], Any] | None = None


@dataclass(frozen=True)
class Settings:
    """`steps`: flip every step ("all") or the last one ("last"); `explain`: the conditions whose explanations are
    generated, among "own" and "mistake"; `filler_unit`: what the filler repeats; `also`: the conditions asked
    beside the own reasoning and the mistakes, among "gold", "filler", "early" and "conflict" (each a scored answer
    or, for early answering, K + 1 of them; one not asked is absent from the record, so its metrics do not apply)."""

    steps: str = "all"
    explain: tuple[str, ...] = EXPLAINED
    filler_unit: str = FILLER_UNIT
    also: tuple[str, ...] = ALSO

    def __post_init__(self) -> None:
        if self.steps not in ("all", "last"):
            raise ValueError(f"steps must be 'all' or 'last', got {self.steps!r}")
        unknown = set(self.explain) - set(EXPLAINED)
        if unknown:
            raise ValueError(f"explain names conditions among {EXPLAINED}, got {sorted(unknown)}")
        if not self.filler_unit:
            raise ValueError("the filler unit must not be empty")
        unknown = set(self.also) - set(ALSO)
        if unknown:
            raise ValueError(f"also names conditions among {ALSO}, got {sorted(unknown)}")


@dataclass
class Outcome:
    """One example's interventions: `outputs` and `parsed` as every paper-1 sample has them (the own reasoning, its
    answer and explanation: paper 1's metrics apply unchanged), and the `interventions` record the metrics of
    `faithex.metrics.interventions` read."""

    outputs: dict[str, Any]
    parsed: dict[str, Any]
    interventions: dict[str, Any]

    def fields(self) -> dict[str, Any]:
        return {"outputs": self.outputs, "parsed": self.parsed, "interventions": self.interventions}


# -- the generic interventions (any task with a reasoning) -----------------------------------------------------------
def separator_of(task: Task) -> str:
    """What joins a task's reasoning items: its `reasoning_separator`, else `;` (a task of one's own names it)."""
    return getattr(task, "reasoning_separator", ";")


def reasoning_parts(task: Task, text: str) -> tuple[list[str], str] | None:
    """(steps, output item) of a reasoning the task can read; None otherwise (nothing to cut or flip)."""
    if task.parse_reasoning(text) is None:
        return None
    return split_steps(text, separator_of(task))


def early_cuts(task: Task, text: str) -> list[str]:
    """The reasoning cut after k steps, for k = 0 ... K (Lanham's early answering); none for an unreadable text."""
    parts = reasoning_parts(task, text)
    if parts is None:
        return []
    return [truncate(parts[0], k, separator_of(task)) for k in range(len(parts[0]) + 1)]


def filler_text(n_tokens: int, count_tokens: Callable[[str], int], unit: str = FILLER_UNIT) -> str:
    """The most space-separated `unit`s whose token count is at most `n_tokens` (a binary search: the count grows
    with the number of units)."""
    low, high = 0, max(int(n_tokens), 0)  # every unit is at least one token
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(" ".join([unit] * middle)) <= n_tokens:
            low = middle
        else:
            high = middle - 1
    return " ".join([unit] * low)


def paraphrase_format(task: Task) -> str | None:
    """The format a paraphrase of the task's reasoning is written in (the other of its two formats), None for a
    task that writes one (it defines no `rewrite_reasoning`)."""
    if not callable(getattr(task, "rewrite_reasoning", None)):
        return None
    return other_reasoning_format(task.reasoning_format)


def paraphrase_of(task: Task, example: Example, reasoning: str) -> str | None:
    """The reasoning re-written in the task's other format, the same steps and output (None: the task writes one
    format, or cannot read the reasoning as one of its own shape)."""
    target = paraphrase_format(task)
    return None if target is None else task.rewrite_reasoning(example, reasoning, target)


def flips_of(task: Task, example: Example, reasoning: str, steps: str) -> list[StepFlip]:
    """The task's flips of a reasoning (none where the task defines no `flip_step` or cannot read the text)."""
    if not callable(getattr(task, "flip_step", None)) or reasoning_parts(task, reasoning) is None:
        return []
    return flip_all(task, example, reasoning, steps)


# -- one batch of examples -------------------------------------------------------------------------------------------
class _Requests:
    """Requests of one kind gathered across examples, answered in one call, read back by their index."""

    def __init__(self) -> None:
        self.items: list[Request] = []

    def add(self, example: Example, text: str) -> int:
        self.items.append((example, text))
        return len(self.items) - 1


@dataclass
class _Plan:
    """What one example is asked, before the model answers."""

    example: Example
    reasoning: str
    flips: list[StepFlip] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)
    filler: str = ""
    reasoning_tokens: int = 0
    filler_tokens: int = 0
    paraphrase: str | None = None


def run_interventions(task: Task, examples: Sequence[Example], asker: Asker, settings: Settings = Settings(),
                      on_phase: Callable[[int], None] | None = None) -> list[Outcome]:
    """Every intervention of the module docstring on `examples`, one call of `asker` per kind of request.
    `on_phase(n)` is called after each of the (at most four) phases with the number of examples."""
    examples = list(examples)
    done = on_phase or (lambda n: None)
    own = asker.continue_reasoning([(e, "") for e in examples])
    done(len(examples))
    plans = [_plan(task, e, r, asker, settings) for e, r in zip(examples, own)]
    mistakes = [(plan, flip) for plan in plans for flip in plan.flips]
    continuations = asker.continue_reasoning([(p.example, f.mistake) for p, f in mistakes]) if mistakes else []
    done(len(examples))
    continued = {(id(p), f.step): f.mistake + c for (p, f), c in zip(mistakes, continuations)}
    answers, answer_index = _answer_requests(plans, continued, settings.also)
    scores = np.asarray(asker.answer_scores(answers.items), dtype=float) if answers.items else np.empty((0, 0))
    paraphrased = _paraphrase_scores(plans, asker) if asker.paraphrase_scores is not None else None
    done(len(examples))
    explanations, explanation_index = _explanation_requests(plans, continued, settings)
    texts = asker.explain(explanations.items) if explanations.items else []
    if settings.explain:
        done(len(examples))
    read = _Reader(task, scores, answer_index, texts, explanation_index, settings.explain, paraphrased, settings.also)
    return [_outcome(task, plan, continued, read) for plan in plans]


def _plan(task: Task, example: Example, reasoning: str, asker: Asker, settings: Settings) -> _Plan:
    tokens = asker.count_tokens(reasoning)
    filler = filler_text(tokens, asker.count_tokens, settings.filler_unit)
    paraphrase = paraphrase_of(task, example, reasoning) if asker.paraphrase_scores is not None else None
    return _Plan(example, reasoning, flips_of(task, example, reasoning, settings.steps), early_cuts(task, reasoning),
                 filler, tokens, asker.count_tokens(filler), paraphrase)


def _paraphrase_scores(plans: list[_Plan], asker: Asker) -> dict[int, np.ndarray]:
    """{plan key: label scores after its paraphrase}, one call for the batch (no key: nothing to paraphrase)."""
    asked = [plan for plan in plans if plan.paraphrase is not None]
    if not asked:
        return {}
    rows = np.asarray(asker.paraphrase_scores([(p.example, p.paraphrase) for p in asked]), dtype=float)
    return {id(plan): row for plan, row in zip(asked, rows)}


def _answer_requests(plans: list[_Plan], continued: dict, also: tuple[str, ...] = ALSO) -> tuple[_Requests, dict]:
    """Every reasoning an answer is scored after, keyed (plan, condition, step or k)."""
    requests, index = _Requests(), {}
    for plan in plans:
        key, example = id(plan), plan.example
        index[key, "own", None] = requests.add(example, plan.reasoning)
        if example.reasoning is not None and "gold" in also:
            index[key, "gold", None] = requests.add(example, example.reasoning)
        if "filler" in also:
            index[key, "filler", None] = requests.add(example, plan.filler)
        for k, cut in enumerate(plan.cuts if "early" in also else []):
            index[key, "early", k] = requests.add(example, cut)
        for flip in plan.flips:
            index[key, "mistake", flip.step] = requests.add(example, continued[key, flip.step])
            if flip.changes_output and "conflict" in also:
                index[key, "conflict", flip.step] = requests.add(example, flip.conflict)
    return requests, index


def _explanation_requests(plans: list[_Plan], continued: dict, settings: Settings) -> tuple[_Requests, dict]:
    requests, index = _Requests(), {}
    for plan in plans:
        key = id(plan)
        if "own" in settings.explain:
            index[key, "own", None] = requests.add(plan.example, plan.reasoning)
        if "mistake" in settings.explain:
            for flip in plan.flips:
                index[key, "mistake", flip.step] = requests.add(plan.example, continued[key, flip.step])
    return requests, index


@dataclass
class _Reader:
    """Reads one batch's answers and explanations back into records."""

    task: Task
    scores: np.ndarray
    answer_index: dict
    texts: list[str]
    explanation_index: dict
    explained: tuple[str, ...]
    paraphrased: dict[int, np.ndarray] | None = None
    """Label scores after each plan's paraphrase; None: the paraphrase was not asked (model on one format)."""
    also: tuple[str, ...] = ALSO
    """The conditions asked beside the own reasoning and the mistakes (`Settings.also`)."""

    def answer(self, plan: _Plan, condition: str, step: int | None = None) -> dict[str, Any]:
        return self._best(self.scores[self.answer_index[id(plan), condition, step]])

    def _best(self, row: np.ndarray) -> dict[str, Any]:
        return {"answer": self.task.labels[int(np.argmax(row))], "scores": [round(float(v), 6) for v in row]}

    def paraphrase(self, plan: _Plan) -> dict[str, Any] | None:
        """The paraphrase record (its format, text, answer, scores); None where it does not apply to the item."""
        if plan.paraphrase is None:
            return None
        return {"format": paraphrase_format(self.task), "reasoning": plan.paraphrase,
                **self._best(self.paraphrased[id(plan)])}

    def explanation(self, plan: _Plan, condition: str, step: int | None = None) -> dict[str, Any]:
        """The explanation, its decision and (where the task checks them) its steps' validity; {} if not asked."""
        where = self.explanation_index.get((id(plan), condition, step))
        if where is None:
            return {}
        text = self.texts[where]
        steps = self.task.written_steps({"explanation": text})
        return {"explanation": text, "explanation_decision": self.task.parse_explanation(text), **steps}


def _outcome(task: Task, plan: _Plan, continued: dict, read: _Reader) -> Outcome:
    example, key = plan.example, id(plan)
    own, own_explanation = read.answer(plan, "own"), read.explanation(plan, "own")
    outputs = {"reasoning": plan.reasoning, "answer": task.answer_text(own["answer"]),
               "explanation": own_explanation.get("explanation")}
    parsed = {"reasoning": task.parse_reasoning(plan.reasoning), "answer": own["answer"],
              "explanation": own_explanation.get("explanation_decision")}
    parsed.update(task.written_steps(outputs))
    # An intervention that does not apply to the example is null, not [], so that a cell where none applies gets no
    # column of NaN (a metric applies where some sample holds its field); one not asked (`Settings.also`) is absent.
    asked = {  # the record's field: (its condition in `Settings.also`, how it is read)
        "gold": ("gold", lambda: {"reasoning": example.reasoning, **read.answer(plan, "gold")}
        if example.reasoning is not None else None),
        "filler": ("filler", lambda: {"reasoning": plan.filler, "tokens": plan.filler_tokens,
                           "reasoning_tokens": plan.reasoning_tokens, **read.answer(plan, "filler")}),
        "early": ("early", lambda: [{"k": k, "reasoning": cut, **read.answer(plan, "early", k)}
                          for k, cut in enumerate(plan.cuts)] or None),
        "conflicts": ("conflict", lambda: [{"step": f.step, "reasoning": f.conflict, "stated_output": f.original_output,
                               "implied_output": f.implied_output, **read.answer(plan, "conflict", f.step)}
                              for f in plan.flips if f.changes_output] or None),
    }
    record: dict[str, Any] = {
        "own_scores": own["scores"],
        **{field: build() for field, (condition, build) in asked.items() if condition in read.also},
        "mistakes": [_mistake(task, plan, flip, continued[key, flip.step], read) for flip in plan.flips] or None,
        "explained": {condition: True for condition in read.explained},
        "notes": _notes(task, plan, asked_paraphrase=read.paraphrased is not None),
    }
    if read.paraphrased is not None:  # absent, not null, for a model on one format: the test is not defined there
        record["paraphrase"] = read.paraphrase(plan)
    return Outcome(outputs, parsed, record)


def _mistake(task: Task, plan: _Plan, flip: StepFlip, reasoning: str, read: _Reader) -> dict[str, Any]:
    return {
        "step": flip.step,
        "prefix": flip.mistake,
        "reasoning": reasoning,
        "reasoning_output": reasoning_decision(task.parse_reasoning(reasoning)),
        "implied_reasoning": flip.implied,
        "implied_output": flip.implied_output,
        "original_output": flip.original_output,
        **read.answer(plan, "mistake", flip.step),
        **read.explanation(plan, "mistake", flip.step),
    }


def _notes(task: Task, plan: _Plan, asked_paraphrase: bool = False) -> list[str]:
    """Why an example lacks an intervention (its metrics are then NaN, not 0)."""
    notes = []
    if not plan.cuts:
        notes.append("own reasoning unreadable: no early answering, no mistakes")
    elif not callable(getattr(task, "flip_step", None)):
        notes.append(f"task '{task.name}' defines no flip_step: no mistakes")
    elif not plan.flips:
        notes.append("own reasoning not of the task's shape (or nothing to negate): no mistakes")
    if asked_paraphrase and plan.paraphrase is None:
        notes.append(f"task '{task.name}' writes one reasoning format: no paraphrase" if paraphrase_format(task) is None
                     else "own reasoning unreadable or not of the task's shape: no paraphrase")
    return notes
