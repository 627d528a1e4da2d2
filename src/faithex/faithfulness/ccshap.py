"""CC-SHAP (Parcalabescu & Frank, ACL 2024): does the explanation use the input the way the answer does?

Shapley values of the input's features (words, or paper 1's numbers) are computed twice: for the answer the model
gave and for the explanation it wrote, both teacher-forced under every coalition of features. Each output token's
column of Shapley values is normalised to ratios (value / the column's sum of |values| x 100), the ratios are
averaged over the output's tokens, and the score is the cosine similarity of the answer's and the explanation's
ratio vectors, 1 - cosine distance, in [-1, 1]: 1 when the input drives both the same way, 0 when unrelated, -1
when opposite. The reference is the authors' code (`Heidelberg-NLP/CC-SHAP`, `faithfulness.py`:
`aggregate_values_prediction`, `aggregate_values_explanation`, `cc_shap_score`; `cc_shap_measure` returns
1 - cosine distance).

Everything here is model-free: a *value function* maps a batch of coalitions, a boolean array (k, n) with True where
a feature is present (unmasked), to values (k,) or (k, m) (m output tokens); the protocol
(`faithex.protocols.ccshap`) builds it from a model.

- `exact_shapley`: all 2^n coalitions, the textbook formula (n <= `MAX_EXACT_FEATURES`).
- `sampled_shapley`: permutation sampling in antithetic pairs (a random order, then its reverse), seeded, with at
  most `max_coalitions` distinct coalitions evaluated. Every permutation's marginal contributions sum to
  v(all) - v(none), so the estimate keeps the efficiency property exactly; it is unbiased and converges to the exact
  values as the budget grows (where the orders happen to visit all 2^n coalitions, the exact values are returned).
  A permutation needs n + 1 coalitions (n - 1 new ones after the first), so the budget must be at least n + 1.
- `shapley_values`: exact when 2^n <= max_coalitions (and n is small enough), else sampled.
- `ratios`, `cc_shap_score`: the normalisation and the score. A vector without any attribution (all zeros: the
  output did not change under any coalition) has no direction: its score is NaN, "not applicable", never 0.
- `random_score`: the random-attribution baseline: the score of two independent random ratio vectors of the same
  length (standard normal values, normalised): what an answer and an explanation get when their attributions are
  unrelated. Its mean is 0 and its spread shrinks with the length (about 1/sqrt(n)), so a short input (paper 1's two
  or three numbers) gives high scores by chance: compare CC-SHAP with this baseline, not with 0.

Masking (`Features`): a feature is a word of the input (`faithex.attribution.words`) or, for paper 1's numeric
inputs ("X: [0.0808, 0.4024]"), a number. A masked word is *removed* with the whitespace before it, as
`leave_one_out` and captum's `feature_ablation` remove it, so CC-SHAP's answer attributions of a single word agree
with theirs. A masked number is *replaced by a placeholder* ("?" by default), because removing it would shift every
later number into its position (x[2] would be read as x[1]). The rest of the prompt (instruction, chat template,
in-context demonstrations, a generated reasoning) is never masked: unlike the reference, which masks every prompt
token and then drops the fixed ones from the normalisation, the players here are the input's features only.
Inputs with more than `max_features` words are played in contiguous groups of words (at most `max_features`), so
that the coalition budget still affords several permutations.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from faithex.attribution.words import Words

#: coalitions (k, n) bool, True = the feature is present -> values (k,) or (k, m).
ValueFn = Callable[[np.ndarray], np.ndarray]

#: Exact Shapley values evaluate 2^n coalitions; beyond this many features only sampling is offered.
MAX_EXACT_FEATURES = 10
#: The default coalition budget per item (the issue's bound: at most 64 coalitions per item).
DEFAULT_MAX_COALITIONS = 64
#: The default number of players: longer inputs are played in groups of neighbouring words.
DEFAULT_MAX_FEATURES = 16
#: What a masked number reads as (paper 1's numeric inputs).
NUMBER_PLACEHOLDER = "?"
NUMBER_PATTERN = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


# -- Shapley values -------------------------------------------------------------------------------------------------
@dataclass
class Shapley:
    """Shapley values of n features for m outputs, and what they cost."""

    values: np.ndarray
    """(n, m): feature i's Shapley value for output j."""
    full: np.ndarray
    """(m,): v(all features present)."""
    empty: np.ndarray
    """(m,): v(no feature present)."""
    coalitions: int
    """Distinct coalitions evaluated (calls of the value function's rows)."""
    exact: bool
    permutations: int = 0
    """Sampled: permutations drawn (0 for exact values)."""


