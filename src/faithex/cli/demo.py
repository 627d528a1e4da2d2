"""One paper's central comparison on the default model, sized for a 2-core CPU: trains, evaluates and prints the
results and the verdicts on the paper's claims (`faithex.claims`). `faithex demo` (= `make demo`) runs paper 1;
`faithex demo paper2` paper 2; `faithex demo paper3` paper 3."""

from __future__ import annotations

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
    paper: str


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
    for line in closing_lines(results, demo.paper):
        console.print(line, markup=False)


def closing_lines(results: dict, paper: str) -> list[str]:
    """The demo's last words: the verdict on each of the paper's claims this run could test, in the one-line form
    (claim [setting] verdict (qualifier): effect [CI], p (Holm), n, MDE), read from the run's verdicts: no
    threshold is written here."""
    from faithex.report.tables import verdict_line

    found = [verdict_line(v) for v in results.get("verdicts") or [] if v.get("paper") == paper]
    return found or [f"no claim of {paper} could be tested on this run's cells"]


DEMOS = {"paper1": Demo(DEMO_CONFIG, "paper1"), "paper2": Demo(CONFIGS / "demo-paper2.yaml", "paper2"),
         "paper3": Demo(CONFIGS / "demo-paper3.yaml", "paper3")}
