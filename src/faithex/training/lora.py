"""LoRA fine-tuning with TRL's `SFTTrainer` on prompt/completion conversations.

Speed matters on a 2-core CPU, so the defaults avoid the usual waste: no gradient checkpointing (the model is small
enough to keep its activations), batches grouped by length (little padding), bf16 only where the CPU has native bf16,
loss on completions only, and a trainer that projects only the labelled positions through the 49k-word LM head.

Long runs survive being killed: the trainer saves a checkpoint (adapter, optimiser, scheduler, RNG states) every few
minutes in the staging folder `<adapter_dir>.partial/trainer/`, beside a fingerprint of the records and settings; the
next `train_adapter` call with the same records and settings resumes from it through the trainer's own
`resume_from_checkpoint`. `init_adapter` continues training an existing adapter instead of a fresh LoRA.

`pack_shared_prefixes` trains the texts of one example that share a prefix as one row, the prefix computed once
(`faithex.training.packing`): a pre-tokenised dataset of packed rows and `SharedPrefixCollator` plug into the same
`SFTTrainer`, whose loop, optimiser, checkpoints and resume are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from faithex.errors import ConfigError, ModelNotFoundError
from faithex.lm.models import choose_precision, load_base_model, load_tokenizer, resolve_model

logger = logging.getLogger(__name__)

FINGERPRINT_FILE = "faithex_fingerprint.json"
# Beside the trainer's files in a checkpoint: the RNG state its epoch's batch order was drawn from (see
# `_batch_order_callback`).
EPOCH_RNG_FILE = "faithex_epoch_rng_state.safetensors"
# What each checkpoint folder holds when complete; a folder missing one was cut off while being written.
CHECKPOINT_FILES = (
    EPOCH_RNG_FILE, "adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "trainer_state.json"
)
# Settings that decide when checkpoints are written but not what is learnt: changing them keeps a checkpoint usable.
CHECKPOINT_SETTINGS = ("checkpoint_minutes", "checkpoint_steps")
# Settings added after fingerprints were first written, with their defaults: left out of a fingerprint at their default.
SETTINGS_ADDED_LATER = {"pack_shared_prefixes": False}


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
    checkpoint_minutes: float = 5.0
    """Save a resumable checkpoint (adapter, optimiser, scheduler and RNG states) after the first optimiser step that
    ends this many minutes after the last save; 0 disables. Only the newest checkpoint is kept, in
    `<adapter_dir>.partial/trainer/`; it is deleted once the adapter is saved. Checkpoints do not change the result."""
    checkpoint_steps: int | None = None
    """Also save a checkpoint every N optimiser steps (None: by time only). For tests, and for runs whose steps are
    slow enough that a fixed count is easier to reason about than minutes."""
    pack_shared_prefixes: bool = False
    """Train the texts of one example that share a prefix (paper 1's joint regimes: 2-3 texts that begin with the same
    system and input turns) as one row, the prefix computed once (`faithex.training.packing`); same loss terms and
    same mean as unpacked. A row then holds one example's texts (two examples with the same input share one), so
    `batch_size` counts examples (rows) per step: in `joint_reasoning` a step sees 3x the texts of an unpacked step
    with the same `batch_size`, and an epoch has a third of the steps. Off by default: published results were trained
    unpacked."""

    def __post_init__(self) -> None:
        if self.loss_on not in ("completion", "all"):
            raise ConfigError(f"loss_on must be 'completion' or 'all', not {self.loss_on!r}")
        if self.lora_r <= 0 or self.batch_size <= 0 or self.epochs <= 0 or self.learning_rate <= 0:
            raise ConfigError("lora_r, batch_size, epochs and learning_rate must be positive")
        if self.checkpoint_minutes < 0:
            raise ConfigError(f"checkpoint_minutes must be 0 (off) or positive, not {self.checkpoint_minutes}")
        if self.checkpoint_steps is not None and self.checkpoint_steps <= 0:
            raise ConfigError(f"checkpoint_steps must be None (off) or positive, not {self.checkpoint_steps}")


@dataclass
class TrainResult:
    """What one `train_adapter` call did. `steps` counts all optimiser steps of the run, resumed ones included;
    `seconds` and `tokens_per_second` cover this call only."""

    adapter_dir: str
    steps: int
    seconds: float
    real_tokens: int
    tokens_per_second: float
    final_loss: float | None
    precision: str
    config: dict[str, Any] = field(default_factory=dict)
    resumed_from_step: int | None = None
    """The checkpoint's optimiser step this call resumed from (None: trained from the start)."""
    init_adapter: str | None = None
    """The adapter folder training continued from (None: a fresh LoRA)."""


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

    from faithex.progress import interactive

    packed = config.pack_shared_prefixes
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
        # No scheduled saves: checkpoints are requested by time (PeriodicCheckpoint). Keep the newest only, with the
        # optimiser, scheduler and RNG states that an exact resume needs.
        save_strategy="no",
        save_total_limit=1,
        save_only_model=False,
        report_to="none",
        disable_tqdm=not interactive(),  # in a log: the loss lines, not one line per step (faithex.progress)
        dataloader_num_workers=0,
        # A packed dataset is tokenised and laid out already (TRL would re-tokenise it), and its collator reads
        # columns that are not model inputs (segments, loss terms), which the trainer would otherwise drop.
        dataset_kwargs={"skip_prepare_dataset": True} if packed else None,
        remove_unused_columns=not packed,
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
    accuracy for its logs) and than the model's own loss (which builds logits for every position). A packed batch
    (`packing.SharedPrefixCollator`) brings its 4-D mask, position ids and loss terms: its mask and position ids go to
    the backbone together, and its loss is the weighted mean of its terms (`packing.shared_prefix_loss`).
    """
    import torch.nn.functional as F

    from faithex.training.packing import MODEL_KEYS, is_packed_batch, shared_prefix_loss

    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    backbone_inputs = {k: v for k, v in inputs.items() if k in MODEL_KEYS}
    hidden = causal_lm.base_model(**backbone_inputs, use_cache=False).last_hidden_state
    if is_packed_batch(inputs):
        return shared_prefix_loss(causal_lm.get_output_embeddings(), hidden, inputs)
    labels = inputs["labels"]
    targets = labels[:, 1:]
    keep = targets != -100
    logits = causal_lm.get_output_embeddings()(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep])


def _fast_sft_trainer_class():
    from trl import SFTTrainer

    class FastSFTTrainer(SFTTrainer):
        """`SFTTrainer` whose loss skips the LM head on unlabelled positions and the per-step entropy logging."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            from faithex.training.packing import is_packed_batch

            if return_outputs or self.args.loss_type != "nll":
                if is_packed_batch(inputs):  # TRL's own loss would shift labels across branches
                    raise ConfigError("packed batches are trained with faithex's loss only (loss_type 'nll', no "
                                      "outputs); turn pack_shared_prefixes off for TRL's loss paths")
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            # accelerate applies bf16 autocast by wrapping the model's forward, which _completion_loss bypasses
            # (it calls the backbone directly): enter it here, or `precision: bf16` would silently train in fp32.
            with self.accelerator.autocast():
                return _completion_loss(model, inputs)

    return FastSFTTrainer