def _evaluate(value: ValueFn, coalitions: np.ndarray) -> np.ndarray:
    """The value function's outputs as a (k, m) float array."""
    out = np.asarray(value(coalitions), dtype=float)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != len(coalitions):
        raise ValueError(f"a value function returns one value (or one row) per coalition: {len(coalitions)} "
                         f"coalitions gave shape {out.shape}")
    return out


def all_coalitions(n: int) -> np.ndarray:
    """(2^n, n) bool: row r holds feature i iff bit i of r is set (row 0: none, the last row: all)."""
    rows = np.arange(2 ** n)[:, None]
    return ((rows >> np.arange(n)) & 1).astype(bool)


def exact_shapley(value: ValueFn, n: int) -> Shapley:
    """phi_i = sum over S without i of |S|! (n - |S| - 1)! / n! * (v(S + i) - v(S)), over all 2^n coalitions (one
    call of `value`)."""
    if not 0 <= n <= MAX_EXACT_FEATURES:
        raise ValueError(f"exact Shapley values are offered for 0..{MAX_EXACT_FEATURES} features (2^n coalitions), "
                         f"got {n}; use sampled_shapley")
    values = _evaluate(value, all_coalitions(n))
    return Shapley(_exact_values(values, n), values[-1], values[0], len(values), exact=True)


def _exact_values(values: np.ndarray, n: int) -> np.ndarray:
    """The Shapley formula on the values of all 2^n coalitions, row r = the coalition of the bits of r."""
    index = np.arange(2 ** n)
    sizes = all_coalitions(n).sum(axis=1)
    weights = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) if s < n else 0.0
                        for s in range(n + 1)])
    phi = np.zeros((n, values.shape[1]))
    for i in range(n):
        without = index[(index >> i) & 1 == 0]
        phi[i] = (weights[sizes[without]][:, None] * (values[without | (1 << i)] - values[without])).sum(axis=0)
    return phi


def sampled_permutations(n: int, max_coalitions: int, seed: int) -> list[np.ndarray]:
    """Feature orders in antithetic pairs (an order, then its reverse), as many pairs as keep the distinct coalitions
    they visit (every prefix of every order) within `max_coalitions`; a single order where no pair fits. A pair's
    reverse cancels much of the order's variance (for a game quadratic in its players' weights, one pair gives the
    exact values)."""
    if n < 1:
        return []
    if max_coalitions < n + 1:
        raise ValueError(f"one permutation of {n} features visits {n + 1} coalitions; the budget is "
                         f"{max_coalitions} (raise max_coalitions or lower max_features)")
    rng = np.random.default_rng(seed)
    seen: set[bytes] = set()
    orders: list[np.ndarray] = []
    while len(seen) < 2 ** n:  # once every coalition is visited, more orders only repeat them
        order = orders[-1][::-1] if len(orders) % 2 else rng.permutation(n)
        prefixes = {_prefix(order, j).tobytes() for j in range(n + 1)}
        if len(seen | prefixes) > max_coalitions:
            break
        seen |= prefixes
        orders.append(order)
    # An order without its reverse adds variance that the pair would cancel: keep whole pairs where one fits.
    return orders[:len(orders) - len(orders) % 2] if len(orders) > 1 else orders


