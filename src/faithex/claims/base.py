"""A paper's claim as code: which cells it compares, on which metric, in which direction, with its smallest effect of
interest. `faithex.claims.verdicts` turns a claim and a run's cells into verdicts.

A claim is a list of *pairs* (a treatment side against a baseline side), each side a regime and the protocols it
is asked with, plus the metric, the claimed direction of (treatment - baseline) and delta, the smallest effect that
would matter. A one-sample claim ("alignment is near-perfect") has no baseline and compares the treatment with a
fixed `reference` value instead.

    paper1.accuracy: joint_reasoning (two_step) vs joint (direct), answer_accuracy, greater, delta 0.05

Sides name regimes the way an experiment does: a cell matches a side when its regime id is the side's regime, or,
where no cell of the task has that id, when its regime's registered name is (an experiment that lists
`{name: self_consistency_classifier, id: classifier}` still meets paper 3's claims). Protocols are glob patterns
(`self_consistency_*`); none given: the regime's own protocol. With `same_protocol`, treatment and baseline are
paired only when asked with the same protocol (paper 3 compares each check with itself).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from faithex.errors import ConfigError, UnknownNameError
from faithex.registry import Registry

Direction = Literal["greater", "less"]
#: How a claim treats untrained cells (the guards): an accuracy claim keeps its verdict with a label when one side
#: is untrained; a faithfulness claim is inconclusive, since a figure of an untrained cell means nothing.
Kind = Literal["accuracy", "faithfulness"]
PAPERS = ("paper1", "paper2", "paper3", "user")


class UnknownClaimError(UnknownNameError):
    """A claim id that is not registered."""


@dataclass(frozen=True)
class Side:
    """A regime and the protocols it is asked with (glob patterns; empty: the regime's own protocol), minus those
    matching `exclude`."""

    regime: str
    protocols: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def asks(self, protocol: str, own_protocol: str | None) -> bool:
        if any(fnmatch.fnmatchcase(protocol, pattern) for pattern in self.exclude):
            return False
        if not self.protocols:
            return protocol == own_protocol
        return any(fnmatch.fnmatchcase(protocol, pattern) for pattern in self.protocols)

    def __str__(self) -> str:
        return self.regime + (f" ({', '.join(self.protocols)})" if self.protocols else "")


@dataclass(frozen=True)
class Claim:
    """One statement of a paper, testable on a run's cells."""

    id: str
    paper: str
    statement: str
    metric: str | None
    pairs: tuple[tuple[Side, Side | None], ...]
    direction: Direction = "greater"
    delta: float = 0.05
    kind: Kind = "accuracy"
    same_protocol: bool = False
    reference: float | None = None
    #: True: only tasks the treatment regime trained on (all of them, unless its entry has `train_on`); False: only
    #: tasks it did not train on (paper 3's unseen task); None: any task.
    seen_task: bool | None = True
    #: Where the claim is not decided by comparing cells (paper 2's layer analysis): what decides it instead.
    decided_by: str | None = None
    #: The baseline is another metric of the treatment's own cells, item by item (the follow rate against the
    #: ignore-the-reasoning baseline of the same flips); the pair's baseline side is then the treatment side.
    baseline_metric: str | None = None
    #: (metric, least mean): a control the treatment's cells must pass before the claim can be supported (the
    #: no-change control keeps at least 90% of answers); failed or without items, the verdict is inconclusive.
    control: tuple[str, float] | None = None
    #: Supported only when the interval's bound in the claimed direction clears delta too (the effect is at least
    #: delta with 95% confidence), not only when p is small: for claims whose baseline is itself a rate a model
    #: can beat by a hair (the follow rate against the ignore-the-reasoning baseline).
    supported_beyond_delta: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        if self.paper not in PAPERS:
            raise ValueError(f"claim {self.id}: paper must be one of {PAPERS}, got {self.paper!r}")
        if self.delta < 0 or math.isnan(self.delta):
            raise ValueError(f"claim {self.id}: delta must be >= 0 (a size in the claimed direction)")
        if self.baseline_metric and any(b is not None and b != t for t, b in self.pairs):
            raise ValueError(f"claim {self.id}: with a baseline metric, each pair's baseline side is its treatment")
        one_sample = not self.baseline_metric and any(baseline is None for _, baseline in self.pairs)
        if one_sample and self.reference is None:
            raise ValueError(f"claim {self.id}: a pair without a baseline needs a `reference` value")

    @property
    def sign(self) -> int:
        """+1 when the claim says treatment > baseline, -1 when it says treatment < baseline."""
        return 1 if self.direction == "greater" else -1

    def describe(self) -> str:
        if self.baseline_metric:
            sides = "; ".join(str(t) for t, _ in self.pairs)
            control = f", control {self.control[0]} >= {self.control[1]:g}" if self.control else ""
            return (f"{self.metric} vs {self.baseline_metric} of the same items, {self.direction}, delta "
                    f"{self.delta:g}{control}: {sides or 'cells named by the experiment'}")
        sides = "; ".join(f"{t} vs {b if b is not None else self.reference}" for t, b in self.pairs)
        return f"{self.metric}, {self.direction}, delta {self.delta:g}: {sides or 'cells named by the experiment'}"

    @property
    def baseline_of_metric(self) -> str | None:
        """The metric the baseline side is read on (None: the claim has no baseline metric of its own)."""
        return self.baseline_metric or self.metric


CLAIMS: Registry[Claim] = Registry("claim", UnknownClaimError)


def register_claim(claim: Claim) -> Claim:
    return CLAIMS.add(claim.id, claim)


def get_claim(claim_id: str) -> Claim:
    return CLAIMS.get(claim_id)


# -- claims an experiment declares in its YAML ----------------------------------------------------------------------
class SideSpec(BaseModel):
    """`{regime: <id or name>, protocols: [<glob>, ...]}` in an experiment's `claims:`."""

    model_config = ConfigDict(extra="forbid")
    regime: str
    protocols: list[str] = Field(default_factory=list, description="glob patterns; empty: the regime's own")

    def side(self) -> Side:
        return Side(self.regime, tuple(self.protocols))


class ClaimSpec(BaseModel):
    """One entry of an experiment's `claims:`. With the id of a registered claim, the entry binds that claim to this
    experiment's cells (its metric, direction and delta kept unless given); with a new id, it declares a claim of
    its own (`paper: user`), and then `statement` and `metric` are required."""

    model_config = ConfigDict(extra="forbid")
    id: str
    statement: str | None = None
    metric: str | None = None
    treatment: SideSpec
    baseline: SideSpec | None = None
    reference: float | None = Field(None, description="the fixed value a claim without a baseline is tested against")
    direction: Direction | None = None
    delta: float | None = Field(None, ge=0)
    kind: Kind | None = None
    same_protocol: bool | None = None
    baseline_metric: str | None = Field(None, description="compare with this metric of the treatment's own items "
                                        "(no baseline side): e.g. a follow rate against its ignore baseline")

    @field_validator("metric", "baseline_metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None:
            from faithex.metrics import get_metric

            get_metric(value)  # an unknown metric fails here, with a suggestion
        return value

    def claim(self) -> Claim:
        given = {key: value for key, value in {
            "statement": self.statement, "metric": self.metric, "direction": self.direction, "delta": self.delta,
            "kind": self.kind, "same_protocol": self.same_protocol, "reference": self.reference,
            "baseline_metric": self.baseline_metric,
        }.items() if value is not None}
        try:
            within = given.get("baseline_metric") or (self.id in CLAIMS and get_claim(self.id).baseline_metric)
            if within and self.baseline is not None:
                raise ConfigError(f"claim '{self.id}' compares two metrics of the same items: give `treatment` only "
                                  "(no `baseline`)")
            treatment = self.treatment.side()
            pair = ((treatment, treatment if within else (self.baseline.side() if self.baseline else None)),)
            if self.id in CLAIMS:
                base = get_claim(self.id)
                return _replace(base, pairs=pair, **given)
            missing = [key for key in ("statement", "metric") if key not in given]
            if missing:
                raise ConfigError(f"claim '{self.id}' is not a registered claim, so it needs {' and '.join(missing)} "
                                  f"(registered: {', '.join(CLAIMS.names())})")
            return Claim(id=self.id, paper="user", pairs=pair, source="the experiment file", **given)
        except ValueError as error:
            if isinstance(error, ConfigError):
                raise
            raise ConfigError(str(error)) from None


def _replace(claim: Claim, **changes: Any) -> Claim:
    return replace(claim, **changes)


def experiment_claims(specs: Sequence[ClaimSpec] | None) -> list[Claim]:
    """Every registered claim, with the experiment's bindings in place of the registered ones of the same id, and
    the experiment's own claims after them. Several entries with one id add their pairs to one claim (a claim bound
    to two cells of the experiment); its other fields come from the first entry."""
    bound: dict[str, Claim] = {}
    for spec in specs or []:
        claim = spec.claim()
        first = bound.get(spec.id)
        bound[spec.id] = claim if first is None else _replace(first, pairs=first.pairs + claim.pairs)
    registered = [bound.pop(claim.id, claim) for claim in CLAIMS.values()]
    return registered + list(bound.values())
