"""`dialogue_quality` (paper 2's task from degraded Chit Chat replies): parameters, balanced scores, determinism,
meta, explanations, conversation-disjoint splits, and measured proxies showing that each degradation moves its own
dimension and leaves the other two alone.

Reads the 40 MB dataset.json of the installed `chitchat-dataset` package once per session (cached by the task
module); every test runs on all ~2,900 items of seed 0.
"""

from __future__ import annotations

import hashlib
import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from functools import lru_cache

import pytest
from typer.testing import CliRunner

from faithex.errors import ConfigError
from faithex.tasks import Example, get_task
from faithex.tasks.dialogue_quality import (
    DIMENSIONS,
    FUNCTION_WORDS,
    GENERIC_REPLIES,
    MAX_CONTEXT_WORDS,
    MAX_REPLY_WORDS,
    MIN_REPLY_WORDS,
    Exchange,
    bare,
    content_words,
    donor_words_wanted,
    read_conversations,
)

KINDS = {
    "naturalness": {"shuffle", "repeat", "drop"},
    "comprehensiveness": {"truncate", "generic"},
    "on_topic": {"mix", "swap"},
}
ITEMS_SEED_0 = 2878  # items per dimension with seed 0 (docs/tasks.md)


@lru_cache(maxsize=None)
def items(dimension: str, seed: int = 0) -> tuple[list[Example], list[Example]]:
    task = get_task("dialogue_quality", seed=seed, dimension=dimension)
    return task.examples(None, "train"), task.examples(None, "test")


def every(dimension: str) -> list[Example]:
    train, test = items(dimension)
    return train + test


def reply(example: Example) -> str:
    """The (degraded) reply the model reads: the input's second line after 'B: '."""
    first, second = example.input.split("\n")
    assert first == f"A: {example.meta['context']}" and second.startswith("B: ")
    return second[3:]


def tokens(text: str) -> list[str]:
    return text.lower().split()


def broken_pairs(degraded: str, *sources: str) -> int:
    """Adjacent word pairs of `degraded` that are adjacent in none of the real texts `sources` (word order proxy)."""
    real = {pair for source in sources for pair in zip(tokens(source), tokens(source)[1:])}
    words = tokens(degraded)
    return sum(pair not in real for pair in zip(words, words[1:]))


def context_overlap(text: str, context: str) -> set[str]:
    return set(content_words(text)) & set(content_words(context))


def foreign_share(degraded: str, original: str) -> float:
    """The share of the reply's content words that the original reply does not have (on-topic proxy)."""
    words = content_words(degraded)
    return sum(word not in set(content_words(original)) for word in words) / max(1, len(words))


def by_kind(dimension: str, kind: str) -> list[Example]:
    return [e for e in every(dimension) if e.meta["degradation"] == kind]


def mean_by_score(examples: list[Example], value) -> list[float]:
    """Mean of `value` per score 1..4 (degraded items only)."""
    groups: dict[int, list[float]] = {}
    for example in (e for e in examples if e.label < 4):
        groups.setdefault(example.label + 1, []).append(value(example))
    return [statistics.mean(groups[score]) for score in sorted(groups)]


# -- parameters, instruction, registry -------------------------------------------------------------------------
def test_dimension_and_test_fraction_are_validated() -> None:
    for bad in ("topic", "Naturalness", "", 3):
        with pytest.raises(ConfigError, match="parameter 'dimension' must be naturalness, comprehensiveness or"):
            get_task("dialogue_quality", dimension=bad)
    with pytest.raises(ConfigError, match="test_fraction"):
        get_task("dialogue_quality", test_fraction=1.0)
    with pytest.raises(ConfigError, match="accepted: dimension, test_fraction"):
        get_task("dialogue_quality", dimensions="on_topic")
    assert get_task("dialogue_quality").dimension == "naturalness"  # the default


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_labels_instruction_system_instruction_describe(dimension: str) -> None:
    task = get_task("dialogue_quality", seed=3, dimension=dimension)
    assert task.label_names == ("1", "2", "3", "4", "5") and task.labels == (0, 1, 2, 3, 4)
    word = {"naturalness": "naturalness", "comprehensiveness": "comprehensiveness", "on_topic": "topic"}[dimension]
    assert word in task.instruction and "from 1 (" in task.instruction and "to 5 (" in task.instruction
    assert task.user_text(Example("x", "A: hi\nB: hello", 0, [0])).startswith(task.instruction + "\nA: hi")
    sentences = re.findall(r"[.!?](?:\s|$)", task.system_instruction)
    assert 2 <= len(sentences) <= 3 and "5 means" in task.system_instruction and "1 means" in task.system_instruction
    assert task.system_text() == task.system_instruction
    described = task.describe()
    assert described["dimension"] == dimension and described["source"] == "chitchat-dataset==0.9.0"
    assert described["seed"] == 3 and not task.supports_icl
    assert [task.parse_answer(text) for text in ("4", " 5.", "1/5", "6", "four", "")] == [3, 4, 0, None, None, None]


