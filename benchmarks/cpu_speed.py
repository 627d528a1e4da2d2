"""CPU speed of faithex's training and evaluation paths against naive baselines, measured in the same run.

Training: real (non-padding) tokens per second over the same decision-tree conversations.
  baseline: TRL `SFTTrainer` as it comes (its fused loss with entropy/accuracy logging, gradient checkpointing on, TRL's
            default), random batches, loss on the whole text, no system message (so SmolLM2's default
            system prompt lands in every text).
  faithex:  `faithex.training` (LM head on completion positions only, no checkpointing, length-grouped batches,
            empty system message); and the same with adapters on the top 10 layers only.
Evaluation: test examples per second for paper 1's two-step protocol.
  baseline: one request at a time (reasoning, then answer, then explanation).
  faithex:  length-sorted batches and the answer/explanation prefix prefilled once.

    python benchmarks/cpu_speed.py [--steps 8] [--examples 24] [--out docs/benchmarks-cpu.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from faithex.inference.protocols import run_configuration
from faithex.models import load_model, resolve_model
from faithex.regimes import get_configuration, training_records
from faithex.tasks import get_task
from faithex.training import TrainConfig, build_trainer

TASK = dict(name="decision_tree", comparisons=2, decimals=2)


def conversations(n: int, system_prompt):
    task = get_task(TASK["name"], seed=0, comparisons=TASK["comparisons"], decimals=TASK["decimals"])
    return task, training_records(get_configuration("joint_reasoning"), task, task.examples(n, "train"),
                                  system_prompt=system_prompt)["joint"]


def real_tokens_per_second(trainer, steps: int) -> float:
    """Train `steps` steps after one warm-up step; count non-padding tokens of the batches actually seen."""
    seen = []
    collate = trainer.data_collator

    def counting(rows):
        batch = collate(rows)
        seen.append(int(batch["attention_mask"].sum()))
        return batch

    trainer.data_collator = counting
    trainer.args.max_steps = steps + 1
    timings = []

    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            timings.append(time.perf_counter())

    trainer.add_callback(Clock())
    trainer.train()
    elapsed = time.perf_counter() - timings[1]  # from the second step on: the first warms caches up
    return sum(seen[1 : steps + 1]) / elapsed


def naive_trainer(model_source, rows, out):
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from faithex.models import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(model_source, dtype=torch.float32)
    args = SFTConfig(output_dir=out, per_device_train_batch_size=8, learning_rate=1e-3, bf16=False, use_cpu=True,
                     completion_only_loss=False, max_length=None, report_to="none", save_strategy="no",
                     logging_steps=1000, disable_tqdm=True)
    data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    lora = LoraConfig(r=16, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM")
    return SFTTrainer(model=model, args=args, train_dataset=data, processing_class=load_tokenizer(model_source),
                      peft_config=lora)


def bench_training(model_source: str, steps: int) -> dict:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        _, rows_default_system = conversations(8 * (steps + 1) // 3 + 8, system_prompt=None)
        results["baseline_trl_defaults"] = real_tokens_per_second(naive_trainer(model_source, rows_default_system,
                                                                                tmp), steps)
        _, rows = conversations(8 * (steps + 1) // 3 + 8, system_prompt="")
        for name, top in (("faithex", None), ("faithex_top10_layers", 10)):
            config = TrainConfig(batch_size=8, learning_rate=1e-3, top_layers=top, precision="fp32", logging_steps=1000)
            trainer, _ = build_trainer(model_source, rows, config, tmp)
            trainer.args.disable_tqdm = True
            results[name] = real_tokens_per_second(trainer, steps)
    return {k: round(v, 1) for k, v in results.items()}


def bench_evaluation(model_source: str, n: int) -> dict:
    task = get_task(TASK["name"], seed=0, comparisons=TASK["comparisons"], decimals=TASK["decimals"])
    examples = task.examples(n, "test")
    config = get_configuration("joint_reasoning")
    loaded = load_model(model_source)
    budgets = {"reasoning": 12, "answer": 4, "explanation": 48}
    results = {}
    for name, batch_size in (("baseline_one_by_one", 1), ("faithex_batched", 32)):
        start = time.perf_counter()
        run_configuration(loaded.model, loaded.tokenizer, config, task, examples, budgets, batch_size=batch_size)
        results[name] = round(n / (time.perf_counter() - start), 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--examples", type=int, default=24)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks-cpu.json"))
    args = parser.parse_args()
    source = resolve_model(args.model)
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "train_real_tokens_per_second": bench_training(source, args.steps),
        "eval_examples_per_second": bench_evaluation(source, args.examples),
    }
    train, evaluation = report["train_real_tokens_per_second"], report["eval_examples_per_second"]
    report["ratios"] = {
        "train_faithex_vs_baseline": round(train["faithex"] / train["baseline_trl_defaults"], 2),
        "train_top10_vs_baseline": round(train["faithex_top10_layers"] / train["baseline_trl_defaults"], 2),
        "eval_batched_vs_one_by_one": round(evaluation["faithex_batched"] / evaluation["baseline_one_by_one"], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
