"""Claims + a run's cells -> verdicts: supported, contradicted, inconclusive or not applicable, with their evidence.

The rule (docs/claims.md):
- Paired 0/1 outcomes of one seed: exact McNemar on the discordant pairs, Newcombe's paired interval. Other per-item
  values, and 0/1 outcomes averaged over several seeds: a paired sign-flip permutation test, and a bootstrap interval
  of the mean difference. A claim without a baseline (a fixed reference value): the exact binomial test and the
  Wilson interval minus the reference for one seed, the sign-flip test on value - reference otherwise.
- With several seeds the test runs on per-item values averaged over the seeds; the per-seed effects are listed.
- `supported`: Holm-adjusted p < 0.05 (within the paper, over every tested setting of the run) and the effect in the
  claimed direction. `contradicted`: the 95% interval excludes every effect >= delta in the claimed direction.
  Otherwise `inconclusive`, with the minimum detectable effect (80% power, alpha 0.05).
- Guards: an accuracy claim with one untrained side keeps its verdict, labelled `(untrained: <cell>, budget: <epochs>)`;
  with both sides untrained it is `inconclusive`. A faithfulness claim with an untrained side is `inconclusive`: a
  faithfulness figure of an untrained cell means nothing, so none is given. A Madsen check that cannot pass by
  construction is `not applicable`; cells trained in different precisions are not compared (`not applicable`).
- Runs written before per-item values were kept (`source: summary`): each seed is its own setting, tested from the
  discordant counts results.json stored for it (0/1 metrics against the experiment's first regime only); other
  metrics get no p-value (a bootstrap p is not a test), so they can be contradicted or inconclusive, never supported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .base import Claim, Side
from .guards import Guard, guard, guard_from_confusion, not_applicable_by_construction
from .items import Items

ALPHA = 0.05
POWER = 0.8
#: A percentile-bootstrap interval of fewer pairs undercovers (2 pairs give a point): below this n it cannot
#: contradict a claim.
MIN_BOOTSTRAP_N = 20
CellKey = tuple[str, str, str, int]


@dataclass(frozen=True)
class RegimeInfo:
    """What the verdicts need to know of a regime entry of the run (from its config.yaml)."""

    name: str
    train_on: tuple[str, ...] | None = None


@dataclass
class Run:
    """A run's results.json, its per-item values (None: not kept) and its regime entries."""

    results: Mapping[str, Any]
    items: Items | None = None
    regimes: Mapping[str, RegimeInfo] = field(default_factory=dict)
    name: str | None = None

    def __post_init__(self) -> None:
        self.cells: dict[CellKey, Mapping[str, Any]] = {
            (c["task"], c["regime"], c["protocol"], c["seed"]): c for c in self.results.get("cells", [])}
        self._guards: dict[CellKey, Guard | None] = {}

    def regime(self, key: str) -> RegimeInfo:
        return self.regimes.get(key) or RegimeInfo(key)

    def guard(self, key: CellKey) -> Guard | None:
        """The cell's guard from its own answers (per-item file, else confusion matrix). A cell without either (the
        self-consistency checks of runs that kept no per-item values) is judged on the answers of the same
        training asked another way, `score` first, and its reason says so; None when there is none."""
        if key not in self._guards:
            own = self._own_guard(key)
            if own is None:
                siblings = sorted((k for k in self.cells if (k[0], k[1], k[3]) == (key[0], key[1], key[3])
                                   and k != key), key=lambda k: (k[2] != "score", k[2]))
                for sibling in siblings:
                    found = self._own_guard(sibling)
                    if found is not None:
                        own = replace(found, reason=found.reason and f"{found.reason} (judged on {sibling[2]})")
                        break
            self._guards[key] = own
        return self._guards[key]

    def _own_guard(self, key: CellKey) -> Guard | None:
        item_cell = self.items.cell(*key) if self.items else None
        confusion = self.cells[key].get("confusion_matrix")
        if item_cell is not None and any(a is not None for a in item_cell["answer"]):
            return guard(item_cell["gold"], item_cell["answer"], item_cell["n_labels"])
        if confusion:
            return guard_from_confusion(confusion)
        return None

    def precision(self, key: CellKey) -> str | None:
        """The precision the cell's adapters trained in (an untrained regime: the run's inference precision)."""
        trained = {record.get("precision") for record in (self.cells[key].get("train") or {}).values()}
        trained.discard(None)
        if len(trained) == 1:
            return trained.pop()
        return (self.results.get("provenance") or {}).get("precision") if not trained else "/".join(sorted(trained))

    def budget(self, key: CellKey) -> str:
        epochs = {(record.get("hyperparameters") or {}).get("epochs")
                  for record in (self.cells[key].get("train") or {}).values()}
        epochs.discard(None)
        if not epochs:
            return "not trained"
        return f"{'/'.join(f'{e:g}' for e in sorted(epochs))} epoch{'' if epochs == {1} else 's'}"

    def trained(self, key: CellKey) -> bool:
        return bool(self.cells[key].get("train"))


