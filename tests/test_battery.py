"""The causal faithfulness battery in an experiment: which tests run by default, how an experiment turns each on,
off or to other protocols, and one clear error for a wrong name."""

from __future__ import annotations

import pytest

from faithex.errors import ConfigError
from faithex.runner import parse_experiment

TREE = {"name": "decision_tree", "params": {"n_inputs": 2, "comparisons": 2}, "n_train": 10, "n_test": 5}


def protocols(**experiment):
    parsed = parse_experiment({"name": "t", "tasks": [TREE], "regimes": ["joint", "joint_reasoning"], **experiment})
    return {spec.key: parsed.protocols_for(spec) for spec in parsed.regime_specs()}


def test_the_reasoning_interventions_ask_every_regime_with_a_reasoning_turn_by_default():
    assert protocols() == {"joint": ["direct"], "joint_reasoning": ["two_step", "reasoning_interventions"]}


def test_an_experiment_turns_a_test_off_or_names_the_protocols_it_uses_instead():
    assert protocols(battery={"interventions": False})["joint_reasoning"] == ["two_step"]
    chosen = protocols(battery={"interventions": ["reasoning_step_flip"]})
    assert chosen["joint_reasoning"] == ["two_step", "reasoning_step_flip"] and chosen["joint"] == ["direct"]


def test_a_protocol_the_regime_lists_itself_is_not_asked_twice():
    parsed = parse_experiment({"name": "t", "tasks": [TREE], "regimes": [
        {"name": "joint_reasoning", "protocols": ["reasoning_interventions", "two_step"]}]})
    assert parsed.protocols_for(parsed.regime_specs()[0]) == ["reasoning_interventions", "two_step"]


def test_cc_shap_is_opt_in():
    assert "cc_shap" not in protocols()["joint_reasoning"]
    assert protocols(battery={"cc_shap": True})["joint_reasoning"][-1] == "cc_shap"


@pytest.mark.parametrize("battery, message", [
    ({"interventoins": True}, "battery: unknown test 'interventoins'; known: interventions"),
    ({"interventions": ["reasoning_step_flop"]}, "unknown protocol 'reasoning_step_flop'"),
])
def test_a_wrong_name_in_the_battery_is_one_clear_error(battery, message):
    with pytest.raises(ConfigError, match=message):
        protocols(battery=battery)


# -- the battery table --------------------------------------------------------------------------------------------
def result_cell(regime, protocol, **metrics):
    return {"task": "dt", "regime": regime, "protocol": protocol, "seed": 0, "train": {},
            "metrics": {name: {"value": value, "low": value - 0.05, "high": min(value + 0.05, 1.0), "n": 300}
                        for name, value in metrics.items()}}


def test_the_battery_table_shows_each_test_with_its_baseline_and_says_where_a_test_cannot_ask_the_regime():
    from faithex.report.battery import battery_table

    results = {"experiment": "t", "cells": [
        result_cell("joint", "direct", alignment_rate=0.6, answer_accuracy=0.8),
        result_cell("joint_reasoning", "two_step", alignment_rate=1.0, answer_accuracy=0.9),
        result_cell("joint_reasoning", "reasoning_step_flip", alignment_rate=0.5, mistake_answer_follow=0.95,
                    mistake_answer_ignore_baseline=0.45, mistake_nochange_keep=0.97),
    ]}
    headers, rows = battery_table(results)
    assert headers == ["Task", "Regime", "Alignment", "Answer follows reasoning (ignore)", "No-change kept"]
    joint, reasoning = rows
    assert joint == ["dt", "joint", "0.600 [0.55, 0.65] n=300", "n/a", "n/a"]  # no reasoning turn to flip
    # the alignment is the regime's own protocol's (two_step), not the interventions cell's
    assert reasoning[2:] == ["1.000 [0.95, 1.00] n=300", "0.950 [0.90, 1.00] n=300 (ignore 0.450)",
                             "0.970 [0.92, 1.00] n=300"]


def test_a_test_that_could_ask_the_regime_but_was_not_asked_is_a_dash_and_no_causal_test_no_table():
    from faithex.report.battery import battery_table

    cells = [result_cell("joint_reasoning", "two_step", alignment_rate=1.0),
             result_cell("joint_reasoning", "reasoning_interventions", mistake_answer_follow=0.9)]
    results = {"experiment": "t", "cells": cells + [
        {**result_cell("joint_reasoning", "two_step", alignment_rate=1.0), "task": "dt-other"}]}
    _, rows = battery_table(results)
    assert rows[1][:2] == ["dt-other", "joint_reasoning"] and rows[1][3] == "-"
    assert battery_table({"experiment": "t", "cells": cells[:1]}) is None


def test_each_madsen_check_gets_a_column_with_its_random_word_control_beside_it():
    from faithex.report.battery import battery_table

    results = {"experiment": "t", "cells": [
        result_cell("pseudo_faithful", "self_consistency_attribution", self_consistency_faithfulness=0.4,
                    self_consistency_faithfulness_random_control=0.1),
        result_cell("pseudo_faithful", "self_consistency_counterfactual", self_consistency_faithfulness=0.3),
    ]}
    headers, rows = battery_table(results)
    assert headers[2:] == ["self_consistency_attribution (random)", "self_consistency_counterfactual"]
    assert rows == [["dt", "pseudo_faithful", "0.400 [0.35, 0.45] n=300 (random 0.100)", "0.300 [0.25, 0.35] n=300"]]
    # without a control, Madsen's checks are paper 3's own tables: no battery table
    del results["cells"][0]["metrics"]["self_consistency_faithfulness_random_control"]
    assert battery_table(results) is None


def test_eraser_is_opt_in_and_scores_the_one_word_self_explanations_of_paper_3s_regimes():
    tweets = {"name": "tweet_sentiment", "n_train": 10, "n_test": 5}
    parsed = parse_experiment({"name": "t", "tasks": [tweets], "regimes": ["self_consistency_classifier"],
                               "protocols": ["score"], "battery": {"eraser": True}})
    assert parsed.protocols_for(parsed.regime_specs()[0]) == ["score", "self_consistency_attribution_1word_eraser"]
    parsed = parse_experiment({"name": "t", "tasks": [tweets], "regimes": ["self_consistency_classifier"],
                               "protocols": ["score"]})
    assert parsed.protocols_for(parsed.regime_specs()[0]) == ["score"]


def test_the_battery_figure_draws_a_panel_per_regime_asked_with_an_intervention_and_its_baselines():
    from faithex.report.battery import battery_figure, figure_groups

    results = {"experiment": "t", "cells": [
        result_cell("joint_reasoning", "two_step", alignment_rate=1.0),
        result_cell("joint_reasoning", "reasoning_step_flip", mistake_answer_follow=0.95,
                    mistake_answer_ignore_baseline=0.3, mistake_nochange_keep=0.9),
        result_cell("explanation_label", "explanation_interventions", explanation_donor_follow=0.6,
                    explanation_donor_ignore_baseline=0.2),
    ]}
    assert list(figure_groups(results)) == ["dt / joint_reasoning (reasoning_step_flip)",
                                            "dt / explanation_label (explanation_interventions)"]
    fig = battery_figure(results)
    first, second = fig.axes
    assert [t.get_text() for t in first.get_xticklabels()] == ["answer follows", "no-change kept"]
    assert [t.get_text() for t in second.get_xticklabels()] == ["label follows donor"]
    # the baseline is drawn as a tick at its value over the bar
    ticks = [segment for collection in first.collections for segment in collection.get_segments()]
    assert any(abs(segment[0][1] - 0.3) < 1e-9 for segment in ticks)
