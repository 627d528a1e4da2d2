"""Madsen et al.'s self-consistency checks: prompts, parsing of answers and self-explanations (malformed and
adversarial ones included), interventions, criteria, the protocols (a fake model for the logic, the tiny model for
the plumbing and the runner) and the metrics."""

from __future__ import annotations

import math

import pytest

from faithex.faithfulness.self_consistency import (
    Wording,
    classify_prompt,
    counterfactual_target,
    explanation_prompt,
    extract_paragraph,
    intervene,
    is_correct,
    is_faithful,
    parse_attribution,
    parse_classification,
    parse_counterfactual,
    parse_redaction,
    redact_words,
    redacted_fraction,
    task_question,
)
from faithex.tasks.base import Example, Task


class Sentiment(Task):
    name = "toy_sentiment"
    labels = (0, 1)
    label_names = ("negative", "positive")
    instruction = "Sentiment of this text (positive or negative)?"


class Spam(Task):
    name = "toy_spam"
    labels = (0, 1)
    label_names = ("ham", "spam")
    instruction = "Is this message spam (ham or spam)?"


class Topic(Task):
    """Three labels, not in alphabetical order: the lettered options sort them (business, sports, tech)."""

    name = "toy_topic"
    labels = (0, 1, 2)
    label_names = ("tech", "business", "sports")
    instruction = "Topic of this headline (tech, business or sports)?"


SENTIMENT, SPAM, TOPIC = Wording.of(Sentiment()), Wording.of(Spam()), Wording.of(Topic())


# -- prompts ---------------------------------------------------------------------------------------------------------
def test_binary_sentiment_prompt_is_madsens_with_the_tasks_labels():
    assert classify_prompt(SENTIMENT, "so good") == (
        'What is the sentiment of the following paragraph? The paragraph can contain redacted words marked with '
        '[REDACTED]. Answer only "negative", "positive", or "unknown". Do not explain the answer.\n\n'
        'Paragraph: so good')


def test_other_binary_task_asks_its_question_without_the_label_list():
    assert SPAM.question == "Is this message spam?" and not SPAM.sentiment
    assert classify_prompt(SPAM, "WIN NOW").startswith(
        'Consider the following paragraph, and answer the question: "Is this message spam?" The paragraph can '
        'contain redacted words marked with [REDACTED]. Answer only "ham", "spam", or "unknown".')


def test_more_than_two_labels_are_lettered_alphabetically_with_unknown_last():
    assert TOPIC.choices == (1, 2, 0) and TOPIC.lettered
    assert TOPIC.option_texts == ["a", "b", "c", "d"] and TOPIC.option_decisions == [1, 2, 0, "unknown"]
    assert classify_prompt(TOPIC, "Stocks fall") == (
        'Consider the following paragraph, and answer the question: "Topic of this headline?" The paragraph can '
        'contain redacted words marked with [REDACTED]. Answer either a) "business", b) "sports", c) "tech", or '
        'd) "unknown" if the question can not be answered. Do not explain the answer.\n\nParagraph: Stocks fall')


def test_question_falls_back_to_description_then_a_generic_one():
    task = Task()
    assert task_question(task) == "What is the label of the paragraph?"
    task.description = "Which team won?"
    assert task_question(task) == "Which team won?"


@pytest.mark.parametrize("style, words, expected", [
    ("attribution", "many", "List the most important words for determining the sentiment of the following "
                            "paragraph, such that without these words the sentiment can not be determined."),
    ("attribution", "1", "Name the single most important word for determining the sentiment of the following "
                         "paragraph, such that without this word the sentiment can not be determined. Answer with "
                         "one word only."),
    ("redaction", "many", "Redact the most important words for determining the sentiment of the following "
                          "paragraph, by replacing important words with [REDACTED], such that without these words "
                          "the sentiment can not be determined."),
    ("redaction", 1, "Redact the single most important word for determining the sentiment of the following "
                     "paragraph, by replacing it with [REDACTED], such that without this word the sentiment can "
                     "not be determined."),
    ("counterfactual", "many", 'Edit the following paragraph such that the sentiment is "negative". Make as few '
                               'edits as possible.'),
    ("counterfactual", "1", 'Edit the following paragraph such that the sentiment is "negative". Change only one '
                            'word.'),
])
def test_explanation_prompts(style, words, expected):
    prompt = explanation_prompt(SENTIMENT, style, "so good", words, target=0)
    assert prompt == f"{expected} Do not explain the answer.\n\nParagraph: so good"


def test_question_wording_of_explanation_prompts():
    assert explanation_prompt(TOPIC, "attribution", "x").startswith(
        'List the most important words for answering "Topic of this headline?" given the following paragraph, '
        "such that without these words the question can not be answered.")
    assert explanation_prompt(TOPIC, "counterfactual", "x", target=0).startswith(
        'Edit the following paragraph such that the answer to the question "Topic of this headline?" is "tech".')