@dataclass(frozen=True)
class Setting:
    """One place a claim is tested: a task, the treatment's and the baseline's (regime id, protocol), the seeds."""

    task: str
    treatment: tuple[str, str]
    baseline: tuple[str, str] | None
    seeds: tuple[int, ...]

    def keys(self, side: tuple[str, str]) -> list[CellKey]:
        return [(self.task, side[0], side[1], seed) for seed in self.seeds]


# -- finding the settings a claim can be tested in ------------------------------------------------------------------
def settings(claim: Claim, run: Run) -> list[Setting]:
    """Every (task, treatment cell group, baseline cell group) of `run` where `claim` can be tested."""
    if claim.metric is None:
        return []
    found: list[Setting] = []
    for task in dict.fromkeys(key[0] for key in run.cells):
        for treatment_side, baseline_side in claim.pairs:
            treatments = _side_groups(treatment_side, task, run, claim.metric)
            treatments = {k: v for k, v in treatments.items() if _task_seen(run, k[0], task) in _wanted(claim)}
            if baseline_side is None:
                found += [Setting(task, group, None, tuple(seeds)) for group, seeds in treatments.items()]
                continue
            if claim.baseline_metric:  # the baseline is another metric of the same cells
                baselines = _side_groups(baseline_side, task, run, claim.baseline_metric)
                for group, seeds in treatments.items():
                    common = tuple(s for s in seeds if s in baselines.get(group, ()))
                    if common:
                        found.append(Setting(task, group, group, common))
                continue
            baselines = _side_groups(baseline_side, task, run, claim.metric)
            for t_group, t_seeds in treatments.items():
                for b_group, b_seeds in baselines.items():
                    if t_group[0] == b_group[0] or (claim.same_protocol and t_group[1] != b_group[1]):
                        continue
                    seeds = tuple(s for s in t_seeds if s in b_seeds)
                    if seeds:
                        found.append(Setting(task, t_group, b_group, seeds))
    return list(dict.fromkeys(found))


def _wanted(claim: Claim) -> tuple[bool, ...]:
    return (True, False) if claim.seen_task is None else (claim.seen_task,)


def _task_seen(run: Run, regime_key: str, task: str) -> bool:
    train_on = run.regime(regime_key).train_on
    return train_on is None or task in train_on


def _side_groups(side: Side, task: str, run: Run, metric: str) -> dict[tuple[str, str], list[int]]:
    """{(regime id, protocol): seeds} of the task's cells that `side` names and that have `metric`."""
    in_task = [key for key in run.cells if key[0] == task]
    ids = {key[1] for key in in_task}
    regime_ids = [side.regime] if side.regime in ids else [i for i in ids if run.regime(i).name == side.regime]
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for _, regime_id, protocol, seed in in_task:
        if regime_id in regime_ids and side.asks(protocol, _own_protocol(run.regime(regime_id).name)) and \
                metric in run.cells[(task, regime_id, protocol, seed)]["metrics"]:
            groups[(regime_id, protocol)].append(seed)
    return {group: sorted(seeds) for group, seeds in groups.items()}


def _own_protocol(regime_name: str) -> str | None:
    from faithex.regimes import REGIMES

    return REGIMES.get(regime_name).default_protocol if regime_name in REGIMES else None


def _answers_unknown(regime_name: str) -> bool:
    from faithex.regimes import REGIMES

    return REGIMES.get(regime_name).answers_unknown if regime_name in REGIMES else False


