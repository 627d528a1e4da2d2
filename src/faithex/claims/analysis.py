"""Paper 2's layer claims, decided on the logit-lens analyses kept in a run directory.

`faithex analyze RUN --regime A --against B --out RUN/<folder>` writes `analysis.json` (A) and `against.json` (B),
each with per-example values: `entropy` (of the logit-lens next-token distribution at the decision position) and
`activation_entropy` (of the MLP's intermediate activations there), one value per layer. A claim of this kind compares
one statistic of each test item's layer profile between the two adapters, paired by item id:

- `paper2.middle_layer_entropy`: the mean activation entropy over the middle third of the layers is higher for the
  explanation-trained adapter;
- `paper2.sharper_output`: the entropy of the last layer's distribution (the model's own prediction) is lower.

The test is the paired sign-flip permutation test with a bootstrap interval of the mean difference, as for any
per-item values that are not 0/1 (`verdicts._paired`), and the verdict follows the same rule; the guards of the two
adapters' `score` cells apply (a layer profile of a classifier that answers one label says nothing about
explanations).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .base import CLAIMS, Claim

#: Regimes whose adapters were trained with explanations (the treatment side of the layer claims).
EXPLANATION_REGIMES = ("label_explanation", "explanation_label", "label_explanation_instructed",
                       "explanation_label_instructed")


def layer_statistic(claim: Claim, entropy: np.ndarray, activation_entropy: np.ndarray) -> np.ndarray:
    """Per item, the statistic `claim` compares (arrays: items x layers)."""
    layers = entropy.shape[1]
    if claim.metric == "activation_entropy_middle_third":
        return activation_entropy[:, layers // 3: 2 * layers // 3].mean(axis=1)
    if claim.metric == "output_entropy":
        return entropy[:, -1]
    raise ValueError(f"claim {claim.id}: no layer statistic named {claim.metric!r}")


def analysis_pairs(root: Path) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(folder name, analysis, against) of every analysis folder in a run directory that compared two adapters."""
    found = []
    for analysis_path in sorted(root.glob("*/analysis.json")):
        against_path = analysis_path.with_name("against.json")
        if against_path.is_file():
            found.append((analysis_path.parent.name, _read(analysis_path), _read(against_path)))
    return found


def _read(path: Path) -> dict[str, Any]:
    """A layer analysis file; anything else is a RunDirectoryError naming it (a user's file in a run directory)."""
    from faithex.errors import RunDirectoryError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RunDirectoryError(f"{path}: not a readable JSON file ({error})") from None
    if not isinstance(data, dict) or "per_example" not in data or "meta" not in data:
        raise RunDirectoryError(f"{path}: not a faithex layer analysis (no per_example or meta)")
    return data


def layer_claims() -> list[Claim]:
    return [claim for claim in CLAIMS.values() if claim.decided_by == "layer analysis"]


def analysis_entries(folder: str, analysis: Mapping[str, Any], against: Mapping[str, Any], run) -> list[dict]:
    """The undecided verdict entries (`verdicts.decide` finishes them) of the layer claims on one analysis folder,
    where its first adapter was trained with explanations."""
    from .verdicts import Setting, _entry, _paired

    meta, other = analysis["meta"], against["meta"]
    if run.regime(meta["regime"]).name not in EXPLANATION_REGIMES or meta.get("base") or other.get("base"):
        return []
    task = analysis.get("task")
    treatment, baseline = (meta["regime"], "logit_lens"), (other["regime"], "logit_lens")
    setting = Setting(task, treatment, baseline, (meta.get("seed", 0),))
    values_t, values_b = _aligned(analysis, against)
    entries = []
    for claim in layer_claims():
        entry = {**_entry(claim, setting, run), "analysis": folder}
        entry["provenance"]["precision"] = meta.get("precision")
        untrained = [f"{regime}/score/s{meta.get('seed', 0)}" for regime in (meta["regime"], other["regime"])
                     if _untrained(run, task, regime, meta.get("seed", 0))]
        if untrained:  # as for accuracy claims: one untrained side labels the verdict, two leave nothing to compare
            entry.update(untrained=untrained, qualifier="untrained: " + ", ".join(untrained))
            if len(untrained) == 2:
                entries.append({**entry, "verdict": "inconclusive", "reason": "both sides are untrained"})
                continue
        if meta.get("precision") != other.get("precision"):
            entries.append({**entry, "verdict": "not applicable",
                            "reason": "the two analyses ran in different precisions"})
            continue
        adapted = _adapted_top(run, task, (meta["regime"], other["regime"]), meta.get("seed", 0))
        layers = values_t[0].shape[1]
        if claim.metric == "activation_entropy_middle_third" and adapted is not None and \
                2 * layers // 3 <= layers - adapted:
            entries.append({**entry, "verdict": "not applicable",
                            "reason": f"the middle third of the {layers} layers lies below the adapted ones (the "
                                      f"adapters train only the top {adapted}): identical by construction"})
            continue
        a = layer_statistic(claim, *values_t)
        b = layer_statistic(claim, *values_b)
        entries.append({**entry, **_paired(claim, setting, a[:, None], b[:, None]), "source": "per-item"})
    return entries


def _aligned(analysis: Mapping[str, Any], against: Mapping[str, Any]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Both analyses' (entropy, activation entropy) on the items both have, in the first one's order."""
    first, second = analysis["per_example"], against["per_example"]
    index = {item: i for i, item in enumerate(second["ids"])}
    rows = [(i, index[item]) for i, item in enumerate(first["ids"]) if item in index]
    mine, theirs = [r[0] for r in rows], [r[1] for r in rows]

    def arrays(per_example: Mapping[str, Any], picked: list[int]) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(per_example["entropy"], dtype=float)[picked],
                np.asarray(per_example["activation_entropy"], dtype=float)[picked])

    return arrays(first, mine), arrays(second, theirs)


def _adapted_top(run, task: str, regimes: tuple[str, ...], seed: int) -> int | None:
    """How many top layers the two adapters trained at most (LoRA on the top `top_layers` only; the layers below
    are the base model's in both), None when unknown or when either adapted every layer. Read from the adapters'
    `score` cells' training records."""
    adapted = []
    for regime in regimes:
        cell = run.cells.get((task, regime, "score", seed))
        records = (cell or {}).get("train") or {}
        tops = [(record.get("hyperparameters") or {}).get("top_layers") for record in records.values()]
        if not records or None in tops:
            return None
        adapted += tops
    return max(adapted)


def _untrained(run, task: str, regime: str, seed: int) -> bool:
    key = (task, regime, "score", seed)
    guard = run.guard(key) if key in run.cells else None
    return guard is not None and guard.untrained
