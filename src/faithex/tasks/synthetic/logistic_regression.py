"""Paper 1's logistic-regression problem (C1 `LogisticRegressor`): y = int(sum_i w_i x_i > 0), no bias, no sigmoid.

Weights ~ U(-10, 10) and inputs ~ U(-1, 1), both rounded to `decimals` places; the weights are drawn in `__init__`
from `default_rng(seed)`, so a seed *is* a classifier. For `x = [x0, x1, ...]` the task writes

- input:        `X: [0.0322, -0.4, ...]` (Python list repr of the rounded floats, as C1),
- reasoning:    `-0.3224 -0.3224;0.8605 0.5381;...;1` ("w_i*x_i running_sum" per dimension, then the output), or
                with `reasoning_format="verbose"` `2.7392*0.7795=2.1352 2.1352;-4.6043*0.1143=-0.5263 1.6089;...;0`:
                each product's operands first (weight, then input, written as Python writes the rounded floats, as
                the input does),
- explanation:  `[[0, "w[0] * x[0] = -0.3224", "y - 0.3224 = -0.3224"], ..., ["OUTPUT", 1]]` (json.dumps).

Decision from the shown numbers: every product w_i*x_i is rounded to `decimals`, the running sum is the rounded sum
of those rounded products, and the label is `int(final running sum > 0)`. That is C1's explanation arithmetic; we
also take the *label* from it (C1 used the unrounded sum), so input, reasoning, explanation and label can never
disagree, even when the exact sum is within rounding error of 0. Deviation from C1: reasoning and explanation
numbers are written with exactly `decimals` places (`0.5000`, not `0.5`), which keeps every step the same shape.

`rewrite_reasoning` writes a reasoning in the other format with the same products, sums and output, each number
as written: compressed to verbose puts the classifier's weight and the input before each written product
(`0.6848 0.6848` -> `2.7392*0.25=0.6848 0.6848`), verbose to compressed drops the written operands.

Step validity (`explanation_steps`, `reasoning_steps`): one step per dimension, valid when every equation it writes
holds for its own written numbers within the format's rounding (`steps.close`): the running sum is the previous
written sum (0 before the first) plus the product (the explanation's "y + m = s" must also add the product written
beside it); a verbose reasoning step's product is its written weight times its written input. The output is one more
step: its bit is [last written sum > 0]. A step whose numbers cannot be read, the previous sum included, is invalid.
The explanation's "w[i] * x[i]" names its operands without writing them, so its products are checked only against
the sum line.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import numpy as np

from faithex.tasks.base import (
    Example,
    Task,
    check_int_param,
    parse_bit,
    parse_json_explanation,
    parse_leading_bit,
)
from faithex.tasks.registry import register_task
from faithex.tasks.synthetic.interventions import StepFlip, build_flip, split_steps
from faithex.tasks.synthetic.steps import (
    DEFAULT_REASONING_FORMAT,
    NUMBER,
    check_reasoning_format,
    close,
    format_params,
    is_output_item,
    json_items,
    split_reasoning,
    with_reasoning_format,
)

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
#: A verbose reasoning step: "weight*input=product sum" (the operands may be in scientific notation, as repr writes
#: small floats; product and sum are fixed-point like the compressed step).
_VERBOSE_STEP = re.compile(rf"\s*({NUMBER})\s*\*\s*({NUMBER})\s*=\s*(\S+)\s+(\S+)\s*")
#: The explanation's two strings per dimension: "w[0] * x[0] = -0.3224" and "y - 0.3224 = -0.3224".
_PRODUCT_LINE = re.compile(rf"\s*w\[\d+\]\s*\*\s*x\[\d+\]\s*=\s*({NUMBER})\s*")
_SUM_LINE = re.compile(rf"\s*y\s*([+-])\s*({NUMBER})\s*=\s*({NUMBER})\s*")
MAX_WEIGHT = 10.0


class SumClaim(NamedTuple):
    """One dimension's written step: `total` = previous sum + `term`; `holds`: whether the step's other equation
    (a verbose product w*x = p, or the explanation's term = the product written beside it) is true."""

    term: float
    total: float
    holds: bool


def rounded(value: float, decimals: int) -> float:
    """Round and drop the sign of zero, so `-0.0` never shows up as "-0.0000"."""
    return round(float(value), decimals) + 0.0


@register_task("logistic_regression")
class LogisticRegressionTask(Task):
    """Paper 1: linear classifier y = [w.x > 0] over U(-1,1) inputs; reasoning = per-dimension running sums."""

    #: Both formats write the running sums and their operands (previous sum and product): always checkable.
    reasoning_writes_operands = True

    def __init__(
        self, seed: int = 0, n_inputs: int = 8, decimals: int = 4, reasoning_format: str = DEFAULT_REASONING_FORMAT
    ) -> None:
        n_inputs = check_int_param("n_inputs", n_inputs, 1, 256)
        decimals = check_int_param("decimals", decimals, 1, 8)
        reasoning_format = check_reasoning_format(reasoning_format)
        super().__init__(seed, n_inputs=n_inputs, decimals=decimals, **format_params(reasoning_format))
        self.n_inputs = n_inputs
        self.decimals = decimals
        self.reasoning_format = reasoning_format
        rng = np.random.default_rng(seed)
        self.weights = [rounded(w, decimals) for w in rng.uniform(-MAX_WEIGHT, MAX_WEIGHT, n_inputs)]

    def with_reasoning_format(self, reasoning_format: str) -> LogisticRegressionTask:
        """This classifier writing `reasoning_format` (`steps.with_reasoning_format`)."""
        return with_reasoning_format(self, reasoning_format)

    # -- the classifier -----------------------------------------------------------------------------------------
    def steps(self, x: list[float]) -> list[tuple[float, float]]:
        """(rounded w_i*x_i, rounded running sum) per dimension: the numbers the texts show."""
        out, total = [], 0.0
        for w, v in zip(self.weights, x, strict=True):
            product = rounded(w * v, self.decimals)
            total = rounded(total + product, self.decimals)
            out.append((product, total))
        return out

    def predict(self, x: list[float]) -> int:
        return int(self.steps(x)[-1][1] > 0)

    def sample_x(self, rng: np.random.Generator) -> list[float]:
        return [rounded(v, self.decimals) for v in rng.uniform(-1.0, 1.0, self.n_inputs)]

    # -- texts --------------------------------------------------------------------------------------------------
    def _fmt(self, value: float) -> str:
        return f"{value:.{self.decimals}f}"

    def reasoning_text(self, x: list[float], steps: list[tuple[float, float]], label: int) -> str:
        """Compressed `p s;...;y` or verbose `w*x=p s;...;y` (weights and inputs written as Python writes them)."""
        items = [f"{self._fmt(p)} {self._fmt(s)}" for p, s in steps]
        if self.reasoning_format == "verbose":
            items = [f"{w!r}*{v!r}={item}" for w, v, item in zip(self.weights, x, items, strict=True)]
        return ";".join(items + [str(label)])

    def explanation_text(self, steps: list[tuple[float, float]], label: int) -> str:
        items: list[list[Any]] = []
        for i, (product, total) in enumerate(steps):
            sign = "+" if product >= 0 else "-"
            step = f"y {sign} {self._fmt(abs(product))} = {self._fmt(total)}"
            items.append([i, f"w[{i}] * x[{i}] = {self._fmt(product)}", step])
        items.append(["OUTPUT", label])
        return json.dumps(items, ensure_ascii=False)

    def sample_one(self, rng: np.random.Generator, index: int) -> Example:
        x = self.sample_x(rng)
        steps = self.steps(x)
        label = int(steps[-1][1] > 0)
        return Example(
            id=f"{self.name}-s{self.seed}-{index:06d}",
            input=f"X: {x}",
            label=label,
            labels=list(self.labels),
            reasoning=self.reasoning_text(x, steps, label),
            explanation=self.explanation_text(steps, label),
            rationale=supporting_features(steps, label),
            meta={"x": x},
        )

    # -- parsers ------------------------------------------------------------------------------------------------
    def parse_answer(self, text: str) -> int | None:
        return parse_leading_bit(text)

    def parse_explanation(self, text: str) -> int | None:
        return parse_json_explanation(text)

    def parse_reasoning(self, text: str) -> list[Any] | None:
        """["-0.3224 -0.3224", "0.8605 0.5381", ..., 1]: whitespace-normalised "product sum" steps, then the int
        output, in both formats (a verbose step's operands are dropped here, so reasoning metrics compare the same
        things in both formats; `reasoning_steps` checks them)."""
        if not isinstance(text, str):
            return None
        *step_texts, last = text.strip().split(";")
        decision = parse_bit(last)
        read = _parse_verbose_step if self.reasoning_format == "verbose" else _parse_step
        steps = [read(s) for s in step_texts]
        if decision is None or not steps or any(s is None for s in steps):
            return None
        return [*steps, decision]

    # -- step validity ------------------------------------------------------------------------------------------
    def reasoning_steps(self, text: str) -> list[bool] | None:
        """Validity of each dimension's step, then of the output bit if written (see the module docstring);
        None for blank text."""
        parts = split_reasoning(text)
        if parts is None:
            return None
        items, output = parts
        read = self._verbose_claim if self.reasoning_format == "verbose" else _compressed_claim
        return self._check_claims([read(item) for item in items], [] if output is None else [int(output)])

    def explanation_steps(self, text: str) -> list[bool] | None:
        """Validity of each dimension item of a JSON explanation, then of its OUTPUT item; None when the text is not
        a JSON list."""
        items = json_items(text)
        if items is None:
            return None
        claims = [self._explanation_claim(item) for item in items if not is_output_item(item)]
        outputs = [item[1] if len(item) == 2 else None for item in items if is_output_item(item)]
        return self._check_claims(claims, outputs)

    def _check_claims(self, claims: list[SumClaim | None], outputs: list[Any]) -> list[bool]:
        """One step per claim (its own equation holds and its sum is the previous written sum plus its term), then
        one per written output (the bit is [last written sum > 0]); an unreadable claim or previous sum: invalid."""
        steps, previous = [], 0.0  # the running sum starts at 0
        for claim in claims:
            steps.append(claim is not None and previous is not None and claim.holds
                         and close(previous + claim.term, claim.total, self.decimals))
            previous = None if claim is None else claim.total
        last_sum = previous if claims else None  # no sum written: the output has nothing to be checked against
        return steps + [last_sum is not None and type(out) is int and out == int(last_sum > 0) for out in outputs]

    def _verbose_claim(self, item: str) -> SumClaim | None:
        """A verbose step "w*x=p s": its term is p, its own equation w*x = p (within rounding)."""
        match = _VERBOSE_STEP.fullmatch(item)
        if match is None or _parse_step(f"{match[3]} {match[4]}") is None:
            return None
        weight, value, product, total = (float(match[i]) for i in range(1, 5))
        return SumClaim(product, total, close(weight * value, product, self.decimals))

    def _explanation_claim(self, item: Any) -> SumClaim | None:
        """An explanation item [i, "w[i] * x[i] = p", "y +/- m = s"]: its term is +/-m, its own equation +/-m = p
        (the sum line adds the product written beside it)."""
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[1], str) and isinstance(item[2], str)):
            return None
        product, total = _PRODUCT_LINE.fullmatch(item[1]), _SUM_LINE.fullmatch(item[2])
        if product is None or total is None:
            return None
        term = float(total[2]) * (1 if total[1] == "+" else -1)
        return SumClaim(term, float(total[3]), close(term, float(product[1]), self.decimals))

    # -- interventions (faithex.tasks.synthetic.interventions) ----------------------------------------------------
    #: What joins the reasoning's items, in both formats.
    reasoning_separator = ";"

    def flip_step(self, example: Example, reasoning: str, step: int) -> StepFlip | None:
        """`reasoning` with dimension `step`'s contribution negated, and the output the classifier then implies.

        The negated step writes -p (p: the product the reasoning wrote) and the previous written sum (0 before
        the first) plus -p; the later steps are the classifier's own rounded products w_j*x_j added to that sum,
        and the implied output is [last sum > 0]: the running sums recomputed from the forced step. A verbose step
        keeps its written operands, so "w*x=-p" is false of them. None for a text that is not a reasoning of
        `n_inputs` readable steps, or where the step's product is 0 (nothing to negate)."""
        parts = split_steps(reasoning, self.reasoning_separator)
        if parts is None or self.parse_reasoning(reasoning) is None or len(parts[0]) != self.n_inputs:
            return None
        read = self._verbose_claim if self.reasoning_format == "verbose" else _compressed_claim
        claims = [read(item) for item in parts[0]]
        if not 0 <= step < self.n_inputs or any(c is None for c in claims) or claims[step].term == 0:
            return None
        term = rounded(-claims[step].term, self.decimals)
        forced = [(c.term, c.total) for c in claims[:step]]
        forced.append((term, rounded((claims[step - 1].total if step else 0.0) + term, self.decimals)))
        for w, v in zip(self.weights[step + 1:], example.meta["x"][step + 1:], strict=True):
            product = rounded(w * v, self.decimals)
            forced.append((product, rounded(forced[-1][1] + product, self.decimals)))
        implied = int(forced[-1][1] > 0)
        items = self.reasoning_text(example.meta["x"], forced, implied).split(self.reasoning_separator)
        negated = items[step]
        if self.reasoning_format == "verbose":  # the model's own operands, as it wrote them
            operands = _VERBOSE_STEP.fullmatch(parts[0][step])
            negated = f"{operands[1]}*{operands[2]}={negated.partition('=')[2]}"
        return build_flip(step, parts[0], parts[1], negated, items[step + 1:-1], implied, self.reasoning_separator)

    def rewrite_reasoning(self, example: Example, reasoning: str, reasoning_format: str) -> str | None:
        """`reasoning` (this task's format) in `reasoning_format`, every written product, sum and the output kept as
        written (the paraphrase; see the module docstring). None for a text that is not a reasoning of `n_inputs`
        readable steps."""
        reasoning_format = check_reasoning_format(reasoning_format)
        parsed = self.parse_reasoning(reasoning)
        if parsed is None or len(parsed) != self.n_inputs + 1:
            return None
        *steps, output = parsed
        if reasoning_format == "verbose":
            steps = [f"{w!r}*{v!r}={step}" for w, v, step in zip(self.weights, example.meta["x"], steps, strict=True)]
        return ";".join([*steps, str(output)])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights": list(self.weights)}


def supporting_features(steps: list[tuple[float, float]], label: int) -> list[int]:
    """Rationale: indices whose product pushes toward the label, largest |w_i*x_i| first."""
    sign = 1 if label == 1 else -1
    support = [i for i, (product, _) in enumerate(steps) if sign * product > 0]
    return sorted(support, key=lambda i: (-abs(steps[i][0]), i))


def _parse_step(text: str) -> str | None:
    tokens = text.split()
    if len(tokens) != 2 or not all(_NUMBER.fullmatch(t) for t in tokens):
        return None
    return " ".join(tokens)


def _parse_verbose_step(text: str) -> str | None:
    """The "product sum" part of a verbose step "w*x=p s" (whitespace-normalised), or None."""
    match = _VERBOSE_STEP.fullmatch(text)
    return None if match is None else _parse_step(f"{match[3]} {match[4]}")


def _compressed_claim(item: str) -> SumClaim | None:
    """A compressed step "p s": its term is p; it writes no other equation."""
    step = _parse_step(item)
    if step is None:
        return None
    product, total = (float(v) for v in step.split())
    return SumClaim(product, total, True)
