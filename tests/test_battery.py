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