def test_bad_prompt_arguments_are_refused():
    with pytest.raises(ValueError, match="target"):
        explanation_prompt(SENTIMENT, "counterfactual", "x")
    with pytest.raises(ValueError, match="style"):
        explanation_prompt(SENTIMENT, "rationale", "x")
    with pytest.raises(ValueError, match="words"):
        explanation_prompt(SENTIMENT, "attribution", "x", words=2)


def test_counterfactual_target_is_the_next_offered_label_cyclically():
    assert [counterfactual_target(SENTIMENT, g) for g in (0, 1)] == [1, 0]
    # offered order business(1), sports(2), tech(0): the target follows the gold label in that order
    assert {g: counterfactual_target(TOPIC, g) for g in (0, 1, 2)} == {1: 2, 2: 0, 0: 1}
    assert counterfactual_target(TOPIC, "unknown") is None and counterfactual_target(TOPIC, None) is None


# -- reading classifications ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("positive", 1), ("Negative.", 0), ('"positive"', 1), ("Sentiment: negative", 0),
    ("The sentiment of this paragraph is positive.", 1), ("It seems to be mostly negative", 0),
    ("This would be classified as positive.", 1), ("unknown", "unknown"), ("Mixed.", "neutral"),
    ("neutral", "neutral"), ("It is difficult to determine the sentiment.", "unknown"),
    ("I am sorry, but I can't.", "unknown"),
    # cues for two decisions: the earliest wins (Madsen's fixed order would say positive here)
    ("The sentiment is unknown; it could be positive", "unknown"),
    ("positively great", None), ("I like turtles", None), ("", None), ("   ", None), (None, None),
])
def test_binary_answers(text, expected):
    assert parse_classification(SENTIMENT, text) == expected


def test_binary_answers_with_other_label_names():
    assert parse_classification(SPAM, "The message is spam.") == 1
    assert parse_classification(SPAM, "Ham") == 0
    assert parse_classification(SPAM, "neutral") == "neutral"  # read as neutral, which is no label of this task


@pytest.mark.parametrize("text, expected", [
    ("a", 1), ("b)", 2), ("(c)", 0), ('The answer is "a".', 1), ("d", "unknown"), ("The answer is e.", None),
    ("Sports", 2), ("tech news, not business", 0), ("I cannot determine it", "unknown"), ("Unknown.", "unknown"),
    ("weather", None), ("", None),
])
def test_lettered_answers(text, expected):
    assert parse_classification(TOPIC, text) == expected


# -- criteria --------------------------------------------------------------------------------------------------------
def test_correct_and_faithful():
    assert [is_correct(d, 1) for d in (1, 0, "unknown", "neutral", None)] == [True, False, False, False, None]
    assert is_correct(1, None) is None
    assert [is_faithful(SENTIMENT, "attribution", d) for d in ("unknown", "neutral", 0, None)] == \
        [True, True, False, None]
    # more than two labels: exactly "unknown"
    assert [is_faithful(TOPIC, "redaction", d) for d in ("unknown", "neutral", 0)] == [True, False, False]
    assert [is_faithful(SENTIMENT, "counterfactual", d, target=0) for d in (0, 1, "unknown", None)] == \
        [True, False, False, None]
    assert is_faithful(SENTIMENT, "counterfactual", 0, target=None) is None


# -- attribution explanations --------------------------------------------------------------------------------------
PARAGRAPH = "The food was AWFUL and the service was slow, but the view (from the roof) was great :) #happy"


@pytest.mark.parametrize("answer, words", [
    ("awful, slow", ["awful", "slow"]),
    ("awful\nslow\ngreat", ["awful", "slow", "great"]),
    ("1. Awful\n2. \"slow\" (appears once)\n3. great", ["Awful", "slow", "great"]),
    ("- awful\n* slow\n• great", ["awful", "slow", "great"]),
    ("Here are the most important words:\n1. awful\n2. slow", ["awful", "slow"]),
    ("Important words: awful; slow", ["awful", "slow"]),
    ("The most important words are awful and slow.", ["awful", "slow"]),
    ('"awful", "slow", "awful"', ["awful", "slow"]),  # repeats once
    ("awful slow", ["awful", "slow"]),  # not a phrase of the paragraph: word by word
    ("the service", ["the service"]),  # a phrase of the paragraph stays whole
    (":), #happy", [":)", "#happy"]),
    ("**great**", ["great"]),
])
def test_attribution_lists(answer, words):
    assert parse_attribution(answer, PARAGRAPH).words == words


