"""Metrics: pure functions of sample dicts, registered with name, family, direction, range and required fields.

`evaluate_samples(samples)` turns one cell's samples into `{metric: {value, low, high, n}}`, the shape that
results.json and the reports use; `confusion_matrix(samples, labels)` is stored beside it for label tasks.
`compare(samples_a, samples_b)` tests two cells on the same test items (exact McNemar and Newcombe's interval for 0/1
metrics, permutation tests otherwise); `seed_summary` and `paired_seed_test` summarise and compare regimes across
training seeds; `holm_adjust` adjusts a family of p-values and `mde_paired_*` give the smallest detectable effect.
Importing this package registers paper 1's metrics (and its reasoning interventions', `interventions`) and the label
metrics (macro_f1, recall/<label>).
"""

from __future__ import annotations

# importing registers the metrics: paper 1's, the label metrics, faithfulness (Madsen, ERASER), the reasoning
# interventions' (reasoning and explanation) and CC-SHAP's
from . import ccshap, classification, explanation_interventions, faithfulness, interventions, paper1  # noqa: F401
from .classification import confusion_matrix
from .comparison import MisalignedSamplesError, align_by_id, compare, summarise_seeds
from .evaluate import applicable_metrics, evaluate_samples, per_example, summarise_metric
from .registry import (
    FAMILIES,
    METRICS,
    PER_LABEL_METRICS,
    Metric,
    Sample,
    UnknownMetricError,
    get_metric,
    has_field,
    list_metrics,
    list_per_label_metrics,
    register_metric,
    register_per_label_metric,
)
from .statistics import (
    bootstrap_ci,
    bootstrap_statistic_ci,
    chance_level,
    holm_adjust,
    least_significant_discordance,
    mcnemar_exact,
    mcnemar_test,
    mde_paired_mean,
    mde_paired_proportions,
    newcombe_paired_interval,
    paired_bootstrap_statistic_test,
    paired_bootstrap_test,
    paired_permutation_test,
    paired_seed_test,
    paired_swap_permutation_test,
    paired_table,
    seed_summary,
    wilson_interval,
)

__all__ = [
    "FAMILIES",
    "METRICS",
    "Metric",
    "MisalignedSamplesError",
    "PER_LABEL_METRICS",
    "Sample",
    "UnknownMetricError",
    "align_by_id",
    "applicable_metrics",
    "bootstrap_ci",
    "bootstrap_statistic_ci",
    "chance_level",
    "compare",
    "confusion_matrix",
    "evaluate_samples",
    "get_metric",
    "has_field",
    "holm_adjust",
    "least_significant_discordance",
    "list_metrics",
    "list_per_label_metrics",
    "mcnemar_exact",
    "mcnemar_test",
    "mde_paired_mean",
    "mde_paired_proportions",
    "newcombe_paired_interval",
    "paired_bootstrap_statistic_test",
    "paired_bootstrap_test",
    "paired_permutation_test",
    "paired_seed_test",
    "paired_swap_permutation_test",
    "paired_table",
    "per_example",
    "register_metric",
    "register_per_label_metric",
    "seed_summary",
    "summarise_metric",
    "summarise_seeds",
    "wilson_interval",
]
