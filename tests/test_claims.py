"""Claims as code and their verdicts: the guards, the rule (exact tests, Holm, delta), small n, the wording the demos
print, an experiment's own claims, and docs/claims.md kept in step with the registry."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from faithex.claims import CLAIMS, ClaimSpec, Items, experiment_claims, guard, guard_from_confusion, judge
from faithex.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


# -- hand-made runs -------------------------------------------------------------------------------------------------
def cell(regime, protocol, seed=0, task="dt", precision="fp32", epochs=3, metrics=None):
    train = {"joint": {"precision": precision, "hyperparameters": {"epochs": epochs}}} if regime != "zero_shot" else {}
    return {"task": task, "regime": regime, "protocol": protocol, "seed": seed, "train": train,
            "metrics": {name: {"value": 0.0, "n": 0} for name in (metrics or ["answer_accuracy", "alignment_rate"])}}


def item_cell(regime, protocol, seed=0, task="dt", gold=None, answer=None, n_labels=2, **metrics):
    n = len(next(iter(metrics.values())))
    gold = gold if gold is not None else [i % 2 for i in range(n)]
    return {"task": task, "regime": regime, "protocol": protocol, "seed": seed, "ids": [f"i{i}" for i in range(n)],
            "n_labels": n_labels, "gold": gold, "answer": answer if answer is not None else list(gold),
            "metrics": {name: list(values) for name, values in metrics.items()}}


def paired(n, both, a_only, b_only):
    """0/1 vectors of a treatment and a baseline with the given 2x2 counts (the rest: both wrong)."""
    a = [1] * both + [1] * a_only + [0] * b_only + [0] * (n - both - a_only - b_only)
    b = [1] * both + [0] * a_only + [1] * b_only + [0] * (n - both - a_only - b_only)
    return a, b


def paper1_run(n, both, a_only, b_only, baseline_answer=None, precision="fp32"):
    accuracy_t, accuracy_b = paired(n, both, a_only, b_only)
    cells = [cell("joint", "direct", precision=precision), cell("joint_reasoning", "two_step")]
    items = Items([
        item_cell("joint", "direct", answer=baseline_answer, answer_accuracy=accuracy_b, alignment_rate=accuracy_b),
        item_cell("joint_reasoning", "two_step", answer_accuracy=accuracy_t, alignment_rate=accuracy_t),
    ])
    return {"experiment": "t", "provenance": {"precision": "fp32"}, "cells": cells}, items


def verdict_of(results, claim_id, setting=None):
    found = [v for v in results["verdicts"] if v["claim"] == claim_id and (setting is None or v["setting"] == setting)]
    assert len(found) == 1, [v["claim"] for v in results["verdicts"]]
    return found[0]


# -- guards ---------------------------------------------------------------------------------------------------------
def test_a_constant_classifier_is_untrained():
    gold = [0] * 75 + [1] * 25
    constant = guard(gold, [0] * 100, n_labels=2)
    assert constant.untrained and "label 0 for 100%" in constant.reason
    assert constant.balanced_accuracy == pytest.approx(0.5)


def test_a_classifier_at_chance_is_untrained_and_one_that_learned_is_not():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, size=200).tolist()
    at_chance = guard(gold, rng.integers(0, 4, size=200).tolist(), n_labels=4)
    assert at_chance.untrained and "contains chance 1/4" in at_chance.reason
    learned = guard(gold, [g if i % 5 else (g + 1) % 4 for i, g in enumerate(gold)], n_labels=4)
    assert not learned.untrained and learned.low > 0.25


def test_parse_failures_count_wrong_and_unknown_answers_are_not_a_label():
    gold = [0, 1] * 50
    unreadable = guard(gold, [None] * 100, n_labels=2)
    assert unreadable.untrained and unreadable.reason == "no answer could be read"
    # right on 60 of 100, "unknown" (position 2) on the rest: the parsed answers are not constant, but balanced
    # accuracy is 0.6 with the unknowns counted wrong
    answers = [g if i < 60 else 2 for i, g in enumerate(gold)]
    assert guard(gold, answers, n_labels=2).balanced_accuracy == pytest.approx(0.6)


def test_the_confusion_matrix_gives_the_same_guard_as_the_items():
    gold = [0] * 40 + [1] * 40 + [0] * 5
    answer = [0] * 35 + [1] * 5 + [1] * 30 + [0] * 10 + [None] * 5
    confusion = {"labels": [0, 1], "matrix": [[35, 5], [10, 30]], "invalid": [5, 0]}
    assert guard_from_confusion(confusion) == guard(gold, answer, n_labels=2)


# -- the rule -------------------------------------------------------------------------------------------------------
def test_a_large_effect_on_enough_items_is_supported_with_its_evidence():
    results, items = paper1_run(300, both=200, a_only=40, b_only=5)
    v = verdict_of(judge(results, None, items), "paper1.answer_accuracy")
    assert v["verdict"] == "supported" and v["qualifier"] is None
    assert v["test"] == "exact McNemar" and v["n"] == 300
    assert v["effect"] == pytest.approx(35 / 300)
    assert v["low"] < v["effect"] < v["high"]
    assert v["p"] < 1e-6 and v["p_holm"] >= v["p"]
    assert v["counts"] == {"both": 200, "a_only": 40, "b_only": 5, "neither": 55}


def test_no_difference_on_many_items_contradicts_and_on_few_is_inconclusive():
    results, items = paper1_run(600, both=400, a_only=10, b_only=10)
    assert verdict_of(judge(results, None, items), "paper1.answer_accuracy")["verdict"] == "contradicted"
    results, items = paper1_run(20, both=10, a_only=3, b_only=1)
    small = verdict_of(judge(results, None, items), "paper1.answer_accuracy")
    assert small["verdict"] == "inconclusive" and small["mde"] > 0.3


def test_two_discordant_pairs_decide_nothing():
    """The old demo's case: 1.000 against 0.980 alignment, 2 discordant pairs of 100, p = 0.5."""
    results, items = paper1_run(100, both=98, a_only=2, b_only=0)
    v = verdict_of(judge(results, None, items), "paper1.alignment")
    assert v["p"] == pytest.approx(0.5) and v["verdict"] == "inconclusive"
    assert v["mde"] >= 0.06  # at least 6 one-way discordant pairs are needed for p < 0.05