# -- one setting ----------------------------------------------------------------------------------------------------
def evaluate(claim: Claim, setting: Setting, run: Run) -> dict[str, Any]:
    """The verdict entry of one setting, before the Holm adjustment decides it (`decide`)."""
    entry = _entry(claim, setting, run)
    sides = [setting.treatment] + ([setting.baseline] if setting.baseline else [])
    keys = [key for side in sides for key in setting.keys(side)]
    # an untrained regime (zero-shot) has no training precision: it is asked like every cell of the run
    precisions = {run.precision(key) for key in keys if run.trained(key)}
    if len(precisions) > 1:
        return {**entry, "verdict": "not applicable",
                "reason": f"cells trained in different precisions ({', '.join(map(str, sorted(precisions, key=str)))})"
                          " are not compared"}
    for key in keys:
        why = not_applicable_by_construction(claim.metric, key[2], run.trained(key),
                                             _answers_unknown(run.regime(key[1]).name))
        if why:
            return {**entry, "verdict": "not applicable", "reason": why + f" ({_cell_name(key)})"}
    untrained = {side: [key for key in setting.keys(side) if (g := run.guard(key)) is not None and g.untrained]
                 for side in sides}
    entry["untrained"] = [_cell_name(key) for side in sides for key in untrained[side]]
    entry["untrained_reasons"] = {_cell_name(key): run.guard(key).reason for side in sides for key in untrained[side]}
    sides_untrained = [side for side in sides if untrained[side]]
    if sides_untrained and (claim.kind == "faithfulness" or len(sides_untrained) == len(sides)):
        why = ("a faithfulness figure of an untrained classifier means nothing" if claim.kind == "faithfulness"
               else "both sides are untrained")
        return {**entry, "verdict": "inconclusive", "qualifier": "untrained: " + ", ".join(entry["untrained"]),
                "reason": why}
    if sides_untrained:
        side = sides_untrained[0]
        entry["qualifier"] = (f"untrained: {', '.join(_cell_name(k) for k in untrained[side])}, "
                              f"budget: {run.budget(untrained[side][0])}")
    test = _per_item_test(claim, setting, run) if run.items is not None else None
    if test is None:
        test = _summary_test(claim, setting, run)
    entry = {**entry, **test}
    return _with_control(claim, setting, run, entry) if claim.control else entry


def _with_control(claim: Claim, setting: Setting, run: Run, entry: dict[str, Any]) -> dict[str, Any]:
    """The claim's control, read on the treatment's cells (items pooled over seeds): below its least mean, or
    without an item, the claim cannot be supported whatever its test says."""
    from faithex.metrics.statistics import bootstrap_ci, wilson_interval

    metric, least = claim.control
    keys = setting.keys(setting.treatment)
    # without per-item values (a run made before they were kept) the control cannot be read: no item counts
    matrix = _seed_matrix(run, keys, metric) if run.items is not None else None
    values = _nanmean_rows(matrix[1]) if matrix is not None else np.array([])
    values = values[~np.isnan(values)]
    n = int(values.size)
    control: dict[str, Any] = {"metric": metric, "least": least, "n": n, "value": _mean(values),
                               "low": None, "high": None, "passed": False}
    if n and _binary(values):
        control["low"], control["high"] = wilson_interval(int(values.sum()), n)
    elif n > 1:
        control["low"], control["high"] = bootstrap_ci(values, n_resamples=10000)
    entry = {**entry, "control": control}
    if entry.get("verdict") is not None:
        return entry
    if n == 0:
        return {**entry, "verdict": "inconclusive",
                "reason": f"no item has a {metric} value, so the control cannot be checked"}
    if control["value"] < least:
        return {**entry, "verdict": "inconclusive",
                "reason": f"control failed: {metric} = {control['value']:.3f} < {least:g} (n={n})"}
    control["passed"] = True
    return entry


