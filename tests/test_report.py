"""Reports: the paper-1 table and figure show the run's metrics, missing ones as blanks, never made-up values."""

from __future__ import annotations

import math

import pytest

from faithex.report import markdown_table, paper1_figure


def metric(value, low=None, high=None, n=50):
    return {"value": value, "low": value if low is None else low, "high": value if high is None else high, "n": n}


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


def test_markdown_table_shows_value_failure_interval_and_n(results):
    results["cells"][1]["metrics"]["reasoning_exact_match"] = metric(0.75, 0.6, 0.86, n=40)
    table = markdown_table(results)
    joint, with_reasoning = [line for line in table.splitlines() if line.startswith("| decision_tree")]
    assert "| decision_tree | joint | 0.900 (0.020) [0.80, 0.96] n=50 |" in joint
    assert joint.rstrip().endswith("| - | 0.520 |")  # no reasoning in `joint`: a blank, not 0
    # the failure rate counts other items than the figure: it says its own n
    assert "0.750 (0.100, n=50) [0.60, 0.86] n=40" in with_reasoning


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


def test_label_table_adds_the_mean_absolute_error_on_ordinal_tasks_and_paper3_gets_its_own_tables():
    from faithex.report.tables import tables

    tasks = {"dq": {"chance_level": 0.2}, "tweets": {"chance_level": 0.8}}
    rating = {"answer_accuracy": metric(0.5, 0.4, 0.6), "answer_failure": metric(0.0), "macro_f1": metric(0.45),
              "mean_absolute_error": metric(0.75, 0.6, 0.9)}
    check = {"self_consistency_faithfulness": metric(0.25, 0.1, 0.4, n=20),
             "self_explanation_failure": metric(0.1, n=50),
             "self_consistency_faithfulness_parsed": metric(0.3, n=24), "self_consistency_accuracy": metric(0.9),
             "self_consistency_classification_failure": metric(0.0)}
    cells = [
        {"task": "dq", "regime": "label_explanation", "protocol": "explain_then_score", "seed": 0, "metrics": rating},
        {"task": "tweets", "regime": "pseudo_faithful", "protocol": "self_consistency_attribution", "seed": 0,
         "metrics": check},
    ]
    (label_title, label_headers, label_rows), (check_title, check_headers, check_rows), (_, _, accuracy_rows) = \
        tables({"experiment": "x", "tasks": tasks, "cells": cells})
    assert label_headers[-2:] == ["MAE", "Chance"]
    assert label_rows == [["dq", "label_explanation", "explain_then_score", "0.500 (0.000) [0.40, 0.60] n=50",
                           "0.450 [0.45, 0.45] n=50", "0.750 [0.60, 0.90] n=50", "0.200"]]
    assert check_title.startswith("self-consistency, faithfulness")
    # faithfulness counts the items classified correctly and checked, its failure rate every item: each its own n
    assert check_rows == [["tweets", "pseudo_faithful", "self_consistency_attribution",
                           "0.250 (0.100, n=50) [0.10, 0.40] n=20", "0.300 [0.30, 0.30] n=24"]]
    assert accuracy_rows == [["tweets", "pseudo_faithful", "self_consistency_attribution",
                              "0.900 (0.000) [0.90, 0.90] n=50", "0.800"]]
    # runs since the shift metric exists get its column, beside the accuracy (the faithfulness table stays narrow)
    shifted = [{**cells[1], "metrics": {**check, "self_consistency_shift": metric(0.05, -0.01, 0.11, n=24)}}]
    _, (_, shift_headers, shift_rows) = tables({"experiment": "x", "tasks": tasks, "cells": shifted})
    assert shift_headers[3:] == ["Shift", "Accuracy", "Chance"] and shift_rows[0][3] == "0.050 [-0.01, 0.11] n=24"
    # and since the label change exists, its column beside faithfulness, with its own n
    changed = [{**shifted[0], "metrics": {**shifted[0]["metrics"],
                                          "self_consistency_label_change": metric(0.4, 0.2, 0.6, n=20)}}]
    (_, change_headers, change_rows), _ = tables({"experiment": "x", "tasks": tasks, "cells": changed})
    assert change_headers[3:] == ["Faithful (correct)", "Faithful (parsed)", "Label changed"]
    assert change_rows[0][5] == "0.400 [0.20, 0.60] n=20"
    # tasks without a scale keep the old label table
    plain = [{**cells[0], "metrics": {k: v for k, v in rating.items() if k != "mean_absolute_error"}}]
    assert "MAE" not in tables({"experiment": "x", "tasks": tasks, "cells": plain})[0][1]


