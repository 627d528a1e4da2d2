"""The overview: what produced the run (configuration, versions, commit, timings) and every metrics table, with
the paired tests against the baseline regime (each with its test, p and n; marked only where an exact paired test
says so), and the mean ± sd over seeds. A figure an untrained cell cannot have, or a check its regime cannot pass,
is `n/a` in all of them (`faithex.report.applicable`)."""

from __future__ import annotations

from typing import Any

from faithex.metrics.comparison import EXACT_MCNEMAR, ITEM_SWAP, SIGN_FLIP
from faithex.report.applicable import group_not_applicable, legend, not_applicable
from faithex.report.html import ReportContext, table, text
from faithex.report.numbers import MISSING, interval, missing, number, p_value
from faithex.report.sections import register_section
from faithex.report.tables import tables, untrained_cells, untrained_title

#: Metrics summarised over seeds (where a cell group has two or more).
SEED_METRICS = ("answer_accuracy", "macro_f1", "mean_absolute_error", "explanation_accuracy", "alignment_rate",
                "self_consistency_faithfulness", "self_consistency_label_change", "self_consistency_shift")
SIGNIFICANT = 0.05
#: The tests whose p-value may mark a comparison (▲/▼): exact paired tests on the items. A paired-bootstrap p (older
#: results.json) marks nothing: with one or two discordant pairs it is 1/(B+1), a significance no exact test gives;
#: nor does the t-test over a handful of seeds.
EXACT_TESTS = (EXACT_MCNEMAR, SIGN_FLIP, ITEM_SWAP)


@register_section("overview", "Overview", order=10)
def overview(context: ReportContext) -> str:
    results = context.results
    parts = [_provenance(results)]
    for title, headers, rows in tables(results):
        note = f'<p class="note">{text(legend(rows))}</p>' if legend(rows) else ""
        parts.append(f"<h3>{text(title)}</h3>{table(headers, rows)}{note}")
    untrained = untrained_cells(results)
    if untrained:
        items = "".join(f"<li>{text(line)}</li>" for line in untrained)
        parts.append(f'<div class="warning"><p>{text(untrained_title(results))}:</p><ul>{items}</ul></div>')
    parts.append(_comparisons(results))
    parts.append(_seeds(results))
    parts.append(_timings(results))
    if context.run_dir is not None and (context.run_dir / "config.yaml").is_file():
        config = (context.run_dir / "config.yaml").read_text(encoding="utf-8")
        parts.append(f"<details><summary>configuration (config.yaml)</summary><pre>{text(config)}</pre></details>")
    return "\n".join(p for p in parts if p)


def _provenance(results: dict[str, Any]) -> str:
    provenance = results.get("provenance") or {}
    versions = ", ".join(f"{k} {v}" for k, v in (provenance.get("versions") or {}).items())
    facts = [("experiment", results.get("experiment")), ("model", provenance.get("model")),
             ("seeds", ", ".join(str(s) for s in provenance.get("seeds") or [])),
             ("commit", provenance.get("git_commit")),
             ("earlier commits (samples reused)", ", ".join(provenance.get("earlier_commits") or [])),
             ("machine", provenance.get("machine")),
             ("precision", provenance.get("precision")), ("versions", versions),
             ("wall time (the last run into this directory)",
              f"{results['seconds']} s" if results.get("seconds") is not None else None)]
    rows = [[name, str(value)] for name, value in facts if value not in (None, "")]
    return table(None, rows) if rows else ""


def comparison_test(row: dict[str, Any]) -> tuple[str, Any, bool]:
    """(the test's name, its p, whether that p may mark the row). results.json since exact tests name their test
    ("test") and give its "p_value"; older ones give "mcnemar_p" where McNemar was run, and otherwise only a paired
    bootstrap p, shown but never marking."""
    if "test" in row:  # None where the two cells shared no item: no test ran
        return row["test"] or MISSING, row.get("p_value"), row["test"] in EXACT_TESTS
    if row.get("mcnemar_p") is not None:
        return "exact McNemar", row["mcnemar_p"], True
    return "paired bootstrap", row.get("p_value"), False


def comparison_mark(row: dict[str, Any], higher_is_better: bool = True) -> str:
    """"better", "worse" or "": significant (p < 0.05) by an exact test, and in which direction for the metric."""
    _, p, marks = comparison_test(row)
    diff = row.get("diff") if row.get("seed") != "all" else row.get("mean_diff")
    if not marks or missing(p) or missing(diff) or p >= SIGNIFICANT or diff == 0:
        return ""
    return "better" if (diff > 0) == higher_is_better else "worse"


def _comparison_n(row: dict[str, Any]) -> str:
    """Items paired (and the discordant pairs an exact McNemar rests on), or the seeds of a test over seeds."""
    n = row.get("n")
    if missing(n):
        return MISSING
    if row.get("seed") == "all":
        return f"{n} seeds"
    a_only, b_only = row.get("a_only"), row.get("b_only")
    return f"{n} ({a_only} + {b_only} discordant)" if not (missing(a_only) or missing(b_only)) else str(n)


