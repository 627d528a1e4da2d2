"""The experiment schema: a YAML file naming tasks x regimes x protocols x seeds, validated into typed configs.

    name: text-baseline
    model: default                 # HF id, local folder or .gguf
    seed: 0                        # data seed: the classifiers of paper 1, the splits of text tasks
    seeds: [0, 1, 2]               # training seeds (default: [seed]); each gives its own cells
    tasks:
      - {name: tweet_sentiment, n_train: 600, n_test: 200}
      - {name: decision_tree, id: dt-deep, params: {comparisons: 3}}     # `id` tells apart a task listed twice
    regimes: [zero_shot, label_only, {name: label_only, id: label_more, starts_from: label_only}]
    # a regime's own settings; one adapter trained on several tasks' data and asked on every task:
    #   {name: pseudo_faithful, params: {words_tried: 3, criterion: changed}, train_on: [tweet_sentiment]}
    protocols: [score, generate]   # default: each regime's own protocol
    battery: {interventions: true, cc_shap: false}   # the causal tests (faithex.protocols.battery; these defaults)
    train: {epochs: 1, learning_rate: 1.0e-3}
    inference: {batch_size: 32, precision: auto}

`configurations:` (paper 1's word for its regimes) is still read as `regimes:`. Every name is checked against its
registry here, so a typo fails before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from faithex.claims import ClaimSpec
from faithex.errors import ConfigError, FaithexError
from faithex.explanations import check_explanation_source
from faithex.protocols import get_protocol
from faithex.protocols.battery import battery_protocols, check_battery
from faithex.regimes import CONFIGURATIONS, get_regime
from faithex.runner.rundir import SHARED
from faithex.tasks import get_task
from faithex.training import TrainConfig


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    id: str | None = Field(None, description="name of this task in the run (default: `name`); must be unique")
    params: dict[str, Any] = Field(default_factory=dict)
    n_train: int | None = Field(2000, gt=0, description="training examples (null: the whole training split)")
    n_test: int | None = Field(200, gt=0, description="test examples (null: the whole test split)")
    icl_shots: int = Field(0, ge=0, description="demonstrations per input for separate_icl (paper 1: 5 LR, 20 DT)")
    explanations: str = Field("task", description="explanations of the training examples: `task` (the task's own), "
                              "`evidence` (or `evidence:sentiment`, `evidence:topic`: words found without a model), "
                              "or an annotations JSONL of `faithex annotate` (docs/explanations.md)")

    @field_validator("explanations")
    @classmethod
    def _known_explanations(cls, value: str) -> str:
        return check_explanation_source(value)

    @property
    def key(self) -> str:
        return self.id or self.name


class RegimeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    id: str | None = Field(None, description="name of this regime in the run (default: `name`); must be unique")
    starts_from: str | None = Field(
        None, description="continue training the adapter of another regime id of this experiment (same task and "
                          "seed), or of an adapter folder; default: the regime's own `starts_from`, else a fresh one")
    protocols: list[str] | None = Field(None, description="protocols asking this regime (default: the experiment's)")
    params: dict[str, Any] = Field(default_factory=dict, description="the regime's own settings "
                                   "(`Regime.parameters()`; e.g. pseudo_faithful's words_tried, criterion)")
    train_on: list[str] | None = Field(
        None, min_length=1, description="task ids whose training data, concatenated, train ONE adapter per seed "
                                        "(adapters/_shared/<regime>/s<seed>), asked on every task of the "
                                        "experiment; default: each task trains its own")
    train: dict[str, Any] = Field(
        default_factory=dict, description="training settings of this regime's adapters that differ from the "
                                          "experiment's `train:` (e.g. `{epochs: 6}` for a classifier that needs "
                                          "longer); the keys of TrainConfig")

    @field_validator("train")
    @classmethod
    def _checked_train(cls, values: dict[str, Any]) -> dict[str, Any]:
        if "seed" in values:
            raise ValueError("`seed` is the experiment's (`seed`, `seeds`): every regime trains once per seed")
        return checked_train(values)

    @property
    def key(self) -> str:
        return self.id or self.name

    @property
    def shared(self) -> bool:
        """Whether one training serves every task (`train_on`)."""
        return self.train_on is not None

    def regime(self):
        """The registered regime with this entry's `params` applied."""
        return get_regime(self.name).configured(**self.params)


class InferenceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_size: int = Field(32, gt=0)
    precision: Literal["auto", "bf16", "fp32"] = "auto"


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    model: str = "default"
    seed: int = 0
    seeds: list[int] | None = Field(None, min_length=1)
    system_prompt: str | None = ""
    tasks: list[TaskSpec] = Field(min_length=1)
    regimes: list[str | RegimeSpec] | None = None
    configurations: list[str] | None = None
    protocols: list[str] | None = None
    train: dict[str, Any] = Field(default_factory=dict)
    inference: InferenceSpec = Field(default_factory=InferenceSpec)
    battery: dict[str, bool | list[str]] = Field(
        default_factory=dict, description="the causal faithfulness tests, each on, off or the protocols to use "
        "(`faithex.protocols.battery`): interventions on by default, cc_shap and eraser off")
    claims: list[ClaimSpec] = Field(default_factory=list, description="claims of the experiment's own, or the "
                                    "papers' claims bound to its cells (docs/claims.md); the registered claims are "
                                    "tested wherever the cells allow either way")

    @model_validator(mode="after")
    def _regimes_from_configurations(self) -> "Experiment":
        if self.regimes is not None and self.configurations is not None:
            raise ValueError("give `regimes` or its older name `configurations`, not both")
        if self.regimes is None:
            self.regimes = list(self.configurations or CONFIGURATIONS)
            self.configurations = None
        return self

    @model_validator(mode="after")
    def _claims_name_this_experiments_regimes(self) -> "Experiment":
        """Every claim builds (a new one has its statement and metric) and names regimes of this experiment, so a
        typo fails before training rather than leaving the claim without a verdict at the end."""
        known = {name for spec in self.regime_specs() for name in (spec.key, spec.name)}
        for spec in self.claims:
            spec.claim()
            sides = [spec.treatment] + ([spec.baseline] if spec.baseline else [])
            missing = [side.regime for side in sides if side.regime not in known]
            if missing:
                raise ValueError(f"claim '{spec.id}' names regime '{missing[0]}', which this experiment does not "
                                 f"have (its regimes: {', '.join(sorted(known))})")
        return self

    @field_validator("train")
    @classmethod
    def _checked_train(cls, values: dict[str, Any]) -> dict[str, Any]:
        return checked_train(values)

    @field_validator("battery")
    @classmethod
    def _checked_battery(cls, values: dict[str, bool | list[str]]) -> dict[str, bool | list[str]]:
        return check_battery(values)

    # -- resolved views ----------------------------------------------------------------------------------------
    def regime_specs(self) -> list[RegimeSpec]:
        return [RegimeSpec(name=r) if isinstance(r, str) else r for r in self.regimes or []]

    def training_seeds(self) -> list[int]:
        return list(self.seeds or [self.seed])

    def train_config(self, seed: int | None = None, spec: RegimeSpec | None = None) -> TrainConfig:
        """The experiment's `train:`, with the regime entry's own `train:` over it where given."""
        own = spec.train if spec is not None else {}
        return TrainConfig(**{"seed": self.seed if seed is None else seed, **self.train, **own})

    def protocols_for(self, spec: RegimeSpec) -> list[str]:
        """The regime's protocols (its entry's, else the experiment's, else its own), then the battery's tests that
        can ask it."""
        regime = spec.regime()
        own = list(spec.protocols or self.protocols or [regime.default_protocol])
        return own + [name for name in battery_protocols(regime, self.battery) if name not in own]


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder, not an experiment file")
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        # The line where the construct starts ("while parsing a flow sequence"), else where parsing stopped.
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = ", ".join(filter(None, (getattr(error, "context", None), getattr(error, "problem", None))))
        raise ConfigError(f"{where}: not valid YAML ({problem or str(error).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return parse_experiment(data, source=str(path))


def parse_experiment(data: dict[str, Any], source: str = "experiment") -> Experiment:
    """Validate `data` into an Experiment: schema, names in every registry, task parameters, ids, combinations."""
    try:
        experiment = Experiment(**data)
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(_first_error(error))}") from None
    try:
        check_names(experiment)
    except FaithexError as error:
        raise ConfigError(f"{source}: {error}") from None
    return experiment


#: TrainConfig (a plain dataclass) checked as pydantic checks the rest: types, Literal values, unknown keys.
_TRAIN_CONFIG = TypeAdapter(pydantic_dataclass(TrainConfig, config=ConfigDict(extra="forbid")))
#: Which schema an unknown key is in, by the first key of its place (the rest are top-level keys).
_SECTIONS = {"tasks": TaskSpec, "regimes": RegimeSpec, "inference": InferenceSpec}