def test_faithex_tasks_lists_it() -> None:
    from faithex.cli.main import app

    result = CliRunner().invoke(app, ["tasks"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "dialogue_quality" in result.output


# -- sizes, balance, splits, determinism -----------------------------------------------------------------------
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_items_balanced_within_one_and_split_stratified(dimension: str) -> None:
    train, test = items(dimension)
    assert len(train) + len(test) == ITEMS_SEED_0 and len(test) == pytest.approx(0.2 * ITEMS_SEED_0, abs=5)
    for part in (train, train + test):
        counts = Counter(e.label for e in part)
        assert sorted(counts) == [0, 1, 2, 3, 4] and max(counts.values()) - min(counts.values()) <= 1
    test_counts = Counter(e.label for e in test)
    assert max(test_counts.values()) - min(test_counts.values()) <= 1


def test_the_three_dimensions_share_items_and_scores() -> None:
    """Same seed: the same exchange and score per conversation in every dimension, only the degradation differs."""
    rows = {dim: {e.id: e for e in every(dim)} for dim in DIMENSIONS}
    assert rows["naturalness"].keys() == rows["on_topic"].keys() == rows["comprehensiveness"].keys()
    for key, example in rows["naturalness"].items():
        for other in ("comprehensiveness", "on_topic"):
            twin = rows[other][key]
            assert (twin.label, twin.meta["context"], twin.meta["reply"]) == (
                example.label, example.meta["context"], example.meta["reply"])


def test_same_seed_byte_identical_other_seed_different() -> None:
    for dimension in DIMENSIONS:
        first = get_task("dialogue_quality", seed=0, dimension=dimension)
        again = get_task("dialogue_quality", seed=0, dimension=dimension)
        for split in ("train", "test"):
            as_json = [e.to_json() for e in first.examples(None, split)]
            assert as_json == [e.to_json() for e in again.examples(None, split)]
        other = get_task("dialogue_quality", seed=1, dimension=dimension).examples(300, "test")
        mine = {e.id: e.to_json() for e in first.examples(None, "train") + first.examples(None, "test")}
        assert sum(mine.get(e.id) != e.to_json() for e in other) > 150  # other exchanges, scores, degradations


DIGEST = """
import hashlib, sys
from faithex.tasks import get_task
digest = hashlib.sha256()
for dimension in ("naturalness", "comprehensiveness", "on_topic"):
    for split in ("train", "test"):
        for example in get_task("dialogue_quality", seed=0, dimension=dimension).examples(None, split):
            digest.update(example.to_json().encode())
print(digest.hexdigest())
"""


def test_same_bytes_in_another_process_with_another_hash_seed() -> None:
    """Nothing depends on set or dict order that Python randomises per process (PYTHONHASHSEED)."""
    here = hashlib.sha256()
    for dimension in DIMENSIONS:
        for part in items(dimension):  # seed 0: train, then test
            for example in part:
                here.update(example.to_json().encode())
    env = {**os.environ, "PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1"}
    there = subprocess.run([sys.executable, "-c", DIGEST], env=env, capture_output=True, text=True, check=True)
    assert there.stdout.strip() == here.hexdigest()


@pytest.mark.parametrize("split_seed", [0, 5])
def test_train_and_test_share_no_conversation_and_donors_are_used_once(split_seed: int) -> None:
    """One item per conversation, and unrelated replies come from conversations that give no item, cut into train
    and test donors with the split: so train and test share no conversation, for any split seed."""
    task = get_task("dialogue_quality", seed=0, dimension="on_topic")
    train, test = task.examples(None, "train", seed=split_seed), task.examples(None, "test", seed=split_seed)

    def conversations(part: list[Example]) -> set[str]:
        return {e.meta["conversation"] for e in part} | {e.meta["donor_conversation"] for e in part} - {None}

    assert not conversations(train) & conversations(test)
    assert len({e.meta["conversation"] for e in train + test}) == len(train + test)
    donors = [(e.meta["donor_conversation"], e.meta["donor_turn"]) for e in train + test if e.meta["donor"]]
    assert len(set(donors)) == len(donors) == sum(e.label < 4 for e in train + test)
    assert not {conversation for conversation, _ in donors} & {e.meta["conversation"] for e in train + test}
    assert len({e.input for e in train + test}) == len(train + test)
    if split_seed:  # another split seed: the same items and labels, other donors
        assert {e.id: e.label for e in train + test} == {e.id: e.label for e in every("on_topic")}


# -- meta and explanations ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_meta_scores_kind_strength_and_lengths(dimension: str) -> None:
    for e in every(dimension):
        score = e.label + 1
        assert e.meta["scores"] == {name: score if name == dimension else 5 for name in DIMENSIONS}
        assert e.meta["dimension"] == dimension and e.meta["label_name"] == str(score)
        if score == 5:
            assert e.meta["degradation"] == "none" and e.meta["strength"] == 0 and reply(e) == e.meta["reply"]
        else:
            assert e.meta["degradation"] in KINDS[dimension] and 0 < e.meta["strength"] <= 1
        assert len(e.meta["context"].split()) <= MAX_CONTEXT_WORDS
        assert MIN_REPLY_WORDS <= len(e.meta["reply"].split()) <= MAX_REPLY_WORDS
        assert context_overlap(e.meta["reply"], e.meta["context"])  # every original reply is on topic
        assert (e.meta["donor"] is not None) == (e.meta["degradation"] in ("mix", "swap"))


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_every_item_has_a_short_explanation_of_its_evidence(dimension: str) -> None:
    for e in every(dimension):
        assert e.explanation and len(e.explanation.split()) <= 25 and e.explanation.endswith(".")
        kind, degraded = e.meta["degradation"], reply(e)
        if kind == "truncate":
            assert f"after {len(degraded.split())} word" in e.explanation
        elif kind == "generic":
            assert f"only '{degraded}'" in e.explanation
        elif kind == "shuffle":
            moved = sum(a != b for a, b in zip(degraded.split(), e.meta["reply"].split()))
            assert f"{moved} of its {len(degraded.split())} words are out of place" in e.explanation
        elif kind in ("swap", "mix"):
            quoted = re.findall(r"'([^']+)'", e.explanation)
            assert quoted[-1 if kind == "swap" else 0] in content_words(e.meta["context"])
            assert quoted[0 if kind == "swap" else 1] in content_words(e.meta["donor"])
    explanations = Counter(e.explanation for e in every(dimension) if e.label == 4)
    assert len(explanations) >= 1 and all(e.explanation for e in every(dimension))


# -- each degradation moves its own dimension ... ----------------------------------------------------------------
def test_naturalness_degradations_break_word_order_more_at_lower_scores() -> None:
    degraded = [e for e in every("naturalness") if e.label < 4]
    for e in degraded:
        assert broken_pairs(reply(e), e.meta["reply"]) >= 1, e.input
    # The share of broken adjacent pairs grows as the score falls, for each kind.
    for kind in KINDS["naturalness"]:
        rates = mean_by_score(by_kind("naturalness", kind),
                              lambda e: broken_pairs(reply(e), e.meta["reply"]) / (len(reply(e).split()) - 1))
        assert rates == sorted(rates, reverse=True) and rates[0] > 2 * rates[-1], (kind, rates)


def test_comprehensiveness_degradations_cut_the_reply_more_at_lower_scores() -> None:
    for e in by_kind("comprehensiveness", "truncate"):
        words, original = reply(e).split(), e.meta["reply"].split()
        assert words == original[: len(words)] and len(words) < len(original)
        assert not re.search(r"[.!?][\"')]*$", words[-1]), e.input  # ends mid-sentence
    ratios = mean_by_score(every("comprehensiveness"), lambda e: len(reply(e).split()) / len(e.meta["reply"].split()))
    assert ratios == sorted(ratios) and ratios[0] < 0.15 and 0.55 < ratios[-1] < 0.85, ratios
    assert {reply(e) for e in by_kind("comprehensiveness", "generic")} <= set(GENERIC_REPLIES)


def test_on_topic_degradations_bring_unrelated_words_more_at_lower_scores() -> None:
    for e in every("on_topic"):
        if e.meta["donor"]:
            assert not context_overlap(e.meta["donor"], e.meta["context"])
            assert not set(content_words(e.meta["donor"])) & set(content_words(e.meta["reply"]))
    for e in every("on_topic"):  # within the length range of its score: the fallback that widens it is unused
        if e.meta["donor"]:
            shortest, longest = donor_words_wanted(Exchange(None, 0, e.meta["context"], e.meta["reply"]), e.label + 1)
            assert shortest <= len(e.meta["donor"].split()) <= longest
    for e in by_kind("on_topic", "swap"):
        assert not context_overlap(reply(e), e.meta["context"]) and foreign_share(reply(e), e.meta["reply"]) == 1
    shares = mean_by_score(every("on_topic"), lambda e: foreign_share(reply(e), e.meta["reply"]))
    assert shares == sorted(shares, reverse=True) and shares[-1] < 0.45 < shares[1], shares
    strengths = {score: [e.meta["strength"] for e in every("on_topic") if e.label + 1 == score] for score in (2, 3, 4)}
    assert max(strengths[4]) < min(strengths[3]) and max(strengths[3]) < min(strengths[2])  # no overlap


# -- ... and leaves the other two alone -------------------------------------------------------------------------
def test_naturalness_degradations_keep_content_topic_and_length() -> None:
    for e in every("naturalness"):
        degraded, original = reply(e), e.meta["reply"]
        assert set(tokens(degraded)) <= set(tokens(original))  # no new word: nothing off topic
        assert context_overlap(degraded, e.meta["context"]) == context_overlap(original, e.meta["context"])
        assert Counter(content_words(degraded)) >= Counter(content_words(original))  # every content word kept
        kind = e.meta["degradation"]
        if kind == "shuffle":
            assert sorted(degraded.split()) == sorted(original.split())
        elif kind == "repeat":
            assert len(original.split()) < len(degraded.split()) <= 1.5 * len(original.split()) + 1
        elif kind == "drop":
            removed = Counter(original.split()) - Counter(degraded.split())
            assert removed and all(bare(token) in FUNCTION_WORDS for token in removed)


def test_comprehensiveness_degradations_keep_word_order_and_bring_no_new_topic() -> None:
    for e in every("comprehensiveness"):
        degraded, original = reply(e), e.meta["reply"]
        assert broken_pairs(degraded, original, *GENERIC_REPLIES) == 0  # a prefix of the original, or a generic reply
        assert set(content_words(degraded)) <= set(content_words(original))
        assert foreign_share(degraded, original) == 0
    assert all(content_words(generic) == () for generic in GENERIC_REPLIES)


def test_on_topic_degradations_keep_fluent_complete_real_replies() -> None:
    turns = {c.id: c.turns for c in read_conversations(get_task("dialogue_quality").data.locate("dialogue_quality"))}
    for e in every("on_topic"):
        degraded, original, donor = reply(e), e.meta["reply"], e.meta["donor"]
        if donor is None:
            continue
        assert turns[e.meta["donor_conversation"]][e.meta["donor_turn"]] == donor  # a complete human turn
        if e.meta["degradation"] == "swap":
            assert degraded == donor and broken_pairs(degraded, donor) == 0
            n = len(original.split())
            assert abs(len(donor.split()) - n) <= max(1, round(0.2 * n))  # full length
        else:
            assert degraded == f"{original} {donor}"  # the original answer whole, then the drift
            assert broken_pairs(degraded, original, donor) <= 1  # only the seam between the two turns
            assert Counter(content_words(degraded)) >= Counter(content_words(original))
