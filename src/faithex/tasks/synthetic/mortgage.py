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
Reasoning: the path's truth bits then the output, comma-separated (`1,1,0,0`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from faithex.tasks.base import Example, Task, check_int_param, parse_comma_bits
from faithex.tasks.registry import register_task

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


def usd(thousands: int) -> str:
    return f"${thousands * 1000:,}"


@dataclass(frozen=True)
class Branch:
    """One node: a rule on one feature and the sentence stating its outcome (`{v}` = the applicant's value)."""

    feature: str
    rule: str
    holds: Callable[[Applicant], bool]
    if_true: str
    if_false: str

    def sentence(self, applicant: Applicant, truth: bool) -> str:
        value = applicant[self.feature]
        shown = usd(value) if self.feature in ("income", "loan_amount") else value
        return (self.if_true if truth else self.if_false).format(v=shown)


def _dti_below(limit: int) -> Branch:
    return Branch(
        "debt_to_income",
        f"debt_to_income < {limit}",
        lambda a: a["debt_to_income"] < limit,
        f"The debt-to-income ratio of {{v}}% is below {limit}%.",
        f"The debt-to-income ratio of {{v}}% is not below {limit}%.",
    )


def _ltv_at_most(limit: int) -> Branch:
    return Branch(
        "loan_to_value",
        f"loan_to_value <= {limit}",
        lambda a: a["loan_to_value"] <= limit,
        f"The loan-to-value ratio of {{v}}% is at most {limit}%.",
        f"The loan-to-value ratio of {{v}}% is above {limit}%.",
    )


def _usd_test(feature: str, noun: str, op: str, limit: int) -> Branch:
    at_least = op == ">="
    return Branch(
        feature,
        f"{feature} {op} {limit}",
        (lambda a: a[feature] >= limit) if at_least else (lambda a: a[feature] <= limit),
        f"The {noun} of {{v}} is {'at least' if at_least else 'at most'} {usd(limit)}.",
        f"The {noun} of {{v}} is {'below' if at_least else 'above'} {usd(limit)}.",
    )


def _category(feature: str, subject: str, allowed: tuple[str, ...], phrase: str, negated: str) -> Branch:
    return Branch(
        feature,
        f"{feature} in {{{', '.join(allowed)}}}",
        lambda a: a[feature] in allowed,
        f"{subject} {phrase}.",
        f"{subject} {negated}.",
    )


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

    def __init__(self, seed: int = 0, comparisons: int = 3) -> None:
        comparisons = check_int_param("comparisons", comparisons, 1, MAX_COMPARISONS)
        super().__init__(seed, comparisons=comparisons)
        self.comparisons = comparisons

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

    def sample_one(self, rng: np.random.Generator, index: int) -> Example:
        applicant = sample_applicant(rng)
        path = self.path(applicant)
        label = int(path[-1][1])
        return Example(
            id=f"{self.name}-s{self.seed}-{index:06d}",
            input=describe_applicant(applicant),
            label=label,
            labels=list(self.labels),
            reasoning=",".join([str(int(truth)) for _, truth in path] + [str(label)]),
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
        return parse_comma_bits(text)

    def describe(self) -> dict[str, Any]:
        used = TREE[: 2**self.comparisons - 1]
        nodes = [{"node": i, "feature": t.feature, "rule": t.rule} for i, t in enumerate(used)]
        return {**super().describe(), "tree": nodes}
