"""CC-SHAP: Shapley values (exact and sampled), ratios, the score, the random control, masking, the protocol on the
tiny model (cross-checked against captum's LLM attribution) and the metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from faithex.faithfulness.ccshap import (
    Features,
    all_coalitions,
    cc_shap_score,
    exact_shapley,
    features_for,
    random_score,
    ratios,
    sampled_permutations,
    sampled_shapley,
    shapley_values,
    word_features,
)
from faithex.metrics import evaluate_samples, get_metric


def table_game(table: dict[str, float]):
    """A game over players "a", "b", "c", ... given as {coalition letters: value}."""
    def value(coalitions: np.ndarray) -> np.ndarray:
        names = "abcdefghij"
        return np.array([table["".join(names[i] for i in np.flatnonzero(row))] for row in coalitions])

    return value


# v(S) for S of {a, b, c}; by hand (weight 1/3 for joining no one and joining both others, 1/6 for joining one):
# phi_a = 10/3 + 20/6 + 20/6 + 30/3 = 20
# phi_b = 20/3 + 30/6 + 30/6 + 40/3 = 30
# phi_c = 30/3 + 40/6 + 40/6 + 50/3 = 40
HAND_GAME = {"": 0, "a": 10, "b": 20, "c": 30, "ab": 40, "ac": 50, "bc": 60, "abc": 90}


def weighted_voting(weights, quota):
    """1 when the present players' weights reach the quota: a game no pair of antithetic orders solves exactly."""
    w = np.asarray(weights, dtype=float)
    return lambda coalitions: ((coalitions * w).sum(axis=1) >= quota).astype(float)


# -- exact Shapley values ---------------------------------------------------------------------------------------------
def test_exact_shapley_values_of_a_hand_computed_game():
    result = exact_shapley(table_game(HAND_GAME), 3)
    np.testing.assert_allclose(result.values[:, 0], [20, 30, 40])
    assert result.exact and result.coalitions == 8
    assert result.values.sum() == pytest.approx(HAND_GAME["abc"] - HAND_GAME[""])  # efficiency


def test_the_glove_game_gives_the_scarce_glove_two_thirds():
    # Two left gloves (a, b), one right glove (c); a pair is worth 1.
    def gloves(c):
        return np.minimum(c[:, :2].sum(axis=1), c[:, 2]).astype(float)

    np.testing.assert_allclose(exact_shapley(gloves, 3).values[:, 0], [1 / 6, 1 / 6, 2 / 3])


def test_exact_shapley_values_equal_captums_on_a_random_game():
    import torch
    from captum.attr import ShapleyValues

    table = np.random.default_rng(3).normal(size=2 ** 5)
    weights = 1 << np.arange(5)
    game = lambda c: table[(np.asarray(c, dtype=int) * weights).sum(axis=1)]  # noqa: E731

    def forward(x):
        return torch.tensor(game(x.numpy() > 0.5))

    theirs = ShapleyValues(forward).attribute(torch.ones(1, 5, dtype=torch.float64),
                                              baselines=torch.zeros(1, 5, dtype=torch.float64))
    np.testing.assert_allclose(exact_shapley(game, 5).values[:, 0], theirs[0].numpy(), atol=1e-5)  # captum: float32


def test_vector_valued_games_get_one_column_of_values_per_output():
    def two_outputs(c):
        return np.stack([table_game(HAND_GAME)(c), 2 * c[:, 0]], axis=1)

    values = exact_shapley(two_outputs, 3).values
    np.testing.assert_allclose(values, [[20, 2], [30, 0], [40, 0]])


def test_coalitions_enumerate_every_subset_once():
    rows = all_coalitions(4)
    assert len({r.tobytes() for r in rows}) == 16
    assert not rows[0].any() and rows[-1].all()


# -- sampled Shapley values -----------------------------------------------------------------------------------------
def test_sampling_stays_within_the_budget_and_keeps_efficiency():
    game = weighted_voting([5, 4, 3, 3, 2, 2, 1, 1, 1, 1], 11.5)
    for budget in (11, 30, 64, 200):
        result = sampled_shapley(game, 10, budget, seed=1)
        assert result.coalitions <= budget and not result.exact
        assert result.values.sum() == pytest.approx(1.0)  # v(all) - v(none), exactly, for any sample
    with pytest.raises(ValueError, match="budget"):
        sampled_shapley(game, 10, 10)


