"""The verdict tables of docs/results.md, written from the committed runs' results.json (their `verdicts`, computed by
`faithex run` or `faithex report`), every number with its source marker (docs/numbers.md).

    python scripts/verdict_tables.py            # print the block
    python scripts/verdict_tables.py --write    # replace it in docs/results.md

The block sits between the two skip markers BEGIN and END; tests/test_docs_numbers.py checks that it is what this
script writes, and (as every marked number) its markers against the files.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results.md"
BEGIN = "<!-- note: the verdict tables below are written by scripts/verdict_tables.py -->"
END = "<!-- note: end of the tables written by scripts/verdict_tables.py -->"

#: The runs each paper's table reads, in order (a run listed for a paper contributes that paper's verdicts).
PAPERS = {
    "paper1": ("Paper 1", ["demo", "demo-step-flip", "paper1-battery", "paper1-paraphrase", "demo-100",
                           "demo-1comparison", "paper1-two-comparisons", "paper1-depth-cpu", "demo-bf16"]),
    "paper2": ("Paper 2", ["demo-paper2-fp32", "demo-paper2", "paper2-text", "paper2-dialogue", "paper2-variants",
                           "paper2-battery"]),
    "paper3": ("Paper 3", ["demo-paper3-fp32", "demo-paper3", "paper3-before-after", "paper3-longer-classifier",
                           "paper3-transfer", "paper3-battery"]),
}

#: Runs that repeat another run's cells (the same trained adapters) and add some: only the claims they add are listed.
ADDED_ONLY = {"demo-step-flip": ("paper1.answer_follows_reasoning", "paper1.explanation_follows_reasoning")}


def shown(run: str, verdict: dict, paper: str) -> bool:
    return verdict["paper"] == paper and verdict["claim"] in ADDED_ONLY.get(run, (verdict["claim"],))


def load(run: str) -> dict | None:
    path = ROOT / "docs" / "runs" / run / "results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def selector(verdict: dict) -> str:
    regime, _, protocol = verdict["treatment"].partition("/")
    parts = [verdict["claim"], verdict["setting"], regime, protocol]
    if "/" in verdict["baseline"]:
        parts.append(f"vs={verdict['baseline'].split('/')[0]}")
    if len(verdict["seeds"]) == 1:
        parts.append(f"seed={verdict['seeds'][0]}")
    return f"verdict({'/'.join(parts)})"


def signed(value: float, digits: int) -> str:
    """A signed figure; a zero after rounding has no sign (as every table of the reports writes it)."""
    text = f"{value:+.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text


def significant(p: float) -> str:
    """p with two significant digits; tiny values in scientific notation."""
    if p >= 0.001:
        return f"{p:.2g}" if p < 1 else "1"
    return f"{p:.1e}"


def row(run: str, verdict: dict) -> str:
    where = f"`{run}`<!-- {run}: {selector(verdict)} -->"
    qualifier = f" ({verdict['qualifier']})" if verdict.get("qualifier") else ""
    seeds = ", ".join(str(s) for s in verdict["seeds"])
    fields, figures = [], []
    if verdict.get("effect") is not None:
        figures.append(f"{signed(verdict['effect'], 3)}")
        fields.append("effect")
        if verdict.get("low") is not None:
            figures.append(f"[{signed(verdict['low'], 2)}, {signed(verdict['high'], 2)}]")
            fields += ["low", "high"]
    if verdict.get("p_holm") is not None:
        figures.append(f"p {significant(verdict['p_holm'])}")
        fields.append("p_holm")
    if verdict.get("n"):
        figures.append(f"n {verdict['n']}")
        fields.append("n")
    if verdict.get("mde") is not None and math.isfinite(verdict["mde"]):
        figures.append(f"MDE {verdict['mde']:.3f}")
        fields.append("mde")
    evidence = " ".join(figures) + (f"<!-- {' '.join(fields)} -->" if fields else "")
    compared = f"{verdict['treatment']} vs {verdict['baseline']}"
    if verdict["baseline"].startswith("reference "):
        compared += "<!-- skip: the claim's reference value -->"
    # the qualifier follows the verdict's marker: its training budget is a setting, not a figure
    return (f"| {where} | {verdict['setting']} | {compared} | {seeds} | {verdict['claim']} | "
            f"{verdict['verdict']}<!-- verdict -->{qualifier} | {evidence or '-'} |")


def table(paper: str) -> str:
    title, runs = PAPERS[paper]
    lines = [f"#### {title}", "",
             "| run | setting | treatment vs baseline | seeds | claim | verdict | effect [95% CI], Holm p, n, MDE |",
             "|---|---|---|---|---|---|---|"]
    skipped = Counter()
    for run in runs:
        results = load(run)
        if results is None:
            continue
        for verdict in results.get("verdicts") or []:
            if not shown(run, verdict, paper):
                continue
            if verdict["verdict"] == "not applicable":
                skipped[(run, verdict["claim"])] += 1
                continue
            lines.append(row(run, verdict))
    lines.append("")
    if skipped:
        listed = "; ".join(f"`{run}` {claim} x {count}" for (run, claim), count in skipped.items())
        lines += [f"Not applicable (not listed): {listed}. Each says why in its run's results.json: a Madsen "
                  "attribution or redaction check of a classifier never taught \"unknown\", cells trained in different "
                  "precisions, or layers below the adapted ones.", ""]
    return "\n".join(lines)


VERDICTS = ("supported", "contradicted", "inconclusive", "not applicable")


def summary() -> str:
    """Per claim, how many settings of the listed runs got each verdict."""
    counts: dict[str, Counter] = {}
    for paper, (_, runs) in PAPERS.items():
        for run in runs:
            for verdict in (load(run) or {}).get("verdicts") or []:
                if shown(run, verdict, paper):
                    counts.setdefault(verdict["claim"], Counter())[verdict["verdict"]] += 1
    lines = ["| claim | " + " | ".join(VERDICTS) + " |", "|---|" + "---|" * len(VERDICTS)]
    lines += [f"| `{claim}` | " + " | ".join(str(counts[claim][v]) for v in VERDICTS) + " |" for claim in counts]
    return "\n".join(lines) + "\n"


def block() -> str:
    return "\n".join([BEGIN, "#### Settings per verdict, by claim", "", summary(),
                      *(table(paper) for paper in PAPERS), END])


def replaced(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + block() + text[end:]


def main(argv: list[str]) -> int:
    if "--write" in argv:
        RESULTS.write_text(replaced(RESULTS.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(block())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
