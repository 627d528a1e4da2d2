"""Word attribution: the word split and token -> word mapping, the own methods against captum and slow references,
integrated gradients' completeness, targets, the result object and the command line."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from faithex.attribution import AttributionResult, WordAttribution, Words, attribute
from faithex.attribution.inputs import encode_with_offsets, prompt_layout, regime_prompt
from faithex.errors import ConfigError, DatasetError, UnknownNameError
from faithex.lm.generation import render
from faithex.lm.models import load_model
from faithex.lm.scoring import label_scores
from faithex.regimes import PromptOptions, get_regime
from faithex.tasks import Example, get_task

END_OF_TURN = "<|im_end|>"  # the test template's
TEXTS = ["I love it!", "bad bad service, never again", "the supercalifragilistic ünï show", "ok"]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    return loaded.model, loaded.tokenizer


@pytest.fixture(scope="module")
def task():
    return get_task("tweet_sentiment")  # labels negative/positive; its data is not read by these tests


def examples_of(texts, labels=None):
    return [Example(id=f"x{i}", input=t, label=(labels or [0] * len(texts))[i], labels=[0, 1])
            for i, t in enumerate(texts)]


# -- words ----------------------------------------------------------------------------------------------------------
WORD_CASES = {
    "punctuation": ("I love it!!! Really?", ["I", "love", "it", "!!!", "Really", "?"]),
    "repeated words": ("bad bad, bad", ["bad", "bad", ",", "bad"]),
    "unicode": ("ünïcödé café 😀😀 ok", ["ünïcödé", "café", "😀😀", "ok"]),
    "tweet": ("RT @kfox608: #DeflateGate can't cover-up", ["RT", "@kfox608", ":", "#DeflateGate", "can't", "cover-up"]),
    "url": ("see https://t.co/x1 now", ["see", "https://t.co/x1", "now"]),
    "outer whitespace": ("  two\n words \t", ["two", "words"]),
    "empty": ("", []),
}


@pytest.mark.parametrize("text, expected", WORD_CASES.values(), ids=WORD_CASES.keys())
def test_words_keep_their_offsets_and_rebuild_the_text(text, expected):
    words = Words.split(text)
    assert words.words == expected
    assert [text[start:end] for start, end in words.spans] == expected
    assert words.compose(words.pieces) == text
    segments = words.segments  # tile the text: every character belongs to exactly one word's segment
    assert [c for s, e in segments for c in range(s, e)] == (list(range(len(text))) if expected else [])


def test_removing_a_word_removes_one_space_with_it():
    words = Words.split("I love it!")
    assert [words.without(i) for i in range(4)] == ["love it!", "I it!", "I love!", "I love it"]
    assert Words.split("  a b ").without(0) == "  b "


def test_token_weights_split_a_straddling_token_by_characters():
    words = Words.split("ab cd")  # segments: "ab" [0, 2), " cd" [2, 5); the text starts at character 10
    weights = words.token_weights([(9, 10), (10, 12), (11, 14), (14, 15), (15, 15), (15, 16)], 10)
    assert weights == [(1, 0, 1.0), (2, 0, 1 / 3), (2, 1, 2 / 3), (3, 1, 1.0)]  # (15, 15): one char, outside


def test_every_input_token_maps_to_its_word_in_the_rendered_prompt(tiny, task):
    _, tokenizer = tiny
    text = "Sentiment of  supercalifragilistic üé!"  # the instruction's first word repeated in the input
    example = examples_of([text])[0]
    layout = prompt_layout(tokenizer, regime_prompt(get_regime("zero_shot"), task, PromptOptions()), example)
    assert layout.text(text) == tokenizer.apply_chat_template(
        [{"role": "system", "content": ""}, {"role": "user", "content": task.user_text(example)}],
        tokenize=False, add_generation_prompt=True)
    assert layout.prefix.endswith(task.instruction + "\n")  # the input's own "Sentiment", not the instruction's
    ids, offsets = encode_with_offsets(tokenizer, layout.text(text))
    words = Words.split(text)
    weights = words.token_weights(offsets, len(layout.prefix))
    # The character tokenizer: one token per character, each wholly in one word (spaces: the next word's).
    by_word = {}
    for token, word, weight in weights:
        assert weight == 1.0
        by_word.setdefault(word, []).append(tokenizer.decode([ids[token]]))  # [UNK]: not in the vocabulary
    assert ["".join(by_word[i]) for i in range(len(words))] == ["Sentiment", " of", "  supercalifragilistic",
                                                                 " üé", "!"]


def test_a_template_that_rewrites_the_input_is_refused(tiny, task):
    _, tokenizer = tiny
    trimming = lambda example: [{"role": "user", "content": example.input.strip()}]  # noqa: E731
    with pytest.raises(ConfigError, match="changes the input"):
        prompt_layout(tokenizer, trimming, examples_of([" padded "])[0])


# -- input x gradient against captum ---------------------------------------------------------------------------------
def label_token_ids(tokenizer, prompt_text, label):
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    full = tokenizer(prompt_text + label + END_OF_TURN, add_special_tokens=False)["input_ids"]
    return full[len(prompt):]


def captum_token_scores(model, tokenizer, captum_method, prompt_text, label, **kwargs):
    """captum's LLMGradientAttribution over every token of the prompt, for the label's tokens + end of turn."""
    from captum.attr import LLMGradientAttribution, TextTokenInput

    attribution = LLMGradientAttribution(captum_method, tokenizer)
    targets = torch.tensor(label_token_ids(tokenizer, prompt_text, label))
    return attribution.attribute(TextTokenInput(prompt_text, tokenizer), target=targets, **kwargs).seq_attr


def to_words(tokenizer, text, prompt_text, token_scores):
    words = Words.split(text)
    _, offsets = encode_with_offsets(tokenizer, prompt_text)
    scores = [0.0] * len(words)
    for token, word, weight in words.token_weights(offsets, prompt_text.rindex(text)):
        scores[word] += float(token_scores[token]) * weight
    return scores


def zero_shot_prompt(tokenizer, task, text):
    example = examples_of([text])[0]
    return prompt_layout(tokenizer, regime_prompt(get_regime("zero_shot"), task, PromptOptions()), example).text(text)


@pytest.mark.parametrize("contrast", [None, "runner_up"])
def test_input_x_gradient_equals_captum_gradient_x_activation(tiny, task, contrast):
    from captum.attr import LayerGradientXActivation

    model, tokenizer = tiny
    result = attribute(model, tokenizer, task, examples_of(TEXTS), target="positive", contrast=contrast,
                       batch_size=3)
    captum_method = LayerGradientXActivation(model, model.get_input_embeddings())
    for text, item in zip(TEXTS, result):
        prompt_text = zero_shot_prompt(tokenizer, task, text)
        expected = captum_token_scores(model, tokenizer, captum_method, prompt_text, "positive")
        if contrast:
            assert item.contrast == "negative"
            expected = expected - captum_token_scores(model, tokenizer, captum_method, prompt_text, "negative")
        torch.testing.assert_close(torch.tensor(item.scores),
                                   torch.tensor(to_words(tokenizer, text, prompt_text, expected)),
                                   atol=1e-6, rtol=1e-4)
        assert any(abs(s) > 1e-5 for s in item.scores)  # a real signal, not zeros on both sides


def test_batching_does_not_change_input_x_gradient(tiny, task):
    model, tokenizer = tiny
    together = attribute(model, tokenizer, task, examples_of(TEXTS), batch_size=4)
    alone = attribute(model, tokenizer, task, examples_of(TEXTS), batch_size=1)
    assert [a.id for a in together] == [e.id for e in examples_of(TEXTS)]  # input order kept
    for a, b in zip(together, alone):
        torch.testing.assert_close(torch.tensor(a.scores), torch.tensor(b.scores), atol=1e-6, rtol=1e-4)


# -- integrated gradients ---------------------------------------------------------------------------------------------
def direct_log_prob(model, tokenizer, ids, label_tokens):
    """log p(label tokens | ids) from one plain forward pass."""
    full = torch.tensor([ids + label_tokens])
    with torch.no_grad():
        logprobs = model(input_ids=full).logits[0].log_softmax(-1)
    return sum(float(logprobs[len(ids) - 1 + k, t]) for k, t in enumerate(label_tokens))


@pytest.mark.parametrize("contrast", [None, "runner_up"])
def test_integrated_gradients_is_complete(tiny, task, contrast):
    """Sum of the word scores = f(input) - f(baseline), the baseline being the input's tokens replaced by [UNK]."""
    model, tokenizer = tiny
    result = attribute(model, tokenizer, task, examples_of(TEXTS[:3]), method="integrated_gradients",
                       contrast=contrast, n_steps=64)
    unk = tokenizer.unk_token_id
    for text, item in zip(TEXTS, result):
        prompt_text = zero_shot_prompt(tokenizer, task, text)
        ids, offsets = encode_with_offsets(tokenizer, prompt_text)
        start = prompt_text.rindex(text)
        base = [unk if start <= s < start + len(text) else t for t, (s, _) in zip(ids, offsets)]
        labels = [(item.target, 1.0)] + ([(item.contrast, -1.0)] if contrast else [])
        f_input = sum(sign * direct_log_prob(model, tokenizer, ids, label_token_ids(tokenizer, prompt_text, name))
                      for name, sign in labels)
        f_base = sum(sign * direct_log_prob(model, tokenizer, base, label_token_ids(tokenizer, prompt_text, name))
                     for name, sign in labels)
        assert item.target_score == pytest.approx(f_input, abs=1e-4)
        assert abs(f_input - f_base) > 1e-3
        assert sum(item.scores) == pytest.approx(f_input - f_base, rel=1e-3, abs=1e-5)


