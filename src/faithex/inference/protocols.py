"""Protocols: how a trained configuration is asked, and what is recorded for each test example.

- `direct`: answer and explanation requested from the input alone (configurations without reasoning).
- `two_step` (paper 1): generate the reasoning first, then request answer and explanation independently, each from
  input + the *generated* reasoning; the two requests share that prefix, which is prefilled once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faithex.inference.generation import generate, generate_branches, render
from faithex.regimes.reasoning_grounded import Configuration, adapter_for, icl_input, request
from faithex.tasks.base import Example, Task

KINDS = ("answer", "explanation")


def _input_text(config: Configuration, task: Task, example: Example, demonstrations: list[Example]) -> str:
    return icl_input(example, demonstrations, task) if config.icl else example.input


def run_configuration(
    model,
    tokenizer,
    config: Configuration,
    task: Task,
    examples: list[Example],
    max_new_tokens: dict[str, int],
    system_prompt: str | None = "",
    demonstrations: list[Example] | None = None,
    batch_size: int = 32,
    precision: str = "fp32",
    on_batch: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """One sample dict per example (see `make_sample`). `model` holds the configuration's adapter(s) by name."""
    inputs = [_input_text(config, task, ex, demonstrations or []) for ex in examples]
    reasoning: list[str | None] = [None] * len(examples)
    options = dict(batch_size=batch_size, precision=precision, on_batch=on_batch)
    if config.reasoning:
        _activate(model, adapter_for(config, "reasoning"))
        prompts = [render(tokenizer, request(config, "reasoning", t, system_prompt)) for t in inputs]
        reasoning = generate(model, tokenizer, prompts, max_new_tokens["reasoning"], **options)
    branches = {
        kind: [render(tokenizer, request(config, kind, t, system_prompt, r)) for t, r in zip(inputs, reasoning)]
        for kind in KINDS
    }
    if len(config.adapters) == 1:
        _activate(model, config.adapters[0])
        texts = generate_branches(model, tokenizer, branches, max_new_tokens, **options)
    else:
        texts = {}
        for kind in KINDS:
            _activate(model, adapter_for(config, kind))
            texts[kind] = generate(model, tokenizer, branches[kind], max_new_tokens[kind], **options)
    return [
        make_sample(task, config, ex, reasoning[i], texts["answer"][i], texts["explanation"][i])
        for i, ex in enumerate(examples)
    ]


def _activate(model, adapter: str) -> None:
    if hasattr(model, "set_adapter") and adapter in getattr(model, "peft_config", {}):
        model.set_adapter(adapter)


def make_sample(
    task: Task, config: Configuration, example: Example, reasoning: str | None, answer: str, explanation: str
) -> dict[str, Any]:
    """The record written to samples/*.jsonl: raw outputs, what the parsers read from them, and the gold data."""
    parsed_reasoning = task.parse_reasoning(reasoning) if reasoning is not None else None
    parsed = {
        "answer": task.parse_answer(answer),
        "explanation": task.parse_explanation(explanation),
        "reasoning": parsed_reasoning,
    }
    return {
        "id": example.id,
        "task": task.name,
        "config": config.name,
        "protocol": config.protocol,
        "input": example.input,
        "gold": example.label,
        "gold_reasoning": task.parse_reasoning(example.reasoning) if example.reasoning else None,
        "outputs": {"reasoning": reasoning, "answer": answer, "explanation": explanation},
        "parsed": parsed,
        "parse_failed": [k for k, v in parsed.items() if v is None and (k != "reasoning" or reasoning is not None)],
    }
