"""Results tables, in the terminal (rich) and as Markdown: paper 1's table for cells asked with `direct` or
`two_step`, a label table for cells asked with `score`, `generate` or `explain_then_score` (with the mean absolute
error where the task is an ordinal scale), and paper 3's faithfulness table for the self-consistency protocols.
Cells: `value (failure rate) [95% CI]`."""

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
LABEL_COLUMNS = [
    ("Accuracy", "answer_accuracy", "answer_failure"),
    ("Macro-F1", "macro_f1", None),
]
#: Shown only when some cell has it (ordinal tasks: paper 2's 1-5 ratings).
MAE_COLUMN = ("MAE", "mean_absolute_error", None)
FAITHFULNESS_COLUMNS = [
    ("Faithful (correct)", "self_consistency_faithfulness", "self_explanation_failure"),
    ("Faithful (parsed)", "self_consistency_faithfulness_parsed", None),
    ("Accuracy", "self_consistency_accuracy", "self_consistency_classification_failure"),
]
#: Shown only when some cell has them (runs made since these metrics exist; the shift: scored checks only).
CHANGE_COLUMN = ("Label changed", "self_consistency_label_change", None)
SHIFT_COLUMN = ("Shift", "self_consistency_shift", None)
PAPER1_PROTOCOLS = ("direct", "two_step")
LABEL_PROTOCOLS = ("score", "generate", "explain_then_score")


def _cell(metrics: dict[str, Any], name: str, failure: str | None) -> str:
    m = metrics.get(name)
    if not m or m["value"] is None or (isinstance(m["value"], float) and math.isnan(m["value"])):
        return "-"
    fail = (metrics.get(failure) or {}).get("value") if failure else None
    fail_text = f" ({fail:.3f})" if fail is not None and not math.isnan(fail) else ""
    return f"{m['value']:.3f}{fail_text} [{m['low']:.2f}, {m['high']:.2f}]"


def _several_seeds(results: dict[str, Any]) -> bool:
    return len({c["seed"] for c in results["cells"]}) > 1


def _rows(results: dict[str, Any], protocols: tuple[str, ...], columns, with_protocol: bool) -> list[list[str]]:
    seeds = _several_seeds(results)
    rows = []
    for cell in results["cells"]:
        if cell["protocol"] not in protocols:
            continue
        task = results["tasks"][cell["task"]]
        head = [cell["task"], cell["regime"]] + ([cell["protocol"]] if with_protocol else [])
        head += [str(cell["seed"])] if seeds else []
        cells = [_cell(cell["metrics"], name, failure) for _, name, failure in columns]
        rows.append([*head, *cells, f"{task['chance_level']:.3f}"])
    return rows


def _headers(results: dict[str, Any], columns, with_protocol: bool, regime_title: str) -> list[str]:
    head = ["Task", regime_title] + (["Protocol"] if with_protocol else [])
    head += ["Seed"] if _several_seeds(results) else []
    return [*head, *[title for title, _, _ in columns], "Chance"]


def tables(results: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) of every table this run has data for."""
    out = []
    paper1 = _rows(results, PAPER1_PROTOCOLS, PAPER1_COLUMNS, with_protocol=False)
    if paper1:
        out.append(("paper 1: value (failure rate) [95% CI]",
                    _headers(results, PAPER1_COLUMNS, False, "Configuration"), paper1))
    label_columns = LABEL_COLUMNS + ([MAE_COLUMN] if has_metric(results, MAE_COLUMN[1]) else [])
    labels = _rows(results, LABEL_PROTOCOLS, label_columns, with_protocol=True)
    if labels:
        out.append(("labels: value (failure rate) [95% CI]", _headers(results, label_columns, True, "Regime"), labels))
    optional = [column for column in (CHANGE_COLUMN, SHIFT_COLUMN) if has_metric(results, column[1])]
    check_columns = FAITHFULNESS_COLUMNS[:2] + optional + FAITHFULNESS_COLUMNS[2:]
    checks = _rows(results, _self_consistency_protocols(results), check_columns, with_protocol=True)
    if checks:
        out.append(("self-consistency: value (explanation / classification failure rate) [95% CI]",
                    _headers(results, check_columns, True, "Regime"), checks))
    return out


def has_metric(results: dict[str, Any], name: str) -> bool:
    return any(name in cell["metrics"] for cell in results["cells"])


def _self_consistency_protocols(results: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted({c["protocol"] for c in results["cells"] if "self_consistency_faithfulness" in c["metrics"]}))


def paper1_rows(results: dict[str, Any]) -> list[list[str]]:
    return _rows(results, PAPER1_PROTOCOLS, PAPER1_COLUMNS, with_protocol=False)


def rich_tables(results: dict[str, Any]) -> list:
    from rich.table import Table
    from rich.text import Text

    out = []
    for title, headers, rows in tables(results):
        table = Table(title=f"{results['experiment']}: {title}")
        for header in headers:
            table.add_column(header, no_wrap=True)
        for row in rows:
            table.add_row(*[Text(value) for value in row])  # Text: names from the user's data are never markup
        out.append(table)
    return out


def markdown_table(results: dict[str, Any]) -> str:
    """Every table of the run in Markdown (cells escaped: a `|` in a task id would break the row)."""
    parts = []
    for title, headers, rows in tables(results):
        lines = [f"**{title}**", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(value.replace("|", "\\|") for value in row) + " |" for row in rows]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def constant_predictions(results: dict[str, Any], least: int = 5) -> list[str]:
    """One line per cell whose model gave the same label to every test example it labelled (at least `least`): its
    accuracy is the share of that label, and the faithfulness of its explanations cannot be read (no word matters
    to a model that ignores its input)."""
    lines = []
    for cell in results["cells"]:
        matrix = cell.get("confusion_matrix")
        if not matrix:
            continue
        predicted = [sum(row[j] for row in matrix["matrix"]) for j in range(len(matrix["labels"]))]
        total = sum(predicted)
        if total < least or max(predicted) < total:
            continue
        names = (results["tasks"].get(cell["task"]) or {}).get("labels") or matrix["labels"]
        label = names[predicted.index(total)]
        lines.append(f"{cell['regime']} on {cell['task']} ({cell['protocol']}, seed {cell['seed']}) answers "
                     f"'{label}' for all {total} test examples: a constant classifier")
    return lines
