"""Seeded, stratified train/test splits and subsamples for fixed datasets, and `FixedDatasetTask`, the base class
of the tasks that read one (the packaged text sets, the user's files).

A fixed dataset is a list of rows with a label index each. `StratifiedSplits` cuts it once per seed into a train
and a test part that never share a row and keep the label proportions of the whole, then draws `n` rows from one
part as a stratified, seeded subsample. Everything is a pure function of (labels, seed, test_fraction): the same
seed gives the same rows in the same order, so the examples written from them are byte-identical.

How a part is ordered and subsampled: each part is shuffled once (seeded); a subsample of size n takes, per label,
the first `quota[label]` rows of that shuffled order (quotas by largest remainder, so they sum to n exactly and
follow the part's proportions) and keeps the shuffled order. Hence a larger n extends a smaller one, and labels
are interleaved, never sorted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from faithex.errors import ConfigError
from faithex.tasks.base import Example, Task

SPLITS = ("train", "test")

#: Mixed into every seed so that the split of a dataset does not reuse the stream a synthetic task draws from.
_SPLIT_STREAM = 0x5EED5


def check_split(split: str) -> str:
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; fixed datasets have the splits {', '.join(SPLITS)}")
    return split


def check_test_fraction(value: object) -> float:
    """`test_fraction` as a float strictly between 0 and 1 (a ConfigError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) < 1.0:
        raise ConfigError(f"parameter 'test_fraction' must be a number between 0 and 1 (exclusive), got {value!r}")
    return float(value)


def stratified_split(labels: Sequence[int], test_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Row indices of (train, test), each in a seeded shuffled order.

    Per label, `round(count * test_fraction)` rows go to test; a label with at least two rows keeps at least one
    in each part, so that both parts can show every label the data has.
    """
    rng = np.random.default_rng([seed, _SPLIT_STREAM])
    train: list[int] = []
    test: list[int] = []
    for label in sorted(set(labels)):
        rows = [i for i, value in enumerate(labels) if value == label]
        rows = [rows[i] for i in rng.permutation(len(rows))]
        n_test = math.floor(len(rows) * test_fraction + 0.5)
        if len(rows) >= 2:
            n_test = min(max(n_test, 1), len(rows) - 1)
        test.extend(rows[:n_test])
        train.extend(rows[n_test:])
    return _shuffled(train, rng), _shuffled(test, rng)


def stratified_subsample(rows: Sequence[int], labels: Sequence[int], n: int) -> list[int]:
    """`n` of `rows` (already in a seeded order) with the label proportions of `rows`, keeping their order."""
    if n >= len(rows):
        return list(rows)
    by_label: dict[int, list[int]] = {}
    for row in rows:
        by_label.setdefault(labels[row], []).append(row)
    quotas = _largest_remainder_quotas({label: len(members) for label, members in by_label.items()}, n)
    chosen = {row for label, members in by_label.items() for row in members[: quotas[label]]}
    return [row for row in rows if row in chosen]


def _largest_remainder_quotas(counts: dict[int, int], n: int) -> dict[int, int]:
    """Integer quotas proportional to `counts` that sum to `n` (ties broken by the smaller label, deterministically)."""
    total = sum(counts.values())
    exact = {label: n * count / total for label, count in counts.items()}
    quotas = {label: math.floor(value) for label, value in exact.items()}
    by_remainder = sorted(counts, key=lambda label: (-(exact[label] - quotas[label]), label))
    for label in by_remainder[: n - sum(quotas.values())]:
        quotas[label] += 1
    return quotas


def _shuffled(rows: list[int], rng: np.random.Generator) -> list[int]:
    return [rows[i] for i in rng.permutation(len(rows))]


@dataclass
class StratifiedSplits:
    """The train/test rows of one labelled dataset for every seed asked (cached: splitting is not free)."""

    labels: Sequence[int]
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        self._cache: dict[int, tuple[list[int], list[int]]] = {}

    def rows(self, split: str, seed: int) -> list[int]:
        """All rows of `split` for `seed`, in their seeded order."""
        check_split(split)
        if seed not in self._cache:
            self._cache[seed] = stratified_split(self.labels, self.test_fraction, seed)
        train, test = self._cache[seed]
        return list(train if split == "train" else test)

    def take(self, n: int | None, split: str, seed: int, what: str = "dataset") -> list[int]:
        """`n` rows of `split` (None: all), a stratified subsample; a ConfigError when the split has fewer."""
        return take_from(self.rows(split, seed), self.labels, n, split, what)


def take_from(rows: Sequence[int], labels: Sequence[int], n: int | None, split: str, what: str) -> list[int]:
    """`n` of the ordered `rows` of one split (None: all of them), checked against the split's size."""
    if n is None:
        return list(rows)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"the number of examples must be a non-negative integer, got {n!r}")
    if n > len(rows):
        raise ConfigError(f"{what} has {len(rows)} {split} examples, {n} were asked")
    return stratified_subsample(rows, labels, int(n))