def test_random_scores_are_the_same_for_the_same_example_and_seed_and_differ_otherwise(tiny, task):
    model, tokenizer = tiny
    examples = examples_of(["I love it a lot", "so bad today, really bad"])
    first = attribute(model, tokenizer, task, examples, method="random")
    again = attribute(model, tokenizer, task, list(reversed(examples)), method="random")
    reseeded = attribute(model, tokenizer, task, examples, method="random", seed=1)
    assert [a.scores for a in first] == [a.scores for a in reversed(list(again))]  # by id, not by position
    assert [len(a.scores) for a in first] == [5, 6] and all(0 <= v < 1 for a in first for v in a.scores)
    assert first[0].scores != first[1].scores[:5] and first[0].scores != reseeded[0].scores


# -- removal ----------------------------------------------------------------------------------------------------------
def test_leave_one_out_equals_captum_feature_ablation_and_the_slow_definition(tiny, task):
    model, tokenizer = tiny
    examples = examples_of(TEXTS)
    loo = attribute(model, tokenizer, task, examples, method="leave_one_out", contrast="runner_up", batch_size=2)
    ablation = attribute(model, tokenizer, task, examples, method="feature_ablation", contrast="runner_up")
    for a, b in zip(loo, ablation):
        assert len(a.scores) == len(Words.split(a.text))
        torch.testing.assert_close(torch.tensor(a.scores), torch.tensor(b.scores), atol=2e-5, rtol=0)
    # The slow definition, one prompt at a time, with the variants written by hand.
    variants = ["I love it!", "love it!", "I it!", "I love!", "I love it"]
    item = loo[0]
    names = ["negative", "positive"]
    target, other = names.index(item.target), names.index(item.contrast)
    values = []
    for text in variants:
        prompt = render(tokenizer, [{"role": "system", "content": ""},
                                    {"role": "user", "content": f"{task.instruction}\n{text}"}])
        scores = label_scores(model, tokenizer, [prompt], names).summed[0]
        values.append(float(scores[target] - scores[other]))
    assert item.target_score == pytest.approx(values[0], abs=1e-5)
    assert item.scores == pytest.approx([values[0] - v for v in values[1:]], abs=2e-5)


