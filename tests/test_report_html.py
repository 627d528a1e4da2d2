"""report.html: sections only for what the run has, every string from a model or dataset shown as text (never run or
read as markup), files written beside report.md, and one clear error for a folder that is no run."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser

from faithex.report.html import render, script_json, text
from faithex.report.sections import SECTIONS
from faithex.report.sections.examples import viewer_row

HOSTILE = ['<script>alert("x")</script>', "</script><img src=x onerror=alert(1)>", "a\" onclick=\"alert('q')",
           "[/b] [bold]markup[/bold]", "{{ body }} {% raw %}", "<!-- comment --> & &amp; \u2028 line"]


def metric(value, low=None, high=None):
    return {"value": value, "low": value if low is None else low, "high": value if high is None else high, "n": 40}


def label_cell(task, regime, accuracy, seed=0):
    return {"task": task, "regime": regime, "protocol": "score", "seed": seed,
            "metrics": {"answer_accuracy": metric(accuracy, accuracy - 0.1, accuracy + 0.1),
                        "answer_failure": metric(0.0), "macro_f1": metric(accuracy - 0.05)},
            "train": {"label": {"seconds": 12.5, "steps": 10, "tokens_per_second": 300.0}}, "eval_seconds": 3.0}


def check_cell(task, regime, protocol, faithful, shift=None):
    metrics = {"self_consistency_faithfulness": metric(faithful, 0.0, 1.0), "self_explanation_failure": metric(0.1),
               "self_consistency_faithfulness_parsed": metric(faithful), "self_consistency_accuracy": metric(0.8),
               "self_consistency_classification_failure": metric(0.0)}
    if shift is not None:
        metrics["self_consistency_shift"] = metric(shift, shift - 0.05, shift + 0.05)
    return {"task": task, "regime": regime, "protocol": protocol, "seed": 0, "metrics": metrics}


def paper2_results(task="tweets"):
    return {"experiment": "unit", "tasks": {task: {"chance_level": 0.5}},
            "provenance": {"model": "tiny", "git_commit": "abc123", "versions": {"torch": "2.13"}, "seeds": [0]},
            "seconds": 42.0,
            "cells": [label_cell(task, "label_only", 0.7), label_cell(task, "label_explanation", 0.8)],
            "comparisons": [{"task": task, "seed": 0, "regime": "label_explanation", "protocol": "score",
                             "baseline": "label_only", "baseline_protocol": "score", "metric": "answer_accuracy",
                             "a": 0.8, "b": 0.7, "diff": 0.1, "low": 0.02, "high": 0.18, "p_value": 0.01,
                             "mcnemar_p": 0.02, "n": 40}],
            "seed_summaries": []}


def sample(i, text_in, output, task="tweets", regime="label_only", gold=0, answer=0, failed=()):
    return {"task": task, "regime": regime, "protocol": "score", "seed": 0, "id": f"x{i}", "input": text_in,
            "gold": gold, "gold_name": ["negative", "positive"][gold], "outputs": {"answer": output},
            "parsed": {"answer": answer}, "parse_failed": list(failed),
            "prompts": {"answer": f"<|im_start|>user\n{text_in}<|im_end|>"}}


def run_dir(tmp_path, results, samples=()):
    folder = tmp_path / "run"
    (folder / "samples").mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(results))
    (folder / "config.yaml").write_text("name: unit\n# </pre><script>alert('config')</script>\n")
    lines = "".join(json.dumps(s) + "\n" for s in samples)
    (folder / "samples" / "tweets__label_only__score__s0.jsonl").write_text(lines)
    return folder


class Elements(HTMLParser):
    """What a browser's parser would build: the elements and attributes, and the text of each script."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.scripts, self._in_script = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]
        if tag == "script":
            self._in_script = dict(attrs).get("type", "javascript")
            self.scripts.append([self._in_script, ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1][1] += data


def parsed(page):
    elements = Elements()
    elements.feed(page)
    return elements


# -- escaping ------------------------------------------------------------------------------------------------------
def test_script_json_cannot_close_its_element_and_reads_back_the_same():
    data = {"outputs": HOSTILE, "score": math.nan, "inf": -math.inf}
    encoded = script_json(data)
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded
    assert json.loads(encoded) == {"outputs": HOSTILE, "score": None, "inf": None}
    assert text('<a href="x">') == "&lt;a href=&#34;x&#34;&gt;"


def test_outputs_names_and_config_with_markup_are_text_in_the_page(tmp_path):
    task = '<b onmouseover="alert(1)">tweets</b>'
    results = paper2_results(task)
    results["experiment"] = "</title><script>alert('name')</script>"
    samples = [sample(i, f"input {value}", value, task=task) for i, value in enumerate(HOSTILE)]
    page, _ = render(results, run_dir(tmp_path, results, samples))
    elements = parsed(page)
    # the only scripts are the page's own: the viewer's data (JSON, not run) and its code
    assert [kind for kind, _ in elements.scripts] == ["application/json", "javascript"]
    assert "img" not in elements.tags and "b" not in elements.tags
    assert not any(name.startswith("on") for name in elements.attributes)  # no handler attribute came through
    # the data reads back exactly as the model and the dataset wrote it
    rows = json.loads(elements.scripts[0][1])
    assert [row["answer"] for row in rows] == HOSTILE
    assert {row["task"] for row in rows} == {task}
    # and the names shown in tables and headings are escaped text
    assert "&lt;b onmouseover=&#34;alert(1)&#34;&gt;tweets&lt;/b&gt;" in page
    assert "&lt;/title&gt;&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(&#39;config&#39;)&lt;/script&gt;" in page


def test_the_viewer_code_never_writes_html():
    from faithex.report.html import ASSETS

    code = (ASSETS / "report.js").read_text()
    assert "textContent" in code
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function", code)


# -- sections ------------------------------------------------------------------------------------------------------
def test_a_run_shows_only_the_sections_it_has_data_for(tmp_path):
    page, context = render(paper2_results(), run_dir(tmp_path, paper2_results(), [sample(0, "good", "negative")]))
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert ids == ["overview", "paper2", "examples"]
    assert {p.name for p in context.written} == {"regime-accuracy.png", "regime-accuracy.svg"}
    assert page.count("<svg") == 1  # the accuracy figure, inline

    checks = {"experiment": "p3", "tasks": {"tweets": {"chance_level": 0.8}}, "cells": [
        check_cell("tweets", "self_consistency_classifier", "self_consistency_attribution_1word", 0.1, 0.02),
        check_cell("tweets", "pseudo_faithful", "self_consistency_attribution_1word", 0.4, 0.12)]}
    page, _ = render(checks)
    assert re.findall(r'<section id="([^"]+)"', page) == ["overview", "paper3"]  # no run directory: no viewer
    assert page.count("<svg") == 4  # faithfulness and shift, each as bars and as the generalisation grid

    for cell in checks["cells"]:
        cell["metrics"]["self_consistency_label_change"] = metric(0.3, 0.1, 0.5)
    page, context = render(checks, tmp_path / "p3")
    assert page.count("<svg") == 6  # the label change too
    assert {"label_change.png", "generalisation-label_change.svg", "generalisation-shift.png"} <= {
        p.name for p in context.written}


def test_new_sections_register_without_touching_the_others():
    assert [s.name for s in sorted(SECTIONS.values(), key=lambda s: s.order)] == [
        "verdicts", "overview", "paper1", "paper2", "paper3", "battery", "examples"]


def test_paired_tests_are_marked_by_an_exact_test_only_by_direction_and_significance(tmp_path):
    results = paper2_results()
    worse = {**results["comparisons"][0], "regime": "bag", "a": 0.5, "diff": -0.2, "low": -0.3, "high": -0.1,
             "mcnemar_p": 0.001}
    unclear = {**results["comparisons"][0], "regime": "shuffled", "diff": 0.05, "mcnemar_p": 0.4}
    error = {**results["comparisons"][0], "regime": "ordinal", "metric": "mean_absolute_error", "diff": -0.3,
             "mcnemar_p": None, "test": "sign-flip permutation", "p_value": 0.003}  # a lower error is better
    # an older results.json: a paired-bootstrap p of 1/(B+1) on two pairs marks nothing
    bootstrap = {**results["comparisons"][0], "regime": "bootstrapped", "metric": "macro_f1", "diff": 0.01,
                 "mcnemar_p": None, "p_value": 0.0005, "n": 2}
    # results.json since exact tests: the named test's p decides, not an older field beside it
    named = {**results["comparisons"][0], "regime": "named", "test": "exact McNemar", "p_value": 0.3,
             "mcnemar_p": 0.001}
    over_seeds = {"task": "tweets", "seed": "all", "regime": "seeds", "protocol": "score", "baseline": "label_only",
                  "metric": "answer_accuracy", "test": "paired t-test over seeds", "mean_diff": 0.1, "p_value": 0.01,
                  "n": 3}
    unpaired = {**named, "regime": "unpaired", "test": None, "p_value": math.nan, "diff": math.nan, "n": 0}
    results["comparisons"] += [worse, unclear, error, bootstrap, named, over_seeds, unpaired]
    page, _ = render(results)
    rows = re.findall(r'<tr( class="(\w+)")?><td>tweets</td><td>(?:0|all)</td><td>(\w+)</td>', page)
    assert {regime: css for _, css, regime in rows} == {"label_explanation": "better", "bag": "worse",
                                                       "shuffled": "", "ordinal": "better", "bootstrapped": "",
                                                       "named": "", "seeds": "", "unpaired": ""}
    # each comparison shows its n (and the discordant pairs McNemar rests on), its test and that test's p
    cells = re.findall(r"<td>([^<]*)</td>", page[page.index("<td>bootstrapped</td>"):])[:9]
    assert cells[4:8] == ["+0.010 [+0.020, +0.180]", "2", "paired bootstrap", "&lt; 0.001"]
    worse_row = re.findall(r"<td>([^<]*)</td>", page[page.index("<td>bag</td>"):])[:9]
    assert worse_row[3:] == ["0.500 vs 0.700", "-0.200 [-0.300, -0.100]", "40", "exact McNemar", "0.001", "▼"]
    assert "<td>+0.100</td><td>3 seeds</td><td>paired t-test over seeds</td><td>0.01</td><td></td>" in page
    discordant = {**results["comparisons"][0], "a_only": 7, "b_only": 1}
    page, _ = render({**results, "comparisons": [discordant]})
    assert "<td>40 (7 + 1 discordant)</td>" in page


# -- verdicts ------------------------------------------------------------------------------------------------------
def verdict(claim, name, qualifier=None, setting="tweets"):
    return {"claim": claim, "paper": "user", "statement": "s", "setting": setting, "metric": "answer_accuracy",
            "treatment": "label_explanation/score", "baseline": "label_only/score", "direction": "greater",
            "delta": 0.05, "verdict": name, "qualifier": qualifier, "effect": -0.0001, "low": -0.04, "high": 0.06,
            "p": 0.03, "p_holm": 0.09, "n": 300, "mde": 0.062, "test": "exact McNemar", "seeds": [0],
            "per_seed": [], "untrained": [], "reason": "3 discordant pairs of 300 <b>", "source": "per-item"}


def test_verdicts_come_first_coloured_with_their_evidence_and_as_text():
    results = paper2_results()
    hostile = '<script>alert("claim")</script> [bold]x[/bold]'
    results["verdicts"] = [verdict(hostile, "supported", setting='<img src=x onerror="alert(1)">'),
                           verdict("paper2.b", "contradicted"), verdict("paper2.c", "inconclusive", "untrained: <i>"),
                           verdict("paper2.d", "not applicable"), verdict("paper2.e", '"><b>odd</b>')]
    page, _ = render(results)
    assert re.findall(r'<section id="([^"]+)"', page)[:2] == ["verdicts", "overview"]
    elements = parsed(page)
    assert [kind for kind, _ in elements.scripts] == ["javascript"]  # no run directory: the page's code only
    assert not {"img", "b", "i"} & set(elements.tags) and not any(a.startswith("on") for a in elements.attributes)
    section = page[page.index('<section id="verdicts"'):page.index('<section id="overview"')]
    assert "&lt;script&gt;alert(&#34;claim&#34;)&lt;/script&gt; [bold]x[/bold]" in section
    badges = re.findall(r'<span class="verdict ([\w-]+)">([^<]+)</span>([^<]*)</td>', section)
    assert badges == [("supported", "supported", ""), ("contradicted", "contradicted", ""),
                      ("inconclusive", "inconclusive", " (untrained: &lt;i&gt;)"),
                      ("not-applicable", "not applicable", "")]
    assert "<td>&#34;&gt;&lt;b&gt;odd&lt;/b&gt;</td>" in section  # an unknown verdict: text, no class
    first = re.findall(r"<td>([^<]*)</td>", section)[:8]
    assert first[2:] == ["0.000 [-0.040, +0.060]", "0.03 (0.09)", "300", "0.062", "exact McNemar",
                         "3 discordant pairs of 300 &lt;b&gt;"]

    results["verdicts"] = []
    assert 'id="verdicts"' not in render(results)[0]


# -- the viewer's rows ---------------------------------------------------------------------------------------------
def test_viewer_flags_errors_disagreements_and_parse_failures():
    paper1 = {"task": "tree", "id": "a", "gold": 1, "parsed": {"answer": 1, "explanation": 0},
              "outputs": {"answer": "1", "explanation": "[...]"}, "parse_failed": []}
    row = viewer_row(paper1)
    assert row["flags"] == {"error": False, "disagree": True, "disagree_label": "explanation disagrees",
                            "failed": False}
    wrong = viewer_row({**paper1, "parsed": {"answer": 0, "explanation": None}, "parse_failed": ["explanation"]})
    assert (wrong["flags"]["error"], wrong["flags"]["disagree"], wrong["failed"]) == (True, False, ["explanation"])
    check = {"id": "b", "gold": 0, "parsed": {"classification": 0}, "outputs": {"classification": "negative"},
             "self_consistency": {"correct": True, "faithful": False, "style": "redaction", "prediction_name": "neg"}}
    row = viewer_row(check)
    assert (row["answer"], row["flags"]["error"], row["flags"]["disagree_label"]) == ("negative", False, "not faithful")
    assert row["check"] == {"style": "redaction", "prediction_name": "neg", "faithful": False}


def test_attribution_files_in_the_run_directory_become_heat_maps(tmp_path):
    from faithex.attribution.result import AttributionResult, WordAttribution

    folder = run_dir(tmp_path, paper2_results(), [sample(0, "so good", "positive", gold=1, answer=1)])
    item = WordAttribution(id="x0", text="so good", words=["so", "good"], spans=[(0, 2), (3, 7)], scores=[0.1, 0.9],
                           method="input_x_gradient", target="positive", target_score=-0.1)
    AttributionResult([item]).save(folder / "attributions" / "tweets.json")
    page, _ = render(paper2_results(), folder)
    rows = json.loads(parsed(page).scripts[0][1])
    assert rows[0]["attribution"] == {"words": ["so", "good"], "scores": [0.1, 0.9]}


# -- files and the command -----------------------------------------------------------------------------------------
def test_faithex_report_writes_both_reports_and_refuses_a_folder_without_results(tmp_path, capsys):
    from typer.testing import CliRunner

    from faithex.cli.main import app

    folder = run_dir(tmp_path, paper2_results(), [sample(0, "good", "negative")])
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "report.md").is_file() and (folder / "report.html").is_file()
    assert (folder / "figures" / "regime-accuracy.svg").is_file()

    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["report", str(empty)])
    assert result.exit_code == 2
    assert "no results.json" in result.output and "Traceback" not in result.output


