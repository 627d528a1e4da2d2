"""Explanation interventions (paper 2's explanation-first regimes, issue 17): change the explanation that the label is
scored after, and watch whether the label follows it.

An explanation-first regime writes "Explanation: E\\nAnswer: LABEL". Per test item, after the model has written its
own explanation E (greedy, as `explain_then_score` does), each label of the task is scored after:

- (a) **own**: E itself, the reference; its best label is the item's *own label* L;
- (b) **donor**: the explanation the model wrote for another test item, the *donor*, whose own label differs from L.
  The donor is the next item after this one, cyclically, in a fixed order of the items (by a hash of (seed, id), so
  the order of two items does not depend on the others), among the items with another own label and a non-empty
  explanation. None where no item qualifies (every item got the same label): the test does not apply;
- (c) **shuffled**: E's words in another order (`shuffled_explanation`, drawn from a generator seeded by (seed, id):
  the same text for the item in every run); applies where E has at least two distinct words, since otherwise no
  order differs from E's;
- (d) **empty**: no explanation ("Explanation: \\nAnswer:"); applies where E is not empty.

The donor needs every item's own label before it can be asked, so the items are asked in two phases: first the own
explanation and own label of *every* item given (batch by batch), then the interventions batch by batch, each batch
returned as soon as it is scored. The donors are chosen among all the items given in the call, not within a batch:
a donor then does not depend on the batch size or on how the items were sorted into batches.

Labels are scored, never generated: no parse failures, one forward pass per explanation. Everything the model is
asked goes through an `Asker` of two callables, so the decision logic runs on stubs in the tests;
`faithex.protocols.explanation_interventions` builds one from a model. Cost per item: one generated explanation and
at most four scorings (own, donor, shuffled, empty); `explain_then_score` makes one generation and one scoring.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from faithex.tasks.base import Example, Task

#: An example and the explanation its label is scored after.
Request = tuple[Example, str]
CONDITIONS = ("donor", "shuffled", "empty")


# -- the shuffle (also paper 2's shuffled pseudo-explanations for training: `faithex.explanations.pseudo`) -----------
def pseudo_words(text: str) -> list[str]:
    """The words a shuffle moves: `text` split at whitespace, punctuation attached."""
    return text.split()


def shuffled_explanation(text: str, rng: np.random.Generator) -> str:
    """The words of `text` in a random order, joined by single spaces.

    Whenever `text` has at least two distinct words the result differs from the original word order: a draw that
    gives the original order back is rotated by one word (a rotation of a sequence equals it only when all its
    words are the same)."""
    tokens = pseudo_words(text)
    shuffled = [tokens[i] for i in rng.permutation(len(tokens))]
    if shuffled == tokens and len(set(tokens)) >= 2:
        shuffled = shuffled[1:] + shuffled[:1]
    return " ".join(shuffled)


def can_shuffle(text: str) -> bool:
    """Whether some order of the words of `text` differs from its own (two distinct words at least)."""
    return len(set(pseudo_words(text))) >= 2


def item_key(seed: int, item_id: str) -> int:
    """A number fixed by (seed, id) alone: the items' order and each item's shuffle (Python's `hash` of a string
    changes between processes)."""
    digest = hashlib.sha256(f"{seed}\x00{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def item_shuffle(text: str, seed: int, item_id: str) -> str:
    """Intervention (c) for one item: its explanation's words shuffled, the same for (seed, id) in every run."""
    return shuffled_explanation(text, np.random.default_rng(item_key(seed, item_id)))


# -- asking the model ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Asker:
    """What the interventions ask a model, as batched callables (the protocol's from a model, tests' from stubs).

    `explain(examples)`: the model's own explanation of each example;
    `label_scores(requests)`: (n, k) scores of the task's labels (summed log-probabilities) as the answer after
    each explanation."""

    explain: Callable[[Sequence[Example]], list[str]]
    label_scores: Callable[[Sequence[Request]], Any]


@dataclass(frozen=True)
class Settings:
    """`seed`: fixes the order the donors are chosen in and every item's shuffle."""

    seed: int = 0


DEFAULT_SETTINGS = Settings()


@dataclass(frozen=True)
class Own:
    """An item's own explanation, the label scores after it, and its own label (the best-scoring one)."""

    example: Example
    explanation: str
    scores: np.ndarray
    label: int


@dataclass
class Outcome:
    """One item's interventions: its `own` explanation and label (the sample's outputs) and the `interventions`
    record the metrics of `faithex.metrics.explanation_interventions` read."""

    own: Own
    interventions: dict[str, Any]

    def fields(self, task: Task) -> dict[str, Any]:
        """`outputs`, `parsed`, `label_scores` and `interventions` as the protocol's samples hold them."""
        return {"outputs": {"explanation": self.own.explanation, "answer": task.answer_text(self.own.label)},
                "parsed": {"answer": self.own.label}, "label_scores": rounded(self.own.scores),
                "interventions": self.interventions}


def rounded(scores: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in scores]


def scores_of(asker: Asker, requests: Sequence[Request]) -> np.ndarray:
    """One call of `asker.label_scores`, as an (n, k) float array (none asked: no call)."""
    if not requests:
        return np.empty((0, 0))
    return np.asarray(asker.label_scores(list(requests)), dtype=float)


