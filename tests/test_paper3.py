"""Paper 3 in the runner: regime settings from the YAML (`params:`), the pseudo-faithful filter's `criterion` and
`explained` settings, cross-task training (`train_on`: one adapter trained on several tasks and asked on every task,
a held-out one included), the before/after verdict of `faithex demo paper3`, the `dataset` task's parameters for the
paper's own data, and the experiment files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from faithex.errors import ConfigError, RunDirectoryError
from faithex.explanations.pseudo_faithful import Settings, explain_examples
from faithex.faithfulness.self_consistency import Wording
from faithex.regimes import get_regime
from faithex.regimes.base import PromptOptions
from faithex.regimes.classification import LabelRegime
from faithex.regimes.pseudo_faithful import ADAPTER, training_rows
from faithex.runner import parse_experiment
from faithex.tasks.base import Example, Task

ROOT = Path(__file__).resolve().parent.parent


# -- params: a regime's settings from the experiment ---------------------------------------------------------------
def experiment_with(regimes, tasks=None, **extra):
    return parse_experiment({"name": "p3", "tasks": tasks or [{"name": "tweet_sentiment"}], "regimes": regimes,
                             **extra})


def test_params_reach_the_pseudo_faithful_settings_and_leave_the_registered_regime_alone():
    spec = experiment_with(["label_only", {"name": "pseudo_faithful", "starts_from": "label_only",
                                           "params": {"words_tried": 3, "criterion": "check"}}])
    regime = spec.regime_specs()[1].regime()
    assert (regime.settings.words_tried, regime.settings.criterion) == (3, "check")
    assert regime.settings.proposals == Settings().proposals  # the rest as registered
    registered = get_regime("pseudo_faithful")
    assert (registered.settings.words_tried, registered.settings.criterion) == (1, "changed")
    # no params: exactly the registered regime (today's behaviour)
    assert experiment_with(["pseudo_faithful"]).regime_specs()[0].regime() is registered


@pytest.mark.parametrize("regime, message", [
    ({"name": "pseudo_faithful", "params": {"word_tried": 3}},
     "regime 'pseudo_faithful' has no setting 'word_tried'; accepted: method, words_tried, proposals, proposal_pool, "
     "correct_only, criterion, min_drop, explained"),
    ({"name": "pseudo_faithful", "params": {"criterion": "flipped"}},
     "regime 'pseudo_faithful': setting 'criterion' must be one of changed, check, drop, none, got 'flipped'"),
    ({"name": "pseudo_faithful", "params": {"criterion": "drop", "min_drop": 5}},
     "setting 'min_drop' must be a number between 0 and 1, got 5"),
    ({"name": "pseudo_faithful", "params": {"explained": 0}}, "setting 'explained' must be a positive integer"),
    ({"name": "pseudo_faithful", "params": {"words_tried": True}}, "setting 'words_tried' must be a positive"),
    ({"name": "pseudo_faithful", "params": {"method": "saliency"}},
     "unknown attribution method 'saliency'; accepted: feature_ablation, input_x_gradient"),
    ({"name": "label_only", "params": {"epochs": 2}},
     "regime 'label_only' has no setting 'epochs'; accepted: none (this regime has no settings)"),
])
def test_bad_params_are_one_line_config_errors(regime, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        experiment_with([regime])


def test_frozen_dataclass_regimes_are_configured_with_dataclasses_replace():
    @dataclass(frozen=True, kw_only=True)
    class Tunable(LabelRegime):
        tunable = ("instructed",)

    regime = Tunable(name="tunable", adapters=("label",), description="")
    assert regime.parameters() == {"instructed": False}
    configured = regime.configured(instructed=True)
    assert configured.instructed is True and regime.instructed is False
    assert (configured.name, configured.adapters) == ("tunable", ("label",))
    with pytest.raises(ConfigError, match="no setting 'name'; accepted: instructed"):
        regime.configured(name="other")


# -- criterion and explained ---------------------------------------------------------------------------------------
class Sentiment(Task):
    name = "fake_sentiment"
    label_names = ("negative", "positive")
    labels = (0, 1)
    instruction = "Sentiment of this text (positive or negative)?"


WORDING = Wording.of(Sentiment())


class FirstWordOracle:
    """The first sentiment word decides (good: positive, bad: negative; none: unknown); words ranked as written."""

    def classify(self, paragraphs):
        decisions = []
        for paragraph in paragraphs:
            found = re.search(r"\b(good|bad)\b", paragraph)
            decisions.append("unknown" if not found else 1 if found.group() == "good" else 0)
        return decisions

    def rank_words(self, examples, labels):
        return [[(m.group(), m.span()) for m in re.finditer(r"\w+", e.input)] for e in examples]

    def propose(self, requests):
        return [[] for _ in requests]


def example(i, text, label):
    return Example(id=f"e{i}", input=text, label=label, labels=[0, 1])


EXAMPLES = [
    example(1, "good day", 1),       # "[REDACTED] day": unknown -> passes both criteria
    example(2, "good bad day", 1),   # "[REDACTED] bad day": negative -> changed, but not "unknown"
    example(3, "day good", 1),       # "[REDACTED] good": still positive -> passes neither
]


@pytest.mark.parametrize("criterion, kept", [("check", {"e1"}), ("changed", {"e1", "e2"})])
def test_the_criterion_decides_which_redactions_explain_the_prediction(criterion, kept):
    outcomes = explain_examples(FirstWordOracle(), WORDING, EXAMPLES, ("attribution", "redaction"),
                                Settings(criterion=criterion))
    for style in ("attribution", "redaction"):
        assert {o.id for o in outcomes if o.styles[style].kept} == kept
    e2 = outcomes[1].styles["redaction"]
    assert (e2.intervened, e2.after) == ("[REDACTED] bad day", "negative")
    assert outcomes[2].styles["attribution"].reason == "not faithful"


LEANING_WEIGHTS = {"great": 0.3, "good": 0.04, "day": 0.1}


class LeaningOracle:
    """A classifier that no single word flips: p(positive) = 0.5 + the weights of the words present, unknown 0.01;
    words ranked as written."""

    def probabilities(self, paragraphs):
        rows = []
        for paragraph in paragraphs:
            words = set(re.findall(r"\w+", paragraph))
            positive = 0.5 + sum(weight for word, weight in LEANING_WEIGHTS.items() if word in words)
            rows.append({0: 0.99 - positive, 1: positive, "unknown": 0.01})
        return rows

    def classify(self, paragraphs):
        return [max(p, key=p.get) for p in self.probabilities(paragraphs)]

    def rank_words(self, examples, labels):
        return [[(m.group(), m.span()) for m in re.finditer(r"\w+", e.input)] for e in examples]

    def propose(self, requests):
        return [[] for _ in requests]


LEANING = [example(1, "great good day", 1), example(2, "good day", 1)]


def test_criterion_drop_keeps_a_word_whose_redaction_lowers_the_prediction_enough():
    # Redacting "great" lowers p(positive) from 0.94 to 0.64: the label stays, so `changed` keeps nothing.
    changed = explain_examples(LeaningOracle(), WORDING, LEANING, ("attribution", "redaction"), Settings())
    assert not any(o.styles[s].kept for o in changed for s in ("attribution", "redaction"))
    drop = explain_examples(LeaningOracle(), WORDING, LEANING, ("attribution", "redaction"),
                            Settings(criterion="drop", min_drop=0.05))
    first, second = drop[0].styles["attribution"], drop[1].styles["attribution"]
    assert (first.kept, first.word, first.explanation, first.after) == (True, "great", "great", "positive")
    assert first.drop == pytest.approx(0.30)
    assert drop[0].styles["redaction"].explanation == "[REDACTED] good day"
    # "good" lowers it by 0.04 only: below the margin
    assert (second.kept, second.reason, second.word) == (False, "not faithful", "good")
    assert second.drop == pytest.approx(0.04)


def test_criterion_none_keeps_the_top_word_whatever_its_redaction_does():
    outcomes = explain_examples(LeaningOracle(), WORDING, LEANING, ("attribution",), Settings(criterion="none"))
    assert [(o.styles["attribution"].kept, o.styles["attribution"].word) for o in outcomes] == \
        [(True, "great"), (True, "good")]


def test_criterion_drop_tries_the_next_words_when_the_top_one_moves_too_little():
    outcomes = explain_examples(LeaningOracle(), WORDING, LEANING[1:], ("redaction",),
                                Settings(criterion="drop", words_tried=2))
    kept = outcomes[0].styles["redaction"]
    assert (kept.kept, kept.word, kept.rank, kept.explanation) == (True, "day", 2, "good [REDACTED]")
    assert kept.drop == pytest.approx(0.10)


def test_the_default_criterion_is_changed():
    assert Settings().criterion == "changed"
    assert get_regime("pseudo_faithful_redaction").settings.criterion == "changed"


def test_training_rows_classify_every_example_and_explain_those_with_an_outcome():
    outcomes = explain_examples(FirstWordOracle(), WORDING, EXAMPLES[:2], ("attribution",), Settings())
    rows = training_rows(WORDING, EXAMPLES, outcomes, PromptOptions(system_prompt=""))
    assert [(r["id"], r["kind"]) for r in rows] == [
        ("e1", "answer"), ("e1", "attribution"), ("e2", "answer"), ("e2", "attribution"), ("e3", "answer")]


def test_only_the_first_explained_examples_are_asked_about(tiny_model_dir):
    from faithex.lm.models import load_model

    loaded = load_model(tiny_model_dir)
    regime = get_regime("pseudo_faithful").configured(explained=2, proposals=2)
    built = regime.model_records(loaded.model, loaded.tokenizer, Sentiment(), EXAMPLES, PromptOptions(), batch_size=2)
    assert [o["id"] for o in built.summary["examples"]] == ["e1", "e2"]
    assert built.summary["settings"]["explained"] == 2
    assert all(counts["examples"] == 2 for counts in built.summary["styles"].values())
    rows = built.records[ADAPTER]
    assert [r["id"] for r in rows if r["kind"] == "answer"] == ["e1", "e2", "e3"]
    assert "e3" not in {r["id"] for r in rows if r["kind"] != "answer"}


# -- train_on: validation ------------------------------------------------------------------------------------------
THREE_TASKS = [{"name": "tweet_sentiment"}, {"name": "news_topic"}, {"name": "drug_review"}]


@pytest.mark.parametrize("regimes, message", [
    ([{"name": "label_only", "train_on": ["tweet_sentiment", "news"]}],
     "train_on names 'news', which is not a task id of this experiment (tweet_sentiment, news_topic, drug_review)"),
    ([{"name": "label_only", "train_on": ["news_topic", "news_topic"]}], "train_on names 'news_topic' twice"),
    ([{"name": "zero_shot", "train_on": ["news_topic"]}], "regime 'zero_shot' trains nothing"),
    (["label_only", {"name": "pseudo_faithful", "starts_from": "label_only", "train_on": ["news_topic"]}],
     "starts from 'label_only', which trains one per task"),
    ([{"name": "label_only", "train_on": []}], "regimes[0].train_on"),
])
def test_train_on_is_checked_before_anything_runs(regimes, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        experiment_with(regimes, THREE_TASKS)


def test_shared_and_per_task_regimes_may_start_from_a_shared_one():
    spec = experiment_with([
        {"name": "label_only", "id": "classifier", "train_on": ["tweet_sentiment", "news_topic"]},
        {"name": "pseudo_faithful", "id": "shared", "starts_from": "classifier", "train_on": ["news_topic"]},
        {"name": "pseudo_faithful", "id": "per_task", "starts_from": "classifier"},
    ], THREE_TASKS)
    assert [s.shared for s in spec.regime_specs()] == [True, True, False]


def test_the_shared_folder_name_is_no_task_id():
    with pytest.raises(ConfigError, match="task id '_shared' is reserved"):
        experiment_with(["label_only"], [{"name": "tweet_sentiment", "id": "_shared"}])


# -- train_on: through the runner, on the tiny model ---------------------------------------------------------------
REVIEWS = ["great movie,positive", "lovely film,positive", "nice one,positive", "good fun,positive",
           "awful plot,negative", "bad film,negative", "terrible,negative", "dull acting,negative"]
TOPICS = ["goal scored,sports", "match won,sports", "team lost,sports", "new phone,tech", "fast chip,tech",
          "app update,tech", "shares fell,business", "bank profit,business", "market rally,business"]
HELD = ["so happy,positive", "what a joy,positive", "loved it,positive", "so sad,negative", "hated it,negative",
        "what a pain,negative"]


def csv_file(folder: Path, name: str, rows: list[str]) -> str:
    path = folder / f"{name}.csv"
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    return str(path)


def cross_task_experiment(model_dir, folder, pf_train_on=("reviews", "topics"), pf_params=None):
    def task(key, rows, fraction):
        return {"name": "dataset", "id": key, "n_train": None, "n_test": None,
                "params": {"path": csv_file(folder, key, rows), "test_fraction": fraction}}

    return parse_experiment({
        "name": "cross", "model": model_dir, "seeds": [0],
        "tasks": [task("reviews", REVIEWS, 0.25), task("topics", TOPICS, 0.34), task("held", HELD, 0.34)],
        "regimes": [
            {"name": "label_only", "id": "classifier", "train_on": ["reviews", "topics"]},
            {"name": "pseudo_faithful", "id": "pf", "starts_from": "classifier", "train_on": list(pf_train_on),
             "params": pf_params or {"words_tried": 2}},
        ],
        "protocols": ["score", "self_consistency_attribution_1word"],
        "train": {"max_steps": 2, "batch_size": 4, "learning_rate": 1e-3, "precision": "fp32"},
        "inference": {"batch_size": 4, "precision": "fp32"},
    })


class Messages:
    def __init__(self):
        self.lines = []

    def message(self, text):
        self.lines.append(text)

    def progress(self, description, total):
        return lambda n: None

    def done(self):
        pass


def test_one_adapter_trained_on_two_tasks_answers_every_task_and_a_rerun_trains_nothing(tiny_model_dir, tmp_path,
                                                                                       monkeypatch):
    import faithex.runner.run as runner
    import faithex.training
    from faithex.io import read_jsonl
    from faithex.predict import find_classifier
    from faithex.runner import prepare
    from faithex.runner.run import run_plan

    spec = cross_task_experiment(tiny_model_dir, tmp_path)
    run = tmp_path / "run"
    trained, asked = [], []
    real_train, real_load = faithex.training.train_adapter, runner.load_cell_model

    def counting_train(model, records, config, adapter_dir, **kwargs):
        trained.append((Path(adapter_dir), records))
        return real_train(model, records, config, adapter_dir, **kwargs)

    def recording_load(source, training_dir, regime):
        asked.append(Path(training_dir))
        return real_load(source, training_dir, regime)

    monkeypatch.setattr(faithex.training, "train_adapter", counting_train)
    monkeypatch.setattr(runner, "load_cell_model", recording_load)
    reporter = Messages()
    plan = prepare(spec, run)
    results = run_plan(plan, reporter)

    shared = run / "adapters" / "_shared"
    classifier, pf = shared / "classifier" / "s0" / "label", shared / "pf" / "s0" / ADAPTER
    # one training per regime and seed, on the two tasks' training data together
    assert [folder for folder, _ in trained] == [classifier, pf]
    train = {key: read_jsonl(run / "data" / f"{key}-train.jsonl") for key in ("reviews", "topics", "held")}
    assert len(trained[0][1]) == len(train["reviews"]) + len(train["topics"])
    # each task's records are built with its own task: binary sentiment names vs lettered topic options
    answers = [r["completion"][0]["content"] for r in trained[0][1]]
    assert set(answers[:len(train["reviews"])]) == {"negative", "positive"}
    assert set(answers[len(train["reviews"]):]) == {"business", "sports", "tech"}
    assert not (run / "adapters" / "held").exists() and not (run / "adapters" / "reviews").exists()

    # pf's records are built per training task on the classifier, which is loaded once for both
    for key in ("reviews", "topics"):
        rows = read_jsonl(run / "data" / f"{key}-pf-s0-records.jsonl")
        assert [r["id"] for r in rows if r["kind"] == "answer"] == [e["id"] for e in train[key]]
    assert not (run / "data" / "held-pf-s0-records.jsonl").exists()
    topic_answers = {r["completion"][0]["content"] for r in read_jsonl(run / "data" / "topics-pf-s0-records.jsonl")
                     if r["kind"] == "answer"}
    assert topic_answers <= {"a", "b", "c"}  # lettered options (three labels)
    assert sum(line.startswith("  building training records") for line in reporter.lines) == 1
    pf_rows = trained[1][1]
    assert sum(r["kind"] == "answer" for r in pf_rows) == len(train["reviews"]) + len(train["topics"])

    # every task's cells, the held-out task's included, are asked with the shared adapters
    cells = {(c["task"], c["regime"], c["protocol"]): c for c in results["cells"]}
    assert len(cells) == 3 * 2 * 2
    for task in ("reviews", "topics", "held"):
        assert cells[(task, "pf", "score")]["train"][ADAPTER]["init_adapter"] == str(classifier)
        assert cells[(task, "pf", "score")]["train"] == cells[("reviews", "pf", "score")]["train"]
        samples = read_jsonl(run / "samples" / f"{task}__pf__self_consistency_attribution_1word__s0.jsonl")
        assert len(samples) == len(read_jsonl(run / "data" / f"{task}-test.jsonl"))
    assert set(asked) == {classifier.parent, pf.parent} and len(asked) == 12
    description = json.loads((pf.parent / "faithex_cell.json").read_text())
    assert description["task"]["id"] == "reviews" and description["regime"]["train_on"] == ["reviews", "topics"]
    held_pf = [c for c in results["comparisons"] if c["task"] == "held" and c["regime"] == "pf"]
    assert {c["baseline"] for c in held_pf} == {"classifier"}
    assert "self_consistency_faithfulness" in {c["metric"] for c in results["comparisons"]}
    found = find_classifier(run, task="held", regime="pf", seed=0)  # `faithex predict` finds the shared adapter
    assert found.folder == pf.parent and found.regime.settings.words_tried == 2

    # a rerun trains nothing and builds no records
    trained.clear()

    def no_records(*args, **kwargs):
        raise AssertionError("records must not be rebuilt")

    monkeypatch.setattr(type(get_regime("pseudo_faithful")), "model_records", no_records)
    again = Messages()
    run_plan(prepare(spec, run), again)
    assert trained == []
    assert sum("already trained, reusing" in line for line in again.lines) == 2

    # a rerun that changes what the shared adapters were trained on, or with, is refused
    for changed in (cross_task_experiment(tiny_model_dir, tmp_path, pf_train_on=("reviews",)),
                    cross_task_experiment(tiny_model_dir, tmp_path, pf_params={"words_tried": 3})):
        with pytest.raises(RunDirectoryError, match=r"regime pf changed"):
            prepare(changed, run)


def test_records_built_with_other_settings_are_refused(tiny_model_dir, tmp_path):
    from faithex.runner import prepare
    from faithex.runner.run import model_records
    from faithex.runner.rundir import Cell

    spec = cross_task_experiment(tiny_model_dir, tmp_path)
    plan = prepare(spec, tmp_path / "run")
    path = tmp_path / "run" / "data" / "reviews-pf-s0-records.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("")
    # a summary written before `criterion` existed: built with the self-consistency check
    settings = {k: v for k, v in get_regime("pseudo_faithful").parameters().items()
                if k not in ("criterion", "explained")}
    path.with_suffix(".summary.json").write_text(json.dumps({"settings": {**settings, "words_tried": 2}}))
    with pytest.raises(RunDirectoryError, match=r"built with other settings \(criterion\)"):
        model_records(plan, Cell("reviews", "pf", "self_consistency_attribution_1word", 0), None, Messages())


def test_the_runner_compares_faithfulness_with_the_first_regime():
    from faithex.runner.summaries import COMPARED_METRICS

    assert {"self_consistency_faithfulness", "self_consistency_shift"} <= set(COMPARED_METRICS)


# -- the dataset task's parameters for the paper's data ------------------------------------------------------------
def saved_dataset(folder: Path, name: str, columns: dict, class_names: list[str] | None = None,
                  label: str = "label") -> str:
    """A `datasets` DatasetDict (train, test) saved to disk, shaped like a hub dataset."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features({key: ClassLabel(names=class_names) if key == label and class_names else
                         Value("int64" if key == label else "string") for key in columns["train"]})
    parts = {split: Dataset.from_dict(values, features=features) for split, values in columns.items()}
    path = folder / name
    DatasetDict(parts).save_to_disk(str(path))
    return str(path)


