"""Training: LoRA fine-tuning with TRL's `SFTTrainer` (checkpoints, resume, continual training from an adapter)."""

from faithex.training.lora import (
    TrainConfig,
    TrainResult,
    build_trainer,
    loss_mask_preview,
    lora_config,
    sft_config,
    train_adapter,
)

__all__ = [
    "TrainConfig",
    "TrainResult",
    "build_trainer",
    "loss_mask_preview",
    "lora_config",
    "sft_config",
    "train_adapter",
]