def _entry(claim: Claim, setting: Setting, run: Run) -> dict[str, Any]:
    provenance = run.results.get("provenance") or {}
    keys = setting.keys(setting.treatment)
    return {
        "claim": claim.id, "paper": claim.paper, "statement": claim.statement, "setting": setting.task,
        "metric": claim.metric, "treatment": "/".join(setting.treatment),
        "baseline": _baseline_name(claim, setting),
        "direction": claim.direction, "delta": claim.delta, "verdict": None, "qualifier": None,
        "effect": None, "low": None, "high": None, "p": None, "p_holm": None, "n": None, "mde": None, "test": None,
        "seeds": list(setting.seeds), "per_seed": [], "untrained": [], "reason": None,
        "provenance": {"run": run.name or run.results.get("experiment"), "commit": provenance.get("git_commit"),
                       "machine": provenance.get("machine"),
                       "precision": run.precision(keys[0]) if keys[0] in run.cells else None},
        "source": "per-item" if run.items is not None else "summary",
        **({"rule": "beyond delta"} if claim.supported_beyond_delta else {}),
    }


def _baseline_name(claim: Claim, setting: Setting) -> str:
    if setting.baseline is None:
        return f"reference {claim.reference:g}"
    if claim.baseline_metric:
        return f"{claim.baseline_metric} (same items)"
    return "/".join(setting.baseline)


def _cell_name(key: CellKey) -> str:
    task, regime, protocol, seed = key
    return f"{regime}/{protocol}/s{seed}"


# -- tests on per-item values ---------------------------------------------------------------------------------------
def _per_item_test(claim: Claim, setting: Setting, run: Run) -> dict[str, Any] | None:
    """The test on the items; None when a cell's values are missing from the per-item file."""
    treatment = _seed_matrix(run, setting.keys(setting.treatment), claim.metric)
    if treatment is None:
        return None
    if setting.baseline is None:
        return _one_sample(claim, *treatment)
    baseline = _seed_matrix(run, setting.keys(setting.baseline), claim.baseline_of_metric)
    if baseline is None:
        return None
    ids_t, values_t = treatment
    ids_b, values_b = baseline
    index = {item: i for i, item in enumerate(ids_b)}
    common = [i for i, item in enumerate(ids_t) if item in index]
    values_t = values_t[common]
    values_b = values_b[[index[ids_t[i]] for i in common]]
    return _paired(claim, setting, values_t, values_b)


def _seed_matrix(run: Run, keys: list[CellKey], metric: str) -> tuple[list[str], np.ndarray] | None:
    """(ids, items x seeds values) of one side, aligned by item id on the first seed's items."""
    columns = [run.items.values(key, metric) for key in keys]
    if any(column is None for column in columns):
        return None
    ids = columns[0][0]
    matrix = np.full((len(ids), len(keys)), np.nan)
    for j, (column_ids, values) in enumerate(columns):
        where = {item: i for i, item in enumerate(column_ids)}
        for i, item in enumerate(ids):
            if item in where:
                matrix[i, j] = values[where[item]]
    return ids, matrix


def _paired(claim: Claim, setting: Setting, values_t: np.ndarray, values_b: np.ndarray) -> dict[str, Any]:
    from faithex.metrics.statistics import (
        bootstrap_ci,
        mcnemar_exact,
        mde_paired_mean,
        mde_paired_proportions,
        newcombe_paired_interval,
        paired_permutation_test,
    )

    per_seed = []
    for j, seed in enumerate(setting.seeds):
        keep = ~(np.isnan(values_t[:, j]) | np.isnan(values_b[:, j]))
        per_seed.append({"seed": seed, "effect": _mean(values_t[keep, j] - values_b[keep, j]),
                         "n": int(keep.sum())})
    # an item's values are averaged over the seeds where both sides have one, so both means rest on the same seeds
    both = ~(np.isnan(values_t) | np.isnan(values_b))
    mean_t = _nanmean_rows(np.where(both, values_t, np.nan))
    mean_b = _nanmean_rows(np.where(both, values_b, np.nan))
    keep = ~(np.isnan(mean_t) | np.isnan(mean_b))
    a, b = mean_t[keep], mean_b[keep]
    n = int(keep.sum())
    out: dict[str, Any] = {"n": n, "per_seed": per_seed, "effect": _mean(a - b),
                           "treatment_value": _mean(a), "baseline_value": _mean(b)}
    if n == 0:
        return {**out, "verdict": "inconclusive", "reason": "no item has a value on both sides"}
    if len(setting.seeds) == 1 and _binary(a) and _binary(b):
        counts = {"both": int(np.sum((a == 1) & (b == 1))), "a_only": int(np.sum((a == 1) & (b == 0))),
                  "b_only": int(np.sum((a == 0) & (b == 1))), "neither": int(np.sum((a == 0) & (b == 0)))}
        low, high = newcombe_paired_interval(**counts)
        discordant = counts["a_only"] + counts["b_only"]
        return {**out, "low": low, "high": high, "p": mcnemar_exact(counts["a_only"], counts["b_only"]),
                "test": "exact McNemar", "mde": mde_paired_proportions(n, discordant), "counts": counts,
                "reason": f"{counts['a_only']} vs {counts['b_only']} discordant pairs of {n}"}
    differences = a - b
    low, high = bootstrap_ci(differences, n_resamples=10000)
    test = paired_permutation_test(a, b)
    sd = float(np.std(differences, ddof=1)) if n > 1 else math.nan
    return {**out, "low": low, "high": high, "p": test["p_value"], "test": "sign-flip permutation",
            "mde": mde_paired_mean(sd, n), "reason": f"{n} paired items"
            + (f", values averaged over {len(setting.seeds)} seeds" if len(setting.seeds) > 1 else "")}


