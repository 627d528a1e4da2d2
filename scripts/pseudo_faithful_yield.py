"""How many pseudo-faithful explanations a starting model yields, and how much one redacted word moves it.

Builds the records of `pseudo_faithful` (all three styles) on the first N training examples of a task and prints
the yields per style and the predictions; with `--drops`, also how far redacting each of the attribution's top 3
words lowers the prediction's probability, and how many examples each `min_drop` would keep
(docs/faithfulness.md, "Why the study files use `drop`").

    python scripts/pseudo_faithful_yield.py --task tweet_sentiment --n 40 --criterion changed
    python scripts/pseudo_faithful_yield.py --n 60 --criterion drop --drops \
        --adapter RUN/adapters/tweet_sentiment/self_consistency_classifier/s0/self_explainer
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter

from faithex.faithfulness.self_consistency import Wording, redact_words
from faithex.lm.models import choose_precision, load_model
from faithex.regimes import get_regime
from faithex.regimes.base import PromptOptions
from faithex.explanations.oracle import LoadedOracle
from faithex.explanations.pseudo_faithful import _distinct_words
from faithex.tasks.registry import get_task

THRESHOLDS = (0.01, 0.02, 0.05, 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="tweet_sentiment")
    parser.add_argument("--n", type=int, default=40, help="first N training examples (seed 0)")
    parser.add_argument("--adapter", help="a PEFT adapter folder (default: the base model)")
    parser.add_argument("--model", default=None, help="HF id or folder (default: faithex's default model)")
    parser.add_argument("--criterion", default="changed")
    parser.add_argument("--words-tried", type=int, default=3)
    parser.add_argument("--drops", action="store_true", help="also the probability drops of the top 3 words")
    args = parser.parse_args()

    task = get_task(args.task, seed=0)
    examples = task.examples(args.n, "train")
    loaded = load_model(args.model, adapter=args.adapter)
    precision = choose_precision("auto")
    regime = get_regime("pseudo_faithful").configured(words_tried=args.words_tried, criterion=args.criterion)
    started = time.perf_counter()
    built = regime.model_records(loaded.model, loaded.tokenizer, task, examples, PromptOptions(), batch_size=16,
                                 precision=precision)
    outcomes = built.summary["examples"]
    report = {
        "task": args.task, "n": args.n, "adapter": args.adapter, "criterion": args.criterion,
        "seconds": round(time.perf_counter() - started, 1), "yields": built.summary["styles"],
        "predictions": Counter(o["prediction"] for o in outcomes),
        "gold": Counter(task.label_names[e.label] for e in examples),
    }
    if args.drops:
        oracle = LoadedOracle(loaded.model, loaded.tokenizer, task, Wording.of(task), PromptOptions(),
                              regime.settings, 16, precision)
        report["drops"] = top_word_drops(oracle, examples)
    print(json.dumps(report, indent=1))


def top_word_drops(oracle: LoadedOracle, examples) -> dict:
    """Per attribution rank (1-3), deciles of the fall of p(prediction) when that word is redacted; and per
    threshold, the examples whose best of the 3 words falls at least that much (what `criterion: drop` keeps)."""
    before = oracle.probabilities([e.input for e in examples])
    predictions = [max(p, key=p.__getitem__) for p in before]
    labelled = [i for i, p in enumerate(predictions) if isinstance(p, int)]
    rankings = oracle.rank_words([examples[i] for i in labelled], [predictions[i] for i in labelled])
    asked = []
    for i, ranking in zip(labelled, rankings):
        words = [word for word, _ in _distinct_words(ranking)[:3]]  # the words the filter itself would try
        asked += [(i, rank, redact_words(examples[i].input, [word])) for rank, word in enumerate(words)]
    after = oracle.probabilities([text for _, _, text in asked])
    by_rank: dict[int, list[float]] = {}
    best: dict[int, float] = {}
    for (i, rank, _), probabilities in zip(asked, after):
        drop = before[i][predictions[i]] - probabilities[predictions[i]]
        by_rank.setdefault(rank + 1, []).append(drop)
        best[i] = max(best.get(i, -1.0), drop)
    return {
        "p_prediction_deciles": deciles([before[i][predictions[i]] for i in labelled]),
        "drop_deciles_by_rank": {rank: deciles(values) for rank, values in by_rank.items()},
        "kept_at": {str(t): sum(v >= t for v in best.values()) for t in THRESHOLDS},
        "explained": len(best),
    }


def deciles(values: list[float]) -> list[float]:
    return [round(q, 3) for q in statistics.quantiles(values, n=10)] if len(values) > 1 else values


if __name__ == "__main__":
    main()
