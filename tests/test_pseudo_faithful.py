"""Paper 3's pseudo-faithful training data: the filter (a fake model whose every answer is known), the training
records (they read back with the protocols' parsers), the regimes, and a tiny run through the runner with continual
training from label_only and reuse of the records on a rerun."""

from __future__ import annotations

import json
import re

import pytest

from faithex.errors import ConfigError
from faithex.explanations.pseudo_faithful import Settings, explain_examples, yields
from faithex.faithfulness.self_consistency import (
    Wording,
    counterfactual_target,
    explanation_prompt,
    parse_attribution,
    parse_counterfactual,
    parse_redaction,
)
from faithex.regimes import get_regime
from faithex.regimes.base import PromptOptions
from faithex.regimes.pseudo_faithful import ADAPTER, training_rows
from faithex.tasks.base import Example, Task

POSITIVE, NEGATIVE = ("good", "great"), ("bad", "awful")


class Sentiment(Task):
    name = "fake_sentiment"
    label_names = ("negative", "positive")
    labels = (0, 1)
    instruction = "Sentiment of this text (positive or negative)?"


class Topic(Task):
    name = "fake_topic"
    label_names = ("tech", "business", "sports")
    labels = (0, 1, 2)
    instruction = "Topic of this headline (tech, business or sports)?"


def reading(paragraph: str):
    """The fake model's classification: the first sentiment word decides (1 positive, 0 negative); none: unknown."""
    found = [(m.start(), w) for w in POSITIVE + NEGATIVE for m in re.finditer(rf"\b{w}\b", paragraph)]
    if not found:
        return "unknown"
    return 1 if min(found)[1] in POSITIVE else 0


class FakeOracle:
    """Classifies by `reading`; ranks sentiment words first unless `ranking` says otherwise; proposes replacements
    from a table keyed by the word. Records what it was asked."""

    def __init__(self, proposals=None, ranking=None):
        self.proposals, self.ranking, self.asked = proposals or {}, ranking or {}, []

    def classify(self, paragraphs):
        self.asked.append(("classify", list(paragraphs)))
        return [reading(p) for p in paragraphs]

    def rank_words(self, examples, labels):
        self.asked.append(("rank", [e.id for e in examples], list(labels)))
        ranked = []
        for example in examples:
            words = [(m.group(), m.span()) for m in re.finditer(r"\w+|[^\w\s]+", example.input)]
            order = self.ranking.get(example.input) or [w for w, _ in words if w in POSITIVE + NEGATIVE]
            ranked.append(sorted(words, key=lambda w: order.index(w[0]) if w[0] in order else len(order)))
        return ranked

    def propose(self, requests):
        self.asked.append(("propose", len(requests)))
        return [self.proposals.get(paragraph[span[0]:span[1]], []) for paragraph, span, _ in requests]


def example(i, text, label):
    return Example(id=f"e{i}", input=text, label=label, labels=[0, 1])


WORDING = Wording.of(Sentiment())


def outcome_table(outcomes):
    return {(o.id, style): (r.kept, r.reason, r.explanation) for o in outcomes for style, r in o.styles.items()}


# -- the filter ----------------------------------------------------------------------------------------------------
def test_redaction_kept_only_where_the_label_becomes_unknown():
    examples = [
        example(1, "a good day", 1),       # "good" redacted -> "a [REDACTED] day": unknown -> kept
        example(2, "good and great", 1),   # "good" redacted -> "[REDACTED] and great": still positive -> dropped
        example(3, "the day", 0),          # predicted unknown: nothing to explain
        example(4, "bad food, good wine", 1),  # predicted negative, gold positive: misclassified
    ]
    outcomes = explain_examples(FakeOracle(), WORDING, examples, ("attribution", "redaction"))
    table = outcome_table(outcomes)
    assert table[("e1", "attribution")] == (True, None, "good")
    assert table[("e1", "redaction")] == (True, None, "a [REDACTED] day")
    assert table[("e2", "attribution")] == (False, "not faithful", None)
    assert table[("e2", "redaction")] == (False, "not faithful", None)
    assert outcomes[1].styles["redaction"].intervened == "[REDACTED] and great"
    assert outcomes[1].styles["redaction"].after == "positive"
    assert table[("e3", "attribution")] == (False, "predicted unknown", None)
    assert table[("e4", "redaction")] == (False, "misclassified", None)
    assert [o.prediction for o in outcomes] == ["positive", "positive", "unknown", "negative"]


