"""Paper 2's explanation regimes and the `explain_then_score` protocol: the training texts of each regime (exact
strings), instructed system messages, pseudo-explanations, label scores with a "\\n" closing against a plain forward
pass, explanation-first evaluation on a tiny model, and one run through the runner."""

from __future__ import annotations

import pytest
import torch

from faithex.errors import ConfigError
from faithex.io import read_jsonl
from faithex.lm.models import load_model
from faithex.lm.scoring import label_scores
from faithex.protocols import ProtocolContext, get_protocol
from faithex.regimes import PromptOptions, get_regime
from faithex.runner import parse_experiment, run_experiment
from faithex.tasks.base import Example, Task

END_OF_TURN = "<|im_end|>"  # the test tokenizer's
LABEL_PROTOCOLS = ["score", "generate", "direct", "two_step", "explain_then_score"]
BASE_REGIMES = ["label_explanation", "explanation_label", "shuffled_explanation", "bag_of_words_explanation"]
EXPLANATION_REGIMES = BASE_REGIMES + [f"{name}_instructed" for name in BASE_REGIMES]


class Reviews(Task):
    """Sentiment of short movie reviews."""

    name = "reviews"
    label_names = ("negative", "positive")
    description = "Sentiment of short movie reviews."
    instruction = "Sentiment (negative or positive)?"
    supports_icl = False


EXAMPLES = [
    Example("r0", "great movie", 1, [0, 1], explanation="the reviewer calls the movie great and means it"),
    Example("r1", "awful plot", 0, [0, 1], explanation="awful describes the plot so the review is negative"),
    Example("r2", "lovely film", 1, [0, 1], explanation="lovely is praise for the film as a whole"),
]
OPTIONS = PromptOptions(system_prompt="Be brief.", seed=3)


def completion(regime_name: str, examples=EXAMPLES, task: Task | None = None, seed: int = 3) -> list[str]:
    records = get_regime(regime_name).records(task or Reviews(), examples, PromptOptions(seed=seed))
    (rows,) = records.values()  # one adapter
    return [row["completion"][0]["content"] for row in rows]


def explanation_part(text: str) -> str:
    label, marker, explanation = text.partition("\nExplanation: ")
    assert marker and label in Reviews.label_names
    return explanation


