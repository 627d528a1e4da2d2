"""Paper 1's logistic-regression problem (C1 `LogisticRegressor`): y = int(sum_i w_i x_i > 0), no bias, no sigmoid.

Weights ~ U(-10, 10) and inputs ~ U(-1, 1), both rounded to `decimals` places; the weights are drawn in `__init__`
from `default_rng(seed)`, so a seed *is* a classifier. For `x = [x0, x1, ...]` the task writes

- input:        `X: [0.0322, -0.4, ...]` (Python list repr of the rounded floats, as C1),
- reasoning:    `-0.3224 -0.3224;0.8605 0.5381;...;1` ("w_i*x_i running_sum" per dimension, then the output),
- explanation:  `[[0, "w[0] * x[0] = -0.3224", "y - 0.3224 = -0.3224"], ..., ["OUTPUT", 1]]` (json.dumps).

Decision from the shown numbers: every product w_i*x_i is rounded to `decimals`, the running sum is the rounded sum
of those rounded products, and the label is `int(final running sum > 0)`. That is C1's explanation arithmetic; we
also take the *label* from it (C1 used the unrounded sum), so input, reasoning, explanation and label can never
disagree, even when the exact sum is within rounding error of 0. Deviation from C1: reasoning and explanation
numbers are written with exactly `decimals` places (`0.5000`, not `0.5`), which keeps every step the same shape.
"""

from __future__ import annotations

import json
import re
from typing import Any

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

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
MAX_WEIGHT = 10.0


def rounded(value: float, decimals: int) -> float:
    """Round and drop the sign of zero, so `-0.0` never shows up as "-0.0000"."""
    return round(float(value), decimals) + 0.0


@register_task("logistic_regression")
class LogisticRegressionTask(Task):
    """Paper 1: linear classifier y = [w.x > 0] over U(-1,1) inputs; reasoning = per-dimension running sums."""

    def __init__(self, seed: int = 0, n_inputs: int = 8, decimals: int = 4) -> None:
        n_inputs = check_int_param("n_inputs", n_inputs, 1, 256)
        decimals = check_int_param("decimals", decimals, 1, 8)
        super().__init__(seed, n_inputs=n_inputs, decimals=decimals)
        self.n_inputs = n_inputs
        self.decimals = decimals
        rng = np.random.default_rng(seed)
        self.weights = [rounded(w, decimals) for w in rng.uniform(-MAX_WEIGHT, MAX_WEIGHT, n_inputs)]

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

    def reasoning_text(self, steps: list[tuple[float, float]], label: int) -> str:
        return ";".join([f"{self._fmt(p)} {self._fmt(s)}" for p, s in steps] + [str(label)])

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
            reasoning=self.reasoning_text(steps, label),
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
        """["-0.3224 -0.3224", "0.8605 0.5381", ..., 1]: whitespace-normalised steps, then the int output."""
        if not isinstance(text, str):
            return None
        *step_texts, last = text.strip().split(";")
        decision = parse_bit(last)
        steps = [_parse_step(s) for s in step_texts]
        if decision is None or not steps or any(s is None for s in steps):
            return None
        return [*steps, decision]

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