def test_misclassified_examples_can_be_explained_when_asked():
    examples = [example(4, "bad food", 1)]  # predicted negative, gold positive
    outcomes = explain_examples(FakeOracle(), WORDING, examples, ("attribution",), Settings(correct_only=False))
    assert outcome_table(outcomes)[("e4", "attribution")] == (True, None, "bad")


def test_later_words_are_tried_only_when_asked():
    examples = [example(1, "day good", 1)]
    oracle = FakeOracle(ranking={"day good": ["day", "good"]})  # the top word "day" carries nothing
    top_only = explain_examples(oracle, WORDING, examples, ("attribution",))
    assert outcome_table(top_only)[("e1", "attribution")] == (False, "not faithful", None)
    assert top_only[0].styles["attribution"].word == "day" and top_only[0].words == ["day"]
    two = explain_examples(oracle, WORDING, examples, ("attribution",), Settings(words_tried=2))
    kept = two[0].styles["attribution"]
    assert (kept.kept, kept.word, kept.rank, kept.intervened) == (True, "good", 2, "day [REDACTED]")
    assert yields(two, ("attribution",))["attribution"] == {
        "examples": 1, "kept": 1, "yield": 1.0, "kept_top_word": 0, "dropped": {}}


def test_words_without_letters_are_never_explanations():
    oracle = FakeOracle(ranking={"good !!!": ["!!!", "good"]})
    outcomes = explain_examples(oracle, WORDING, [example(1, "good !!!", 1)], ("attribution",))
    assert outcomes[0].words == ["good"]
    assert outcome_table(outcomes)[("e1", "attribution")] == (True, None, "good")


def test_counterfactual_kept_only_on_a_verified_flip():
    examples = [
        example(1, "a good day", 1),   # target negative; "fine" -> unknown, "bad" -> negative: "a bad day" kept
        example(2, "a bad day", 0),    # target positive; "sad" -> unknown: no verified flip
        example(3, "so great", 1),     # the proposals are the word itself and label names: nothing to try
        example(4, "bad food", 1),     # predicted negative = the target (gold positive's opposite): no flip to make
    ]
    oracle = FakeOracle(proposals={"good": ["fine", "bad", "awful"], "bad": ["sad"], "great": ["Great", "negative", "Unknown", "neutral"]})
    outcomes = explain_examples(oracle, WORDING, examples, ("counterfactual",), Settings(correct_only=False))
    table = outcome_table(outcomes)
    assert table[("e1", "counterfactual")] == (True, None, "a bad day")  # the most likely verified proposal
    assert outcomes[0].styles["counterfactual"].target == "negative"
    assert table[("e2", "counterfactual")] == (False, "not faithful", None)
    assert outcomes[1].styles["counterfactual"].after == "unknown"
    assert table[("e3", "counterfactual")] == (False, "no proposal", None)
    assert table[("e4", "counterfactual")] == (False, "prediction is the target", None)
    # every edit of the batch verified in one classification call, proposals asked once
    calls = [entry[0] for entry in oracle.asked]
    assert calls == ["classify", "rank", "propose", "classify"]
    assert oracle.asked[-1][1] == ["a fine day", "a bad day", "a awful day", "a sad day"]


def test_proposals_are_cut_to_the_setting():
    oracle = FakeOracle(proposals={"good": ["fine", "nice", "bad"]})
    outcomes = explain_examples(oracle, WORDING, [example(1, "a good day", 1)], ("counterfactual",),
                                Settings(proposals=2))
    assert outcome_table(outcomes)[("e1", "counterfactual")] == (False, "not faithful", None)


def test_an_explanation_that_does_not_read_back_is_dropped():
    # The redacted paragraph is quoted whole: the protocol's parser strips the quotes, so it reads another text.
    outcomes = explain_examples(FakeOracle(), WORDING, [example(1, '"good day"', 1)], ("attribution", "redaction"))
    table = outcome_table(outcomes)
    assert table[("e1", "attribution")] == (True, None, "good")
    assert table[("e1", "redaction")] == (False, "does not parse back", None)