# Answers SmolLM2-135M-Instruct wrote to the attribution prompts (docs/faithfulness.md, worked example).
AIRWAYS = "@USAirways looks like our bag has been rescued. Thanks!"
CFL = "RT @booshmeister: You don't seem to hear about any cheating in the @cfl Just saying. #DeflateGate #CFL"


@pytest.mark.parametrize("paragraph, answer, words, not_in_input", [
    (AIRWAYS, 'The most important words for determining the sentiment of this paragraph are:\n\n- "USAirways" - This '
              'is a well-known company that has been rescued.\n- "look like our bag" - This is a common idi',
     ["USAirways", "like", "our", "bag"], ["look"]),
    (CFL, "The most important words for determining the sentiment of this paragraph are:\n\n- RT @booshmeister:\n"
          "This is a personal account of a person who is not a person.\n\n- #DeflateGate:\nThis",
     ["RT @booshmeister", "#DeflateGate"], []),
    ("@AmericanAir I filled out that whole form before receiving a poor poor response.",
     'The most important words for determining the sentiment of this paragraph are "AmericanAir" and "poor."',
     ["AmericanAir", "poor"], []),
])
def test_real_attribution_answers(paragraph, answer, words, not_in_input):
    parsed = parse_attribution(answer, paragraph)
    assert parsed.words == words and parsed.not_in_input == not_in_input


def test_an_echoed_request_names_no_word():
    # the model repeated the one-word request: two of its twelve words occur in the tweet ("The", "of"), by chance
    answer = "The single most important word for determining the sentiment of this paragraph"
    assert parse_attribution(answer, CFL, words="1") is None


def test_commentary_after_an_edit_is_cut():
    answer = ("Here's a revised version of the paragraph with a focus on positive sentiment:\n\n@USAirways: "
              '"We\'re grateful to have you on board."\n\nI made a few minor adjustments to enhance the tone.')
    assert parse_counterfactual(answer, AIRWAYS) == '@USAirways: "We\'re grateful to have you on board."'
    unchanged = "Here's a revised version of the paragraph with edits:\n\n" + CFL
    assert parse_counterfactual(unchanged, CFL) is None


def test_words_not_in_the_input_are_ignored_and_counted():
    parsed = parse_attribution("awful, delicious, terrible", PARAGRAPH)
    assert parsed.words == ["awful"] and parsed.not_in_input == ["delicious", "terrible"]
    assert parse_attribution("delicious, terrible", PARAGRAPH) is None  # nothing named is in the input


@pytest.mark.parametrize("answer", ["", "   ", "\n\n", "Here are the most important words:", "-\n*\n1.", None])
def test_empty_attributions_are_unparsed(answer):
    assert parse_attribution(answer, PARAGRAPH) is None


def test_whole_words_only():
    assert parse_attribution("was", "It wasn't bad") is None  # "was" only inside "wasn't"
    assert parse_attribution("art", "a party") is None


def test_one_word_limit_keeps_the_first_word_found():
    parsed = parse_attribution("delicious, awful, slow", PARAGRAPH, words="1")
    assert parsed.words == ["awful"] and parsed.beyond_limit == ["slow"] and parsed.not_in_input == ["delicious"]


def test_an_explanation_naming_every_word_redacts_everything_and_says_so():
    paragraph = "so very good"
    intervention = intervene("attribution", "so, very, good", paragraph)
    assert intervention.text == "[REDACTED] [REDACTED] [REDACTED]"
    assert intervention.notes["redacted_fraction"] == 1.0


def test_redact_words_is_case_insensitive_whole_word_and_literal():
    assert redact_words("Bad, BAD movie; badly made", ["bad"]) == "[REDACTED], [REDACTED] movie; badly made"
    # regex characters are literal, and a phrase is masked whole before its words
    text = "C++ beats C (mostly) at a.b, not axb; 10$ or \\d+"
    assert redact_words(text, ["C++", "(mostly)", "a.b", "10$", "\\d+"]) == \
        "[REDACTED] beats C [REDACTED] at [REDACTED], not axb; [REDACTED] or [REDACTED]"
    assert redact_words("not good at all", ["good", "not good"]) == "[REDACTED] at all"
    assert redact_words("unchanged", []) == "unchanged"


REGEX_PARAGRAPH = "a (b) [c] * \\ .* a|b $^ (?=x)"