def _one_sample(claim: Claim, ids: list[str], values: np.ndarray) -> dict[str, Any]:
    from scipy.stats import binomtest

    from faithex.metrics.statistics import bootstrap_ci, paired_permutation_test, wilson_interval

    mean = _nanmean_rows(values)
    x = mean[~np.isnan(mean)]
    n = int(x.size)
    reference = float(claim.reference)
    out: dict[str, Any] = {"n": n, "treatment_value": _mean(x), "effect": _mean(x) - reference if n else None}
    if n == 0:
        return {**out, "verdict": "inconclusive", "reason": "no item has a value"}
    if values.shape[1] == 1 and _binary(x):
        k = int(x.sum())
        low, high = wilson_interval(k, n)
        return {**out, "low": low - reference, "high": high - reference,
                "p": float(binomtest(k, n, reference).pvalue), "test": "exact binomial",
                "mde": _mde_one_proportion(reference, n), "reason": f"{k} of {n} against {reference:g}"}
    low, high = bootstrap_ci(x - reference, n_resamples=10000)
    test = paired_permutation_test(x, np.full(n, reference))
    return {**out, "low": low, "high": high, "p": test["p_value"], "test": "sign-flip permutation",
            "mde": _mde_one_proportion(reference, n), "reason": f"{n} items averaged over seeds"}


def _mde_one_proportion(reference: float, n: int) -> float:
    """The normal-approximation effect an exact binomial test of n items against `reference` detects with 80%
    power (two-sided alpha 0.05); at a reference of 0 or 1 the variance term uses the first step away from it."""
    from scipy.stats import norm

    p = min(max(reference, 1.0 / n), 1.0 - 1.0 / n)
    return float((norm.ppf(1 - ALPHA / 2) + norm.ppf(POWER)) * math.sqrt(p * (1 - p) / n))


