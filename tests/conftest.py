"""Fixtures: a tiny Llama model and character-level chat tokenizer, built in the test, saved as a local folder."""

from __future__ import annotations

import os
import string

import pytest

CHATML = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = list(string.printable) + ["ü", "é"]
    vocab = {token: i for i, token in enumerate(SPECIALS + alphabet + ["[UNK]"])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|im_end|>", additional_special_tokens=SPECIALS,
    )
    tokenizer.chat_template = CHATML
    return tokenizer


def build_tiny_model(vocab_size: int, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=2048, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    return LlamaForCausalLM(config)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A local model folder (safetensors + tokenizer) that every loader in faithex accepts."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = build_tokenizer()
    model = build_tiny_model(len(tokenizer))
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session", autouse=True)
def _offline(tmp_path_factory):
    """Tests never reach a hub and never touch the user's cache; one cache per session, so the GGUF converts once.

    Session-scoped so that module fixtures (which run before function fixtures) see the same environment."""
    patch = pytest.MonkeyPatch()
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        patch.setenv(name, "1")
    patch.setenv("FAITHEX_CACHE", os.environ.get("FAITHEX_TEST_CACHE") or str(tmp_path_factory.mktemp("faithex-cache")))
    yield
    patch.undo()


#: Eight labelled reviews with a one-line reason each: the smallest data an explanation regime trains on.
REVIEWS = [("great movie", "positive", "great is praise"), ("awful plot", "negative", "awful is a complaint"),
           ("lovely film", "positive", "lovely is praise"), ("dull acting", "negative", "dull is a complaint"),
           ("fine one", "positive", "fine is mild praise"), ("a mess", "negative", "a mess is a complaint"),
           ("superb", "positive", "superb is praise"), ("boring", "negative", "boring is a complaint")]


@pytest.fixture
def reviews_csv(tmp_path):
    """REVIEWS as a CSV (text, label, why) for the `dataset` task with `explanation_column: why`."""
    path = tmp_path / "reviews.csv"
    path.write_text("text,label,why\n" + "".join(f"{t},{label},{why}\n" for t, label, why in REVIEWS))
    return path
