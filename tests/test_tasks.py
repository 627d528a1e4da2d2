"""Paper 1's three tasks and the task registry: exact formats, determinism, label/reasoning/explanation agreement,
parsers on good and broken outputs, registry errors and parameters. Fast and offline (no model)."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest

from faithex.tasks import Example, Task, get_task, list_tasks, reasoning_decision, register_task, registry
from faithex.tasks.registry import UnknownTaskError
from faithex.tasks.synthetic import mortgage as mortgage_module
from faithex.tasks.synthetic.decision_tree import Node

TASKS = ["logistic_regression", "decision_tree", "mortgage"]
N = 300  # examples per task in the property tests


def _examples(name: str, n: int = N, seed: int = 0, split: str = "train", **params: object) -> list[Example]:
    return get_task(name, seed=seed, **params).examples(n, split)


def _one(task: Task, monkeypatch: pytest.MonkeyPatch, x: object) -> Example:
    """The record `task` writes for the hand-picked input `x`."""
    if task.name == "mortgage":
        monkeypatch.setattr(mortgage_module, "sample_applicant", lambda rng: x)
    else:
        monkeypatch.setattr(task, "sample_x", lambda rng: x)
    return task.sample_one(np.random.default_rng(0), 0)


# -- registry ---------------------------------------------------------------------------------------------------


def test_list_tasks_has_the_three_paper_tasks() -> None:
    listed = dict(list_tasks())
    assert set(TASKS) <= set(listed)
    assert all(listed[name] for name in TASKS)
    assert [name for name, _ in list_tasks()] == sorted(listed)


def test_unknown_task_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownTaskError) as info:
        get_task("decision_tre")
    message = str(info.value)
    assert "unknown task 'decision_tre'" in message
    assert "did you mean 'decision_tree'?" in message
    assert all(name in message for name in TASKS)
    assert isinstance(info.value, ValueError)


def test_unknown_task_without_close_match_still_lists_names() -> None:
    with pytest.raises(UnknownTaskError, match="unknown task 'zzz'") as info:
        get_task("zzz")
    assert "did you mean" not in str(info.value)
    assert "logistic_regression" in str(info.value)


@pytest.mark.parametrize(
    ("name", "bad", "accepted"),
    [
        ("logistic_regression", "depth", ["n_inputs", "decimals"]),
        ("decision_tree", "depth", ["n_inputs", "comparisons", "decimals"]),
        ("mortgage", "n_inputs", ["comparisons"]),
    ],
)
def test_unknown_param_names_key_and_accepted_ones(name: str, bad: str, accepted: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        get_task(name, **{bad: 3})
    message = str(info.value)
    assert repr(bad) in message
    assert all(key in message for key in accepted)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("logistic_regression", {"n_inputs": 0}),
        ("logistic_regression", {"n_inputs": "8"}),
        ("logistic_regression", {"decimals": 2.0}),
        ("decision_tree", {"n_inputs": 1}),
        ("decision_tree", {"comparisons": 0}),
        ("decision_tree", {"comparisons": True}),
        ("mortgage", {"comparisons": 5}),
        ("mortgage", {"comparisons": 0}),
    ],
)
def test_bad_param_values_are_refused(name: str, params: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(params))):
        get_task(name, **params)


def test_register_task_decorator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry.TASKS, "_entries", dict(registry.TASKS._entries))

    @register_task("toy_constant")
    class Toy(Task):
        """A toy that always answers 1."""

        def __init__(self, seed: int = 0, size: int = 1) -> None:
            super().__init__(seed, size=size)

    task = get_task("toy_constant", seed=3, size=2)
    assert isinstance(task, Toy) and task.name == "toy_constant" and task.params == {"size": 2}
    assert ("toy_constant", "A toy that always answers 1.") in list_tasks()
    with pytest.raises(ValueError, match="already registered"):
        register_task("toy_constant")(type("Other", (Task,), {}))


def test_icl_support_flags() -> None:
    assert get_task("logistic_regression").supports_icl
    assert get_task("decision_tree").supports_icl
    assert not get_task("mortgage").supports_icl


# -- hand-checked examples ----------------------------------------------------------------------------------------


def test_logistic_regression_hand_example(monkeypatch: pytest.MonkeyPatch) -> None:
    task = get_task("logistic_regression", n_inputs=3)
    task.weights = [-0.3224, 0.8605, -1.2966]  # the first three steps of papers.md's example
    ex = _one(task, monkeypatch, [1.0, 1.0, 1.0])
    assert ex.input == "X: [1.0, 1.0, 1.0]"
    assert ex.reasoning == "-0.3224 -0.3224;0.8605 0.5381;-1.2966 -0.7585;0"
    assert ex.explanation == (
        '[[0, "w[0] * x[0] = -0.3224", "y - 0.3224 = -0.3224"], '
        '[1, "w[1] * x[1] = 0.8605", "y + 0.8605 = 0.5381"], '
        '[2, "w[2] * x[2] = -1.2966", "y - 1.2966 = -0.7585"], ["OUTPUT", 0]]'
    )
    assert ex.label == 0 and ex.rationale == [2, 0]
    assert task.answer_text(ex.label) == "0"


def test_logistic_regression_label_follows_the_shown_rounded_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    task = get_task("logistic_regression", n_inputs=2)
    task.weights = [0.0001, -0.0001]
    ex = _one(task, monkeypatch, [0.4, 0.4])  # exact products +-0.00004 round to 0: the text shows 0, so label 0
    assert ex.reasoning == "0.0000 0.0000;0.0000 0.0000;0"
    assert "-0.0000" not in ex.explanation and '"y + 0.0000 = 0.0000"' in ex.explanation
    assert ex.label == 0


@pytest.mark.parametrize(
    ("nodes", "label", "explanation", "reasoning"),
    [
        (
            [Node(0, "<", 0.4585), Node(1, "<", 0.6102), Node(1, ">", 0.5)],
            0,
            '[["0.2396 < 0.4585", true], ["0.9882 < 0.6102", false], ["OUTPUT", 0]]',
            "1,0,0",
        ),
        (
            [Node(0, ">", 0.5), Node(1, "<", 0.3), Node(1, ">", 0.7)],
            1,
            '[["0.2396 > 0.5", false], ["0.9882 > 0.7", true], ["OUTPUT", 1]]',
            "0,1,1",
        ),
    ],
)
def test_decision_tree_hand_examples(
    monkeypatch: pytest.MonkeyPatch, nodes: list[Node], label: int, explanation: str, reasoning: str
) -> None:
    task = get_task("decision_tree", comparisons=2)
    task.nodes = nodes
    ex = _one(task, monkeypatch, [0.2396, 0.9882])
    assert (ex.input, ex.label, ex.explanation, ex.reasoning) == ("X: [0.2396, 0.9882]", label, explanation, reasoning)
    assert ex.rationale == [0, 1]


APPLICANT = {
    "loan_type": "conventional",
    "loan_amount": 245,
    "purpose": "home purchase",
    "occupancy": "principal residence",
    "income": 78,
    "debt_to_income": 38,
    "loan_to_value": 92,
    "credit_score": "good",
}


@pytest.mark.parametrize(
    ("comparisons", "label", "explanation", "reasoning"),
    [
        (1, 1, "The debt-to-income ratio of 38% is below 43%. Therefore, the mortgage is issued.", "1,1"),
        (
            3,
            0,
            "The debt-to-income ratio of 38% is below 43%. The credit score is excellent or good. "
            "The loan-to-value ratio of 92% is above 80%. Therefore, the mortgage is denied.",
            "1,1,0,0",
        ),
        (
            4,
            0,
            "The debt-to-income ratio of 38% is below 43%. The credit score is excellent or good. "
            "The loan-to-value ratio of 92% is above 80%. The debt-to-income ratio of 38% is not below 36%. "
            "Therefore, the mortgage is denied.",
            "1,1,0,0,0",
        ),
    ],
)
def test_mortgage_hand_example(
    monkeypatch: pytest.MonkeyPatch, comparisons: int, label: int, explanation: str, reasoning: str
) -> None:
    task = get_task("mortgage", comparisons=comparisons)
    ex = _one(task, monkeypatch, dict(APPLICANT))
    assert ex.input == (
        "The applicant requests a conventional loan of $245,000 for a home purchase of a principal residence. "
        "Annual income is $78,000, debt-to-income ratio is 38%, loan-to-value ratio is 92%, "
        "and the credit score is good."
    )
    assert (ex.label, ex.explanation, ex.reasoning) == (label, explanation, reasoning)
    assert task.answer_text(label) == ("The mortgage is issued." if label else "The mortgage is denied.")
    assert ex.rationale == ["debt_to_income", "credit_score", "loan_to_value", "debt_to_income"][:comparisons]


# -- formats of generated data -------------------------------------------------------------------------------------

LR_NUMBER = r"-?\d+\.\d{4}"
FORMATS = {
    "logistic_regression": (
        re.compile(r"X: \[-?[01]\.\d{1,4}(, -?[01]\.\d{1,4}){7}\]"),
        re.compile(rf"({LR_NUMBER} {LR_NUMBER};){{8}}[01]"),
    ),
    "decision_tree": (
        re.compile(r"X: \[[01]\.\d{1,4}, [01]\.\d{1,4}\]"),
        re.compile(r"([01],){7}[01]"),
    ),
    "mortgage": (
        re.compile(
            r"The applicant requests (a conventional|an FHA|a VA) loan of \$\d{1,3}(,\d{3})+ for "
            r"(a home purchase|refinancing|home improvement) of "
            r"(a principal residence|a second residence|an investment property)\. "
            r"Annual income is \$\d{1,3}(,\d{3})+, debt-to-income ratio is \d+%, loan-to-value ratio is \d+%, "
            r"and the credit score is (excellent|good|fair|poor)\."
        ),
        re.compile(r"[01],[01],[01],[01]"),
    ),
}


@pytest.mark.parametrize("name", TASKS)
def test_input_and_reasoning_formats(name: str) -> None:
    input_re, reasoning_re = FORMATS[name]
    for ex in _examples(name):
        assert input_re.fullmatch(ex.input), ex.input
        assert reasoning_re.fullmatch(ex.reasoning or ""), ex.reasoning
        assert ex.labels == [0, 1] and ex.label in (0, 1)


def test_logistic_regression_explanation_format_and_arithmetic() -> None:
    task = get_task("logistic_regression")
    for ex in task.examples(N, "train"):
        items = json.loads(ex.explanation or "")
        assert json.dumps(items) == ex.explanation  # default separators, nothing else
        assert items[-1] == ["OUTPUT", ex.label]
        total, x = 0.0, ex.meta["x"]
        for i, (index, product_text, sum_text) in enumerate(items[:-1]):
            m = re.fullmatch(rf"w\[{i}\] \* x\[{i}\] = ({LR_NUMBER})", product_text)
            s = re.fullmatch(rf"y ([+-]) (\d+\.\d{{4}}) = ({LR_NUMBER})", sum_text)
            assert index == i and m and s, (product_text, sum_text)
            product = float(m[1])
            assert product == round(task.weights[i] * x[i], 4)
            assert (s[1] == "-") == (product < 0) and float(s[2]) == abs(product)
            total = round(total + product, 4)
            assert float(s[3]) == total
        assert ex.label == int(total > 0)


def test_decision_tree_explanation_format_and_truths() -> None:
    for ex in _examples("decision_tree"):
        items = json.loads(ex.explanation or "")
        assert json.dumps(items) == ex.explanation
        assert len(items) == 8 and items[-1] == ["OUTPUT", ex.label]
        x = ex.meta["x"]
        for (text, truth), variable in zip(items[:-1], ex.rationale or [], strict=True):
            m = re.fullmatch(r"(\d\.\d{1,4}) ([<>]) (\d\.\d{1,4})", text)
            assert m and isinstance(truth, bool), text
            assert float(m[1]) == x[variable]
            assert truth == (float(m[1]) < float(m[3]) if m[2] == "<" else float(m[1]) > float(m[3]))
        assert ex.label == int(items[-2][1])


MORTGAGE_SENTENCE = re.compile(
    r"The debt-to-income ratio of \d+% is (not )?below \d+%\."
    r"|The loan-to-value ratio of \d+% is (at most|above) \d+%\."
    r"|The (annual income|loan amount) of \$[\d,]+ is (at least|below|at most|above) \$[\d,]+\."
    r"|The credit score is (not )?excellent or good\.|The credit score is (not )?poor\."
    r"|The loan type is (not )?FHA or VA\.|The property is (not )?a principal residence\."
)


def test_mortgage_explanation_sentences() -> None:
    for ex in _examples("mortgage"):
        *branches, conclusion = re.split(r"(?<=\.) ", ex.explanation or "")
        assert len(branches) == 3
        assert all(MORTGAGE_SENTENCE.fullmatch(s) for s in branches), ex.explanation
        assert conclusion == f"Therefore, the mortgage is {'issued' if ex.label else 'denied'}."
        for sentence, bit in zip(branches, ex.reasoning.split(",")[:-1], strict=True):
            negative = re.search(r" not | is above | is poor\.|^The annual income .* is below ", sentence) is not None
            assert negative == (bit == "0"), (sentence, bit)


def test_decision_tree_generator_follows_the_spec() -> None:
    """Variables alternate with 2 inputs, thresholds lie in the middle half of the current cell."""
    task = get_task("decision_tree", seed=5)

    def walk(index: int, parent: int | None, cells: list[tuple[float, float]]) -> None:
        if index >= len(task.nodes):
            return
        node = task.nodes[index]
        assert node.variable != parent and node.op in "<>"
        lo, hi = cells[node.variable]
        quarter = (hi - lo) / 4
        assert lo + quarter - 5e-5 <= node.threshold <= hi - quarter + 5e-5
        below, above = list(cells), list(cells)
        below[node.variable], above[node.variable] = (lo, node.threshold), (node.threshold, hi)
        walk(2 * index + 1, node.variable, below if node.op == "<" else above)
        walk(2 * index + 2, node.variable, above if node.op == "<" else below)

    assert len(task.nodes) == 2**7 - 1
    walk(0, None, [(0.0, 1.0), (0.0, 1.0)])


def test_logistic_regression_weights_and_inputs_ranges() -> None:
    task = get_task("logistic_regression", seed=3)
    assert len(task.weights) == 8 and all(-10 <= w <= 10 and round(w, 4) == w for w in task.weights)
    xs = [v for ex in task.examples(100, "train") for v in ex.meta["x"]]
    assert min(xs) >= -1 and max(xs) <= 1 and min(xs) < -0.5 < 0.5 < max(xs)


# -- agreement and parsers on ground truth -------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("split", ["train", "test"])
def test_label_reasoning_explanation_and_answer_agree(name: str, split: str) -> None:
    task = get_task(name, seed=11)
    examples = task.examples(N, split)
    for ex in examples:
        reasoning = task.parse_reasoning(ex.reasoning or "")
        assert reasoning is not None and reasoning_decision(reasoning) == ex.label
        assert task.parse_explanation(ex.explanation or "") == ex.label
        assert task.parse_answer(task.answer_text(ex.label)) == ex.label
    assert {ex.label for ex in examples} == {0, 1}


def test_reasoning_parse_values() -> None:
    lr, dt, mg = (get_task(name) for name in TASKS)
    lr_text = "-0.3224 -0.3224;0.8605 0.5381;1"
    assert lr.parse_reasoning(lr_text) == ["-0.3224 -0.3224", "0.8605 0.5381", 1]
    assert lr.parse_reasoning("  -0.3224\t -0.3224 ;0.8605  0.5381; 1 \n") == ["-0.3224 -0.3224", "0.8605 0.5381", 1]
    assert dt.parse_reasoning("1,0,0,0,0,1,0,0") == [1, 0, 0, 0, 0, 1, 0, 0]
    assert mg.parse_reasoning(" 1, 1,0,0\n") == [1, 1, 0, 0]


# -- parsers on broken outputs -------------------------------------------------------------------------------------

SYNTHETIC_ANSWERS = [
    ("1", 1),
    ("0", 0),
    ("  1\n", 1),
    ("0<|eot_id|>", 0),
    ("1. The answer", 1),
    ("", None),
    ("   ", None),
    ("2", None),
    ("-1", None),
    ("yes", None),
    ("\u0661", None),
    ("One", None),
]
MORTGAGE_ANSWERS = [
    ("The mortgage is issued.", 1),
    ("The mortgage is denied.", 0),
    ("  the mortgage is ISSUED \n", 1),
    ("issued or denied", None),
    ("", None),
    ("The mortgage is approved.", None),
    ("denied", 0),
]
LR_GOLD = '[[0, "w[0] * x[0] = -0.3224", "y - 0.3224 = -0.3224"], ["OUTPUT", 1]]'
DT_GOLD = '[["0.2396 < 0.4585", true], ["0.9882 < 0.6102", false], ["OUTPUT", 0]]'
JSON_EXPLANATIONS = [
    (LR_GOLD, 1),
    (DT_GOLD, 0),
    (f"\n  {DT_GOLD}  \n", 0),
    (f"```json\n{LR_GOLD}\n```", 1),
    (f"```\n{DT_GOLD}```", 0),
    (f"Here it is:\n```json\n{DT_GOLD}\n```\nDone.", 0),
    (DT_GOLD[:-3], None),
    (LR_GOLD[:-1], None),
    ("", None),
    ("garbage", None),
    ("[]", None),
    ("{}", None),
    ('{"OUTPUT": 1}', None),
    ('[["OUTPUT", 2]]', None),
    ('[["OUTPUT", true]]', None),
    ('[["OUTPUT", 1.0]]', None),
    ('[["OUTPUT", "1"]]', None),
    ('[["RESULT", 1]]', None),
    ('[["OUTPUT", 1, 0]]', None),
    ('[["OUTPUT", 1]]', 1),
    ("[" * 100_000, None),
    ("```json\n```", None),
    (f"{DT_GOLD} trailing", None),
    ("1", None),
    ("null", None),
]
MORTGAGE_EXPLANATIONS = [
    ("The credit score is poor. Therefore, the mortgage is denied.", 0),
    ("Therefore, the mortgage is issued.", 1),
    ("The credit score is poor. Therefore, the mortgage is issued.  \n", 1),
    ("The mortgage is issued.\nTherefore, the mortgage is denied.", 0),
    ("The credit score is poor. Therefore, the mortgage is", None),
    ("The debt-to-income ratio of 38% is below 43%.", None),
    ("", None),
    ("   ", None),
    ("Therefore, the mortgage is issued or denied.", None),
]
REASONING_BITS = [
    ("1,0,1", [1, 0, 1]),
    ("1, 0, 1", [1, 0, 1]),
    ("0", [0]),
    ("", None),
    ("1,0,", None),
    (",1", None),
    ("1,2,0", None),
    ("10,1", None),
    ("1;0;1", None),
    ("a,b", None),
    ("1,0,1\n\nANSWER", None),
]
LR_REASONING = [
    ("-0.3224 -0.3224;0.8605 0.5381;1", ["-0.3224 -0.3224", "0.8605 0.5381", 1]),
    ("1", None),
    ("", None),
    ("-0.3224;1", None),
    ("-0.3224 x;1", None),
    ("-0.3224 -0.3224;2", None),
    ("-0.3224 -0.3224;0.8605 0.53", None),
    ("-0.3224 -0.3224 0.1;1", None),
    ("-0.3224 -0.3224;;1", None),
    ("nan inf;1", None),
    ("1,0,1", None),
]


@pytest.mark.parametrize("name", ["logistic_regression", "decision_tree"])
@pytest.mark.parametrize(("text", "expected"), SYNTHETIC_ANSWERS)
def test_synthetic_answer_parser(name: str, text: str, expected: int | None) -> None:
    assert get_task(name).parse_answer(text) == expected


@pytest.mark.parametrize(("text", "expected"), MORTGAGE_ANSWERS)
def test_mortgage_answer_parser(text: str, expected: int | None) -> None:
    assert get_task("mortgage").parse_answer(text) == expected


@pytest.mark.parametrize("name", ["logistic_regression", "decision_tree"])
@pytest.mark.parametrize(("text", "expected"), JSON_EXPLANATIONS)
def test_json_explanation_parser(name: str, text: str, expected: int | None) -> None:
    assert get_task(name).parse_explanation(text) == expected


@pytest.mark.parametrize(("text", "expected"), MORTGAGE_EXPLANATIONS)
def test_mortgage_explanation_parser(text: str, expected: int | None) -> None:
    assert get_task("mortgage").parse_explanation(text) == expected


@pytest.mark.parametrize("name", ["decision_tree", "mortgage"])
@pytest.mark.parametrize(("text", "expected"), REASONING_BITS)
def test_bit_reasoning_parser(name: str, text: str, expected: list[int] | None) -> None:
    assert get_task(name).parse_reasoning(text) == expected


@pytest.mark.parametrize(("text", "expected"), LR_REASONING)
def test_logistic_regression_reasoning_parser(text: str, expected: list[object] | None) -> None:
    assert get_task("logistic_regression").parse_reasoning(text) == expected


@pytest.mark.parametrize("name", TASKS)
def test_parsers_never_raise(name: str) -> None:
    """Every prefix of real targets, random junk and non-strings: parsers return a value or None, never raise."""
    task = get_task(name)
    gold = task.examples(3, "test")
    texts = [t[:cut] for ex in gold for t in (ex.reasoning or "", ex.explanation or "") for cut in range(len(t) + 1)]
    rng = np.random.default_rng(0)
    alphabet = [*'01,;.-[]{}"` \nOUTPUTissueddeniedjsonTrue', "```json", "\u0661", "\x00"]
    texts += ["".join(rng.choice(alphabet, size=int(rng.integers(0, 40)))) for _ in range(300)]
    parsers = (task.parse_answer, task.parse_explanation, task.parse_reasoning)
    for text in texts:
        for parse in parsers:
            parse(text)
    for junk in (None, 1, b"1", ["1"]):
        assert all(parse(junk) is None for parse in parsers)  # type: ignore[arg-type]


# -- determinism ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASKS)
def test_same_seed_same_bytes(name: str) -> None:
    first = [ex.to_json() for ex in _examples(name, 50, seed=7)]
    again = [ex.to_json() for ex in _examples(name, 50, seed=7)]
    assert first == again
    assert [Example.from_dict(json.loads(line)).to_json() for line in first] == first
    assert get_task(name, seed=7).describe() == get_task(name, seed=7).describe()


@pytest.mark.parametrize("name", TASKS)
def test_different_seed_or_split_different_data(name: str) -> None:
    assert [ex.input for ex in _examples(name, 20, seed=1)] != [ex.input for ex in _examples(name, 20, seed=2)]
    train, test = _examples(name, 20, split="train"), _examples(name, 20, split="test")
    assert [ex.input for ex in train] != [ex.input for ex in test]
    ids = [ex.id for ex in _examples(name, 20)]
    assert len(set(ids)) == len(ids)


def test_different_seed_different_classifier() -> None:
    lr_a, lr_b = get_task("logistic_regression", seed=1), get_task("logistic_regression", seed=2)
    assert lr_a.weights != lr_b.weights
    dt_a, dt_b = get_task("decision_tree", seed=1), get_task("decision_tree", seed=2)
    assert dt_a.nodes != dt_b.nodes
    xs = [ex.meta["x"] for ex in dt_a.examples(200, "test")]
    assert [dt_a.predict(x) for x in xs] != [dt_b.predict(x) for x in xs]
    # The mortgage tree is fixed: the seed only changes the applicants.
    assert get_task("mortgage", seed=1).describe()["tree"] == get_task("mortgage", seed=2).describe()["tree"]


def test_fresh_keeps_family_and_params() -> None:
    task = get_task("decision_tree", seed=0, comparisons=3)
    other = task.fresh(9)
    assert type(other) is type(task) and other.params == task.params and other.seed == 9
    assert other.nodes != task.nodes
    assert get_task("decision_tree", seed=9, comparisons=3).nodes == other.nodes


# -- parameters ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "n_numbers", "n_steps"),
    [
        ("logistic_regression", {"n_inputs": 3}, 3, 3),
        ("logistic_regression", {"n_inputs": 12}, 12, 12),
        ("decision_tree", {"comparisons": 3}, 2, 3),
        ("decision_tree", {"comparisons": 10, "n_inputs": 3}, 3, 10),
        ("mortgage", {"comparisons": 1}, None, 1),
        ("mortgage", {"comparisons": 4}, None, 4),
    ],
)
def test_size_params_change_the_texts(name: str, params: dict[str, int], n_numbers: int | None, n_steps: int) -> None:
    task = get_task(name, **params)
    for ex in task.examples(30, "train"):
        if n_numbers is not None:
            assert len(ex.meta["x"]) == n_numbers and ex.input.count(",") == n_numbers - 1
        steps = task.parse_reasoning(ex.reasoning or "")
        assert steps is not None and len(steps) == n_steps + 1
        if name == "mortgage":
            assert len(re.split(r"(?<=\.) ", ex.explanation or "")) == n_steps + 1
        else:
            assert len(json.loads(ex.explanation or "")) == n_steps + 1
        if name == "decision_tree":
            rationale = ex.rationale or []
            assert all(a != b for a, b in itertools.pairwise(rationale))


@pytest.mark.parametrize(("name", "params"), [("logistic_regression", {}), ("decision_tree", {})])
def test_decimals_param(name: str, params: dict[str, int]) -> None:
    task = get_task(name, decimals=2, **params)
    for ex in task.examples(30, "train"):
        assert all(round(v, 2) == v for v in ex.meta["x"])
        if name == "logistic_regression":
            assert all(re.fullmatch(r"-?\d+\.\d{2} -?\d+\.\d{2}", s) for s in ex.reasoning.split(";")[:-1])
        else:
            assert all(re.fullmatch(r"\d\.\d{1,2} [<>] \d\.\d{1,2}", t) for t, _ in json.loads(ex.explanation)[:-1])


def test_mortgage_shallower_tree_is_a_prefix_of_the_deeper_one() -> None:
    by_depth = {k: _examples("mortgage", 100, seed=4, comparisons=k) for k in range(1, 5)}
    for k in range(1, 4):
        for short, deep in zip(by_depth[k], by_depth[k + 1], strict=True):
            assert short.input == deep.input
            assert deep.reasoning.startswith(short.reasoning[: 2 * k])
            assert short.label == int(short.reasoning[2 * k - 2])


# -- class balance -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("comparisons", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_mortgage_class_balance(comparisons: int, seed: int) -> None:
    labels = [ex.label for ex in _examples("mortgage", 3000, seed=seed, comparisons=comparisons)]
    assert 0.35 <= float(np.mean(labels)) <= 0.65
