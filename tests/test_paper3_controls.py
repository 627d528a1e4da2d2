"""Controls for paper 3's checks (issue 17, item 4): the random-word control beside every attribution-based check,
the classifier taught to answer "unknown" when the deciding words are redacted (its training data, its guards, and
why its random-redaction control matters), ERASER on the checks, and the paper-3 experiment files."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from faithex.errors import ConfigError
from faithex.faithfulness.self_consistency import (
    REDACTED,
    intervene,
    masked_positions,
    random_control,
    random_redaction,
    seeded_rng,
)
from faithex.tasks.base import Example, Task

ROOT = Path(__file__).resolve().parents[1]


class Sentiment(Task):
    name = "toy_sentiment"
    labels = (0, 1)
    label_names = ("negative", "positive")
    instruction = "Sentiment of this text (positive or negative)?"
    evidence_kind = "sentiment"


class Topic(Task):
    name = "toy_topic"
    labels = (0, 1, 2)
    label_names = ("tech", "business", "sports")
    instruction = "Topic of this headline (tech, business or sports)?"
    evidence_kind = "topic"


def example(i, text, label, labels=(0, 1)):
    return Example(id=f"e{i}", input=text, label=label, labels=list(labels))


# -- the random-word control: which words ----------------------------------------------------------------------------
PARAGRAPH = "Good grief, the movie was good, bad acting though!\nReally."


def test_the_control_redacts_as_many_words_as_the_explanation_and_never_a_named_one():
    checked = intervene("attribution", "good", PARAGRAPH)  # both occurrences of "good" redacted: 2 words
    assert masked_positions(PARAGRAPH, checked.text) == [0, 5]
    for seed in range(20):
        control = random_control("attribution", PARAGRAPH, checked, seed, "e1")
        assert len(control.positions) == 2 and control.from_named == 0
        assert control.text.count(REDACTED) == 2
        assert not {0, 5} & set(control.positions)  # "Good" and "good," are the named word
        assert "Good" in control.text and "good," in control.text


def test_the_control_is_the_same_for_the_same_seed_and_item_and_differs_between_seeds():
    checked = intervene("attribution", "good", PARAGRAPH)
    draws = {seed: random_control("attribution", PARAGRAPH, checked, seed, "e1").positions for seed in range(10)}
    assert all(random_control("attribution", PARAGRAPH, checked, seed, "e1").positions == draws[seed]
               for seed in range(10))
    assert len({tuple(p) for p in draws.values()}) > 1  # the seed changes the words
    other_item = random_control("attribution", PARAGRAPH, checked, 0, "e2").positions
    assert all(random_control("attribution", PARAGRAPH, checked, 0, "e2").positions == other_item for _ in range(3))


def test_a_redaction_control_avoids_every_occurrence_of_the_words_the_model_masked():
    checked = intervene("redaction", "Good grief, the movie was [REDACTED], bad [REDACTED] though!\nReally.",
                        PARAGRAPH)
    assert masked_positions(PARAGRAPH, checked.text) == [5, 7]  # "good," and "acting"
    for seed in range(20):
        control = random_control("redaction", PARAGRAPH, checked, seed, "e1")
        assert len(control.positions) == 2 and not {0, 5, 7} & set(control.positions)  # "Good" is a masked word


def test_named_words_are_taken_only_when_too_few_other_words_remain_and_that_is_recorded():
    paragraph = "so good, good and good"
    checked = intervene("attribution", "good", paragraph)  # 3 of 5 words
    control = random_control("attribution", paragraph, checked, 0, "e1")
    assert len(control.positions) == 3 and control.from_named == 1
    assert {0, 3} <= set(control.positions)  # "so" and "and" first, then one "good"


def test_the_random_redaction_keeps_whitespace_and_edge_punctuation():
    redaction = random_redaction("Premise: it rains.\nHypothesis: wet!", 5, seeded_rng(0, "x"))
    assert redaction.text == "[REDACTED]: [REDACTED] [REDACTED].\n[REDACTED]: [REDACTED]!"
    assert random_redaction("!!! ...", 1, seeded_rng(0, "x")) is None  # no word to redact


def test_no_control_for_counterfactuals_or_unread_explanations():
    assert random_control("counterfactual", "so good", intervene("counterfactual", "so bad", "so good"), 0, "e") \
        is None
    assert random_control("attribution", "so good", intervene("attribution", "nothing here", "so good"), 0, "e") \
        is None


# -- the protocol with stub classifiers ------------------------------------------------------------------------------
def _paragraph(prompt: str) -> str:
    return prompt.split("Paragraph: ", 1)[1].split("<|im_end|>", 1)[0]


def lexicon_reader(paragraph: str) -> str:
    """Reads the first sentiment word; none left: unknown (answers "unknown" only when the deciding word goes)."""
    found = [(paragraph.find(w), w) for w in ("good", "bad") if w in paragraph]
    return {"good": "positive", "bad": "negative"}[min(found)[1]] if found else "unknown"


def shortcut_reader(paragraph: str) -> str:
    """Answers "unknown" for any [REDACTED], whatever was redacted: the shortcut the control must expose."""
    return "unknown" if REDACTED in paragraph else lexicon_reader(paragraph)


class StubModel:
    """Scores the option its `reader` gives (log-probability -0.5, the others -5); names the sentiment word."""

    def __init__(self, reader):
        self.reader, self.calls = reader, []

    def generate(self, model, tokenizer, prompts, max_new_tokens, batch_size=32, precision="fp32", on_batch=None):
        self.calls.append(("generate", len(prompts)))
        if on_batch:
            on_batch(len(prompts))
        return [next(w for w in ("good", "bad") if w in _paragraph(tokenizer.decode(p))) for p in prompts]

    def label_scores(self, model, tokenizer, prompts, label_texts, batch_size=32, precision="fp32", on_batch=None):
        import torch

        from faithex.lm.scoring import LabelScores

        self.calls.append(("score", len(prompts)))
        summed = torch.full((len(prompts), len(label_texts)), -5.0)
        for i, prompt in enumerate(prompts):
            summed[i, label_texts.index(self.reader(_paragraph(tokenizer.decode(prompt))))] = -0.5
        if on_batch:
            on_batch(len(prompts))
        return LabelScores(list(label_texts), summed, torch.ones_like(summed, dtype=torch.long), [])


TWEETS = [example(1, "a good day for us", 1), example(2, "what a bad day it was", 0),
          example(3, "good food and kind staff", 1), example(4, "so bad and so slow", 0)]


def run_check(monkeypatch, reader, protocol="self_consistency_attribution_1word", examples=TWEETS):
    from conftest import build_tokenizer

    from faithex.protocols import ProtocolContext, get_protocol
    from faithex.regimes.base import get_regime

    stub = StubModel(reader)
    monkeypatch.setattr("faithex.lm.generation.generate", stub.generate)
    monkeypatch.setattr("faithex.lm.scoring.label_scores", stub.label_scores)
    progress = []
    ctx = ProtocolContext(model=None, tokenizer=build_tokenizer(), regime=get_regime("zero_shot"), task=Sentiment(),
                          batch_size=8, on_batch=progress.append)
    chosen = get_protocol(protocol)
    samples = [s for batch in chosen.run(ctx, examples) for s in batch]
    assert sum(progress) == chosen.steps(ctx.regime) * len(examples)  # the progress bar ends at its total
    return samples, stub


def metric_values(samples):
    from faithex.metrics import evaluate_samples

    return {name: m["value"] for name, m in evaluate_samples(samples, labels=(0, 1)).items()}


def test_a_classifier_that_answers_unknown_for_any_redaction_fails_the_random_control(monkeypatch):
    samples, _ = run_check(monkeypatch, shortcut_reader)
    values = metric_values(samples)
    # Madsen's check passes on every item, and so does its control: the check shows nothing
    assert values["self_consistency_faithfulness"] == 1.0
    assert values["self_consistency_faithfulness_random_control"] == 1.0
    assert values["self_consistency_faithfulness_over_random"] == 0.0
    assert values["self_consistency_label_change_over_random"] == 0.0


def test_a_classifier_that_answers_unknown_only_without_the_deciding_word_passes_above_its_control(monkeypatch):
    samples, _ = run_check(monkeypatch, lexicon_reader)
    values = metric_values(samples)
    assert values["self_consistency_faithfulness"] == 1.0
    assert values["self_consistency_faithfulness_random_control"] == 0.0  # the other words never decide
    assert values["self_consistency_faithfulness_over_random"] == 1.0
    assert values["self_consistency_label_change_random_control"] == 0.0
    assert values["self_consistency_shift_over_random"] > 0.5  # the prediction's probability falls for the named word
    record = samples[0]["self_consistency"]["random_control"]
    assert record["count"] == 1 and record["from_named"] == 0 and record["prediction"] in (0, 1)
    assert samples[0]["prompts"]["random_control_classification"].count(REDACTED) >= 2  # the prompt's own, and one


def test_controls_are_read_on_the_same_items_as_their_check_and_only_where_the_check_completed():
    from faithex.metrics import get_metric

    def check(faithful, control, correct=True, prediction=1):
        return {"self_consistency": {"style": "attribution", "correct": correct, "faithful": faithful,
                                     "prediction": prediction, "intervened_prediction": "unknown" if faithful else 1,
                                     "random_control": control}}

    samples = [
        check(True, {"faithful": False, "prediction": 1}),  # the named word mattered, a random one did not
        check(True, {"faithful": True, "prediction": "unknown"}),  # both: no evidence for the explanation
        check(True, None),  # explanation unread: no control
        check(None, {"faithful": True, "prediction": "unknown"}),  # check incomplete: its control is not read
        check(False, {"faithful": True, "prediction": "unknown"}, correct=False),  # outside the correct-only metric
        {"self_consistency": {"style": "counterfactual", "correct": True, "faithful": True}},
    ]
    nan = math.nan
    values = {name: get_metric(name)(samples, (0, 1)).tolist() for name in (
        "self_consistency_faithfulness_random_control", "self_consistency_faithfulness_over_random",
        "self_consistency_faithfulness_parsed_random_control", "self_consistency_label_change_random_control")}
    assert values["self_consistency_faithfulness_random_control"] == pytest.approx([0, 1, nan, nan, nan, nan],
                                                                                   nan_ok=True)
    assert values["self_consistency_faithfulness_over_random"] == pytest.approx([1, 0, nan, nan, nan, nan],
                                                                                 nan_ok=True)
    assert values["self_consistency_faithfulness_parsed_random_control"] == pytest.approx(
        [0, 1, nan, nan, 1, nan], nan_ok=True)
    assert values["self_consistency_label_change_random_control"] == pytest.approx([0, 1, nan, nan, nan, nan],
                                                                                   nan_ok=True)


def test_samples_written_before_the_control_get_no_control_metrics():
    from faithex.metrics import evaluate_samples

    old = [{"gold": 1, "self_consistency": {"style": "attribution", "correct": True, "faithful": False,
                                            "prediction": 1, "intervened_prediction": 1}}]
    metrics = evaluate_samples(old, labels=(0, 1))
    assert "self_consistency_faithfulness" in metrics
    assert not [name for name in metrics if "random" in name]


# -- ERASER on the checks ------------------------------------------------------------------------------------------
def test_the_eraser_protocol_scores_the_named_words_with_the_checks_own_prompt(monkeypatch, capsys):
    samples, stub = run_check(monkeypatch, lexicon_reader, "self_consistency_attribution_1word_eraser")
    assert "ERASER scores at most 11 more paragraphs per checked item" in capsys.readouterr().err
    # one call for the batch: each tweet whole and without its word, and the words alone ("good", "bad") once each
    assert stub.calls[-1] == ("score", 10)
    record = samples[0]["eraser"]
    assert record["ranking"] == ["good"] and record["options"] == ["negative", "positive", "unknown"]
    assert all(k == 1 for k in record["k"])  # one named word: every bin keeps it
    # without "good" the stub answers unknown (comprehensive), "good" alone stays positive (sufficient)
    p = math.exp(-0.5) / (math.exp(-0.5) + 2 * math.exp(-5))
    q = math.exp(-5) / (math.exp(-0.5) + 2 * math.exp(-5))
    assert record["aopc_comprehensiveness"] == pytest.approx(p - q)
    assert record["aopc_sufficiency"] == pytest.approx(0.0, abs=1e-9)
    values = metric_values(samples)
    assert values["aopc_comprehensiveness"] == pytest.approx(p - q) and values["aopc_sufficiency"] == \
        pytest.approx(0.0, abs=1e-9)
    assert "self_consistency_faithfulness_random_control" in values  # the check itself is all there


def test_eraser_is_opt_in_and_not_for_counterfactuals(monkeypatch):
    from faithex.protocols.self_consistency import SelfConsistency

    samples, _ = run_check(monkeypatch, lexicon_reader)
    assert "eraser" not in samples[0] and "aopc_comprehensiveness" not in metric_values(samples)
    with pytest.raises(ValueError, match="attribution and redaction styles only"):
        SelfConsistency("counterfactual", eraser=True)


# -- the classifier taught "unknown" ------------------------------------------------------------------------------
SENTIMENT_TRAIN = [
    example(1, "I love this great phone", 1), example(2, "awful service and rude staff", 0),
    example(3, "the flight left at noon, nice crew", 1), example(4, "terrible delay again", 0),
    example(5, "seat 4 by the window", 1), example(6, "bad food, the gate was B12 and the bus was late", 0),
    example(7, "happy with the upgrade", 1), example(8, "the wifi is horrible on board", 0),
]


def unknown_records(examples=SENTIMENT_TRAIN, task=None, seed=0, **params):
    from faithex.regimes import get_regime
    from faithex.regimes.base import PromptOptions

    regime = get_regime("self_consistency_classifier_unknown").configured(**params)
    return regime.records(task or Sentiment(), list(examples), PromptOptions(seed=seed))["self_explainer"]


def _paragraph_of(row):
    return row["prompt"][-1]["content"].split("Paragraph: ", 1)[1]


def test_unknown_training_data_redacts_the_deciding_words_and_answers_unknown():
    rows = unknown_records(share=1.0)
    by_kind = {kind: [r for r in rows if r["kind"] == kind] for kind in ("answer", "unknown", "random_redaction")}
    assert len(by_kind["answer"]) == len(SENTIMENT_TRAIN)  # every example keeps its classification record
    # "seat 4 by the window" has no sentiment word: no copy; the others one each
    assert {r["id"] for r in by_kind["unknown"]} == {e.id for e in SENTIMENT_TRAIN} - {"e5"}
    for row in by_kind["unknown"]:
        paragraph = _paragraph_of(row)
        assert row["completion"][0]["content"] == "unknown" and REDACTED in paragraph
        for word in ("love", "great", "awful", "rude", "nice", "terrible", "bad", "happy", "horrible"):
            assert not re.search(rf"\b{word}\b", paragraph, re.IGNORECASE), (word, paragraph)
    love = next(r for r in by_kind["unknown"] if r["id"] == "e1")
    assert _paragraph_of(love) == "I [REDACTED] this [REDACTED] phone"


def test_random_redaction_negatives_keep_their_label_and_their_deciding_words():
    rows = unknown_records(share=1.0)
    gold = {e.id: e.label for e in SENTIMENT_TRAIN}
    texts = {e.id: e.input for e in SENTIMENT_TRAIN}
    negatives = [r for r in rows if r["kind"] == "random_redaction"]
    unknowns = {r["id"]: _paragraph_of(r) for r in rows if r["kind"] == "unknown"}
    assert negatives and {r["id"] for r in negatives} <= set(unknowns)
    for row in negatives:
        paragraph = _paragraph_of(row)
        assert row["completion"][0]["content"] == ("negative", "positive")[gold[row["id"]]]
        # as many words redacted as in the unknown copy, none of them a deciding word
        assert paragraph.count(REDACTED) == unknowns[row["id"]].count(REDACTED)
        kept = masked_positions(texts[row["id"]], unknowns[row["id"]])
        assert not set(kept) & set(masked_positions(texts[row["id"]], paragraph))
    assert not [r for r in unknown_records(share=1.0, random_negatives=False) if r["kind"] == "random_redaction"]


def test_the_unknown_copies_are_a_seeded_share_of_the_training_examples():
    def copied(seed, share=0.25):
        return [r["id"] for r in unknown_records(seed=seed, share=share) if r["kind"] == "unknown"]

    assert len(copied(0)) == 2 and copied(0) == copied(0)  # round(0.25 x 8)
    assert len({tuple(copied(seed)) for seed in range(8)}) > 1
    shuffled = list(reversed(SENTIMENT_TRAIN))  # the draw depends on ids, not on the order of the examples
    assert sorted(r["id"] for r in unknown_records(shuffled, share=0.25) if r["kind"] == "unknown") == \
        sorted(copied(0))


def test_lettered_tasks_answer_unknown_with_its_letter_and_topic_evidence_comes_from_log_odds():
    headlines = [example(i, text, label, (0, 1, 2)) for i, (text, label) in enumerate([
        ("new chip makers", 0), ("chip prices fall", 0), ("chip design wins", 0), ("chip plant opens", 0),
        ("chip sales slow", 0), ("bank profits rise", 1), ("bank shares fall", 1), ("bank merger talks", 1),
        ("bank chief quits", 1), ("bank fines grow", 1), ("team wins cup final", 2), ("team coach leaves", 2),
        ("team beats rivals", 2), ("team signs striker", 2), ("team loses again", 2)])]
    rows = unknown_records(headlines, Topic(), share=1.0)
    unknown = [r for r in rows if r["kind"] == "unknown"]
    assert unknown and all(r["completion"][0]["content"] == "d" for r in unknown)  # a) business ... d) unknown
    assert all(word not in _paragraph_of(r) for r in unknown for word in ("chip", "bank", "team"))


@pytest.mark.parametrize("params, message", [
    ({"share": 0}, "setting 'share' must be a number in (0, 1]"),
    ({"max_redacted": 0}, "setting 'max_redacted' must be a positive integer"),
    ({"random_negatives": "yes"}, "setting 'random_negatives' must be true or false"),
    ({"evidence": "vader"}, "setting 'evidence' must be one of auto, sentiment, topic"),
    ({"criterion": "drop"}, "has no setting 'criterion'; accepted: share, max_redacted, random_negatives, evidence"),
])
def test_bad_settings_of_the_unknown_classifier_are_one_clear_error(params, message):
    from faithex.regimes import get_regime

    with pytest.raises(ConfigError, match=re.escape(message)):
        get_regime("self_consistency_classifier_unknown").configured(**params)


# -- the guards ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["self_consistency_faithfulness", "self_consistency_faithfulness_random_control",
                                    "self_consistency_faithfulness_over_random"])
def test_madsens_checks_are_not_applicable_by_construction_for_the_classifier_but_apply_to_the_unknown_variant(
        metric):
    from faithex.claims import not_applicable_by_construction
    from faithex.regimes import get_regime
    from faithex.report.applicable import by_construction

    protocol = "self_consistency_attribution_1word_eraser"
    for regime, expected in (("self_consistency_classifier", True), ("self_consistency_classifier_unknown", False)):
        cell = {"regime": regime, "protocol": protocol, "train": {"self_explainer": {}}}
        assert by_construction(cell, metric) is expected
        answers = get_regime(regime).answers_unknown
        assert (not_applicable_by_construction(metric, protocol, True, answers) is not None) is expected
    # the looser readings and their controls can pass on any label: never n/a by construction
    cell = {"regime": "self_consistency_classifier", "protocol": protocol, "train": {"self_explainer": {}}}
    assert not by_construction(cell, "self_consistency_label_change_random_control")


# -- the experiment files ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["paper3-before-after.yaml", "paper3-transfer.yaml",
                                  "paper3-longer-classifier.yaml"])
def test_the_paper3_files_compute_eraser_on_every_attribution_and_redaction_check(name):
    from faithex.runner import load_experiment

    spec = load_experiment(ROOT / "experiments" / name)
    for regime in spec.regime_specs():
        asked = spec.protocols_for(regime)
        checks = [p for p in asked if p.startswith(("self_consistency_attribution", "self_consistency_redaction"))]
        assert checks and all(p.endswith("_eraser") for p in checks), asked


def test_the_before_after_file_has_the_unknown_classifier_asked_where_its_checks_can_pass():
    from faithex.runner import load_experiment

    spec = load_experiment(ROOT / "experiments" / "paper3-before-after.yaml")
    regimes = {r.key: r for r in spec.regime_specs()}
    unknown = regimes["self_consistency_classifier_unknown"]
    assert unknown.starts_from == "self_consistency_classifier"
    assert unknown.regime().answers_unknown
    asked = spec.protocols_for(unknown)
    assert "score" in asked and "self_consistency_attribution_1word_eraser" in asked


def test_the_paper_data_file_computes_eraser_too():
    import yaml

    data = yaml.safe_load((ROOT / "experiments" / "paper3-paper-data.yaml").read_text())
    checks = [p for p in data["protocols"] if p.startswith(("self_consistency_attribution",
                                                            "self_consistency_redaction"))]
    assert checks and all(p.endswith("_eraser") for p in checks)


# -- end to end on the tiny model ----------------------------------------------------------------------------------
def test_the_unknown_classifier_trains_and_is_checked_with_its_controls_on_the_tiny_model(tiny_model_dir, tmp_path):
    from faithex.runner import parse_experiment, run_experiment

    csv = tmp_path / "reviews.csv"
    rows = ["great movie,positive", "lovely film,positive", "nice one,positive", "good fun,positive",
            "awful plot,negative", "bad film,negative", "terrible acting,negative", "dull and sad,negative"]
    csv.write_text("text,label\n" + "\n".join(rows) + "\n")
    experiment = parse_experiment({
        "name": "unknown", "model": tiny_model_dir, "seeds": [0],
        "tasks": [{"name": "dataset", "id": "reviews", "params": {"path": str(csv), "test_fraction": 0.5},
                   "n_train": None, "n_test": None}],
        "regimes": [{"name": "self_consistency_classifier_unknown", "params": {"evidence": "sentiment", "share": 1.0}}],
        "protocols": ["self_consistency_attribution_eraser"],
        "train": {"max_steps": 1, "batch_size": 4, "precision": "fp32"},
        "inference": {"batch_size": 4, "precision": "fp32"},
    })
    results = run_experiment(experiment, tmp_path / "run")
    (cell,) = results["cells"]
    assert cell["protocol"] == "self_consistency_attribution_eraser"
    assert "self_consistency_faithfulness_parsed" in cell["metrics"]
    assert results["regimes"]["self_consistency_classifier_unknown"]["answers_unknown"] is True