# -- tests from what older results.json files stored ----------------------------------------------------------------
def _summary_test(claim: Claim, setting: Setting, run: Run) -> dict[str, Any]:
    from scipy.stats import binomtest

    from faithex.metrics.statistics import (
        mcnemar_exact,
        mde_paired_proportions,
        newcombe_paired_interval,
        wilson_interval,
    )

    seed = setting.seeds[0]
    treatment = run.cells[(setting.task, *setting.treatment, seed)]["metrics"][claim.metric]
    if setting.baseline is None:
        n, value = int(treatment["n"]), float(treatment["value"])
        k = round(value * n)
        if n == 0 or abs(k - value * n) > 1e-6:
            return {"n": n, "verdict": "inconclusive", "reason": "no per-item values kept and the metric is not a "
                                                                 "count of items"}
        low, high = wilson_interval(k, n)
        reference = float(claim.reference)
        return {"n": n, "treatment_value": value, "effect": value - reference, "low": low - reference,
                "high": high - reference, "p": float(binomtest(k, n, reference).pvalue), "test": "exact binomial",
                "mde": _mde_one_proportion(reference, n), "reason": f"{k} of {n} against {reference:g}"}
    stored = _stored_comparison(run, setting, seed, claim.metric)
    if stored is None:
        return {"verdict": "inconclusive", "reason": "this run kept no per-item values and no paired comparison of "
                                                    "these two cells: rerun it to test the claim"}
    n = int(stored.get("n") or 0)
    if n == 0:
        return {"n": 0, "verdict": "inconclusive", "reason": "no test item has a value on both sides"}
    out: dict[str, Any] = {"n": n, "effect": stored.get("diff"), "treatment_value": stored.get("a"),
                           "baseline_value": stored.get("b"), "per_seed": [{"seed": seed, "effect": stored.get("diff"),
                                                                            "n": n}]}
    if stored.get("a_only") is not None:
        a_only, b_only = int(stored["a_only"]), int(stored["b_only"])
        both = round(float(stored["a"]) * n) - a_only
        counts = {"both": both, "a_only": a_only, "b_only": b_only, "neither": n - both - a_only - b_only}
        low, high = newcombe_paired_interval(**counts)
        return {**out, "low": low, "high": high, "p": mcnemar_exact(a_only, b_only), "test": "exact McNemar",
                "mde": mde_paired_proportions(n, a_only + b_only), "counts": counts,
                "reason": f"{a_only} vs {b_only} discordant pairs of {n}"}
    return {**out, "low": stored.get("low"), "high": stored.get("high"), "test": "bootstrap interval only",
            "reason": "this run kept no per-item values: its interval is a paired bootstrap, and a bootstrap gives "
                      "no p-value, so the claim cannot be supported from it"}


def _stored_comparison(run: Run, setting: Setting, seed: int, metric: str) -> Mapping[str, Any] | None:
    for row in run.results.get("comparisons") or []:
        if (row.get("task"), row.get("seed"), row.get("regime"), row.get("protocol"), row.get("baseline"),
                row.get("baseline_protocol"), row.get("metric")) == \
                (setting.task, seed, *setting.treatment, *setting.baseline, metric):
            return row
    return None


def _binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


def _mean(values: np.ndarray) -> float | None:
    return float(np.mean(values)) if values.size else None


