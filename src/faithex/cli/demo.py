"""One paper's central comparison on the default model, sized for a 2-core CPU: trains, evaluates and prints the
results with a verdict on the paper's claims. `faithex demo` (= `make demo`) runs paper 1; `faithex demo paper2`
paper 2; `faithex demo paper3` paper 3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import typer

from faithex.cli.common import console, handle_user_errors
from faithex.errors import ConfigError

NAME = "demo"
CONFIGS = Path(__file__).resolve().parent.parent / "configs"
DEMO_CONFIG = CONFIGS / "demo.yaml"


class Demo(NamedTuple):
    config: Path
    verdict: Callable[[dict], str]


@handle_user_errors
def command(
    paper: str = typer.Argument("paper1", help="which paper's demo: paper1, paper2 or paper3"),
    out: Path = typer.Option(Path("runs"), help="parent folder of the run directory"),
    model: str = typer.Option(None, help="HF id, local folder or .gguf (default: bundled SmolLM2-135M-Instruct)"),
) -> None:
    from faithex.cli.run import run_and_report
    from faithex.runner import load_experiment

    if paper not in DEMOS:
        raise ConfigError(f"no demo named {paper!r}; choose one of {', '.join(DEMOS)}")
    demo = DEMOS[paper]
    spec = load_experiment(demo.config, {"model": model})
    console.print(f"faithex demo {paper}: {spec.tasks[0].name} {spec.tasks[0].params}, regimes "
                  f"{', '.join(s.key for s in spec.regime_specs())} (config: {demo.config})")
    results = run_and_report(spec, out / spec.name)
    console.print(demo.verdict(results))


def claim_summary(results: dict) -> str:
    """Paper 1's two claims, checked on this run: with reasoning, answer and explanation agree (alignment >= 0.95
    and above `joint`), and answers are at least as accurate as without it (>= 0.75, not below `joint`)."""
    task_key, task = next(iter(results["tasks"].items()))
    configs = {c["regime"]: c for c in results["cells"] if c["task"] == task_key}
    if "joint_reasoning" not in configs or "joint" not in configs:
        return ""
    with_r, without = configs["joint_reasoning"]["metrics"], configs["joint"]["metrics"]
    align, align_without = with_r["alignment_rate"]["value"], without["alignment_rate"]["value"]
    accuracy, accuracy_without = with_r["answer_accuracy"]["value"], without["answer_accuracy"]["value"]
    aligned = align >= 0.95 and align > align_without
    accurate = accuracy >= 0.75 and accuracy >= accuracy_without
    return (f"alignment claim {'holds' if aligned else 'does NOT hold'}: {align:.3f} with reasoning vs "
            f"{align_without:.3f} without; accuracy claim {'holds' if accurate else 'does NOT hold'}: answer "
            f"accuracy {accuracy:.3f} with reasoning vs {accuracy_without:.3f} without (chance "
            f"{task['chance_level']:.3f})")


def paper2_summary(results: dict) -> str:
    """Paper 2's claims on this run: label + explanation training, and training with random pseudo-explanations,
    each more accurate than label-only training on the same test items (paired: exact McNemar p)."""
    rows = [c for c in results.get("comparisons", []) if c["seed"] != "all" and c["metric"] == "answer_accuracy"
            and c["baseline"] == "label_only"]
    lines = []
    for row in rows:
        p_value = row["mcnemar_p"] if row["mcnemar_p"] is not None else row["p_value"]
        significant = row["diff"] > 0 and p_value < 0.05
        verdict = "beats" if significant else ("is above, not significantly," if row["diff"] > 0 else "does NOT beat")
        lines.append(f"{row['regime']} {verdict} label_only on {row['task']}: accuracy {row['a']:.3f} vs "
                     f"{row['b']:.3f} (difference {row['diff']:+.3f}, 95% CI [{row['low']:+.3f}, {row['high']:+.3f}], "
                     f"paired p = {p_value:.2g})")
    return "\n".join(lines)


FAITHFULNESS = "self_consistency_faithfulness"
CHANGE = "self_consistency_label_change"
SHIFT = "self_consistency_shift"
#: How each compared metric reads in the verdict: (name, better, not significantly better, not better).
PAPER3_VERDICTS = {
    FAITHFULNESS: ("faithfulness", "is more faithful than", "is above, not significantly,",
                   "is NOT more faithful than"),
    CHANGE: ("label change", "changes its label more often than", "is above, not significantly,",
             "does NOT change its label more often than"),
    SHIFT: ("shift", "moves its classifier more than", "is above, not significantly,",
            "does NOT move its classifier more than"),
}


def paper3_summary(results: dict) -> str:
    """Paper 3's claim on this run: after training on pseudo-faithful one-word self-explanations, the classifier's
    self-explanations are more faithful than before it (the experiment's first regime: `self_consistency_faithfulness`
    paired on the test items both classified correctly and checked, exact McNemar p; the looser
    `self_consistency_label_change`, the same way; and the graded `self_consistency_shift`, paired bootstrap), and
    its accuracy is kept (`answer_accuracy` by `score`, paired)."""
    order = (FAITHFULNESS, CHANGE, SHIFT, "answer_accuracy")
    rows = [c for c in results.get("comparisons", []) if c["seed"] != "all" and c["metric"] in order]
    lines = []
    for row in sorted(rows, key=lambda r: (r["regime"], order.index(r["metric"]))):
        checked = row["metric"] in PAPER3_VERDICTS
        where = f"{row['regime']} on {row['task']}" + (f" ({row['protocol']})" if checked else "")
        if not row.get("n"):
            name = PAPER3_VERDICTS[row["metric"]][0] if checked else "accuracy"
            lines.append(f"{where}: no test example checked by both, no {name} comparison")
            continue
        p_value = row["mcnemar_p"] if row.get("mcnemar_p") is not None else row["p_value"]
        significant = p_value < 0.05
        numbers = (f"{row['a']:.3f} vs {row['b']:.3f} before (difference {row['diff']:+.3f}, 95% CI "
                   f"[{row['low']:+.3f}, {row['high']:+.3f}], paired p = {p_value:.2g}, n = {row['n']})")
        if checked:
            name, better, above, not_better = PAPER3_VERDICTS[row["metric"]]
            verdict = better if row["diff"] > 0 and significant else above if row["diff"] > 0 else not_better
            lines.append(f"{where} {verdict} {row['baseline']}: {name} {numbers}")
        else:
            kept = "does NOT keep" if row["diff"] < 0 and significant else "keeps"
            lines.append(f"{where} {kept} the accuracy of {row['baseline']}: accuracy {numbers}")
    return "\n".join(lines)


DEMOS = {"paper1": Demo(DEMO_CONFIG, claim_summary), "paper2": Demo(CONFIGS / "demo-paper2.yaml", paper2_summary),
         "paper3": Demo(CONFIGS / "demo-paper3.yaml", paper3_summary)}