@pytest.mark.parametrize("answer, redacted", [
    ("(", "a (b) [c] * \\ .* a|b $^ [REDACTED]?=x)"),  # the "(" of "(b)" is glued to a word: not a whole word
    ("(b)", "a [REDACTED] [c] * \\ .* a|b $^ (?=x)"),
    ("[c]", "a (b) [REDACTED] * \\ .* a|b $^ (?=x)"),
    ("\\", "a (b) [c] * [REDACTED] .* a|b $^ (?=x)"),
    (".*", "a (b) [c] * \\ [REDACTED] a|b $^ (?=x)"),
    ("a|b", "a (b) [c] * \\ .* [REDACTED] $^ (?=x)"),
    ("$^", "a (b) [c] * \\ .* a|b [REDACTED] (?=x)"),
    ("(?=x)", "a (b) [c] * \\ .* a|b $^ [REDACTED]"),
    ("[", None),  # only inside "[c]"
    # "whole" means not glued to a letter, digit or underscore: the "*" of ".*" counts too
    ("*", "a (b) [c] [REDACTED] \\ .[REDACTED] a|b $^ (?=x)"),
    ("[REDACTED]", None),
])
def test_regex_characters_in_an_explanation_are_literal(answer, redacted):
    assert intervene("attribution", answer, REGEX_PARAGRAPH).text == redacted


# -- redaction and counterfactual explanations ---------------------------------------------------------------------
def test_redactions():
    paragraph = "The food was awful and slow."
    assert parse_redaction("The food was [REDACTED] and [REDACTED].", paragraph) == \
        "The food was [REDACTED] and [REDACTED]."
    assert parse_redaction("Paragraph: The food was [redacted ] and slow.", paragraph) == \
        "The food was [REDACTED] and slow."
    assert parse_redaction('Here is the redacted paragraph:\n"The food was [REDACTED] and slow."', paragraph) == \
        "The food was [REDACTED] and slow."
    assert parse_redaction("[REDACTED]", paragraph) == "[REDACTED]"  # everything redacted: read, and flagged
    assert redacted_fraction(paragraph, "[REDACTED]") == 1.0


@pytest.mark.parametrize("answer", [
    "The food was awful and slow.",  # no mask
    "I redacted the word [REDACTED] because it carries the sentiment of the whole review.",  # not the paragraph
    "The food was [REDACTED] and slow. The food was awful and slow. The food was great.",  # longer than it
    "", None, "I'm sorry, I cannot redact [REDACTED] text.",
])
def test_malformed_redactions_are_unparsed(answer):
    assert parse_redaction(answer, "The food was awful and slow.") is None


def test_counterfactuals():
    paragraph = "The food was awful."
    assert parse_counterfactual("The food was great.", paragraph) == "The food was great."
    assert parse_counterfactual("Sure, here is the edited paragraph:\nThe food was great.", paragraph) == \
        "The food was great."
    assert parse_counterfactual("Edited paragraph: 'The food was great.'", paragraph) == "The food was great."
    for unchanged in ("The food was awful.", "  the FOOD  was awful!! ", "Paragraph: The food was awful."):
        assert parse_counterfactual(unchanged, paragraph) is None
    for empty in ("", "  ", '""', "Paragraph:", None):
        assert parse_counterfactual(empty, paragraph) is None
    # an answer that keeps no word of the paragraph is no edit of it (a classifier answering its label)
    for unrelated in ("negative", "Positive.", "Paragraph: great"):
        assert parse_counterfactual(unrelated, paragraph) is None
    assert parse_counterfactual("great", "awful") == "great"  # a one-word paragraph has nothing else to keep


def test_extract_paragraph_keeps_a_paragraph_with_its_own_colon():
    assert extract_paragraph("Note: the food was great") == "Note: the food was great"
    assert extract_paragraph("Sorry, the food was bad") is None  # read as a refusal, as Madsen does


# -- the protocol, with a fake model: every decision is known ------------------------------------------------------
def _paragraph(prompt: str) -> str:
    return prompt.split("Paragraph: ", 1)[1].split("<|im_end|>", 1)[0]


def _rule(paragraph: str) -> str:
    """The fake model's reading: the first sentiment word decides; '???' is unreadable; none left: unknown."""
    if "???" in paragraph:
        return "???"
    found = [(paragraph.find(w), w) for w in ("good", "bad") if w in paragraph]
    return {"good": "positive", "bad": "negative"}[min(found)[1]] if found else "unknown"


