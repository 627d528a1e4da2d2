"""Paper 1 on the default model, sized for a 2-core CPU: trains, evaluates and prints the paper's table."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import console, handle_user_errors

NAME = "demo"
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"


@handle_user_errors
def command(
    out: Path = typer.Option(Path("runs"), help="parent folder of the run directory"),
    model: str = typer.Option(None, help="HF id, local folder or .gguf (default: bundled SmolLM2-135M-Instruct)"),
) -> None:
    from faithex.cli.run import run_and_report
    from faithex.runner import load_experiment

    spec = load_experiment(DEMO_CONFIG, {"model": model})
    console.print(f"faithex demo: {spec.tasks[0].name} {spec.tasks[0].params}, configurations "
                  f"{', '.join(s.key for s in spec.regime_specs())} (config: {DEMO_CONFIG})")
    results = run_and_report(spec, out / spec.name)
    console.print(claim_summary(results))


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
