"""The `Protocol` interface: how a trained model is asked over test examples, and what is recorded per example.

A protocol yields samples batch by batch, so the runner can append and flush them as they come (a killed
evaluation resumes where it stopped). Protocols ask a regime for its prompts (`regime.prompt(kind, ...)`) and never
import a particular regime module. Protocols are registered instances: `PROTOCOLS.get("score")`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from faithex.regimes.base import PromptOptions, Regime
from faithex.registry import Registry
from faithex.tasks.base import Example, Task

Sample = dict[str, Any]


@dataclass
class ProtocolContext:
    """Everything a protocol needs besides the test examples."""

    model: Any
    """The base model, or a PeftModel holding the regime's adapters under their names."""
    tokenizer: Any
    regime: Regime
    task: Task
    options: PromptOptions = field(default_factory=PromptOptions)
    train: Sequence[Example] = ()
    """Training examples: output budgets (max new tokens) are sized from their targets."""
    batch_size: int = 32
    precision: str = "fp32"
    on_batch: Callable[[int], None] | None = None

    def activate(self, kind: str) -> None:
        """Route requests for `kind` to the regime's adapter for it (no-op on a plain base model)."""
        adapter = self.regime.adapter_for(kind)
        if adapter is not None and adapter in getattr(self.model, "peft_config", {}):
            self.model.set_adapter(adapter)


class Protocol:
    name: str = ""
    description: str = ""

    def supports(self, regime: Regime) -> bool:
        """Whether this protocol can ask `regime` (e.g. two_step needs a reasoning turn)."""
        raise NotImplementedError

    def steps(self, regime: Regime) -> int:
        """Passes over the test set (for the progress bar's total)."""
        return 1

    def run(self, ctx: ProtocolContext, examples: Sequence[Example]) -> Iterator[list[Sample]]:
        """Samples for `examples`, one list per batch, in an order of the protocol's choosing."""
        raise NotImplementedError


PROTOCOLS: Registry[Protocol] = Registry("protocol")


def register_protocol(protocol: Protocol) -> Protocol:
    return PROTOCOLS.add(protocol.name, protocol)


def get_protocol(name: str) -> Protocol:
    return PROTOCOLS.get(name)


def sample_record(ctx: ProtocolContext, protocol: str, example: Example, prompts: dict[str, str],
                  outputs: dict[str, str | None], parsed: dict[str, Any], **extra: Any) -> Sample:
    """The record written to samples/*.jsonl: the prompts sent, raw outputs, what the parsers read, the gold data.

    `parse_failed` lists the outputs that were produced but could not be read."""
    return {
        "id": example.id,
        "regime": ctx.regime.name,
        "protocol": protocol,
        "input": example.input,
        "prompts": prompts,
        "gold": example.label,
        "gold_name": ctx.task.answer_text(example.label) if example.label is not None else None,
        "gold_reasoning": ctx.task.parse_reasoning(example.reasoning) if example.reasoning else None,
        "outputs": outputs,
        "parsed": parsed,
        "parse_failed": [k for k, v in parsed.items() if v is None and outputs.get(k) is not None],
        **({"scale": list(ctx.task.scale)} if ctx.task.scale is not None else {}),
        **extra,
    }


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices sorted longest first (stable), in batches: rows of one batch have similar lengths, so little padding."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i: i + batch_size] for i in range(0, len(order), batch_size)]


def decode_prompt(tokenizer, ids: Sequence[int]) -> str:
    """The prompt text exactly as sent, special tokens included (so in-context demonstrations and the chat
    template are visible in the samples)."""
    return tokenizer.decode(list(ids), skip_special_tokens=False)


def token_budget(tokenizer, texts: Sequence[str], slack: float = 1.5) -> int:
    """max_new_tokens for a kind of output: the longest training target, with slack, so runaways stop early."""
    longest = max((len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts), default=0)
    return int(longest * slack) + 8