def test_a_faithfulness_claim_against_a_constant_classifier_is_inconclusive_without_a_figure():
    results, items = paper1_run(100, both=60, a_only=30, b_only=0, baseline_answer=[0] * 100)
    judged = judge(results, None, items)
    alignment = verdict_of(judged, "paper1.alignment")
    assert alignment["verdict"] == "inconclusive"
    assert alignment["qualifier"] == "untrained: joint/direct/s0"
    assert alignment["effect"] is None and alignment["p"] is None
    # an accuracy claim keeps its verdict, labelled with the untrained cell and its training budget
    accuracy = verdict_of(judged, "paper1.answer_accuracy")
    assert accuracy["verdict"] == "supported"
    assert accuracy["qualifier"] == "untrained: joint/direct/s0, budget: 3 epochs"
    assert judged["guards"]["dt/joint/direct/s0"]["untrained"] is True


def test_an_accuracy_claim_with_both_sides_untrained_is_inconclusive():
    results, items = paper1_run(100, both=60, a_only=30, b_only=0, baseline_answer=[0] * 100)
    items._cells[("dt", "joint_reasoning", "two_step", 0)]["answer"] = [1] * 100
    v = verdict_of(judge(results, None, items), "paper1.answer_accuracy")
    assert v["verdict"] == "inconclusive" and v["reason"] == "both sides are untrained"
    assert v["qualifier"] == "untrained: joint_reasoning/two_step/s0, joint/direct/s0"