# -- training records ----------------------------------------------------------------------------------------------
def build(examples, styles=("attribution", "redaction", "counterfactual"), wording=WORDING, oracle=None):
    oracle = oracle or FakeOracle(proposals={"good": ["bad"], "bad": ["good"], "awful": ["great"]})
    outcomes = explain_examples(oracle, wording, examples, styles)
    return outcomes, training_rows(wording, examples, outcomes, PromptOptions(system_prompt=""))


def test_records_mix_classification_for_every_example_with_the_kept_explanations():
    from faithex.faithfulness.self_consistency import classify_prompt

    examples = [example(1, "a good day", 1), example(2, "an awful film", 0), example(3, "the day", 0)]
    outcomes, rows = build(examples)
    answers = [r for r in rows if r["kind"] == "answer"]
    assert [(r["id"], r["completion"][0]["content"]) for r in answers] == [
        ("e1", "positive"), ("e2", "negative"), ("e3", "negative")]  # gold labels, e3 included
    assert answers[0]["prompt"] == [{"role": "system", "content": ""},
                                    {"role": "user", "content": classify_prompt(WORDING, "a good day")}]
    explained = {(r["id"], r["kind"]): r["completion"][0]["content"] for r in rows if r["kind"] != "answer"}
    assert explained == {
        ("e1", "attribution"): "good", ("e1", "redaction"): "a [REDACTED] day", ("e1", "counterfactual"): "a bad day",
        ("e2", "attribution"): "awful", ("e2", "redaction"): "an [REDACTED] film",
        ("e2", "counterfactual"): "an great film",
    }
    assert yields(outcomes, ("attribution", "counterfactual"))["attribution"]["dropped"] == {"predicted unknown": 1}


def test_explanation_records_ask_exactly_what_the_protocols_ask_and_read_back_as_themselves():
    from faithex.protocols.self_consistency import SelfConsistency

    examples = [example(1, "a good day", 1), example(2, "so bad, really", 0)]
    _, rows = build(examples)
    by_id = {e.id: e for e in examples}
    checked = set()
    for row in rows:
        if row["kind"] == "answer":
            continue
        e, style, answer = by_id[row["id"]], row["kind"], row["completion"][0]["content"]
        target = counterfactual_target(WORDING, e.label) if style == "counterfactual" else None
        asked = SelfConsistency(style, words=1).explanation_text(WORDING, e, target)
        assert row["prompt"][-1]["content"] == asked == explanation_prompt(WORDING, style, e.input, "1", target)
        if style == "attribution":
            assert parse_attribution(answer, e.input, "1").words == [answer]
        elif style == "redaction":
            assert parse_redaction(answer, e.input) == answer
        else:
            assert parse_counterfactual(answer, e.input) == answer
        checked.add(style)
    assert checked == {"attribution", "redaction", "counterfactual"}


def test_lettered_tasks_answer_the_option_letter():
    wording = Wording.of(Topic())  # options sorted: a) business, b) sports, c) tech, d) unknown
    examples = [Example(id="t1", input="stocks rally", label=1, labels=[0, 1, 2]),
                Example(id="t2", input="new phone", label=0, labels=[0, 1, 2])]

    class TopicOracle(FakeOracle):
        def classify(self, paragraphs):
            return [1 if "stocks" in p else 0 if "phone" in p else "unknown" for p in paragraphs]

        def rank_words(self, examples, labels):
            return [[(e.input.split()[0], (0, len(e.input.split()[0])))] for e in examples]

    outcomes, rows = build(examples, wording=wording, oracle=TopicOracle(proposals={"stocks": ["goals"]}))
    answers = {r["id"]: r["completion"][0]["content"] for r in rows if r["kind"] == "answer"}
    assert answers == {"t1": "a", "t2": "c"}
    # the counterfactual target of business is the next option, sports: not verified by this oracle (tech)
    assert outcomes[0].styles["counterfactual"].target == "sports"
    assert outcomes[0].styles["redaction"].explanation == "[REDACTED] rally"


