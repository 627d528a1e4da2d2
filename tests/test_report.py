"""Reports: the paper-1 table and figure show the run's metrics, missing ones as blanks, never made-up values."""

from __future__ import annotations

import math

import pytest

from faithex.report import markdown_table, paper1_figure


def metric(value, low=None, high=None):
    return {"value": value, "low": value if low is None else low, "high": value if high is None else high, "n": 50}


@pytest.fixture
def results():
    joint = {"answer_accuracy": metric(0.9, 0.8, 0.96), "answer_failure": metric(0.02),
             "explanation_accuracy": metric(0.7), "explanation_failure": metric(0.0),
             "alignment_rate": metric(0.6, 0.5, 0.7), "alignment_failure": metric(0.02),
             "reasoning_exact_match": metric(math.nan), "reasoning_failure": metric(math.nan)}
    with_reasoning = {**joint, "alignment_rate": metric(1.0), "reasoning_exact_match": metric(0.75, 0.6, 0.86),
                      "reasoning_failure": metric(0.1)}
    cell = {"task": "decision_tree", "seed": 0}
    return {"experiment": "unit", "tasks": {"decision_tree": {"chance_level": 0.52}},
            "cells": [{**cell, "regime": "joint", "protocol": "direct", "metrics": joint},
                      {**cell, "regime": "joint_reasoning", "protocol": "two_step", "metrics": with_reasoning}]}


def test_markdown_table_shows_value_failure_and_interval(results):
    table = markdown_table(results)
    joint, with_reasoning = [line for line in table.splitlines() if line.startswith("| decision_tree")]
    assert "| decision_tree | joint | 0.900 (0.020) [0.80, 0.96] |" in joint
    assert joint.rstrip().endswith("| - | 0.520 |")  # no reasoning in `joint`: a blank, not 0
    assert "0.750 (0.100) [0.60, 0.86]" in with_reasoning


