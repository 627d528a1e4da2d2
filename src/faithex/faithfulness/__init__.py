"""Faithfulness tests for self-explanations and attributions (paper 3's measurement).

- `self_consistency`: Madsen et al. (2024)'s checks: prompts, parsing, interventions and criteria, for any task
  (the protocols asking a model are in `faithex.protocols.self_consistency`, the metrics in
  `faithex.metrics.faithfulness`).
- `eraser`: ERASER comprehensiveness and sufficiency with AOPC over top-k bins, for any word-level explanation.

Nothing here imports torch at import time.
"""

from faithex.faithfulness.eraser import (
    DEFAULT_BINS,
    Eraser,
    comprehensiveness,
    eraser,
    eraser_batch,
    model_label_scorer,
    ranking_from_scores,
    ranking_from_words,
    sufficiency,
)
from faithex.faithfulness.self_consistency import (
    REDACTED,
    STYLES,
    Intervention,
    Wording,
    classify_prompt,
    counterfactual_target,
    explanation_prompt,
    intervene,
    is_faithful,
    parse_attribution,
    parse_classification,
    parse_counterfactual,
    parse_redaction,
    redact_words,
)

__all__ = [
    "DEFAULT_BINS",
    "REDACTED",
    "STYLES",
    "Eraser",
    "Intervention",
    "Wording",
    "classify_prompt",
    "comprehensiveness",
    "counterfactual_target",
    "eraser",
    "eraser_batch",
    "explanation_prompt",
    "intervene",
    "is_faithful",
    "model_label_scorer",
    "parse_attribution",
    "parse_classification",
    "parse_counterfactual",
    "parse_redaction",
    "ranking_from_scores",
    "ranking_from_words",
    "redact_words",
    "sufficiency",
]
