"""`attribute(model, tokenizer, task, examples, ...)` and the `load_attributor(...)` convenience (inseq's shape:
load once, then `.attribute(...)` returning an `AttributionResult`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faithex.attribution.inputs import PromptFor, check_target, prepare, regime_prompt
from faithex.attribution.result import AttributionResult, WordAttribution
from faithex.errors import ConfigError, ModelNotFoundError
from faithex.regimes.base import PromptOptions, Regime, get_regime
from faithex.tasks.base import Example, Task

DEFAULT_REGIME = "zero_shot"


def attribute(
    model,
    tokenizer,
    task: Task | str,
    examples: Sequence[Example | str],
    method: str = "input_x_gradient",
    target: str = "predicted",
    contrast: str | None = None,
    prompt: Regime | str | PromptFor | None = None,
    options: PromptOptions | None = None,
    batch_size: int = 8,
    precision: str = "fp32",
    on_batch: Callable[[int], None] | None = None,
    **method_options: Any,
) -> AttributionResult:
    """Score every word of each example's input for the model's answer.

    `task`: a Task or its name. `examples`: Examples, or plain texts (then without gold labels).
    `method`: see `faithex.attribution.METHODS` (`input_x_gradient`, `integrated_gradients`, `feature_ablation`,
    `leave_one_out`); its options as keyword arguments (`n_steps=`, `baseline=` for integrated gradients).
    `target`: "predicted" (the best-scoring label), "gold", or a label name; `contrast="runner_up"` explains
    log p(target) - log p(best other label). `prompt`: a regime (or its name; default zero_shot) whose "answer"
    prompt is attributed, or a function example -> chat messages. `batch_size`: examples per batch. `on_batch(n)`
    is called after each batch of n examples. On a PEFT model the regime's answer adapter is activated."""
    from faithex.attribution.methods import METHODS, MethodContext
    from faithex.lm.scoring import end_of_turn
    from faithex.tasks import get_task

    chosen = METHODS.get(method)
    resolved_options = chosen.resolve_options(method_options)
    task = get_task(task) if isinstance(task, str) else task
    check_target(task, target, contrast)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, not {batch_size!r}")
    examples = as_examples(task, examples)
    regime = get_regime(prompt if prompt is not None else DEFAULT_REGIME) if isinstance(prompt, (str, type(None))) \
        else prompt
    options = options or PromptOptions()
    prompt_for = regime_prompt(regime, task, options) if isinstance(regime, Regime) else regime
    if not callable(prompt_for):
        raise ConfigError(f"prompt must be a regime, a regime name or a function of the example, not {prompt!r}")
    closing = getattr(regime, "label_closing", None) or end_of_turn(tokenizer)[0]
    if isinstance(regime, Regime):
        activate_answer_adapter(model, regime)
    model.eval()  # dropout (LoRA's included) would make gradients and scores random
    context = MethodContext([task.answer_text(label) for label in task.labels], closing, precision, resolved_options)

    started = time.perf_counter()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].input))  # similar lengths share a batch
    attributions: dict[int, WordAttribution] = {}
    for begin in range(0, len(order), batch_size):
        batch = order[begin:begin + batch_size]
        items = prepare(model, tokenizer, task, [examples[i] for i in batch], prompt_for, target, contrast, closing,
                        batch_size, precision)
        for i, item, scores in zip(batch, items, chosen.function(model, tokenizer, items, context)):
            attributions[i] = word_attribution(task, item, scores, method, context.label_texts)
        if on_batch:
            on_batch(len(batch))
    seconds = time.perf_counter() - started
    meta = {"method": method, "options": resolved_options, "target": target, "contrast": contrast,
            "task": task.name, "prompt": regime.name if isinstance(regime, Regime) else "custom",
            "precision": precision, "batch_size": batch_size, "examples": len(examples),
            "seconds": round(seconds, 3), "seconds_per_example": round(seconds / len(examples), 4)}
    return AttributionResult([attributions[i] for i in range(len(examples))], meta)


def as_examples(task: Task, examples: Sequence[Example | str]) -> list[Example]:
    if isinstance(examples, (str, Example)):
        examples = [examples]
    if not examples:
        raise ConfigError("no examples to attribute")
    result = []
    for index, example in enumerate(examples):
        if isinstance(example, str):
            example = Example(id=f"text-{index}", input=example, label=None, labels=list(task.labels))
        elif not isinstance(example, Example):
            raise ConfigError(f"examples must be faithex Examples or texts, not {type(example).__name__}")
        result.append(example)
    return result