# -- guards --------------------------------------------------------------------------------------------------------
def test_untrained_cells_and_their_reasons_are_listed_as_text_and_their_figures_are_not_applicable():
    results = paper2_results()
    checks = [{**check_cell("tweets", regime, "self_consistency_counterfactual", 0.4), "seed": seed}
              for regime in ("label_only", "label_explanation") for seed in (0, 1)]
    results["cells"] += checks
    reason = '<script>alert("reason")</script> & "quotes"'
    results["guards"] = {"tweets/label_only/score/s0": {"untrained": True, "reason": reason},
                         "tweets/label_only/self_consistency_counterfactual/s1": {"untrained": True, "reason": "x"},
                         "tweets/label_explanation/score/s0": {"untrained": False, "reason": None}}
    faithful = {"task": "tweets", "protocol": "self_consistency_counterfactual", "baseline": "label_only",
                "baseline_protocol": "self_consistency_counterfactual", "metric": "self_consistency_faithfulness",
                "regime": "label_explanation"}
    results["comparisons"] += [
        {**faithful, "seed": 1, "a": 0.4, "b": 0.4, "diff": 0.0, "low": -0.1, "high": 0.1, "test": "exact McNemar",
         "p_value": 0.001, "n": 40},  # its baseline is untrained in seed 1: nothing to read, no mark
        {**faithful, "seed": 0, "a": 0.4, "b": 0.2, "diff": 0.2, "low": 0.1, "high": 0.3, "test": "exact McNemar",
         "p_value": 0.001, "n": 40}]
    summary = {"mean": 0.4, "sd": 0.0, "n": 2, "values": [0.4, 0.4]}
    results["seed_summaries"] = [{"task": "tweets", "regime": "label_only", "protocol": faithful["protocol"],
                                  "metrics": {"self_consistency_faithfulness": summary}}]
    page, _ = render(results)
    elements = parsed(page)
    assert [kind for kind, _ in elements.scripts] == ["javascript"]  # the reason came through as text only
    assert ("† untrained: tweets/label_only/s0 (score): &lt;script&gt;alert(&#34;reason&#34;)&lt;/script&gt; "
            "&amp; &#34;quotes&#34;") in page
    assert "<td>0.700† (0.000) [0.60, 0.80] n=40</td>" in page and "<td>0.800 (0.000) [0.70, 0.90] n=40</td>" in page
    rows = re.findall(r'<tr( class="\w+")?><td>tweets</td><td>(\d)</td><td>label_explanation</td>'
                      r'<td>self_consistency_counterfactual</td><td>self_consistency_faithfulness</td>'
                      r'((?:<td>[^<]*</td>)*)</tr>', page)
    cells = {seed: (css, re.findall(r"<td>([^<]*)</td>", rest)) for css, seed, rest in rows}
    assert cells["1"] == ("", ["n/a (untrained)", "-", "40", "exact McNemar", "-", ""])
    assert cells["0"] == (' class="better"', ["0.400 vs 0.200", "+0.200 [+0.100, +0.300]", "40", "exact McNemar",
                                              "0.001", "▲"])
    assert ("<td>self_consistency_faithfulness</td><td>n/a (untrained)</td><td>2</td>"
            "<td>s0 0.400, s1 n/a (untrained)</td>") in page
    # paper 3's figures: the first seed of each regime, none untrained here: no n/a drawn, none explained
    assert "n/a: not applicable" not in page
    results["guards"]["tweets/label_only/self_consistency_counterfactual/s0"] = {"untrained": True, "reason": "y"}
    assert "n/a: not applicable, no figure drawn" in render(results)[0]


