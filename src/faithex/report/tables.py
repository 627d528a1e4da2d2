"""Results tables, in the terminal (rich) and as Markdown: paper 1's table for cells asked with `direct` or
`two_step`, a label table for cells asked with `score`, `generate` or `explain_then_score` (with the mean absolute
error where the task is an ordinal scale), and paper 3's self-consistency tables (faithfulness; and the label change
and the shift, where the run has them, in a second table so that neither outgrows a 200-column terminal).

Every figure carries its own n: `value (failure rate) [95% CI] n=N`. The failure rate sits in parentheses without
an n when it counts the same examples as the value (paper 1: every test item); where it counts others (a
self-explanation's failure counts every test item, faithfulness only those classified correctly and checked) it
says its own: `0.000 (0.750, n=80) [0.00, 0.00] n=52`. Numbers are written by `faithex.report.numbers`, the one
rule for every report (no `-0.000`). A faithfulness or alignment figure of a cell the guards call untrained is
`n/a (untrained)`, its accuracy marked `†`; a check the regime cannot pass is `n/a (by construction)`
(`faithex.report.applicable`); each table's legend says which of these it shows."""

from __future__ import annotations

from typing import Any

from faithex.report.applicable import has_guards, legend, untrained_lines
from faithex.report.battery import battery_table
from faithex.report.cells import cell_figure
from faithex.report.numbers import MISSING, count, interval, missing, number, p_value

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
#: Paper 3's checks, in two tables that each fit a 200-column terminal: the faithfulness readings, then the graded
#: shift and the classification accuracy (with chance). The label change and the shift are shown only when some
#: cell has them (runs made since these metrics exist; the shift: scored checks only).
FAITHFULNESS_COLUMNS = [
    ("Faithful (correct)", "self_consistency_faithfulness", "self_explanation_failure"),
    ("Faithful (parsed)", "self_consistency_faithfulness_parsed", None),
]
CHANGE_COLUMN = ("Label changed", "self_consistency_label_change", None)
SHIFT_COLUMN = ("Shift", "self_consistency_shift", None)
CHECK_ACCURACY_COLUMN = ("Accuracy", "self_consistency_accuracy", "self_consistency_classification_failure")
PAPER1_PROTOCOLS = ("direct", "two_step")
LABEL_PROTOCOLS = ("score", "generate", "explain_then_score")


def _several_seeds(results: dict[str, Any]) -> bool:
    return len({c["seed"] for c in results["cells"]}) > 1


def _rows(results: dict[str, Any], protocols: tuple[str, ...], columns, with_protocol: bool,
          with_chance: bool = True) -> list[list[str]]:
    seeds = _several_seeds(results)
    rows = []
    for cell in results["cells"]:
        if cell["protocol"] not in protocols:
            continue
        task = results["tasks"][cell["task"]]
        head = [cell["task"], cell["regime"]] + ([cell["protocol"]] if with_protocol else [])
        head += [str(cell["seed"])] if seeds else []
        cells = [cell_figure(results, cell, name, failure) for _, name, failure in columns]
        rows.append([*head, *cells] + ([number(task.get("chance_level"))] if with_chance else []))
    return rows


def _headers(results: dict[str, Any], columns, with_protocol: bool, regime_title: str,
             with_chance: bool = True) -> list[str]:
    head = ["Task", regime_title] + (["Protocol"] if with_protocol else [])
    head += ["Seed"] if _several_seeds(results) else []
    return [*head, *[title for title, _, _ in columns]] + (["Chance"] if with_chance else [])