# -- the base class of every task that reads a fixed dataset -----------------------------------------------------
@dataclass
class Row:
    """One labelled record of a fixed dataset, before it becomes an `Example`."""

    id: str
    text: str
    label: int
    explanation: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class FixedDatasetTask(Task):
    """A task over a fixed list of rows: seeded stratified splits instead of a generator.

    Subclasses provide `rows()` (parsed once and cached) and, where the data comes with its own test part,
    `test_rows()`; they set `labels`, `label_names`, `instruction` and `test_fraction`.
    """

    supports_icl = False
    test_fraction: float = 0.2

    def rows(self) -> list[Row]:
        raise NotImplementedError

    def test_rows(self) -> list[Row] | None:
        """The rows of a separate test source, or None to split `rows()`."""
        return None

    def examples(self, n: int | None, split: str, seed: int | None = None) -> list[Example]:
        """`n` examples of `split` (None: all), a seeded stratified subsample of a seeded stratified split."""
        seed = self.seed if seed is None else seed
        rows, chosen = self._split_rows(split, seed)
        picked = take_from(chosen, [row.label for row in rows], n, split, f"task '{self.name}'")
        return [self._example(rows[i]) for i in picked]

    @cached_property
    def _stratified_splits(self) -> StratifiedSplits:
        return StratifiedSplits([row.label for row in self.rows()], self.test_fraction)

    def _split_rows(self, split: str, seed: int) -> tuple[list[Row], list[int]]:
        """The row list `split` draws from and its indices in seeded order."""
        check_split(split)
        separate_test = self.test_rows()
        if separate_test is None:
            return self.rows(), self._stratified_splits.rows(split, seed)
        rows = self.rows() if split == "train" else separate_test
        rng = np.random.default_rng([seed, _SPLIT_STREAM, SPLITS.index(split)])
        return rows, _shuffled(list(range(len(rows))), rng)

    def _example(self, row: Row) -> Example:
        return Example(
            id=row.id,
            input=row.text,
            label=row.label,
            labels=list(self.labels),
            explanation=row.explanation,
            meta={"label_name": self.label_names[row.label], **row.meta},
        )

    def summary(self, seed: int | None = None) -> dict[str, Any]:
        """Counts per split and per label name (what `faithex validate` prints for a dataset)."""
        seed = self.seed if seed is None else seed
        out: dict[str, Any] = {"task": self.name, "seed": seed, "labels": list(self.label_names), "splits": {}}
        for split in SPLITS:
            rows, chosen = self._split_rows(split, seed)
            counts = Counter(self.label_names[rows[i].label] for i in chosen)
            out["splits"][split] = {
                "total": len(chosen),
                "per_label": {name: counts.get(name, 0) for name in self.label_names},
                "with_explanation": sum(rows[i].explanation is not None for i in chosen),
            }
        return out