def _comparisons(results: dict[str, Any]) -> str:
    """Paired tests of every regime against the first one: green rows are significantly better, red ones worse."""
    from faithex.metrics import METRICS

    rows, classes = [], []
    for row in results.get("comparisons", []):
        # a metric this version no longer has (an older run): read as higher-is-better
        higher = METRICS.get(row["metric"]).higher_is_better if row["metric"] in METRICS else True
        test, p, _ = comparison_test(row)
        unreadable = _comparison_not_applicable(results, row)
        mark = "" if unreadable else comparison_mark(row, higher)
        classes.append(mark)
        if unreadable:  # a figure of an untrained cell: no value, no difference, no test to read
            values, difference, p = unreadable, MISSING, None
        elif row["seed"] == "all":
            values, difference = "", number(row.get("mean_diff"), signed=True)
        else:
            values = f"{number(row.get('a'))} vs {number(row.get('b'))}"
            bounds = interval(row.get("low"), row.get("high"), digits=3, signed=True)
            difference = " ".join(part for part in (number(row.get("diff"), signed=True), bounds) if part)
        rows.append([row["task"], str(row["seed"]), row["regime"], row["protocol"], row["metric"], values,
                     difference, _comparison_n(row), test, p_value(p), {"better": "▲", "worse": "▼"}.get(mark, "")])
    if not rows:
        return ""
    baseline = results["comparisons"][0]["baseline"]
    note = (f'<p class="note">Each regime against {text(baseline)} on the same test items: per seed, the '
            "difference with its 95% interval, the items paired (n) and the exact paired test's p (exact McNemar "
            "for per-item outcomes, a sign-flip permutation test for per-item scores, an item-swap permutation test "
            "for macro-F1); seed \"all\": paired t-test "
            "over seeds (n: the seeds). ▲ significantly better (p &lt; 0.05 by an exact paired test), ▼ "
            "significantly worse (lower is better for errors such as the mean absolute error). A paired-bootstrap "
            "p (runs made before the exact tests) and the t-test over seeds mark nothing.</p>")
    headers = ["Task", "Seed", "Regime", "Protocol", "Metric", "Value vs baseline", "Difference [95% CI]", "n",
               "Test", "p", ""]
    return f"<h3>Paired tests against {text(baseline)}</h3>{note}{table(headers, rows, classes)}"


def _comparison_not_applicable(results: dict[str, Any], row: dict[str, Any]) -> str | None:
    """Why the comparison cannot be read (either side's figure is n/a, in its seed or, for "all", in any), or
    None."""
    sides = [(row["regime"], row["protocol"]), (row.get("baseline"), row.get("baseline_protocol", row["protocol"]))]
    return next((found for regime, protocol in sides
                 if (found := group_not_applicable(results, row["metric"], row["task"], regime, protocol,
                                                   row["seed"]))), None)


def _seeds(results: dict[str, Any]) -> str:
    rows = []
    for group in results.get("seed_summaries", []):
        for metric in SEED_METRICS:
            summary = group["metrics"].get(metric)
            if summary and summary.get("mean") is not None:
                unreadable = group_not_applicable(results, metric, group["task"], group["regime"], group["protocol"])
                if unreadable:  # a mean over seeds with an untrained one means nothing either
                    mean, values = unreadable, _per_seed(results, group, metric)
                else:
                    mean = f"{number(summary['mean'])} ± {number(summary.get('sd'))}"
                    values = ", ".join(number(v) for v in summary.get("values", []))
                rows.append([group["task"], group["regime"], group["protocol"], metric, mean, str(summary["n"]),
                             values])
    if not rows:
        return ""
    return "<h3>Mean ± sd over seeds</h3>" + table(["Task", "Regime", "Protocol", "Metric", "Mean ± sd", "Seeds",
                                                     "Per seed"], rows)


def _per_seed(results: dict[str, Any], group: dict[str, Any], metric: str) -> str:
    """`s0 0.410, s1 n/a (untrained)`: each seed's figure, or why it is not applicable."""
    members = sorted((c for c in results["cells"] if (c["task"], c["regime"], c["protocol"]) ==
                      (group["task"], group["regime"], group["protocol"]) and metric in c["metrics"]),
                     key=lambda c: c["seed"])
    return ", ".join(f"s{c['seed']} {not_applicable(results, c, metric) or number(c['metrics'][metric].get('value'))}"
                     for c in members)


def _timings(results: dict[str, Any]) -> str:
    rows, trainings = [], set()
    for cell in results["cells"]:
        for adapter, training in (cell.get("train") or {}).items():
            if (cell["task"], cell["regime"], cell["seed"], adapter) in trainings:
                continue  # every protocol's cell repeats the training it was asked after
            trainings.add((cell["task"], cell["regime"], cell["seed"], adapter))
            rows.append([cell["task"], cell["regime"], str(cell["seed"]), f"training {adapter}",
                         number(training.get("seconds"), 1), str(training.get("steps", "")),
                         number(training.get("tokens_per_second"), 0)])
        rows.append([cell["task"], cell["regime"], str(cell["seed"]), f"evaluation {cell['protocol']}",
                     number(cell.get("eval_seconds"), 1), "", ""])
    return ("<details><summary>timings (seconds per training and evaluation)</summary>"
            + table(["Task", "Regime", "Seed", "Step", "Seconds", "Steps", "Tokens/s"], rows) + "</details>")

