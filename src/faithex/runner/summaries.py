"""What results.json says across cells: mean ± sd over training seeds, and paired tests of every regime against the
experiment's first regime (the baseline: e.g. `zero_shot`, or paper 1's `joint`) on the same test items."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from faithex.io import read_complete_jsonl
from faithex.metrics import compare, paired_seed_test, seed_summary
from faithex.runner.rundir import Cell

#: Metrics the paired tests are run on (where both cells have them). Paper 3's before/after comparison is
#: `self_consistency_faithfulness` (per example: faithful among correctly classified; paired on the examples both
#: cells classified correctly and checked), its looser reading `self_consistency_label_change` and its graded form
#: `self_consistency_shift`.
COMPARED_METRICS = ("answer_accuracy", "macro_f1", "mean_absolute_error", "alignment_rate",
                    "self_consistency_faithfulness", "self_consistency_label_change", "self_consistency_shift")


def seed_summaries(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (task, regime, protocol) with several seeds: {metric: {mean, sd, n, values}}."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        groups[(cell["task"], cell["regime"], cell["protocol"])].append(cell)
    out = []
    for (task, regime, protocol), members in groups.items():
        if len(members) < 2:
            continue
        names = sorted({name for cell in members for name in cell["metrics"]})
        metrics = {name: seed_summary({c["seed"]: c["metrics"][name]["value"] for c in members
                                       if name in c["metrics"]}) for name in names}
        out.append({"task": task, "regime": regime, "protocol": protocol, "metrics": metrics})
    return out


def comparisons(plan, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each regime against the first regime of the experiment, per task and seed, on the same test items (exact
    McNemar, or a permutation test: `faithex.metrics.compare`), then across seeds (paired t-test). The baseline is
    asked with the same protocol, or, for a cell asked with its regime's own protocol, with the baseline's own
    (paper 1: `joint` by `direct` vs `joint_reasoning` by `two_step`). Cells trained in different precisions are
    not compared."""
    by_key = {Cell(c["task"], c["regime"], c["protocol"], c["seed"]): c for c in cells}
    out = []
    for cell, entry in by_key.items():
        baseline = _baseline(plan, by_key, cell)
        if baseline is None or not _same_precision(entry, by_key[baseline]):
            continue  # bf16 and fp32 train differently: cells of different precisions are never compared
        labels = plan.tasks[cell.task].task.labels
        samples = read_complete_jsonl(plan.run_dir.samples(cell))
        base = read_complete_jsonl(plan.run_dir.samples(baseline))
        for metric in COMPARED_METRICS:
            if metric in entry["metrics"] and metric in by_key[baseline]["metrics"]:
                test = compare(samples, base, metric=metric, labels=labels, seed=plan.experiment.seed)
                out.append({"task": cell.task, "seed": cell.seed, "regime": cell.regime, "protocol": cell.protocol,
                            "baseline": baseline.regime, "baseline_protocol": baseline.protocol, **test})
    return out + _across_seeds(out)


def _same_precision(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two cells' adapters trained in the same precision. An untrained regime (zero-shot) has no training
    precision: it is asked in the run's inference precision, which every cell shares, so it pairs with any cell."""
    trained_a, trained_b = _precisions(a), _precisions(b)
    return not trained_a or not trained_b or trained_a == trained_b


def _precisions(entry: dict[str, Any]) -> set[str]:
    """The precisions a cell's adapters trained in (empty for an untrained regime)."""
    return {record.get("precision") for record in (entry.get("train") or {}).values()} - {None}


def _baseline(plan, by_key: dict[Cell, Any], cell: Cell) -> Cell | None:
    def own_protocol(regime_key: str) -> str:
        return plan.regimes[regime_key].regime().default_protocol

    first = next(iter(plan.regimes))
    if cell.regime == first:
        return None
    candidates = [Cell(cell.task, first, cell.protocol, cell.seed)]
    if cell.protocol == own_protocol(cell.regime):
        candidates.append(Cell(cell.task, first, own_protocol(first), cell.seed))
    return next((c for c in candidates if c in by_key), None)


def _across_seeds(per_seed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A paired t-test over seeds of the per-seed values, for each comparison run on two or more seeds."""
    groups: dict[tuple[str, str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in per_seed:
        groups[(row["task"], row["regime"], row["protocol"], row["baseline"], row["baseline_protocol"],
                row["metric"])].append(row)
    out = []
    for (task, regime, protocol, baseline, baseline_protocol, metric), rows in groups.items():
        if len(rows) >= 2:
            test = paired_seed_test({r["seed"]: r["a"] for r in rows}, {r["seed"]: r["b"] for r in rows})
            out.append({"task": task, "seed": "all", "regime": regime, "protocol": protocol, "baseline": baseline,
                        "baseline_protocol": baseline_protocol, "metric": metric,
                        "test": "paired t-test over seeds", **test})
    return out
