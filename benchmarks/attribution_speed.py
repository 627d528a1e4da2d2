"""Seconds per example of each word-attribution method on the default model (tweet_sentiment test tweets).

Each method attributes the same tweets twice: one example at a time (the latency of a single attribution) and in
batches (throughput). The first call of each method is a warm-up and is not timed.

    python benchmarks/attribution_speed.py [--n 8] [--batch-size 8] [--precision fp32] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from faithex.attribution import attribute
from faithex.lm.models import load_model
from faithex.tasks import get_task

METHODS = {
    "input_x_gradient": {},
    "leave_one_out": {},
    "feature_ablation": {},
    "integrated_gradients": {"n_steps": 32},
}


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(model, tokenizer, task, examples, method, batch_size, precision, options) -> float:
    started = time.perf_counter()
    attribute(model, tokenizer, task, examples, method=method, batch_size=batch_size, precision=precision, **options)
    return (time.perf_counter() - started) / len(examples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--out")
    args = parser.parse_args()
    loaded = load_model("default")
    task = get_task("tweet_sentiment")
    examples = task.examples(args.n, "test")
    words = sum(len(e.input.split()) for e in examples) / len(examples)
    results = {}
    for method, options in METHODS.items():
        timed(loaded.model, loaded.tokenizer, task, examples[:1], method, 1, args.precision, options)  # warm-up
        single = sum(timed(loaded.model, loaded.tokenizer, task, [e], method, 1, args.precision, options)
                     for e in examples) / len(examples)
        batched = timed(loaded.model, loaded.tokenizer, task, examples, method, args.batch_size, args.precision,
                        options)
        results[method] = {"seconds_per_example_alone": round(single, 3),
                           "seconds_per_example_batched": round(batched, 3), "options": options}
        print(f"{method:22s} alone {single:7.3f} s/example   batched ({args.batch_size}) {batched:7.3f} s/example",
              flush=True)
    report = {"machine": {"cpu": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__},
              "model": "SmolLM2-135M-Instruct (default)", "examples": args.n, "mean_words": round(words, 1),
              "precision": args.precision, "methods": results}
    print(json.dumps(report["machine"]))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