def test_sampled_values_converge_to_the_exact_ones():
    game = weighted_voting([5, 4, 3, 3, 2, 2, 1, 1, 1, 1], 11.5)
    exact = exact_shapley(game, 10).values

    def mean_error(budget):
        return np.mean([np.abs(sampled_shapley(game, 10, budget, seed).values - exact).max() for seed in range(20)])

    errors = [mean_error(budget) for budget in (30, 100, 300, 1000)]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 0.05


def test_sampling_is_seeded_and_uses_antithetic_pairs():
    orders = sampled_permutations(6, 40, seed=7)
    assert len(orders) % 2 == 0
    for first, second in zip(orders[::2], orders[1::2]):
        np.testing.assert_array_equal(first[::-1], second)
    game = weighted_voting([3, 2, 2, 1, 1, 1], 5)
    np.testing.assert_array_equal(sampled_shapley(game, 6, 40, 7).values, sampled_shapley(game, 6, 40, 7).values)
    assert not np.array_equal(sampled_shapley(game, 6, 40, 7).values, sampled_shapley(game, 6, 40, 8).values)


def test_shapley_values_are_exact_when_every_coalition_fits_the_budget():
    game = table_game(HAND_GAME)
    assert shapley_values(game, 3, max_coalitions=8).exact
    sampled = shapley_values(weighted_voting([1] * 7, 4), 7, max_coalitions=64)
    assert not sampled.exact and sampled.coalitions <= 64
    # Orders that happen to visit every coalition give the exact values, not a biased average of a few orders.
    np.testing.assert_allclose(sampled_shapley(game, 3, 64).values[:, 0], [20, 30, 40])


# -- ratios and the score -------------------------------------------------------------------------------------------
def test_ratios_normalise_each_output_token_then_average():
    # Column 1: [1, 3] / 4 -> [25, 75]; column 2: [-3, 1] / 4 -> [-75, 25]; column 3 has no attribution: left out.
    np.testing.assert_allclose(ratios(np.array([[1.0, -3.0, 0.0], [3.0, 1.0, 0.0]])), [-25.0, 50.0])
    np.testing.assert_allclose(np.abs(ratios(np.array([2.0, -6.0]))).sum(), 100.0)
    assert np.isnan(ratios(np.zeros((3, 2)))).all()


@pytest.mark.parametrize("a, b, expected", [
    ([1, 2, 3], [1, 2, 3], 1.0),
    ([1, 2, 3], [10, 20, 30], 1.0),
    ([1, -2, 3], [-1, 2, -3], -1.0),
    ([1, 0], [0, 1], 0.0),
    ([1, 1, 0], [1, -1, 5], 0.0),
])
def test_score_on_hand_made_attributions(a, b, expected):
    assert cc_shap_score(ratios(np.array(a, float)), ratios(np.array(b, float))) == pytest.approx(expected, abs=1e-12)


def test_score_is_not_applicable_without_attribution():
    assert math.isnan(cc_shap_score([0.0, 0.0], [1.0, 2.0]))
    assert math.isnan(cc_shap_score(ratios(np.zeros(3)), [1.0, 2.0, 3.0]))
    assert math.isnan(cc_shap_score([], []))
    with pytest.raises(ValueError, match="same features"):
        cc_shap_score([1.0], [1.0, 2.0])


def test_the_random_baseline_centres_on_zero_and_narrows_with_length():
    long = [random_score(400, seed) for seed in range(300)]
    short = [random_score(3, seed) for seed in range(300)]
    assert abs(np.mean(long)) < 0.01
    assert np.std(long) == pytest.approx(1 / math.sqrt(400), rel=0.2)
    assert np.std(short) > 0.4  # three features: random pairs score far from 0 by chance
    assert random_score(5, 11) == random_score(5, 11) != random_score(5, 12)
    assert math.isnan(random_score(0, 0))


# -- features and masking -------------------------------------------------------------------------------------------
def test_paper1_inputs_mask_numbers_with_a_placeholder():
    features = features_for("X: [0.0808, -0.4024, 0.5]", [0.0808, -0.4024, 0.5])
    assert features.names == ["0.0808", "-0.4024", "0.5"]
    assert features.masked([True, False, True]) == "X: [0.0808, ?, 0.5]"
    assert features.masked([False, False, False]) == "X: [?, ?, ?]"
    assert features.masked([True, True, True]) == "X: [0.0808, -0.4024, 0.5]"