def tables(results: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, rows) of every table this run has data for."""
    out = []
    paper1 = _rows(results, PAPER1_PROTOCOLS, PAPER1_COLUMNS, with_protocol=False)
    if paper1:
        out.append(("paper 1: value (failure rate) [95% CI] n",
                    _headers(results, PAPER1_COLUMNS, False, "Configuration"), paper1))
    label_columns = LABEL_COLUMNS + ([MAE_COLUMN] if has_metric(results, MAE_COLUMN[1]) else [])
    labels = _rows(results, LABEL_PROTOCOLS, label_columns, with_protocol=True)
    if labels:
        out.append(("labels: value (failure rate) [95% CI] n", _headers(results, label_columns, True, "Regime"),
                    labels))
    protocols = _self_consistency_protocols(results)
    faithful = FAITHFULNESS_COLUMNS + ([CHANGE_COLUMN] if has_metric(results, CHANGE_COLUMN[1]) else [])
    checks = _rows(results, protocols, faithful, with_protocol=True, with_chance=False)
    if checks:
        out.append(("self-consistency, faithfulness: value (explanation failure rate) [95% CI] n",
                    _headers(results, faithful, True, "Regime", with_chance=False), checks))
        shifted = ([SHIFT_COLUMN] if has_metric(results, SHIFT_COLUMN[1]) else []) + [CHECK_ACCURACY_COLUMN]
        out.append(("self-consistency, shift and accuracy: value (classification failure rate) [95% CI] n",
                    _headers(results, shifted, True, "Regime"), _rows(results, protocols, shifted, True)))
    battery = battery_table(results)
    if battery:
        out.append(("faithfulness battery: value [95% CI] n (baseline or control); n/a: the test cannot ask the "
                    "regime, -: not asked", *battery))
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
        # Text everywhere: names from the user's data (the experiment's, tasks', regimes') are never markup
        table = Table(title=Text(f"{results['experiment']}: {title}"), caption=Text(legend(rows)) or None)
        for header in headers:
            table.add_column(Text(header), no_wrap=True)
        for row in rows:
            table.add_row(*[Text(value) for value in row])
        out.append(table)
    return out


def markdown_cell(value: Any) -> str:
    """A value inside a Markdown table cell: a `|` would end the cell and a line break the row; `<` and `&` as
    entities, so that a name holding markup (`<script>`) is shown, not run, by viewers that pass HTML through."""
    from markupsafe import escape

    return str(escape(" ".join(str(value).splitlines()))).replace("|", "\\|")


def markdown_table(results: dict[str, Any]) -> str:
    """Every table of the run in Markdown (cells escaped: a `|` in a task id would break the row)."""
    parts = []
    for title, headers, rows in tables(results):
        lines = [f"**{markdown_cell(title)}**", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(markdown_cell(value) for value in row) + " |" for row in rows]
        lines += ["", f"*{markdown_cell(legend(rows))}*"] if legend(rows) else []
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


#: The verdicts' colours, in the terminal (rich styles); report.html has its own (CSS classes).
VERDICT_STYLES = {"supported": "bold green", "contradicted": "bold red", "inconclusive": "bold yellow",
                  "not applicable": "dim"}
VERDICT_HEADERS = ["Claim", "Setting", "Verdict", "Effect [95% CI]", "p (Holm)", "n", "MDE", "Test"]
VERDICT_TITLE = ("verdicts: effect = treatment - baseline [95% CI], exact paired p (Holm within the paper), n items "
                 "paired, MDE at 80% power")


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """results["verdicts"] (docs: the claims' schema); empty for runs made before verdicts existed."""
    return [v for v in results.get("verdicts") or [] if isinstance(v, dict)]


def verdict_name(verdict: dict[str, Any]) -> str:
    """The verdict with its qualifier in parentheses: `inconclusive (untrained: joint)`."""
    name = str(verdict.get("verdict") or MISSING)
    return f"{name} ({verdict['qualifier']})" if verdict.get("qualifier") else name


def verdict_effect(verdict: dict[str, Any]) -> str:
    """`+0.020 [-0.010, +0.050]`: a difference, signed, its interval in the same digits (they are compared with
    the smallest effect of interest, a few hundredths)."""
    if missing(verdict.get("effect")):
        return MISSING
    bounds = interval(verdict.get("low"), verdict.get("high"), digits=3, signed=True)
    return " ".join(part for part in (number(verdict["effect"], signed=True), bounds) if part)


def verdict_p(verdict: dict[str, Any], holm: str = "") -> str:
    """`0.5 (0.5)`: raw p, Holm-adjusted in parentheses (`holm` written before it: "Holm ")."""
    if missing(verdict.get("p")):
        return MISSING
    adjusted = f" ({holm}{p_value(verdict['p_holm'])})" if not missing(verdict.get("p_holm")) else ""
    return p_value(verdict["p"]) + adjusted


def verdict_row(verdict: dict[str, Any]) -> list[str]:
    """One verdict as a row under VERDICT_HEADERS."""
    n = verdict.get("n")
    return [str(verdict.get("claim", MISSING)), str(verdict.get("setting", MISSING)), verdict_name(verdict),
            verdict_effect(verdict), verdict_p(verdict), MISSING if missing(n) else str(n),
            number(verdict.get("mde")), str(verdict.get("test") or MISSING)]


def verdict_line(verdict: dict[str, Any]) -> str:
    """The one-line form: `paper1.alignment [decision_tree] supported (untrained: joint): +0.020 [-0.010, +0.050],
    p = 0.5 (Holm 0.5), n = 300, MDE 0.062`; a verdict without an effect (not applicable) gives its reason."""
    head = f"{verdict.get('claim', MISSING)} [{verdict.get('setting', MISSING)}] {verdict_name(verdict)}"
    if missing(verdict.get("effect")):
        return f"{head}: {verdict['reason']}" if verdict.get("reason") else head
    evidence = [verdict_effect(verdict)]
    p = verdict_p(verdict, holm="Holm ")
    evidence += [f"p {'' if p.startswith('<') else '= '}{p}"] if not missing(verdict.get("p")) else []
    evidence += [f"n = {verdict['n']}"] if not missing(verdict.get("n")) else []
    evidence += [f"MDE {number(verdict['mde'])}"] if not missing(verdict.get("mde")) else []
    return f"{head}: {', '.join(evidence)}{_within_cell(verdict)}"


def _within_cell(verdict: dict[str, Any]) -> str:
    """For a claim comparing two metrics of the same items (a follow rate and its ignore baseline): both values,
    and the control the claim needs: `; 0.980 vs 0.520, control mistake_nochange_keep 0.950 n=80 (needs 0.9)`."""
    parts = []
    if str(verdict.get("baseline") or "").endswith("(same items)"):
        parts.append(f"{number(verdict.get('treatment_value'))} vs {number(verdict.get('baseline_value'))}")
    control = verdict.get("control")
    if isinstance(control, dict):
        parts.append(f"control {control.get('metric')} {number(control.get('value'))} {count(control.get('n'))} "
                     f"(needs {number(control.get('least'))})")
    return "; " + ", ".join(parts) if parts else ""


def verdict_lines(results: dict[str, Any]) -> list[str]:
    """Each verdict in its one-line form (the demos' closing lines)."""
    return [verdict_line(verdict) for verdict in verdicts(results)]


def verdict_table(results: dict[str, Any]):
    """The verdicts as a rich Table, the verdict coloured; None when the run has none. Every cell is a Text:
    claims and settings come from the user's YAML and `[bold]` in them is text, not markup."""
    from rich.table import Table
    from rich.text import Text

    found = verdicts(results)
    if not found:
        return None
    table = Table(title=Text(f"{results.get('experiment', 'run')}: {VERDICT_TITLE}"))
    for header in VERDICT_HEADERS:
        # the verdict's qualifier may be long: that column wraps, the figures never do
        table.add_column(Text(header), no_wrap=header != "Verdict", overflow="fold")
    for verdict in found:
        row = [Text(value) for value in verdict_row(verdict)]
        name = str(verdict.get("verdict") or MISSING)
        row[2] = Text.assemble((name, VERDICT_STYLES.get(name, "")), verdict_name(verdict)[len(name):])
        table.add_row(*row)
    return table


def verdict_markdown(results: dict[str, Any]) -> str:
    """report.md's "Verdicts" section: the table, and why each verdict is what it is; "" when the run has none."""
    found = verdicts(results)
    if not found:
        return ""
    headers = [*VERDICT_HEADERS, "Why"]
    lines = ["## Verdicts", "", f"*{VERDICT_TITLE}*", "", "| " + " | ".join(headers) + " |",
             "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(markdown_cell(value) for value in [*verdict_row(v), v.get("reason") or ""]) + " |"
              for v in found]
    return "\n".join(lines) + "\n"


def untrained_cells(results: dict[str, Any]) -> list[str]:
    """One line per training the guards call untrained (`† untrained: <task>/<regime>/s<seed> (<protocols>):
    <reason>`); for a results.json written before the guards existed, the constant classifiers its confusion
    matrices show (`constant_predictions`)."""
    return untrained_lines(results) if has_guards(results) else constant_predictions(results)


def untrained_title(results: dict[str, Any]) -> str:
    """The heading of `untrained_cells` in every report."""
    if has_guards(results):
        return ("Untrained cells (their accuracy is kept, marked †; their faithfulness and alignment figures are "
                "n/a: docs/claims.md)")
    return "Constant classifiers (accuracy is one label's share; no explanation can matter)"


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
