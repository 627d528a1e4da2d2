"""ERASER comprehensiveness and sufficiency (DeYoung et al. 2020) with AOPC over top-k bins, for any word-level
explanation.

With p(ŷ|text) the probability of the label ŷ predicted on the full input x (a softmax over the label set's scores,
per text), and r_k the k top-ranked words of the explanation, DeYoung et al. define

    comprehensiveness_k = p(ŷ|x) - p(ŷ|x without r_k)     high: removing the top words hurts the prediction
    sufficiency_k       = p(ŷ|x) - p(ŷ|r_k only)          low: the top words alone keep the prediction
    AOPC                = mean of the above over the bins (1%, 5%, 10%, 20%, 50% of the words)

so every value lies in [-1, 1]. ERASER's scorer averages over the bins it is given with no k = 0 term
(`jayded/eraserbenchmark`, `rationale_benchmark/metrics.py`, `_instances_aopc`), and so does `Eraser`.

`eraser_batch` also keeps the same differences of the scorer's own numbers (the predicted label's log-probability)
under their own names, `comprehensiveness_logprob`, `sufficiency_logprob` and their AOPCs: unbounded, and what this
module computed under the plain names before. A record without `full_probability` (written before) holds only
those log-probability numbers, under the plain names; the metrics never read them as probabilities.

Words are the input's whitespace-separated tokens, unless the explanation's own segmentation is passed as `words`
(an attribution method that splits "great!" into "great" and "!"); a variant is its kept words joined by spaces.
A bin of fraction q keeps k = ceil(q * n) words of n (at least one word for any non-empty bin, so the small bins are
not no-ops on a 15-word tweet; ERASER's text states the bins, not the rounding), and never more words than the
explanation ranks: a ranked list of 2 words gives those 2 words in every bin that asks for more. Removing a word
deletes it (or writes `replacement` in its place); "only r_k" keeps the rationale's words in their original order.

The pure functions take a score function; `eraser_batch` asks a *label scorer* (texts -> (n, k) label scores) once
for every variant of every example, and `model_label_scorer` builds that scorer from a model with
`faithex.lm.scoring.label_scores` (torch is imported only there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from faithex.faithfulness.self_consistency import occurs

#: The top-k fractions of words DeYoung et al. bin by for AOPC: 1%, 5%, 10%, 20% and 50% (`top_k`: how many words).
DEFAULT_BINS: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20, 0.50)

#: f(text) -> the predicted label's score on that text (for `eraser`: its probability).
ScoreFn = Callable[[str], float]
#: scorer(texts) -> (len(texts), k) scores of every label on each text (log-probabilities, normalised or not).
LabelScorer = Callable[[Sequence[str]], np.ndarray]


# -- words, rankings, bins -----------------------------------------------------------------------------------------
def split_words(text: str) -> list[str]:
    """The words an explanation ranks: whitespace-separated tokens."""
    return text.split()


def ranking_from_scores(scores: Sequence[float]) -> list[int]:
    """Word positions by decreasing score (ties: earlier position first), one score per word of `split_words`."""
    values = [float(s) for s in scores]
    if any(math.isnan(v) for v in values):
        raise ValueError("word scores contain NaN")
    return sorted(range(len(values)), key=lambda i: (-values[i], i))


def ranking_from_words(text: str, ranked_words: Sequence[str]) -> list[int]:
    """Word positions of a ranked word list (a self-explanation naming words): every word that contains the first
    named word as a whole word (case-insensitive, as the self-consistency checks redact it: "USAirways" ranks
    "@USAirways", "good" ranks "good!"), then the second, ...; a named phrase ranks each of its words."""
    words = split_words(text)
    positions: list[int] = []
    for named in ranked_words:
        for part in split_words(named):
            positions += [i for i, w in enumerate(words) if i not in positions and occurs(part, w)]
    return positions


def top_k(n_words: int, fraction: float) -> int:
    """How many words the bin `fraction` keeps: ceil(fraction * n), rounded first so 0.1 * 30 is 3, not 4."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a bin is a fraction of the words in [0, 1], got {fraction}")
    return min(n_words, math.ceil(round(fraction * n_words, 9)))


def _checked_ranking(ranking: Sequence[int], n_words: int) -> list[int]:
    positions = [int(i) for i in ranking]
    if any(not 0 <= i < n_words for i in positions):
        raise ValueError(f"a ranking holds word positions 0..{n_words - 1}, got {positions}")
    if len(set(positions)) != len(positions):
        raise ValueError(f"a ranking names each word position once, got {positions}")
    return positions


