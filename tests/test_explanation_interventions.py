"""Paper 2's explanation interventions (issue 17): each intervention on hand-built items (the donor, the seeded
shuffle, the empty explanation), the decision logic on stub models (one whose label copies a word of the explanation,
one that ignores it), NaN where a test does not apply, which regimes the protocol asks, and the protocol on the tiny
model, alone and through `faithex run`."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from faithex.faithfulness.explanation_interventions import (
    Asker,
    Own,
    Settings,
    can_shuffle,
    choose_donors,
    item_key,
    item_shuffle,
    run_explanation_interventions,
)
from faithex.metrics import evaluate_samples, per_example
from faithex.tasks.base import Example, Task


class Reviews(Task):
    """Sentiment of short reviews, three labels."""

    name = "reviews3"
    labels = (0, 1, 2)
    label_names = ("negative", "neutral", "positive")
    description = "Sentiment of short reviews."
    instruction = "Sentiment (negative, neutral or positive)?"
    supports_icl = False


TASK = Reviews()
EXPLANATIONS = {  # each explanation names the label it argues for
    "r0": "great acting so positive overall", "r1": "awful plot so negative overall",
    "r2": "lovely film so positive overall", "r3": "dull acting so negative overall",
    "r4": "fine but plain so neutral overall", "r5": "a mess so negative overall",
}
ITEMS = [Example(i, f"review {i}", TASK.label_names.index(text.split()[-2]), [0, 1, 2], explanation=text)
         for i, text in EXPLANATIONS.items()]
CONFIDENT = math.log(0.8)  # the label a stub picks gets probability 0.8, the other two 0.1 each
UNSURE = math.log(0.1)


def scores_for(label: int) -> list[float]:
    return [CONFIDENT if k == label else UNSURE for k in TASK.labels]


def named_label(explanation: str) -> int | None:
    """The label whose name is a word of the explanation (None: no label is named)."""
    named = [k for k, name in enumerate(TASK.label_names) if name in explanation.split()]
    return named[0] if named else None


def stub(answer, explain=lambda e: e.explanation) -> Asker:
    """A model whose own explanation is `explain(example)` and whose label is `answer(example, explanation)`."""
    return Asker(lambda examples: [explain(e) for e in examples],
                 lambda requests: np.array([scores_for(answer(e, text)) for e, text in requests]))


def copies_a_word(example: Example, explanation: str) -> int:
    """The label named in the explanation; with none named, neutral (what it says without an explanation)."""
    named = named_label(explanation)
    return 1 if named is None else named


def ignores_it(example: Example, explanation: str) -> int:
    return example.label


def samples_of(asker: Asker, items=ITEMS, batches=None) -> list[dict]:
    batches_out = run_explanation_interventions(TASK, items, asker, Settings(), batches)
    outcomes = [o for batch in batches_out for o in batch]
    return [{"id": o.own.example.id, "gold": o.own.example.label, **o.fields(TASK)} for o in outcomes]


def by_id(samples: list[dict]) -> dict[str, dict]:
    return {s["id"]: s for s in samples}


# -- each intervention on hand-built items ----------------------------------------------------------------------------
def test_the_shuffle_is_a_seeded_permutation_of_the_words_in_another_order():
    text = "the plot is awful so negative"
    shuffled = item_shuffle(text, seed=0, item_id="r1")
    assert Counter(shuffled.split()) == Counter(text.split()) and shuffled.split() != text.split()
    assert item_shuffle(text, 0, "r1") == shuffled  # the same item, the same text, in every run
    others = {item_shuffle(text, seed, item) for seed in range(3) for item in ("r1", "r2", "r3")}
    assert len(others) > 1  # seeded per (seed, item), not one order for all
    assert can_shuffle("a b") and not can_shuffle("negative") and not can_shuffle("ha ha ha") and not can_shuffle("")


def test_the_donor_is_the_next_item_in_the_seeded_order_with_another_own_label():
    owns = [Own(e, e.explanation, np.array(scores_for(e.label)), e.label) for e in ITEMS]
    donors = choose_donors(owns, seed=0)
    order = sorted(range(len(owns)), key=lambda i: item_key(0, owns[i].example.id))
    for i, donor in enumerate(donors):
        rank = order.index(i)
        following = [owns[order[(rank + step) % len(order)]] for step in range(1, len(order))]
        assert donor is next(o for o in following if o.label != owns[i].label)  # by hand
        assert donor.label != owns[i].label
    assert choose_donors(owns, seed=0) == donors and choose_donors(owns, seed=1) != donors  # fixed by the seed


def test_a_donor_needs_another_label_and_an_explanation():
    same = [Own(e, e.explanation, np.array(scores_for(0)), 0) for e in ITEMS]
    assert choose_donors(same, seed=0) == [None] * len(same)
    other = Example("o", "review o", 2, [0, 1, 2])
    silent = Own(other, "", np.array(scores_for(2)), 2)  # the only other label, but nothing was written
    first, second, its_donor = choose_donors([*same[:2], silent], seed=0)
    assert first is None and second is None and its_donor in same[:2]
    written = Own(other, "x y", np.array(scores_for(2)), 2)
    assert all(donor is written for donor in choose_donors([*same[:2], written], seed=0)[:2])


def test_records_hold_each_intervention_and_the_explanation_it_was_scored_after():
    asked = []

    def answer(example, explanation):
        asked.append((example.id, explanation))
        return copies_a_word(example, explanation)

    samples = by_id(samples_of(stub(answer)))
    record = samples["r1"]["interventions"]
    assert samples["r1"]["outputs"] == {"explanation": EXPLANATIONS["r1"], "answer": "negative"}
    assert samples["r1"]["parsed"] == {"answer": 0}
    assert samples["r1"]["label_scores"] == pytest.approx(scores_for(0), abs=1e-6)
    assert record["own"] == {"answer": 0, "scores": pytest.approx(scores_for(0), abs=1e-6)}
    donor = record["donor"]
    assert donor["explanation"] == EXPLANATIONS[donor["id"]] and donor["donor_answer"] != 0
    assert donor["donor_answer"] == samples[donor["id"]]["parsed"]["answer"]
    assert record["shuffled"]["explanation"] == item_shuffle(EXPLANATIONS["r1"], 0, "r1")
    assert record["empty"] == {"explanation": "", "answer": 1, "scores": pytest.approx(scores_for(1), abs=1e-6)}
    assert record["notes"] == []
    # per item: own, donor, shuffled and empty, each asked once
    assert sorted(text for item, text in asked if item == "r1") == sorted(
        [EXPLANATIONS["r1"], donor["explanation"], record["shuffled"]["explanation"], ""])


# -- the decision logic on stubs --------------------------------------------------------------------------------------
def test_a_label_that_copies_a_word_of_the_explanation_follows_every_donor():
    samples = samples_of(stub(copies_a_word))
    follow = per_example(samples, "explanation_donor_follow")
    baseline = per_example(samples, "explanation_donor_ignore_baseline")
    assert np.all(follow == 1.0)
    # the baseline by hand: after no explanation the copier says neutral, so it is 1 where the donor's label is neutral
    donors = [s["interventions"]["donor"]["donor_answer"] for s in samples]
    assert np.array_equal(baseline, [float(d == 1) for d in donors]) and baseline.mean() < 1
    assert np.allclose(per_example(samples, "explanation_donor_shift"), 0.8 - 0.1)
    assert np.all(per_example(samples, "explanation_shuffle_keep") == 1.0)  # the same words: the same label
    assert np.all(per_example(samples, "explanation_shuffle_shift") == 0.0)
    changed = [float(s["parsed"]["answer"] != 1) for s in samples]  # only the neutral item keeps its label
    assert np.array_equal(per_example(samples, "explanation_empty_change"), changed)
    assert np.allclose(per_example(samples, "explanation_empty_shift"), [0.7 * c for c in changed])


def test_a_label_that_ignores_the_explanation_follows_at_the_baseline_rate():
    samples = samples_of(stub(ignores_it))
    follow = per_example(samples, "explanation_donor_follow")
    assert np.array_equal(follow, per_example(samples, "explanation_donor_ignore_baseline"))
    assert np.all(follow == 0.0)  # a donor's label always differs from the own one, which this model keeps
    for name in ("explanation_donor_shift", "explanation_shuffle_shift", "explanation_empty_change",
                 "explanation_empty_shift"):
        assert np.all(per_example(samples, name) == 0.0), name
    assert np.all(per_example(samples, "explanation_shuffle_keep") == 1.0)


def test_a_follow_rate_per_item_is_a_proportion_with_its_wilson_interval():
    from faithex.metrics import wilson_interval

    summary = evaluate_samples(samples_of(stub(copies_a_word)), labels=TASK.labels)
    n = len(ITEMS)
    assert summary["explanation_donor_follow"]["n"] == n
    assert (summary["explanation_donor_follow"]["low"], summary["explanation_donor_follow"]["high"]) == \
        wilson_interval(n, n)


def test_donors_do_not_depend_on_the_batches():
    whole = by_id(samples_of(stub(copies_a_word)))
    one_by_one = by_id(samples_of(stub(copies_a_word), batches=[[i] for i in reversed(range(len(ITEMS)))]))
    assert one_by_one == whole
    with pytest.raises(ValueError, match="exactly once"):
        samples_of(stub(copies_a_word), batches=[[0, 1], [1, 2, 3, 4, 5]])


def test_no_items_ask_the_model_nothing():
    def refuse(*args):
        raise AssertionError("the model was asked")

    assert samples_of(Asker(refuse, refuse), items=[]) == []


def test_each_phase_reports_its_items():
    progress = []
    batches = [[0, 1, 2, 3], [4, 5]]
    for _ in run_explanation_interventions(TASK, ITEMS, stub(ignores_it), batches=batches, on_phase=progress.append):
        pass
    assert progress == [4, 4, 2, 2, 4, 2]  # own explanations and own scores of every batch, then the interventions


# -- where a test does not apply: NaN, never 0 ------------------------------------------------------------------------
def test_without_another_own_label_there_is_no_donor_and_no_donor_metric():
    samples = samples_of(stub(lambda e, text: 2))  # every item labelled positive
    assert all(s["interventions"]["donor"] is None for s in samples)
    no_donor = "no other test item got another label with a non-empty explanation: no donor"
    assert all(s["interventions"]["notes"] == [no_donor] for s in samples)
    assert np.all(np.isnan(per_example(samples, "explanation_donor_follow")))
    assert np.all(np.isnan(per_example(samples, "explanation_donor_ignore_baseline")))
    metrics = evaluate_samples(samples, labels=TASK.labels)
    assert "explanation_donor_follow" not in metrics and metrics["explanation_empty_change"]["n"] == len(ITEMS)


def test_an_explanation_too_short_to_shuffle_or_empty_leaves_those_tests_out():
    written = {"r0": "positive", "r1": ""}
    samples = by_id(samples_of(stub(copies_a_word, explain=lambda e: written.get(e.id, e.explanation))))
    one_word, empty = samples["r0"]["interventions"], samples["r1"]["interventions"]
    assert one_word["shuffled"] is None and one_word["empty"] is not None
    assert one_word["notes"] == ["own explanation has fewer than two distinct words: no shuffle"]
    assert empty["shuffled"] is None and empty["empty"] is None
    assert "own explanation empty: no shuffle, no empty-explanation test" in empty["notes"]
    ids = list(samples)
    for name in ("explanation_shuffle_keep", "explanation_shuffle_shift"):
        values = dict(zip(ids, per_example(list(samples.values()), name)))
        assert np.isnan(values["r0"]) and np.isnan(values["r1"]) and not np.isnan(values["r2"])
    values = dict(zip(ids, per_example(list(samples.values()), "explanation_empty_change")))
    assert np.isnan(values["r1"]) and values["r0"] == 1.0  # own: "positive" named; none named: neutral
    assert all(s["interventions"]["donor"] is None or s["interventions"]["donor"]["id"] != "r1"
               for s in samples.values())  # an empty explanation is nobody's donor


def test_samples_of_other_protocols_get_no_explanation_intervention_metric():
    reasoning = {"id": "x", "gold": 1, "outputs": {"answer": "1"}, "parsed": {"answer": 1},
                 "interventions": {"own_scores": [0.0, -1.0], "mistakes": None, "filler": {"answer": 1}}}
    assert not any(name.startswith("explanation_") for name in evaluate_samples([reasoning]))


# -- which regimes the protocol asks ----------------------------------------------------------------------------------
def test_only_explanation_first_regimes_are_asked():
    from faithex.errors import ConfigError
    from faithex.protocols import get_protocol
    from faithex.regimes import get_regime
    from faithex.runner import parse_experiment

    protocol = get_protocol("explanation_interventions")
    assert protocol.supports(get_regime("explanation_label"))
    assert protocol.supports(get_regime("explanation_label_instructed"))
    label_first = ("label_explanation", "shuffled_explanation", "bag_of_words_explanation", "label_only",
                   "joint_reasoning")
    assert not any(protocol.supports(get_regime(name)) for name in label_first)
    with pytest.raises(ConfigError, match="explanation_interventions"):
        parse_experiment({"name": "x", "tasks": [{"name": "tweet_sentiment"}], "regimes": ["label_explanation"],
                          "protocols": ["explanation_interventions"]})


# -- the protocol on the tiny model -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from faithex.lm.models import load_model

    loaded = load_model(tiny_model_dir)
    return loaded.model, loaded.tokenizer


def test_protocol_scores_each_intervention_on_the_tiny_model(tiny):
    from faithex.lm.scoring import label_scores
    from faithex.protocols import ProtocolContext, get_protocol
    from faithex.regimes import PromptOptions, get_regime

    model, tokenizer = tiny
    progress = []
    ctx = ProtocolContext(model=model, tokenizer=tokenizer, regime=get_regime("explanation_label"), task=TASK,
                          options=PromptOptions(system_prompt=""), train=ITEMS, batch_size=2,
                          on_batch=progress.append)
    protocol = get_protocol("explanation_interventions")
    batches = list(protocol.run(ctx, ITEMS[:4]))
    samples = [s for batch in batches for s in batch]
    assert len(batches) == 2 and sorted(s["id"] for s in samples) == [e.id for e in ITEMS[:4]]
    assert sum(progress) == 4 * protocol.steps(ctx.regime)
    labels = {s["parsed"]["answer"] for s in samples}
    for sample in samples:
        record, explanation = sample["interventions"], sample["outputs"]["explanation"]
        assert sample["prompts"]["answer"].endswith(f"assistant\nExplanation: {explanation}\nAnswer:")
        assert record["own"]["scores"] == sample["label_scores"]
        assert (record["donor"] is not None) == (len(labels) > 1)  # a donor wherever another label was given
        if record["donor"] is not None:
            assert record["donor"]["donor_answer"] != sample["parsed"]["answer"]
        # the empty explanation's scores are the labels after "Explanation: \nAnswer:", exactly as scored alone
        if explanation:
            prompt = tokenizer(head_of(sample) + "Explanation: \nAnswer:", add_special_tokens=False)["input_ids"]
            alone = label_scores(model, tokenizer, [prompt], [f" {name}" for name in TASK.label_names])
            assert record["empty"]["scores"] == pytest.approx(alone.summed[0].tolist(), abs=1e-4)
    metrics = evaluate_samples(samples, labels=TASK.labels)
    assert metrics["explanation_empty_shift"]["n"] == sum(bool(s["outputs"]["explanation"]) for s in samples)
    assert "answer_accuracy" in metrics  # the own label is the sample's answer: the label metrics apply


def head_of(sample: dict) -> str:
    """The sample's conversation up to the assistant's turn (its answer prompt without the assistant's text)."""
    return sample["prompts"]["answer"][: -len(f"Explanation: {sample['outputs']['explanation']}\nAnswer:")]


def test_a_donors_explanation_is_scored_after_the_items_own_prompt(tiny, monkeypatch):
    """The random tiny model gives every item one label, so no item has a donor: here a copier on top of it (its
    scores plus 50 for the label the explanation names, the gold explanations as its own) gives items other labels,
    and the donor's scores must be the model's after the item's own conversation and the donor's explanation."""
    from faithex.lm.scoring import label_scores
    from faithex.protocols import ProtocolContext, get_protocol
    from faithex.protocols import explanation_interventions as module
    from faithex.regimes import PromptOptions, get_regime

    model, tokenizer = tiny
    real = module.model_asker
    bonus = 50 * np.eye(len(TASK.labels))

    def copier(ctx, budget):
        asker = real(ctx, budget)
        return Asker(lambda examples: [e.explanation for e in examples],
                     lambda requests: asker.label_scores(requests) + bonus[[copies_a_word(e, t) for e, t in requests]])

    monkeypatch.setattr(module, "model_asker", copier)
    ctx = ProtocolContext(model=model, tokenizer=tokenizer, regime=get_regime("explanation_label"), task=TASK,
                          options=PromptOptions(system_prompt=""), train=ITEMS, batch_size=4)
    samples = [s for batch in get_protocol("explanation_interventions").run(ctx, ITEMS) for s in batch]
    for sample in samples:
        donor = sample["interventions"]["donor"]
        assert donor["donor_answer"] != sample["parsed"]["answer"] and donor["answer"] == donor["donor_answer"]
        prompt = tokenizer(head_of(sample) + f"Explanation: {donor['explanation']}\nAnswer:",
                           add_special_tokens=False)["input_ids"]
        alone = label_scores(model, tokenizer, [prompt], [f" {name}" for name in TASK.label_names]).summed[0]
        assert np.allclose(np.array(donor["scores"]) - bonus[donor["donor_answer"]], alone.numpy(), atol=1e-4)
    assert np.all(per_example(samples, "explanation_donor_follow") == 1.0)


def test_explanation_interventions_through_faithex_run(tiny_model_dir, tmp_path, reviews_csv):
    from faithex.io import read_jsonl
    from faithex.runner import parse_experiment, run_experiment

    csv = reviews_csv
    experiment = parse_experiment({
        "name": "tiny-explanation-interventions", "model": tiny_model_dir,
        "tasks": [{"name": "dataset", "id": "reviews", "n_train": None, "n_test": None,
                   "params": {"path": str(csv), "explanation_column": "why", "test_fraction": 0.5}}],
        "regimes": ["explanation_label"], "protocols": ["explanation_interventions"],
        "train": {"max_steps": 1, "batch_size": 2, "learning_rate": 1e-3, "precision": "fp32"},
        "inference": {"batch_size": 3, "precision": "fp32"},
    })
    results = run_experiment(experiment, tmp_path / "run")
    (cell,) = [c for c in results["cells"] if c["protocol"] == "explanation_interventions"]
    samples = read_jsonl(tmp_path / "run" / "samples" / "reviews__explanation_label__explanation_interventions__s0.jsonl")
    assert len(samples) == 4 and all("interventions" in s for s in samples)
    # each metric over the items its intervention applied to (absent where none: no column of NaN)
    for name, condition in [("explanation_donor_follow", "donor"), ("explanation_shuffle_keep", "shuffled"),
                            ("explanation_empty_change", "empty")]:
        applies = sum(s["interventions"][condition] is not None for s in samples)
        assert cell["metrics"].get(name, {"n": 0})["n"] == applies
