"""Paper 1: answer accuracy, explanation accuracy and alignment per configuration; accuracy against tree depth
when the run holds paper 1's depth study."""

from __future__ import annotations

from faithex.report.html import ReportContext
from faithex.report.plots import depth_cells, depth_figure, paper1_cells, paper1_figure
from faithex.report.sections import register_section


@register_section("paper1", "Paper 1: reasoning-grounded explanations", order=20)
def paper1(context: ReportContext) -> str | None:
    results = context.results
    if not paper1_cells(results):
        return None
    parts = [context.figure(paper1_figure(results), "paper1",
                            "Answer accuracy, explanation accuracy and alignment (answer and explanation agree) per "
                            "configuration, 95% bootstrap intervals; dashed: chance.")]
    if depth_cells(results):
        parts.append(context.figure(depth_figure(results), "depth",
                                    "Answer and explanation accuracy against the tree's depth, with and without "
                                    "reasoning."))
    return "\n".join(parts)