def activate_answer_adapter(model, regime: Regime) -> None:
    """Route the answer through the regime's adapter for it, where the model holds it under that name."""
    adapter = regime.adapter_for("answer")
    if adapter is not None and adapter in getattr(model, "peft_config", {}):
        model.set_adapter(adapter)


def word_attribution(task: Task, item, scores: list[float], method: str, names: list[str]) -> WordAttribution:
    example = item.example
    predicted = max(range(len(names)), key=lambda j: item.label_scores[j])
    gold = names[list(task.labels).index(example.label)] if example.label in task.labels else None
    return WordAttribution(
        id=example.id, text=example.input, words=item.words.words, spans=list(item.words.spans),
        scores=[float(s) for s in scores], method=method, target=names[item.target],
        target_score=float(item.target_score),
        contrast=names[item.contrast] if item.contrast is not None else None,
        predicted=names[predicted], gold=gold,
        label_scores={name: float(s) for name, s in zip(names, item.label_scores)},
    )


# -- load once, attribute many times --------------------------------------------------------------------------------
@dataclass
class Attributor:
    """A model ready to be attributed, with the prompt it is asked with (`load_attributor` builds one)."""

    model: Any
    tokenizer: Any
    regime: Regime
    options: PromptOptions = field(default_factory=PromptOptions)
    task: Task | None = None
    """The task of the trained classifier, when loaded from a run directory."""
    source: str | None = None
    adapter: str | None = None
    """The adapter folder or run directory it was loaded with (recorded in the results)."""

    def attribute(self, examples: Sequence[Example | str], task: Task | str | None = None,
                  method: str = "input_x_gradient", **kwargs: Any) -> AttributionResult:
        """`attribute(...)` with this model and prompt; `task` defaults to the classifier's own."""
        task = task if task is not None else self.task
        if task is None:
            raise ConfigError("name the task: this attributor was not loaded from a run directory")
        result = attribute(self.model, self.tokenizer, task, examples, method=method, prompt=self.regime,
                           options=self.options, **kwargs)
        result.meta["model"] = self.source
        result.meta["adapter"] = self.adapter
        return result


def load_attributor(model: str | None = "default", adapter: str | Path | None = None, regime: str | None = None,
                    task: str | None = None, seed: int | None = None, device: str | None = None) -> Attributor:
    """Load a model to attribute: the base `model` (HF id, folder, .gguf; default SmolLM2-135M-Instruct), optionally
    with `adapter`: a PEFT adapter folder, or a faithex run directory / trained adapter folder (then the run's model,
    regime, task and system prompt are used; `task`, `regime` and `seed` pick one when it holds several)."""
    from faithex.lm.models import load_model

    if adapter is not None and is_trained_classifier(Path(adapter)):
        return _from_run(Path(adapter), task, regime, seed)
    if adapter is not None and not (Path(adapter) / "adapter_config.json").is_file():
        raise ModelNotFoundError(f"{adapter} is neither a PEFT adapter folder (adapter_config.json), a trained "
                                 "adapter folder nor a faithex run directory")
    chosen = get_regime(regime or DEFAULT_REGIME)
    loaded = load_model(model, adapter=adapter, device=device)
    return Attributor(loaded.model, loaded.tokenizer, chosen, source=loaded.source,
                      adapter=str(adapter) if adapter is not None else None)


def is_trained_classifier(path: Path) -> bool:
    from faithex.runner.rundir import CELL_FILE

    return (path / "config.yaml").is_file() or any((folder / CELL_FILE).is_file() for folder in (path, path.parent))


def _from_run(path: Path, task: str | None, regime: str | None, seed: int | None) -> Attributor:
    from faithex.lm.models import resolve_model
    from faithex.predict import find_classifier
    from faithex.runner.run import load_cell_model

    classifier = find_classifier(path, task, regime, seed)
    source = resolve_model(classifier.description["model"])
    model, tokenizer = load_cell_model(source, classifier.folder or Path(), classifier.regime)
    options = PromptOptions(system_prompt=classifier.description.get("system_prompt", ""))
    return Attributor(model, tokenizer, classifier.regime, options, classifier.task(), source, str(path))