def test_cells_trained_in_different_precisions_are_not_compared():
    results, items = paper1_run(300, both=200, a_only=40, b_only=5, precision="bf16")
    v = verdict_of(judge(results, None, items), "paper1.answer_accuracy")
    assert v["verdict"] == "not applicable" and "different precisions (bf16, fp32)" in v["reason"]


def test_holm_adjusts_within_a_paper():
    results, items = paper1_run(300, both=200, a_only=12, b_only=2)
    judged = judge(results, None, items)
    tested = [v for v in judged["verdicts"] if v["p"] is not None]
    assert len(tested) >= 2
    smallest = min(tested, key=lambda v: v["p"])
    assert smallest["p_holm"] == pytest.approx(min(1.0, smallest["p"] * len(tested)))


def test_several_seeds_are_tested_on_per_item_values_averaged_over_seeds():
    cells, item_cells = [], []
    rng = np.random.default_rng(1)
    for seed in (0, 1, 2):
        base = (rng.random(200) < 0.6).astype(int)
        better = np.maximum(base, (rng.random(200) < 0.3).astype(int))
        cells += [cell("joint", "direct", seed), cell("joint_reasoning", "two_step", seed)]
        item_cells += [item_cell("joint", "direct", seed, answer_accuracy=base, alignment_rate=base),
                       item_cell("joint_reasoning", "two_step", seed, answer_accuracy=better, alignment_rate=better)]
    results = judge({"experiment": "t", "cells": cells}, None, Items(item_cells))
    v = verdict_of(results, "paper1.answer_accuracy")
    assert v["test"] == "sign-flip permutation" and v["seeds"] == [0, 1, 2]
    assert [s["seed"] for s in v["per_seed"]] == [0, 1, 2] and all(s["effect"] > 0 for s in v["per_seed"])
    assert v["effect"] == pytest.approx(np.mean([s["effect"] for s in v["per_seed"]]))
    assert v["verdict"] == "supported"


def test_a_one_sample_claim_is_tested_against_its_reference():
    results, items = paper1_run(300, both=290, a_only=10, b_only=0)
    v = verdict_of(judge(results, None, items), "paper1.alignment_near_perfect")
    assert v["test"] == "exact binomial" and v["effect"] == pytest.approx(1.0 - 0.95)
    assert v["verdict"] == "supported"


def test_madsens_attribution_check_is_not_applicable_for_a_classifier_never_taught_unknown():
    metrics = ["self_consistency_faithfulness", "self_consistency_label_change"]
    results = {"experiment": "t", "cells": [
        cell("self_consistency_classifier", "self_consistency_attribution_1word", task="tw", metrics=metrics),
        cell("pseudo_faithful", "self_consistency_attribution_1word", task="tw", metrics=metrics)]}
    zeros, some = [0] * 50, [1] * 10 + [0] * 40
    items = Items([
        item_cell("self_consistency_classifier", "self_consistency_attribution_1word", task="tw",
                  self_consistency_faithfulness=zeros, self_consistency_label_change=zeros),
        item_cell("pseudo_faithful", "self_consistency_attribution_1word", task="tw",
                  self_consistency_faithfulness=zeros, self_consistency_label_change=some)])
    judged = judge(results, None, items)
    madsen = verdict_of(judged, "paper3.more_faithful")
    assert madsen["verdict"] == "not applicable" and "\"unknown\"" in madsen["reason"]
    # the looser label change can pass on any other label: an observed rate is a result
    change = verdict_of(judged, "paper3.more_faithful_label_change")
    assert change["verdict"] == "supported" and change["effect"] == pytest.approx(0.2)


