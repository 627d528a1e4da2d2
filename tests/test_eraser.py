"""ERASER comprehensiveness and sufficiency with AOPC: hand-computed values with a fake score function, edge cases,
the batched form against the definition, and the model scorer on the tiny model."""

from __future__ import annotations

import numpy as np
import pytest

from faithex.faithfulness.eraser import (
    DEFAULT_BINS,
    comprehensiveness,
    eraser,
    eraser_batch,
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
    """A stand-in for the predicted label's log-probability: 2 per "good", 0.1 per word."""
    words = text.split()
    return 2.0 * words.count("good") + 0.1 * len(words)


def scorer(texts):
    """A label scorer built on `f`: label 1 scores f, label 0 scores -f (so label 1 is predicted where f > 0)."""
    values = np.array([f(t) for t in texts])
    return np.stack([-values, values], axis=1)


@pytest.mark.parametrize("n, fraction, k", [
    (10, 0.01, 1), (10, 0.05, 1), (10, 0.2, 2), (10, 0.5, 5), (15, 0.01, 1), (30, 0.1, 3), (5, 0.5, 3),
    (10, 0.0, 0), (10, 1.0, 10), (0, 0.5, 0), (200, 0.05, 10),
])
def test_top_k_is_the_ceiling_of_the_fraction(n, fraction, k):
    assert top_k(n, fraction) == k


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
    assert result.k == [1, 1, 1, 2, 5] and result.full_score == pytest.approx(5.0)
    # without "good" (9 words, one good): 2.9; without both: 0.8; without the top 5: 0.5
    assert result.comprehensiveness == pytest.approx([2.1, 2.1, 2.1, 4.2, 4.5])
    # only "good": 2.1; "good good": 4.2; "the good film had good": 4.5
    assert result.sufficiency == pytest.approx([2.9, 2.9, 2.9, 0.8, 0.5])
    assert result.aopc_comprehensiveness == pytest.approx(3.0)
    assert result.aopc_sufficiency == pytest.approx(2.0)
    assert comprehensiveness(TEXT, [1, 4], f) == pytest.approx(4.2)
    assert sufficiency(TEXT, [1, 4], f) == pytest.approx(0.8)


def test_empty_rationale():
    result = eraser(TEXT, [], f)
    assert result.k == [0] * 5
    assert result.comprehensiveness == [0.0] * 5  # nothing removed
    assert result.sufficiency == pytest.approx([5.0] * 5)  # f(x) - f(empty text)


def test_every_word():
    result = eraser(TEXT, RANKING, f, bins=(1.0,))
    assert result.k == [10]
    assert result.comprehensiveness == pytest.approx([5.0])  # f(x) - f(empty text)
    assert result.sufficiency == pytest.approx([0.0])  # the rationale is the whole text


def test_a_short_ranked_list_is_used_whole_in_the_larger_bins():
    result = eraser(TEXT, ranking_from_words(TEXT, ["good"]), f)
    assert result.k == [1, 1, 1, 2, 2]
    assert result.aopc_comprehensiveness == pytest.approx((2.1 * 3 + 4.2 * 2) / 5)


def test_empty_text():
    result = eraser("", [], f)
    assert result.k == [0] * 5 and result.comprehensiveness == [0.0] * 5 and result.sufficiency == [0.0] * 5


def test_replacement_keeps_the_length():
    result = eraser(TEXT, RANKING, f, bins=(0.1,), replacement="[MASK]")
    assert result.comprehensiveness == pytest.approx([5.0 - 3.0])  # one good and still 10 words


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
        expected = eraser(text, ranking, lambda t: float(scorer([t])[0, label]))
        assert result.label == label
        assert result.comprehensiveness == pytest.approx(expected.comprehensiveness)
        assert result.sufficiency == pytest.approx(expected.sufficiency)
    assert results[0].label == 1 and results[0].aopc_comprehensiveness == pytest.approx(3.0)
    # "nothing here at all": f = 0.4, label 1; the empty rationale's sufficiency is f(x) - f("") = 0.4
    assert results[2].sufficiency == pytest.approx([0.4] * 5)


def test_batched_form_with_given_labels_and_checks():
    result = eraser_batch([TEXT], [RANKING], scorer, labels=[0])[0]
    assert result.label == 0 and result.aopc_comprehensiveness == pytest.approx(-3.0)  # label 0 scores -f
    with pytest.raises(ValueError, match="one ranking"):
        eraser_batch([TEXT, TEXT], [RANKING], scorer)
    assert eraser_batch([], [], scorer) == []


def test_eraser_records_feed_the_aopc_metrics():
    from faithex.metrics import evaluate_samples

    samples = [{"id": str(i), "eraser": eraser(TEXT, r, f).to_dict()} for i, r in enumerate([RANKING, []])]
    assert samples[0]["eraser"]["aopc_comprehensiveness"] == pytest.approx(3.0)
    metrics = evaluate_samples(samples, ["aopc_comprehensiveness", "aopc_sufficiency"])
    assert metrics["aopc_comprehensiveness"]["value"] == pytest.approx(1.5)  # (3.0 + 0.0) / 2
    assert metrics["aopc_sufficiency"]["value"] == pytest.approx((2.0 + 5.0) / 2)
    assert metrics["aopc_sufficiency"]["n"] == 2


def test_default_bins():
    assert DEFAULT_BINS == (0.01, 0.05, 0.10, 0.20, 0.50)


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