# -- the regimes ---------------------------------------------------------------------------------------------------
def test_regimes_route_every_kind_to_one_adapter_and_every_self_consistency_protocol_asks_them():
    from faithex.protocols import ProtocolContext
    from faithex.protocols.self_consistency import SELF_CONSISTENCY_PROTOCOLS
    from faithex.runner import parse_experiment

    names = ["pseudo_faithful", "pseudo_faithful_attribution", "pseudo_faithful_redaction",
             "pseudo_faithful_counterfactual"]
    for name in names:
        regime = get_regime(name)
        assert regime.needs_model and regime.adapters == (ADAPTER,)
        assert {regime.adapter_for(kind) for kind in regime.kinds} == {ADAPTER}
        assert set(regime.kinds) == {"answer", "attribution", "redaction", "counterfactual"}
    assert get_regime("pseudo_faithful").styles == ("attribution", "redaction", "counterfactual")
    assert get_regime("pseudo_faithful_redaction").styles == ("redaction",)
    assert get_regime("pseudo_faithful_counterfactual").default_protocol == "self_consistency_counterfactual_1word"
    assert not get_regime("label_only").needs_model

    class Switching:
        peft_config = {ADAPTER: object()}
        active = None

        def set_adapter(self, name):
            self.active = name

    model = Switching()
    context = ProtocolContext(model=model, tokenizer=None, regime=get_regime("pseudo_faithful"), task=Sentiment())
    context.activate("redaction")
    assert model.active == ADAPTER
    spec = parse_experiment({"name": "x", "tasks": [{"name": "tweet_sentiment"}],
                             "regimes": ["label_only", {"name": "pseudo_faithful", "starts_from": "label_only"}],
                             "protocols": [p.name for p in SELF_CONSISTENCY_PROTOCOLS]})
    assert spec.protocols_for(spec.regime_specs()[1]) == [p.name for p in SELF_CONSISTENCY_PROTOCOLS]


def test_prepare_builds_the_model_free_part_without_a_model(tiny_model_dir, tmp_path, monkeypatch):
    from faithex.runner import parse_experiment, prepare

    def no_model(*args, **kwargs):
        raise AssertionError("prepare must not load a model")

    monkeypatch.setattr("faithex.lm.models.load_model", no_model)
    spec = experiment(tiny_model_dir, reviews(tmp_path))
    plan = prepare(parse_experiment(spec), tmp_path / "run", resolve=False)
    records = plan.records[("reviews", "pseudo_faithful")]
    assert list(records) == [ADAPTER] and len(records[ADAPTER]) == 6  # one classification record per example
    assert {r["completion"][0]["content"] for r in records[ADAPTER]} == {"negative", "positive"}
    assert "can contain redacted words" in records[ADAPTER][0]["prompt"][-1]["content"]
    assert not (tmp_path / "run").exists()


# -- the real oracle, on the tiny model ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_oracle(tiny_model_dir):
    from faithex.explanations.oracle import LoadedOracle
    from faithex.lm.models import load_model

    loaded = load_model(tiny_model_dir)
    return LoadedOracle(loaded.model, loaded.tokenizer, Sentiment(), WORDING, PromptOptions(system_prompt=""),
                        Settings(proposals=3), batch_size=2)


def test_loaded_oracle_classifies_as_the_scored_protocol_does(tiny_oracle):
    from faithex.protocols import ProtocolContext
    from faithex.protocols.self_consistency import SelfConsistency

    paragraphs = ["a good day", "bad", "so [REDACTED] today"]
    context = ProtocolContext(model=tiny_oracle.model, tokenizer=tiny_oracle.tokenizer,
                              regime=get_regime("zero_shot"), task=Sentiment(), batch_size=2)
    protocol = [c.decision for c in SelfConsistency("attribution").classify_texts(context, WORDING, paragraphs)]
    assert tiny_oracle.classify(paragraphs) == protocol


def test_loaded_oracle_probabilities_are_a_distribution_over_the_options_the_classification_reads(tiny_oracle):
    paragraphs = ["a good day", "bad", "so [REDACTED] today"]
    probabilities = tiny_oracle.probabilities(paragraphs)
    for row, decision in zip(probabilities, tiny_oracle.classify(paragraphs)):
        assert list(row) == [0, 1, "unknown"]
        assert sum(row.values()) == pytest.approx(1.0, abs=1e-5)
        assert max(row, key=row.get) == decision