def test_text_inputs_remove_masked_words():
    features = features_for("I love it!")  # no numeric vector: words
    assert features.names == ["I", "love", "it", "!"]
    assert features.masked([False, True, True, True]) == "love it!"
    assert features.masked([True, False, True, False]) == "I it"
    # A text that merely contains numbers is still played word by word.
    assert features_for("rated 5 stars", [4.0]).names == ["rated", "5", "stars"]


def test_long_inputs_are_played_in_groups_of_neighbouring_words():
    text = " ".join(f"w{i}" for i in range(40))
    features = word_features(text, max_features=16)
    assert len(features) == 16
    assert [w for name in features.names for w in name.split()] == text.split()  # contiguous, in order, all
    kept = features.masked([i != 0 for i in range(16)])
    assert kept == " ".join(text.split()[len(features.names[0].split()):])
    with pytest.raises(ValueError, match="coalition"):
        features.masked([True])
    assert isinstance(features, Features)


# -- the protocol on the tiny model ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from faithex.lm.models import load_model

    loaded = load_model(tiny_model_dir)
    return loaded.model, loaded.tokenizer


def tree_context(tiny, regime: str):
    from faithex.protocols import ProtocolContext
    from faithex.regimes import PromptOptions, get_regime
    from faithex.tasks import get_task

    model, tokenizer = tiny
    task = get_task("decision_tree", n_inputs=3, comparisons=1)  # paper 1's three-input tree, one comparison
    ctx = ProtocolContext(model=model, tokenizer=tokenizer, regime=get_regime(regime), task=task,
                          options=PromptOptions(system_prompt=""), train=task.examples(4, "train"), batch_size=4)
    return ctx, task.examples(2, "test")


def run_protocol(protocol, ctx, examples):
    return [s for batch in protocol.run(ctx, examples) for s in batch]


#: What a trained paper-1 model writes, by the request's last user turn (the untrained tiny model writes nothing).
WRITTEN = {"ANSWER": "1", "EXPLAIN": '[["0.5 > 0.3", true], ["OUTPUT", 1]]', "reasoning": "1,1"}


def last_user_turn(tokenizer, prompt) -> str:
    return tokenizer.decode(prompt).split("<|im_start|>user\n")[-1].split("<|im_end|>")[0]


@pytest.fixture
def written(monkeypatch):
    """Greedy generation replaced by WRITTEN: the answer to ANSWER, the explanation to EXPLAIN, else a reasoning."""
    import faithex.lm.generation

    def text_for(tokenizer, prompt, outputs):
        turn = last_user_turn(tokenizer, prompt)
        return outputs.get(turn, outputs["reasoning"])

    def fake_generate(model, tokenizer, prompts, *args, **kwargs):
        return [text_for(tokenizer, p, WRITTEN) for p in prompts]

    def fake_branches(model, tokenizer, branches, *args, **kwargs):
        return {kind: [text_for(tokenizer, p, WRITTEN) for p in prompts] for kind, prompts in branches.items()}

    monkeypatch.setattr(faithex.lm.generation, "generate", fake_generate)
    monkeypatch.setattr(faithex.lm.generation, "generate_branches", fake_branches)
    return WRITTEN


@pytest.mark.parametrize("regime", ["joint", "joint_reasoning"])
def test_cc_shap_on_a_three_input_tree_is_exact_and_finite(tiny, written, regime):
    from faithex.protocols import get_protocol

    ctx, examples = tree_context(tiny, regime)
    protocol = get_protocol("cc_shap")
    assert protocol.supports(ctx.regime)
    samples = run_protocol(protocol, ctx, examples)
    assert sorted(s["id"] for s in samples) == sorted(e.id for e in examples)
    for sample in samples:
        record = sample["cc_shap"]
        assert sample["protocol"] == "cc_shap"
        assert sample["outputs"]["explanation"] == written["EXPLAIN"]  # the inner protocol's sample is kept
        assert sample["parsed"]["answer"] == 1
        assert record["n_features"] == 3 and record["masking"] == "?"
        assert record["exact"] and record["coalitions"] == 8 and record["forward_passes"] == 16
        assert record["output_tokens"] == {"answer": 1, "explanation": len(written["EXPLAIN"])}  # one per character
        assert -1.0 <= record["score"] <= 1.0 and -1.0 <= record["random_score"] <= 1.0
        # One answer token: its ratios' absolute values sum to 100; the explanation's are a mean over its tokens.
        assert sum(abs(r) for r in record["answer_ratios"]) == pytest.approx(100.0, abs=1e-3)
        assert 0 < sum(abs(r) for r in record["explanation_ratios"]) <= 100.0 + 1e-3
        assert record["score"] == pytest.approx(cc_shap_score(record["answer_ratios"], record["explanation_ratios"]),
                                                abs=1e-5)


