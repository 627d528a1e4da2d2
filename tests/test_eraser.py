"""ERASER comprehensiveness and sufficiency with AOPC: hand-computed values on probabilities (a fake probability and
a stub label scorer), the log-probability variant under its own name, edge cases, the batched form against the
definition, the metrics (old records included), and the model scorer on the tiny model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faithex.faithfulness.eraser import (
    DEFAULT_BINS,
    comprehensiveness,
    eraser,
    eraser_batch,
    label_probabilities,
    only_words,
    ranking_from_scores,
    ranking_from_words,
    sufficiency,
    top_k,
    variants,
    without_words,
)

TEXT = "the good film had good acting and a bad end"  # 10 words
SCORES = [0, 5, 1, 0, 4, 0, 0, 0, -3, 0]
RANKING = [1, 4, 2, 0, 3, 5, 6, 7, 9, 8]


def f(text: str) -> float:
    """A stand-in for the predicted label's probability: 0.01, plus 0.2 per "good" and 0.01 per word (0.51 on
    TEXT, 0.01 on the empty text)."""
    words = text.split()
    return 0.01 + 0.2 * words.count("good") + 0.01 * len(words)


def scorer(texts):
    """A label scorer whose softmax is `f`: label 1 scores log f, label 0 log(1 - f) (so label 1 is predicted where
    f > 0.5, as on TEXT)."""
    values = np.array([f(t) for t in texts])
    return np.log(np.stack([1 - values, values], axis=1))


@pytest.mark.parametrize("n, fraction, k", [
    (10, 0.01, 1), (10, 0.05, 1), (10, 0.2, 2), (10, 0.5, 5), (15, 0.01, 1), (30, 0.1, 3), (5, 0.5, 3),
    (10, 0.0, 0), (10, 1.0, 10), (0, 0.5, 0), (200, 0.05, 10),
])
def test_top_k_is_the_ceiling_of_the_fraction(n, fraction, k):
    assert top_k(n, fraction) == k


def test_default_bins_are_deyoungs():
    assert DEFAULT_BINS == (0.01, 0.05, 0.10, 0.20, 0.50)
    # on 200 words the bins are 1, 5, 10, 20 and 50% exactly; a record states its bins and their k
    long_text = " ".join(f"w{i}" for i in range(200))
    result = eraser_batch([long_text], [list(range(200))], lambda texts: np.zeros((len(texts), 2)))[0]
    assert result.bins == [0.01, 0.05, 0.10, 0.20, 0.50] and result.k == [2, 10, 20, 40, 100]


def test_rankings():
    assert ranking_from_scores(SCORES) == RANKING  # ties keep the earlier word first
    assert ranking_from_words(TEXT, ["good", "BAD", "missing"]) == [1, 4, 8]
    assert ranking_from_words("Good, good! not good", ["good"]) == [0, 1, 3]  # punctuation and case ignored
    assert ranking_from_words("@USAirways bag rescued.", ["USAirways", "rescued"]) == [0, 2]
    assert ranking_from_words("goodness good", ["good"]) == [1]  # whole words only
    assert ranking_from_words(TEXT, ["good film", "film"]) == [1, 4, 2]  # a phrase ranks its words, once each
    with pytest.raises(ValueError, match="NaN"):
        ranking_from_scores([0.0, float("nan")])


def test_word_removal_and_keeping():
    words = TEXT.split()
    assert without_words(words, [1, 4]) == "the film had acting and a bad end"
    assert only_words(words, [4, 1, 8]) == "good good bad"  # the original order, whatever the ranking
    assert without_words(words, [1], replacement="[MASK]") == "the [MASK] film had good acting and a bad end"
    assert only_words(words, [1], replacement="_") == "_ good _ _ _ _ _ _ _ _"


def test_hand_computed_comprehensiveness_sufficiency_and_aopc():
    # bins 1%, 5%, 10%, 20%, 50% of 10 words: k = 1, 1, 1, 2, 5
    result = eraser(TEXT, RANKING, f)
    assert result.k == [1, 1, 1, 2, 5] and result.full_probability == pytest.approx(0.51)
    # without "good" (9 words, one good): 0.30; without both: 0.09; without the top 5: 0.06
    assert result.comprehensiveness == pytest.approx([0.21, 0.21, 0.21, 0.42, 0.45])
    # only "good": 0.22; "good good": 0.43; "the good film had good": 0.46
    assert result.sufficiency == pytest.approx([0.29, 0.29, 0.29, 0.08, 0.05])
    assert result.aopc_comprehensiveness == pytest.approx(0.3)
    assert result.aopc_sufficiency == pytest.approx(0.2)
    assert math.isnan(result.aopc_comprehensiveness_logprob)  # the scalar form scores probabilities only
    assert comprehensiveness(TEXT, [1, 4], f) == pytest.approx(0.42)
    assert sufficiency(TEXT, [1, 4], f) == pytest.approx(0.08)


def test_a_score_that_is_not_a_probability_is_refused():
    with pytest.raises(ValueError, match="probabilit"):
        eraser(TEXT, RANKING, lambda text: 10 * f(text))  # 5.1 on TEXT: a log-odds or a count, not p(y|x)


#: A stub label scorer's fixed log-probabilities (three labels) of TEXT and of each of its variants under RANKING
#: (k = 1, 1, 1, 2, 5). Some rows are not normalised: the softmax over the labels is what ERASER scores.
STUB = {
    TEXT: np.log([0.1, 0.7, 0.2]),  # ŷ = 1, p = 0.7
    "the film had good acting and a bad end": np.log([0.3, 0.5, 0.2]),  # without the top 1: p = 0.5
    "the film had acting and a bad end": np.log([0.5, 0.3, 0.2]),  # without the top 2: p = 0.3
    "acting and a bad end": np.log([0.3, 0.1, 0.1]),  # without the top 5: softmax (0.6, 0.2, 0.2), p = 0.2
    "good": np.log([0.2, 0.6, 0.2]),  # the top 1 only: p = 0.6
    "good good": np.log([0.05, 0.4, 0.05]),  # the top 2 only: softmax (0.1, 0.8, 0.1), p = 0.8
    "the good film had good": np.log([0.1, 0.7, 0.2]) - 3.0,  # the top 5 only: p = 0.7
}


def stub_scorer(texts):
    return np.stack([STUB[t] for t in texts])


def test_hand_computed_probabilities_with_a_stub_label_scorer():
    result = eraser_batch([TEXT], [RANKING], stub_scorer)[0]
    assert result.label == 1 and result.k == [1, 1, 1, 2, 5]
    assert result.full_probability == pytest.approx(0.7, abs=1e-9)
    assert result.comprehensiveness == pytest.approx([0.2, 0.2, 0.2, 0.4, 0.5], abs=1e-9)
    assert result.sufficiency == pytest.approx([0.1, 0.1, 0.1, -0.1, 0.0], abs=1e-9)
    assert result.aopc_comprehensiveness == pytest.approx(1.5 / 5, abs=1e-9)
    assert result.aopc_sufficiency == pytest.approx(0.2 / 5, abs=1e-9)
    record = result.to_dict()
    assert record["aopc_comprehensiveness"] == pytest.approx(0.3, abs=1e-9)
    assert record["aopc_sufficiency"] == pytest.approx(0.04, abs=1e-9)
    assert record["full_probability"] == pytest.approx(0.7, abs=1e-9)


def test_the_log_probability_variant_keeps_its_numbers_under_its_own_name():
    result = eraser_batch([TEXT], [RANKING], stub_scorer)[0]
    # what the plain names held before: differences of the scorer's own numbers for ŷ, unnormalised rows as given
    log_full = math.log(0.7)
    removed = [math.log(0.5)] * 3 + [math.log(0.3), math.log(0.1)]
    kept = [math.log(0.6)] * 3 + [math.log(0.4), math.log(0.7) - 3.0]
    assert result.full_logprob == pytest.approx(log_full, abs=1e-9)
    assert result.comprehensiveness_logprob == pytest.approx([log_full - v for v in removed], abs=1e-9)
    assert result.sufficiency_logprob == pytest.approx([log_full - v for v in kept], abs=1e-9)
    record = result.to_dict()
    assert record["aopc_comprehensiveness_logprob"] == pytest.approx(np.mean([log_full - v for v in removed]))
    assert record["aopc_sufficiency_logprob"] == pytest.approx(np.mean([log_full - v for v in kept]))
    # by hand: (3 log(0.7/0.6) + log(0.7/0.4) + 3) / 5
    assert record["aopc_sufficiency_logprob"] == pytest.approx(
        (3 * math.log(0.7 / 0.6) + math.log(0.7 / 0.4) + 3.0) / 5, abs=1e-9)


def test_probability_values_stay_in_the_unit_range():
    rng = np.random.default_rng(0)
    texts = [" ".join(f"w{j}" for j in range(n)) for n in (1, 3, 12, 40)]
    rankings = [list(rng.permutation(len(t.split()))) for t in texts]
    results = eraser_batch(texts, rankings, lambda batch: rng.normal(scale=5.0, size=(len(batch), 3)))
    for result in results:
        values = result.comprehensiveness + result.sufficiency
        assert all(-1.0 <= v <= 1.0 for v in values) and 0.0 <= result.full_probability <= 1.0
        assert -1.0 <= result.aopc_comprehensiveness <= 1.0 and -1.0 <= result.aopc_sufficiency <= 1.0


def test_label_probabilities_are_a_softmax_per_text():
    scores = np.array([[0.0, 0.0], [math.log(3.0), 0.0], [-1000.0, -1001.0]])
    expected = [[0.5, 0.5], [0.75, 0.25], [1 / (1 + math.exp(-1)), 1 / (1 + math.e)]]
    assert label_probabilities(scores) == pytest.approx(np.array(expected), abs=1e-12)


def test_empty_rationale():
    result = eraser(TEXT, [], f)
    assert result.k == [0] * 5
    assert result.comprehensiveness == [0.0] * 5  # nothing removed
    assert result.sufficiency == pytest.approx([0.5] * 5)  # p(x) - p(empty text)


def test_every_word():
    result = eraser(TEXT, RANKING, f, bins=(1.0,))
    assert result.k == [10]
    assert result.comprehensiveness == pytest.approx([0.5])  # p(x) - p(empty text)
    assert result.sufficiency == pytest.approx([0.0])  # the rationale is the whole text


def test_a_short_ranked_list_is_used_whole_in_the_larger_bins():
    result = eraser(TEXT, ranking_from_words(TEXT, ["good"]), f)
    assert result.k == [1, 1, 1, 2, 2]
    assert result.aopc_comprehensiveness == pytest.approx((0.21 * 3 + 0.42 * 2) / 5)


def test_empty_text():
    result = eraser("", [], f)
    assert result.k == [0] * 5 and result.comprehensiveness == [0.0] * 5 and result.sufficiency == [0.0] * 5


def test_replacement_keeps_the_length():
    result = eraser(TEXT, RANKING, f, bins=(0.1,), replacement="[MASK]")
    assert result.comprehensiveness == pytest.approx([0.51 - 0.31])  # one good and still 10 words


def test_an_explanations_own_segmentation():
    words = ["great", "!!!", "bad"]
    ks, removed, kept = variants("great!!! bad", [1], bins=(0.5,), words=words)
    assert ks == [1] and removed == ["great bad"] and kept == ["!!!"]


@pytest.mark.parametrize("ranking", [[10], [-1], [1, 1]])
def test_invalid_rankings_are_refused(ranking):
    with pytest.raises(ValueError, match="ranking"):
        eraser(TEXT, ranking, f)


@pytest.mark.parametrize("bins", [(), (1.5,), (-0.1,)])
def test_invalid_bins_are_refused(bins):
    with pytest.raises(ValueError):
        eraser(TEXT, RANKING, f, bins=bins)


def test_batched_form_equals_the_definition_in_one_scorer_call():
    texts = [TEXT, "bad bad good", "nothing here at all"]
    rankings = [RANKING, [2, 0], []]
    calls = []

    def counting(batch):
        calls.append(list(batch))
        return scorer(batch)

    results = eraser_batch(texts, rankings, counting)
    assert len(calls) == 1 and len(calls[0]) == len(set(calls[0]))  # one call, every variant once
    for text, ranking, result in zip(texts, rankings, results):
        label = int(np.argmax(scorer([text])[0]))
        expected = eraser(text, ranking, lambda t: float(label_probabilities(scorer([t]))[0, label]))
        log_f = lambda t: float(scorer([t])[0, label])  # noqa: E731
        assert result.label == label
        assert result.comprehensiveness == pytest.approx(expected.comprehensiveness)
        assert result.sufficiency == pytest.approx(expected.sufficiency)
        assert result.sufficiency_logprob == pytest.approx([sufficiency(text, ranking[:k], log_f) for k in result.k])
    assert results[0].label == 1 and results[0].aopc_comprehensiveness == pytest.approx(0.3)
    # "nothing here at all": f = 0.05, label 0 (p = 0.95); the empty rationale's sufficiency is p(x) - p("") = -0.04
    assert results[2].label == 0 and results[2].sufficiency == pytest.approx([-0.04] * 5)


def test_batched_form_with_given_labels_and_checks():
    result = eraser_batch([TEXT], [RANKING], scorer, labels=[0])[0]
    assert result.label == 0 and result.aopc_comprehensiveness == pytest.approx(-0.3)  # label 0 has p = 1 - f
    with pytest.raises(ValueError, match="one ranking"):
        eraser_batch([TEXT, TEXT], [RANKING], scorer)
    assert eraser_batch([], [], scorer) == []


# -- the metrics ----------------------------------------------------------------------------------------------------
ERASER_METRICS = ["aopc_comprehensiveness", "aopc_sufficiency", "aopc_comprehensiveness_logprob",
                  "aopc_sufficiency_logprob"]

#: An `eraser` record as written before the probability definition: log-probability numbers under the plain names.
OLD_RECORD = {"bins": list(DEFAULT_BINS), "k": [1, 1, 1, 2, 5], "full_score": -0.36, "label": 1,
              "comprehensiveness": [0.5, 0.5, 0.5, 0.8, 1.2], "sufficiency": [0.1, 0.1, 0.1, 0.0, -0.2],
              "aopc_comprehensiveness": 0.7, "aopc_sufficiency": 0.02}


def test_eraser_records_feed_the_aopc_metrics():
    from faithex.metrics import evaluate_samples

    records = [r.to_dict() for r in eraser_batch([TEXT, TEXT], [RANKING, []], scorer)]
    samples = [{"id": str(i), "eraser": record} for i, record in enumerate(records)]
    metrics = evaluate_samples(samples, ERASER_METRICS)
    assert metrics["aopc_comprehensiveness"]["value"] == pytest.approx(0.15)  # (0.3 + 0.0) / 2
    assert metrics["aopc_sufficiency"]["value"] == pytest.approx((0.2 + 0.5) / 2)
    assert metrics["aopc_sufficiency"]["n"] == 2
    expected_log = np.mean([records[0]["aopc_comprehensiveness_logprob"], 0.0])
    assert metrics["aopc_comprehensiveness_logprob"]["value"] == pytest.approx(expected_log)
    assert metrics["aopc_sufficiency_logprob"]["n"] == 2


def test_an_old_record_is_not_read_as_probabilities():
    from faithex.metrics import evaluate_samples, get_metric

    new = eraser_batch([TEXT], [RANKING], scorer)[0].to_dict()
    samples = [{"id": "old", "eraser": OLD_RECORD}, {"id": "new", "eraser": new}]
    for name in ERASER_METRICS:
        values = get_metric(name)(samples)
        assert math.isnan(values[0]) and not math.isnan(values[1])
    metrics = evaluate_samples(samples, ERASER_METRICS)
    assert metrics["aopc_comprehensiveness"]["n"] == 1
    assert metrics["aopc_comprehensiveness"]["value"] == pytest.approx(0.3)  # the new record's alone
    only_old = evaluate_samples([{"id": "old", "eraser": OLD_RECORD}], ERASER_METRICS)
    assert all(result["n"] == 0 and math.isnan(result["value"]) for result in only_old.values())
    assert not set(ERASER_METRICS) & set(evaluate_samples([{"id": "old", "eraser": OLD_RECORD}]))  # not applicable


def test_a_record_from_the_scalar_form_has_no_log_probability_metrics():
    from faithex.metrics import get_metric

    record = eraser(TEXT, RANKING, f).to_dict()
    assert record["aopc_comprehensiveness_logprob"] is None
    samples = [{"id": "scalar", "eraser": record}]
    assert get_metric("aopc_comprehensiveness")(samples)[0] == pytest.approx(0.3)
    assert math.isnan(get_metric("aopc_comprehensiveness_logprob")(samples)[0])


def test_registered_names_directions_and_ranges():
    from faithex.metrics import get_metric, list_metrics

    assert set(ERASER_METRICS) <= set(list_metrics("faithfulness"))
    expected = {"aopc_comprehensiveness": (True, (-1.0, 1.0)), "aopc_sufficiency": (False, (-1.0, 1.0)),
                "aopc_comprehensiveness_logprob": (True, (-math.inf, math.inf)),
                "aopc_sufficiency_logprob": (False, (-math.inf, math.inf))}
    for name, (higher_is_better, value_range) in expected.items():
        metric = get_metric(name)
        assert metric.higher_is_better is higher_is_better and metric.range == value_range


def test_model_label_scorer_on_the_tiny_model(tiny_model_dir):
    import torch

    from faithex.faithfulness.eraser import model_label_scorer
    from faithex.lm.generation import render
    from faithex.lm.models import load_model
    from faithex.lm.scoring import label_scores
    from faithex.tasks.base import Task

    class Reviews(Task):
        labels = (0, 1)
        label_names = ("negative", "positive")
        instruction = "Sentiment (negative or positive)?"

    loaded = load_model(tiny_model_dir)
    task = Reviews()
    texts = ["a fine film", "dull", ""]
    normalised = model_label_scorer(loaded.model, loaded.tokenizer, task, batch_size=2)(texts)
    assert normalised.shape == (3, 2)
    assert np.allclose(np.logaddexp(normalised[:, 0], normalised[:, 1]), 0.0, atol=1e-5)  # a distribution
    raw = model_label_scorer(loaded.model, loaded.tokenizer, task, normalize=False)(texts)
    prompts = [render(loaded.tokenizer, [{"role": "system", "content": ""},
                                         {"role": "user", "content": f"{task.instruction}\n{t}"}]) for t in texts]
    expected = label_scores(loaded.model, loaded.tokenizer, prompts, ["negative", "positive"]).summed
    torch.testing.assert_close(torch.from_numpy(raw), expected)
    results = eraser_batch(["a fine film indeed"], [[1, 0]], model_label_scorer(loaded.model, loaded.tokenizer, task))
    assert len(results[0].comprehensiveness) == 5 and np.isfinite(results[0].aopc_sufficiency)