def _prefix(order: np.ndarray, length: int) -> np.ndarray:
    present = np.zeros(len(order), dtype=bool)
    present[order[:length]] = True
    return present


def sampled_shapley(value: ValueFn, n: int, max_coalitions: int = DEFAULT_MAX_COALITIONS, seed: int = 0) -> Shapley:
    """The mean marginal contribution of each feature over sampled orders (`sampled_permutations`); the distinct
    coalitions are evaluated in one call of `value`."""
    orders = sampled_permutations(n, max_coalitions, seed)
    keys: dict[bytes, int] = {}
    rows: list[np.ndarray] = []
    for order in orders or [np.arange(n)]:
        for j in range(n + 1):
            row = _prefix(order, j)
            if keys.setdefault(row.tobytes(), len(rows)) == len(rows):
                rows.append(row)
    values = _evaluate(value, np.array(rows, dtype=bool).reshape(len(rows), n))
    full, empty = values[keys[np.ones(n, bool).tobytes()]], values[keys[np.zeros(n, bool).tobytes()]]
    if len(rows) == 2 ** n:  # every coalition was visited: the exact values cost nothing more
        weights = 1 << np.arange(n)
        ordered = values[np.argsort([int((row * weights).sum()) for row in rows])]
        return Shapley(_exact_values(ordered, n), full, empty, len(rows), exact=True, permutations=len(orders))
    phi = np.zeros((n, values.shape[1]))
    for order in orders:
        previous = values[keys[_prefix(order, 0).tobytes()]]
        for j, feature in enumerate(order, start=1):
            current = values[keys[_prefix(order, j).tobytes()]]
            phi[feature] += current - previous
            previous = current
    return Shapley(phi / len(orders), full, empty, len(rows), exact=False, permutations=len(orders))


def shapley_values(value: ValueFn, n: int, max_coalitions: int = DEFAULT_MAX_COALITIONS, seed: int = 0) -> Shapley:
    """Exact values when all 2^n coalitions fit the budget (and n <= MAX_EXACT_FEATURES), else sampled ones."""
    if n <= MAX_EXACT_FEATURES and 2 ** n <= max_coalitions:
        return exact_shapley(value, n)
    return sampled_shapley(value, n, max_coalitions, seed)


