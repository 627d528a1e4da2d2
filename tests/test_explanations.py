"""Explanations to train on: evidence (VADER words, weighted log-odds), pseudo-explanations, and the `explanations:`
source of an experiment's task (filled in by the runner's `prepare`)."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from faithex.errors import ConfigError, DatasetError, RunDirectoryError
from faithex.explanations import (
    ExplanationVocabulary,
    LogOddsLexicon,
    SentimentLexicon,
    evidence_kind,
    shuffled_explanation,
    with_explanations,
    words,
)
from faithex.explanations.evidence import NO_SENTIMENT_WORDS, NO_TOPIC_WORDS, parse_vader_lexicon, vader_lexicon
from faithex.io import read_jsonl
from faithex.runner import parse_experiment
from faithex.runner.run import prepare, write_inputs
from faithex.tasks import Example, get_task


def example(text: str, label: int = 0, i: int = 0) -> Example:
    return Example(id=f"e{i}", input=text, label=label, labels=[0, 1])


# -- tokenisation ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("I LOVE it!!", ["i", "love", "it"]),
    ("@united lost my bag http://t.co/xY1 www.a.com #Fail", ["lost", "my", "bag", "fail"]),
    ("don\u2019t O'Sullivan's  rock'n'roll", ["don't", "o'sullivan's", "rock'n'roll"]),
    ("snake_case 3-2 win :) 'quoted'", ["snake", "case", "3", "2", "win", "quoted"]),
    ("Café über", ["café", "über"]),
])
def test_words_are_lowercase_runs_of_letters_and_digits_without_handles_and_links(text, expected):
    assert words(text) == expected


# -- sentiment evidence ------------------------------------------------------------------------------------------
def test_vader_lexicon_file_keeps_single_words_with_a_polarity():
    text = "good\t1.9\t0.9\t[2, 1]\r\n:)\t2.0\t1.1\t[2, 2]\r\nfed up\t-1.8\t0.6\t[-2]\r\nmeh\t0.0\t0.1\t[0]\r\n" \
           "LOL\t1.8\t0.8\t[2]\r\nhate\t-2.7\t1.0\t[-4]\r\n"
    assert parse_vader_lexicon(text) == {"good": 1.9, "hate": -2.7}


def test_the_installed_vader_lexicon_is_read_without_importing_the_package():
    import sys

    lexicon = vader_lexicon()
    assert lexicon["love"] == 3.2 and lexicon["awful"] == -2.0 and lexicon["bad"] == -2.5
    assert 7000 < len(lexicon) < 7519  # 7,519 lines, less emoticons, multi-word entries and zeros
    assert "vaderSentiment" not in sys.modules  # importing it would import requests


def test_sentiment_evidence_is_strongest_first_ties_by_position_each_word_once():
    lexicon = SentimentLexicon({"fine": 1.0, "ok": 1.0, "awful": -2.0, "love": 3.2, "meh": -0.5}, k=3)
    text = "ok fine, love it; awful awful weather and meh"
    assert lexicon.explain(example(text)) == "Evidence: 'love' (positive), 'awful' (negative), 'ok' (positive)."
    assert lexicon.explain("nothing here") == NO_SENTIMENT_WORDS


def test_sentiment_evidence_with_vader_on_a_real_sentence():
    assert SentimentLexicon().explain("I love the crew but the food was awful") == \
        "Evidence: 'love' (positive), 'awful' (negative)."


# -- topic evidence ----------------------------------------------------------------------------------------------
def test_log_odds_z_score_matches_the_hand_computed_value():
    # Label 0: "a a b", label 1: "b c"; alpha0 = 1: priors a 0.4, b 0.4, c 0.2 (background 2, 2, 1 of 5 words).
    # a in label 0: delta = log(2.4 / (3 + 1 - 2 - 0.4)) - log(0.4 / (2 + 1 - 0 - 0.4)) = 2.277267,
    # variance = 1/2.4 + 1/0.4 = 2.916667, z = 2.277267 / 1.707825 = 1.333432.
    lexicon = LogOddsLexicon.fit([example("a a b", 0), example("b c", 1)], ["x", "y"], alpha0=1.0)
    assert lexicon.score("a", 0) == pytest.approx(1.333432, abs=1e-5)
    for word in ("a", "b", "c"):  # with two labels, "label vs the rest" is antisymmetric
        assert lexicon.score(word, 1) == pytest.approx(-lexicon.score(word, 0))
    assert lexicon.score("b", 0) == pytest.approx(-lexicon.score("b", 1))


def test_default_prior_is_a_tenth_of_the_training_word_count():
    train = [example("a a b", 0), example("b c", 1)]
    assert LogOddsLexicon.fit(train, ["x", "y"]).z == LogOddsLexicon.fit(train, ["x", "y"], alpha0=0.5).z


def test_topic_evidence_names_the_gold_label_strongest_words_first():
    train = [example("goal match win", 1), example("goal match cup", 1), example("goal score", 1),
             example("shares bank profit", 0), example("bank rates profit", 0), example("bank shares", 0)] * 5
    lexicon = LogOddsLexicon.fit(train, ["business", "sports"], k=2)
    # z for sports: goal 3.27, match 2.53, win 1.70 (below 1.96); for business: bank 3.27, rates 1.70
    assert lexicon.explain(example("a win in the match, goal", 1)) == "Evidence for sports: 'goal', 'match'."
    assert lexicon.explain(example("bank goal rates", 0)) == "Evidence for business: 'bank'."
    assert lexicon.explain(example("the weather", 0)) == NO_TOPIC_WORDS


def test_topic_evidence_never_scores_a_word_seen_only_in_test_texts():
    task = get_task("news_topic")
    train, test = task.examples(None, "train"), task.examples(None, "test")
    lexicon = LogOddsLexicon.fit(train, task.label_names, min_z=-math.inf)  # every scored word would be evidence
    train_words = {w for e in train for w in words(e.input)}
    unseen = {w for e in test for w in words(e.input)} - train_words
    assert len(unseen) > 100
    assert all(lexicon.score(w, label) is None for w in unseen for label in task.labels)
    for e in test:
        cited = {found.word for found in lexicon.evidence(e.input, e.label)}
        seen = set(words(e.input)) - unseen  # with min_z = -inf each of these scores, up to k = 5 are cited
        assert len(cited) == min(len(seen), 5) and cited <= seen


# -- which kind, and the real tasks ----------------------------------------------------------------------------
def test_evidence_kind_defaults_by_task(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("text,label\na b,x\nc d,y\ne f,x\ng h,y\n")
    assert [evidence_kind(get_task(n)) for n in ("tweet_sentiment", "drug_review", "news_topic")] == \
        ["sentiment", "sentiment", "topic"]
    assert evidence_kind(get_task("dataset", path=str(csv))) == "topic"
    assert evidence_kind(get_task("news_topic"), "sentiment") == "sentiment"
    with pytest.raises(ConfigError, match="no default evidence kind"):
        evidence_kind(get_task("decision_tree"))
    with pytest.raises(ConfigError, match="unknown evidence kind"):
        evidence_kind(get_task("news_topic"), "syntax")


def test_real_evidence_as_in_the_docs():
    tweets, news = get_task("tweet_sentiment"), get_task("news_topic")
    explained = {e.id: e for t in (tweets, news) for e in with_explanations(t, t.examples(6, "train"), "evidence")}
    assert explained["tweet_sentiment-00533"].explanation == "Evidence: 'bad' (negative)."
    assert explained["tweet_sentiment-11273"].explanation == \
        "Evidence: 'wrong' (negative), 'good' (positive), 'apology' (positive)."
    assert explained["news_topic-business-334"].explanation == "Evidence for business: 'us', 'firm'."
    assert explained["news_topic-tech-203"].explanation == NO_TOPIC_WORDS
    assert explained["news_topic-politics-404"].meta["explanation_source"] == "evidence:topic"


# -- pseudo-explanations -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["Evidence: 'love' (positive).", "a b", "b a a", "one two three four five six"])
def test_a_shuffle_keeps_the_words_and_changes_their_order(text):
    for seed in range(40):  # two words come back in order half the time: the rotation must catch every one
        shuffled = shuffled_explanation(text, np.random.default_rng(seed))
        assert Counter(shuffled.split()) == Counter(text.split())
        assert shuffled.split() != text.split()
    assert shuffled_explanation(text, np.random.default_rng(7)) == shuffled_explanation(text, np.random.default_rng(7))


def test_a_shuffle_of_one_repeated_word_is_that_text():
    assert shuffled_explanation("ha  ha ha", np.random.default_rng(0)) == "ha ha ha"
    assert shuffled_explanation("", np.random.default_rng(0)) == ""


def test_a_bag_of_words_has_the_length_asked_and_the_training_words_by_frequency():
    vocabulary = ExplanationVocabulary.fit(["x x y", None, "x z x z x"])  # x 5, y 1, z 2 of 8
    bag = vocabulary.sample(6, np.random.default_rng(1))
    assert len(bag.split()) == 6 and set(bag.split()) <= {"x", "y", "z"}
    assert bag == vocabulary.sample(6, np.random.default_rng(1))
    many = Counter(vocabulary.sample(40000, np.random.default_rng(2)).split())
    assert many["x"] / 40000 == pytest.approx(5 / 8, abs=0.01) and many["y"] / 40000 == pytest.approx(1 / 8, abs=0.01)
    assert vocabulary.sample(0, np.random.default_rng(0)) == ""
    with pytest.raises(ConfigError):
        ExplanationVocabulary.fit([None, "  "])


# -- the `explanations:` source of a run -----------------------------------------------------------------------
TRAIN_TEXTS = ["great lovely film", "lovely great fun", "great acting", "a great joy", "lovely well made",
               "awful plot", "bad awful film", "terrible boring", "boring dull acting", "awful mess"]


@pytest.fixture
def reviews_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = [f"{t},{'positive' if i < 5 else 'negative'},{'because ' + t.split()[0]}" for i, t in enumerate(TRAIN_TEXTS)]
    path.write_text("text,label,why\n" + "\n".join(rows) + "\n")
    return path


def plan_for(model_dir, csv, run_dir, explanations=None):
    task = {"name": "dataset", "id": "reviews", "n_train": None, "n_test": None,
            "params": {"path": str(csv), "test_fraction": 0.2, "explanation_column": "why"}}
    if explanations is not None:
        task["explanations"] = explanations
    spec = parse_experiment({"name": "x", "model": model_dir, "tasks": [task], "regimes": ["label_only"]})
    return prepare(spec, run_dir, resolve=False)


def test_the_task_explanations_are_the_default(tiny_model_dir, reviews_csv, tmp_path):
    data = plan_for(tiny_model_dir, reviews_csv, tmp_path / "run").tasks["reviews"]
    assert len(data.train) == 8 and all(e.explanation == "because " + e.input.split()[0] for e in data.train)
    assert {e.meta["explanation_source"] for e in data.train} == {"task"}


@pytest.mark.parametrize("source, kind", [("evidence", "topic"), ("evidence:sentiment", "sentiment")])
def test_evidence_explanations_fill_the_training_examples_only(tiny_model_dir, reviews_csv, tmp_path, source, kind):
    plan = plan_for(tiny_model_dir, reviews_csv, tmp_path / "run", source)
    data = plan.tasks["reviews"]
    prefix = "Evidence for " if kind == "topic" else "Evidence: "
    assert all(e.explanation.startswith(prefix) or e.explanation.startswith("No ") for e in data.train)
    assert {e.meta["explanation_source"] for e in data.train} == {f"evidence:{kind}"}
    assert all(e.explanation.startswith("because") and "explanation_source" not in e.meta for e in data.test)
    if kind == "sentiment":
        assert next(e for e in data.train if e.input == "bad awful film").explanation == \
            "Evidence: 'bad' (negative), 'awful' (negative)."
    write_inputs(plan)  # the data file holds the explanations trained on
    written = {r["id"]: r["explanation"] for r in read_jsonl(tmp_path / "run" / "data" / "reviews-train.jsonl")}
    assert written == {e.id: e.explanation for e in data.train}


def test_an_annotations_file_must_explain_every_training_example(tiny_model_dir, reviews_csv, tmp_path):
    train = plan_for(tiny_model_dir, reviews_csv, tmp_path / "probe").tasks["reviews"].train
    path = tmp_path / "notes.jsonl"
    rows = [{"id": e.id, "explanation": f"teacher says {i}", "label": e.label, "teacher": "t", "prompt_version": "v1"}
            for i, e in enumerate(train)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:2] + rows[3:]))
    with pytest.raises(ConfigError, match=f"no explanation for training example '{train[2].id}'"):
        plan_for(tiny_model_dir, reviews_csv, tmp_path / "run", str(path))

    path.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))  # order does not matter, ids do
    plan = plan_for(tiny_model_dir, reviews_csv, tmp_path / "run", str(path))
    assert [e.explanation for e in plan.tasks["reviews"].train] == [f"teacher says {i}" for i in range(len(train))]
    assert plan.tasks["reviews"].train[0].meta["explanation_source"] == f"annotations:{path}"

    write_inputs(plan)  # a changed annotations file does not silently reuse the old data file
    path.write_text("".join(json.dumps({**r, "explanation": "changed"}) + "\n" for r in rows))
    with pytest.raises(RunDirectoryError, match="explanations changed"):
        plan_for(tiny_model_dir, reviews_csv, tmp_path / "run", str(path))


@pytest.mark.parametrize("change, message", [
    ({"label": 1}, "has label 1 there but 0 in the task"),
    ({"explanation": " "}, "is empty"),
    ({"explanation": 3}, "the explanation is not a text"),
])
def test_an_annotation_with_another_label_or_no_text_is_refused(tiny_model_dir, reviews_csv, tmp_path, change,
                                                                 message):
    train = plan_for(tiny_model_dir, reviews_csv, tmp_path / "probe").tasks["reviews"].train
    rows = [{"id": e.id, "explanation": "x", "label": e.label, "teacher": "t", "prompt_version": "v1"} for e in train]
    first_negative = next(i for i, e in enumerate(train) if e.label == 0)
    rows[first_negative].update(change)
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises((ConfigError, DatasetError), match=message):
        plan_for(tiny_model_dir, reviews_csv, tmp_path / "run", str(path))


@pytest.mark.parametrize("value, message", [
    ("evidnce", "none of task, evidence"),
    ("evidence:syntax", "none of task, evidence"),
    ("notes.txt", "nor a .jsonl annotations file"),
])
def test_unknown_explanation_sources_are_refused_when_the_experiment_is_read(value, message):
    with pytest.raises(ConfigError, match=message):
        parse_experiment({"name": "x", "tasks": [{"name": "news_topic", "explanations": value}]})


def test_evidence_for_a_task_without_a_kind_is_refused(tiny_model_dir, tmp_path):
    spec = parse_experiment({"name": "x", "model": tiny_model_dir, "regimes": ["label_only"],
                             "tasks": [{"name": "decision_tree", "n_train": 4, "n_test": 2,
                                        "explanations": "evidence"}]})
    with pytest.raises(ConfigError, match="no default evidence kind"):
        prepare(spec, tmp_path, resolve=False)
