"""The faithfulness battery (issue 17): per task and regime asked with an intervention, each causal test's rate with
its interval and the rate it is read against (the table is in the overview with the others)."""

from __future__ import annotations

from faithex.report.battery import battery_figure, figure_groups
from faithex.report.html import ReportContext
from faithex.report.sections import register_section

CAPTION = ("Per task and regime: the share of flipped reasoning steps whose answer (explanation) follows what the "
           "changed reasoning implies, the no-change control, the conflict (steps flipped, stated output left), the "
           "accuracy after a filler of the reasoning's length, the early-answering area, the paraphrase, and for "
           "explanation-first regimes the label after another item's explanation; 95% intervals. Black ticks: the "
           "rate each is read against (answers that ignore the reasoning, the gold reasoning's accuracy, the label "
           "after an empty explanation). docs/faithfulness.md says what each test is.")


@register_section("battery", "Faithfulness battery: does the decision follow?", order=45)
def battery(context: ReportContext) -> str | None:
    if not figure_groups(context.results):
        return None
    return context.figure(battery_figure(context.results), "battery", CAPTION)
