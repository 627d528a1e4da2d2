"""Paper 3: faithfulness of self-explanations per task and style for every regime (before and after training),
its looser reading (the label changed at all) and its graded form (the shift) where the run has them, and the
generalisation grid (regime x task x style) of each."""

from __future__ import annotations

from faithex.report.html import ReportContext
from faithex.report.plots import (
    FAITHFULNESS,
    faithfulness_cells,
    faithfulness_figure,
    faithfulness_not_applicable,
    generalisation_figure,
)
from faithex.report.sections import register_section
from faithex.report.tables import has_metric

#: (metric, figure name, caption); the later two only in runs made since they exist (the shift: scored checks).
METRICS = [
    (FAITHFULNESS, "faithfulness",
     ("Faithful among correctly classified and checked examples (Madsen's figure), per task and style, for every "
      "regime; 95% bootstrap intervals.")),
    ("self_consistency_label_change", "label_change",
     ("The looser reading (attribution and redaction): applying the self-explanation changes the label at all, to "
      "another label or to unknown.")),
    ("self_consistency_shift", "shift",
     ("The graded check: how far applying the self-explanation moves the probability the check reads (fall of the "
      "prediction's, rise of the target's).")),
]
GRID_CAPTION = ("{metric} of each regime on each task and style: training on one style or task and asking another "
                "reads off one row.")
NOT_APPLICABLE_CAPTION = (" n/a: not applicable, no figure drawn (an untrained classifier's, or a check its regime "
                          "cannot pass by construction; docs/claims.md).")


@register_section("paper3", "Paper 3: faithfulness of self-explanations", order=40)
def paper3(context: ReportContext) -> str | None:
    results = context.results
    cells = faithfulness_cells(results)
    if not cells:
        return None
    present = [(metric, name, caption) for metric, name, caption in METRICS if has_metric(results, metric)]
    notes = {metric: NOT_APPLICABLE_CAPTION if faithfulness_not_applicable(results, metric) else ""
             for metric, _, _ in present}
    parts = [context.figure(faithfulness_figure(results, metric), name, caption + notes[metric])
             for metric, name, caption in present]
    parts += [context.figure(generalisation_figure(results, metric),
                             "generalisation" if metric == FAITHFULNESS else f"generalisation-{name}",
                             GRID_CAPTION.format(metric=metric) + notes[metric])
              for metric, name, _ in present]
    return "\n".join(parts)

