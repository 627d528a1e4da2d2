"""The numbers docs/results.md and README.md cite from runs match the committed files they come from
(scripts/check_docs_numbers.py, docs/numbers.md)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_docs_numbers", ROOT / "scripts" / "check_docs_numbers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


checker = _load_checker()

RESULTS = {
    "provenance": {"precision": "bf16", "machine": "x86_64, 2 CPU cores"},
    "seconds": 3418.2,
    "tasks": {"news": {"chance_level": 0.2375, "n_test": 80}},
    "cells": [
        {"task": "news", "regime": "before", "protocol": "score", "seed": 0, "eval_seconds": 22.2,
         "metrics": {"answer_accuracy": {"value": 0.365, "low": 0.26, "high": 0.4625, "n": 80},
                     "label_change": {"value": 0.3077, "low": 0.1795, "high": 0.4359, "n": 39}}},
        {"task": "news", "regime": "after", "protocol": "score", "seed": 0, "eval_seconds": 0.0,
         "metrics": {"answer_accuracy": {"value": 0.4625, "low": 0.35, "high": 0.575, "n": 80}}},
        {"task": "news", "regime": "after", "protocol": "score", "seed": 1, "eval_seconds": 96.8,
         "metrics": {"answer_accuracy": {"value": 0.5, "low": 0.39, "high": 0.61, "n": 80}}},
    ],
    "seed_summaries": [
        {"task": "news", "regime": "after", "protocol": "score",
         "metrics": {"answer_accuracy": {"mean": 0.48125, "sd": 0.0265, "n": 2, "values": [0.4625, 0.5]}}},
    ],
    "comparisons": [
        {"task": "news", "seed": 0, "regime": "after", "protocol": "score", "baseline": "before",
         "metric": "answer_accuracy", "diff": 0.0975, "low": -0.02, "high": 0.21, "mcnemar_p": 0.0013},
    ],
}


@pytest.fixture
def sources(tmp_path):
    run = tmp_path / "docs" / "runs" / "study"
    run.mkdir(parents=True)
    (run / "results.json").write_text(json.dumps(RESULTS))
    (tmp_path / "docs" / "benchmarks-x.json").write_text(json.dumps({"ratios": {"top10": 2.2}}))
    return checker.Sources(tmp_path)


def problems(text, sources):
    return [str(problem) for problem in checker.check_text(text, "docs/results.md", sources)]


# ---- the committed documents ----------------------------------------------------------------------------------

@pytest.mark.parametrize("document", ["docs/results.md", "README.md"])
def test_every_marked_number_in_the_documents_matches_its_run(document):
    assert [str(problem) for problem in checker.check_file(ROOT / document)] == []


def test_only_runs_without_a_committed_file_are_left_unchecked():
    scopes = [line for line in (ROOT / "docs/results.md").read_text().splitlines() if "<!-- skip to heading:" in line]
    assert scopes and all("no results.json kept" in line for line in scopes)
    assert "<!-- skip to heading:" not in (ROOT / "README.md").read_text()


# a row of docs/results.md ("Two comparisons in the demo's budget"), copied with its markers
PASSAGE = (
    "| compressed<!-- paper1-two-comparisons: cell(dt2-compressed/joint_reasoning) --> | joint_reasoning | "
    "0.890 [0.81, 0.94]<!-- answer_accuracy .low .high --> | 0.890 [0.81, 0.94]<!-- explanation_accuracy .low .high "
    "--> | 1.000 [0.96, 1.00]<!-- alignment_rate .low .high --> | 0.870 [0.79, 0.92]<!-- reasoning_exact_match .low "
    ".high --> | 0.930<!-- explanation_step_validity --> | 0.750<!-- task(dt2-compressed).chance_level --> |"
)


def test_a_changed_digit_in_a_copied_passage_is_reported_with_file_line_and_expected_value():
    assert checker.check_text("intro\n\n" + PASSAGE, "docs/results.md") == []
    wrong = PASSAGE.replace("0.870 [0.79, 0.92]", "0.870 [0.79, 0.98]")
    found = [str(problem) for problem in checker.check_text("intro\n\n" + wrong, "docs/results.md")]
    assert len(found) == 1
    assert found[0].startswith("docs/results.md:3: 0.98 does not match paper1-two-comparisons: "
                               "cell(dt2-compressed/joint_reasoning).reasoning_exact_match.high = 0.92")
    assert found[0].endswith("expected 0.92")


def test_the_text_baselines_macro_f1_gain_of_0_185_does_not_print_as_0_19():
    prose = ("label scoring: macro-F1 +0.348, +0.629, +0.185<!-- text-baseline: "
             "cmp(tweet_sentiment/label_only/macro_f1/protocol=score) diff; "
             "cmp(news_topic/label_only/macro_f1/protocol=score) diff; "
             "cmp(drug_review/label_only/macro_f1/protocol=score) diff -->.")
    assert checker.check_text(prose, "docs/results.md") == []
    found = [str(problem) for problem in checker.check_text(prose.replace("+0.185", "+0.19"), "docs/results.md")]
    assert found == ["docs/results.md:1: +0.19 does not match text-baseline: cmp(drug_review/label_only/macro_f1/"
                     "protocol=score).diff = 0.18497503818109756: expected 0.18"]


def test_a_changed_digit_in_the_real_document_is_reported_at_its_line():
    lines = (ROOT / "docs/results.md").read_text().splitlines()
    index = lines.index(next(line for line in lines if PASSAGE.split(" | ")[2] in line and "dt2-compressed" in line))
    lines[index] = lines[index].replace("0.890 [0.81, 0.94]", "0.880 [0.81, 0.94]", 1)
    found = [str(problem) for problem in checker.check_text("\n".join(lines), "docs/results.md")]
    assert len(found) == 1
    assert found[0].startswith(f"docs/results.md:{index + 1}: 0.880 does not match")
    assert "expected 0.890" in found[0]


# ---- what a marker checks -------------------------------------------------------------------------------------

def test_a_number_must_equal_its_field_within_the_printed_rounding(sources):
    marker = "<!-- study: cell(news/before) answer_accuracy -->"
    assert problems(f"accuracy 0.365{marker}", sources) == []
    assert problems(f"accuracy 0.37{marker}", sources) == []  # 0.365 rounds either way at 2 decimals
    assert problems(f"accuracy 0.4{marker}", sources) == []
    found = problems(f"accuracy 0.370{marker}", sources)  # padding 0.37 to 3 decimals claims a precision it lacks
    assert found == ["docs/results.md:1: 0.370 does not match study: cell(news/before).answer_accuracy = 0.365: "
                     "expected 0.365"]


def test_an_interval_checks_low_and_high(sources):
    marker = "<!-- study: cell(news/before).answer_accuracy value low high -->"
    assert problems(f"0.365 [0.26, 0.46]{marker}", sources) == []
    found = problems(f"0.365 [0.26, 0.47]{marker}", sources)
    assert len(found) == 1 and "0.47 does not match" in found[0] and "expected 0.46" in found[0]


def test_selectors_for_cells_seed_summaries_comparisons_tasks_and_plain_paths(sources):
    text = ("mean 0.481 ± 0.026<!-- study: summary(news/after) answer_accuracy answer_accuracy.sd -->, "
            "seed one 0.500<!-- study: cell(news/after/score/1) answer_accuracy -->, "
            "+0.098 [-0.02, +0.21]<!-- study: cmp(news/after/answer_accuracy/0) diff low high --> "
            "(p = 0.0013<!-- study: cmp(news/after/answer_accuracy/0).mcnemar_p -->), "
            "chance 0.237<!-- study: task(news).chance_level --> of 80<!-- study: task(news).n_test -->, "
            "3,418 s<!-- study: seconds -->, in bf16<!-- study: provenance.precision -->, "
            "2.20x<!-- docs/benchmarks-x.json: ratios.top10 -->")
    assert problems(text, sources) == []


def test_several_refs_in_one_marker_pair_in_order(sources):
    marker = "<!-- study: cell(news/before) answer_accuracy; cell(news/after/score/0) answer_accuracy -->"
    assert problems(f"0.365 -> 0.463{marker}", sources) == []
    assert len(problems(f"0.463 -> 0.365{marker}", sources)) == 2


def test_refs_joined_by_and_pair_the_same_number(sources):
    marker = "<!-- study: cell(news/after/score/0) answer_accuracy & cell(news/before) answer_accuracy -->"
    both = "<!-- study: cell(news/after/score/0) answer_accuracy & summary(news/after).answer_accuracy.values.0 -->"
    assert problems(f"0.46{both}", sources) == []
    found = problems(f"0.46{marker}", sources)
    assert len(found) == 1 and "before).answer_accuracy = 0.365: expected 0.36" in found[0]


def test_a_slice_must_match_in_every_item(sources):
    assert problems("all within ±0.5<!-- study: summary(news/after).answer_accuracy.values.0:2 -->", sources) == []
    found = problems("all within ±0.48<!-- study: summary(news/after).answer_accuracy.values.0:2 -->", sources)
    assert len(found) == 1 and "does not match every item" in found[0]


def test_a_percentage_or_a_duration_declares_its_scale(sources):
    assert problems("31 % [18, 44]<!-- study: cell(news/before).label_change value% low% high% -->", sources) == []
    assert problems("57 min<!-- study: seconds:min -->", sources) == []
    assert problems("56 min 58 s<!-- study: seconds -->", sources) == []
    assert len(problems("31 %<!-- study: cell(news/before).label_change -->", sources)) == 1


def test_a_bound_checks_the_side_it_states(sources):
    marker = "<!-- study: cmp(news/after/answer_accuracy/0).mcnemar_p -->"
    assert problems(f"p < 0.002{marker}", sources) == []
    assert len(problems(f"p < 0.001{marker}", sources)) == 1
    assert problems("within ±0.1<!-- study: cmp(news/after/answer_accuracy/0).diff -->", sources) == []
    assert len(problems("within ±0.05<!-- study: cmp(news/after/answer_accuracy/0).diff -->", sources)) == 1


def test_a_marker_pairs_numbers_across_the_line_breaks_of_its_paragraph_not_past_it(sources):
    marker = "<!-- study: cell(news/before) answer_accuracy; cell(news/after/score/0) answer_accuracy -->"
    assert problems(f"from 0.365\nto 0.463{marker}", sources) == []
    found = problems(f"from 0.365\n\nto 0.463{marker}", sources)
    assert "docs/results.md:1: 0.365: a decimal" in found[0] and "pairs 1 number(s) (0.463)" in found[1]
    found = problems(f"- from 0.365\n- to 0.463{marker}", sources)  # a list item starts afresh
    assert len(found) == 2
    found = problems(f"from 0.365\nto 0.500{marker}", sources)  # reported at the line the number is on
    assert found[0].startswith("docs/results.md:2: 0.500 does not match")


def test_the_papers_numbers_and_quoted_labels_are_no_run_numbers(sources):
    assert problems('paper 1\'s claim: it answers "0" for 0.365<!-- study: cell(news/before) answer_accuracy -->',
                    sources) == []


def test_a_line_context_names_the_run_and_object_once(sources):
    row = ("| news<!-- study: cell(news/before) --> | 0.365 [0.26, 0.46]<!-- answer_accuracy .low .high --> "
           "| 0.308<!-- label_change --> |")
    assert problems(row, sources) == []
    assert len(problems(row.replace("0.308", "0.318"), sources)) == 1
    assert "names no field but follows 2" in problems("| 2 news<!-- study: cell(news/before) --> |", sources)[0]


# ---- what a marker must not get away with ---------------------------------------------------------------------

def test_a_field_the_file_does_not_have_is_reported(sources):
    found = problems("0.365<!-- study: cell(news/before) answer_accuracy.median -->", sources)
    assert len(found) == 1 and "no field 'median'" in found[0]
    found = problems("0.365<!-- study: cell(news/before) accuracy -->", sources)
    assert len(found) == 1 and "no field 'accuracy'" in found[0]


def test_a_selector_must_name_exactly_one_entry_and_a_source_must_exist(sources):
    assert "matches 2 entries" in problems("0.5<!-- study: cell(news/after) answer_accuracy -->", sources)[0]
    assert "matches nothing" in problems("0.5<!-- study: cell(tweets) answer_accuracy -->", sources)[0]
    assert "no file for source 'nostudy'" in problems("0.5<!-- nostudy: seconds -->", sources)[0]


def test_a_marker_must_pair_as_many_numbers_as_it_names_fields(sources):
    marker = "<!-- study: cell(news/before).answer_accuracy value low high -->"
    found = problems(f"0.365 [0.26]{marker}", sources)
    assert len(found) == 1 and "names 3 numeric field(s) but pairs 2 number(s)" in found[0]
    found = problems(f"after 2 epochs: 0.365 [0.26, 0.46]{marker}", sources)
    assert len(found) == 1 and "pairs 4 number(s) (2, 0.365, 0.26, 0.46)" in found[0]
    assert problems(f"after 2 epochs<!-- skip: config --> 0.365 [0.26, 0.46]{marker}", sources) == []


def test_every_decimal_percentage_and_interval_needs_a_marker(sources):
    found = problems("accuracy 0.365 after 2 epochs, [18, 44], 31 %, p = 2e-4", sources)
    assert [problem.split(": ")[1] for problem in found] == ["0.365", "18", "44", "31 %", "2e-4"]
    assert problems("accuracy 0.365 (the paper's figure)<!-- skip: the paper's figure -->", sources) == []
    assert problems("2 epochs, 300 examples, 3 seeds", sources) == []  # integers: sizes of a configuration
    assert len(problems("nothing here<!-- skip: why -->", sources)) == 1  # a skip marker must skip something


def test_words_dates_hashes_versions_and_code_hold_no_number(sources):
    text = ("fp32 on a 2-core x86_64 machine, top-10 layers of SmolLM2-135M, torch 2.13.0, 2026-11-23, commit "
            "5524e82, `lr: 1.0e-3`, [link](docs/runs/paper1-cpu/report.md), arXiv 2503.11248, value [95% CI], "
            "seeds 0, 1, 2")
    assert problems(text, sources) == []
    assert [number.text for _, number in checker.read_numbers("kept 16/16/8 of runs/2")] == ["16", "16", "8"]


def test_a_skip_to_heading_scope_exempts_numbers_until_the_next_heading(sources):
    text = "<!-- skip to heading: no results.json kept -->\nrun 0.750 [0.67, 0.83]\n## Next\n0.5\n"
    assert problems(text, sources) == ["docs/results.md:4: 0.5: a decimal, percentage or interval with no source "
                                       "marker (add <!-- SOURCE: FIELD --> or <!-- skip: why -->)"]


def test_the_command_line_exits_1_on_a_problem(tmp_path, capsys, sources):
    good, bad = tmp_path / "good.md", tmp_path / "bad.md"
    good.write_text("0.365<!-- study: cell(news/before) answer_accuracy -->\n")
    bad.write_text("0.366<!-- study: cell(news/before) answer_accuracy -->\n")
    assert checker.main([str(good), "--root", str(sources.root)]) == 0
    assert checker.main([str(good), str(bad), "--root", str(sources.root)]) == 1
    assert f"{bad}:1: 0.366 does not match" in capsys.readouterr().out


# -- the verdict tables are generated -------------------------------------------------------------------------------
def _load_verdict_tables():
    spec = importlib.util.spec_from_file_location("verdict_tables", ROOT / "scripts" / "verdict_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_verdict_tables_in_results_md_are_what_the_committed_runs_say():
    tables = _load_verdict_tables()
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert tables.replaced(text) == text, "run: python scripts/verdict_tables.py --write"


def test_a_note_marker_pairs_nothing_and_refuses_a_number_before_it():
    assert checker.check_text("<!-- note: a block starts -->\n", "n.md") == []
    problems = checker.check_text("we saw 0.5 <!-- note: here -->\n", "n.md")
    assert problems and "is a note and pairs no number" in problems[0].message
