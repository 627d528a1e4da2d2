"""Paper 3: faithfulness of self-explanations per task and style for every regime (before and after training),
its graded form (the shift) where answers were scored, and the generalisation grid (regime x task x style)."""

from __future__ import annotations

from faithex.report.html import ReportContext
from faithex.report.plots import faithfulness_cells, faithfulness_figure, generalisation_figure
from faithex.report.sections import register_section

SHIFT = "self_consistency_shift"


@register_section("paper3", "Paper 3: faithfulness of self-explanations", order=40)
def paper3(context: ReportContext) -> str | None:
    results = context.results
    cells = faithfulness_cells(results)
    if not cells:
        return None
    parts = [context.figure(faithfulness_figure(results), "faithfulness",
                            "Faithful among correctly classified and checked examples (Madsen's figure), per task "
                            "and style, for every regime; 95% bootstrap intervals.")]
    if any(SHIFT in cell["metrics"] for protocols in cells.values() for regimes in protocols.values()
           for cell in regimes.values()):
        parts.append(context.figure(faithfulness_figure(results, SHIFT), "shift",
                                    "The graded check: how far applying the self-explanation moves the probability "
                                    "the check reads (fall of the prediction's, rise of the target's)."))
    parts.append(context.figure(generalisation_figure(results), "generalisation",
                                "Faithfulness of each regime on each task and style: training on one style or task "
                                "and asking another reads off one row."))
    return "\n".join(parts)
