"""The table of bad inputs: every command refuses each with ONE line `faithex: error: ...` on stderr and exit code 2,
never a traceback, and writes nothing (files already there stay byte-identical).

Each row: a sentence, the command line (shlex syntax; MODEL stands for the tiny test model), the files it needs
(name -> text or bytes; a name ending in "/" is a folder), and a fragment the error line must contain.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from faithex.cli.main import app

runner = CliRunner()


def experiment(**changes) -> str:
    """A small valid experiment YAML, with `changes` applied (a value of None removes the key)."""
    data = {"name": "x", "model": "MODEL", "tasks": [{"name": "decision_tree", "n_train": 4, "n_test": 2}],
            "regimes": ["label_only"], **changes}
    return yaml.safe_dump({key: value for key, value in data.items() if value is not None}, sort_keys=False)


def run_config(**changes) -> str:
    """config.yaml as a run writes it (resolved: every default spelled out)."""
    from faithex.runner.config import Experiment

    return yaml.safe_dump(Experiment(**yaml.safe_load(experiment(**changes))).model_dump(), sort_keys=False)


def csv(*rows: str, header: str = "id,text,label") -> str:
    return "\n".join((header, *rows)) + "\n"


GOOD_ROWS = [f"r{i},{word} film,{label}" for i, (word, label) in
             enumerate([("good", "pos"), ("bad", "neg"), ("fine", "pos"), ("awful", "neg"), ("great", "pos"),
                        ("dull", "neg"), ("nice", "pos"), ("poor", "neg"), ("grand", "pos"), ("weak", "neg")])]
DATA = {"data.csv": csv(*GOOD_ROWS)}
DATASET_TASK = [{"name": "dataset", "params": {"path": "data.csv"}, "n_train": None, "n_test": None}]
RUN = {"runs/x/config.yaml": run_config(regimes=["zero_shot"])}  # a run directory predict can read
TEXTS = {"texts.jsonl": '{"text": "good film"}\n'}
EXP = {"exp.yaml": experiment()}
CORRUPT_GGUF = {"x.gguf": bytes(range(256)) * 8}
NO_SAFETENSORS = {"m/config.json": '{"model_type": "llama"}', "m/tokenizer.json": "{}",
                  "m/tokenizer_config.json": "{}"}
PICKLED = {**NO_SAFETENSORS, "m/pytorch_model.bin": b"\x80\x04not loaded"}
NOT_UTF8 = b"name: caf\xe9\n"


def row(sentence: str, command: str, fragment: str, files: dict | None = None):
    return pytest.param(command, files or {}, fragment, id=sentence)


CASES = [
    # -- the command line itself ---------------------------------------------------------------------------------
    row("an unknown command suggests the closest", "generat", "No such command 'generat'. Did you mean 'generate'?"),
    row("tasks takes no argument", "tasks extra", "Got unexpected extra argument(s) (extra)"),
    row("a --param without = is refused", "generate decision_tree -p depth", "--param expects key=value, got 'depth'"),
    row("a --param value that is not YAML is refused", "generate decision_tree -p 'comparisons=[1'",
        "--param 'comparisons=[1': the value is not valid YAML"),
    row("a negative size on the command line is refused", "generate decision_tree --n-test -1",
        "Invalid value for '--n-test': Input should be greater than or equal to 0"),
    row("a size that is not a number is refused", "train --n-train many",
        "Invalid value for '--n-train': Input should be a valid integer"),
    # -- generate ------------------------------------------------------------------------------------------------
    row("an unknown task suggests the closest", "generate decison_tree", "did you mean 'decision_tree'?"),
    row("an unknown task parameter names the accepted ones", "generate decision_tree -p depth=3",
        "unknown parameter 'depth' for task 'decision_tree'; accepted: n_inputs, comparisons, decimals"),
    row("a task parameter of the wrong type is refused", "generate decision_tree -p comparisons=many",
        "parameter 'comparisons' must be an integer, got 'many'"),
    row("generate --out that is an existing file", "generate decision_tree --n-train 2 --n-test 1 --out notes.txt",
        "notes.txt is a file", {"notes.txt": "keep me"}),
    row("a task name with rich markup prints literally", "generate 'x[/b][w.x > 0]'", "unknown task 'x[/b][w.x > 0]'"),
    # -- experiment files (validate reads them as run does) ------------------------------------------------------
    row("a missing experiment file", "validate nope.yaml", "experiment file not found: nope.yaml"),
    row("a folder instead of an experiment file", "validate exp.yaml", "exp.yaml is a folder", {"exp.yaml/": ""}),
    row("a non-UTF-8 experiment file", "validate exp.yaml", "exp.yaml: not a UTF-8 text file", {"exp.yaml": NOT_UTF8}),
    row("an experiment file that is a list", "validate exp.yaml", "expected a mapping", {"exp.yaml": "- a\n- b\n"}),
    row("an empty experiment file", "validate exp.yaml", "expected a mapping", {"exp.yaml": ""}),
    row("invalid YAML names its line", "validate exp.yaml", "exp.yaml:2: not valid YAML (while parsing a flow sequence",
        {"exp.yaml": "name: x\ntasks: [unclosed\n"}),
    row("an unknown top-level key names the accepted ones", "validate exp.yaml",
        "exp.yaml: unknown key 'colour'; accepted: name, model", {"exp.yaml": experiment(colour="red")}),
    row("an unknown key in tasks[]", "validate exp.yaml", "tasks[0]: unknown key 'size'; accepted: name, id, params",
        {"exp.yaml": experiment(tasks=[{"name": "decision_tree", "size": 3}])}),
    row("an unknown key in train names the accepted ones", "validate exp.yaml",
        "train: unknown key 'learning_rat'; accepted: lora_r", {"exp.yaml": experiment(train={"learning_rat": 0.1})}),
    row("an unknown key in inference", "validate exp.yaml",
        "inference: unknown key 'batchsize'; accepted: batch_size, precision",
        {"exp.yaml": experiment(inference={"batchsize": 3})}),
    row("an unknown key in a regimes[] mapping", "validate exp.yaml",
        "regimes[0]: unknown key 'colour'; accepted: name, id, starts_from, protocols",
        {"exp.yaml": experiment(regimes=[{"name": "label_only", "colour": "red"}])}),
    row("a missing experiment name", "validate exp.yaml", "name: missing (required)",
        {"exp.yaml": experiment(name=None)}),
    row("an empty task list", "validate exp.yaml", "tasks: List should have at least 1 item",
        {"exp.yaml": experiment(tasks=[])}),
    row("tasks that is not a list", "validate exp.yaml", "tasks: Input should be a valid list",
        {"exp.yaml": experiment(tasks="decision_tree")}),
    row("a size of the wrong type", "validate exp.yaml", "tasks[0].n_train: Input should be a valid integer",
        {"exp.yaml": experiment(tasks=[{"name": "decision_tree", "n_train": "many"}])}),
    row("a negative size", "validate exp.yaml", "tasks[0].n_test: Input should be greater than 0",
        {"exp.yaml": experiment(tasks=[{"name": "decision_tree", "n_test": -5}])}),
    row("a zero inference batch size", "validate exp.yaml", "inference.batch_size: Input should be greater than 0",
        {"exp.yaml": experiment(inference={"batch_size": 0})}),
    row("a train value of the wrong type", "validate exp.yaml", "train: epochs: Input should be a valid number",
        {"exp.yaml": experiment(train={"epochs": "many"})}),
    row("an unknown loss_on lists the accepted values", "validate exp.yaml",
        "train: loss_on: Input should be 'completion' or 'all'", {"exp.yaml": experiment(train={"loss_on": "most"})}),
    row("an unknown inference precision lists the accepted values", "validate exp.yaml",
        "inference.precision: Input should be 'auto', 'bf16' or 'fp32'",
        {"exp.yaml": experiment(inference={"precision": "fp8"})}),
    row("an unknown task in an experiment suggests the closest", "validate exp.yaml", "did you mean 'mortgage'?",
        {"exp.yaml": experiment(tasks=[{"name": "mortgag"}])}),
    row("an unknown regime suggests the closest", "validate exp.yaml",
        "unknown regime 'label_onyl'; did you mean 'label_only'?", {"exp.yaml": experiment(regimes=["label_onyl"])}),
    row("an unknown protocol suggests the closest", "validate exp.yaml",
        "unknown protocol 'scor'; did you mean 'score'?", {"exp.yaml": experiment(protocols=["scor"])}),
    row("an unknown task parameter in an experiment", "validate exp.yaml", "unknown parameter 'depth'",
        {"exp.yaml": experiment(tasks=[{"name": "decision_tree", "params": {"depth": 3}}])}),
    row("two tasks of the same name without ids", "validate exp.yaml", "task id 'decision_tree' is listed twice",
        {"exp.yaml": experiment(tasks=[{"name": "decision_tree"},
                                       {"name": "decision_tree", "params": {"comparisons": 2}}])}),
    row("a regime listed twice", "validate exp.yaml", "regime id 'label_only' is listed twice",
        {"exp.yaml": experiment(regimes=["label_only", "label_only"])}),
    row("regimes and configurations together", "validate exp.yaml", "not both",
        {"exp.yaml": experiment(configurations=["joint"])}),
    row("a starts_from naming an unknown regime", "validate exp.yaml", "starts from 'nowhere'",
        {"exp.yaml": experiment(regimes=[{"name": "label_only", "starts_from": "nowhere"}])}),
    row("a protocol that cannot ask its regime", "validate exp.yaml",
        "protocol 'two_step' cannot ask regime 'label_only'", {"exp.yaml": experiment(protocols=["two_step"])}),
    row("a regime that needs explanations on a task without them", "validate exp.yaml",
        "regime 'joint' cannot train on task 'dataset'",
        {**DATA, "exp.yaml": experiment(tasks=DATASET_TASK, regimes=["joint"])}),
    # -- models --------------------------------------------------------------------------------------------------
    row("validate: a corrupt .gguf model", "validate exp.yaml", "x.gguf is not a GGUF file",
        {**CORRUPT_GGUF, "exp.yaml": experiment(model="x.gguf")}),
    row("run: a corrupt .gguf model", "run exp.yaml --model x.gguf", "x.gguf is not a GGUF file",
        {**CORRUPT_GGUF, **EXP}),
    row("a missing model folder", "validate exp.yaml", "model folder not found: ./nope",
        {"exp.yaml": experiment(model="./nope")}),
    row("validate: a model folder with config and tokenizer only", "validate exp.yaml",
        "m has no .safetensors weights", {**NO_SAFETENSORS, "exp.yaml": experiment(model="m")}),
    row("train: a model folder with pickled weights fails before training", "train --model m --n-train 2 --n-test 1",
        "m has no .safetensors weights", PICKLED),
    row("a model path that is a plain file", "run exp.yaml --model weights.bin", "weights.bin is not a model folder",
        {"weights.bin": b"\x00", **EXP}),
    # -- run, train, demo ----------------------------------------------------------------------------------------
    row("run: a missing experiment file", "run nope.yaml", "experiment file not found: nope.yaml"),
    row("run --out that is an existing file", "run exp.yaml --out notes.txt", "notes.txt is a file",
        {"notes.txt": "keep me", **EXP}),
    row("run --seed that is not a number", "run exp.yaml --seed abc",
        "Invalid value for '--seed': Input should be a valid integer", EXP),
    row("run into a folder holding another experiment", "run exp.yaml --out runs",
        "runs/x holds a run of a different experiment (seed changed)",
        {**EXP, "runs/x/config.yaml": run_config(seed=7), "runs/x/results.json": '{"kept": true}\n'}),
    row("train --out that is an existing file", "train --model MODEL --n-train 2 --n-test 1 --out notes.txt",
        "notes.txt is a file", {"notes.txt": "keep me"}),
    row("train: an unknown regime suggests the closest", "train -c jointt", "did you mean 'joint'?"),
    row("train: an unknown task", "train --task tweets", "unknown task 'tweets'"),
    row("train: an unknown --loss-on lists the accepted values", "train --model MODEL --loss-on most",
        "train: loss_on: Input should be 'completion' or 'all'"),
    row("train: zero epochs", "train --model MODEL --epochs 0", "must be positive"),
    row("train: joint on a task without explanations fails before training",
        "train --model MODEL -c joint --task dataset -p path=data.csv --n-train 6 --n-test 2",
        "regime 'joint' cannot train on task 'dataset'", DATA),
    row("demo --out that is an existing file", "demo --out notes.txt", "notes.txt is a file", {"notes.txt": "keep"}),
    row("demo: a missing model folder", "demo --model ./nope", "model folder not found: ./nope"),
    # -- evaluate ------------------------------------------------------------------------------------------------
    row("evaluate a folder without config.yaml", "evaluate --out runs/none", "no experiment in runs/none",
        {"runs/none/": ""}),
    row("evaluate before training", "evaluate --out runs/x", "no trained adapters in",
        {"runs/x/config.yaml": run_config()}),
    row("evaluate a regime the run does not have", "evaluate --out runs/x -r joint", "regime 'joint' is not in runs/x",
        RUN),
    row("evaluate with a protocol that cannot ask the regime", "evaluate --out runs/x --protocol two_step",
        "protocol 'two_step' cannot ask regime 'zero_shot'", RUN),
    row("evaluate a run whose config.yaml is a list", "evaluate --out runs/x", "expected a mapping",
        {"runs/x/config.yaml": "- a\n", "runs/x/results.json": "{}\n"}),
    # -- predict -------------------------------------------------------------------------------------------------
    row("predict: a missing input file", "predict runs/x -i nope.jsonl -o p.jsonl",
        "nope.jsonl: no such file or folder", RUN),
    row("predict: an input row without text", "predict runs/x -i texts.jsonl -o p.jsonl",
        "texts.jsonl:2: no text in column 'text'", {**RUN, "texts.jsonl": '{"text": "ok"}\n{"txt": "hi"}\n'}),
    row("predict: a CSV input without the text column", "predict runs/x -i texts.csv -o p.jsonl",
        "texts.csv:2: no text in column 'text' (columns: review)", {**RUN, "texts.csv": "review\ngood\n"}),
    row("predict: an input line that is not JSON", "predict runs/x -i texts.jsonl -o p.jsonl",
        "texts.jsonl:1: not valid JSON", {**RUN, "texts.jsonl": "{oops\n"}),
    row("predict: a non-UTF-8 input", "predict runs/x -i texts.jsonl -o p.jsonl", "texts.jsonl:1: not valid UTF-8",
        {**RUN, "texts.jsonl": b'{"text": "caf\xe9"}\n'}),
    row("predict: an input of unknown suffix", "predict runs/x -i texts.txt -o p.jsonl",
        "texts.txt: unknown file type '.txt'; expected .jsonl", {**RUN, "texts.txt": "hello\n"}),
    row("predict: an id that appears twice", "predict runs/x -i texts.jsonl -o p.jsonl --id-column id",
        "id 'a' appears twice", {**RUN, "texts.jsonl": '{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n'}),
    row("predict: a folder that is no run directory", "predict runs/empty -i texts.jsonl -o p.jsonl",
        "runs/empty is neither a faithex run directory", {**TEXTS, "runs/empty/": ""}),
    row("predict: a run directory with several classifiers", "predict runs/x -i texts.jsonl -o p.jsonl",
        "holds 2 matching classifiers",
        {**TEXTS, "runs/x/config.yaml": run_config(regimes=["zero_shot", "label_only"])}),
    row("predict: a regime that was not trained", "predict runs/x -i texts.jsonl -o p.jsonl",
        "holds no trained adapters", {**TEXTS, "runs/x/config.yaml": run_config()}),
    row("predict --output that is a folder", "predict runs/x -i texts.jsonl -o out", "cannot write out: it is a folder",
        {**RUN, **TEXTS, "out/": ""}),
    row("predict --output below an existing file", "predict runs/x -i texts.jsonl -o notes.txt/p.jsonl",
        "notes.txt is a file", {**RUN, **TEXTS, "notes.txt": "keep me"}),
    row("predict --output that is the input file", "predict runs/x -i texts.jsonl -o texts.jsonl",
        "texts.jsonl:1: not a predictions file", {**RUN, **TEXTS}),
    row("predict --output that is an existing text file", "predict runs/x -i texts.jsonl -o notes.txt",
        "notes.txt:1: not a predictions file", {**RUN, **TEXTS, "notes.txt": "keep me"}),
    row("predict: a zero batch size", "predict runs/x -i texts.jsonl -o p.jsonl --batch-size 0",
        "Invalid value for '--batch-size'", {**RUN, **TEXTS}),
    # -- validate on data files (the `dataset` task) -------------------------------------------------------------
    row("validate a file of unknown suffix", "validate notes.txt", "notes.txt: expected an experiment (.yaml)",
        {"notes.txt": "hello"}),
    row("validate a missing data file", "validate nope.csv", "nope.csv: no such file or folder"),
    row("a data file without the text column names the columns present", "validate data.csv -p text_column=review",
        "data.csv:1: no column 'review'; columns present: 'id', 'text', 'label'", DATA),
    row("a data row with an empty text names its line", "validate data.csv", "data.csv:4: missing or empty text",
        {"data.csv": csv(*GOOD_ROWS[:2], "r9,  ,pos", *GOOD_ROWS[2:])}),
    row("an unknown label names its line and the labels", "validate data.csv -p labels=neg,pos",
        "data.csv:3: unknown label 'meh' in column 'label'; labels: neg, pos",
        {"data.csv": csv(GOOD_ROWS[0], "r9,so so,meh", *GOOD_ROWS[1:])}),
    row("a duplicated id names both lines", "validate data.csv -p id_column=id",
        "data.csv:4: duplicated id 'r0' (first at data.csv:2)",
        {"data.csv": csv(*GOOD_ROWS[:2], "r0,again,pos", *GOOD_ROWS[2:])}),
    row("a data file with non-UTF-8 bytes names the line", "validate data.csv", "data.csv:3: not valid UTF-8",
        {"data.csv": csv(*GOOD_ROWS[:1]).encode() + b"r1,caf\xe9,neg\n"}),
    row("an unknown dataset parameter names the accepted ones", "validate data.csv -p text_col=review",
        "unknown parameter 'text_col' for task 'dataset'; accepted: path, text_column", DATA),
]


def build(root: Path, files: dict, model: str) -> None:
    for name, content in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content.replace("MODEL", model), encoding="utf-8")
        else:
            path.write_bytes(content)


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


def invoke(command: str, model: str):
    return runner.invoke(app, [arg.replace("MODEL", model) for arg in shlex.split(command)])


@pytest.mark.parametrize("command, files, fragment", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(command, files, fragment, tmp_path, monkeypatch,
                                                         tiny_model_dir):
    monkeypatch.chdir(tmp_path)
    build(tmp_path, files, tiny_model_dir)
    before = snapshot(tmp_path)
    result = invoke(command, tiny_model_dir)
    errors = [line for line in result.stderr.splitlines() if line.startswith("faithex: error:")]
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(errors) == 1, result.stderr
    assert fragment in errors[0]
    assert snapshot(tmp_path) == before  # nothing written, nothing changed


def test_a_refused_run_leaves_the_run_directory_byte_identical(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.chdir(tmp_path)
    good = {"name": "t[w.x > 0]", "regimes": ["zero_shot"], "inference": {"precision": "fp32"}}
    build(tmp_path, {"exp.yaml": experiment(**good)}, tiny_model_dir)
    result = invoke("run exp.yaml --out runs", tiny_model_dir)
    assert result.exit_code == 0, result.output
    assert "t[w.x > 0]: " in result.output  # the experiment name in the table titles is not rich markup
    run_dir = tmp_path / "runs" / "t[w.x > 0]"
    assert json.loads((run_dir / "results.json").read_text())["cells"]
    before = snapshot(run_dir)

    bad_data = {"data.csv": csv(*GOOD_ROWS[:3], "r9,,pos", *GOOD_ROWS[3:])}
    added_task = [*yaml.safe_load(experiment())["tasks"], *DATASET_TASK]
    for changes, fragment in [({"seed": 1}, "different experiment"),
                              ({"inference": {"precision": "fp8"}}, "precision"),
                              ({"tasks": added_task}, "data.csv:5: missing or empty text")]:  # found in prepare
        build(tmp_path, {**bad_data, "exp.yaml": experiment(**{**good, **changes})}, tiny_model_dir)
        result = invoke("run exp.yaml --out runs", tiny_model_dir)
        assert result.exit_code == 2 and fragment in result.stderr, result.output
        assert snapshot(run_dir) == before


def test_user_text_is_never_rich_markup(tmp_path, monkeypatch):
    """Descriptions and data print as written: `[/b]` would crash rich markup, `[w.x > 0]` would vanish."""
    from faithex.tasks import TASKS
    from faithex.tasks.synthetic.decision_tree import DecisionTreeTask

    class Marked(DecisionTreeTask):
        description = "splits on [w.x > 0] then [/b] closes nothing"

    TASKS._entries["marked"] = Marked
    try:
        result = runner.invoke(app, ["tasks"])
    finally:
        del TASKS._entries["marked"]
    assert result.exit_code == 0, result.output
    assert "[w.x > 0] then [/b]" in result.output.replace("\n", " ")

    monkeypatch.chdir(tmp_path)
    build(tmp_path, {"data.csv": csv(*[r.replace("pos", "[/b]").replace("neg", "[w.x > 0]") for r in GOOD_ROWS])}, "")
    result = runner.invoke(app, ["validate", "data.csv"])
    assert result.exit_code == 0, result.output
    assert "[/b]" in result.output and "[w.x > 0]" in result.output