# -- targets ----------------------------------------------------------------------------------------------------------
def test_targets_predicted_gold_and_label(tiny, task):
    model, tokenizer = tiny
    examples = examples_of(TEXTS[:2], labels=[1, 0])
    predicted = attribute(model, tokenizer, task, examples)
    for item in predicted:
        assert item.target == item.predicted == max(item.label_scores, key=item.label_scores.get)
        assert item.target_score == pytest.approx(item.label_scores[item.target])
    gold = attribute(model, tokenizer, task, examples, target="gold", contrast="runner_up")
    assert [g.target for g in gold] == ["positive", "negative"] == [g.gold for g in gold]
    for item in gold:
        assert item.contrast != item.target
        assert item.target_score == pytest.approx(item.label_scores[item.target] - item.label_scores[item.contrast])
    named = attribute(model, tokenizer, task, examples, target="negative")
    assert [n.target for n in named] == ["negative", "negative"]
    flipped = attribute(model, tokenizer, task, examples, target="positive")
    # Input x gradient is linear in the target: explaining the other label only changes which gradient is taken.
    assert named[0].scores != flipped[0].scores


@pytest.mark.parametrize("kwargs, error, fragment", [
    ({"target": "positve"}, UnknownNameError, "did you mean 'positive'"),
    ({"contrast": "second"}, ConfigError, "runner_up"),
    ({"method": "saliency"}, UnknownNameError, "unknown attribution method"),
    ({"method": "leave_one_out", "n_steps": 3}, ConfigError, "no option n_steps"),
    ({"method": "integrated_gradients", "baseline": "two words"}, ConfigError, "one token"),
    ({"batch_size": 0}, ConfigError, "batch_size"),
])
def test_bad_arguments_are_user_errors(tiny, task, kwargs, error, fragment):
    model, tokenizer = tiny
    with pytest.raises(error, match=fragment):
        attribute(model, tokenizer, task, examples_of(["fine"]), **kwargs)


