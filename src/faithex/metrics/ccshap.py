"""CC-SHAP metrics (Parcalabescu & Frank 2024), read from the `cc_shap` record of the `cc_shap` protocol's samples.

- **cc_shap**: the per-item score, 1 - cosine distance between the ratios of the input features' Shapley values
  for the answer and for the explanation, in [-1, 1]; higher: the explanation is driven by the input as the answer
  is (self-consistent). An item without a score (an empty output, an input without features, or outputs that did
  not move under any coalition) does not count (NaN).
- **cc_shap_random**: the random-attribution control on the same items: the score of two random ratio vectors of
  the item's length. Its mean is near 0, but on short inputs (paper 1's two or three numbers) single items score
  high by chance; CC-SHAP means something only where it stands above this control.

Both are means of per-item values, so their intervals and paired tests come from `faithex.metrics.evaluate`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .registry import Sample, register_metric


def _record_values(samples: Sequence[Sample], key: str) -> np.ndarray:
    """The number `key` of each sample's `cc_shap` record; NaN where absent or not finite."""
    values = []
    for sample in samples:
        record = sample.get("cc_shap")
        number = record.get(key) if isinstance(record, Mapping) else None
        finite = isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number)
        values.append(float(number) if finite else math.nan)
    return np.array(values, dtype=float)


@register_metric("cc_shap", family="faithfulness", higher_is_better=True, range=(-1.0, 1.0),
                 requires=("cc_shap.score",),
                 description="CC-SHAP (Parcalabescu & Frank): cosine similarity of the input features' Shapley "
                             "ratios for the answer and for the explanation")
def cc_shap(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _record_values(samples, "score")


@register_metric("cc_shap_random", family="faithfulness", higher_is_better=True, range=(-1.0, 1.0),
                 requires=("cc_shap.random_score",),
                 description="control for cc_shap: the score of two random attributions of the same features")
def cc_shap_random(samples: Sequence[Sample], labels: Sequence[int]) -> np.ndarray:
    return _record_values(samples, "random_score")
