"""The verdicts on the papers' claims (results.json "verdicts", written by `faithex.claims`), first on the page:
one row per claim and setting, the verdict coloured (supported, contradicted, inconclusive, not applicable) with its
qualifier, and the evidence it rests on (effect and interval, exact paired p with its Holm adjustment, n, the
minimum detectable effect, the test) and why. Claims and settings come from the user's YAML: every cell is escaped
text; the verdict's colour is a class chosen from a fixed list, never from the data."""

from __future__ import annotations

from typing import Any

from faithex.report.html import ReportContext, text
from faithex.report.sections import register_section
from faithex.report.tables import VERDICT_HEADERS, VERDICT_TITLE, verdict_row, verdicts

#: The CSS class of each verdict (report.css colours them); any other value gets none.
VERDICT_CLASSES = {"supported": "supported", "contradicted": "contradicted", "inconclusive": "inconclusive",
                   "not applicable": "not-applicable"}
VERDICT_COLUMN = VERDICT_HEADERS.index("Verdict")


@register_section("verdicts", "Verdicts", order=5)
def verdicts_section(context: ReportContext) -> str | None:
    found = verdicts(context.results)
    if not found:
        return None
    head = "".join(f"<th>{text(header)}</th>" for header in [*VERDICT_HEADERS, "Why"])
    body = "".join(_row(verdict) for verdict in found)
    return (f'<p class="note">{text(VERDICT_TITLE[0].upper() + VERDICT_TITLE[1:])}.</p>'
            f'<table class="verdicts"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def _row(verdict: dict[str, Any]) -> str:
    cells = [f"<td>{text(value)}</td>" for value in [*verdict_row(verdict), verdict.get("reason") or ""]]
    cells[VERDICT_COLUMN] = f"<td>{_verdict(verdict)}</td>"
    return f"<tr>{''.join(cells)}</tr>"


def _verdict(verdict: dict[str, Any]) -> str:
    """`<span class="verdict supported">supported</span> (qualifier)`, both escaped."""
    name = str(verdict.get("verdict") or "-")
    css = VERDICT_CLASSES.get(name)
    badge = f'<span class="verdict {css}">{text(name)}</span>' if css else text(name)
    qualifier = f" ({text(verdict['qualifier'])})" if verdict.get("qualifier") else ""
    return badge + qualifier