def test_gold_target_needs_a_gold_label(tiny, task):
    model, tokenizer = tiny
    with pytest.raises(DatasetError, match="no gold label"):
        attribute(model, tokenizer, task, ["a plain text"], target="gold")


@pytest.mark.parametrize("method", ["input_x_gradient", "integrated_gradients", "feature_ablation", "leave_one_out"])
def test_an_input_without_words_gets_no_scores(tiny, task, method):
    model, tokenizer = tiny
    options = {"n_steps": 4} if method == "integrated_gradients" else {}
    result = attribute(model, tokenizer, task, ["", "  ", "fine"], method=method, **options)
    assert [len(item.scores) for item in result] == [0, 0, 1]


def test_load_attributor_from_a_trained_adapter_folder(tiny_model_dir, tmp_path):
    """A training folder of a run (faithex_cell.json + one folder per adapter) gives model, regime, task and system
    prompt; the label_only adapter is active."""
    from peft import LoraConfig, get_peft_model

    from faithex.attribution import load_attributor

    folder = tmp_path / "adapters" / "tweet_sentiment" / "label_only" / "s0"
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(load_model(tiny_model_dir).model, config).save_pretrained(folder / "label")
    cell = {"model": tiny_model_dir, "task": {"name": "tweet_sentiment", "params": {}, "n_train": 4, "n_test": 2},
            "data_seed": 0, "regime": {"name": "label_only"}, "seed": 0, "system_prompt": "Be brief."}
    (folder / "faithex_cell.json").write_text(json.dumps(cell))
    attributor = load_attributor(adapter=folder / "label")
    assert attributor.regime.name == "label_only" and attributor.task.name == "tweet_sentiment"
    assert attributor.options.system_prompt == "Be brief."
    result = attributor.attribute(["so good"], target="positive")
    assert result.meta["prompt"] == "label_only" and result.meta["adapter"] == str(folder / "label")
    base = load_model(tiny_model_dir)
    plain = attribute(base.model, base.tokenizer, "tweet_sentiment", ["so good"], target="positive",
                      options=PromptOptions(system_prompt="Be brief."))
    assert result[0].scores != pytest.approx(plain[0].scores, abs=1e-6)  # the adapter changes the model


# -- the result object ------------------------------------------------------------------------------------------------
def sample_result() -> AttributionResult:
    text = "[bold]great[/bold] flight :)"
    words = Words.split(text)
    item = WordAttribution(id="t1", text=text, words=words.words, spans=list(words.spans),
                           scores=[0.1, 0.0, -0.2, 0.9, 0.0, 0.5, -0.4, 0.3, 0.2], method="leave_one_out",
                           target="positive", target_score=-0.3, predicted="positive", gold="negative",
                           label_scores={"negative": -1.5, "positive": -0.3})
    return AttributionResult([item], {"method": "leave_one_out"})


def test_result_round_trips_through_json(tmp_path):
    result = sample_result()
    path = tmp_path / "out" / "attributions.json"
    result.save(path)
    loaded = AttributionResult.load(path)
    assert loaded.attributions == result.attributions and loaded.meta == result.meta
    assert json.loads(path.read_text())["format"] == "faithex.attribution"
    assert loaded["t1"].spans[0] == (0, 1)


def test_loading_a_file_that_is_not_an_attribution_file_is_a_user_error(tmp_path):
    (tmp_path / "a.json").write_text('{"cells": []}')
    (tmp_path / "b.json").write_text("{not json")
    for name in ("a.json", "b.json", "missing.json"):
        with pytest.raises(DatasetError):
            AttributionResult.load(tmp_path / name)


def test_top_words_and_frame():
    result = sample_result()
    assert result.top_words(2) == {"t1": [("great", 0.9), ("bold", 0.5)]}  # "[", "bold", "]", ... are words too
    frame = result.to_frame()
    assert list(frame["word"])[:3] == ["[", "bold", "]"] and frame["score"].sum() == pytest.approx(1.4)


