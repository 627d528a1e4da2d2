"""Label scoring: one pass over the shared prompt must give exactly the log-probabilities of a full forward pass per
example and label."""

from __future__ import annotations

import pytest
import torch

from faithex.lm.generation import render
from faithex.lm.models import load_model
from faithex.lm.scoring import end_of_turn, label_scores

END_OF_TURN = "<|im_end|>"  # the test template's; the code finds it from the template
INPUTS = ["I loved it", "a much longer input text, with punctuation!", "", "meh"]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    return loaded.model, loaded.tokenizer


def prompts_for(tokenizer, inputs):
    return [render(tokenizer, [{"role": "system", "content": ""}, {"role": "user", "content": text}])
            for text in inputs]


def reference_scores(model, tokenizer, prompts, label_texts) -> torch.Tensor:
    """The slow definition: per example and label, a full forward pass over prompt + label + end of turn (tokenised
    together as text), summing the log-probabilities of the tokens after the common prefix with the prompt."""
    scores = torch.zeros(len(prompts), len(label_texts))
    with torch.inference_mode():
        for i, prompt in enumerate(prompts):
            text = tokenizer.decode(prompt, skip_special_tokens=False, clean_up_tokenization_spaces=False)
            for j, label in enumerate(label_texts):
                full = tokenizer(text + label + END_OF_TURN, add_special_tokens=False)["input_ids"]
                start = next((n for n, (a, b) in enumerate(zip(prompt, full)) if a != b), len(prompt))
                logprobs = model(input_ids=torch.tensor([full])).logits[0].float().log_softmax(-1)
                scores[i, j] = sum(logprobs[n - 1, full[n]] for n in range(start, len(full)))
    return scores


LABEL_SETS = {
    "single characters": ["a", "b", "c"],
    "multi-token": ["negative", "positive"],
    "shared prefix": ["pos", "positive", "po"],
    "sentences": ["The mortgage is issued.", "The mortgage is denied.", "No."],
    "empty label": ["", "yes"],
}


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("labels", LABEL_SETS.values(), ids=LABEL_SETS.keys())
def test_scores_equal_full_forward_per_label(tiny, labels, batch_size):
    model, tokenizer = tiny
    prompts = prompts_for(tokenizer, INPUTS)
    scores = label_scores(model, tokenizer, prompts, labels, batch_size=batch_size)
    expected = reference_scores(model, tokenizer, prompts, labels)
    torch.testing.assert_close(scores.summed, expected, atol=1e-4, rtol=0)
    assert scores.predicted.tolist() == expected.argmax(dim=1).tolist()


def test_scores_with_an_active_lora_adapter(tiny_model_dir):
    from peft import LoraConfig, get_peft_model

    loaded = load_model(tiny_model_dir)
    base, tokenizer = loaded.model, loaded.tokenizer
    prompts, labels = prompts_for(tokenizer, INPUTS), ["negative", "positive"]
    before = label_scores(base, tokenizer, prompts, labels).summed
    # init_lora_weights=False: random, non-zero B matrices, so the adapter really changes the outputs.
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    peft_model = get_peft_model(base, config).eval()
    scores = label_scores(peft_model, tokenizer, prompts, labels, batch_size=3)
    torch.testing.assert_close(scores.summed, reference_scores(peft_model, tokenizer, prompts, labels), atol=1e-4,
                               rtol=0)
    assert not torch.allclose(scores.summed, before, atol=1e-3)


def test_end_of_turn_is_found_from_the_template_and_scored(tiny):
    model, tokenizer = tiny
    eot_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    assert end_of_turn(tokenizer) == (END_OF_TURN, eot_id)
    scores = label_scores(model, tokenizer, prompts_for(tokenizer, INPUTS[:2]), ["pos", "positive"])
    for per_label in scores.label_tokens:
        assert [tokens[-1] for tokens in per_label] == [eot_id, eot_id]
        assert [tokenizer.decode(t) for t in per_label] == ["pos" + END_OF_TURN, "positive" + END_OF_TURN]
    assert scores.token_counts.tolist() == [[4, 9], [4, 9]]
    torch.testing.assert_close(scores.mean, scores.summed / scores.token_counts)


def test_label_that_merges_with_the_prompt_end(tmp_path):
    """A BPE merge of the prompt's last character ("\\n") with the label's first ("x"): the label's tokens start one
    token early, while a label that does not merge keeps the prompt's "\\n" as context."""
    from conftest import build_tiny_model, build_tokenizer

    tokenizer = merging_tokenizer(build_tokenizer())
    model = build_tiny_model(len(tokenizer), seed=1).eval()
    prompts = prompts_for(tokenizer, INPUTS[:3])
    newline_x = tokenizer.convert_tokens_to_ids("\nx")
    scores = label_scores(model, tokenizer, prompts, ["xyz", "yes"], batch_size=2)
    assert scores.label_tokens[0][0][0] == newline_x and tokenizer.decode(scores.label_tokens[0][1]) == "yes<|im_end|>"
    torch.testing.assert_close(scores.summed, reference_scores(model, tokenizer, prompts, ["xyz", "yes"]), atol=1e-4,
                               rtol=0)


def merging_tokenizer(char_tokenizer):
    """The test's character tokenizer as a BPE with one merge, "\\n" + "x"."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = dict(char_tokenizer.get_vocab())
    vocab["\nx"] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[("\n", "x")], unk_token="[UNK]"))
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|im_end|>", additional_special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    )
    tokenizer.chat_template = char_tokenizer.chat_template
    return tokenizer


def test_one_forward_pass_per_batch(tiny, monkeypatch):
    """The prompt is run once for all labels: one model call per batch, whatever the number of labels."""
    model, tokenizer = tiny
    calls = []
    original = model.forward

    def counting_forward(*args, **kwargs):
        calls.append((kwargs["input_ids"].shape, kwargs["logits_to_keep"].shape))
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "forward", counting_forward)
    prompts = sorted(prompts_for(tokenizer, INPUTS), key=len, reverse=True)
    label_scores(model, tokenizer, prompts, ["a", "b", "c"], batch_size=2)
    # 2 batches of 2 rows (longest first): the prompt once plus each one-character label (its end of turn is not fed);
    # logits at 1 shared position (every label's first token) + 1 per label (its end of turn).
    assert calls == [((2, len(prompts[0]) + 3), (2, 4)), ((2, len(prompts[2]) + 3), (2, 4))]


def test_no_prompts_gives_empty_scores(tiny):
    model, tokenizer = tiny
    scores = label_scores(model, tokenizer, [], ["a", "b"])
    assert scores.summed.shape == (0, 2) and scores.predicted.shape == (0,)