def test_loaded_oracle_ranks_every_word_of_the_input(tiny_oracle):
    from faithex.attribution import Words

    examples = [example(1, "a good day!", 1), example(2, "so bad, so sad", 0), example(3, "fine", 1)]
    ranked = tiny_oracle.rank_words(examples, [1, 0, 1])
    for e, ranking in zip(examples, ranked):
        words = Words.split(e.input)
        assert sorted(span for _, span in ranking) == list(words.spans)
        assert all(e.input[start:end] == word for word, (start, end) in ranking)


def test_loaded_oracle_proposes_alphabetic_words_spelled_for_their_position(tiny_oracle):
    paragraph = "good day"
    first, second = tiny_oracle.propose([(paragraph, (0, 4), 0), (paragraph, (5, 8), 0)])
    # The first word follows no space: alphabetic tokens (the char tokenizer's are single letters), at most
    # `proposals` + 1 (the word itself may be among them).
    assert len(first) <= 4 and all(w.isalpha() and len(w) == 1 for w in first)
    # After a space, a proposal must be a token that starts with one: the char tokenizer has none.
    assert second == []


@pytest.mark.parametrize("following, goes_on", [
    ("'t", True), ("s", True), ("-free", True), ("2", True), (" the", False), ("!", False), (",", False),
    ("\n", False), ("", False),
])
def test_a_proposal_is_a_word_only_where_the_model_ends_it(following, goes_on):
    from faithex.explanations.oracle import continues_word

    assert continues_word(following) is goes_on


# -- through the runner, on the tiny model -------------------------------------------------------------------------
ROWS = ["great movie,positive", "lovely film,positive", "nice one,positive", "good fun,positive",
        "awful plot,negative", "bad film,negative", "terrible,negative", "dull acting,negative"]