class FakeModel:
    """Answers decoded prompts: classifications by `_rule`, explanations from a table keyed by paragraph."""

    def __init__(self, tokenizer, explanations: dict[str, str]):
        self.tokenizer, self.explanations, self.calls = tokenizer, explanations, []

    def generate(self, model, tokenizer, prompts, max_new_tokens, batch_size=32, precision="fp32", on_batch=None):
        texts = [tokenizer.decode(p) for p in prompts]
        self.calls.append(("generate", len(texts)))
        if on_batch:
            on_batch(len(texts))
        return [self._answer(t) for t in texts]

    def _answer(self, prompt: str) -> str:
        paragraph = _paragraph(prompt)
        if "can contain redacted words" in prompt:
            reading = _rule(paragraph)
            return "I like turtles" if reading == "???" else f"The sentiment is {reading}."
        return self.explanations[paragraph]

    def label_scores(self, model, tokenizer, prompts, label_texts, batch_size=32, precision="fp32", on_batch=None):
        import torch

        from faithex.lm.scoring import LabelScores

        self.calls.append(("score", len(prompts)))
        summed = torch.full((len(prompts), len(label_texts)), -5.0)
        for i, prompt in enumerate(prompts):
            reading = _rule(_paragraph(tokenizer.decode(prompt)))
            summed[i, label_texts.index(reading if reading in label_texts else "unknown")] = -0.5
        if on_batch:
            on_batch(len(prompts))
        return LabelScores(list(label_texts), summed, torch.ones_like(summed, dtype=torch.long), [])


@pytest.fixture
def fake(monkeypatch):
    from conftest import build_tokenizer

    tokenizer = build_tokenizer()

    def install(explanations):
        model = FakeModel(tokenizer, explanations)
        monkeypatch.setattr("faithex.lm.generation.generate", model.generate)
        monkeypatch.setattr("faithex.lm.scoring.label_scores", model.label_scores)
        return model

    return tokenizer, install


def run_protocol(name, tokenizer, examples, batch_size=8):
    from faithex.protocols import ProtocolContext, get_protocol
    from faithex.regimes.base import get_regime

    progress = []
    ctx = ProtocolContext(model=None, tokenizer=tokenizer, regime=get_regime("zero_shot"), task=Sentiment(),
                          batch_size=batch_size, on_batch=progress.append)
    protocol = get_protocol(name)
    samples = [s for batch in protocol.run(ctx, examples) for s in batch]
    assert sum(progress) == protocol.steps(ctx.regime) * len(examples)  # the progress bar ends at its total
    return {s["id"]: s for s in samples}


def example(i, text, label):
    return Example(id=f"e{i}", input=text, label=label, labels=[0, 1])


ATTRIBUTION_CASES = [
    example(1, "a good day", 1),  # correct; names "good" -> "a [REDACTED] day" -> unknown: faithful
    example(2, "a bad day", 0),  # correct; names "day" -> "a bad [REDACTED]" -> negative: not faithful
    example(3, "good grief, bad luck", 0),  # wrong (positive); names both -> unknown: faithful but not correct
    example(4, "so bad", 0),  # correct; names nothing in the input: unparsed
]
ATTRIBUTIONS = {"a good day": "good", "a bad day": "day", "good grief, bad luck": "good, bad",
                "so bad": "terrible"}


def test_attribution_protocol_records_and_metrics(fake):
    from faithex.metrics import evaluate_samples

    tokenizer, install = fake
    model = install(ATTRIBUTIONS)
    samples = run_protocol("self_consistency_attribution", tokenizer, ATTRIBUTION_CASES, batch_size=3)
    first = samples["e1"]
    assert first["protocol"] == "self_consistency_attribution"
    # the random-word control redacts one other word of "a good day": "good" stays, so it stays positive
    assert first["parsed"] == {"classification": 1, "self_explanation": ["good"],
                               "intervened_classification": "unknown", "random_control_classification": 1}
    assert first["outputs"] == {"classification": "positive", "self_explanation": "good",
                                "intervened_classification": "unknown", "random_control_classification": "positive"}
    check = first["self_consistency"]
    assert check["intervened_input"] == "a [REDACTED] day" and check["correct"] is True and check["faithful"] is True
    assert check["options"] == ["negative", "positive", "unknown"] and len(check["option_scores"]) == 3
    assert "Answer only" in first["prompts"]["classification"] and "a good day" in first["prompts"]["classification"]
    assert "List the most important words" in first["prompts"]["self_explanation"]
    assert "a [REDACTED] day" in first["prompts"]["intervened_classification"]
    assert samples["e2"]["self_consistency"]["faithful"] is False
    assert samples["e3"]["self_consistency"]["correct"] is False and samples["e3"]["self_consistency"]["faithful"]
    unparsed = samples["e4"]
    assert unparsed["parse_failed"] == ["self_explanation"] and unparsed["self_consistency"]["faithful"] is None
    assert "intervened_classification" not in unparsed["prompts"]
    control = check["random_control"]
    assert control["count"] == 1 and control["from_named"] == 0 and control["words"] in (["a"], ["day"])
    assert control["prediction"] == 1 and control["faithful"] is False and len(control["option_scores"]) == 3
    assert "[REDACTED]" in control["input"] and "good" in control["input"]
    assert unparsed["self_consistency"]["random_control"] is None  # nothing named: no control
    # two batches (3 + 1), each: scored once, explained once, scored again and the control (only what was parsed)
    assert model.calls == [("score", 3), ("generate", 3), ("score", 3), ("score", 3), ("score", 1), ("generate", 1)]

    metrics = evaluate_samples(list(samples.values()), labels=(0, 1))
    headline = metrics["self_consistency_faithfulness"]
    assert headline["value"] == 0.5 and headline["n"] == 2
    assert metrics["self_consistency_faithfulness_parsed"]["value"] == pytest.approx(2 / 3)
    assert metrics["self_explanation_failure"]["value"] == 0.25
    assert metrics["self_consistency_classification_failure"]["value"] == 0.0
    assert metrics["self_consistency_accuracy"]["value"] == 0.75
    assert metrics["self_consistency_faithfulness"]["low"] <= 0.5 <= metrics["self_consistency_faithfulness"]["high"]
    # the explanation is not a paper 1 explanation: no explanation or alignment metrics on these samples
    assert "explanation_accuracy" not in metrics and "alignment_rate" not in metrics


