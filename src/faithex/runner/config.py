"""The experiment schema: a YAML file naming tasks x regimes x protocols x seeds, validated into typed configs.

    name: text-baseline
    model: default                 # HF id, local folder or .gguf
    seed: 0                        # data seed: the classifiers of paper 1, the splits of text tasks
    seeds: [0, 1, 2]               # training seeds (default: [seed]); each gives its own cells
    tasks:
      - {name: tweet_sentiment, n_train: 600, n_test: 200}
      - {name: decision_tree, id: dt-deep, params: {comparisons: 3}}     # `id` tells apart a task listed twice
    regimes: [zero_shot, label_only, {name: label_only, id: label_more, starts_from: label_only}]
    protocols: [score, generate]   # default: each regime's own protocol
    train: {epochs: 1, learning_rate: 1.0e-3}
    inference: {batch_size: 32, precision: auto}

`configurations:` (paper 1's word for its regimes) is still read as `regimes:`. Every name is checked against its
registry here, so a typo fails before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from faithex.errors import ConfigError, FaithexError
from faithex.protocols import get_protocol
from faithex.regimes import CONFIGURATIONS, get_regime
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

    @property
    def key(self) -> str:
        return self.id or self.name


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

    @model_validator(mode="after")
    def _regimes_from_configurations(self) -> "Experiment":
        if self.regimes is not None and self.configurations is not None:
            raise ValueError("give `regimes` or its older name `configurations`, not both")
        if self.regimes is None:
            self.regimes = list(self.configurations or CONFIGURATIONS)
            self.configurations = None
        return self

    @field_validator("train")
    @classmethod
    def _known_train_keys(cls, values: dict[str, Any]) -> dict[str, Any]:
        try:
            TrainConfig(**values)
        except TypeError as error:  # an unknown key
            raise ValueError(str(error).replace("TrainConfig.__init__()", "train")) from None
        return values

    # -- resolved views ----------------------------------------------------------------------------------------
    def regime_specs(self) -> list[RegimeSpec]:
        return [RegimeSpec(name=r) if isinstance(r, str) else r for r in self.regimes or []]

    def training_seeds(self) -> list[int]:
        return list(self.seeds or [self.seed])

    def train_config(self, seed: int | None = None) -> TrainConfig:
        return TrainConfig(**{"seed": self.seed if seed is None else seed, **self.train})

    def protocols_for(self, spec: RegimeSpec) -> list[str]:
        regime = get_regime(spec.name)
        return list(spec.protocols or self.protocols or [regime.default_protocol])


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
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
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{source}: {where}: {first['msg'].removeprefix('Value error, ')}") from None
    try:
        check_names(experiment)
    except FaithexError as error:
        raise ConfigError(f"{source}: {error}") from None
    return experiment


def check_names(experiment: Experiment) -> None:
    """Every task, regime and protocol exists, ids are unique, protocols can ask their regimes, and every
    `starts_from` names a regime listed before it or an adapter folder."""
    for spec in experiment.tasks:
        get_task(spec.name, seed=experiment.seed, **spec.params)
    _unique("task", [spec.key for spec in experiment.tasks])
    specs = experiment.regime_specs()
    _unique("regime", [spec.key for spec in specs])
    seen: set[str] = set()
    for spec in specs:
        regime = get_regime(spec.name)
        for name in experiment.protocols_for(spec):
            if not get_protocol(name).supports(regime):
                raise ConfigError(f"protocol '{name}' cannot ask regime '{spec.key}' (it asks for "
                                  f"{', '.join(regime.kinds)}; its own protocol is '{regime.default_protocol}')")
        _check_start(spec, regime, seen)
        seen.add(spec.key)


def _check_start(spec: RegimeSpec, regime, earlier: set[str]) -> None:
    start = spec.starts_from or regime.starts_from
    if start is None:
        return
    if len(regime.adapters) != 1:
        raise ConfigError(f"regime '{spec.key}' trains {len(regime.adapters)} adapters; starts_from needs exactly one")
    if start not in earlier and not (Path(start) / "adapter_config.json").is_file():
        raise ConfigError(f"regime '{spec.key}' starts from '{start}', which is neither a regime listed before it "
                          "nor an adapter folder")


def _unique(kind: str, keys: list[str]) -> None:
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"{kind} id '{repeated[0]}' is listed twice; give each entry its own `id`")
