"""Paper 1's table: per task and configuration, answer accuracy, explanation accuracy and alignment rate, each with
its 95% bootstrap interval and failure rate, as the paper prints them: `0.xxx (failure)`."""

from __future__ import annotations

import math
from typing import Any

#: (column title, metric, failure metric shown beside it)
PAPER1_COLUMNS = [
    ("Answer acc.", "answer_accuracy", "answer_failure"),
    ("Explanation acc.", "explanation_accuracy", "explanation_failure"),
    ("Alignment", "alignment_rate", "alignment_failure"),
    ("Reasoning exact", "reasoning_exact_match", "reasoning_failure"),
]


def _cell(metrics: dict[str, Any], name: str, failure: str) -> str:
    m = metrics.get(name)
    if not m or m["value"] is None or (isinstance(m["value"], float) and math.isnan(m["value"])):
        return "-"
    fail = metrics.get(failure, {}).get("value")
    fail_text = f" ({fail:.3f})" if fail is not None and not math.isnan(fail) else ""
    return f"{m['value']:.3f}{fail_text} [{m['low']:.2f}, {m['high']:.2f}]"


def paper1_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for task_name, task in results["tasks"].items():
        for config_name, config in task["configurations"].items():
            cells = [_cell(config["metrics"], name, failure) for _, name, failure in PAPER1_COLUMNS]
            rows.append([task_name, config_name, *cells, f"{task['chance_level']:.3f}"])
    return rows


def headers() -> list[str]:
    return ["Task", "Configuration", *[title for title, _, _ in PAPER1_COLUMNS], "Chance"]


def rich_table(results: dict[str, Any]):
    from rich.table import Table

    table = Table(title=f"{results['experiment']}: value (failure rate) [95% CI]", show_lines=False)
    for title in headers():
        table.add_column(title, no_wrap=True)
    for row in paper1_rows(results):
        table.add_row(*row)
    return table


def markdown_table(results: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(headers()) + " |", "|" + "---|" * len(headers())]
    lines += ["| " + " | ".join(row) + " |" for row in paper1_rows(results)]
    return "\n".join(lines) + "\n"