def checked_train(values: dict[str, Any]) -> dict[str, Any]:
    """Keys, types and values of TrainConfig, checked when the experiment is read (a typo must not fail after the
    data is built)."""
    try:
        checked = _TRAIN_CONFIG.validate_python(values)
    except ValidationError as error:
        raise ValueError(_describe(error.errors()[0], list(TrainConfig.__dataclass_fields__))) from None
    return {key: getattr(checked, key) for key in values}


def _first_error(error: ValidationError) -> dict[str, Any]:
    """The error to report: a `str | RegimeSpec` entry fails as both; the deepest error is the mapping's own."""
    return max(error.errors(), key=lambda e: len(e["loc"]))


def _describe(error: dict[str, Any], accepted: list[str] | None = None) -> str:
    """One pydantic error as `tasks[0].n_test: Input should be ...`; an unknown key lists the accepted ones."""
    raw = error["loc"]  # after a list index, pydantic names the member of `str | RegimeSpec` it tried: drop it
    loc = [part for i, part in enumerate(raw)
           if not (i and isinstance(raw[i - 1], int) and part in ("str", "RegimeSpec"))]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        section = _SECTIONS.get(loc[0], Experiment) if len(loc) > 1 else Experiment
        known = accepted or list(section.model_fields)
        parent = where.rsplit(".", 1)[0] + ": " if "." in where else ""
        return f"{parent}unknown key '{loc[-1]}'; accepted: {', '.join(known)}"
    if error["type"] == "missing":
        return f"{where}: missing (required)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def check_names(experiment: Experiment) -> None:
    """Every task, regime and protocol exists, ids are unique, regime settings are the regime's own, protocols can
    ask their regimes, every `starts_from` names a regime listed before it or an adapter folder, and every
    `train_on` names tasks of the experiment."""
    for spec in experiment.tasks:
        get_task(spec.name, seed=experiment.seed, **spec.params)
    task_keys = [spec.key for spec in experiment.tasks]
    _unique("task", task_keys)
    if SHARED in task_keys:
        raise ConfigError(f"task id '{SHARED}' is reserved (the adapters of regimes with `train_on`); give another")
    specs = experiment.regime_specs()
    _unique("regime", [spec.key for spec in specs])
    earlier: dict[str, RegimeSpec] = {}
    for spec in specs:
        regime = spec.regime()
        for name in experiment.protocols_for(spec):
            if not get_protocol(name).supports(regime):
                raise ConfigError(f"protocol '{name}' cannot ask regime '{spec.key}' (it asks for "
                                  f"{', '.join(regime.kinds)}; its own protocol is '{regime.default_protocol}')")
        _check_train_on(spec, regime, task_keys)
        _check_start(spec, regime, earlier)
        earlier[spec.key] = spec


def _check_train_on(spec: RegimeSpec, regime, task_keys: list[str]) -> None:
    if spec.train_on is None:
        return
    if not regime.trains:
        raise ConfigError(f"regime '{spec.key}' trains nothing; `train_on` applies to regimes that train")
    unknown = [key for key in spec.train_on if key not in task_keys]
    if unknown:
        raise ConfigError(f"regime '{spec.key}': train_on names '{unknown[0]}', which is not a task id of this "
                          f"experiment ({', '.join(task_keys)})")
    repeated = sorted({key for key in spec.train_on if spec.train_on.count(key) > 1})
    if repeated:
        raise ConfigError(f"regime '{spec.key}': train_on names '{repeated[0]}' twice")


def _check_start(spec: RegimeSpec, regime, earlier: dict[str, RegimeSpec]) -> None:
    start = spec.starts_from or regime.starts_from
    if start is None:
        return
    if len(regime.adapters) != 1:
        raise ConfigError(f"regime '{spec.key}' trains {len(regime.adapters)} adapters; starts_from needs exactly one")
    if start not in earlier and not (Path(start) / "adapter_config.json").is_file():
        raise ConfigError(f"regime '{spec.key}' starts from '{start}', which is neither a regime listed before it "
                          "nor an adapter folder")
    if spec.shared and start in earlier and not earlier[start].shared:
        # One adapter trained on several tasks cannot start from one adapter per task: which one?
        raise ConfigError(f"regime '{spec.key}' trains one adapter on {', '.join(spec.train_on or [])} but starts "
                          f"from '{start}', which trains one per task; start it from a regime with `train_on` or "
                          "from an adapter folder")


def _unique(kind: str, keys: list[str]) -> None:
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"{kind} id '{repeated[0]}' is listed twice; give each entry its own `id`")
