"""CPU speed of faithex's training and evaluation paths against naive baselines, measured in the same run.

Training: real (non-padding) tokens per second over the same conversations: paper 1's decision tree with the
`joint_reasoning` regime (default), or a text task with the `label_only` regime (`--task tweet_sentiment`).
  baseline: TRL `SFTTrainer` as it comes (its fused loss with entropy/accuracy logging, gradient checkpointing on, TRL's
            default), random batches, loss on the whole text, no system message (so SmolLM2's default
            system prompt lands in every text).
  faithex:  `faithex.training` (LM head on completion positions only, no checkpointing, length-grouped batches,
            empty system message); and the same with adapters on the top 10 layers only.
Evaluation (decision tree only; label scoring is measured by benchmarks/score_vs_generate.py): test examples per
second for paper 1's two-step protocol.
  baseline: one request at a time (reasoning, then answer, then explanation).
  faithex:  length-sorted batches and the answer/explanation prefix prefilled once.

    python benchmarks/cpu_speed.py [--steps 8] [--examples 24] [--out docs/benchmarks-cpu.json]
    python benchmarks/cpu_speed.py --task tweet_sentiment --out docs/benchmarks-cpu-text.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from faithex.lm.models import load_model, resolve_model
from faithex.protocols import ProtocolContext, get_protocol
from faithex.regimes import PromptOptions, get_regime, training_records
from faithex.tasks import get_task

#: task -> (its parameters, the regime whose conversations are trained, conversations per example)
TASKS = {
    "decision_tree": ({"comparisons": 2, "decimals": 2}, "joint_reasoning", 3),
    "tweet_sentiment": ({}, "label_only", 1),
}


def conversations(task_name: str, n: int, system_prompt):
    params, regime, _ = TASKS[task_name]
    task = get_task(task_name, seed=0, **params)
    records = training_records(get_regime(regime), task, task.examples(n, "train"), system_prompt=system_prompt)
    return task, next(iter(records.values()))


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

    from faithex.lm.models import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(model_source, dtype=torch.float32)
    args = SFTConfig(output_dir=out, per_device_train_batch_size=8, learning_rate=1e-3, bf16=False, use_cpu=True,
                     completion_only_loss=False, max_length=None, report_to="none", save_strategy="no",
                     logging_steps=1000, disable_tqdm=True)
    data = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    lora = LoraConfig(r=16, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM")
    return SFTTrainer(model=model, args=args, train_dataset=data, processing_class=load_tokenizer(model_source),
                      peft_config=lora)


def bench_training(model_source: str, task_name: str, steps: int) -> dict:
    from faithex.training import TrainConfig, build_trainer

    results = {}
    n = 8 * (steps + 1) // TASKS[task_name][2] + 8  # examples enough for steps + 1 batches of 8
    with tempfile.TemporaryDirectory() as tmp:
        _, rows_default_system = conversations(task_name, n, system_prompt=None)
        results["baseline_trl_defaults"] = real_tokens_per_second(naive_trainer(model_source, rows_default_system,
                                                                                tmp), steps)
        _, rows = conversations(task_name, n, system_prompt="")
        for name, top in (("faithex", None), ("faithex_top10_layers", 10)):
            config = TrainConfig(batch_size=8, learning_rate=1e-3, top_layers=top, precision="fp32", logging_steps=1000)
            trainer, _ = build_trainer(model_source, rows, config, tmp)
            trainer.args.disable_tqdm = True
            results[name] = real_tokens_per_second(trainer, steps)
    return {k: round(v, 1) for k, v in results.items()}


def bench_evaluation(model_source: str, n: int) -> dict:
    task, train = conversations("decision_tree", 0, system_prompt="")[0], []
    examples = task.examples(n, "test")
    train = task.examples(64, "train")  # output budgets are sized from the training targets
    loaded = load_model(model_source)
    results = {}
    for name, batch_size in (("baseline_one_by_one", 1), ("faithex_batched", 32)):
        context = ProtocolContext(model=loaded.model, tokenizer=loaded.tokenizer, regime=get_regime("joint_reasoning"),
                                  task=task, options=PromptOptions(), train=train, batch_size=batch_size)
        start = time.perf_counter()
        for _ in get_protocol("two_step").run(context, examples):
            pass
        results[name] = round(n / (time.perf_counter() - start), 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--task", choices=sorted(TASKS), default="decision_tree")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--examples", type=int, default=24)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks-cpu.json"))
    args = parser.parse_args()
    source = resolve_model(args.model)
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "task": args.task,
        "regime": TASKS[args.task][1],
        "train_real_tokens_per_second": bench_training(source, args.task, args.steps),
    }
    train = report["train_real_tokens_per_second"]
    report["ratios"] = {
        "train_faithex_vs_baseline": round(train["faithex"] / train["baseline_trl_defaults"], 2),
        "train_top10_vs_baseline": round(train["faithex_top10_layers"] / train["baseline_trl_defaults"], 2),
    }
    if args.task == "decision_tree":
        evaluation = report["eval_examples_per_second"] = bench_evaluation(source, args.examples)
        report["ratios"]["eval_batched_vs_one_by_one"] = round(
            evaluation["faithex_batched"] / evaluation["baseline_one_by_one"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