def test_text_template_joins_columns_and_skip_labels_drops_rows(tmp_path):
    from faithex.tasks import get_task

    snli = saved_dataset(tmp_path, "snli", {
        "train": {"premise": ["A man sleeps.", "A dog runs.", "Kids play.", "A cat eats."],
                  "hypothesis": ["He is awake.", "An animal moves.", "Nobody plays.", "It eats."],
                  "label": [2, 0, -1, 0]},
        "test": {"premise": ["Rain falls.", "Sun shines."], "hypothesis": ["It is wet.", "It is night."],
                 "label": [1, 2]}}, class_names=["entailment", "neutral", "contradiction"])
    task = get_task("dataset", path=snli, text_template="Premise: {premise}\nHypothesis: {hypothesis}",
                    skip_labels=[-1], test_split="test")
    train = task.examples(None, "train")
    assert sorted(e.input for e in train) == ["Premise: A cat eats.\nHypothesis: It eats.",
                                              "Premise: A dog runs.\nHypothesis: An animal moves.",
                                              "Premise: A man sleeps.\nHypothesis: He is awake."]
    assert task.label_names == ("entailment", "neutral", "contradiction")
    assert task.describe()["text_template"].startswith("Premise:")
    with pytest.raises(Exception, match="label -1 is outside the ClassLabel names"):
        get_task("dataset", path=snli, text_template="{premise} {hypothesis}", test_split="test")


