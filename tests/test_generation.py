"""Batched generation: sorting, padding and prefix sharing must not change what greedy decoding writes."""

from __future__ import annotations

import pytest

from faithex.lm.generation import common_prefix_length, generate, generate_branches, render
from faithex.lm.models import load_model


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    return loaded.model, loaded.tokenizer


def conversations(tokenizer, inputs, command):
    return [render(tokenizer, [{"role": "system", "content": ""}, {"role": "user", "content": text},
                               {"role": "user", "content": command}]) for text in inputs]


INPUTS = ["X: [0.1, 0.22]", "X: [0.5, 0.3]", "a much longer input text here", "", "X"]


def one_by_one(model, tokenizer, prompts, max_new_tokens):
    return [generate(model, tokenizer, [p], max_new_tokens, batch_size=1)[0] for p in prompts]


def test_batched_generation_equals_one_by_one(tiny):
    model, tokenizer = tiny
    prompts = conversations(tokenizer, INPUTS, "ANSWER")
    assert generate(model, tokenizer, prompts, 6, batch_size=3) == one_by_one(model, tokenizer, prompts, 6)


def test_shared_prefix_branches_equal_separate_generation(tiny):
    model, tokenizer = tiny
    branches = {kind: conversations(tokenizer, INPUTS, command)
                for kind, command in (("answer", "ANSWER"), ("explanation", "EXPLAIN"))}
    budgets = {"answer": 4, "explanation": 7}
    shared = generate_branches(model, tokenizer, branches, budgets, batch_size=2)
    for kind, prompts in branches.items():
        assert shared[kind] == one_by_one(model, tokenizer, prompts, budgets[kind])


def test_prefix_cache_is_actually_used(tiny, monkeypatch):
    """The ANSWER/EXPLAIN prompts differ only after the input: the prefix must be prefilled once per batch."""
    model, tokenizer = tiny
    calls = []
    original = model.forward

    def counting_forward(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape[1] if "input_ids" in kwargs and kwargs["input_ids"] is not None else 0)
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "forward", counting_forward)
    branches = {kind: conversations(tokenizer, INPUTS[:2], command)
                for kind, command in (("answer", "ANSWER"), ("explanation", "EXPLAIN"))}
    generate_branches(model, tokenizer, branches, {"answer": 1, "explanation": 1}, batch_size=2)
    full_width = max(len(p) for p in branches["explanation"])
    # plain generation would feed both full prompts; here the prefix is fed once, then each branch's few tokens
    assert len(calls) == 3
    assert calls[1] < calls[0] and calls[2] < calls[0]
    assert sum(calls) < 2 * full_width


def test_common_prefix_keeps_a_token_to_feed():
    assert common_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2
    assert common_prefix_length([[1, 2, 3], [1, 5]]) == 1
    assert common_prefix_length([[7], [7]]) == 0