def ask_own(task: Task, examples: Sequence[Example], asker: Asker,
            on_phase: Callable[[int], None] = lambda n: None) -> list[Own]:
    """(a) for `examples`: the own explanations (one call), then the labels scored after them (one call)."""
    explanations = asker.explain(list(examples))
    on_phase(len(examples))
    scores = scores_of(asker, list(zip(examples, explanations)))
    on_phase(len(examples))
    return [Own(e, text, row, task.labels[int(np.argmax(row))]) for e, text, row in zip(examples, explanations, scores)]


# -- the donors ------------------------------------------------------------------------------------------------------
def choose_donors(owns: Sequence[Own], seed: int) -> list[Own | None]:
    """Per item, its donor (module docstring): the next item in the seeded order, cyclically, whose own label differs
    and whose own explanation is not empty; None where there is none."""
    order = sorted(range(len(owns)), key=lambda i: (item_key(seed, str(owns[i].example.id)), i))
    position = {index: rank for rank, index in enumerate(order)}
    donors: list[Own | None] = []
    for i, own in enumerate(owns):
        start = position[i]
        following = (owns[order[(start + step) % len(order)]] for step in range(1, len(order)))
        donors.append(next((o for o in following if o.label != own.label and o.explanation), None))
    return donors


# -- the interventions, batch by batch ---------------------------------------------------------------------------------
def intervened_explanations(own: Own, donor: Own | None, seed: int) -> dict[str, str | None]:
    """The explanation each intervention scores the labels after; None where it does not apply to the item."""
    text = own.explanation
    return {
        "donor": donor.explanation if donor is not None else None,
        "shuffled": item_shuffle(text, seed, str(own.example.id)) if can_shuffle(text) else None,
        "empty": "" if text else None,
    }


def intervene(task: Task, owns: Sequence[Own], donors: Sequence[Own | None], asker: Asker,
              settings: Settings = DEFAULT_SETTINGS) -> list[Outcome]:
    """(b), (c) and (d) for one batch of items whose own explanations are known: one call of `asker.label_scores`."""
    texts = [intervened_explanations(own, donor, settings.seed) for own, donor in zip(owns, donors)]
    asked = [(i, condition) for i, row in enumerate(texts) for condition in CONDITIONS if row[condition] is not None]
    scores = scores_of(asker, [(owns[i].example, texts[i][condition]) for i, condition in asked])
    answered = {where: row for where, row in zip(asked, scores)}
    return [Outcome(own, record(task, own, donor, texts[i], {c: answered.get((i, c)) for c in CONDITIONS}))
            for i, (own, donor) in enumerate(zip(owns, donors))]


def record(task: Task, own: Own, donor: Own | None, texts: dict[str, str | None],
           rows: dict[str, np.ndarray | None]) -> dict[str, Any]:
    """One item's `interventions` record: per condition its explanation, answer and scores; null where it does not
    apply (not absent: a metric applies to a cell where some sample holds its field)."""
    out: dict[str, Any] = {"own": {"answer": own.label, "scores": rounded(own.scores)}}
    for condition in CONDITIONS:
        row = rows[condition]
        out[condition] = None if row is None else {
            "explanation": texts[condition], "answer": task.labels[int(np.argmax(row))], "scores": rounded(row)}
    if donor is not None:
        out["donor"] = {"id": donor.example.id, "donor_answer": donor.label, **out["donor"]}
    out["notes"] = notes(own, donor)
    return out


def notes(own: Own, donor: Own | None) -> list[str]:
    """Why an item lacks an intervention (its metrics are then NaN, not 0)."""
    found = []
    if donor is None:
        found.append("no other test item got another label with a non-empty explanation: no donor")
    if not own.explanation:
        found.append("own explanation empty: no shuffle, no empty-explanation test")
    elif not can_shuffle(own.explanation):
        found.append("own explanation has fewer than two distinct words: no shuffle")
    return found


def run_explanation_interventions(task: Task, examples: Sequence[Example], asker: Asker,
                                  settings: Settings = DEFAULT_SETTINGS, batches: Sequence[Sequence[int]] | None = None,
                                  on_phase: Callable[[int], None] | None = None) -> Iterator[list[Outcome]]:
    """Every intervention of the module docstring on `examples`, the outcomes of one batch at a time.

    `batches`: indices into `examples`, each exactly once (None: one batch of all); the model is called once per
    kind of request per batch. `on_phase(n)` is called after each of the three phases of a batch of n items (own
    explanations, own scores, interventions)."""
    examples = list(examples)
    batches = [list(range(len(examples)))] if batches is None else [list(b) for b in batches]
    batches = [batch for batch in batches if batch]  # nothing to ask: no call
    if sorted(i for batch in batches for i in batch) != list(range(len(examples))):
        raise ValueError("batches must hold every index of the examples exactly once")
    done = on_phase or (lambda n: None)
    owns: list[Own] = [None] * len(examples)  # type: ignore[list-item]  # filled by the first phase
    for batch in batches:  # first every item's own label: any item may be another's donor
        for i, own in zip(batch, ask_own(task, [examples[i] for i in batch], asker, done)):
            owns[i] = own
    donors = choose_donors(owns, settings.seed)
    for batch in batches:
        outcomes = intervene(task, [owns[i] for i in batch], [donors[i] for i in batch], asker, settings)
        done(len(batch))
        yield outcomes