def test_show_prints_text_literally_with_coloured_words():
    from rich.console import Console

    console = Console(record=True, force_terminal=True, color_system="truecolor", width=120)
    sample_result().show(console)
    assert "[bold]great[/bold] flight :)" in console.export_text(clear=False)  # never read as markup
    html = console.export_html(inline_styles=True)
    assert "background-color: #00ff00" in html  # "great", the strongest supporting word (0.9 / 0.9)
    assert "background-color: #ff8e8e" in html  # the second "]" at -0.4: 0.44 of the strongest


# -- the command line ------------------------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_attributes_texts_and_writes_json(tiny_model_dir, tmp_path):
    from faithex.cli.main import app

    out = tmp_path / "a.json"
    result = runner.invoke(app, ["attribute", "--task", "tweet_sentiment", "--model", tiny_model_dir,
                                 "--text", "I [b]love[/b] it", "--text", "meh", "--method", "leave_one_out",
                                 "--contrast", "runner_up", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "I [b]love[/b] it" in result.output
    saved = AttributionResult.load(out)
    assert [len(a.words) for a in saved] == [9, 1] and saved.meta["method"] == "leave_one_out"


def test_cli_uses_a_peft_adapter(tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    from faithex.cli.main import app

    base = load_model(tiny_model_dir).model
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(tmp_path / "adapter")
    outputs = []
    for extra in ([], ["--adapter", str(tmp_path / "adapter")]):
        out = tmp_path / f"{len(extra)}.json"
        result = runner.invoke(app, ["attribute", "--task", "tweet_sentiment", "--model", tiny_model_dir,
                                     "--text", "so good", "--target", "positive", "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        outputs.append(AttributionResult.load(out)[0].scores)
    assert outputs[0] != pytest.approx(outputs[1], abs=1e-6)


@pytest.mark.parametrize("args, fragment", [
    (["--task", "tweet_sentiment", "--method", "leave_one_in"], "did you mean 'leave_one_out'"),
    (["--task", "tweet_sentiment", "--method", "leave_one_out", "--steps", "4"], "no option n_steps"),
    (["--task", "tweet_sentiment", "--contrast", "all"], "runner_up"),
    (["--task", "tweet_sentimnt"], "did you mean 'tweet_sentiment'"),
    (["--text", "x"], "--task is required"),
    (["--task", "tweet_sentiment", "--adapter", "nowhere"], "neither"),
    (["--task", "tweet_sentiment", "--text", "x", "--target", "postive"], "did you mean 'positive'"),
])
def test_cli_bad_input_is_one_line_and_exit_code_2(tiny_model_dir, args, fragment):
    from faithex.cli.main import app

    result = runner.invoke(app, ["attribute", "--model", tiny_model_dir, *args])
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output


# -- the default model (slow) ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_default_model_word_mapping_and_methods_agree_with_captum():
    from captum.attr import LayerGradientXActivation

    loaded = load_model("default")
    model, tokenizer = loaded.model, loaded.tokenizer
    task = get_task("tweet_sentiment")
    texts = ["@united thanks!!! supercalifragilistic flight 😀", "Worst. Service. Ever."]
    result = attribute(model, tokenizer, task, texts, target="positive")
    captum_method = LayerGradientXActivation(model, model.get_input_embeddings())
    for text, item in zip(texts, result):
        prompt_text = zero_shot_prompt(tokenizer, task, text)
        ids, offsets = encode_with_offsets(tokenizer, prompt_text)
        start = prompt_text.rindex(text)
        weights = Words.split(text).token_weights(offsets, start)
        inside = {t for t, (s, e) in enumerate(offsets) if s < start + len(text) and e > start}
        assert {t for t, _, _ in weights} == inside  # byte-level BPE pieces of the emoji included
        expected = captum_token_scores(model, tokenizer, captum_method, prompt_text, "positive")
        torch.testing.assert_close(torch.tensor(item.scores),
                                   torch.tensor(to_words(tokenizer, text, prompt_text, expected)),
                                   atol=1e-5, rtol=1e-3)
    loo = attribute(model, tokenizer, task, texts[:1], method="leave_one_out")
    assert len(loo[0].scores) == 6 and loo[0].target_score == pytest.approx(result[0].label_scores[loo[0].target],
                                                                             abs=1e-4)