def test_runs_without_per_item_values_are_tested_per_seed_from_their_stored_discordant_counts():
    results, _ = paper1_run(100, both=69, a_only=20, b_only=6)
    for entry in results["cells"]:
        entry["metrics"]["explanation_accuracy"] = {"value": 0.8, "n": 100}
    results["comparisons"] = [{"task": "dt", "seed": 0, "regime": "joint_reasoning", "protocol": "two_step",
                               "baseline": "joint", "baseline_protocol": "direct", "metric": "answer_accuracy",
                               "a": 0.89, "b": 0.75, "diff": 0.14, "n": 100, "a_only": 20, "b_only": 6}]
    results["cells"][0]["confusion_matrix"] = {"labels": [0, 1], "matrix": [[75, 0], [25, 0]], "invalid": [0, 0]}
    judged = judge(results, None, None)
    v = verdict_of(judged, "paper1.answer_accuracy")
    assert v["source"] == "summary" and v["test"] == "exact McNemar"
    assert v["p"] == pytest.approx(0.009355306625366211)
    assert v["qualifier"] == "untrained: joint/direct/s0, budget: 3 epochs"
    no_counts = verdict_of(judged, "paper1.explanation_accuracy")
    assert no_counts["verdict"] == "inconclusive" and "rerun" in no_counts["reason"]


# -- claims an experiment declares ----------------------------------------------------------------------------------
def test_an_experiment_declares_its_own_claim_and_binds_a_registered_one():
    specs = [ClaimSpec(id="mine.ordinal", statement="label_more beats label_only", metric="answer_accuracy",
                       treatment={"regime": "label_more"}, baseline={"regime": "label_only", "protocols": ["score"]}),
             ClaimSpec(id="paper3.unseen_task", treatment={"regime": "pf_held_out", "protocols": ["self_*"]},
                       baseline={"regime": "classifier", "protocols": ["self_*"]})]
    claims = {claim.id: claim for claim in experiment_claims(specs)}
    assert claims["mine.ordinal"].paper == "user" and claims["mine.ordinal"].delta == 0.05
    bound = claims["paper3.unseen_task"]
    assert bound.paper == "paper3" and bound.metric == "self_consistency_faithfulness"
    assert [(t.regime, b.regime) for t, b in bound.pairs] == [("pf_held_out", "classifier")]
    assert len(claims) == len(CLAIMS) + 1


def test_a_new_claim_without_a_metric_or_with_an_unknown_one_is_refused():
    with pytest.raises(ConfigError, match="needs statement and metric"):
        ClaimSpec(id="mine", treatment={"regime": "a"}).claim()
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        ClaimSpec(id="mine", statement="s", metric="acuracy", treatment={"regime": "a"})


def test_an_experiment_file_with_claims_loads_and_a_wrong_key_is_one_clear_error(tmp_path):
    from faithex.runner import load_experiment

    path = tmp_path / "e.yaml"
    path.write_text("name: e\ntasks: [{name: decision_tree}]\nregimes: [joint, joint_reasoning]\nclaims:\n"
                    "  - {id: paper1.answer_accuracy, treatment: {regime: joint_reasoning, protocols: [two_step]},\n"
                    "     baseline: {regime: joint, protocols: [direct]}, delta: 0.1}\n")
    assert load_experiment(path).claims[0].delta == 0.1
    path.write_text(path.read_text().replace("delta: 0.1", "delat: 0.1"))
    with pytest.raises(ConfigError, match="delat"):
        load_experiment(path)


# -- what the demos print -------------------------------------------------------------------------------------------
def test_the_demo_closing_lines_are_the_verdicts_of_its_paper():
    from faithex.cli.demo import closing_lines

    results, items = paper1_run(300, both=200, a_only=40, b_only=5)
    lines = closing_lines(judge(results, None, items), "paper1")
    accuracy = next(line for line in lines if line.startswith("paper1.answer_accuracy [dt] supported"))
    assert "n = 300" in accuracy and "p " in accuracy and "MDE" in accuracy
    assert closing_lines(results, "paper2") == ["no claim of paper2 could be tested on this run's cells"]


# -- docs/claims.md and the registry --------------------------------------------------------------------------------
def test_every_claim_in_the_docs_is_registered_and_the_reverse():
    documented = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", (ROOT / "docs" / "claims.md").read_text(), re.M))
    assert documented == set(CLAIMS.names())