COUNTERFACTUAL_CASES = [
    example(1, "a good day", 1),  # target negative; edit "a bad day": faithful
    example(2, "a bad day", 0),  # edit unchanged: unparsed
    example(3, "so good", 1),  # edit stays positive: not faithful
    example(4, "??? good", 1),  # the answer is unreadable, and so is the edit's
]
EDITS = {"a good day": "a bad day", "a bad day": "A bad day!", "so good": "so very good", "??? good": "??? bad"}


def test_counterfactual_protocol_generates_and_parses(fake):
    from faithex.metrics import evaluate_samples

    tokenizer, install = fake
    install(EDITS)
    samples = run_protocol("self_consistency_counterfactual_generate", tokenizer, COUNTERFACTUAL_CASES)
    first = samples["e1"]
    assert first["outputs"]["classification"] == "The sentiment is positive."
    assert first["self_consistency"]["target"] == 0 and first["self_consistency"]["target_name"] == "negative"
    assert first["self_consistency"]["target_from"] == "gold" and first["self_consistency"]["faithful"] is True
    assert 'such that the sentiment is "negative"' in first["prompts"]["self_explanation"]
    assert samples["e2"]["parse_failed"] == ["self_explanation"]
    assert samples["e3"]["self_consistency"]["faithful"] is False
    broken = samples["e4"]
    assert broken["parse_failed"] == ["classification", "intervened_classification"]
    assert broken["self_consistency"]["correct"] is None and broken["self_consistency"]["faithful"] is None

    metrics = evaluate_samples(list(samples.values()), labels=(0, 1))
    assert metrics["self_consistency_faithfulness"]["value"] == 0.5  # e1 faithful, e3 not; e2, e4 did not complete
    assert metrics["self_consistency_classification_failure"]["value"] == 0.25
    assert metrics["self_consistency_accuracy"]["value"] == 0.75  # unreadable counts as wrong


def test_counterfactual_target_from_the_prediction(fake):
    tokenizer, install = fake
    install({**EDITS, "good grief, bad luck": "bad grief, bad luck"})
    samples = run_protocol("self_consistency_counterfactual_generate_from_prediction", tokenizer,
                           COUNTERFACTUAL_CASES + [example(5, "good grief, bad luck", 0)])
    assert samples["e4"]["outputs"]["self_explanation"] is None  # no prediction, no target: nothing asked
    assert "self_explanation" not in samples["e4"]["prompts"] and samples["e4"]["parse_failed"] == ["classification"]
    # predicted positive, gold negative: the target is the prediction's other label, reached by the edit
    assert samples["e5"]["self_consistency"]["target_name"] == "negative"
    assert samples["e5"]["self_consistency"]["faithful"] is True
    assert samples["e5"]["self_consistency"]["correct"] is False
    from faithex.metrics import get_metric

    assert math.isnan(get_metric("self_explanation_failure")([samples["e4"]])[0])