# -- ratios and the score -------------------------------------------------------------------------------------------
def ratios(values: np.ndarray) -> np.ndarray:
    """The reference's normalisation: each output's column of Shapley values divided by the column's sum of
    absolute values, x 100, then the mean over the columns (outputs). A column without any attribution (all zeros)
    has no ratios and is left out of the mean; with none left, the ratios are NaN (not applicable)."""
    matrix = np.asarray(values, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    totals = np.abs(matrix).sum(axis=0)
    kept = totals > 0
    if not kept.any():
        return np.full(matrix.shape[0], np.nan)
    return (matrix[:, kept] / totals[kept] * 100.0).mean(axis=1)


def cc_shap_score(answer_ratios: Sequence[float], explanation_ratios: Sequence[float]) -> float:
    """1 - cosine distance of the two ratio vectors (their cosine similarity), in [-1, 1]; NaN when either has no
    direction (empty, all zeros, or NaN)."""
    a, b = np.asarray(answer_ratios, dtype=float), np.asarray(explanation_ratios, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"CC-SHAP compares attributions of the same features: lengths {a.shape} and {b.shape}")
    norms = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    if a.size == 0 or not np.isfinite(norms) or norms == 0.0:
        return math.nan
    return float(np.clip(np.dot(a, b) / norms, -1.0, 1.0))


def item_seed(seed: int, key: str) -> int:
    """A seed for one item, the same in every process (`hash()` is salted per process)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "little")


def random_ratios(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random attribution of n features as ratios: standard normal values (signed, as Shapley values are)."""
    return ratios(rng.standard_normal(n))


def random_score(n: int, seed: int) -> float:
    """The random-attribution baseline: the CC-SHAP score of two independent random ratio vectors of length n
    (NaN for n = 0). Seed it per item (`item_seed`) so that a rerun gives the same baseline."""
    rng = np.random.default_rng(seed)
    return cc_shap_score(random_ratios(n, rng), random_ratios(n, rng)) if n else math.nan


# -- features of an input, and masking them ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Features:
    """The players of one input: groups of spans of `text` (a word or a number each; neighbouring words grouped
    when there are more than the budget allows), and how a masked one is written."""

    text: str
    spans: tuple[tuple[int, int], ...]
    groups: tuple[tuple[int, ...], ...]
    """Feature i is the spans `groups[i]`."""
    placeholder: str | None
    """None: a masked span is removed with the whitespace before it; else it is replaced by this text."""

    def __len__(self) -> int:
        return len(self.groups)

    @property
    def names(self) -> list[str]:
        """Each feature as it reads in the input (a group: its words joined by spaces)."""
        return [" ".join(self.text[slice(*self.spans[s])] for s in group) for group in self.groups]

    def masked(self, present: Sequence[bool]) -> str:
        """The input with the features not `present` masked (all present: the input itself)."""
        if len(present) != len(self.groups):
            raise ValueError(f"a coalition names {len(self.groups)} features, got {len(present)}")
        hidden = {s for group, keep in zip(self.groups, present) if not keep for s in group}
        if self.placeholder is not None:
            pieces, end = [], 0
            for index, (start, stop) in enumerate(self.spans):
                pieces += [self.text[end:start], self.placeholder if index in hidden else self.text[start:stop]]
                end = stop
            return "".join(pieces) + self.text[end:]
        words = Words(self.text, self.spans)
        return words.compose(["" if i in hidden else piece for i, piece in enumerate(words.pieces)])


def group_spans(count: int, max_features: int) -> tuple[tuple[int, ...], ...]:
    """`count` spans in at most `max_features` contiguous groups of near-equal size (one group per span when they
    fit)."""
    if max_features < 1:
        raise ValueError(f"max_features must be at least 1, got {max_features}")
    bounds = np.linspace(0, count, min(count, max_features) + 1).round().astype(int)
    return tuple(tuple(range(a, b)) for a, b in zip(bounds, bounds[1:]))


def word_features(text: str, max_features: int = DEFAULT_MAX_FEATURES) -> Features:
    """The input's words (`faithex.attribution.words`), removed when masked."""
    words = Words.split(text)
    return Features(text, words.spans, group_spans(len(words), max_features), None)


def number_features(text: str, max_features: int = DEFAULT_MAX_FEATURES,
                    placeholder: str = NUMBER_PLACEHOLDER) -> Features:
    """The numbers in the input ("X: [0.0808, 0.4024]" has two), each replaced by `placeholder` when masked; the
    rest of the text stays."""
    spans = tuple(m.span() for m in NUMBER_PATTERN.finditer(text))
    return Features(text, spans, group_spans(len(spans), max_features), placeholder)


def features_for(text: str, vector: Sequence[float] | None = None, kind: str = "auto",
                 max_features: int = DEFAULT_MAX_FEATURES) -> Features:
    """The features of an input. `kind`: "words", "numbers", or "auto": numbers when the input writes exactly the
    numbers of its `vector` (paper 1's synthetic inputs keep theirs in `meta["x"]`), else words."""
    if kind == "auto":
        numbers = [float(m.group()) for m in NUMBER_PATTERN.finditer(text)]
        kind = "numbers" if vector is not None and numbers == [float(v) for v in vector] else "words"
    if kind == "numbers":
        return number_features(text, max_features)
    if kind == "words":
        return word_features(text, max_features)
    raise ValueError(f"features are 'auto', 'words' or 'numbers', not {kind!r}")