def test_paper3_tables_fit_a_200_column_terminal_untruncated():
    from rich.console import Console

    from faithex.report import rich_tables

    names = ("self_consistency_attribution_1word", "self_consistency_counterfactual_1word")
    metrics = {"self_consistency_faithfulness": metric(0.125, 0.0, 0.5, n=8),
               "self_explanation_failure": metric(0.75, n=300), "self_consistency_faithfulness_parsed": metric(0.1),
               "self_consistency_label_change": metric(0.9, 0.8, 1.0), "self_consistency_shift": metric(-0.25, -1, 1),
               "self_consistency_accuracy": metric(0.9, n=300),
               "self_consistency_classification_failure": metric(0.0, n=300)}
    results = {"experiment": "p3", "tasks": {"tweet_sentiment": {"chance_level": 0.8}},
               "cells": [{"task": "tweet_sentiment", "regime": "self_consistency_classifier", "protocol": protocol,
                          "seed": seed, "metrics": metrics} for protocol in names for seed in (0, 1)]}
    console = Console(width=200, record=True)
    for table in rich_tables(results):
        console.print(table)
    shown = console.export_text()
    assert "…" not in shown and max(len(line) for line in shown.splitlines()) <= 200
    assert "0.125 (0.750, n=300) [0.00, 0.50] n=8" in shown and "-0.250 [-1.00, 1.00] n=50" in shown


@pytest.mark.parametrize("value, signed, written", [
    (-0.0001, False, "0.000"), (-0.0004, True, "0.000"), (0.0004, True, "0.000"), (-0.0, False, "0.000"),
    (-0.0006, False, "-0.001"), (0.02, True, "+0.020"), (math.nan, False, "-"), (None, True, "-")])
def test_a_figure_that_rounds_to_zero_has_no_sign(value, signed, written):
    from faithex.report.numbers import interval, number

    assert number(value, signed=signed) == written
    assert interval(-0.001, 0.004) == "[0.00, 0.00]"
    assert interval(-0.004, 0.02, digits=3, signed=True) == "[-0.004, +0.020]"


def test_no_table_writes_minus_zero():
    from faithex.report.tables import tables

    cell = {"task": "t", "regime": "r", "protocol": "self_consistency_attribution", "seed": 0, "metrics": {
        "self_consistency_faithfulness": metric(0.0, -0.0001, 0.0), "self_explanation_failure": metric(-0.0),
        "self_consistency_shift": metric(-0.0002, -0.004, 0.003), "self_consistency_accuracy": metric(0.5)}}
    written = str(tables({"experiment": "x", "tasks": {"t": {"chance_level": -0.0}}, "cells": [cell]}))
    assert "-0.0" not in written and "0.000 (0.000) [0.00, 0.00] n=50" in written and "[0.00, 0.00]" in written


def test_a_results_json_without_guards_still_flags_its_constant_classifiers_in_every_report(tmp_path):
    from faithex.report.html import render
    from faithex.report.tables import constant_predictions, untrained_cells
    from faithex.report.write import write_markdown_report

    def cell(regime, matrix):
        return {"task": "drugs", "regime": regime, "protocol": "score", "seed": 0, "metrics": {},
                "confusion_matrix": {"labels": [0, 1, 2], "matrix": matrix, "invalid": [0, 0, 0]}}

    results = {"experiment": "x", "tasks": {"drugs": {"labels": ["negative", "<b>neutral</b>", "positive"],
                                                      "chance_level": 0.65}},
               "cells": [cell("before", [[0, 0, 10], [0, 0, 4], [0, 0, 26]]),  # answers positive, always
                         cell("after", [[3, 0, 7], [0, 1, 3], [0, 0, 26]]),
                         cell("tiny", [[0, 2, 0], [0, 1, 0], [0, 0, 0]])]}  # too few to tell
    assert untrained_cells(results) == constant_predictions(results) == [
        "before on drugs (score, seed 0) answers 'positive' for all 40 test examples: a constant classifier"]
    results["cells"].append(cell("neutral", [[0, 5, 0], [0, 4, 0], [0, 1, 0]]))
    assert write_markdown_report(tmp_path, results).read_text().count("a constant classifier") == 2
    page, _ = render(results)
    assert "answers &#39;&lt;b&gt;neutral&lt;/b&gt;&#39; for all 10" in page  # label names from data: text
    assert "Constant classifiers" in page  # the old check, under its own name
    # once judged, the guards decide, not the confusion matrix: a run whose guards find nothing lists nothing
    assert untrained_cells({**results, "guards": {}}) == []


# -- guards: n/a where a figure means nothing ----------------------------------------------------------------------
def untrained(reason="answers label 0 for 100% of its 50 parsed answers"):
    """A results.json guard entry (faithex.claims) that calls its cell untrained."""
    return {"untrained": True, "reason": reason, "n": 50, "majority_share": 1.0, "balanced_accuracy": 0.5,
            "low": 0.5, "high": 0.5, "chance": 0.5}