def without_words(words: Sequence[str], positions: Sequence[int], replacement: str | None = None) -> str:
    """The text with the words at `positions` deleted (or replaced by `replacement`)."""
    drop = set(positions)
    if replacement is None:
        return " ".join(w for i, w in enumerate(words) if i not in drop)
    return " ".join(replacement if i in drop else w for i, w in enumerate(words))


def only_words(words: Sequence[str], positions: Sequence[int], replacement: str | None = None) -> str:
    """The text with only the words at `positions` (in their original order; the others deleted or replaced)."""
    keep = set(positions)
    return without_words(words, [i for i in range(len(words)) if i not in keep], replacement)


# -- the definitions (one example, a scalar score function) --------------------------------------------------------
def comprehensiveness(text: str, rationale: Sequence[int], f: ScoreFn, replacement: str | None = None,
                      words: Sequence[str] | None = None) -> float:
    """f(x) - f(x without the rationale's words); `rationale`: word positions (in `words`, default the text's
    whitespace-separated words). DeYoung et al.'s f is the predicted label's probability."""
    words = split_words(text) if words is None else list(words)
    return f(text) - f(without_words(words, _checked_ranking(rationale, len(words)), replacement))


def sufficiency(text: str, rationale: Sequence[int], f: ScoreFn, replacement: str | None = None,
                words: Sequence[str] | None = None) -> float:
    """f(x) - f(only the rationale's words)."""
    words = split_words(text) if words is None else list(words)
    return f(text) - f(only_words(words, _checked_ranking(rationale, len(words)), replacement))


def _mean(values: Sequence[float] | None) -> float:
    return math.nan if values is None else float(np.mean(values))


@dataclass
class Eraser:
    """ERASER scores of one explanation: per bin, and their AOPC means.

    The plain names are DeYoung et al.'s, on the predicted label's probability (in [-1, 1]); the `_logprob` fields
    are the same differences of the scorer's log-probability, which only `eraser_batch` fills (None otherwise)."""

    bins: list[float]
    k: list[int]
    """Words removed / kept per bin."""
    full_probability: float
    """p(ŷ|x): the predicted label's probability on the whole input."""
    comprehensiveness: list[float]
    sufficiency: list[float]
    label: int | None = None
    """The predicted label ŷ (batched form)."""
    full_logprob: float | None = None
    """The scorer's log-probability of ŷ on the whole input."""
    comprehensiveness_logprob: list[float] | None = None
    sufficiency_logprob: list[float] | None = None

    @property
    def aopc_comprehensiveness(self) -> float:
        return _mean(self.comprehensiveness)

    @property
    def aopc_sufficiency(self) -> float:
        return _mean(self.sufficiency)

    @property
    def aopc_comprehensiveness_logprob(self) -> float:
        """NaN where the log-probability variant was not computed."""
        return _mean(self.comprehensiveness_logprob)

    @property
    def aopc_sufficiency_logprob(self) -> float:
        return _mean(self.sufficiency_logprob)

    def to_dict(self) -> dict[str, Any]:
        """The `eraser` record of a sample (what the aopc_* metrics read; `full_probability` marks the probability
        definition, which records written before lack). An AOPC not computed is None, as JSON has no NaN."""
        aopcs = {name: getattr(self, name) for name in ("aopc_comprehensiveness", "aopc_sufficiency",
                                                        "aopc_comprehensiveness_logprob", "aopc_sufficiency_logprob")}
        return {**asdict(self), **{name: None if math.isnan(v) else v for name, v in aopcs.items()}}


def variants(text: str, ranking: Sequence[int], bins: Sequence[float] = DEFAULT_BINS,
             replacement: str | None = None,
             words: Sequence[str] | None = None) -> tuple[list[int], list[str], list[str]]:
    """Per bin: k, the text without the top-k words, the text of the top-k words only."""
    words = split_words(text) if words is None else list(words)
    positions = _checked_ranking(ranking, len(words))
    ks = [min(top_k(len(words), q), len(positions)) for q in bins]
    removed = [without_words(words, positions[:k], replacement) for k in ks]
    kept = [only_words(words, positions[:k], replacement) for k in ks]
    return ks, removed, kept


def eraser(text: str, ranking: Sequence[int], probability: ScoreFn, bins: Sequence[float] = DEFAULT_BINS,
           replacement: str | None = None, words: Sequence[str] | None = None) -> Eraser:
    """ERASER scores of one ranked explanation (the reference definition): `probability(text)` is p(ŷ|text) of the
    label predicted on the full text. A value outside [0, 1] is refused: it is not a probability."""
    _check_bins(bins)
    ks, removed, kept = variants(text, ranking, bins, replacement, words)
    p = lambda variant: _checked_probability(probability(variant))  # noqa: E731
    full = p(text)
    return Eraser(list(bins), ks, full, [full - p(t) for t in removed], [full - p(t) for t in kept])