def test_labels_as_a_mapping_rename_numbered_labels(tmp_path):
    from faithex.tasks import get_task

    sentiment140 = saved_dataset(tmp_path, "s140", {
        "train": {"text": ["awful day", "love it", "so bad", "great"], "sentiment": [0, 4, 0, 4]},
        "test": {"text": ["meh", "nice", "ugh"], "sentiment": [2, 4, 0]}}, label="sentiment")
    task = get_task("dataset", path=sentiment140, label_column="sentiment", labels={0: "negative", 4: "positive"},
                    skip_labels=[2], test_split="test")
    assert task.label_names == ("negative", "positive")
    assert {(e.input, e.label) for e in task.examples(None, "test")} == {("nice", 1), ("ugh", 0)}
    assert Wording.of(task).sentiment  # asked as Madsen's sentiment task
    assert task.describe()["labels"] == {"0": "negative", "4": "positive"}


@pytest.mark.parametrize("params, message", [
    ({"text_template": "{premise!r}"}, "must name a column"),
    ({"text_template": "no columns"}, "names no column"),
    ({"text_template": "{premise"}, "text_template"),
    ({"skip_labels": [True]}, "skip_labels"),
    ({"labels": {0: "negative"}}, "list of label names, or a mapping"),
    ({"labels": {0: "negative", 4: "negative"}}, "list of label names, or a mapping"),
])
def test_bad_dataset_parameters_are_config_errors(params, message, tmp_path):
    from faithex.tasks import get_task

    path = csv_file(tmp_path, "data", REVIEWS)
    with pytest.raises(ConfigError, match=re.escape(message)):
        get_task("dataset", path=path, **params)


