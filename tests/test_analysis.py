"""Layer analysis (paper 2): logit lens, label ranks and activation entropy checked by hand on tiny models; the
result object (show, save, load, difference, plot); `analyze_run` and `faithex analyze` on a tiny run directory."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import build_tiny_model, build_tokenizer
from typer.testing import CliRunner

from faithex.analysis import LayerAnalysis, activation_entropy, analyze, analyze_run
from faithex.errors import ConfigError, DatasetError
from faithex.lm.generation import render

LABELS = ["positive", "negative"]
TEXTS = ["good film", "bad", "a rather long and winding review of a film", "ok"]


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    model = build_tiny_model(len(tokenizer)).eval()
    with torch.no_grad():  # a final norm that is not the identity, so forgetting it shows
        model.model.norm.weight.uniform_(0.2, 3.0)
    return model


@pytest.fixture(scope="module")
def prompts(tokenizer):
    return [render(tokenizer, [{"role": "user", "content": text}]) for text in TEXTS]


# -- activation entropy ---------------------------------------------------------------------------------------------
def test_activation_entropy_of_hand_set_values():
    uniform, one_hot = torch.full((8,), -0.5), torch.zeros(8)
    one_hot[3] = 2.0
    two = torch.tensor([0.0, 3.0, 0.0, -3.0])
    values = activation_entropy(torch.stack([uniform, one_hot, torch.zeros(8), torch.arange(8.0)]))
    assert values[:3].tolist() == pytest.approx([math.log(8), 0.0, 0.0], abs=1e-6)
    p = torch.arange(8.0) / 28
    assert values[3].item() == pytest.approx(-sum(x * math.log(x) for x in p.tolist() if x > 0), abs=1e-6)
    assert activation_entropy(two).item() == pytest.approx(math.log(2), abs=1e-6)  # magnitudes: signs do not count


class FixedMLP(torch.nn.Module):
    """An MLP whose intermediate activations are set by hand: `last` at the final position, `other` elsewhere."""

    def __init__(self, hidden: int, last: torch.Tensor, other: torch.Tensor) -> None:
        super().__init__()
        self.down_proj = torch.nn.Linear(len(last), hidden, bias=False)
        self.last, self.other = last, other

    def forward(self, x):
        acts = self.other.expand(*x.shape[:-1], -1).clone()
        acts[:, -1] = self.last
        return self.down_proj(acts)


def test_activation_entropy_is_read_at_the_decision_position_of_every_padded_row(tokenizer, prompts):
    model = build_tiny_model(len(tokenizer)).eval()
    width, hidden = 64, model.config.hidden_size
    uniform, one_hot = torch.ones(width), torch.zeros(width)
    one_hot[5] = 1.0
    model.model.layers[0].mlp = FixedMLP(hidden, last=uniform, other=one_hot)
    model.model.layers[1].mlp = FixedMLP(hidden, last=one_hot, other=uniform)
    result = analyze(model, tokenizer, prompts, LABELS, batch_size=4)  # prompts of different lengths, left-padded
    for row in result.per_example["activation_entropy"]:
        assert row == pytest.approx([math.log(width), 0.0], abs=1e-5)
    assert result.activation_entropy == pytest.approx([math.log(width), 0.0], abs=1e-5)


# -- logit lens -----------------------------------------------------------------------------------------------------
def by_hand(logits: torch.Tensor, targets: list[int]) -> tuple[float, list[int], list[float]]:
    """Entropy, ranks (position in a descending sort, 1-based) and probabilities, computed the long way."""
    probs = torch.softmax(logits.double(), -1)
    entropy = -sum(p * math.log(p) for p in probs.tolist() if p > 0)
    order = torch.argsort(logits, descending=True).tolist()
    return entropy, [order.index(t) + 1 for t in targets], [probs[t].item() for t in targets]


def test_logit_lens_matches_a_manual_computation_and_the_models_own_logits(model, tokenizer, prompts):
    result = analyze(model, tokenizer, prompts, LABELS, batch_size=2)
    targets = [tokenizer.convert_tokens_to_ids(label[0]) for label in LABELS]  # character tokenizer: 'p', 'n'
    assert result.label_tokens == {"positive": "p", "negative": "n"}
    assert result.layers == [1, 2]
    for i, prompt in enumerate(prompts):
        raw = []
        hook = model.model.layers[0].register_forward_hook(lambda m, args, out: raw.append(out))
        with torch.no_grad():
            logits = model(torch.tensor([prompt])).logits[0, -1]
            hook.remove()
            first = raw[0][0] if isinstance(raw[0], tuple) else raw[0]
            normed = model.lm_head(model.model.norm(first[0, -1]))
            unnormed = model.lm_head(first[0, -1])
        for layer, layer_logits in ((0, normed), (1, logits)):
            entropy, ranks, probs = by_hand(layer_logits, targets)
            assert result.per_example["entropy"][i][layer] == pytest.approx(entropy, abs=1e-4)
            for j, label in enumerate(LABELS):
                assert result.per_example["label_rank"][label][i][layer] == ranks[j]
                assert result.per_example["label_prob"][label][i][layer] == pytest.approx(probs[j], rel=1e-4)
        # the final norm is applied below the last layer: without it the entropy is another number
        assert abs(by_hand(unnormed, targets)[0] - result.per_example["entropy"][i][0]) > 1e-2
        preferred = LABELS[int(torch.tensor([logits[t] for t in targets]).argmax())]
        assert result.per_example["preferred"][i] == preferred
    assert result.entropy == pytest.approx([sum(r[k] for r in result.per_example["entropy"]) / 4 for k in (0, 1)])
    assert sum(result.final_preference.values()) == 4


def tiny_gpt2(tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=2, n_head=2,
                                      bos_token_id=1, eos_token_id=2)).eval()


@pytest.mark.parametrize("kind", ["llama", "gpt2"])  # gpt2: absolute positions, which left padding must not shift
def test_batched_left_padded_values_equal_one_prompt_at_a_time(model, tokenizer, prompts, kind):
    subject, module = (model, "down_proj") if kind == "llama" else (tiny_gpt2(tokenizer), "mlp.c_proj")
    batched = analyze(subject, tokenizer, prompts, LABELS, batch_size=4, activation_module=module)
    alone = analyze(subject, tokenizer, prompts, LABELS, batch_size=1, activation_module=module)
    for name in ("entropy", "activation_entropy"):
        for a, b in zip(batched.per_example[name], alone.per_example[name]):
            assert a == pytest.approx(b, abs=1e-4)
    for label in LABELS:
        assert batched.per_example["label_rank"][label] == alone.per_example["label_rank"][label]


def test_progress_callback_counts_every_prompt(model, tokenizer, prompts):
    seen = []
    analyze(model, tokenizer, prompts, LABELS, batch_size=3, on_batch=seen.append)
    assert seen == [3, 1]


def test_a_peft_model_is_read_through_its_adapter(model, tokenizer, prompts):
    import copy

    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, target_modules=["q_proj", "down_proj"], init_lora_weights=False)
    peft_model = get_peft_model(copy.deepcopy(model), config).eval()
    result = analyze(peft_model, tokenizer, prompts[:2], LABELS)
    targets = [tokenizer.convert_tokens_to_ids(label[0]) for label in LABELS]
    with torch.no_grad():
        logits = peft_model(input_ids=torch.tensor([prompts[0]])).logits[0, -1]
    assert result.per_example["entropy"][0][-1] == pytest.approx(by_hand(logits, targets)[0], abs=1e-4)
    base = analyze(model, tokenizer, prompts[:2], LABELS)
    assert max(abs(x) for x in result.difference(base).activation_entropy) > 1e-4  # LoRA on down_proj shows


def test_an_architecture_without_the_mlp_projection_is_a_clear_error(tokenizer, prompts):
    gpt2 = tiny_gpt2(tokenizer)
    with pytest.raises(ConfigError, match="down_proj.*GPT2LMHeadModel has 0 such modules for 2 layers"):
        analyze(gpt2, tokenizer, prompts[:1], LABELS)
    result = analyze(gpt2, tokenizer, prompts[:1], LABELS, activation_module="mlp.c_proj")  # named: it works
    assert len(result.activation_entropy) == 2


# -- the result object ----------------------------------------------------------------------------------------------
def hand_made(description="[red]model[/red]", entropy=(1.0, 2.0), labels=("[/b]neg", "pos")) -> LayerAnalysis:
    return LayerAnalysis(
        description=description, task="t", n=2, labels=list(labels), layers=[1, 2], entropy=list(entropy),
        activation_entropy=[3.0, 4.0], label_rank={labels[0]: [10.0, 1.0], labels[1]: [5.0, 2.0]},
        label_prob={labels[0]: [0.1, 0.6], labels[1]: [0.2, 0.3]}, label_tokens={labels[0]: "[", labels[1]: "p"},
        final_preference={labels[0]: 2, labels[1]: 0},
        per_example={"ids": ["a", "b"], "entropy": [[1.0, 1.0], [1.0, 3.0]], "activation_entropy": [[3, 4], [3, 4]],
                     "label_rank": {labels[0]: [[10, 1], [10, 1]], labels[1]: [[5, 2], [5, 2]]},
                     "label_prob": {labels[0]: [[.1, .6], [.1, .6]], labels[1]: [[.2, .3], [.2, .3]]},
                     "preferred": [labels[0], labels[0]], "gold": [labels[0], labels[1]]})


def test_show_prints_names_as_written_even_on_a_markup_console():
    from rich.console import Console

    console = Console(record=True, width=200, markup=True)
    hand_made().show(console)
    text = console.export_text()
    assert "[red]model[/red]" in text and "rank [/b]neg" in text
    assert "first-token accuracy 0.500" in text


def test_save_load_roundtrip_and_refused_files(tmp_path):
    analysis = hand_made()
    path = analysis.save(tmp_path / "deep" / "analysis.json")
    assert LayerAnalysis.load(path) == analysis
    data = json.loads(path.read_text())
    assert data["format"] == "faithex.layer_analysis" and "down_proj" in data["definitions"]["activation_entropy"]
    (tmp_path / "other.json").write_text('{"cells": []}')
    with pytest.raises(DatasetError, match="not a layer analysis"):
        LayerAnalysis.load(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(DatasetError, match="not valid JSON"):
        LayerAnalysis.load(tmp_path / "broken.json")


def test_difference_subtracts_layer_by_layer_and_pairs_examples():
    a, b = hand_made("a", entropy=(1.0, 2.0)), hand_made("b", entropy=(0.5, 3.0))
    b.label_rank["pos"] = [1.0, 1.0]
    b.per_example["entropy"] = [[0.0, 0.0], [0.0, 0.0]]
    diff = a.difference(b)
    assert diff.kind == "difference" and diff.description == "a minus b"
    assert diff.entropy == [0.5, -1.0] and diff.activation_entropy == [0.0, 0.0]
    assert diff.label_rank == {"[/b]neg": [0.0, 0.0], "pos": [4.0, 1.0]}
    assert diff.per_example["entropy"] == [[1.0, 1.0], [1.0, 3.0]]
    with pytest.raises(ConfigError, match="different labels"):
        a.difference(hand_made("c", labels=("x", "y")))
    with pytest.raises(ConfigError):
        diff.difference(a)


def test_plot_writes_png_and_svg_alone_compared_and_as_a_difference(tmp_path):
    a, b = hand_made("$x$ a"), hand_made("b", entropy=(2.0, 2.0))
    for stem, args in (("one", ()), ("two", (b,))):
        paths = a.plot(tmp_path / stem, *args)
        assert [p.name for p in paths] == [f"{stem}.png", f"{stem}.svg"]
        assert paths[0].read_bytes()[:4] == b"\x89PNG" and "<svg" in paths[1].read_text()
    assert a.difference(b).plot(tmp_path / "diff")[0].stat().st_size > 1000


# -- a run directory and the command line ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tiny_model_dir, tmp_path_factory):
    from faithex.runner import parse_experiment, run_experiment

    folder = tmp_path_factory.mktemp("analysis-run")
    rows = [f"{t},positive" for t in ("great", "lovely film", "nice one", "good fun", "superb", "a joy")]
    rows += [f"{t},negative" for t in ("awful plot", "bad film", "terrible", "boring", "a mess", "weak")]
    (folder / "reviews.csv").write_text("text,label\n" + "\n".join(rows) + "\n")
    run_experiment(parse_experiment({
        "name": "analysis", "model": tiny_model_dir,
        "tasks": [{"name": "dataset", "id": "reviews", "params": {"path": str(folder / "reviews.csv"),
                                                                 "test_fraction": 0.5}, "n_train": None,
                   "n_test": None}],
        "regimes": ["zero_shot", "label_only"], "protocols": ["score"],
        "train": {"max_steps": 2, "batch_size": 4, "learning_rate": 1e-2, "precision": "fp32"},
        "inference": {"batch_size": 4, "precision": "fp32"},
    }), folder / "run")
    return folder / "run"


def test_analyze_run_reads_the_runs_test_set_and_adapter(tiny_run):
    test_ids = [json.loads(line)["id"] for line in (tiny_run / "data" / "reviews-test.jsonl").read_text().splitlines()]
    trained = analyze_run(tiny_run, regime="label_only", n=4, precision="fp32")
    assert trained.per_example["ids"] == test_ids[:4] and trained.n == 4
    assert set(trained.labels) == {"negative", "positive"} and trained.task == "reviews"
    assert all(g in trained.labels for g in trained.per_example["gold"])
    adapter = tiny_run / "adapters" / "reviews" / "label_only" / "s0" / "label"
    assert analyze_run(adapter, n=4, precision="fp32").entropy == pytest.approx(trained.entropy)
    # the base model asked with label_only's prompts is the zero-shot classifier
    base = analyze_run(tiny_run, regime="label_only", n=4, base=True, precision="fp32")
    zero_shot = analyze_run(tiny_run, regime="zero_shot", n=4, precision="fp32")
    assert base.entropy == pytest.approx(zero_shot.entropy) and base.meta["base"]
    assert max(abs(x) for x in trained.difference(base).entropy) > 1e-5  # training moved something


def test_regimes_that_explain_before_the_label_are_refused(tiny_run, tmp_path, monkeypatch):
    from faithex.predict import Classifier

    class ExplanationFirst:  # as paper 2's explanation_label: the prompt's last position predicts "Explanation:"
        name, explanation_first = "explanation_label", True

    monkeypatch.setattr(Classifier, "regime", property(lambda self: ExplanationFirst()))
    with pytest.raises(ConfigError, match="writes its explanation before the label"):
        analyze_run(tiny_run, regime="label_only")
    result = invoke("analyze", tiny_run, "--regime", "label_only", "--out", tmp_path / "out")
    assert result.exit_code == 2 and "writes its explanation before the label" in result.output


def invoke(*args):
    from faithex.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_writes_analyses_plots_and_prints_tables(tiny_run, tmp_path):
    result = invoke("analyze", tiny_run, "--regime", "label_only", "--against", "base", "--n", 3,
                    "--out", tmp_path / "out", "--precision", "fp32")
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"analysis.json", "against.json", "difference.json", "layers.png", "layers.svg"} <= names
    assert LayerAnalysis.load(tmp_path / "out" / "analysis.json").n == 3
    assert LayerAnalysis.load(tmp_path / "out" / "difference.json").kind == "difference"
    assert "Difference: label_only seed 0 minus base model (label_only prompts)" in result.output
    result = invoke("analyze", tiny_run, "--regime", "label_only", "--against", "zero_shot", "--n", 2,
                    "--out", tmp_path / "regimes")
    assert result.exit_code == 0, result.output
    assert LayerAnalysis.load(tmp_path / "regimes" / "against.json").meta["regime"] == "zero_shot"


@pytest.mark.parametrize("args, message", [
    (("nowhere",), "neither a faithex run directory nor a trained adapter folder"),
    (("{run}", "--regime", "label_onyl"), "0 matching classifiers"),
    (("{run}",), "2 matching classifiers"),
    (("{run}", "--regime", "label_only", "--against", "bogus"), "--against bogus: neither 'base'"),
])
def test_cli_bad_input_is_one_line_and_exit_code_2(tiny_run, tmp_path, args, message):
    result = invoke("analyze", *(str(a).format(run=tiny_run) for a in args), "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# -- the real default model -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_default_model_on_four_prompts():
    from faithex.lm.models import load_model

    loaded = load_model("default")
    tok = loaded.tokenizer
    texts = ["I love this airline!", "Lost my bag again.", "Flight on time, fine.", "Worst service ever."]
    prompts = [render(tok, [{"role": "system", "content": ""},
                            {"role": "user", "content": f"Sentiment of this tweet (positive or negative)?\n{t}"}])
               for t in texts]
    result = analyze(loaded.model, tok, prompts, LABELS, batch_size=4)
    config = loaded.model.config
    assert result.layers == list(range(1, config.num_hidden_layers + 1))
    assert all(0 <= e <= math.log(config.vocab_size) for e in result.entropy)
    assert all(0 < e <= math.log(config.intermediate_size) for e in result.activation_entropy)
    with torch.no_grad():
        logits = loaded.model(input_ids=torch.tensor([prompts[0]])).logits[0, -1]
    targets = [tok(label, add_special_tokens=False).input_ids[0] for label in LABELS]
    entropy, ranks, _ = by_hand(logits, targets)
    assert result.per_example["entropy"][0][-1] == pytest.approx(entropy, abs=1e-3)
    assert [result.per_example["label_rank"][label][0][-1] for label in LABELS] == ranks