def _checked_probability(value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"ERASER scores probabilities in [0, 1], got {value}")
    return value


def _check_bins(bins: Sequence[float]) -> None:
    if not bins:
        raise ValueError("AOPC needs at least one bin")
    for q in bins:
        top_k(1, q)  # raises for a fraction outside [0, 1]


def label_probabilities(scores: np.ndarray) -> np.ndarray:
    """Softmax over the labels, per text (row): p(y|text) from label log-probabilities, normalised or not."""
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


# -- batched: every variant of every example scored in one call ----------------------------------------------------
def eraser_batch(texts: Sequence[str], rankings: Sequence[Sequence[int]], scorer: LabelScorer,
                 bins: Sequence[float] = DEFAULT_BINS, labels: Sequence[int] | None = None,
                 replacement: str | None = None, words: Sequence[Sequence[str]] | None = None) -> list[Eraser]:
    """ERASER scores of many explanations: the full texts and all their variants go to `scorer` in one call
    (identical variants once; short texts repeat k across the small bins). The label scored is the one the
    scorer predicts on each full text (argmax), unless `labels` names one per text. Probabilities are the softmax of
    each text's label scores; the `_logprob` fields difference the scores themselves. `words`: each text's word
    segmentation, when the rankings refer to one other than whitespace-separated tokens."""
    _check_bins(bins)
    if any(x is not None and len(x) != len(texts) for x in (rankings, labels, words)):
        raise ValueError("eraser_batch needs one ranking (and one label and word list, if given) per text")
    segmentations = words if words is not None else [None] * len(texts)
    layouts = [variants(t, r, bins, replacement, w) for t, r, w in zip(texts, rankings, segmentations)]
    unique: dict[str, int] = {}
    for text, (_, removed, kept) in zip(texts, layouts):
        for variant in (text, *removed, *kept):
            unique.setdefault(variant, len(unique))
    if not unique:
        return []
    scores = np.asarray(scorer(list(unique)), dtype=float)
    probabilities = label_probabilities(scores)
    results = []
    for i, (text, (ks, removed, kept)) in enumerate(zip(texts, layouts)):
        label = int(np.argmax(scores[unique[text]])) if labels is None else int(labels[i])
        p = lambda variant: float(probabilities[unique[variant], label])  # noqa: E731 - the definition's p(ŷ|.)
        logp = lambda variant: float(scores[unique[variant], label])  # noqa: E731
        full, full_log = p(text), logp(text)
        results.append(Eraser(list(bins), ks, full, [full - p(t) for t in removed], [full - p(t) for t in kept],
                              label, full_log, [full_log - logp(t) for t in removed],
                              [full_log - logp(t) for t in kept]))
    return results


def model_label_scorer(model, tokenizer, task, prompt: Callable[[str], list[dict[str, str]]] | None = None,
                       system_prompt: str | None = "", batch_size: int = 32, precision: str = "fp32",
                       normalize: bool = True) -> LabelScorer:
    """A label scorer asking `model` for the task's labels with `faithex.lm.scoring.label_scores`.

    `prompt(text)`: the conversation that asks for a text's label; default: the task's own label prompt (its
    instruction, then the text: the `zero_shot` / `label_only` regimes' prompt). `normalize`: log-probabilities
    renormalised over the label set (log-softmax of the labels' summed log-probabilities: a classifier's log p(y|x));
    False: the raw summed log-probability of each label's tokens. Only the `_logprob` scores of `eraser_batch` differ
    between the two: its probabilities are the softmax over the labels either way."""

    def default_prompt(text: str) -> list[dict[str, str]]:
        content = text if not task.instruction else f"{task.instruction}\n{text}"
        system = [] if system_prompt is None else [{"role": "system", "content": system_prompt}]
        return system + [{"role": "user", "content": content}]

    ask = prompt or default_prompt

    def scorer(texts: Sequence[str]) -> np.ndarray:
        from faithex.lm.generation import render
        from faithex.lm.scoring import label_scores

        names = [task.answer_text(label) for label in task.labels]
        prompts = [render(tokenizer, ask(t)) for t in texts]
        summed = label_scores(model, tokenizer, prompts, names, batch_size=batch_size, precision=precision).summed
        values = summed.log_softmax(dim=1) if normalize else summed
        return values.numpy()

    return scorer