def test_an_untrained_cell_keeps_its_accuracy_marked_and_its_alignment_is_not_applicable(results, tmp_path):
    from rich.console import Console

    from faithex.report import Results
    from faithex.report.write import write_markdown_report

    results["guards"] = {"decision_tree/joint/direct/s0": untrained(),
                         "decision_tree/joint_reasoning/two_step/s0": {**untrained(), "untrained": False,
                                                                       "reason": None}}
    table = markdown_table(results)
    joint, with_reasoning = [line for line in table.splitlines() if line.startswith("| decision_tree")]
    assert joint == ("| decision_tree | joint | 0.900† (0.020) [0.80, 0.96] n=50 | 0.700† (0.000) [0.70, 0.70] n=50 "
                     "| n/a (untrained) | - | 0.520 |")
    assert "| 1.000 (0.020) [1.00, 1.00] n=50 |" in with_reasoning and "†" not in with_reasoning
    assert "n/a (untrained): a faithfulness or alignment figure of an untrained cell means nothing" in table
    report = write_markdown_report(tmp_path, results).read_text()
    assert "- † untrained: decision_tree/joint/s0 (direct): answers label 0 for 100% of its 50 parsed answers" in report
    console = Console(width=200, record=True)
    Results(results).show(console)
    shown = console.export_text()
    assert "0.900† (0.020)" in shown and "n/a (untrained)" in shown
    assert "† untrained: decision_tree/joint/s0 (direct): answers label 0" in shown


def test_madsens_attribution_check_of_a_regime_that_never_learned_unknown_is_not_applicable_by_construction():
    from faithex.report.tables import tables

    check = {"self_consistency_faithfulness": metric(0.0, n=20), "self_explanation_failure": metric(0.1),
             "self_consistency_faithfulness_parsed": metric(0.0, n=24), "self_consistency_label_change": metric(0.3),
             "self_consistency_accuracy": metric(0.9), "self_consistency_classification_failure": metric(0.0)}
    trained = {"self_explainer": {"steps": 100, "hyperparameters": {"epochs": 2.0}}}

    def cell(regime, protocol, train):
        return {"task": "tweets", "regime": regime, "protocol": protocol, "seed": 0, "metrics": check, "train": train}

    cells = [cell("self_consistency_classifier", "self_consistency_attribution_1word", trained),
             cell("self_consistency_classifier", "self_consistency_redaction", trained),
             cell("self_consistency_classifier", "self_consistency_counterfactual", trained),
             cell("zero_shot", "self_consistency_attribution", {}),  # never fine-tuned: it may say "unknown"
             cell("classifier", "self_consistency_attribution", trained)]  # an experiment's own id: never learned it
    (_, _, rows), (_, _, accuracy_rows) = tables({"experiment": "x", "tasks": {"tweets": {"chance_level": 0.5}},
                                                  "cells": cells, "guards": {}})
    faithful = {(row[1], row[2]): row[3:] for row in rows}
    na = ["n/a (by construction)", "n/a (by construction)", "0.300 [0.30, 0.30] n=50"]  # the label change can pass
    assert faithful[("self_consistency_classifier", "self_consistency_attribution_1word")] == na
    assert faithful[("self_consistency_classifier", "self_consistency_redaction")] == na
    assert faithful[("classifier", "self_consistency_attribution")] == na
    assert faithful[("self_consistency_classifier", "self_consistency_counterfactual")][:2] == [
        "0.000 (0.100, n=50) [0.00, 0.00] n=20", "0.000 [0.00, 0.00] n=24"]  # a 0 it could have passed: a result
    assert faithful[("zero_shot", "self_consistency_attribution")][0].startswith("0.000")
    assert all(row[3] == "0.900 (0.000) [0.90, 0.90] n=50" for row in accuracy_rows)  # accuracy: no mark


def test_paper3_figures_draw_no_bar_and_no_colour_for_a_figure_that_is_not_applicable():
    from faithex.report.plots import faithfulness_figure, generalisation_figure

    def cell(regime, value):
        return {"task": "news", "regime": regime, "protocol": "self_consistency_counterfactual", "seed": 0,
                "metrics": {"self_consistency_faithfulness": metric(value, value - 0.1, value + 0.1)}}

    results = {"experiment": "p3", "tasks": {"news": {"chance_level": 0.25}},
               "cells": [cell("self_consistency_classifier", 0.6), cell("pseudo_faithful", 0.3)],
               "guards": {"news/self_consistency_classifier/self_consistency_counterfactual/s0": untrained()}}
    ax = faithfulness_figure(results).axes[0]
    assert [round(bar.get_height(), 3) for bar in ax.patches] == [0.0, 0.3]  # the untrained classifier: no bar
    assert [t.get_text() for t in ax.texts] == ["n/a"]
    grid = generalisation_figure(results).axes[0]
    assert [t.get_text() for t in grid.texts] == ["n/a", "0.30"]
    values = grid.images[0].get_array()
    assert values.mask[0][0] and values[1][0] == pytest.approx(0.3)  # no colour where n/a
    assert any(patch.get_hatch() for patch in grid.patches)