def test_the_same_output_after_the_same_prompt_scores_one(tiny, written, monkeypatch):
    """`separate` asks for the answer and the explanation with the same prompt (on the base model, one adapter for
    both); written the same, the two attributions are one game: the score is 1 exactly, exact or sampled."""
    from faithex.protocols.ccshap import CcShap

    monkeypatch.setitem(written, "reasoning", "1")
    ctx, examples = tree_context(tiny, "separate")
    for protocol in (CcShap(), CcShap("cc_shap_sampled", max_coalitions=6, max_features=3)):
        for sample in run_protocol(protocol, ctx, examples):
            assert sample["outputs"]["answer"] == sample["outputs"]["explanation"] == "1"
            assert sample["cc_shap"]["score"] == pytest.approx(1.0, abs=1e-9)
            assert sample["cc_shap"]["exact"] == (protocol.max_coalitions >= 8)
            assert sample["cc_shap"]["coalitions"] <= protocol.max_coalitions


def test_an_empty_explanation_gets_no_score_and_says_why(tiny, written, monkeypatch):
    from faithex.protocols import get_protocol

    monkeypatch.setitem(written, "EXPLAIN", "")
    ctx, examples = tree_context(tiny, "joint")
    for sample in run_protocol(get_protocol("cc_shap"), ctx, examples):
        assert sample["cc_shap"]["score"] is None and sample["cc_shap"]["reason"] == "empty explanation"
        assert sample["cc_shap"]["forward_passes"] == 0
        assert -1.0 <= sample["cc_shap"]["random_score"] <= 1.0


def test_teacher_forced_log_probabilities_equal_one_unpadded_pass_per_row(tiny, monkeypatch):
    import torch

    import faithex.protocols.ccshap
    from faithex.protocols.ccshap import continuation_logprobs

    model, tokenizer = tiny
    contexts = [tokenizer("<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n")["input_ids"],
                tokenizer("<|im_start|>user\n?<|im_end|>\n<|im_start|>assistant\n")["input_ids"]]
    continuation = tokenizer("yes, 1")["input_ids"]
    got = continuation_logprobs(model, tokenizer, contexts, continuation, batch_size=2)
    for row, context in enumerate(contexts):
        ids = torch.tensor([context + continuation])
        with torch.no_grad():
            logprobs = model(input_ids=ids).logits[0].log_softmax(-1)
        expected = [logprobs[len(context) - 1 + j, token].item() for j, token in enumerate(continuation)]
        np.testing.assert_allclose(got[row], expected, atol=1e-5)
    monkeypatch.setattr(faithex.protocols.ccshap, "MAX_SCORED_POSITIONS", 1)  # a long output: one row per pass
    np.testing.assert_allclose(continuation_logprobs(model, tokenizer, contexts, continuation, batch_size=2), got,
                               atol=1e-5)