def reviews(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\n" + "\n".join(ROWS) + "\n")
    return path


def experiment(model_dir, csv):
    return {
        "name": "pf", "model": model_dir, "seeds": [0],
        "tasks": [{"name": "dataset", "id": "reviews", "params": {"path": str(csv), "test_fraction": 0.25},
                   "n_train": None, "n_test": None}],
        "regimes": ["label_only", {"name": "pseudo_faithful", "starts_from": "label_only"}],
        "protocols": ["self_consistency_attribution_1word"],
        "train": {"max_steps": 2, "batch_size": 4, "learning_rate": 1e-3, "precision": "fp32"},
        "inference": {"batch_size": 4, "precision": "fp32"},
    }


class Messages:
    def __init__(self):
        self.lines, self.bars = [], []

    def message(self, text):
        self.lines.append(text)

    def progress(self, description, total):
        self.bars.append((description, total))
        return lambda n: None

    def done(self):
        pass


def test_the_self_consistency_classifier_learns_the_checks_prompt_and_pseudo_faithful_starts_from_it(
        tiny_model_dir, tmp_path):
    from faithex.io import read_jsonl
    from faithex.runner import parse_experiment, prepare
    from faithex.runner.run import run_plan

    classifier = get_regime("self_consistency_classifier")
    assert not classifier.needs_model and classifier.styles == () and classifier.parameters() == {}
    with pytest.raises(ConfigError, match="has no setting 'criterion'"):
        classifier.configured(criterion="drop")
    spec = parse_experiment({**experiment(tiny_model_dir, reviews(tmp_path)), "regimes": [
        "self_consistency_classifier",
        {"name": "pseudo_faithful_redaction", "starts_from": "self_consistency_classifier",
         "params": {"criterion": "drop", "min_drop": 0.01}}]})
    run = tmp_path / "run"
    results = run_plan(prepare(spec, run), Messages())

    cells = {c["regime"]: c for c in results["cells"]}
    start = run / "adapters" / "reviews" / "self_consistency_classifier" / "s0" / ADAPTER
    assert cells["pseudo_faithful_redaction"]["train"][ADAPTER]["init_adapter"] == str(start)
    # the classifier is trained on exactly the check's classification prompt, one record per training example
    trained = read_jsonl(run / "data" / "reviews-train.jsonl")
    assert json.loads((start.parent / "faithex_cell.json").read_text())["regime"]["name"] == \
        "self_consistency_classifier"
    records = read_jsonl(run / "data" / "reviews-pseudo_faithful_redaction-s0-records.jsonl")
    assert sum(r["kind"] == "answer" for r in records) == len(trained)
    assert "unknown" in records[0]["prompt"][-1]["content"]
    summary = json.loads((run / "data" / "reviews-pseudo_faithful_redaction-s0-records.summary.json").read_text())
    assert summary["settings"]["criterion"] == "drop"
    assert len(summary["examples"]) == len(trained)  # (the drop itself: the LeaningOracle tests in test_paper3)
    for cell in cells.values():  # answers are scored: the graded check is there
        assert "self_consistency_shift" in cell["metrics"]


def test_pseudo_faithful_run_trains_from_label_only_evaluates_and_reuses_its_records(tiny_model_dir, tmp_path,
                                                                                    monkeypatch):
    import shutil

    from faithex.io import read_jsonl
    from faithex.runner import parse_experiment, prepare
    from faithex.runner.run import run_plan

    spec = parse_experiment(experiment(tiny_model_dir, reviews(tmp_path)))
    run = tmp_path / "run"
    reporter = Messages()
    results = run_plan(prepare(spec, run), reporter)

    cells = {c["regime"]: c for c in results["cells"]}
    assert set(cells) == {"label_only", "pseudo_faithful"}
    for cell in cells.values():
        assert cell["n_test"] == 2 and "self_consistency_accuracy" in cell["metrics"]
    start = run / "adapters" / "reviews" / "label_only" / "s0" / "label"
    assert cells["pseudo_faithful"]["train"][ADAPTER]["init_adapter"] == str(start)

    path = run / "data" / "reviews-pseudo_faithful-s0-records.jsonl"
    rows = read_jsonl(path)
    train = read_jsonl(run / "data" / "reviews-train.jsonl")
    answers = [r for r in rows if r["kind"] == "answer"]
    assert [r["id"] for r in answers] == [e["id"] for e in train]  # every training example, classified
    assert all(r["adapter"] == ADAPTER for r in rows)
    summary = json.loads((run / "data" / "reviews-pseudo_faithful-s0-records.summary.json").read_text())
    assert set(summary["styles"]) == {"attribution", "redaction", "counterfactual"}
    assert len(summary["examples"]) == len(train)
    for style, counts in summary["styles"].items():  # each explanation record is a kept one, and vice versa
        assert counts["kept"] == sum(r["kind"] == style for r in rows)
        assert counts["kept"] + sum(counts["dropped"].values()) == len(train)
    assert ("  pseudo_faithful: training records", len(train)) in reporter.bars
    samples = read_jsonl(run / "samples" / "reviews__pseudo_faithful__self_consistency_attribution_1word__s0.jsonl")
    assert {s["regime"] for s in samples} == {"pseudo_faithful"} and len(samples) == 2

    # A rerun that must train again reads the records back instead of asking the model.
    before = path.read_bytes()
    shutil.rmtree(run / "adapters" / "reviews" / "pseudo_faithful")

    def no_records(*args, **kwargs):
        raise AssertionError("records must be reused")

    monkeypatch.setattr(type(get_regime("pseudo_faithful")), "model_records", no_records)
    again = Messages()
    run_plan(prepare(spec, run), again)
    assert f"  training records already built, reusing {path}" in again.lines
    assert any(line.startswith("  training adapter 'self_explainer'") for line in again.lines)
    assert path.read_bytes() == before
    assert (run / "adapters" / "reviews" / "pseudo_faithful" / "s0" / ADAPTER / "train_result.json").exists()


@pytest.mark.slow
def test_default_model_builds_checked_explanations_for_three_tweets():
    from faithex.lm.models import load_model

    loaded = load_model("default")
    examples = [example(1, "I love this new phone, it is amazing", 1), example(2, "Worst flight ever, so rude", 0),
                example(3, "The service was terrible and the food cold", 0)]
    built = get_regime("pseudo_faithful").model_records(loaded.model, loaded.tokenizer, Sentiment(), examples,
                                                        PromptOptions(system_prompt=""), batch_size=3)
    rows = built.records[ADAPTER]
    assert sum(r["kind"] == "answer" for r in rows) == 3
    for outcome in built.summary["examples"]:
        assert set(outcome["styles"]) == {"attribution", "redaction", "counterfactual"}
        for style, result in outcome["styles"].items():
            assert result["kept"] == (result["reason"] is None)
            if result["word"] is not None:
                assert result["word"] in examples[int(outcome["id"][1:]) - 1].input