# -- verdicts ------------------------------------------------------------------------------------------------------
def verdict(claim="paper1.alignment", setting="decision_tree", name="supported", qualifier=None, **fields):
    """A results.json verdict entry (the claims' schema), with the numbers of the schema's example."""
    return {"claim": claim, "paper": "paper1", "statement": "With reasoning, answer and explanation agree more often",
            "setting": setting, "metric": "alignment_rate", "treatment": "joint_reasoning/two_step",
            "baseline": "joint/direct", "direction": "greater", "delta": 0.05, "verdict": name,
            "qualifier": qualifier, "effect": 0.02, "low": -0.01, "high": 0.05, "p": 0.5, "p_holm": 0.5, "n": 300,
            "mde": 0.062, "test": "exact McNemar", "seeds": [0], "per_seed": [{"seed": 0, "effect": 0.02, "n": 300}],
            "untrained": [], "reason": "2 discordant pairs of 300", "source": "per-item", **fields}


def test_each_verdict_reads_in_one_line_with_its_evidence():
    from faithex.report.tables import verdict_lines

    results = {"verdicts": [
        verdict(qualifier="untrained: joint, budget: 3 epochs"),
        verdict(claim="paper2.explanations", setting="tweets", name="contradicted", effect=-0.00004, low=-0.0004,
                high=0.0002, p=0.00001, p_holm=0.0004, test="sign-flip permutation"),
        verdict(claim="paper3.faithfulness", setting="news", name="not applicable", effect=None, low=None,
                high=None, p=None, p_holm=None, mde=None, reason="the run has no self-consistency cell on news"),
    ]}
    assert verdict_lines(results) == [
        "paper1.alignment [decision_tree] supported (untrained: joint, budget: 3 epochs): +0.020 [-0.010, +0.050], "
        "p = 0.5 (Holm 0.5), n = 300, MDE 0.062",
        "paper2.explanations [tweets] contradicted: 0.000 [0.000, 0.000], p < 0.001 (Holm < 0.001), n = 300, "
        "MDE 0.062",
        "paper3.faithfulness [news] not applicable: the run has no self-consistency cell on news",
    ]
    assert verdict_lines({"cells": []}) == []


def test_the_terminal_verdict_table_colours_the_verdict_and_shows_names_as_written():
    from rich.console import Console

    from faithex.report.tables import VERDICT_HEADERS, verdict_table

    assert verdict_table({"experiment": "x", "verdicts": []}) is None
    results = {"experiment": "[red]run[/red]", "verdicts": [
        verdict(claim="[bold]mine[/bold]", setting="<script>alert(1)</script>", qualifier="[link=x]q[/link]"),
        verdict(name="inconclusive", qualifier="untrained: joint")]}
    table = verdict_table(results)
    assert [column.header.plain for column in table.columns] == VERDICT_HEADERS
    console = Console(width=200, record=True, markup=True)
    console.print(table)
    shown = console.export_text()
    for written in ("[red]run[/red]", "[bold]mine[/bold]", "<script>alert(1)</script>", "supported ([link=x]q[/link])",
                    "+0.020 [-0.010, +0.050]", "0.5 (0.5)", "exact McNemar", "inconclusive (untrained: joint)"):
        assert written in shown
    cells = table.columns[VERDICT_HEADERS.index("Verdict")]._cells
    assert [(span.style, cells[i].plain[span.start:span.end]) for i in (0, 1) for span in cells[i].spans] == [
        ("bold green", "supported"), ("bold yellow", "inconclusive")]


def test_report_md_has_a_verdicts_section_only_when_the_run_has_verdicts(results, tmp_path):
    from faithex.report.write import write_markdown_report

    assert "Verdicts" not in write_markdown_report(tmp_path, results).read_text()
    results["verdicts"] = [verdict(claim="a|b <script>", qualifier="untrained: joint")]
    report = write_markdown_report(tmp_path, results).read_text()
    assert report.index("## Verdicts") < report.index("**paper 1")
    row = next(line for line in report.splitlines() if line.startswith("| a"))
    assert row == ("| a\\|b &lt;script&gt; | decision_tree | supported (untrained: joint) | +0.020 [-0.010, +0.050] "
                   "| 0.5 (0.5) | 300 | 0.062 | exact McNemar | 2 discordant pairs of 300 |")