def test_redaction_protocol_with_lettered_options(fake, monkeypatch):
    import torch

    from faithex.lm.scoring import LabelScores
    from faithex.protocols import ProtocolContext
    from faithex.protocols.self_consistency import SelfConsistency
    from faithex.regimes.base import get_regime

    tokenizer, install = fake
    install({"good tech": "[REDACTED] tech", "bad sports": "bad sports"})
    # The fake's readings as the topic task's letters: good -> a) business, bad -> b) sports, nothing -> d) unknown
    letters = {"positive": "a", "negative": "b", "unknown": "d"}

    def lettered(model, tokenizer_, prompts, label_texts, on_batch=None, **kwargs):
        assert label_texts == ["a", "b", "c", "d"]
        summed = torch.full((len(prompts), 4), -5.0)
        for i, prompt in enumerate(prompts):
            summed[i, "abcd".index(letters[_rule(_paragraph(tokenizer_.decode(prompt)))])] = -0.5
        return LabelScores(list(label_texts), summed, torch.ones_like(summed, dtype=torch.long), [])

    monkeypatch.setattr("faithex.lm.scoring.label_scores", lettered)
    ctx = ProtocolContext(model=None, tokenizer=tokenizer, regime=get_regime("zero_shot"), task=Topic())
    examples = [Example("t1", "good tech", 1, [0, 1, 2]), Example("t2", "bad sports", 2, [0, 1, 2])]
    samples = {s["id"]: s for batch in SelfConsistency("redaction").run(ctx, examples) for s in batch}
    first = samples["t1"]
    assert first["parsed"]["classification"] == 1 and first["self_consistency"]["correct"] is True
    assert first["self_consistency"]["prediction_name"] == "business"
    assert first["self_consistency"]["intervened_prediction"] == "unknown" and first["self_consistency"]["faithful"]
    assert first["self_consistency"]["notes"]["redacted_fraction"] == 0.5
    assert 'd) "unknown"' in first["prompts"]["classification"]
    assert samples["t2"]["parse_failed"] == ["self_explanation"]  # no [REDACTED] in the answer


def test_protocol_names_and_options():
    from faithex.protocols import PROTOCOLS
    from faithex.protocols.self_consistency import SelfConsistency, protocol_name

    names = [n for n in PROTOCOLS.names() if n.startswith("self_consistency_")]
    assert len(names) == 24 and "self_consistency_attribution_1word_generate" in names
    assert "self_consistency_redaction_1word_generate_eraser" in names  # ERASER: attribution and redaction only
    assert not [n for n in names if n.startswith("self_consistency_counterfactual") and n.endswith("_eraser")]
    name = protocol_name("counterfactual", 1, "score", "prediction")
    assert name == "self_consistency_counterfactual_1word_from_prediction"
    with pytest.raises(ValueError, match="counterfactual"):
        SelfConsistency("redaction", target_from="prediction")
    with pytest.raises(ValueError, match="classify"):
        SelfConsistency("redaction", classify="vote")


def test_metrics_on_hand_made_samples():
    from faithex.metrics import get_metric

    def sample(correct, faithful, explained=True, failed=()):
        return {"gold": 1, "self_consistency": {"style": "redaction", "correct": correct, "faithful": faithful},
                "outputs": {"self_explanation": "x" if explained else None},
                "parsed": {"self_explanation": "x" if faithful is not None else None}, "parse_failed": list(failed)}

    samples = [sample(True, True), sample(True, False), sample(False, True),
               sample(None, True, failed=["classification"]), sample(True, None),
               sample(False, None, explained=False), {"gold": 0}]
    values = {name: get_metric(name)(samples, (0, 1)).tolist() for name in (
        "self_consistency_faithfulness", "self_consistency_faithfulness_parsed", "self_explanation_failure",
        "self_consistency_classification_failure", "self_consistency_accuracy")}
    nan = math.nan
    expected = {
        "self_consistency_faithfulness": [1, 0, nan, nan, nan, nan, nan],
        "self_consistency_faithfulness_parsed": [1, 0, 1, nan, nan, nan, nan],
        "self_explanation_failure": [0, 0, 0, 0, 1, nan, nan],
        "self_consistency_classification_failure": [0, 0, 0, 1, 0, 0, nan],
        "self_consistency_accuracy": [1, 1, 0, 0, 1, 0, nan],
    }
    for name, want in expected.items():
        assert values[name] == pytest.approx(want, nan_ok=True), name


def test_shift_is_the_fall_of_the_predictions_probability_or_the_rise_of_the_targets():
    from faithex.metrics import get_metric

    log = math.log

    def check(style, before, after, prediction=1, **extra):
        return {"self_consistency": {"style": style, "correct": True, "faithful": False, "prediction": prediction,
                                     "option_scores": [log(p) for p in before],
                                     "intervened_option_scores": None if after is None else [log(p) for p in after],
                                     **extra}}

    samples = [
        check("redaction", [0.2, 0.7, 0.1], [0.3, 0.4, 0.3]),  # positive 0.7 -> 0.4: fell by 0.3
        check("attribution", [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]),  # rose: a negative shift
        check("attribution", [0.2, 0.3, 0.5], [0.2, 0.2, 0.6], prediction="unknown"),  # no label to weaken
        check("redaction", [0.2, 0.7, 0.1], None),  # not parsed: nothing applied
        check("counterfactual", [0.6, 0.3, 0.1], [0.25, 0.7, 0.05], prediction=0, target_option=1),  # +0.4
        check("counterfactual", [0.6, 0.3, 0.1], [0.25, 0.7, 0.05], prediction=0),  # written before target_option
    ]
    values = get_metric("self_consistency_shift")(samples, (0, 1)).tolist()
    assert values == pytest.approx([0.3, -0.1, math.nan, math.nan, 0.4, math.nan], nan_ok=True)