def test_figure_bars_are_the_metrics_with_their_intervals(results, tmp_path):
    path = tmp_path / "paper1.png"
    fig = paper1_figure(results, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*partial*"))
    ax = fig.axes[0]
    heights = [round(bar.get_height(), 3) for bar in ax.patches]
    # bars grouped by metric: answer (joint, joint_reasoning), explanation (...), alignment (...)
    assert heights == [0.9, 0.9, 0.7, 0.7, 0.6, 1.0]
    chance = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert chance and chance[0].get_ydata()[0] == pytest.approx(0.52)


@pytest.mark.parametrize("joint_accuracy, verdicts", [(0.75, ("holds", "holds")), (0.95, ("holds", "does NOT hold"))])
def test_demo_checks_both_claims_of_paper_1(results, joint_accuracy, verdicts):
    from faithex.cli.demo import claim_summary

    results["cells"][0]["metrics"]["answer_accuracy"] = metric(joint_accuracy)
    results["cells"][1]["metrics"]["answer_accuracy"] = metric(0.9)
    summary = claim_summary(results)
    assert summary.startswith(f"alignment claim {verdicts[0]}: 1.000 with reasoning vs 0.600 without")
    assert f"accuracy claim {verdicts[1]}: answer accuracy 0.900 with reasoning vs {joint_accuracy:.3f}" in summary


def test_depth_figure_plots_accuracy_against_comparisons_with_and_without_reasoning(tmp_path):
    from faithex.report import depth_figure
    from faithex.report.plots import depth_cells

    tasks, cells = {}, []
    for depth, (with_r, without) in {1: (0.95, 0.9), 3: (0.8, 0.6), 2: (0.9, 0.7)}.items():
        tasks[f"d{depth}"] = {"name": "decision_tree", "params": {"comparisons": depth}, "chance_level": 0.5}
        for regime, protocol, value in (("joint", "direct", without), ("joint_reasoning", "two_step", with_r)):
            cells.append({"task": f"d{depth}", "regime": regime, "protocol": protocol, "seed": 0,
                          "metrics": {"answer_accuracy": metric(value), "explanation_accuracy": metric(value - 0.1)}})
    results = {"experiment": "depth", "tasks": tasks, "cells": cells}
    assert list(depth_cells(results)) == [1, 2, 3]
    fig = depth_figure(results, tmp_path / "depth.png")
    assert (tmp_path / "depth.png").read_bytes()[:4] == b"\x89PNG"
    lines = {bars.get_label(): list(bars.lines[0].get_ydata()) for bars in fig.axes[0].containers}
    assert lines["answers, with reasoning"] == [0.95, 0.9, 0.8]
    assert [round(v, 2) for v in lines["explanations, without"]] == [0.8, 0.6, 0.5]
    assert depth_cells({**results, "cells": cells[:2]}) == {}  # one depth only: no depth figure


def test_demo_of_paper_2_reads_the_paired_tests_against_label_only():
    from faithex.cli.demo import paper2_summary

    row = {"task": "on_topic", "seed": 0, "metric": "answer_accuracy", "baseline": "label_only", "low": 0.02,
           "high": 0.12, "p_value": 0.01}
    results = {"comparisons": [
        {**row, "regime": "label_explanation", "a": 0.62, "b": 0.55, "diff": 0.07, "mcnemar_p": 0.004},
        {**row, "regime": "bag_of_words_explanation", "a": 0.56, "b": 0.55, "diff": 0.01, "mcnemar_p": 0.8},
        {**row, "regime": "label_explanation", "seed": "all", "a": 0.6, "b": 0.5, "diff": 0.1, "mcnemar_p": None},
        {**row, "regime": "label_explanation", "metric": "macro_f1", "a": 0.4, "b": 0.5, "diff": -0.1,
         "mcnemar_p": None},
    ]}
    lines = paper2_summary(results).splitlines()
    assert lines == [
        "label_explanation beats label_only on on_topic: accuracy 0.620 vs 0.550 (difference +0.070, "
        "95% CI [+0.020, +0.120], paired p = 0.004)",
        "bag_of_words_explanation is above, not significantly, label_only on on_topic: accuracy 0.560 vs 0.550 "
        "(difference +0.010, 95% CI [+0.020, +0.120], paired p = 0.8)",
    ]


def test_label_table_adds_the_mean_absolute_error_on_ordinal_tasks_and_paper3_gets_its_own_table():
    from faithex.report.tables import tables

    tasks = {"dq": {"chance_level": 0.2}, "tweets": {"chance_level": 0.8}}
    rating = {"answer_accuracy": metric(0.5, 0.4, 0.6), "answer_failure": metric(0.0), "macro_f1": metric(0.45),
              "mean_absolute_error": metric(0.75, 0.6, 0.9)}
    check = {"self_consistency_faithfulness": metric(0.25, 0.1, 0.4), "self_explanation_failure": metric(0.1),
             "self_consistency_faithfulness_parsed": metric(0.3), "self_consistency_accuracy": metric(0.9),
             "self_consistency_classification_failure": metric(0.0)}
    cells = [
        {"task": "dq", "regime": "label_explanation", "protocol": "explain_then_score", "seed": 0, "metrics": rating},
        {"task": "tweets", "regime": "pseudo_faithful", "protocol": "self_consistency_attribution", "seed": 0,
         "metrics": check},
    ]
    (label_title, label_headers, label_rows), (check_title, check_headers, check_rows) = \
        tables({"experiment": "x", "tasks": tasks, "cells": cells})
    assert label_headers[-2:] == ["MAE", "Chance"]
    assert label_rows == [["dq", "label_explanation", "explain_then_score", "0.500 (0.000) [0.40, 0.60]",
                           "0.450 [0.45, 0.45]", "0.750 [0.60, 0.90]", "0.200"]]
    assert check_title.startswith("self-consistency")
    assert check_rows == [["tweets", "pseudo_faithful", "self_consistency_attribution", "0.250 (0.100) [0.10, 0.40]",
                           "0.300 [0.30, 0.30]", "0.900 (0.000) [0.90, 0.90]", "0.800"]]
    # runs since the shift metric exists get its column
    shifted = [{**cells[1], "metrics": {**check, "self_consistency_shift": metric(0.05, -0.01, 0.11)}}]
    (_, shift_headers, shift_rows), = tables({"experiment": "x", "tasks": tasks, "cells": shifted})
    assert shift_headers[5:7] == ["Shift", "Accuracy"] and shift_rows[0][5] == "0.050 [-0.01, 0.11]"
    # and since the label change exists, its column before the shift
    changed = [{**shifted[0], "metrics": {**shifted[0]["metrics"],
                                          "self_consistency_label_change": metric(0.4, 0.2, 0.6)}}]
    (_, change_headers, change_rows), = tables({"experiment": "x", "tasks": tasks, "cells": changed})
    assert change_headers[5:8] == ["Label changed", "Shift", "Accuracy"] and change_rows[0][5] == "0.400 [0.20, 0.60]"
    # tasks without a scale keep the old label table
    plain = [{**cells[0], "metrics": {k: v for k, v in rating.items() if k != "mean_absolute_error"}}]
    assert "MAE" not in tables({"experiment": "x", "tasks": tasks, "cells": plain})[0][1]


def test_a_classifier_giving_every_test_example_one_label_is_flagged_in_every_report(tmp_path):
    from faithex.report.html import render
    from faithex.report.tables import constant_predictions
    from faithex.report.write import write_markdown_report

    def cell(regime, matrix):
        return {"task": "drugs", "regime": regime, "protocol": "score", "seed": 0, "metrics": {},
                "confusion_matrix": {"labels": [0, 1, 2], "matrix": matrix, "invalid": [0, 0, 0]}}

    results = {"experiment": "x", "tasks": {"drugs": {"labels": ["negative", "<b>neutral</b>", "positive"],
                                                      "chance_level": 0.65}},
               "cells": [cell("before", [[0, 0, 10], [0, 0, 4], [0, 0, 26]]),  # answers positive, always
                         cell("after", [[3, 0, 7], [0, 1, 3], [0, 0, 26]]),
                         cell("tiny", [[0, 2, 0], [0, 1, 0], [0, 0, 0]])]}  # too few to tell
    assert constant_predictions(results) == [
        "before on drugs (score, seed 0) answers 'positive' for all 40 test examples: a constant classifier"]
    results["cells"].append(cell("neutral", [[0, 5, 0], [0, 4, 0], [0, 1, 0]]))
    assert write_markdown_report(tmp_path, results).read_text().count("a constant classifier") == 2
    page, _ = render(results)
    assert "answers &#39;&lt;b&gt;neutral&lt;/b&gt;&#39; for all 10" in page  # label names from data: text
    assert "Constant classifiers" in page