def test_the_example_viewer_shows_every_intervened_prompt_and_answer_without_the_scores():
    from faithex.report.sections.examples import viewer_row

    sample = {"id": "t1", "regime": "joint_reasoning", "protocol": "reasoning_interventions", "input": "X: [0.1]",
              "outputs": {"reasoning": "1,0,1", "answer": "1"}, "parsed": {"answer": 1}, "gold": 1,
              "interventions": {
                  "mistakes": [{"step": 1, "reasoning": "0,1,0", "implied_output": 0, "answer": 0,
                                "scores": [-0.1, -2.3], "explanation": "x < 0.5 <script>"}],
                  "filler": {"reasoning": "... ...", "answer": 1, "scores": [-1.0, -0.5]},
                  "paraphrase": None}}
    lines = viewer_row(sample)["interventions"]
    assert lines == {"mistakes 1": "step: 1\nreasoning: 0,1,0\nimplied_output: 0\nanswer: 0\n"
                                   "explanation: x < 0.5 <script>",
                     "filler": "reasoning: ... ...\nanswer: 1"}
    control = {"id": "t2", "self_consistency": {"style": "attribution", "random_control": {
        "redacted": ["the"], "intervened_input": "[REDACTED] movie", "classification": "positive"}}}
    assert viewer_row(control)["interventions"]["random control"].startswith('redacted: ["the"]')