def build_trainer(
    model_name: str | None,
    records: list[dict[str, Any]],
    config: TrainConfig,
    output_dir: str | Path,
    init_adapter: str | Path | None = None,
):
    """An `SFTTrainer` ready to train on `records` (also used by the loss-mask check): a fresh LoRA adapter, or the
    adapter in the folder `init_adapter`, trained further (its own rank and target modules then apply)."""
    from faithex.progress import quiet_libraries

    quiet_libraries()
    precision = choose_precision(config.precision)
    source = resolve_model(model_name)
    tokenizer = load_tokenizer(source)
    model = load_base_model(source)
    if init_adapter is not None:
        model, peft_config = load_trainable_adapter(model, init_adapter), None
    else:
        peft_config = lora_config(config, model)
    dataset, collator = _training_data(records, config, tokenizer, precision)
    trainer = _fast_sft_trainer_class()(
        model=model,
        args=sft_config(config, output_dir, precision),
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    return trainer, precision


def _training_data(records: list[dict[str, Any]], config: TrainConfig, tokenizer, precision: str):
    """(dataset, data collator) for the trainer: prompt/completion records that TRL tokenises and collates itself
    (collator None), or packed rows and their collator."""
    if not config.pack_shared_prefixes:
        return to_dataset(records), None
    import torch

    from faithex.training.packing import SharedPrefixCollator, packed_dataset

    dataset = packed_dataset(tokenizer, records, completion_only=config.loss_on == "completion")
    # The mask is added to attention scores computed in the autocast dtype under bf16.
    mask_dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    return dataset, SharedPrefixCollator(tokenizer.pad_token_id, mask_dtype)


def check_adapter_folder(folder: str | Path) -> Path:
    """`folder` if it holds a PEFT adapter in safetensors; else a one-line `ModelNotFoundError`."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ModelNotFoundError(f"adapter folder not found: {path}")
    missing = [name for name in ("adapter_config.json", "adapter_model.safetensors") if not (path / name).is_file()]
    if missing:
        raise ModelNotFoundError(
            f"{path} is not a PEFT adapter folder: no {' or '.join(missing)} (pickled adapters are not loaded)"
        )
    return path


def load_trainable_adapter(base_model, folder: str | Path):
    """`base_model` wrapped with the adapter saved in `folder`, its weights trainable (continual training)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(base_model, str(check_adapter_folder(folder)), is_trainable=True)


# -- checkpoints --------------------------------------------------------------------------------------------------


def _periodic_checkpoint_callback(config: TrainConfig):
    """A `TrainerCallback` that asks the trainer for a checkpoint every `checkpoint_minutes` (and/or steps)."""
    from transformers import TrainerCallback

    class PeriodicCheckpoint(TrainerCallback):
        """Sets `control.should_save` once enough time (or steps) has passed since the last save; the trainer then
        writes a full checkpoint (`save_strategy` stays "no", so nothing else triggers one)."""

        def __init__(self, minutes: float, steps: int | None):
            self.seconds = minutes * 60
            self.steps = steps
            self.last_save = time.monotonic()

        def on_train_begin(self, args, state, control, **kwargs):
            self.last_save = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                return  # the finished adapter is saved right after the last step
            due_by_time = self.seconds > 0 and time.monotonic() - self.last_save >= self.seconds
            due_by_steps = self.steps is not None and state.global_step % self.steps == 0
            if due_by_time or due_by_steps:
                control.should_save = True

        def on_save(self, args, state, control, **kwargs):
            self.last_save = time.monotonic()

    return PeriodicCheckpoint(config.checkpoint_minutes, config.checkpoint_steps)


def _batch_order_callback(resume_from: Path | None):
    """A `TrainerCallback` that makes a resume in the middle of epoch 2, 3, ... train on the same batches.

    The length-grouped sampler draws each epoch's order from the global torch RNG when the epoch's iteration starts.
    On resume the trainer skips the batches already trained and only then restores the checkpoint's RNG states, so
    the resumed epoch's order is drawn from the freshly seeded RNG: right for epoch 1, another order for later epochs
    (measured: adapters 0.005 apart, at weights of 0.2). This saves the RNG state each epoch's order was drawn from
    beside every checkpoint, and puts it back before the resumed epoch draws its order."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    from transformers import TrainerCallback

    def epoch_index(state) -> int:
        return math.floor(state.epoch + 1e-9)  # state.epoch is a float: 1.0 at the start of the second epoch

    class SameBatchOrderOnResume(TrainerCallback):
        def __init__(self):
            self.resume_from = resume_from
            self.epoch = 0
            self.epoch_rng_state = torch.get_rng_state()

        def on_epoch_begin(self, args, state, control, **kwargs):
            if self.resume_from is not None:
                self._restore_epoch_rng_state(self.resume_from, epoch_index(state))
                self.resume_from = None
            self.epoch, self.epoch_rng_state = epoch_index(state), torch.get_rng_state()

        def _restore_epoch_rng_state(self, checkpoint: Path, epoch: int) -> None:
            saved = checkpoint / EPOCH_RNG_FILE
            with safe_open(str(saved), framework="pt") as handle:
                saved_epoch = int(handle.metadata()["epoch"])
            # At an epoch boundary the checkpoint belongs to the epoch before; the trainer restores the RNG itself.
            if saved_epoch == epoch:
                torch.set_rng_state(load_file(saved)["cpu"])

        def on_step_end(self, args, state, control, **kwargs):
            # Written before the trainer fills the folder (this runs between the save request and the save), so a
            # checkpoint whose trainer_state.json exists always has this file too.
            if control.should_save and args.should_save:  # args.should_save: the main process of a distributed run
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                folder.mkdir(parents=True, exist_ok=True)
                save_file({"cpu": self.epoch_rng_state}, folder / EPOCH_RNG_FILE, metadata={"epoch": str(self.epoch)})

    return SameBatchOrderOnResume()


def _files_identity(folder: Path, patterns: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(name, size, mtime) of the files that make up a model or adapter folder: cheap, and changes when they do."""
    if not folder.is_dir():
        return []
    files = sorted({path for pattern in patterns for path in folder.glob(pattern) if path.is_file()})
    return [(path.name, path.stat().st_size, path.stat().st_mtime_ns) for path in files]


def training_fingerprint(
    model_source: str, records: list[dict[str, Any]], config: TrainConfig, precision: str, init_adapter: Path | None
) -> str:
    """sha256 of everything that decides the trained weights: records, settings, base model, init adapter.

    A checkpoint is resumed only under the same fingerprint, so a changed data set or setting starts over instead of
    continuing another run's optimiser state."""
    settings = {key: value for key, value in asdict(config).items() if key not in CHECKPOINT_SETTINGS}
    for key, default in SETTINGS_ADDED_LATER.items():
        if settings[key] == default:  # so that checkpoints written before the setting existed still resume
            del settings[key]
    content = {
        "records": [{"prompt": r["prompt"], "completion": r["completion"]} for r in records],
        "settings": settings,
        "precision": precision,
        "model": [model_source, _files_identity(Path(model_source), ("*.json", "*.safetensors"))],
        "init_adapter": init_adapter and [str(init_adapter.resolve()), _files_identity(init_adapter, ("adapter_*",))],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _step_of(checkpoint: Path) -> int:
    return int(checkpoint.name.rsplit("-", 1)[-1])


def _is_complete(checkpoint: Path) -> bool:
    if not all((checkpoint / name).is_file() for name in CHECKPOINT_FILES):
        return False
    try:  # written last, and not atomically: a kill can leave it truncated
        json.loads((checkpoint / "trainer_state.json").read_text())
    except ValueError:
        return False
    return True


def resumable_checkpoint(trainer_dir: Path, fingerprint: str) -> Path | None:
    """The newest complete checkpoint in `trainer_dir` written under `fingerprint`, or None.

    Everything else there is deleted: checkpoints of other records or settings, and folders cut off mid-write (the
    trainer keeps only its newest checkpoint by modification time, which must not be a broken one)."""
    if not trainer_dir.exists():
        return None
    try:
        stored = json.loads((trainer_dir / FINGERPRINT_FILE).read_text())["fingerprint"]
    except (OSError, ValueError, KeyError):
        stored = None
    if stored != fingerprint:
        if any(trainer_dir.glob("checkpoint-*")):
            logger.warning("deleting the checkpoint in %s: it was written for other records or settings", trainer_dir)
        shutil.rmtree(trainer_dir)
        return None
    named_by_step = (c for c in trainer_dir.glob("checkpoint-*") if c.name.removeprefix("checkpoint-").isdigit())
    checkpoints = sorted(named_by_step, key=_step_of)
    complete = [c for c in checkpoints if _is_complete(c)]
    for checkpoint in checkpoints:
        if checkpoint not in complete[-1:]:
            shutil.rmtree(checkpoint)
    return complete[-1] if complete else None


def _write_fingerprint(trainer_dir: Path, fingerprint: str) -> None:
    trainer_dir.mkdir(parents=True, exist_ok=True)
    temporary = trainer_dir / (FINGERPRINT_FILE + ".tmp")
    temporary.write_text(json.dumps({"fingerprint": fingerprint}))
    os.replace(temporary, trainer_dir / FINGERPRINT_FILE)


def train_adapter(
    model_name: str | None,
    records: list[dict[str, Any]],
    config: TrainConfig,
    adapter_dir: str | Path,
    init_adapter: str | Path | None = None,
) -> TrainResult:
    """Train one LoRA adapter and save it (safetensors) to `adapter_dir`, atomically.

    `init_adapter`: an adapter folder to train further instead of a fresh LoRA. A checkpoint left in the staging
    folder by an interrupted call with the same records, settings, model and init adapter is resumed from."""
    if not records:
        raise ConfigError("no training records")
    adapter_dir = Path(adapter_dir)
    init_adapter = check_adapter_folder(init_adapter) if init_adapter is not None else None
    staging = adapter_dir.with_name(adapter_dir.name + ".partial")
    trainer_dir = staging / "trainer"
    trainer, precision, checkpoint = _checkpointing_trainer(model_name, records, config, trainer_dir, init_adapter)
    resumed_from_step = _step_of(checkpoint) if checkpoint is not None else None
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint is not None else None)
    seconds = time.perf_counter() - start
    trainer.model.save_pretrained(str(staging), safe_serialization=True)
    result = _summary(trainer, output.global_step, seconds, config, precision, adapter_dir, resumed_from_step)
    result.init_adapter = str(init_adapter) if init_adapter is not None else None
    (staging / "train_result.json").write_text(json.dumps(asdict(result), indent=2))
    _replace_dir(staging, adapter_dir)
    return result


def _checkpointing_trainer(
    model_name: str | None,
    records: list[dict[str, Any]],
    config: TrainConfig,
    trainer_dir: Path,
    init_adapter: Path | None,
):
    """(trainer, precision, checkpoint): a trainer that saves its checkpoints in `trainer_dir`, and the checkpoint
    there of the same training to resume from (None: start from step 0)."""
    precision = choose_precision(config.precision)  # "auto" may resolve differently on another machine
    fingerprint = training_fingerprint(resolve_model(model_name), records, config, precision, init_adapter)
    checkpoint = resumable_checkpoint(trainer_dir, fingerprint)
    trainer, precision = build_trainer(model_name, records, config, trainer_dir, init_adapter=init_adapter)
    if config.checkpoint_minutes > 0 or config.checkpoint_steps is not None:
        trainer.add_callback(_periodic_checkpoint_callback(config))
    # Always: a checkpoint written with checkpoints on may be resumed with them off.
    trainer.add_callback(_batch_order_callback(checkpoint))
    _write_fingerprint(trainer_dir, fingerprint)
    if checkpoint is not None:
        logger.info("resuming training from %s", checkpoint)
    return trainer, precision, checkpoint


def _summary(
    trainer,
    steps: int,
    seconds: float,
    config: TrainConfig,
    precision: str,
    adapter_dir: Path,
    resumed_from: int | None,
) -> TrainResult:
    """The `TrainResult` of a finished `trainer.train()` call that took `seconds`."""
    from faithex.training.packing import text_tokens

    # Tokens of the texts as written, packed or not, so that tokens/s compare across the two.
    real_tokens = text_tokens(trainer.train_dataset)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    epochs_done = trainer.state.epoch or config.epochs
    # Tokens seen by this call: a resumed call ran only the steps after its checkpoint.
    share_run_here = 1.0 if not resumed_from else (steps - resumed_from) / steps
    return TrainResult(
        adapter_dir=str(adapter_dir),
        steps=steps,
        seconds=round(seconds, 2),
        real_tokens=int(real_tokens * epochs_done),
        tokens_per_second=round(real_tokens * epochs_done * share_run_here / seconds, 1),
        final_loss=losses[-1] if losses else None,
        precision=precision,
        config=asdict(config),
        resumed_from_step=resumed_from,
    )


def _replace_dir(src: Path, dst: Path) -> None:
    shutil.rmtree(src / "trainer", ignore_errors=True)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(src, dst)


def loss_mask_preview(trainer, count: int = 3) -> list[tuple[str, str]]:
    """Decode one collated batch: (whole text, the tokens that carry loss) per row, to prove where loss falls.

    A packed row's text is its prefix followed by its branches, and its loss tokens are its loss terms' targets in
    column order (a term carried by several texts appears once)."""
    from faithex.training.packing import is_packed_batch

    tokenizer = trainer.processing_class
    rows = [trainer.train_dataset[i] for i in range(min(count, len(trainer.train_dataset)))]
    batch = trainer.data_collator(rows)
    if is_packed_batch(batch):
        return [
            (tokenizer.decode(ids[: len(row["input_ids"])]), tokenizer.decode(targets[weights > 0]))
            for row, ids, targets, weights in zip(rows, batch["input_ids"], batch["loss_targets"],
                                                  batch["loss_weights"])
        ]
    preview = []
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        preview.append((tokenizer.decode(ids[mask.bool()]), tokenizer.decode(ids[labels != -100])))
    return preview
