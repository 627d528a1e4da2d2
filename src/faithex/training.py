"""LoRA fine-tuning with TRL's `SFTTrainer` on prompt/completion conversations.

Speed matters on a 2-core CPU, so the defaults avoid the usual waste: no gradient checkpointing (the model is small;
recomputation would cost a third more), batches grouped by length (little padding), bf16 only where the CPU has native
bf16, and the loss on completions only (TRL then projects only the completion positions through the 49k-word LM head).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .models import choose_precision, resolve_model

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every knob of one LoRA training run (defaults: paper 1, arXiv 2503.11248, except where noted)."""

    lora_r: int = 16
    """LoRA rank (paper 1: 16)."""
    lora_alpha: int = 16
    """LoRA scaling numerator (paper 1: 16)."""
    lora_dropout: float = 0.0
    """Dropout on the LoRA branch (paper 1: 0)."""
    target_modules: str | list[str] = "all-linear"
    """Which linear layers get adapters (paper 1: q,k,v,o,gate,up,down = all linear layers but the LM head)."""
    top_layers: int | None = None
    """Put adapters on the top N transformer layers only (None: all). Backpropagation then stops at the lowest
    adapted layer, which makes a CPU step up to twice as fast; a speed option of faithex, not of the paper."""
    epochs: float = 1.0
    """Passes over the training set (paper 1: 1)."""
    learning_rate: float = 5e-5
    """Peak learning rate, linear decay (paper 1: 5e-5)."""
    batch_size: int = 4
    """Examples per optimiser step (paper 1: 4)."""
    warmup_ratio: float = 0.05
    """Share of steps spent warming up (paper 1 uses 100 steps of 500; 0.05 scales to short runs)."""
    weight_decay: float = 0.01
    """AdamW weight decay (paper 1: 0.01)."""
    loss_on: Literal["completion", "all"] = "completion"
    """'completion': loss on the model's turns only (faster, the default); 'all': on the whole text, as paper 1."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """'auto' picks bf16 on GPUs and CPUs with native bf16 instructions, fp32 elsewhere."""
    group_by_length: bool = True
    """Batch texts of similar length together, so batches carry little padding."""
    max_steps: int = -1
    """Stop after this many optimiser steps (-1: run the epochs). For smoke tests."""
    seed: int = 0
    logging_steps: int = 10

    def __post_init__(self) -> None:
        if self.loss_on not in ("completion", "all"):
            raise ValueError(f"loss_on must be 'completion' or 'all', not {self.loss_on!r}")
        if self.lora_r <= 0 or self.batch_size <= 0 or self.epochs <= 0 or self.learning_rate <= 0:
            raise ValueError("lora_r, batch_size, epochs and learning_rate must be positive")


@dataclass
class TrainResult:
    adapter_dir: str
    steps: int
    seconds: float
    real_tokens: int
    tokens_per_second: float
    final_loss: float | None
    precision: str
    config: dict[str, Any] = field(default_factory=dict)


def linear_module_names(model) -> list[str]:
    """Leaf names of the model's linear layers but the output head ("q_proj", "up_proj", ...)."""
    import torch

    output_head = model.get_output_embeddings()
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module is not output_head
    }
    return sorted(names)


def lora_config(config: TrainConfig, model):
    from peft import LoraConfig

    layers, targets = None, config.target_modules
    if config.top_layers is not None:
            layers = list(range(max(0, num_layers - config.top_layers), num_layers))
        if targets == "all-linear":  # PEFT takes a layer range only with explicit module names
            targets = linear_module_names(model)
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        bias="none",
        target_modules=targets,
        layers_to_transform=layers,
        task_type="CAUSAL_LM",
    )


def sft_config(config: TrainConfig, output_dir: str | Path, precision: str):
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=1,
        learning_rate=config.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        gradient_checkpointing=False,
        bf16=precision == "bf16",
        fp16=False,
        use_cpu=not _cuda(),
        completion_only_loss=config.loss_on == "completion",
        max_length=None,
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="no",
        report_to="none",
        disable_tqdm=False,
        dataloader_num_workers=0,
        remove_unused_columns=True,
    )


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def to_dataset(records: list[dict[str, Any]]):
    """Conversational prompt/completion records -> a `datasets.Dataset` with only the two columns TRL reads."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in records])


def build_trainer(model_name: str | None, records: list[dict[str, Any]], config: TrainConfig, output_dir: str | Path):
    """An `SFTTrainer` ready to train a fresh LoRA adapter on `records` (also used by the loss-mask check)."""
    import torch
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    from .models import load_tokenizer

    precision = choose_precision(config.precision)
    source = resolve_model(model_name)
    tokenizer = load_tokenizer(model_name)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    trainer = SFTTrainer(
        model=model,
        args=sft_config(config, output_dir, precision),
        train_dataset=to_dataset(records),
        processing_class=tokenizer,
        peft_config=lora_config(config, model),
    )
    return trainer, precision


def train_adapter(
    model_name: str | None, records: list[dict[str, Any]], config: TrainConfig, adapter_dir: str | Path
) -> TrainResult:
    """Train one LoRA adapter and save it (safetensors) to `adapter_dir`, atomically."""
    if not records:
        raise ValueError("no training records")
    adapter_dir = Path(adapter_dir)
    staging = adapter_dir.with_name(adapter_dir.name + ".partial")
    trainer, precision = build_trainer(model_name, records, config, staging / "trainer")
    real_tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    start = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - start
    trainer.model.save_pretrained(str(staging), safe_serialization=True)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    epochs_done = trainer.state.epoch or config.epochs
    result = TrainResult(
        adapter_dir=str(adapter_dir),
        steps=output.global_step,
        seconds=round(seconds, 2),
        real_tokens=int(real_tokens * epochs_done),
        tokens_per_second=round(real_tokens * epochs_done / seconds, 1),
        final_loss=losses[-1] if losses else None,
        precision=precision,
        config=asdict(config),
    )
    (staging / "train_result.json").write_text(json.dumps(asdict(result), indent=2))
    _replace_dir(staging, adapter_dir)
    return result


def _replace_dir(src: Path, dst: Path) -> None:
    import shutil

    shutil.rmtree(src / "trainer", ignore_errors=True)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(src, dst)