def test_the_new_dataset_parameters_are_recorded_only_when_given(tmp_path):
    from faithex.tasks import get_task

    described = get_task("dataset", path=csv_file(tmp_path, "data", REVIEWS)).describe()
    assert "text_template" not in described and "skip_labels" not in described


# -- the experiment files ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [*sorted((ROOT / "experiments").glob("*.yaml")),
                                  *sorted((ROOT / "src" / "faithex" / "configs").glob("*.yaml"))],
                         ids=lambda p: p.name)
def test_every_experiment_file_parses(path):
    from faithex.runner import load_experiment

    if path.name == "paper3-paper-data.yaml":
        pytest.skip("reads hub datasets: checked against local copies below")
    spec = load_experiment(path)
    if path.name.startswith(("paper3", "demo-paper3")):  # before: the classifier every pseudo-faithful regime continues
        first, *others = spec.regime_specs()
        assert first.name == "self_consistency_classifier"
        assert {spec.starts_from for spec in others} == {first.key}


def test_the_paper_data_experiment_reads_local_copies_of_the_three_datasets(tiny_model_dir, tmp_path):
    import yaml

    from faithex.runner import prepare

    copies = {
        "sentiment140": saved_dataset(tmp_path, "s140", {
            "train": {"text": [f"tweet {i} {'sad' if i % 2 else 'fun'}" for i in range(8)],
                      "sentiment": [0 if i % 2 else 4 for i in range(8)]},
            "test": {"text": ["meh", "nice", "ugh"], "sentiment": [2, 4, 0]}}, label="sentiment"),
        "snli": saved_dataset(tmp_path, "snli", {
            "train": {"premise": [f"p{i}" for i in range(7)], "hypothesis": [f"h{i}" for i in range(7)],
                      "label": [0, 1, 2, -1, 0, 1, 2]},
            "test": {"premise": ["p", "q", "r"], "hypothesis": ["h", "i", "j"], "label": [0, 1, 2]}},
            class_names=["entailment", "neutral", "contradiction"]),
        "ag_news": saved_dataset(tmp_path, "ag", {
            "train": {"text": [f"news {i}" for i in range(8)], "label": [0, 1, 2, 3] * 2},
            "test": {"text": ["a", "b", "c", "d"], "label": [0, 1, 2, 3]}},
            class_names=["World", "Sports", "Business", "Sci/Tech"]),
    }
    data = yaml.safe_load((ROOT / "experiments" / "paper3-paper-data.yaml").read_text())
    for task in data["tasks"]:
        task["params"]["path"] = copies[task["id"]]
        task["n_train"], task["n_test"] = None, None
    data["model"] = tiny_model_dir
    plan = prepare(parse_experiment(data), tmp_path / "run", resolve=False)
    snli = plan.tasks["snli"]
    assert len(snli.train) == 6 and snli.train[0].input.startswith("Premise: p")
    assert plan.tasks["sentiment140"].task.label_names == ("negative", "positive")
    assert len(plan.tasks["sentiment140"].test) == 2  # the neutral tweet skipped
    assert plan.tasks["ag_news"].task.label_names == ("World", "Sports", "Business", "Sci/Tech")
    assert not (tmp_path / "run").exists()


