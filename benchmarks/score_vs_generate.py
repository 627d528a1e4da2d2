"""Speed of classifying by label scoring against generating the label, on the default model, in the same run.

The same N short sentiment prompts (tweets written here) are classified three ways, for two label sets: one word
("negative"/"positive") and one sentence ("The tweet is negative."/"The tweet is positive.", as paper 1's mortgage
task answers in sentences):
  score:      `faithex.lm.scoring.label_scores`: one pass per batch, the prompt shared by all labels, LM head at the
              label positions only.
  generate:   `faithex.lm.generation.generate`: batched greedy decoding (longest label in tokens + 2 new tokens),
              the reply then matched to a label (it must start with one).
  per_label:  the naive reference: one full forward pass per example and label, summed label log-probabilities.
Each method runs in the same process on the same prompts; score and generate alternate for `--repeats` rounds and
the fastest round counts (the machine may be shared), per_label runs once. In fp32, and in bf16 too where the CPU
has native bf16 (as `precision: auto` would choose). Reported: examples per second, ratios,
how often score and generate pick the same label, accuracy against the tweets' gold labels, and the largest
difference between the scores of score and per_label (they compute the same quantity).

    python benchmarks/score_vs_generate.py [--examples 64] [--batch-size 32] [--repeats 3] [--precision fp32 bf16] \
        [--out docs/benchmarks-score.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import time
from pathlib import Path

import torch
import transformers

from faithex.lm.generation import autocast, generate, render
from faithex.lm.models import choose_precision, load_model, resolve_model
from faithex.lm.scoring import end_of_turn, label_scores

LABEL_SETS = {
    "one_word": (["negative", "positive"], "Answer with one word: positive or negative."),
    "sentence": (["The tweet is negative.", "The tweet is positive."],
                 'Answer with one sentence: "The tweet is positive." or "The tweet is negative."'),
}
SUBJECTS = ["The new phone", "This coffee shop", "My flight today", "The season finale", "Our hotel room",
            "The customer service", "This album", "The city bus"]
POSITIVE = ["is absolutely wonderful, I love it!", "made my whole day, thank you!", "exceeded every expectation.",
            "is great value and works perfectly."]
NEGATIVE = ["was a total disaster, never again.", "is so slow and frustrating.", "broke after two days, awful.",
            "was boring and overpriced."]


def tweets(count: int) -> list[tuple[str, int]]:
    """`count` distinct short tweets with gold labels (0 negative, 1 positive): subjects crossed with opinions."""
    opinions = [(o, 1) for o in POSITIVE] + [(o, 0) for o in NEGATIVE]
    pairs = list(itertools.product(SUBJECTS, opinions))
    pairs = pairs[::3] + pairs[1::3] + pairs[2::3]  # mix subjects and opinions within the first `count`
    return [(f"{subject} {opinion}", label) for subject, (opinion, label) in pairs[:count]]


def prompts_for(tokenizer, texts: list[str], instruction: str) -> list[list[int]]:
    system = f"Classify the sentiment of the tweet. {instruction}"
    return [render(tokenizer, [{"role": "system", "content": system}, {"role": "user", "content": text}])
            for text in texts]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def label_of_reply(reply: str, labels: list[str]) -> int | None:
    """The label a generated reply starts with (case and punctuation ignored), or None."""
    said = words(reply)
    return next((j for j, label in enumerate(labels) if said[: len(words(label))] == words(label)), None)


@torch.inference_mode()
def one_pass_per_label(model, tokenizer, prompts, labels, precision: str) -> torch.Tensor:
    """The naive way: a full forward pass over prompt + label + end of turn, for every example and every label."""
    closing, _ = end_of_turn(tokenizer)
    scores = torch.zeros(len(prompts), len(labels))
    with autocast(precision, torch.device("cpu")):
        for i, prompt in enumerate(prompts):
            text = tokenizer.decode(prompt, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            for j, label in enumerate(labels):
                full = tokenizer(text + label + closing, add_special_tokens=False)["input_ids"]
                start = next((n for n, (a, b) in enumerate(zip(prompt, full)) if a != b), len(prompt))
                logprobs = model(input_ids=torch.tensor([full])).logits[0].float().log_softmax(-1)
                scores[i, j] = sum(logprobs[n - 1, full[n]].item() for n in range(start, len(full)))
    return scores


def timed(function) -> tuple[object, float]:
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def fastest_of(rounds: int, methods: dict) -> tuple[dict, dict]:
    """Run the methods alternately for `rounds` rounds; the last results and the fastest time of each."""
    results, seconds = {}, {name: float("inf") for name in methods}
    for _ in range(rounds):
        for name, method in methods.items():
            results[name], elapsed = timed(method)
            seconds[name] = min(seconds[name], elapsed)
    return results, seconds


def compare(model, tokenizer, examples, labels, instruction, args, precision) -> dict:
    prompts = prompts_for(tokenizer, [text for text, _ in examples], instruction)
    gold = [label for _, label in examples]
    new_tokens = max(len(tokenizer(label, add_special_tokens=False)["input_ids"]) for label in labels) + 2
    # Warm-up (first-call allocations, thread pools) on two prompts, outside the clocks.
    label_scores(model, tokenizer, prompts[:2], labels, precision=precision)
    generate(model, tokenizer, prompts[:2], new_tokens, precision=precision)
    results, seconds = fastest_of(args.repeats, {
        "score": lambda: label_scores(model, tokenizer, prompts, labels, args.batch_size, precision),
        "generate": lambda: generate(model, tokenizer, prompts, new_tokens, args.batch_size, precision),
    })
    reference, seconds["per_label"] = timed(lambda: one_pass_per_label(model, tokenizer, prompts, labels, precision))

    n = len(prompts)
    scored = results["score"].predicted.tolist()
    generated = [label_of_reply(reply, labels) for reply in results["generate"]]
    share = lambda hits: round(sum(hits) / n, 4)  # noqa: E731
    return {
        "labels": labels,
        "mean_prompt_tokens": round(sum(map(len, prompts)) / n, 1),
        "max_new_tokens": new_tokens,
        "seconds": {name: round(s, 3) for name, s in seconds.items()},
        "examples_per_second": {name: round(n / s, 2) for name, s in seconds.items()},
        "score_speedup": {"over_generate": round(seconds["generate"] / seconds["score"], 2),
                          "over_per_label": round(seconds["per_label"] / seconds["score"], 2)},
        "same_label_score_vs_generate": share(g == s for g, s in zip(generated, scored)),
        "same_label_where_generate_parsed": round(sum(g == s for g, s in zip(generated, scored) if g is not None)
                                                  / max(1, sum(g is not None for g in generated)), 4),
        "generate_unparsable": share(g is None for g in generated),
        "accuracy": {"score": share(s == y for s, y in zip(scored, gold)),
                     "generate": share(g == y for g, y in zip(generated, gold))},
        "score_vs_per_label_max_abs_diff": float(f"{(results['score'].summed - reference).abs().max():.3g}"),
        "score_vs_per_label_same_label": share(a == b for a, b in zip(scored, reference.argmax(1).tolist())),
        "example_replies": results["generate"][:4],
    }


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    return {"cpu": names[0] if names else platform.processor(), "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "avx512_bf16": "avx512_bf16" in cpuinfo,
            "torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version()}


def print_table(report: dict) -> None:
    info = report["machine"]
    print(f"{report['examples']} prompts, batch {report['batch_size']}, {info['cores']} cores, torch {info['torch']}")
    print(f"{'precision':<10}{'labels':<10}{'method':<11}{'seconds':>9}{'examples/s':>12}{'score faster by':>17}"
          f"{'accuracy':>10}")
    for precision, label_sets in report["results"].items():
        for set_name, result in label_sets.items():
            for method, seconds in result["seconds"].items():
                ratio = seconds / result["seconds"]["score"]
                accuracy = result["accuracy"].get(method, result["accuracy"]["score"])
                print(f"{precision:<10}{set_name:<10}{method:<11}{seconds:>9.2f}"
                      f"{result['examples_per_second'][method]:>12.2f}{ratio:>16.2f}x{accuracy:>10.2%}")
            print(f"{'':<20}same label score/generate {result['same_label_score_vs_generate']:.2%} "
                  f"({result['same_label_where_generate_parsed']:.2%} of parsable replies), "
                  f"unparsable {result['generate_unparsable']:.2%}, "
                  f"max |score - per_label| {result['score_vs_per_label_max_abs_diff']:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of score and generate; the fastest counts")
    parser.add_argument("--precision", nargs="+", default=None,
                        help="fp32, bf16 or auto; default: fp32, and bf16 too where the CPU has native bf16")
    parser.add_argument("--out", default="docs/benchmarks-score.json")
    args = parser.parse_args()

    precisions = sorted({choose_precision(p) for p in args.precision or ["fp32", "auto"]}, reverse=True)
    loaded = load_model(resolve_model("default"), device="cpu")
    examples = tweets(args.examples)
    load_before = os.getloadavg()[0]
    report = {
        "benchmark": "label scoring vs greedy generation vs one forward pass per label",
        "model": "SmolLM2-135M-Instruct (default), zero-shot",
        "machine": machine(),
        "examples": len(examples),
        "batch_size": args.batch_size,
        "results": {precision: {name: compare(loaded.model, loaded.tokenizer, examples, labels, instruction, args,
                                              precision)
                                for name, (labels, instruction) in LABEL_SETS.items()}
                    for precision in precisions},
    }
    # Other processes on a 2-core machine slow every method (torch threads wait on each other): say how busy it was.
    report["machine"]["load_average_1min"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
