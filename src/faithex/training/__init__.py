"""Training: LoRA fine-tuning with TRL's `SFTTrainer` (checkpoints, resume, continual training from an adapter), and
tree packing of the texts that share a prefix (`TrainConfig.pack_shared_prefixes`; `faithex.training.packing`, not
imported here: it imports torch, which `TrainConfig` users such as the config loader do not need)."""

from faithex.training.lora import (
    TrainConfig,
    TrainResult,
    build_trainer,
    lora_config,
    loss_mask_preview,
    sft_config,
    train_adapter,
)

__all__ = [
    "TrainConfig",
    "TrainResult",
    "build_trainer",
    "lora_config",
    "loss_mask_preview",
    "sft_config",
    "train_adapter",
]
