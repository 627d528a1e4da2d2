"""Paper 1's four training configurations (arXiv 2503.11248, C1 `build_finetuning_dataset`).

Conversations, with R the compressed reasoning, D the decision text and E the explanation:

    reasoning:    [user: INPUT]                                  -> [assistant: R]
    answer:       [user: INPUT] ([assistant: R]) [user: ANSWER]  -> [assistant: D]
    explanation:  [user: INPUT] ([assistant: R]) [user: EXPLAIN] -> [assistant: E]

- `separate`: two adapters, one trained on [user: INPUT] -> D, one on [user: INPUT] -> E.
- `separate_icl`: the same, with k solved demonstrations of a *freshly drawn* classifier before each training input
  (meta-learning, as C1); at test time the demonstrations come from the target classifier's training split.
- `joint`: one adapter on answer and explanation instances, without the reasoning turn (two user turns in a row).
- `joint_reasoning`: one adapter on reasoning, answer and explanation instances (3 texts per example, as C1).

Every conversation starts with a system message (`system_prompt`, empty by default): without one, chat templates
such as SmolLM2's insert a default system prompt into every training text (SmolLM2's: 16 tokens more than an empty one).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from faithex.tasks.base import Example, Task

ANSWER_COMMAND = "ANSWER"
EXPLAIN_COMMAND = "EXPLAIN"


class UnknownConfigurationError(ValueError):
    pass


@dataclass(frozen=True)
class Configuration:
    """One row of paper 1's table: which adapters are trained and how they are asked."""

    name: str
    adapters: tuple[str, ...]
    """Adapter names; the answer and explanation requests go to adapters[0] and adapters[-1]."""
    joint: bool
    reasoning: bool
    icl: bool
    description: str

    @property
    def protocol(self) -> str:
        return "two_step" if self.reasoning else "direct"


CONFIGURATIONS: dict[str, Configuration] = {
    c.name: c
    for c in [
        Configuration("separate", ("answer", "explanation"), False, False, False, "two adapters, one per output"),
        Configuration(
            "separate_icl", ("answer", "explanation"), False, False, True, "two adapters, in-context examples"
        ),
        Configuration("joint", ("joint",), True, False, False, "one adapter, ANSWER/EXPLAIN instances"),
        Configuration("joint_reasoning", ("joint",), True, True, False, "one adapter, reasoning turn first"),
    ]
}


def get_configuration(name: str) -> Configuration:
    if name not in CONFIGURATIONS:
        close = difflib.get_close_matches(name, CONFIGURATIONS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UnknownConfigurationError(
            f"unknown configuration '{name}'{hint} (known: {', '.join(CONFIGURATIONS)})"
        )
    return CONFIGURATIONS[name]


# -- messages -------------------------------------------------------------------------------------------------------
def _system(system_prompt: str | None) -> list[dict[str, str]]:
    return [] if system_prompt is None else [{"role": "system", "content": system_prompt}]


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def icl_input(example: Example, demonstrations: list[Example], task: Task) -> str:
    """C1 `FinetunedICLProblem`: k solved demonstrations, then the input."""
    shots = "".join(
        f"{d.input}\nANSWER: {task.answer_text(d.label)}\nEXPLANATION: {d.explanation}\n\n"
        for d in demonstrations
    )
    return shots + example.input


def input_prefix(input_text: str, system_prompt: str | None, reasoning: str | None = None) -> list[dict[str, str]]:
    """The conversation up to the command turn: system, input and, with reasoning, the model's reasoning turn."""
    messages = _system(system_prompt) + [user(input_text)]
    return messages + ([assistant(reasoning)] if reasoning is not None else [])


def request(
    config: Configuration, kind: str, input_text: str, system_prompt: str | None, reasoning: str | None = None
) -> list[dict[str, str]]:
    """The prompt for `kind` in {"reasoning", "answer", "explanation"} under `config` (training and inference)."""
    if kind == "reasoning":
        return input_prefix(input_text, system_prompt)
    messages = input_prefix(input_text, system_prompt, reasoning if config.reasoning else None)
    if config.joint:
        messages.append(user(ANSWER_COMMAND if kind == "answer" else EXPLAIN_COMMAND))
    return messages


def adapter_for(config: Configuration, kind: str) -> str:
    return config.adapters[-1] if kind == "explanation" else config.adapters[0]


# -- training data --------------------------------------------------------------------------------------------------
def training_records(
    config: Configuration,
    task: Task,
    examples: list[Example],
    system_prompt: str | None = "",
    icl_shots: int = 0,
    seed: int = 0,
) -> dict[str, list[dict[str, Any]]]:
    """Prompt/completion conversations per adapter: {adapter name: [{"prompt": [...], "completion": [...]}]}."""
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in config.adapters}
    task_for_text = task
    for index, example in enumerate(examples):
        input_text = example.input
        if config.icl:  # meta-learning: the example is replaced by a query of a freshly drawn classifier
            input_text, example, task_for_text = _meta_learning_instance(task, icl_shots, seed, index)
        targets = {"answer": task_for_text.answer_text(example.label), "explanation": example.explanation}
        if config.reasoning:
            records[config.adapters[0]].append(_record(request(config, "reasoning", input_text, system_prompt),
                                                       example.reasoning))
        for kind, target in targets.items():
            prompt = request(config, kind, input_text, system_prompt, example.reasoning)
            records[adapter_for(config, kind)].append(_record(prompt, target))
    return records


def _record(prompt: list[dict[str, str]], completion: str | None) -> dict[str, Any]:
    if not completion:
        raise ValueError("a training example lacks its target text (reasoning or explanation)")
    return {"prompt": prompt, "completion": [assistant(completion)]}


def _meta_learning_instance(task: Task, shots: int, seed: int, index: int) -> tuple[str, Example, Task]:
    """A new random classifier for every training example: its k demonstrations and one query of its own."""
    if not task.supports_icl:
        raise ValueError(f"task '{task.name}' has no in-context configuration (paper 1 defines none for it)")
    other = task.fresh(seed=(seed * 1_000_003 + index + 1) % (2**31))
    drawn = other.examples(shots + 1, split="icl")
    return icl_input(drawn[-1], drawn[:-1], other), drawn[-1], other
