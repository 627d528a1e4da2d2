"""How many pseudo-faithful explanations a starting model yields: builds the records of `pseudo_faithful` (all
three styles) on the first N training examples of a task and prints the yields per style, the predictions and the
drop of the prediction's probability when the tried word is redacted (docs/faithfulness.md, "Why the study files
use `drop`").

    python scripts/pseudo_faithful_yield.py --task tweet_sentiment --n 40 --criterion changed
    python scripts/pseudo_faithful_yield.py --adapter RUN/adapters/tweet_sentiment/label_only/s0/label --criterion drop
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from faithex.lm.models import choose_precision, load_model
from faithex.regimes import get_regime
from faithex.regimes.base import PromptOptions
from faithex.tasks.registry import get_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="tweet_sentiment")
    parser.add_argument("--n", type=int, default=40, help="first N training examples (seed 0)")
    parser.add_argument("--adapter", help="a PEFT adapter folder (default: the base model)")
    parser.add_argument("--model", default=None, help="HF id or folder (default: faithex's default model)")
    parser.add_argument("--criterion", default="changed")
    parser.add_argument("--words-tried", type=int, default=3)
    args = parser.parse_args()

    task = get_task(args.task, seed=0)
    examples = task.examples(args.n, "train")
    loaded = load_model(args.model, adapter=args.adapter)
    regime = get_regime("pseudo_faithful").configured(words_tried=args.words_tried, criterion=args.criterion)
    started = time.perf_counter()
    built = regime.model_records(loaded.model, loaded.tokenizer, task, examples, PromptOptions(), batch_size=16,
                                 precision=choose_precision("auto"))
    seconds = time.perf_counter() - started
    outcomes = built.summary["examples"]
    drops = sorted(o["styles"]["redaction"]["drop"] for o in outcomes if o["styles"]["redaction"]["drop"] is not None)
    print(json.dumps({
        "task": args.task, "n": args.n, "adapter": args.adapter, "criterion": args.criterion,
        "seconds": round(seconds, 1), "yields": built.summary["styles"],
        "predictions": Counter(o["prediction"] for o in outcomes),
        "gold": Counter(task.label_names[e.label] for e in examples),
        "redaction_drops": [round(d, 3) for d in drops],
    }, indent=1))


if __name__ == "__main__":
    main()
