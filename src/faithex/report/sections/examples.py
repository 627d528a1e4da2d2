"""The per-example viewer: every sample of the run (input, prompts, reasoning, answer, explanation, gold label,
agreement flags, parse failures, and every intervened prompt's text and answer: the battery's interventions and the
random-word controls), filterable to errors, disagreements and parse failures, with a text search; word
attributions as a heat map over the input where the run directory holds some (`faithex attribute --out
RUN/attributions/NAME.json`, matched by example id).

Rows are prepared here (flags computed once in Python), travel as escaped JSON and are drawn by the page's script a
page at a time (`assets/report.js`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faithex.report.html import ReportContext, script_json
from faithex.report.sections import register_section

ATTRIBUTIONS = "attributions"
#: What the viewer shows of a self-consistency check record.
CHECK_FIELDS = ("style", "prediction_name", "intervened_input", "intervened_prediction_name", "target_name",
                "faithful")
CONTROLS = """
<p class="note">Click an example for its input, prompts, outputs and parsed values. Filters combine; the search
matches every word typed in the id, input, outputs, answer or gold label.</p>
<div id="viewer-controls">
  <input type="search" id="viewer-search" placeholder="search inputs and outputs" aria-label="search">
  <label><input type="checkbox" id="only-errors"> errors (answer is not the gold label)</label>
  <label><input type="checkbox" id="only-disagreements"> disagreements (explanation vs answer; not faithful)</label>
  <label><input type="checkbox" id="only-failures"> parse failures</label>
  <select id="viewer-task" aria-label="task"><option value="">every task</option></select>
  <select id="viewer-regime" aria-label="regime"><option value="">every regime</option></select>
  <select id="viewer-protocol" aria-label="protocol"><option value="">every protocol</option></select>
</div>
<p id="viewer-count" class="note"></p>
<table id="viewer-table">
  <thead><tr><th>Task</th><th>Regime</th><th>Protocol</th><th>Seed</th><th>Id</th><th>Gold</th><th>Answer</th>
  <th>Flags</th></tr></thead>
  <tbody id="viewer-body"></tbody>
</table>
<button id="viewer-more" type="button">show more</button>
"""


@register_section("examples", "Examples", order=90)
def examples(context: ReportContext) -> str | None:
    if context.run_dir is None:
        return None
    attributions = _attributions(context.run_dir / ATTRIBUTIONS)
    rows = [viewer_row(sample, attributions) for sample in _samples(context.run_dir / "samples")]
    if not rows:
        return None
    return f'{CONTROLS}<script type="application/json" id="viewer-data">{script_json(rows)}</script>'


def _samples(folder: Path) -> list[dict[str, Any]]:
    """Every whole line of the sample files (read only: a line cut short by a kill is skipped, not repaired)."""
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def _attributions(folder: Path) -> dict[str, dict[str, list]]:
    """{example id: {words, scores}} from the attribution files in `folder` (the first file naming an id wins)."""
    from faithex.attribution.result import AttributionResult

    found: dict[str, dict[str, list]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        for item in AttributionResult.load(path):
            found.setdefault(item.id, {"words": list(item.words), "scores": [float(s) for s in item.scores]})
    return found


def viewer_row(sample: dict[str, Any], attributions: dict[str, dict[str, list]] | None = None) -> dict[str, Any]:
    """One sample as the viewer draws it, with its flags: `error` (answered, not the gold label), `disagree` (the
    paper-1 explanation names another label, or the self-explanation failed its check), `failed` (a parse
    failure)."""
    parsed = sample.get("parsed") or {}
    outputs = sample.get("outputs") or {}
    check = sample.get("self_consistency") if isinstance(sample.get("self_consistency"), dict) else None
    answer = parsed.get("answer", parsed.get("classification"))
    gold = sample.get("gold")
    if check is not None:
        error = check.get("correct") is False
        disagree, label = check.get("faithful") is False, "not faithful"
    else:
        error = gold is not None and answer is not None and answer != gold
        explained = parsed.get("explanation")
        disagree = explained is not None and answer is not None and explained != answer
        label = "explanation disagrees"
    failed = [str(name) for name in sample.get("parse_failed") or []]
    reasoning = sample.get("gold_reasoning")
    return {
        "task": sample.get("task"), "regime": sample.get("regime"), "protocol": sample.get("protocol"),
        "seed": sample.get("seed"), "id": sample.get("id"), "input": sample.get("input"),
        "gold": sample.get("gold_name", gold), "gold_reasoning": None if reasoning is None else json.dumps(reasoning),
        "answer": outputs.get("answer", outputs.get("classification")),
        "outputs": {k: v for k, v in outputs.items() if v is not None},
        "parsed": parsed, "prompts": sample.get("prompts") or {},
        "check": {k: check.get(k) for k in CHECK_FIELDS if check.get(k) is not None} if check else None,
        "failed": failed,
        "flags": {"error": error, "disagree": disagree, "disagree_label": label, "failed": bool(failed)},
        "attribution": (attributions or {}).get(sample.get("id")),
        "interventions": intervention_lines(sample),
    }


#: Fields of an intervention record the viewer leaves out (label scores: numbers, in the sample file).
_HIDDEN = ("scores",)


def intervention_lines(sample: dict[str, Any]) -> dict[str, str]:
    """The sample's interventions as the viewer shows them, one entry per intervened prompt: `mistake 1` ->
    "reasoning: 1,1,1\nimplied_output: 1\nanswer: 1\nexplanation: ..." (the reasoning and explanation
    interventions' records, and a self-consistency check's random-word control)."""
    records: dict[str, Any] = dict(sample.get("interventions") or {}) if isinstance(sample.get("interventions"),
                                                                                   dict) else {}
    check = sample.get("self_consistency")
    if isinstance(check, dict) and isinstance(check.get("random_control"), dict):
        records["random control"] = check["random_control"]
    lines: dict[str, str] = {}
    for kind, value in records.items():
        if isinstance(value, list):
            for i, record in enumerate(value):
                if isinstance(record, dict):
                    lines[f"{kind} {record.get('step', record.get('k', i))}"] = _describe(record)
        elif isinstance(value, dict):
            lines[kind] = _describe(value)
    return lines


def _describe(record: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {json.dumps(value) if isinstance(value, (dict, list)) else value}"
                     for key, value in record.items() if key not in _HIDDEN and value is not None)
