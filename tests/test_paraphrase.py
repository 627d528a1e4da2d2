"""Issue 17, item 1 (f): the paraphrase. A reasoning re-written in the task's other format (the same steps and
output in other words), the regime trained on both formats with the format named before the input, and the
reasoning interventions' paraphrase condition with its metric `paraphrase_answer_keep`, on hand-built examples and
stub models; the protocol on the tiny model, alone and through `faithex run`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faithex.errors import ConfigError
from faithex.faithfulness.interventions import Asker, Settings, run_interventions
from faithex.metrics import evaluate_samples, per_example
from faithex.regimes import CONFIGURATIONS, PromptOptions, get_regime
from faithex.tasks import Example, get_task
from faithex.tasks.synthetic.decision_tree import Node
from faithex.tasks.synthetic.mortgage import sample_applicant

BOTH = "joint_reasoning_both_formats"
TASKS = [("decision_tree", {"comparisons": 3}), ("logistic_regression", {"n_inputs": 4}), ("mortgage", {})]


# -- hand-built tasks ------------------------------------------------------------------------------------------------
def tree(reasoning_format: str = "compressed"):
    """A 2-comparison tree by hand: x0 < 0.5, then (true) x1 > 0.3 or (false) x1 < 0.6."""
    task = get_task("decision_tree", comparisons=2, decimals=2, reasoning_format=reasoning_format)
    task.nodes = [Node(0, "<", 0.5), Node(1, ">", 0.3), Node(1, "<", 0.6)]
    return task


def regression(reasoning_format: str = "compressed"):
    """y = [2 x0 - x1 + 0.5 x2 > 0], two decimals."""
    task = get_task("logistic_regression", n_inputs=3, decimals=2, reasoning_format=reasoning_format)
    task.weights = [2.0, -1.0, 0.5]
    return task


def with_x(x: list[float]) -> Example:
    return Example(id="x", input=f"X: {x}", label=0, labels=[0, 1], meta={"x": x})


# -- the conversion between formats -----------------------------------------------------------------------------------
# (task, own reasoning as the model wrote it, the same in the other format); wrong steps stay wrong, the stated
# output stays as written, even where it contradicts the steps.
REWRITES = [
    # 0.2 < 0.5 true, then 0.4 > 0.3 true: output 1
    (tree(), [0.2, 0.4], "1,1,1", "0.2<0.5:1;0.4>0.3:1;1"),
    # a wrong first bit leads to the false child (x1 < 0.6): its comparison, with the bits as written
    (tree(), [0.2, 0.4], "0,1,1", "0.2<0.5:0;0.4<0.6:1;1"),
    # an output that contradicts the last step is kept as stated
    (tree(), [0.2, 0.4], "1,1,0", "0.2<0.5:1;0.4>0.3:1;0"),
    # products 1.00, -0.30, -0.20: the weights and inputs written before each product
    (regression(), [0.5, 0.3, -0.4], "1.00 1.00;-0.30 0.70;-0.20 0.50;1",
     "2.0*0.5=1.00 1.00;-1.0*0.3=-0.30 0.70;0.5*-0.4=-0.20 0.50;1"),
    # a wrong sum is kept as written (the paraphrase changes words, not content)
    (regression(), [0.5, 0.3, -0.4], "1.00 2.00;-0.30 1.70;-0.20 1.50;1",
     "2.0*0.5=1.00 2.00;-1.0*0.3=-0.30 1.70;0.5*-0.4=-0.20 1.50;1"),
]


@pytest.mark.parametrize(("task", "x", "compressed", "verbose"), REWRITES)
def test_rewrite_states_the_same_steps_and_output_in_the_other_format(task, x, compressed, verbose):
    example = with_x(x)
    other = task.with_reasoning_format("verbose")
    assert task.rewrite_reasoning(example, compressed, "verbose") == verbose
    assert other.rewrite_reasoning(example, verbose, "compressed") == compressed
    assert other.parse_reasoning(verbose) == task.parse_reasoning(compressed)  # each format's parser reads its own


def test_a_wrong_tree_bit_stays_a_false_step_in_verbose_words():
    task = tree()
    verbose = task.rewrite_reasoning(with_x([0.2, 0.4]), "0,1,1", "verbose")
    assert task.with_reasoning_format("verbose").reasoning_steps(verbose) == [False, True]  # 0.2<0.5 is true


def test_verbose_regression_operands_are_dropped_as_written():
    """Verbose to compressed keeps the written products and sums, whatever operands the model wrote before them."""
    task = regression("verbose")
    written = "9.0*0.5=1.00 1.00;-1.0*0.3=-0.30 0.70;0.5*-0.4=-0.20 0.50;1"
    assert task.rewrite_reasoning(with_x([0.5, 0.3, -0.4]), written, "compressed") == \
        "1.00 1.00;-0.30 0.70;-0.20 0.50;1"


@pytest.mark.parametrize("reasoning_format", ["compressed", "verbose"])
def test_mortgage_rewrite_by_hand(reasoning_format):
    task = get_task("mortgage", comparisons=2, reasoning_format=reasoning_format)
    applicant = {**sample_applicant(np.random.default_rng(0)), "debt_to_income": 30, "credit_score": "good"}
    example = Example(id="m", input="", label=1, labels=[0, 1], meta={"applicant": applicant})
    texts = {"compressed": "1,1,1", "verbose": "dti=30<43:1;credit=good in excellent/good:1;1"}
    other = "verbose" if reasoning_format == "compressed" else "compressed"
    assert task.rewrite_reasoning(example, texts[reasoning_format], other) == texts[other]


@pytest.mark.parametrize(("name", "params"), TASKS)
@pytest.mark.parametrize("reasoning_format", ["compressed", "verbose"])
def test_gold_reasoning_rewritten_is_the_other_formats_gold(name, params, reasoning_format):
    """Over generated examples: the re-written gold reasoning is what the task in the other format writes, it parses
    to the same list, and a round trip gives the text back."""
    other_format = "verbose" if reasoning_format == "compressed" else "compressed"
    task = get_task(name, seed=2, reasoning_format=reasoning_format, **params)
    other = get_task(name, seed=2, reasoning_format=other_format, **params)
    for mine, theirs in zip(task.examples(40, "test"), other.examples(40, "test")):
        rewritten = task.rewrite_reasoning(mine, mine.reasoning, other_format)
        assert rewritten == theirs.reasoning
        assert other.parse_reasoning(rewritten) == task.parse_reasoning(mine.reasoning)
        assert other.rewrite_reasoning(theirs, rewritten, reasoning_format) == mine.reasoning


@pytest.mark.parametrize(("task", "x", "text"), [
    (tree(), [0.2, 0.4], "1,1"),  # fewer bits than the tree's depth + output
    (tree(), [0.2, 0.4], "1,1,1,1"),
    (tree(), [0.2, 0.4], "garbage"),
    (tree("verbose"), [0.2, 0.4], "1,1,1"),  # the compressed text is not this task's format
    (regression(), [0.5, 0.3, -0.4], "1.00 1.00;-0.30 0.70;1"),  # two steps of three
    (regression(), [0.5, 0.3, -0.4], ""),
])
def test_rewrite_refuses_what_is_not_a_reasoning_of_the_tasks_shape(task, x, text):
    other = "compressed" if task.reasoning_format == "verbose" else "verbose"
    assert task.rewrite_reasoning(with_x(x), text, other) is None


def test_with_reasoning_format_is_the_same_classifier():
    task = tree()
    verbose = task.with_reasoning_format("verbose")
    assert verbose.nodes == task.nodes and verbose.reasoning_format == "verbose" and task.reasoning_format == "compressed"
    assert verbose.describe() == {**task.describe(), "reasoning_format": "verbose"}
    assert verbose.reasoning_writes_operands and not task.reasoning_writes_operands
    assert verbose.with_reasoning_format("compressed").describe() == task.describe()
    with pytest.raises(ConfigError, match="reasoning_format"):
        task.with_reasoning_format("long")
    with pytest.raises(ConfigError, match="reasoning_format"):
        regression().rewrite_reasoning(with_x([0.5, 0.3, -0.4]), "1.00 1.00;-0.30 0.70;-0.20 0.50;1", "long")


# -- the regime's training data ---------------------------------------------------------------------------------------
def format_named(record) -> str:
    first_user = next(m["content"] for m in record["prompt"] if m["role"] == "user")
    line, _, _ = first_user.partition("\n")
    assert line.startswith("Reasoning format: ")
    return line.removeprefix("Reasoning format: ")


@pytest.mark.parametrize(("name", "params"), TASKS)
def test_both_formats_regime_trains_half_of_each_format_named_before_the_input(name, params):
    task = get_task(name, seed=1, **params)
    examples = task.examples(21, "train")
    records = get_regime(BOTH).records(task, examples, PromptOptions(seed=3))["joint"]
    assert len(records) == 3 * len(examples)  # reasoning, answer, explanation per example, as joint_reasoning
    verbose = task.with_reasoning_format("verbose")
    named = []
    for example, (reasoning, answer, explanation) in zip(examples, zip(*[iter(records)] * 3)):
        fmt = format_named(reasoning)
        assert format_named(answer) == format_named(explanation) == fmt
        assert reasoning["prompt"][-1]["content"] == f"Reasoning format: {fmt}\n{task.user_text(example)}"
        written = reasoning["completion"][0]["content"]
        reader = verbose if fmt == "verbose" else task
        assert reader.parse_reasoning(written) == task.parse_reasoning(example.reasoning)  # the gold, in that format
        assert answer["prompt"][-2]["content"] == written  # the answer and explanation follow that reasoning
        assert answer["completion"][0]["content"] == task.answer_text(example.label)
        assert explanation["completion"][0]["content"] == example.explanation
        named.append(fmt)
    assert named.count("compressed") == 11 and named.count("verbose") == 10  # the own format takes the odd one


def test_both_formats_training_data_is_seeded():
    task = get_task("decision_tree", seed=0, comparisons=2)
    examples = task.examples(40, "train")
    regime = get_regime(BOTH)

    def formats(seed):
        return [format_named(r) for r in regime.records(task, examples, PromptOptions(seed=seed))["joint"][::3]]

    assert regime.records(task, examples, PromptOptions(seed=5)) == regime.records(task, examples,
                                                                                   PromptOptions(seed=5))
    assert formats(5) != formats(6)


def test_both_formats_regime_asks_in_the_tasks_own_format():
    regime, options = get_regime(BOTH), PromptOptions(system_prompt="")
    task = tree()
    example = with_x([0.2, 0.4])
    assert regime.prompt("reasoning", task, example, options)[-1]["content"] == "Reasoning format: compressed\nX: " \
                                                                                "[0.2, 0.4]"
    verbose_task = tree("verbose")
    answer = regime.prompt("answer", verbose_task, example, options, "0.2<0.5:1;0.4>0.3:1;1")
    assert [m["content"] for m in answer] == ["", "Reasoning format: verbose\nX: [0.2, 0.4]", "0.2<0.5:1;0.4>0.3:1;1",
                                              "ANSWER"]
    # joint_reasoning names no format: its prompts, records and description stay as they were
    plain = get_regime("joint_reasoning")
    assert plain.prompt("reasoning", task, example, options)[-1]["content"] == "X: [0.2, 0.4]"
    assert "both_reasoning_formats" not in plain.describe() and regime.describe()["both_reasoning_formats"] is True
    assert not plain.both_reasoning_formats and regime.both_reasoning_formats


def test_both_formats_regime_needs_a_task_with_two_formats():
    regime = get_regime(BOTH)
    assert all(regime.unsupported(get_task(name)) is None for name, _ in TASKS)
    text = get_task("tweet_sentiment")
    assert "one reasoning format" in regime.unsupported(text)  # the runner skips the cell with this message
    with pytest.raises(ConfigError, match="one reasoning format"):
        regime.records(text, text.examples(2, "train"), PromptOptions())
    assert BOTH not in CONFIGURATIONS  # an experiment without `regimes` trains paper 1's four, as before


# -- the paraphrase condition on stubs --------------------------------------------------------------------------------
def last_bit(text: str) -> int:
    """The bit a reasoning ends with (`...,1`, `...;1`), 0 when none: a model that reads only the stated output."""
    tail = text.strip()[-1:] if text else ""
    return int(tail) if tail in ("0", "1") else 0


def stub_asker(paraphrase=None, own=None, seen=None) -> Asker:
    """A model whose own reasoning is the gold one (or `own(example)`), answering with the reasoning's last bit;
    `paraphrase(example, reasoning)` answers after a paraphrase (None: a model on one format). `seen` collects the
    paraphrase requests."""

    def continue_reasoning(requests):
        return [(own(e) if own else e.reasoning) if not prefix else "" for e, prefix in requests]

    def paraphrase_scores(requests):
        if seen is not None:
            seen.extend(requests)
        return np.eye(2)[[paraphrase(e, r) for e, r in requests]]

    return Asker(continue_reasoning, lambda requests: np.eye(2)[[last_bit(r) for _, r in requests]],
                 lambda requests: [""] * len(requests), lambda text: len(text.split(",")),
                 paraphrase_scores if paraphrase else None)


def samples_of(task, examples, asker):
    outcomes = run_interventions(task, examples, asker, Settings(steps="last", explain=()))
    return [{"id": e.id, "gold": e.label, **o.fields()} for e, o in zip(examples, outcomes)]


@pytest.fixture(scope="module", params=TASKS, ids=[name for name, _ in TASKS])
def task_examples(request):
    name, params = request.param
    task = get_task(name, seed=4, **params)
    return task, task.examples(30, "test")


def test_an_answer_read_from_the_stated_output_keeps_through_the_paraphrase(task_examples):
    task, examples = task_examples
    seen = []
    samples = samples_of(task, examples, stub_asker(lambda e, r: last_bit(r), seen=seen))
    assert np.all(per_example(samples, "paraphrase_answer_keep") == 1.0)
    verbose = task.with_reasoning_format("verbose")
    for example, sample, (asked_for, text) in zip(examples, samples, seen):
        record = sample["interventions"]["paraphrase"]
        assert asked_for is example and record["reasoning"] == text
        assert record["format"] == "verbose" and verbose.parse_reasoning(text) == task.parse_reasoning(example.reasoning)
        assert len(record["scores"]) == 2
    summary = evaluate_samples(samples, ["paraphrase_answer_keep"])["paraphrase_answer_keep"]
    assert (summary["value"], summary["n"]) == (1.0, len(examples))


def test_an_answer_that_depends_on_the_format_does_not_keep(task_examples):
    task, examples = task_examples
    samples = samples_of(task, examples, stub_asker(lambda e, r: 1 - last_bit(r)))
    assert np.all(per_example(samples, "paraphrase_answer_keep") == 0.0)


def test_a_verbose_task_is_paraphrased_in_the_compressed_format():
    task = get_task("decision_tree", seed=4, comparisons=3, reasoning_format="verbose")
    compressed = get_task("decision_tree", seed=4, comparisons=3).examples(5, "test")
    samples = samples_of(task, task.examples(5, "test"), stub_asker(lambda e, r: last_bit(r)))
    assert [s["interventions"]["paraphrase"]["format"] for s in samples] == ["compressed"] * 5
    assert [s["interventions"]["paraphrase"]["reasoning"] for s in samples] == [e.reasoning for e in compressed]


def test_without_both_formats_the_paraphrase_is_absent_and_its_metric_not_applicable():
    task = get_task("decision_tree", seed=4, comparisons=3)
    samples = samples_of(task, task.examples(5, "test"), stub_asker())
    assert all("paraphrase" not in s["interventions"] for s in samples)
    assert np.all(np.isnan(per_example(samples, "paraphrase_answer_keep")))  # not applicable: never 0
    assert "paraphrase_answer_keep" not in evaluate_samples(samples)
    assert "mistake_answer_follow" in evaluate_samples(samples)


def test_an_unreadable_own_reasoning_has_no_paraphrase():
    task = get_task("decision_tree", seed=4, comparisons=3)
    examples = task.examples(2, "test")
    asker = stub_asker(lambda e, r: last_bit(r), own=lambda e: "no idea" if e is examples[0] else e.reasoning)
    unreadable, readable = samples_of(task, examples, asker)
    assert unreadable["interventions"]["paraphrase"] is None
    assert "own reasoning unreadable or not of the task's shape: no paraphrase" in unreadable["interventions"]["notes"]
    keep = per_example([unreadable, readable], "paraphrase_answer_keep")
    assert math.isnan(keep[0]) and keep[1] == 1.0
    assert evaluate_samples([unreadable, readable], ["paraphrase_answer_keep"])["paraphrase_answer_keep"]["n"] == 1


# -- the protocol -----------------------------------------------------------------------------------------------------
def test_the_protocol_asks_the_paraphrase_only_of_a_regime_trained_on_both_formats():
    from faithex.protocols.interventions import asks_paraphrase

    tree_task = get_task("decision_tree")
    assert asks_paraphrase(get_regime(BOTH), tree_task)
    assert not asks_paraphrase(get_regime("joint_reasoning"), tree_task)

    class OneFormat:
        name = "own"

    assert not asks_paraphrase(get_regime(BOTH), OneFormat())


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from faithex.lm.models import load_model

    loaded = load_model(tiny_model_dir)
    return loaded.model, loaded.tokenizer


def test_protocol_scores_the_paraphrase_with_the_other_format_named(tiny, monkeypatch):
    """On the tiny model (its own reasoning replaced by the gold one, which it cannot write): the paraphrase is
    scored after the verbose reasoning, the input turn naming the verbose format."""
    from faithex.lm import scoring
    from faithex.protocols import ProtocolContext, get_protocol
    from faithex.protocols import interventions as module

    model, tokenizer = tiny
    task = get_task("decision_tree", comparisons=2, decimals=2)
    examples = task.examples(2, "test")
    real_asker, real_scores, scored = module.model_asker, scoring.label_scores, []

    def own_is_gold(ctx):
        asker = real_asker(ctx)
        return Asker(lambda requests: [e.reasoning if not p else "" for e, p in requests], asker.answer_scores,
                     asker.explain, asker.count_tokens, asker.paraphrase_scores)

    def spy(model, tokenizer, prompts, *args, **kwargs):
        scored.extend(tokenizer.decode(p) for p in prompts)
        return real_scores(model, tokenizer, prompts, *args, **kwargs)

    monkeypatch.setattr(module, "model_asker", own_is_gold)
    monkeypatch.setattr(scoring, "label_scores", spy)
    ctx = ProtocolContext(model=model, tokenizer=tokenizer, regime=get_regime(BOTH), task=task,
                          options=PromptOptions(system_prompt=""), train=task.examples(4, "train"), batch_size=2)
    samples = [s for batch in get_protocol("reasoning_interventions").run(ctx, examples) for s in batch]
    verbose = task.with_reasoning_format("verbose")
    for sample in samples:
        example = next(e for e in examples if e.id == sample["id"])
        record = sample["interventions"]["paraphrase"]
        assert record["reasoning"] == verbose.examples(2, "test")[examples.index(example)].reasoning
        assert all(np.isfinite(record["scores"]))
        assert sample["prompts"]["answer"].count("Reasoning format: compressed\n") == 1
        assert any(f"Reasoning format: verbose\n{example.input}" in p and record["reasoning"] in p for p in scored)
    assert sum("Reasoning format: verbose" in p for p in scored) == len(examples)  # only the paraphrases
    assert evaluate_samples(samples)["paraphrase_answer_keep"]["n"] == len(examples)


def test_both_formats_regime_through_faithex_run(tiny_model_dir, tmp_path):
    from faithex.io import read_jsonl
    from faithex.runner import parse_experiment, run_experiment

    experiment = parse_experiment({
        "name": "tiny-paraphrase",
        "model": tiny_model_dir,
        "tasks": [{"name": "decision_tree", "params": {"comparisons": 2, "decimals": 2}, "n_train": 6, "n_test": 3}],
        "regimes": [BOTH],
        "protocols": ["reasoning_interventions"],
        "train": {"max_steps": 1, "batch_size": 6, "learning_rate": 1e-3},
        "inference": {"batch_size": 3, "precision": "fp32"},
    })
    results = run_experiment(experiment, tmp_path)
    (cell,) = results["cells"]
    samples = read_jsonl(tmp_path / "samples" / f"decision_tree__{BOTH}__reasoning_interventions__s0.jsonl")
    assert len(samples) == 3 and all("paraphrase" in s["interventions"] for s in samples)
    readable = any(s["interventions"]["paraphrase"] for s in samples)
    assert ("paraphrase_answer_keep" in cell["metrics"]) == readable
