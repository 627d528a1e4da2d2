"""The `Regime` interface: how labelled examples become training conversations, and how a trained model is asked.

A regime names the adapters it trains (none for a zero-shot baseline), the prompt for each kind of output it can be
asked for ("answer", "explanation", "reasoning"), the protocol that asks it by default, and optionally the regime
whose adapter it starts from (continual training). Regimes are registered instances: `REGIMES.get("joint")`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from faithex.errors import ConfigError
from faithex.registry import Registry
from faithex.tasks.base import Example, Task

Messages = list[dict[str, str]]
Record = dict[str, Any]


@dataclass(frozen=True)
class PromptOptions:
    """What shapes every conversation of a run besides the example itself."""

    system_prompt: str | None = ""
    """Every conversation starts with this system message (None: none). Chat templates such as SmolLM2's insert a
    default system prompt when there is none, in every training text: an empty one is 16 tokens shorter."""
    icl_shots: int = 0
    """Solved demonstrations before each input (paper 1's `separate_icl`)."""
    seed: int = 0
    demonstrations: tuple[Example, ...] = field(default=())
    """At test time: the demonstrations shown before each input (paper 1: the first training examples)."""


def system(options: PromptOptions) -> Messages:
    return [] if options.system_prompt is None else [{"role": "system", "content": options.system_prompt}]


def task_system(task: Task) -> Messages:
    """The task's own system message (`Task.system_text`): the `*_instructed` regimes use it instead of the run's."""
    return [{"role": "system", "content": task.system_text()}]


def classify_turns(task: Task, input_text: str, options: PromptOptions, instructed: bool = False) -> Messages:
    """[system] [user: input_text]: the prompt of every regime that answers the label (paper 2's `*_instructed`
    regimes put the task's own system message first)."""
    head = task_system(task) if instructed else system(options)
    return head + [user(input_text)]


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def record(prompt: Messages, completion: str | None) -> Record:
    """A TRL conversational prompt/completion record."""
    if not completion:
        raise ConfigError("a training example lacks its target text (a reasoning or an explanation; the `dataset` "
                          "task reads explanations from its `explanation_column`)")
    return {"prompt": prompt, "completion": [assistant(completion)]}


@dataclass
class ModelRecords:
    """What `Regime.model_records` builds: {adapter: records}, and a summary kept beside them in the run directory
    (paper 3: what was kept or dropped per example and style, and the yields)."""

    records: dict[str, list[Record]]
    summary: dict[str, Any] = field(default_factory=dict)


class Regime:
    """How examples become prompt/completion records and how the trained model is asked (see module docstring)."""

    name: str = ""
    description: str = ""
    adapters: tuple[str, ...] = ()
    """Adapters this regime trains; empty: the base model is asked as it is (zero-shot)."""
    kinds: tuple[str, ...] = ("answer",)
    """The outputs the trained model can be asked for."""
    default_protocol: str = "score"
    label_closing: str | None = None
    """What follows the label in the trained answer, scored with it by `score` (None: the end of the turn; paper 2's
    label-first regimes: the newline before their explanation)."""
    starts_from: str | None = None
    """A regime whose trained adapter this one continues training (None: a fresh LoRA adapter)."""
    tunable: ClassVar[tuple[str, ...]] = ()
    """Fields of a frozen dataclass regime that an experiment may set with `params:` (`parameters`, `configured`)."""
    needs_model: bool = False
    """Whether the training records are built with the starting model (`model_records`, paper 3's pseudo-faithful
    explanations); `records` then gives the part that needs no model, which `faithex validate` checks."""
    answers_unknown: bool = False
    """Whether the training targets hold "unknown" as an answer: Madsen's attribution and redaction checks pass only
    on it, so for a trained regime without it they cannot pass by construction (`faithex.claims.guards`)."""

    @property
    def trains(self) -> bool:
        return bool(self.adapters)

    @property
    def shows_demonstrations(self) -> bool:
        """Whether solved training examples are shown before each test input (in-context demonstrations)."""
        return False

    def unsupported(self, task: Task) -> str | None:
        """Why this regime has no cell for `task` (skipped with that message), or None."""
        return None

    def records(self, task: Task, examples: list[Example], options: PromptOptions) -> dict[str, list[Record]]:
        """{adapter name: [prompt/completion records]} for training."""
        raise NotImplementedError

    def model_records(self, model, tokenizer, task: Task, examples: list[Example], options: PromptOptions,
                      batch_size: int = 8, precision: str = "fp32",
                      on_batch: Callable[[int], None] | None = None) -> ModelRecords:
        """Training records built with `model` (the base model, or base + the adapter this regime starts from),
        for regimes with `needs_model`. `on_batch(n)` is called after each n examples."""
        raise NotImplementedError

    def input_text(self, task: Task, example: Example, options: PromptOptions) -> str:
        """The user turn that presents `example` (the task's instruction and input)."""
        return task.user_text(example)

    def prompt(
        self, kind: str, task: Task, example: Example, options: PromptOptions, reasoning: str | None = None
    ) -> Messages:
        """The conversation that asks for `kind` ("answer", "explanation", "reasoning"); ends with a user turn."""
        raise NotImplementedError

    def adapter_for(self, kind: str) -> str | None:
        """Which adapter answers `kind` (None: the base model)."""
        return self.adapters[0] if self.adapters else None

    def parameters(self) -> dict[str, Any]:
        """The settings an experiment may change (a regime entry's `params:`), with their values here. None by
        default; a frozen dataclass regime names its tunable fields in `tunable`."""
        return {name: getattr(self, name) for name in self.tunable}

    def configured(self, **params: Any) -> "Regime":
        """This regime with `params` applied (no params: the registered regime itself, unchanged). An unknown
        setting is a ConfigError that lists the accepted ones."""
        if not params:
            return self
        accepted = self.parameters()
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            listed = ", ".join(accepted) if accepted else "none (this regime has no settings)"
            raise ConfigError(f"regime '{self.name}' has no setting '{unknown[0]}'; accepted: {listed}")
        try:
            return self.with_parameters(params)
        except ConfigError as error:  # a bad value: say whose
            raise ConfigError(f"regime '{self.name}': {error}") from None

    def with_parameters(self, params: dict[str, Any]) -> "Regime":
        """A copy with `params` (already checked against `parameters()`) applied: `dataclasses.replace` for the
        frozen dataclass regimes; regimes that keep their settings elsewhere override this."""
        return dataclasses.replace(self, **params)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "adapters": list(self.adapters), "kinds": list(self.kinds),
                "default_protocol": self.default_protocol, "starts_from": self.starts_from}


REGIMES: Registry[Regime] = Registry("regime")


def register_regime(regime: Regime) -> Regime:
    return REGIMES.add(regime.name, regime)


def get_regime(name: str) -> Regime:
    return REGIMES.get(name)
