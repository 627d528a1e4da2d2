"""Paper 1's natural-language decision tree on mortgage applications (C1 `NLPDecisionTreeProblem`), rebuilt.

C1's dataset (`mortgages_decision_tree_v4`, a tree fitted to HMDA 2022 data) is not available, so the features, the
tree and the sentence templates below are **our own design**, only shaped like HMDA: the tree is fixed and written
out here, and `seed` only drives the sampling of applicants.

Features (sampled independently per applicant, except the loan amount, which scales with income):

| key            | values                                             | distribution                                 |
|----------------|----------------------------------------------------|----------------------------------------------|
| loan_type      | conventional / FHA / VA                            | p = 0.60 / 0.28 / 0.12                       |
| purpose        | home purchase / refinancing / home improvement     | p = 0.55 / 0.30 / 0.15                       |
| occupancy      | principal / second residence / investment property | p = 0.75 / 0.10 / 0.15                       |
| income         | annual income, whole USD thousands, 20..500        | lognormal, median 85, sigma 0.55             |
| loan_amount    | USD thousands, multiple of 5, 10..1500             | income x U(1.5, 5); home improv. x U(0.3, 1) |
| debt_to_income | DTI, integer %, 5..70                              | normal(42, 12), rounded, clipped             |
| loan_to_value  | LTV, integer %, 45..100                            | uniform                                      |
| credit_score   | excellent / good / fair / poor                     | p = 0.25 / 0.30 / 0.25 / 0.20                |

The tree (depth 4, heap order: node i's true child is 2i+1, its false child 2i+2). Every test is phrased as the
favourable condition, so whichever node is last on a path, true means "issued": with `comparisons = k` (1..4) the
classifier is the top k levels and the decision is the truth of the k-th comparison (as in `decision_tree`).

| node | reached when              | test                                  |
|------|---------------------------|---------------------------------------|
| 0    | always                    | debt_to_income < 43                   |
| 1    | 0 true                    | credit_score in {excellent, good}     |
| 2    | 0 false                   | income >= 100                         |
| 3    | 0 T, 1 T                  | loan_to_value <= 80                   |
| 4    | 0 T, 1 F                  | loan_type in {FHA, VA}                |
| 5    | 0 F, 2 T                  | credit_score in {excellent, good}     |
| 6    | 0 F, 2 F                  | loan_to_value <= 70                   |
| 7    | 0 T, 1 T, 3 T             | occupancy == principal residence      |
| 8    | 0 T, 1 T, 3 F             | debt_to_income < 36                   |
| 9    | 0 T, 1 F, 4 T             | credit_score != poor                  |
| 10   | 0 T, 1 F, 4 F             | loan_to_value <= 70                   |
| 11   | 0 F, 2 T, 5 T             | debt_to_income < 50                   |
| 12   | 0 F, 2 T, 5 F             | loan_amount <= 300                    |
| 13   | 0 F, 2 F, 6 T             | credit_score in {excellent, good}     |
| 14   | 0 F, 2 F, 6 F             | loan_type in {FHA, VA}                |

Label balance (share issued, 20,000 applicants): see `tests/test_tasks.py::test_mortgage_class_balance`; it is
about 0.52 / 0.47 / 0.51 / 0.53 for k = 1 / 2 / 3 / 4 (seed 0; seed 1 within 0.01).

Texts. Input (about 210 characters; explanation about 80 / 125 / 170 / 210 for k = 1..4):
`The applicant requests a conventional loan of $245,000 for a home purchase of a principal residence. Annual income
is $78,000, debt-to-income ratio is 38%, loan-to-value ratio is 92%, and the credit score is good.`
Explanation: one sentence per comparison on the path, then the decision, e.g.
`The debt-to-income ratio of 38% is below 43%. The credit score is excellent or good. The loan-to-value ratio of 92%
is above 80%. Therefore, the mortgage is denied.` Numeric sentences state the value and the threshold; categorical
ones say "is X" / "is not X". Answer: exactly `The mortgage is issued.` / `The mortgage is denied.`
Reasoning: the path's truth bits then the output, comma-separated (`1,1,0,0`); with `reasoning_format="verbose"`,
each comparison with its operands, `;`-separated, then the output:
`dti=38<43:1;credit=good in excellent/good:1;ltv=92<=80:0;0`. A step is `key=value op limit:bit` with the keys dti,
ltv (whole percent, no % sign), income, amount (whole thousands of USD with a `k`: `income=78k>=100k`), credit,
type, occupancy (`value in a/b`: the applicant's category, then the categories the rule allows; occupancy's names
are principal / second / investment). The operator and limit are the tree's rule (<, <=, >=, in).

`rewrite_reasoning` writes a reasoning in the other format with the same bits and output (`1,1,0,0` <->
`dti=38<43:1;credit=good in excellent/good:1;ltv=92<=80:0;0`), the comparisons those of the nodes the bits lead to.

Step validity (`explanation_steps`, `reasoning_steps`): a verbose step is valid when its bit is the truth of its own
comparison; an explanation's numeric sentence when the relation it states ("is below", "is not below", "is at most",
"is above", "is at least") holds between its two written numbers. Categorical sentences ("The credit score is
excellent or good.") do not write the applicant's value, so they are not steps; the conclusion is not a step either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from faithex.tasks.base import Example, Task, check_int_param, parse_comma_bits
from faithex.tasks.registry import register_task
from faithex.tasks.synthetic.interventions import StepFlip, flip_tree_step, forced_tree_path, rewrite_tree_reasoning
from faithex.tasks.synthetic.steps import (
    DEFAULT_REASONING_FORMAT,
    check_reasoning_format,
    compare,
    format_params,
    parse_verbose_reasoning,
    split_reasoning,
    with_reasoning_format,
)

Applicant = dict[str, Any]

LOAN_TYPES = ("conventional", "FHA", "VA")
PURPOSES = ("home purchase", "refinancing", "home improvement")
OCCUPANCIES = ("principal residence", "second residence", "investment property")
CREDIT_BANDS = ("excellent", "good", "fair", "poor")

ANSWERS = {1: "The mortgage is issued.", 0: "The mortgage is denied."}
CONCLUSIONS = {1: "Therefore, the mortgage is issued.", 0: "Therefore, the mortgage is denied."}
_ARTICLE = {"conventional": "a", "FHA": "an", "VA": "a"}
_PURPOSE_PHRASE = {
    "home purchase": "a home purchase",
    "refinancing": "refinancing",
    "home improvement": "home improvement",
}
_OCCUPANCY_PHRASE = {
    "principal residence": "a principal residence",
    "second residence": "a second residence",
    "investment property": "an investment property",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MAX_COMPARISONS = 4
MONEY = ("income", "loan_amount")  # in thousands of USD

#: Verbose reasoning: each feature's short key, and the short names of categorical values (one word each, so a
#: step never contains a space but around `in`).
VERBOSE_KEYS = {
    "debt_to_income": "dti", "loan_to_value": "ltv", "income": "income", "loan_amount": "amount",
    "credit_score": "credit", "loan_type": "type", "occupancy": "occupancy",
}
CATEGORY_NAMES = {
    "credit_score": {band: band for band in CREDIT_BANDS},
    "loan_type": {kind: kind for kind in LOAN_TYPES},
    "occupancy": {
        "principal residence": "principal", "second residence": "second", "investment property": "investment",
    },
}
_FEATURE_OF_KEY = {key: feature for feature, key in VERBOSE_KEYS.items()}
#: A verbose step: key=value op limit:bit. Numbers: whole percent, or whole thousands of USD with a `k`. Digits are
#: bounded everywhere because `int()` refuses strings of over 4,300 digits, and parsers must not raise.
_VERBOSE_STEP = re.compile(r"\s*([a-z]+)\s*=\s*(.*?)\s*:\s*([01])\s*")
_VERBOSE_NUMERIC = re.compile(r"(\d{1,9})(k?)\s*(<=|>=|<|>)\s*(\d{1,9})(k?)")
_VERBOSE_CATEGORY = re.compile(r"(\w+)\s+in\s+(\w+(?:\s*/\s*\w+)*)")
#: An explanation's numeric sentence, and the relation each phrase states (a false outcome is phrased as the
#: opposite relation: "is not below 43%" states >=, "is above 80%" states >).
_NUMERIC_SENTENCE = re.compile(
    r"The (debt-to-income ratio|loan-to-value ratio|annual income|loan amount) of (\$\d[\d,]{0,15}|\d{1,9}%) "
    r"is (not below|below|at most|at least|above) (\$\d[\d,]{0,15}|\d{1,9}%)\."
)
_RELATIONS = {"below": "<", "not below": ">=", "at most": "<=", "at least": ">=", "above": ">"}


def usd(thousands: int) -> str:
    return f"${thousands * 1000:,}"


@dataclass(frozen=True)
class Branch:
    """One node: `feature op limit` and the sentences stating its outcome (`{v}` = the applicant's value).

    `op` is <, <= or >= against a number (percent, or thousands of USD), or `in` against a tuple of categories."""

    feature: str
    op: str
    limit: int | tuple[str, ...]
    if_true: str
    if_false: str

    @property
    def rule(self) -> str:
        """The rule as `describe()` records it: `debt_to_income < 43`, `credit_score in {excellent, good}`."""
        if isinstance(self.limit, tuple):
            return f"{self.feature} in {{{', '.join(self.limit)}}}"
        return f"{self.feature} {self.op} {self.limit}"

    def holds(self, applicant: Applicant) -> bool:
        return compare(applicant[self.feature], self.op, self.limit)

    def sentence(self, applicant: Applicant, truth: bool) -> str:
        value = applicant[self.feature]
        shown = usd(value) if self.feature in MONEY else value
        return (self.if_true if truth else self.if_false).format(v=shown)

    def verbose_step(self, applicant: Applicant, truth: bool) -> str:
        """`dti=38<43:1`, `income=78k>=100k:0`, `credit=good in excellent/good:1` (see VERBOSE_KEYS)."""
        value, key = applicant[self.feature], VERBOSE_KEYS[self.feature]
        if isinstance(self.limit, tuple):
            names = CATEGORY_NAMES[self.feature]
            return f"{key}={names[value]} in {'/'.join(names[c] for c in self.limit)}:{int(truth)}"
        unit = "k" if self.feature in MONEY else ""
        return f"{key}={value}{unit}{self.op}{self.limit}{unit}:{int(truth)}"


def _dti_below(limit: int) -> Branch:
    return Branch(
        "debt_to_income", "<", limit,
        f"The debt-to-income ratio of {{v}}% is below {limit}%.",
        f"The debt-to-income ratio of {{v}}% is not below {limit}%.",
    )


def _ltv_at_most(limit: int) -> Branch:
    return Branch(
        "loan_to_value", "<=", limit,
        f"The loan-to-value ratio of {{v}}% is at most {limit}%.",
        f"The loan-to-value ratio of {{v}}% is above {limit}%.",
    )


def _usd_test(feature: str, noun: str, op: str, limit: int) -> Branch:
    at_least = op == ">="
    return Branch(
        feature, op, limit,
        f"The {noun} of {{v}} is {'at least' if at_least else 'at most'} {usd(limit)}.",
        f"The {noun} of {{v}} is {'below' if at_least else 'above'} {usd(limit)}.",
    )


def _category(feature: str, subject: str, allowed: tuple[str, ...], phrase: str, negated: str) -> Branch:
    return Branch(feature, "in", allowed, f"{subject} {phrase}.", f"{subject} {negated}.")


_GOOD_CREDIT = _category(
    "credit_score", "The credit score", ("excellent", "good"), "is excellent or good", "is not excellent or good"
)
_PRINCIPAL = _category(
    "occupancy", "The property", ("principal residence",), "is a principal residence", "is not a principal residence"
)
_GOVERNMENT_BACKED = _category("loan_type", "The loan type", ("FHA", "VA"), "is FHA or VA", "is not FHA or VA")

#: The fixed depth-4 tree in heap order (see the module docstring).
TREE: tuple[Branch, ...] = (
    _dti_below(43),
    _GOOD_CREDIT,
    _usd_test("income", "annual income", ">=", 100),
    _ltv_at_most(80),
    _GOVERNMENT_BACKED,
    _GOOD_CREDIT,
    _ltv_at_most(70),
    _PRINCIPAL,
    _dti_below(36),
    _category("credit_score", "The credit score", ("excellent", "good", "fair"), "is not poor", "is poor"),
    _ltv_at_most(70),
    _dti_below(50),
    _usd_test("loan_amount", "loan amount", "<=", 300),
    _GOOD_CREDIT,
    _GOVERNMENT_BACKED,
)

#: The categorical sentences: they do not write the applicant's value, so they state no checkable comparison.
_CATEGORY_SENTENCES = frozenset(
    sentence for branch in TREE if branch.op == "in" for sentence in (branch.if_true, branch.if_false)
)


def _pick(rng: np.random.Generator, options: tuple[str, ...], probs: tuple[float, ...]) -> str:
    """One option by probability (a cumulative search: `rng.choice(p=...)` is ~10x slower per call)."""
    return options[min(int(np.searchsorted(np.cumsum(probs), rng.random(), side="right")), len(options) - 1)]


def _clip(value: float, low: int, high: int) -> int:
    return int(min(max(round(value), low), high))


def sample_applicant(rng: np.random.Generator) -> Applicant:
    """One applicant; the distributions are tuned so that both decisions are common at every tree depth."""
    purpose = _pick(rng, PURPOSES, (0.55, 0.30, 0.15))
    income = _clip(85 * np.exp(0.55 * rng.standard_normal()), 20, 500)
    scale = rng.uniform(0.3, 1.0) if purpose == "home improvement" else rng.uniform(1.5, 5.0)
    return {
        "loan_type": _pick(rng, LOAN_TYPES, (0.60, 0.28, 0.12)),
        "loan_amount": 5 * _clip(income * scale / 5, 2, 300),
        "purpose": purpose,
        "occupancy": _pick(rng, OCCUPANCIES, (0.75, 0.10, 0.15)),
        "income": income,
        "debt_to_income": _clip(rng.normal(42, 12), 5, 70),
        "loan_to_value": int(rng.integers(45, 101)),
        "credit_score": _pick(rng, CREDIT_BANDS, (0.25, 0.30, 0.25, 0.20)),
    }


def describe_applicant(a: Applicant) -> str:
    """The model's input: two short sentences stating every feature once."""
    return (
        f"The applicant requests {_ARTICLE[a['loan_type']]} {a['loan_type']} loan of {usd(a['loan_amount'])} "
        f"for {_PURPOSE_PHRASE[a['purpose']]} of {_OCCUPANCY_PHRASE[a['occupancy']]}. "
        f"Annual income is {usd(a['income'])}, debt-to-income ratio is {a['debt_to_income']}%, "
        f"loan-to-value ratio is {a['loan_to_value']}%, and the credit score is {a['credit_score']}."
    )


def decision_word(text: str) -> int | None:
    """1 if the text says "issued", 0 if "denied", None if both or neither (case-insensitive)."""
    if not isinstance(text, str):
        return None
    lowered = text.lower()
    issued, denied = "issued" in lowered, "denied" in lowered
    return None if issued == denied else int(issued)


@register_task("mortgage")
class MortgageTask(Task):
    """Paper 1: natural-language mortgage decision tree (our HMDA-like design); one explanation sentence per branch."""

    label_names = ("denied", "issued")
    supports_icl = False

    def __init__(self, seed: int = 0, comparisons: int = 3, reasoning_format: str = DEFAULT_REASONING_FORMAT) -> None:
        comparisons = check_int_param("comparisons", comparisons, 1, MAX_COMPARISONS)
        reasoning_format = check_reasoning_format(reasoning_format)
        super().__init__(seed, comparisons=comparisons, **format_params(reasoning_format))
        self.comparisons = comparisons
        self.reasoning_format = reasoning_format

    @property
    def reasoning_writes_operands(self) -> bool:  # type: ignore[override]
        """Compressed bits write no operands; verbose steps write the feature value and the limit."""
        return self.reasoning_format == "verbose"

    def with_reasoning_format(self, reasoning_format: str) -> MortgageTask:
        """This tree writing `reasoning_format` (`steps.with_reasoning_format`)."""
        return with_reasoning_format(self, reasoning_format)

    # -- the classifier -----------------------------------------------------------------------------------------
    def path(self, applicant: Applicant) -> list[tuple[int, bool]]:
        """(node index, truth) of the comparisons evaluated for `applicant`, root first."""
        out, index = [], 0
        for _ in range(self.comparisons):
            truth = TREE[index].holds(applicant)
            out.append((index, truth))
            index = 2 * index + (1 if truth else 2)
        return out

    def predict(self, applicant: Applicant) -> int:
        return int(self.path(applicant)[-1][1])

    # -- texts --------------------------------------------------------------------------------------------------
    def answer_text(self, label: int) -> str:
        return ANSWERS[label]

    @staticmethod
    def explanation_text(applicant: Applicant, path: list[tuple[int, bool]], label: int) -> str:
        return " ".join([TREE[i].sentence(applicant, truth) for i, truth in path] + [CONCLUSIONS[label]])

    def reasoning_text(self, applicant: Applicant, path: list[tuple[int, bool]], label: int) -> str:
        """Compressed `1,1,0,0` or verbose `dti=38<43:1;credit=good in excellent/good:1;ltv=92<=80:0;0`."""
        if self.reasoning_format == "verbose":
            return ";".join([TREE[i].verbose_step(applicant, truth) for i, truth in path] + [str(label)])
        return ",".join([str(int(truth)) for _, truth in path] + [str(label)])

    def sample_one(self, rng: np.random.Generator, index: int) -> Example:
        applicant = sample_applicant(rng)
        path = self.path(applicant)
        label = int(path[-1][1])
        return Example(
            id=f"{self.name}-s{self.seed}-{index:06d}",
            input=describe_applicant(applicant),
            label=label,
            labels=list(self.labels),
            reasoning=self.reasoning_text(applicant, path, label),
            explanation=self.explanation_text(applicant, path, label),
            rationale=[TREE[i].feature for i, _ in path],
            meta={"applicant": applicant, "nodes": [i for i, _ in path]},
        )

    # -- parsers ------------------------------------------------------------------------------------------------
    def parse_answer(self, text: str) -> int | None:
        return decision_word(text)

    def parse_explanation(self, text: str) -> int | None:
        """The decision stated by the last sentence (C1 reads the text after the last ". ")."""
        if not isinstance(text, str):
            return None
        sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
        return decision_word(sentences[-1]) if sentences else None

    def parse_reasoning(self, text: str) -> list[int] | None:
        """The written truth bits, then the output, in either format (a verbose step's operands are not checked
        here: `reasoning_steps` does that)."""
        if self.reasoning_format == "verbose":
            return parse_verbose_reasoning(text, _verbose_step_bit)
        return parse_comma_bits(text)

    # -- step validity ------------------------------------------------------------------------------------------
    def explanation_steps(self, text: str) -> list[bool] | None:
        """Per numeric sentence ("The debt-to-income ratio of 38% is below 43%."), whether the relation it states
        holds between its two written numbers. Categorical sentences (no value written) and the "Therefore, ..."
        conclusion are not steps; any other sentence is an invalid step. None for a blank text."""
        if not isinstance(text, str) or not text.strip():
            return None
        sentences = [" ".join(s.split()) for s in _SENTENCE_END.split(text.strip()) if s.strip()]
        return [_sentence_valid(s) for s in sentences if not _not_a_step(s)]

    def reasoning_steps(self, text: str) -> list[bool] | None:
        """Per step of a verbose reasoning (`dti=38<43:1`), whether its bit is the truth of its written comparison;
        an unreadable step is invalid and the trailing output bit is not a step. None for blank text."""
        parts = split_reasoning(text)
        if parts is None:
            return None
        return [_verbose_step_valid(item) for item in parts[0]]

    # -- interventions (faithex.tasks.synthetic.interventions) ----------------------------------------------------
    @property
    def reasoning_separator(self) -> str:
        """What joins the reasoning's items: `,` compressed, `;` verbose."""
        return ";" if self.reasoning_format == "verbose" else ","

    def forced_path(self, applicant: Applicant, forced: list[int]) -> list[tuple[int, bool]]:
        """(node, truth) with the first len(forced) truths forced; below them the applicant decides (`path`
        when nothing is forced)."""
        return forced_tree_path(lambda index: TREE[index].holds(applicant), self.comparisons, forced)

    def flip_step(self, example: Example, reasoning: str, step: int) -> StepFlip | None:
        """As the decision tree's: the reasoning's own bits down to `step`, the other branch there, the applicant
        deciding below it. None for a text that is not a reasoning of this tree's depth."""
        return flip_tree_step(self, example.meta["applicant"], reasoning, step)

    def rewrite_reasoning(self, example: Example, reasoning: str, reasoning_format: str) -> str | None:
        """`reasoning` (this task's format) in `reasoning_format`, with the same bits and output: the paraphrase.
        None for a text that is not a reasoning of this tree's depth."""
        return rewrite_tree_reasoning(self, example.meta["applicant"], reasoning, reasoning_format)

    def describe(self) -> dict[str, Any]:
        used = TREE[: 2**self.comparisons - 1]
        nodes = [{"node": i, "feature": t.feature, "rule": t.rule} for i, t in enumerate(used)]
        return {**super().describe(), "tree": nodes}


# -- reading written steps ------------------------------------------------------------------------------------------
def _read_verbose_step(item: str) -> tuple[object, str, object, int] | None:
    """(value, op, limit, bit) of a verbose step, values in the tree's own terms (thousands, full category
    names), or None unless the key is known and the value and limit have that feature's kind and unit."""
    match = _VERBOSE_STEP.fullmatch(item)
    feature = _FEATURE_OF_KEY.get(match[1]) if match else None
    if feature is None:
        return None
    body, bit = match[2], int(match[3])
    if feature in CATEGORY_NAMES:
        return _read_category(feature, body, bit)
    numeric = _VERBOSE_NUMERIC.fullmatch(body)
    unit = "k" if feature in MONEY else ""
    if numeric is None or numeric[2] != unit or numeric[5] != unit:
        return None
    return int(numeric[1]), numeric[3], int(numeric[4]), bit


def _read_category(feature: str, body: str, bit: int) -> tuple[object, str, object, int] | None:
    """`good in excellent/good` -> ("good", "in", ("excellent", "good"), bit); names must be the feature's own."""
    match = _VERBOSE_CATEGORY.fullmatch(body)
    full_name = {short.casefold(): name for name, short in CATEGORY_NAMES[feature].items()}
    if match is None:
        return None
    names = [match[1], *(name.strip() for name in match[2].split("/"))]
    values = [full_name.get(name.casefold()) for name in names]
    if any(value is None for value in values):
        return None
    return values[0], "in", tuple(values[1:]), bit


def _verbose_step_bit(item: str) -> int | None:
    step = _read_verbose_step(item)
    return None if step is None else step[3]


def _verbose_step_valid(item: str) -> bool:
    step = _read_verbose_step(item)
    return step is not None and compare(step[0], step[1], step[2]) == bool(step[3])


def _not_a_step(sentence: str) -> bool:
    return sentence.startswith("Therefore,") or sentence in _CATEGORY_SENTENCES


def _sentence_valid(sentence: str) -> bool:
    """Whether a numeric sentence's stated relation holds between its written numbers (same unit on both sides:
    % for the ratios, $ for income and amount); anything else is not a valid step."""
    match = _NUMERIC_SENTENCE.fullmatch(sentence)
    if match is None:
        return False
    money = match[1] in ("annual income", "loan amount")
    value, limit = match[2], match[4]
    if any(number.startswith("$") != money for number in (value, limit)):
        return False
    return compare(_amount(value), _RELATIONS[match[3]], _amount(limit))


def _amount(text: str) -> int:
    """"$78,000" -> 78000, "38%" -> 38 (both sides of a sentence use the same unit, so no scaling is needed)."""
    return int(text.strip("$%").replace(",", ""))