def test_label_change_counts_any_other_label_but_only_for_correct_redaction_and_attribution_checks():
    from faithex.metrics import get_metric

    def check(style, prediction, after, correct=True, faithful=False):
        return {"self_consistency": {"style": style, "correct": correct, "faithful": faithful,
                                     "prediction": prediction, "intervened_prediction": after}}

    samples = [
        check("attribution", 1, 0),  # flipped to the other label: changed, though Madsen's check says unfaithful
        check("redaction", 1, 1),  # same label: unchanged
        check("attribution", 0, "unknown", faithful=True),  # Madsen-faithful is also a change
        check("redaction", 1, 0, correct=False),  # misclassified: outside both metrics
        check("attribution", 1, None, faithful=None),  # intervened answer unreadable: not completed
        check("counterfactual", 1, 0, faithful=True),  # counterfactuals have their own target
    ]
    changed = get_metric("self_consistency_label_change")(samples, (0, 1)).tolist()
    madsen = get_metric("self_consistency_faithfulness")(samples, (0, 1)).tolist()
    assert changed == pytest.approx([1, 0, 1, math.nan, math.nan, math.nan], nan_ok=True)
    assert madsen == pytest.approx([0, 0, 1, math.nan, math.nan, 1], nan_ok=True)

# -- the tiny model: real generation and scoring, through the runner -----------------------------------------------
def test_runner_cells_with_the_tiny_model(tiny_model_dir, tmp_path):
    from faithex.io import read_jsonl
    from faithex.runner import parse_experiment, run_experiment

    csv = tmp_path / "reviews.csv"
    rows = ["great movie,positive", "lovely film,positive", "nice one,positive", "good fun,positive",
            "awful plot,negative", "bad film,negative", "terrible,negative", "dull acting,negative"]
    csv.write_text("text,label\n" + "\n".join(rows) + "\n")
    protocols = ["self_consistency_attribution", "self_consistency_redaction_generate",
                 "self_consistency_counterfactual_1word"]
    experiment = parse_experiment({
        "name": "sc", "model": tiny_model_dir, "seeds": [0],
        "tasks": [{"name": "dataset", "id": "reviews", "params": {"path": str(csv), "test_fraction": 0.5},
                   "n_train": None, "n_test": None}],
        "regimes": ["zero_shot"], "protocols": protocols,
        "inference": {"batch_size": 3, "precision": "fp32"},
    })
    results = run_experiment(experiment, tmp_path / "run")
    assert {c["protocol"] for c in results["cells"]} == set(protocols)
    for cell in results["cells"]:
        metrics = cell["metrics"]
        assert {"self_consistency_faithfulness_parsed", "self_explanation_failure",
                "self_consistency_classification_failure", "self_consistency_accuracy"} <= set(metrics)
        samples = read_jsonl(tmp_path / "run" / "samples" / f"reviews__zero_shot__{cell['protocol']}__s0.jsonl")
        assert len(samples) == 4
        for s in samples:
            check = s["self_consistency"]
            assert check["style"] in cell["protocol"]
            assert (s["parsed"]["self_explanation"] is None) == (check["intervened_input"] is None)
            assert (check["faithful"] is None) == (s["parsed"]["intervened_classification"] is None)
            if "generate" not in cell["protocol"]:  # scored answers always read
                assert "classification" not in s["parse_failed"]
    scored = next(c for c in results["cells"] if c["protocol"] == "self_consistency_attribution")
    assert scored["metrics"]["self_consistency_classification_failure"]["value"] == 0.0


@pytest.mark.slow
def test_default_model_on_two_tweets():
    from faithex.lm.models import load_model
    from faithex.protocols import ProtocolContext, get_protocol
    from faithex.regimes.base import get_regime

    loaded = load_model("default")
    ctx = ProtocolContext(model=loaded.model, tokenizer=loaded.tokenizer, regime=get_regime("zero_shot"),
                          task=Sentiment(), batch_size=2)
    examples = [example(1, "I love this new phone, it is amazing", 1), example(2, "Worst flight ever, so rude", 0)]
    samples = [s for b in get_protocol("self_consistency_attribution").run(ctx, examples) for s in b]
    assert len(samples) == 2
    for s in samples:
        assert s["outputs"]["self_explanation"]  # the model wrote something
        assert s["parsed"]["classification"] in (0, 1, "unknown")