def test_the_demo_config_runs_end_to_end_on_the_tiny_model_and_gets_a_verdict(tiny_model_dir, tmp_path):
    import yaml

    from faithex.cli.demo import DEMOS
    from faithex.runner import run_experiment

    data = yaml.safe_load(DEMOS["paper3"].config.read_text())
    data["model"] = tiny_model_dir
    data["tasks"][0].update(n_train=12, n_test=8)
    data["train"].update(max_steps=2, precision="fp32")
    data["inference"] = {"batch_size": 4, "precision": "fp32"}
    results = run_experiment(parse_experiment(data), tmp_path / "demo", reporter=Messages())
    assert {(c["regime"], c["protocol"]) for c in results["cells"]} == {
        (r, p) for r in ("self_consistency_classifier", "pseudo_faithful_attribution", "random_words")
        for p in ("score", "self_consistency_attribution_1word")}
    from faithex.cli.demo import closing_lines

    lines = closing_lines(results, DEMOS["paper3"].paper)
    # paper 3's three readings of the check, for the trained regime against the classifier (the random-word control
    # is a control, not a claim); Madsen's figure cannot pass for a classifier never taught "unknown"
    assert [line.split(" [")[0] for line in lines] == [
        "paper3.more_faithful", "paper3.more_faithful_label_change", "paper3.more_faithful_shift"]
    assert "not applicable" in lines[0] and "random_words" not in " ".join(lines)
    verdicts = {v["claim"]: v for v in results["verdicts"]}
    assert verdicts["paper3.more_faithful_shift"]["treatment"] == \
        "pseudo_faithful_attribution/self_consistency_attribution_1word"


def test_the_records_progress_counts_every_training_example_when_only_some_are_explained(monkeypatch):
    import faithex.regimes.pseudo_faithful as module
    from faithex.explanations.pseudo_faithful import ExampleOutcome, dropped

    def explained_all(oracle, wording, chunk, styles, settings):
        return [ExampleOutcome(e.id, "positive", [], {"attribution": dropped("not faithful")}) for e in chunk]

    class Model:
        def eval(self):
            return self

    monkeypatch.setattr(module, "explain_examples", explained_all)
    advanced = []
    regime = get_regime("pseudo_faithful_attribution").configured(explained=3)
    examples = [example(i, "good day", 1) for i in range(7)]
    regime.model_records(Model(), None, Sentiment(), examples, PromptOptions(system_prompt=""), batch_size=2,
                         on_batch=advanced.append)
    assert advanced == [2, 1, 4]  # two chunks explained, then the four classified only: the bar reaches 7 of 7
