"""LoRA fine-tuning with TRL's `SFTTrainer` on prompt/completion conversations.

Speed matters on a 2-core CPU, so the defaults avoid the usual waste: no gradient checkpointing (the model is small
enough to keep its activations), batches grouped by length (little padding), bf16 only where the CPU has native bf16,
loss on completions only, and a trainer that projects only the labelled positions through the 49k-word LM head.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .models import choose_precision, load_base_model, load_tokenizer, resolve_model


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
    adapted layer (top 10 of 30: about 1.45x the tokens/s in benchmarks/cpu_speed.py); a faithex speed option."""
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
        num_layers = model.config.num_hidden_layers
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
        **_no_activation_checkpointing(SFTConfig),
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


def _no_activation_checkpointing(config_class) -> dict[str, bool]:
    # TRL defaults `gradient_checkpointing` to True, which newer transformers renamed `activation_checkpointing`
    # (warning on the old name). Set whichever this transformers version has.
    names = {f.name for f in fields(config_class)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": False}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def to_dataset(records: list[dict[str, Any]]):
    """Conversational prompt/completion records -> a `datasets.Dataset` with only the two columns TRL reads."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in records])


def _completion_loss(model, inputs):
    """Cross-entropy over the labelled positions only, projecting just those hidden states through the LM head.

    On a 2-core CPU this step was about 1.8x faster than TRL 1.16's fused head (which also computes entropy and top-1
    accuracy for its logs) and than the model's own loss (which builds logits for every position).
    """
    import torch.nn.functional as F

    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    labels = inputs["labels"]
    backbone_inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "position_ids")}
    hidden = causal_lm.base_model(**backbone_inputs, use_cache=False).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = causal_lm.get_output_embeddings()(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep])


def _fast_sft_trainer_class():
    from trl import SFTTrainer

    class FastSFTTrainer(SFTTrainer):
        """`SFTTrainer` whose loss skips the LM head on unlabelled positions and the per-step entropy logging."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if return_outputs or self.args.loss_type != "nll":
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            return _completion_loss(model, inputs)

    return FastSFTTrainer


def build_trainer(model_name: str | None, records: list[dict[str, Any]], config: TrainConfig, output_dir: str | Path):
    """An `SFTTrainer` ready to train a fresh LoRA adapter on `records` (also used by the loss-mask check)."""
    precision = choose_precision(config.precision)
    source = resolve_model(model_name)
    tokenizer = load_tokenizer(source)
    model = load_base_model(source)
    trainer = _fast_sft_trainer_class()(
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


def loss_mask_preview(trainer, count: int = 3) -> list[tuple[str, str]]:
    """Decode one collated batch: (whole text, the tokens that carry loss) per row, to prove where loss falls."""
    tokenizer = trainer.processing_class
    rows = [trainer.train_dataset[i] for i in range(min(count, len(trainer.train_dataset)))]
    batch = trainer.data_collator(rows)
    preview = []
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        preview.append((tokenizer.decode(ids[mask.bool()]), tokenizer.decode(ids[labels != -100])))
    return preview
