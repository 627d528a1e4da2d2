"""The overview: what produced the run (configuration, versions, commit, timings) and every metrics table, with
the paired tests against the baseline regime marked where significant, and the mean ± sd over seeds."""

from __future__ import annotations

import math
from typing import Any

from faithex.report.html import ReportContext, table, text
from faithex.report.sections import register_section
from faithex.report.tables import constant_predictions, tables

#: Metrics summarised over seeds (where a cell group has two or more).
SEED_METRICS = ("answer_accuracy", "macro_f1", "mean_absolute_error", "explanation_accuracy", "alignment_rate",
                "self_consistency_faithfulness", "self_consistency_label_change", "self_consistency_shift")
SIGNIFICANT = 0.05


@register_section("overview", "Overview", order=10)
def overview(context: ReportContext) -> str:
    results = context.results
    parts = [_provenance(results)]
    for title, headers, rows in tables(results):
        parts.append(f"<h3>{text(title)}</h3>{table(headers, rows)}")
    constant = constant_predictions(results)
    if constant:
        items = "".join(f"<li>{text(line)}</li>" for line in constant)
        parts.append(f'<div class="warning"><p>Constant classifiers (accuracy is one label\'s share; no explanation '
                     f"can matter):</p><ul>{items}</ul></div>")
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


def _comparisons(results: dict[str, Any]) -> str:
    """Paired tests of every regime against the first one: green rows are significantly better, red ones worse."""
    from faithex.metrics import METRICS

    rows, classes = [], []
    for row in results.get("comparisons", []):
        # a metric this version no longer has (an older run): read as higher-is-better
        higher = METRICS.get(row["metric"]).higher_is_better if row["metric"] in METRICS else True
        diff = row.get("diff") if row["seed"] != "all" else row.get("mean_diff")
        p_value = row.get("mcnemar_p") if row.get("mcnemar_p") is not None else row.get("p_value")
        significant = p_value is not None and diff is not None and not math.isnan(p_value) and p_value < SIGNIFICANT
        better = significant and ((diff > 0) == higher) and diff != 0
        classes.append("better" if better else "worse" if significant and diff != 0 else "")
        values = (f"{row['a']:.3f} vs {row['b']:.3f}" if row["seed"] != "all" else "")
        interval = (f"[{row['low']:+.3f}, {row['high']:+.3f}]" if row["seed"] != "all" and row.get("low") is not None
                    else "")
        mark = ("▲" if better else "▼") if significant and diff != 0 else ""
        rows.append([row["task"], str(row["seed"]), row["regime"], row["protocol"], row["metric"], values,
                     _number(diff, "+.3f"), interval, _number(p_value, ".2g"), str(row.get("n", "")), mark])
    if not rows:
        return ""
    baseline = results["comparisons"][0]["baseline"]
    note = (f'<p class="note">Each regime against {text(baseline)} on the same test items: per seed, the '
            "difference with a paired bootstrap 95% interval and the exact McNemar p (paired bootstrap p for "
            "non-binary metrics); seed \"all\": paired t-test over seeds. ▲ significantly better (p &lt; 0.05), ▼ "
            "significantly worse (lower is better for errors such as the mean absolute error).</p>")
    headers = ["Task", "Seed", "Regime", "Protocol", "Metric", "Value vs baseline", "Difference", "95% CI", "p",
               "n", ""]
    return f"<h3>Paired tests against {text(baseline)}</h3>{note}{table(headers, rows, classes)}"


def _seeds(results: dict[str, Any]) -> str:
    rows = []
    for group in results.get("seed_summaries", []):
        for metric in SEED_METRICS:
            summary = group["metrics"].get(metric)
            if summary and summary.get("mean") is not None:
                values = ", ".join(_number(v, ".3f") for v in summary.get("values", []))
                rows.append([group["task"], group["regime"], group["protocol"], metric,
                             f"{summary['mean']:.3f} ± {summary['sd']:.3f}", str(summary["n"]), values])
    if not rows:
        return ""
    return "<h3>Mean ± sd over seeds</h3>" + table(["Task", "Regime", "Protocol", "Metric", "Mean ± sd", "Seeds",
                                                     "Per seed"], rows)


def _timings(results: dict[str, Any]) -> str:
    rows, trainings = [], set()
    for cell in results["cells"]:
        for adapter, training in (cell.get("train") or {}).items():
            if (cell["task"], cell["regime"], cell["seed"], adapter) in trainings:
                continue  # every protocol's cell repeats the training it was asked after
            trainings.add((cell["task"], cell["regime"], cell["seed"], adapter))
            rows.append([cell["task"], cell["regime"], str(cell["seed"]), f"training {adapter}",
                         _number(training.get("seconds"), ".1f"), str(training.get("steps", "")),
                         _number(training.get("tokens_per_second"), ".0f")])
        rows.append([cell["task"], cell["regime"], str(cell["seed"]), f"evaluation {cell['protocol']}",
                     _number(cell.get("eval_seconds"), ".1f"), "", ""])
    return ("<details><summary>timings (seconds per training and evaluation)</summary>"
            + table(["Task", "Regime", "Seed", "Step", "Seconds", "Steps", "Tokens/s"], rows) + "</details>")


def _number(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)