def _nanmean_rows(matrix: np.ndarray) -> np.ndarray:
    counts = np.sum(~np.isnan(matrix), axis=1)
    sums = np.nansum(matrix, axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


# -- deciding -------------------------------------------------------------------------------------------------------
def decide(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Holm-adjust the p-values within each paper, then give every undecided entry its verdict."""
    from faithex.metrics.statistics import holm_adjust

    by_paper: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        if entry["verdict"] is None and entry.get("p") is not None:
            by_paper[entry["paper"]].append(entry)
    for family in by_paper.values():
        for entry, adjusted in zip(family, holm_adjust([e["p"] for e in family])):
            entry["p_holm"] = adjusted
    for entry in entries:
        if entry["verdict"] is None:
            entry["verdict"], why = _verdict(entry)
            entry["reason"] = f"{entry['reason']}; {why}" if entry.get("reason") else why
    return [_finite_json(entry) for entry in entries]


def _finite_json(entry: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinity as null: results.json stays strict JSON (an infinite MDE, nothing detectable at this n, has
    already been said in the reason)."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    return clean(entry)


def _verdict(entry: Mapping[str, Any]) -> tuple[str, str]:
    sign = 1 if entry["direction"] == "greater" else -1
    effect, low, high, delta = entry.get("effect"), entry.get("low"), entry.get("high"), entry["delta"]
    p_holm = entry.get("p_holm")
    if effect is not None and p_holm is not None and p_holm < ALPHA and sign * effect > 0:
        if entry.get("rule") != "beyond delta":
            return "supported", f"Holm-adjusted p = {p_holm:.2g} < {ALPHA} in the claimed direction"
        near = low if sign > 0 else (-high if high is not None else None)
        if near is not None and not math.isnan(near) and near > delta:
            return "supported", (f"Holm-adjusted p = {p_holm:.2g} < {ALPHA} and the 95% interval clears delta "
                                 f"{delta:g}")
    trusted = entry.get("test") in ("exact McNemar", "exact binomial") or (entry.get("n") or 0) >= MIN_BOOTSTRAP_N
    if trusted and low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
        bound = high if sign > 0 else -low
        if bound < delta:
            return "contradicted", f"the 95% interval excludes every effect of {delta:g} or more in the claimed " \
                                   "direction"
    if entry.get("rule") == "beyond delta" and effect is not None and p_holm is not None and p_holm < ALPHA \
            and sign * effect > 0:
        return "inconclusive", (f"Holm-adjusted p = {p_holm:.2g} < {ALPHA}, but the 95% interval does not clear delta "
                                f"{delta:g}: the effect may be smaller than the claim needs")
    mde = entry.get("mde")
    if mde is not None and math.isinf(mde):
        return "inconclusive", "neither supported nor ruled out: no effect is detectable at this n"
    return "inconclusive", ("neither supported nor ruled out" +
                            (f": effects below {mde:.3f} are not detectable at this n"
                             if mde is not None and not math.isnan(mde) else ""))


def verdicts(claims: Sequence[Claim], run: Run, analyses: Sequence[tuple[str, Any, Any]] = ()) -> list[dict[str, Any]]:
    """Every claim in every setting of `run` where it can be tested, decided; `analyses`: the run directory's layer
    analyses ((folder, analysis, against), `faithex.claims.analysis.analysis_pairs`) for paper 2's layer claims."""
    from .analysis import analysis_entries

    found = [(claim, setting) for claim in claims for setting in settings(claim, run)]
    if run.items is None:  # older runs: each seed tested on its own, from what results.json stored for it
        found = [(claim, Setting(s.task, s.treatment, s.baseline, (seed,))) for claim, s in found for seed in s.seeds]
    entries = [evaluate(claim, setting, run) for claim, setting in found]
    entries += [entry for folder, analysis, against in analyses
                for entry in analysis_entries(folder, analysis, against, run)]
    return decide(entries)


def guards(run: Run) -> dict[str, dict[str, Any]]:
    """{"task/regime/protocol/s<seed>": guard} of every cell the guard could judge."""
    out = {}
    for key in run.cells:
        g = run.guard(key)
        if g is not None:
            out[f"{key[0]}/{_cell_name(key)}"] = g.to_dict()
    return out


# -- a run directory ------------------------------------------------------------------------------------------------
def regime_infos(config: Mapping[str, Any] | None) -> dict[str, RegimeInfo]:
    """{regime id: RegimeInfo} from an experiment's config (its `regimes:`, or paper 1's `configurations:`)."""
    entries = (config or {}).get("regimes") or (config or {}).get("configurations") or []
    out = {}
    for entry in entries:
        entry = {"name": entry} if isinstance(entry, str) else dict(entry)
        train_on = entry.get("train_on")
        out[entry.get("id") or entry["name"]] = RegimeInfo(entry["name"], tuple(train_on) if train_on else None)
    return out


def judge(results: dict[str, Any], config: Mapping[str, Any] | None = None, items: Items | None = None,
          name: str | None = None, analyses: Sequence[tuple[str, Any, Any]] = ()) -> dict[str, Any]:
    """Add `regimes`, `guards` and `verdicts` to `results` (in place, and returned): the registered claims, and those
    the experiment's config declares (`claims:`), on the run's cells. `regimes` ({id: {name, train_on,
    answers_unknown}}) lets a reader of results.json alone (the report) map regime ids to what they are; without a
    config it is read back from `results` itself. `analyses`: the run directory's layer analyses (paper 2's layer
    claims)."""
    from .base import ClaimSpec, experiment_claims

    specs = [ClaimSpec(**spec) for spec in (config or {}).get("claims") or []]
    infos = regime_infos(config) if config else {
        key: RegimeInfo(entry["name"], tuple(entry["train_on"]) if entry.get("train_on") else None)
        for key, entry in (results.get("regimes") or {}).items()}
    run = Run(results, items, infos, name)
    results["regimes"] = {key: {"name": run.regime(key).name, "train_on": list(run.regime(key).train_on or []) or None,
                                "answers_unknown": _answers_unknown(run.regime(key).name)}
                          for key in dict.fromkeys(cell[1] for cell in run.cells)}
    results["guards"] = guards(run)
    results["verdicts"] = verdicts(experiment_claims(specs), run, analyses)
    return results