# -- precision ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted((ROOT / "experiments").glob("*.yaml"))
                         + sorted((ROOT / "src" / "faithex" / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_experiment_and_demo_pins_its_precision(path):
    import yaml

    config = yaml.safe_load(path.read_text())
    pinned = {config.get("train", {}).get("precision"), config.get("inference", {}).get("precision")}
    assert len(pinned) == 1 and pinned <= {"fp32", "bf16"}, f"{path.name}: precision {pinned}"
    if path.parent.name == "configs":
        assert pinned == {"fp32"}  # the demos: every machine kind prints the same table and verdicts


# -- faithex report recomputes the verdicts of a run directory ------------------------------------------------------
def test_faithex_report_recomputes_the_verdicts_of_a_committed_run(tmp_path):
    import json
    import shutil

    from typer.testing import CliRunner

    from faithex.cli.main import app

    run_dir = tmp_path / "demo-1comparison"
    shutil.copytree(ROOT / "docs" / "runs" / "demo-1comparison", run_dir)
    (run_dir / "items.json").unlink(missing_ok=True)  # as the run was committed before per-item values were kept
    (run_dir / "results.json").write_text(json.dumps({**json.loads((run_dir / "results.json").read_text()),
                                                      "verdicts": []}))
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-html"])
    assert result.exit_code == 0, result.output
    written = json.loads((run_dir / "results.json").read_text())
    claims = {v["claim"] for v in written["verdicts"]}
    assert {"paper1.alignment", "paper1.answer_accuracy"} <= claims
    assert all(v["source"] == "summary" for v in written["verdicts"])
    assert "## Verdicts" in (run_dir / "report.md").read_text()
    assert not (run_dir / "report.html").exists()


def test_faithex_report_refuses_a_broken_per_item_file_in_one_line_and_keeps_results(tmp_path):
    import shutil

    from typer.testing import CliRunner

    from faithex.cli.main import app

    run_dir = tmp_path / "demo-1comparison"
    shutil.copytree(ROOT / "docs" / "runs" / "demo-1comparison", run_dir)
    before = (run_dir / "results.json").read_bytes()
    (run_dir / "items.json").write_text('{"format": "something else", "cells": []}')
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-html"])
    assert result.exit_code == 2
    assert "not a faithex per-item file" in result.output and "Traceback" not in result.output
    assert (run_dir / "results.json").read_bytes() == before


def test_a_run_keeps_per_item_values_and_its_verdicts_recompute_from_the_committed_files(tmp_path, tiny_model_dir):
    import json

    from typer.testing import CliRunner

    from faithex.cli.main import app

    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(f"name: tiny\nmodel: {tiny_model_dir}\n"
                          "tasks: [{name: decision_tree, params: {comparisons: 1}, n_train: 4, n_test: 6}]\n"
                          "configurations: [joint, joint_reasoning]\ntrain: {max_steps: 1, batch_size: 4, "
                          "precision: fp32}\ninference: {precision: fp32}\n")
    result = CliRunner().invoke(app, ["run", str(experiment), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "tiny"
    items = json.loads((run_dir / "items.json").read_text())
    # the battery's default adds the reasoning interventions to the regime with a reasoning turn
    assert {(c["regime"], c["protocol"]) for c in items["cells"]} == {
        ("joint", "direct"), ("joint_reasoning", "two_step"), ("joint_reasoning", "reasoning_interventions")}
    assert all(len(c["ids"]) == 6 == len(c["metrics"]["answer_accuracy"]) for c in items["cells"])
    written = json.loads((run_dir / "results.json").read_text())
    assert {"paper1.alignment", "paper1.answer_accuracy"} <= {v["claim"] for v in written["verdicts"]}
    assert all(v["source"] == "per-item" for v in written["verdicts"])
    assert "paper1" in result.output  # the verdict table closes the run

    # samples gone (as in a committed run): the verdicts come out the same from results.json + items.json
    for sample_file in (run_dir / "samples").iterdir():
        sample_file.unlink()
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-html"])
    assert result.exit_code == 0, result.output
    assert json.loads((run_dir / "results.json").read_text())["verdicts"] == written["verdicts"]


def test_a_users_claim_in_the_config_gets_a_verdict_and_zero_shot_pairs_with_any_precision():
    results = {"experiment": "mine", "provenance": {"precision": "fp32"}, "cells": [
        cell("zero_shot", "score", task="reviews"), cell("label_only", "score", task="reviews", precision="bf16")]}
    better, base = paired(200, both=100, a_only=40, b_only=4)
    items = Items([item_cell("zero_shot", "score", task="reviews", answer_accuracy=base),
                   item_cell("label_only", "score", task="reviews", answer_accuracy=better)])
    config = {"regimes": ["zero_shot", "label_only"], "claims": [
        {"id": "mine.fine_tuning_helps", "statement": "fine-tuning beats zero-shot", "metric": "answer_accuracy",
         "treatment": {"regime": "label_only"}, "baseline": {"regime": "zero_shot"}}]}
    v = verdict_of(judge(results, config, items), "mine.fine_tuning_helps")
    assert v["paper"] == "user" and v["verdict"] == "supported" and v["n"] == 200


# -- paper 2's layer claims, on a run directory's layer analyses ----------------------------------------------------
def layer_analysis(regime, entropy, activation_entropy):
    n = len(entropy)
    return {"task": "tw", "meta": {"regime": regime, "seed": 0, "base": False, "precision": "bf16"},
            "per_example": {"ids": [f"i{i}" for i in range(n)], "entropy": entropy,
                            "activation_entropy": activation_entropy}}


def layer_run(top_layers):
    def score_cell(regime):
        entry = cell(regime, "score", task="tw", precision="bf16")
        entry["train"]["joint"]["hyperparameters"]["top_layers"] = top_layers
        return entry

    return {"experiment": "t", "cells": [score_cell("label_only"), score_cell("label_explanation")]}


def test_paper_2s_layer_claims_are_decided_on_per_item_layer_profiles():
    rng = np.random.default_rng(2)
    base_entropy = rng.uniform(1, 3, size=(60, 6))
    sharper = base_entropy.copy()
    sharper[:, -1] -= 0.3  # the explanation-trained adapter's last layer: 0.3 nats sharper on every item
    busier = base_entropy + 0.2  # and 0.2 nats more activation entropy everywhere
    analyses = [("analysis-tw", layer_analysis("label_explanation", sharper.tolist(), busier.tolist()),
                 layer_analysis("label_only", base_entropy.tolist(), base_entropy.tolist()))]
    judged = judge(layer_run(top_layers=None), None, None, "t", analyses)
    sharper_output = verdict_of(judged, "paper2.sharper_output")
    assert sharper_output["verdict"] == "supported" and sharper_output["effect"] == pytest.approx(-0.3)
    assert sharper_output["test"] == "sign-flip permutation" and sharper_output["n"] == 60
    assert verdict_of(judged, "paper2.middle_layer_entropy")["effect"] == pytest.approx(0.2)
    # LoRA on the top 2 of 6 layers: the middle third (layers 2-3) is the base model's in both: n/a by construction
    frozen = verdict_of(judge(layer_run(top_layers=2), None, None, "t", analyses), "paper2.middle_layer_entropy")
    assert frozen["verdict"] == "not applicable" and "identical by construction" in frozen["reason"]


def test_a_layer_analysis_of_the_label_only_adapter_against_another_is_no_evidence_for_paper_2():
    flat = [[1.0] * 6] * 10
    analyses = [("a", layer_analysis("label_only", flat, flat), layer_analysis("label_explanation", flat, flat))]
    judged = judge(layer_run(top_layers=None), None, None, "t", analyses)
    assert not [v for v in judged["verdicts"] if v["claim"] in ("paper2.middle_layer_entropy", "paper2.sharper_output")]


@pytest.mark.parametrize("entry, message", [
    ("{id: mine, treatment: {regime: joint}}", "needs statement and metric"),
    ("{id: mine, statement: s, metric: answer_accuracy, treatment: {regime: jiont}, baseline: {regime: joint}}",
     "names regime 'jiont', which this experiment does not have"),
])
def test_a_claim_that_cannot_be_tested_is_refused_before_anything_runs(tmp_path, entry, message):
    from faithex.runner import load_experiment

    path = tmp_path / "e.yaml"
    path.write_text(f"name: e\ntasks: [{{name: decision_tree}}]\nregimes: [joint, joint_reasoning]\nclaims:\n"
                    f"  - {entry}\n")
    with pytest.raises(ConfigError, match=message):
        load_experiment(path)


def test_with_several_seeds_each_item_is_averaged_over_the_seeds_both_sides_have():
    nan = float("nan")
    cells = [cell(r, p, seed) for seed in (0, 1) for r, p in (("joint", "direct"), ("joint_reasoning", "two_step"))]
    # item 0 has no treatment value in seed 1: its baseline's seed-1 value (1) must not enter its mean
    items = Items([item_cell("joint", "direct", 0, answer_accuracy=[0, 0, 0, 0], alignment_rate=[0, 0, 0, 0]),
                   item_cell("joint", "direct", 1, answer_accuracy=[1, 0, 0, 0], alignment_rate=[1, 0, 0, 0]),
                   item_cell("joint_reasoning", "two_step", 0, answer_accuracy=[1, 1, 0, 0],
                             alignment_rate=[1, 1, 0, 0]),
                   item_cell("joint_reasoning", "two_step", 1, answer_accuracy=[nan, 1, 0, 0],
                             alignment_rate=[nan, 1, 0, 0])])
    v = verdict_of(judge({"experiment": "t", "cells": cells}, None, items), "paper1.answer_accuracy")
    assert v["n"] == 4 and v["effect"] == pytest.approx((1 + 1 + 0 + 0) / 4)


def test_a_broken_layer_analysis_is_one_clear_error_for_faithex_report(tmp_path):
    import shutil

    from typer.testing import CliRunner

    from faithex.cli.main import app

    run_dir = tmp_path / "paper2-text"
    shutil.copytree(ROOT / "docs" / "runs" / "paper2-text", run_dir)
    (run_dir / "analysis-tweets" / "against.json").write_text("{not json")
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-html"])
    assert result.exit_code == 2 and "against.json: not a readable JSON file" in result.output


def test_the_runner_leaves_out_an_unreadable_layer_analysis_with_a_warning(tmp_path):
    from types import SimpleNamespace

    from faithex.runner.run import run_analyses

    (tmp_path / "stray").mkdir()
    for name in ("analysis.json", "against.json"):
        (tmp_path / "stray" / name).write_text("{not json")
    said = []
    plan = SimpleNamespace(run_dir=SimpleNamespace(root=tmp_path))
    assert run_analyses(plan, SimpleNamespace(message=said.append)) == []
    assert said and "layer analyses left out of the verdicts" in said[0] and "analysis.json" in said[0]


# -- paper 1's causal claims: a follow rate against its ignore baseline, on the same items, with a control ----------
def follow_run(follow, ignore, keep, n=200):
    """A joint_reasoning cell asked with the interventions: per item a follow value, its ignore baseline and the
    no-change control (None: no no-change flip for that item)."""
    metrics = ["mistake_answer_follow", "mistake_answer_ignore_baseline", "mistake_nochange_keep"]
    cells = [cell("joint_reasoning", "reasoning_interventions", metrics=["answer_accuracy", *metrics])]
    values = {"mistake_answer_follow": follow, "mistake_answer_ignore_baseline": ignore,
              "mistake_nochange_keep": [np.nan if v is None else v for v in keep]}
    items = Items([item_cell("joint_reasoning", "reasoning_interventions", answer_accuracy=[1] * n, **values)])
    return {"experiment": "t", "provenance": {"precision": "fp32"}, "cells": cells}, items


def test_an_answer_that_follows_every_flip_beyond_its_ignore_baseline_with_a_kept_control_is_supported():
    n = 200
    results, items = follow_run([1] * n, [i % 2 for i in range(n)], [1] * 100 + [None] * 100, n)
    verdict = verdict_of(judge(results, items=items), "paper1.answer_follows_reasoning")
    assert verdict["verdict"] == "supported", verdict
    assert verdict["baseline"] == "mistake_answer_ignore_baseline (same items)"
    assert verdict["effect"] == pytest.approx(0.5) and verdict["low"] > 0.10
    assert verdict["control"]["passed"] and verdict["control"]["n"] == 100


def test_an_answer_that_ignores_the_reasoning_is_contradicted():
    n = 200
    ignore = [i % 2 for i in range(n)]
    results, items = follow_run(ignore, ignore, [1] * n, n)  # the answer never moves: follows only where it already was
    verdict = verdict_of(judge(results, items=items), "paper1.answer_follows_reasoning")
    assert verdict["verdict"] == "contradicted" and verdict["effect"] == 0


def test_a_small_gain_with_p_below_alpha_is_not_supported_unless_its_interval_clears_delta():
    n = 400
    ignore = [i % 2 for i in range(n)]
    follow = [1 if i % 2 or i < 96 else 0 for i in range(n)]  # +0.12 on 400 items: significant, interval not > 0.10
    results, items = follow_run(follow, ignore, [1] * n, n)
    verdict = verdict_of(judge(results, items=items), "paper1.answer_follows_reasoning")
    assert verdict["effect"] == pytest.approx(0.12) and verdict["p_holm"] < 0.05 and verdict["low"] < 0.10
    assert verdict["verdict"] == "inconclusive" and "does not clear delta 0.1" in verdict["reason"]
    # +0.05: significant too, but the interval excludes 0.10 -- the claim (at least ten points) is contradicted
    follow = [1 if i % 2 or i < 40 else 0 for i in range(n)]
    results, items = follow_run(follow, ignore, [1] * n, n)
    assert verdict_of(judge(results, items=items), "paper1.answer_follows_reasoning")["verdict"] == "contradicted"


def test_a_failed_or_missing_no_change_control_leaves_the_follow_claim_inconclusive():
    n = 200
    ignore = [i % 2 for i in range(n)]
    results, items = follow_run([1] * n, ignore, [1, 0] * (n // 2), n)
    failed = verdict_of(judge(results, items=items), "paper1.answer_follows_reasoning")
    assert failed["verdict"] == "inconclusive" and "control failed" in failed["reason"]
    assert failed["control"]["value"] == pytest.approx(0.5) and not failed["control"]["passed"]
    results, items = follow_run([1] * n, ignore, [None] * n, n)
    absent = verdict_of(judge(results, items=items), "paper1.answer_follows_reasoning")
    assert absent["verdict"] == "inconclusive" and "control cannot be checked" in absent["reason"]


def test_a_within_cell_claim_names_no_baseline_side_in_the_experiment():
    spec = ClaimSpec(id="own_follow", statement="follows", metric="mistake_answer_follow",
                     baseline_metric="mistake_answer_ignore_baseline",
                     treatment={"regime": "joint_reasoning", "protocols": ["reasoning_interventions"]})
    claim = spec.claim()
    assert claim.pairs[0][0] == claim.pairs[0][1] and claim.baseline_metric == "mistake_answer_ignore_baseline"
    with pytest.raises(ConfigError, match="same items"):
        ClaimSpec(id="paper1.answer_follows_reasoning", treatment={"regime": "joint_reasoning"},
                  baseline={"regime": "joint"}).claim()