def test_answer_and_explanation_ratios_equal_captums_shapley_values(tiny, written):
    """captum's LLMAttribution(ShapleyValues) over the same three numbers (baseline "?") gives, per output token,
    the Shapley values whose ratios the protocol records."""
    import torch
    from captum.attr import LLMAttribution, ShapleyValues, TextTemplateInput

    from faithex.attribution.methods import _NoSpecialTokens
    from faithex.protocols import get_protocol
    from faithex.protocols.ccshap import TargetScorer

    ctx, examples = tree_context(tiny, "joint")
    protocol = get_protocol("cc_shap")
    sample = run_protocol(protocol, ctx, examples[:1])[0]
    features = features_for(examples[0].input, examples[0].meta["x"])
    attribution = LLMAttribution(ShapleyValues(ctx.model), _NoSpecialTokens(ctx.tokenizer))
    for target, key in zip(protocol.targets(ctx, examples[0], sample), ("answer_ratios", "explanation_ratios")):
        scorer = TargetScorer.build(ctx, features, target)
        assert scorer.tail_drop == 0

        def template(*numbers, target=target):
            return target.context(_with_numbers(features, numbers))

        inputs = TextTemplateInput(template, features.names, baselines=["?"] * 3)
        with torch.no_grad():
            result = attribution.attribute(inputs, target=torch.tensor(scorer.continuation_ids),
                                           forward_in_tokens=False)
        theirs = ratios(result.token_attr.double().numpy().T)
        np.testing.assert_allclose(sample["cc_shap"][key], theirs, atol=2e-3)


def _with_numbers(features: Features, numbers) -> str:
    """The input with each number span replaced by the given text (captum passes a feature or its baseline)."""
    pieces, end = [], 0
    for (start, stop), number in zip(features.spans, numbers):
        pieces += [features.text[end:start], number]
        end = stop
    return "".join(pieces) + features.text[end:]


def test_explanation_first_regimes_are_supported_and_label_only_ones_are_not():
    from faithex.protocols import get_protocol
    from faithex.regimes import get_regime

    protocol = get_protocol("cc_shap")
    assert protocol.supports(get_regime("explanation_label"))
    assert protocol.supports(get_regime("separate"))
    assert not protocol.supports(get_regime("label_only"))
    assert not protocol.supports(get_regime("label_explanation"))  # no protocol generates its explanation yet


def test_cc_shap_after_a_generated_explanation_on_a_text_task(tiny, monkeypatch):
    import faithex.lm.generation
    from faithex.protocols import ProtocolContext, get_protocol
    from faithex.regimes import PromptOptions, get_regime
    from faithex.tasks import Example, get_task

    monkeypatch.setattr(faithex.lm.generation, "generate",
                        lambda model, tokenizer, prompts, *a, **k: [" it says love\nAnswer: positive"] * len(prompts))
    model, tokenizer = tiny
    task = get_task("tweet_sentiment")
    train = [Example(id="t0", input="fine", label=1, labels=[0, 1], explanation="short")]
    examples = [Example(id="x0", input="I love it!", label=1, labels=[0, 1])]
    ctx = ProtocolContext(model=model, tokenizer=tokenizer, regime=get_regime("explanation_label"), task=task,
                          options=PromptOptions(system_prompt=""), train=train, batch_size=4)
    protocol = get_protocol("cc_shap")
    (sample,) = run_protocol(protocol, ctx, examples)
    record = sample["cc_shap"]
    assert record["features"] == ["I", "love", "it", "!"] and record["masking"] == "removed"
    assert record["exact"] and record["coalitions"] == 16 and -1.0 <= record["score"] <= 1.0
    answer, explanation = protocol.targets(ctx, examples[0], sample)
    assert explanation.continuation == " it says love"
    assert answer.continuation == " " + sample["outputs"]["answer"]
    masked = answer.context("love it!")
    assert masked.endswith("love it!<|im_end|>\n<|im_start|>assistant\nExplanation: it says love\nAnswer:")


# -- metrics --------------------------------------------------------------------------------------------------------
def test_metrics_read_the_record_and_skip_items_without_a_score():
    samples = [{"id": "a", "cc_shap": {"score": 0.5, "random_score": -0.2}},
               {"id": "b", "cc_shap": {"score": None, "random_score": 0.4, "reason": "empty explanation"}},
               {"id": "c", "cc_shap": {"score": 1.0, "random_score": 0.1}},
               {"id": "d"}]
    np.testing.assert_array_equal(get_metric("cc_shap")(samples), [0.5, np.nan, 1.0, np.nan])
    np.testing.assert_array_equal(get_metric("cc_shap_random")(samples), [-0.2, 0.4, 0.1, np.nan])
    results = evaluate_samples(samples)
    assert results["cc_shap"]["value"] == pytest.approx(0.75) and results["cc_shap"]["n"] == 2
    assert results["cc_shap_random"]["n"] == 3
    assert "cc_shap" not in evaluate_samples([{"id": "a", "gold": 1, "parsed": {"answer": 1}}])