# -- training texts -------------------------------------------------------------------------------------------------
def test_label_first_and_explanation_first_training_records_exactly():
    for name, expected in [
        ("label_explanation", "positive\nExplanation: the reviewer calls the movie great and means it"),
        ("explanation_label", "Explanation: the reviewer calls the movie great and means it\nAnswer: positive"),
    ]:
        records = get_regime(name).records(Reviews(), EXAMPLES[:1], OPTIONS)
        assert records == {"classifier": [{
            "prompt": [{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": "Sentiment (negative or positive)?\ngreat movie"}],
            "completion": [{"role": "assistant", "content": expected}],
        }]}
    assert completion("label_explanation")[1] == "negative\nExplanation: awful describes the plot so the review is " \
                                                 "negative"


def test_explanations_are_stripped_and_missing_ones_refused():
    padded = [Example("p", "fine", 1, [0, 1], explanation="  it is fine \n")]
    assert completion("explanation_label", padded) == ["Explanation: it is fine\nAnswer: positive"]
    for name in EXPLANATION_REGIMES:
        for missing in (None, "", "  \n"):
            examples = EXAMPLES + [Example("m", "meh", 0, [0, 1], explanation=missing)]
            with pytest.raises(ConfigError, match="lacks its target text"):
                get_regime(name).records(Reviews(), examples, OPTIONS)


def test_kinds_protocols_and_closings():
    for name in EXPLANATION_REGIMES:
        regime = get_regime(name)
        first = name.startswith("explanation_label")
        assert regime.kinds == (("explanation",) if first else ("answer",))
        assert regime.default_protocol == ("explain_then_score" if first else "score")
        assert regime.label_closing == (None if first else "\n")
        # Among the protocols that ask for labels (paper 3's self-consistency checks ask any model their own way).
        supported = {p for p in LABEL_PROTOCOLS if get_protocol(p).supports(regime)}
        assert supported == ({"explain_then_score"} if first else {"score", "generate"})
    assert get_regime("label_only").label_closing is None
    with pytest.raises(ConfigError, match="protocol 'generate' cannot ask regime 'explanation_label'"):
        parse_experiment({"name": "x", "tasks": [{"name": "tweet_sentiment"}], "regimes": ["explanation_label"],
                          "protocols": ["generate"]})


# -- instructed variants --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["label_only_instructed"] + [f"{n}_instructed" for n in BASE_REGIMES])
def test_instructed_regimes_use_the_tasks_system_instruction(name):
    regime, plain = get_regime(name), get_regime(name.removesuffix("_instructed"))
    built = ("You classify inputs. Task: Sentiment of short movie reviews. Answer with exactly one of these labels: "
             "negative, positive.")
    assert Reviews().system_text() == built
    own = type("OwnInstruction", (Reviews,), {"system_instruction": "Rate it."})()  # e.g. the dialogue task
    for task, system in [(Reviews(), built), (own, "Rate it.")]:
        records = regime.records(task, EXAMPLES, OPTIONS)
        prompts = [row["prompt"] for rows in records.values() for row in rows]
        assert all(p[0] == {"role": "system", "content": system} for p in prompts)
        assert regime.prompt("answer", task, EXAMPLES[0], OPTIONS)[0]["content"] == system  # at test time too
        assert plain.prompt("answer", task, EXAMPLES[0], OPTIONS)[0]["content"] == "Be brief."
        # Only the system message differs from the plain regime.
        assert [p[1:] for p in prompts] == [row["prompt"][1:] for rows in plain.records(task, EXAMPLES, OPTIONS)
                                            .values() for row in rows]


def test_system_text_without_a_description_names_the_task():
    assert Task().system_text() == ("You classify inputs. Task: the classification task. Answer with exactly one "
                                    "of these labels: 0, 1.")


# -- pseudo-explanations --------------------------------------------------------------------------------------------
def test_shuffled_explanations_keep_each_examples_words_in_another_order():
    shuffled = [explanation_part(text) for text in completion("shuffled_explanation")]
    for example, text in zip(EXAMPLES, shuffled):
        assert sorted(text.split()) == sorted(example.explanation.split())
        assert text != example.explanation
    assert completion("shuffled_explanation") == completion("shuffled_explanation")  # seeded
    assert completion("shuffled_explanation", seed=4) != completion("shuffled_explanation")
    labels = [text.split("\n")[0] for text in completion("shuffled_explanation")]
    assert labels == ["positive", "negative", "positive"]  # label first, untouched


def test_bag_of_words_explanations_draw_from_all_training_explanations():
    vocabulary = {word for example in EXAMPLES for word in example.explanation.split()}
    drawn = [explanation_part(text) for text in completion("bag_of_words_explanation")]
    for example, text in zip(EXAMPLES, drawn):
        assert len(text.split()) == len(example.explanation.split())
        assert set(text.split()) <= vocabulary and text != example.explanation
    # Drawn from the vocabulary of all examples, not of the example's own explanation only.
    assert any(set(text.split()) - set(e.explanation.split()) for e, text in zip(EXAMPLES, drawn))
    assert completion("bag_of_words_explanation") == completion("bag_of_words_explanation_instructed")
    assert completion("bag_of_words_explanation", seed=4) != completion("bag_of_words_explanation")


# -- label scores with a closing -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    return loaded.model, loaded.tokenizer


def reference_scores(model, tokenizer, prompt_texts: list[str], continuations: list[str]) -> torch.Tensor:
    """Slow definition: a plain forward pass over each prompt + continuation (tokenised together), summing the
    log-probabilities of the tokens after the prompt's."""
    scores = torch.zeros(len(prompt_texts), len(continuations))
    with torch.inference_mode():
        for i, text in enumerate(prompt_texts):
            prompt = tokenizer(text, add_special_tokens=False)["input_ids"]
            for j, continuation in enumerate(continuations):
                full = tokenizer(text + continuation, add_special_tokens=False)["input_ids"]
                assert full[:len(prompt)] == prompt  # the character tokenizer merges nothing
                logprobs = model(input_ids=torch.tensor([full])).logits[0].float().log_softmax(-1)
                scores[i, j] = sum(logprobs[n - 1, full[n]] for n in range(len(prompt), len(full)))
    return scores


def chat_texts(tokenizer, inputs: list[str], system: str = "") -> list[str]:
    return [tokenizer.apply_chat_template([{"role": "system", "content": system}, {"role": "user", "content": text}],
                                          tokenize=False, add_generation_prompt=True) for text in inputs]


@pytest.mark.parametrize("batch_size", [1, 2])
def test_label_scores_with_a_newline_closing_equal_a_plain_forward_pass(tiny, batch_size):
    model, tokenizer = tiny
    texts = chat_texts(tokenizer, ["great movie", "a much longer input, with punctuation!", "meh"])
    prompts = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    labels = ["negative", "positive", "pos"]
    scores = label_scores(model, tokenizer, prompts, labels, batch_size=batch_size, closing="\n")
    expected = reference_scores(model, tokenizer, texts, [label + "\n" for label in labels])
    torch.testing.assert_close(scores.summed, expected, atol=1e-4, rtol=0)
    newline = tokenizer.convert_tokens_to_ids("\n")
    assert all(tokens[-1] == newline for row in scores.label_tokens for tokens in row)
    assert scores.token_counts[0].tolist() == [9, 9, 4]
    default = label_scores(model, tokenizer, prompts, labels, batch_size=batch_size)  # None: the end of turn
    torch.testing.assert_close(default.summed, reference_scores(model, tokenizer, texts,
                                                                [label + END_OF_TURN for label in labels]),
                               atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="closing"):
        label_scores(model, tokenizer, prompts, labels, closing="")


# -- protocols on the tiny model -------------------------------------------------------------------------------------
def context(tiny, regime_name: str, train=EXAMPLES) -> ProtocolContext:
    model, tokenizer = tiny
    return ProtocolContext(model=model, tokenizer=tokenizer, regime=get_regime(regime_name), task=Reviews(),
                           options=PromptOptions(system_prompt=""), train=train, batch_size=2)


def run(ctx: ProtocolContext, protocol: str, examples=EXAMPLES) -> list[dict]:
    samples = [s for batch in get_protocol(protocol).run(ctx, examples) for s in batch]
    return sorted(samples, key=lambda s: s["id"])


def test_score_scores_label_first_regimes_with_the_newline_that_follows_the_label(tiny):
    model, tokenizer = tiny
    samples = run(context(tiny, "label_explanation"), "score")
    texts = chat_texts(tokenizer, [f"{Reviews.instruction}\n{e.input}" for e in EXAMPLES])
    expected = reference_scores(model, tokenizer, texts, ["negative\n", "positive\n"])
    torch.testing.assert_close(torch.tensor([s["label_scores"] for s in samples]), expected, atol=1e-4, rtol=0)


def test_generate_reads_the_label_before_a_label_first_explanation(tiny, monkeypatch):
    import faithex.lm.generation

    # What a label-first model writes (the protocol's short budget may cut it anywhere after the label).
    written = {"great movie": "positive\nExplanation: great", "awful plot": "negative\nExplanation: positive words",
               "lovely film": "neutral\nExplanation: positive"}

    def fake_generate(model, tokenizer, prompts, *args, **kwargs):
        user_turns = [tokenizer.decode(p).split("<|im_start|>user\n")[1].split("<|im_end|>")[0] for p in prompts]
        return [written[turn.split("\n")[-1]] for turn in user_turns]

    monkeypatch.setattr(faithex.lm.generation, "generate", fake_generate)
    samples = run(context(tiny, "label_explanation_instructed"), "generate")
    assert [s["parsed"]["answer"] for s in samples] == [1, 0, None]
    assert samples[2]["parse_failed"] == ["answer"]


def test_explain_then_score_generates_cuts_and_scores_after_the_explanation(tiny):
    model, tokenizer = tiny
    samples = run(context(tiny, "explanation_label"), "explain_then_score")
    assert [s["id"] for s in samples] == ["r0", "r1", "r2"]
    heads = chat_texts(tokenizer, [f"{Reviews.instruction}\n{e.input}" for e in EXAMPLES])
    for sample, head in zip(samples, heads):
        explanation = sample["outputs"]["explanation"]
        assert sample["outputs"]["generated"].startswith(explanation)
        assert "\nAnswer:" not in explanation and explanation == explanation.strip()
        assert sample["parse_failed"] == [] and len(sample["label_scores"]) == 2
        assert sample["parsed"]["answer"] == max((0, 1), key=lambda k: sample["label_scores"][k])
        assert sample["outputs"]["answer"] == Reviews.label_names[sample["parsed"]["answer"]]
        assert sample["prompts"]["explanation"] == head + "Explanation:"
        assert sample["prompts"]["answer"] == head + f"Explanation: {explanation}\nAnswer:"
        # The scores are the labels' log-probabilities as the training text continues after the explanation.
        expected = reference_scores(model, tokenizer, [sample["prompts"]["answer"]],
                                    [" negative" + END_OF_TURN, " positive" + END_OF_TURN])
        torch.testing.assert_close(torch.tensor([sample["label_scores"]]), expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("generated, explanation", [
    ("it is praise\nAnswer: positive", "it is praise"),
    ("no marker at all", "no marker at all"),
    ("first\nsecond\nAnswer: negative\nAnswer: positive", "first\nsecond"),
    ("\nAnswer: positive", ""),
])
def test_explain_then_score_cuts_the_generation_at_the_answer_marker(tiny, monkeypatch, generated, explanation):
    import faithex.lm.generation

    budgets = []

    def fake_generate(model, tokenizer, prompts, max_new_tokens, **kwargs):
        budgets.append(max_new_tokens)
        return [generated] * len(prompts)

    monkeypatch.setattr(faithex.lm.generation, "generate", fake_generate)
    (sample,) = run(context(tiny, "explanation_label"), "explain_then_score", EXAMPLES[:1])
    assert sample["outputs"]["explanation"] == explanation
    assert sample["prompts"]["answer"].endswith(f"assistant\nExplanation: {explanation}\nAnswer:")
    longest = max(len(" " + e.explanation) for e in EXAMPLES)  # characters are tokens here
    assert budgets == [int(longest * 1.5) + 8]


def test_explain_then_score_needs_training_explanations(tiny):
    with pytest.raises(ConfigError, match="explain_then_score"):
        run(context(tiny, "explanation_label", train=[Example("x", "y", 0, [0, 1])]), "explain_then_score")


# -- the runner -------------------------------------------------------------------------------------------------------
def test_a_run_trains_and_evaluates_explanation_regimes(tiny_model_dir, tmp_path, reviews_csv):
    csv = reviews_csv
    spec = parse_experiment({
        "name": "explained", "model": tiny_model_dir,
        "tasks": [{"name": "dataset", "id": "reviews", "n_train": None, "n_test": None,
                   "params": {"path": str(csv), "explanation_column": "why", "test_fraction": 0.25}}],
        "regimes": ["explanation_label", "bag_of_words_explanation_instructed"],
        "train": {"max_steps": 1, "batch_size": 2, "learning_rate": 1e-3, "precision": "fp32"},
        "inference": {"batch_size": 2, "precision": "fp32"},
    })
    results = run_experiment(spec, tmp_path / "run")

    cells = {(c["regime"], c["protocol"]) for c in results["cells"]}
    # the explanation-first regime also gets the battery's explanation interventions, on by default
    assert cells == {("explanation_label", "explain_then_score"), ("explanation_label", "explanation_interventions"),
                     ("bag_of_words_explanation_instructed", "score")}
    samples = read_jsonl(tmp_path / "run" / "samples" / "reviews__explanation_label__explain_then_score__s0.jsonl")
    assert len(samples) == 2
    for sample in samples:
        assert sample["parse_failed"] == [] and len(sample["label_scores"]) == 2
        assert isinstance(sample["outputs"]["explanation"], str)
        assert sample["prompts"]["answer"].endswith(f"Explanation: {sample['outputs']['explanation']}\nAnswer:")
    for cell in results["cells"]:
        assert cell["metrics"]["answer_accuracy"]["n"] == 2
        assert (tmp_path / "run" / "adapters" / "reviews" / cell["regime"] / "s0" / "classifier").is_dir()
    bag = read_jsonl(tmp_path / "run" / "samples" / "reviews__bag_of_words_explanation_instructed__score__s0.jsonl")
    assert all(s["prompts"]["answer"].startswith("<|im_start|>system\nYou classify inputs.") for s in bag)
