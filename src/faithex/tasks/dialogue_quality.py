"""`dialogue_quality`: paper 2's task, rating one reply of a chat on naturalness, comprehensiveness or on-topic
adherence (1-5), with labels built from controlled degradations of real replies.

Paper 2's labels come from teacher LLMs that are not available here. Instead each item is a real exchange from the
Chit Chat Challenge (PyPI `chitchat-dataset` 0.9.0, MIT: ~7k conversations between two people) whose reply is
degraded on purpose, by a kind of degradation that belongs to one dimension and a strength that sets its score:

- naturalness: words shuffled, repeated right after themselves, or small function words dropped (at 4 rates);
- comprehensiveness: the reply cut off mid-sentence (keeping 70 %, 45 % or 20 % of its words), or replaced by a
  generic reply ("ok", "lol", "I don't know");
- on_topic: an unrelated real reply from another conversation appended (a quarter, half or two thirds of the words)
  or swapped in for the whole reply (score 1).

Score 5 is the original reply. A degradation leaves the other two dimensions at 5 and is built not to disturb them:
naturalness degradations keep every content word (and so the topic and the information); comprehensiveness
degradations keep word order and bring no new words; on-topic ones keep fluent, complete human turns of matched
length. `tests/test_dialogue_quality.py` measures these proxies; sizes and limits are in `docs/tasks.md`.

An item is one (message, reply) pair per conversation, written `A: <message>\\nB: <reply>`. The unrelated replies come
from conversations that give no item, cut into train and test donors along with the items' split: train and test
never share a conversation.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from faithex.errors import ConfigError, DatasetError
from faithex.tasks.registry import register_task
from faithex.tasks.splits import Row, StratifiedSplits, check_split, check_test_fraction
from faithex.tasks.text import PackagedData, PackagedTextTask, listed, squeeze

DIMENSIONS = ("naturalness", "comprehensiveness", "on_topic")
SCORES = ("1", "2", "3", "4", "5")
CLEAN = 5

# -- which exchanges become items (numbers in whitespace-separated words) -----------------------------------------
MIN_CONTEXT_WORDS, MAX_CONTEXT_WORDS = 2, 60
#: At least 6 words, so that every strength of every degradation changes a different number of words.
MIN_REPLY_WORDS, MAX_REPLY_WORDS = 6, 30
#: Unrelated replies: complete turns with some topic of their own (at least 2 distinct content words).
MIN_DONOR_WORDS, MAX_DONOR_WORDS, MIN_DONOR_CONTENT = 3, 60, 2

# -- strengths, indexed by level 1..4 (= score 4..1) -------------------------------------------------------------
#: Naturalness: the fraction of the reply's words moved (shuffle) or doubled (repeat), or of its function words
#: removed (drop). At least `level (+1 for shuffle)` words are touched, so a lower score always touches more.
NATURALNESS_RATES = {
    "shuffle": (0.2, 0.4, 0.7, 1.0),
    "repeat": (0.1, 0.2, 0.35, 0.5),
    "drop": (0.25, 0.5, 0.75, 1.0),
}
#: `drop` needs this many function words in the reply (else another naturalness kind is drawn).
MIN_FUNCTION_WORDS = 4
#: Comprehensiveness, scores 4, 3, 2: the fraction of the words kept (score 1: a generic reply).
TRUNCATION_KEEP = {4: 0.7, 3: 0.45, 2: 0.2}
#: On-topic, scores 4, 3, 2: the range of the share of the final reply's words that come from the unrelated reply
#: (about a quarter, a half, two thirds; the ranges do not overlap). Score 1: all of them (a swap).
MIX_SHARE = {4: (0.15, 0.4), 3: (0.42, 0.58), 2: (0.62, 0.75)}
#: A swapped-in reply is as long as the original within this fraction (at least one word either way).
SWAP_LENGTH_TOLERANCE = 0.2

#: Generic replies: vacuous, natural, and made of stopwords only (no topic of their own).
GENERIC_REPLIES = (
    "ok", "lol", "yeah", "haha", "cool", "sure", "idk", "nice", "I don't know", "hmm", "oh ok", "lol yeah"
)

#: Function words: what `drop` removes (dropping them keeps every content word, hence the topic and the answer).
FUNCTION_WORDS = frozenset(
    """a an the to of in on at for with from by about as into and or but so that is am are was were be been do
    does did have has had will would can could should it this i you we they he she my your our their his her its
    me them us him""".split()
)
#: Not counted as content words (apostrophes removed: "don't" is "dont"): function words, other frequent words
#: and chat fillers. Content words decide topic overlap in the filters, the explanations and the tests.
STOPWORDS = FUNCTION_WORDS | frozenset(
    """all also any anything are aren around back because before being both cant come could couldnt did didnt
    doesnt doing dont down each else even ever every few get gets getting go goes going gonna good got great had
    hadnt hasnt have havent having here hers how however id ill im isnt ive just know lets like lot lots make many
    maybe mine more most much must never next nice no nor not now off once one only other out over own pretty
    probably quite really right same say says see she shes should shouldnt some something still such sure than
    thanks thank thats then there theres these they theyre thing things think those though through too very want
    wanna wasnt way well went werent what whats when where which while who whom why wont would wouldnt yes yet
    youre youll youve yours actually always definitely kind sort yeah yep yup nope okay ok oh ohh um uh umm hmm
    hmmm lol lmao haha hahaha hehe hi hello hey cool idk omg wow ya yea cause gotta everything everyone everybody
    anyone anybody someone somebody nothing nobody anyway seen saw said told made done take took give gave put use
    used let feel felt tell keep try trying need needs look looks hows whos wheres far""".split()
)

#: Chat fillers in their stretched spellings ("hahahah", "lolol", "hmmm", "sooo"), which no stopword list can hold.
_FILLER = re.compile(r"(?:a?h+a+)+h*|(?:h+e+)+h*|l+o+l+[lo]*|lmf?a+o+|h+m+|u+m+|u+h+|o+h+|a+h+|w+o+w+|y+e*a+h*|s+o+|o+k+")
_SENTENCE_END = re.compile(r"[.!?][\"')]*$")
_WORD = re.compile(r"[a-z0-9']+")
#: Mixed into the seeds: each random choice has its own stream, so changing one leaves the others as they were.
_PAIR_STREAM, _SCORE_STREAM, _DEGRADE_STREAM, _DONOR_STREAM, _DONOR_SPLIT_STREAM = range(0xD1A1, 0xD1A6)


# -- words -------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1 << 18)  # every turn is read as a message and as a reply: compute its words once
def content_words(text: str) -> tuple[str, ...]:
    """Lower-cased words of at least 3 letters that are not stopwords, in order (apostrophes removed)."""
    words = [match.replace("'", "") for match in _WORD.findall(text.lower())]
    return tuple(
        word
        for word in words
        if len(word) >= 3 and word not in STOPWORDS and word.isalpha() and not _FILLER.fullmatch(word)
    )


def bare(token: str) -> str:
    """A whitespace token lower-cased, with everything but letters and digits removed ("Don't," -> "dont")."""
    return re.sub(r"[^a-z0-9]", "", token.lower())


def quoted(token: str) -> str:
    """A token as an explanation quotes it: surrounding punctuation stripped."""
    return "'" + token.strip(".,!?;:\"'()[]*-~") + "'"


def topic_words(text: str, count: int, frequency: Mapping[str, int]) -> list[str]:
    """The `count` rarest distinct content words of `text` (fewest turns of the corpus use them; the first one
    breaks ties): the words that say what it is about."""
    distinct = list(dict.fromkeys(content_words(text)))
    return sorted(distinct, key=lambda word: frequency.get(word, 0))[:count]


def and_list(items: Sequence[str]) -> str:
    """('a', 'b', 'c') -> 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def quote_list(words: Sequence[str]) -> str:
    return and_list([f"'{word}'" for word in words])


# -- the data ------------------------------------------------------------------------------------------------------
class Conversation(NamedTuple):
    id: str  # the key in dataset.json (a UUID)
    index: int  # its position in the file: seeds each conversation's own random stream
    prompt: str | None  # the conversation starter the two people were shown (absent for 239)
    turns: tuple[str, ...]  # one text per speaker turn: its messages joined by spaces


@lru_cache(maxsize=2)
def read_conversations(path: Path) -> tuple[Conversation, ...]:
    """Every conversation of the package's `dataset.json`, in file order, turns cleaned (whitespace squeezed)."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path}: cannot read the conversations ({error})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected an object of conversations, got {type(data).__name__}")
    return tuple(_conversation(path, index, key, value) for index, (key, value) in enumerate(data.items()))


def _conversation(path: Path, index: int, key: str, value: Any) -> Conversation:
    try:
        turns = tuple(squeeze(" ".join(message["text"] for message in turn)) for turn in value["messages"])
    except (KeyError, TypeError, AttributeError):
        raise DatasetError(f"{path}: conversation {key!r} has no readable 'messages'") from None
    return Conversation(key, index, value.get("prompt"), turns)


class Exchange(NamedTuple):
    """A message and the reply that follows it: the clean item of one conversation."""

    conversation: Conversation
    turn: int  # index of the reply turn (the message is turn - 1)
    context: str
    reply: str


class Donor(NamedTuple):
    """A complete turn of a conversation that gives no item: the unrelated reply of the on-topic degradations."""

    conversation: Conversation
    turn: int
    text: str


def eligible_exchanges(conversation: Conversation) -> tuple[Exchange, ...]:
    """The (message, reply) pairs within the length limits whose reply shares a content word with the message
    (so that the original reply is measurably on topic)."""
    found = []
    for turn in range(1, len(conversation.turns)):
        context, reply = conversation.turns[turn - 1], conversation.turns[turn]
        if not MIN_CONTEXT_WORDS <= len(context.split()) <= MAX_CONTEXT_WORDS:
            continue
        if not MIN_REPLY_WORDS <= len(reply.split()) <= MAX_REPLY_WORDS:
            continue
        if set(content_words(context)) & set(content_words(reply)):
            found.append(Exchange(conversation, turn, context, reply))
    return tuple(found)


class Corpus(NamedTuple):
    """What every seed and dimension shares, computed once per data file."""

    conversations: tuple[Conversation, ...]
    eligible: tuple[tuple[Exchange, ...], ...]  # per conversation (empty: the conversation gives no item)
    donors: tuple[Donor, ...]
    frequency: Counter  # content word -> number of turns that use it (rare words name a topic)


@lru_cache(maxsize=2)
def read_corpus(path: Path) -> Corpus:
    conversations = read_conversations(path)
    eligible = tuple(eligible_exchanges(conversation) for conversation in conversations)
    frequency: Counter = Counter()
    for conversation in conversations:
        for text in conversation.turns:
            frequency.update(set(content_words(text)))
    donors = donor_pool(conversation for conversation, found in zip(conversations, eligible) if not found)
    return Corpus(conversations, eligible, tuple(donors), frequency)


def choose_exchanges(corpus: Corpus, seed: int) -> list[Exchange]:
    """One seeded eligible exchange per conversation that has one, in file order; an exchange whose text repeats
    one already chosen is left out (so no input is in two items)."""
    chosen, seen = [], set()
    for conversation, candidates in zip(corpus.conversations, corpus.eligible):
        if not candidates:
            continue
        rng = np.random.default_rng([seed, _PAIR_STREAM, conversation.index])
        exchange = candidates[int(rng.integers(len(candidates)))]
        if (exchange.context, exchange.reply) not in seen:
            seen.add((exchange.context, exchange.reply))
            chosen.append(exchange)
    return chosen


def donor_pool(conversations: Iterable[Conversation]) -> list[Donor]:
    """Turns of the conversations without any eligible exchange (never items, whatever the seed), long enough and
    with a topic of their own; each text once."""
    pool, seen = [], set()
    for conversation in conversations:
        for turn, text in enumerate(conversation.turns):
            words = len(text.split())
            has_topic = len(set(content_words(text))) >= MIN_DONOR_CONTENT
            if MIN_DONOR_WORDS <= words <= MAX_DONOR_WORDS and has_topic and text not in seen:
                seen.add(text)
                pool.append(Donor(conversation, turn, text))
    return pool


def balanced_scores(count: int, seed: int) -> list[int]:
    """Scores 1..5 for `count` items, each score `count / 5` times (give or take one), in a seeded order."""
    order = np.random.default_rng([seed, _SCORE_STREAM]).permutation(count)
    return [int(position) % len(SCORES) + 1 for position in order]


# -- degradations ------------------------------------------------------------------------------------------------
class Degraded(NamedTuple):
    reply: str
    kind: str  # "none", "shuffle", "repeat", "drop", "truncate", "generic", "mix", "swap"
    strength: float  # 0 (clean) .. 1: the fraction of the reply the degradation touched (see `meta` in the docs)
    explanation: str
    donor: Donor | None = None


def shared_topic(exchange: Exchange, frequency: Mapping[str, int]) -> str:
    """The rarest content word the reply shares with the message (every item's reply has one)."""
    in_context = set(content_words(exchange.context))
    return next(word for word in topic_words(exchange.reply, MAX_REPLY_WORDS, frequency) if word in in_context)


def clean(exchange: Exchange, dimension: str, frequency: Mapping[str, int]) -> Degraded:
    if dimension == "naturalness":
        text = "The reply reads as fluent chat: natural word order, nothing repeated or missing."
    elif dimension == "comprehensiveness":
        text = f"The reply is complete: all {len(exchange.reply.split())} words of a full answer, nothing cut off."
    else:
        text = f"The reply stays on the message's topic: both talk about '{shared_topic(exchange, frequency)}'."
    return Degraded(exchange.reply, "none", 0.0, text)


def interior_function_words(words: Sequence[str]) -> list[int]:
    """Positions of function words that are neither first nor last (dropping an end word leaves real text)."""
    return [i for i in range(1, len(words) - 1) if bare(words[i]) in FUNCTION_WORDS]


def naturalness_kinds(reply: str) -> list[str]:
    """The naturalness degradations that apply to `reply` (`drop` needs enough function words)."""
    enough = len(interior_function_words(reply.split())) >= MIN_FUNCTION_WORDS
    return ["shuffle", "repeat"] + (["drop"] if enough else [])


def breaks_order(out: Sequence[str], words: Sequence[str]) -> bool:
    """Whether `out` has two adjacent words that are not adjacent anywhere in `words` (case ignored): the visible
    mark of a naturalness degradation (doubling a word already doubled, or rotating equal words, leaves none)."""
    pairs = set(zip(map(str.lower, words), map(str.lower, words[1:])))
    return any(pair not in pairs for pair in zip(map(str.lower, out), map(str.lower, out[1:])))


def visibly(draw: Callable[[], tuple[list[str], Any]], words: Sequence[str]) -> tuple[list[str], Any]:
    """`draw()` again (20 times at most) until what it returns breaks the word order of `words`."""
    for _ in range(20):
        out, detail = draw()
        if breaks_order(out, words):
            break
    return out, detail


def shuffle_words(words: list[str], level: int, rng: np.random.Generator) -> Degraded:
    """Rotate the words at randomly chosen positions along a random cycle: the same multiset, broken order."""
    n = len(words)
    count = min(n, max(level + 1, round(NATURALNESS_RATES["shuffle"][level - 1] * n)))

    def draw() -> tuple[list[str], int]:
        positions = [int(p) for p in rng.permutation(n)[:count]]
        out = list(words)
        for i, position in enumerate(positions):
            out[position] = words[positions[i - 1]]
        return out, sum(a != b for a, b in zip(out, words))

    out, moved = visibly(draw, words)
    text = f"The reply's word order is scrambled: {moved} of its {n} words are out of place."
    return Degraded(" ".join(out), "shuffle", moved / n, text)


def repeat_words(words: list[str], level: int, rng: np.random.Generator) -> Degraded:
    """Double randomly chosen words in place ("I I went to the the store"): only repeated words are added."""
    n = len(words)
    wordy = [i for i, token in enumerate(words) if bare(token)]
    count = min(len(wordy), max(level, round(NATURALNESS_RATES["repeat"][level - 1] * n)))

    def draw() -> tuple[list[str], list[int]]:
        doubled = sorted(wordy[int(i)] for i in rng.permutation(len(wordy))[:count])
        return [copy for i, token in enumerate(words) for copy in [token] * (1 + (i in doubled))], doubled

    out, doubled = visibly(draw, words)
    examples = [quoted(words[i]) for i in doubled]
    if count <= 3:
        text = f"The reply stutters: it repeats {and_list(examples)} right after themselves."
        text = text.replace("themselves", "itself") if count == 1 else text
    else:
        text = f"The reply stutters: {count} words, such as {examples[0]} and {examples[1]}, come twice in a row."
    return Degraded(" ".join(out), "repeat", count / n, text)


def drop_function_words(words: list[str], level: int, rng: np.random.Generator) -> Degraded:
    """Remove randomly chosen function words inside the reply: every content word stays, the sentence falls apart."""
    function = interior_function_words(words)
    count = min(len(function), max(level, round(NATURALNESS_RATES["drop"][level - 1] * len(function))))

    def draw() -> tuple[list[str], list[int]]:
        dropped = sorted(function[int(i)] for i in rng.permutation(len(function))[:count])
        return [token for i, token in enumerate(words) if i not in dropped], dropped

    out, dropped = visibly(draw, words)
    names = list(dict.fromkeys(quoted(words[i]) for i in dropped))[:2]
    noun = "small word" if count == 1 else "small words"
    text = f"The reply leaves out {count} {noun} such as {and_list(names)}, so it reads like broken notes."
    return Degraded(" ".join(out), "drop", count / len(function), text)


NATURALNESS: dict[str, Callable[[list[str], int, np.random.Generator], Degraded]] = {
    "shuffle": shuffle_words,
    "repeat": repeat_words,
    "drop": drop_function_words,
}


def degrade_naturalness(exchange: Exchange, score: int, rng: np.random.Generator) -> Degraded:
    kinds = naturalness_kinds(exchange.reply)
    kind = kinds[int(rng.integers(len(kinds)))]
    return NATURALNESS[kind](exchange.reply.split(), CLEAN - score, rng)


def truncate(words: list[str], score: int) -> Degraded:
    """The first words of the reply, cut where no sentence ends (so it visibly breaks off)."""
    n = len(words)
    target = min(n - 1, max(1, round(TRUNCATION_KEEP[score] * n)))
    # The nearest cut (fewer words first) after a word that does not end a sentence.
    cuts = sorted(range(1, n), key=lambda keep: (abs(keep - target), keep))
    keep = next((keep for keep in cuts if not _SENTENCE_END.search(words[keep - 1])), target)
    words_kept = f"{keep} word{'s' if keep > 1 else ''}"
    text = f"The reply breaks off mid-sentence after {words_kept}, leaving its point unfinished."
    return Degraded(" ".join(words[:keep]), "truncate", 1 - keep / n, text)


def generic_reply(rng: np.random.Generator) -> Degraded:
    reply = GENERIC_REPLIES[int(rng.integers(len(GENERIC_REPLIES)))]
    return Degraded(reply, "generic", 1.0, f"The reply is only '{reply}', which says nothing the message asked for.")


def degrade_comprehensiveness(exchange: Exchange, score: int, rng: np.random.Generator) -> Degraded:
    return generic_reply(rng) if score == 1 else truncate(exchange.reply.split(), score)


def mix(exchange: Exchange, donor: Donor, frequency: Mapping[str, int]) -> Degraded:
    """The original reply, then an unrelated complete turn: on topic at first, then off."""
    n_reply, n_donor = len(exchange.reply.split()), len(donor.text.split())
    off = quote_list(topic_words(donor.text, 1, frequency))
    text = (
        f"The reply starts on '{shared_topic(exchange, frequency)}' like the message, then drifts to unrelated {off} "
        f"for {n_donor} of its {n_reply + n_donor} words."
    )
    return Degraded(f"{exchange.reply} {donor.text}", "mix", n_donor / (n_reply + n_donor), text, donor)


def swap(exchange: Exchange, donor: Donor, frequency: Mapping[str, int]) -> Degraded:
    """A whole unrelated reply in place of the original one."""
    about = quote_list(topic_words(donor.text, 2, frequency))
    asked = quote_list(topic_words(exchange.context, 1, frequency))
    text = f"The reply is about {about} while the message is about {asked}."
    return Degraded(donor.text, "swap", 1.0, text, donor)


def donor_words_wanted(exchange: Exchange, score: int) -> tuple[int, int]:
    """The (shortest, longest) unrelated reply, in words, that an on-topic degradation of `score` can use."""
    n = len(exchange.reply.split())
    if score == 1:  # a swap: a full-length reply, about as long as the original
        tolerance = max(1, round(SWAP_LENGTH_TOLERANCE * n))
        return max(MIN_DONOR_WORDS, n - tolerance), n + tolerance
    low, high = MIX_SHARE[score]  # share = d / (n + d)  <=>  d = n * share / (1 - share)
    return max(MIN_DONOR_WORDS, math.ceil(n * low / (1 - low))), math.floor(n * high / (1 - high))


class DonorAssigner:
    """Hands out the unrelated replies of one pool without replacement: each donor text goes into one item at most,
    so that no off-topic sentence recurs for a model to memorise."""

    def __init__(self, pool: Sequence[Donor], rng: np.random.Generator) -> None:
        self.rng = rng
        self.by_length: dict[int, list[int]] = {}
        self.pool = list(pool)
        for i, donor in enumerate(self.pool):
            self.by_length.setdefault(len(donor.text.split()), []).append(i)
        self.used: set[int] = set()
        self.content = [set(content_words(donor.text)) for donor in self.pool]

    def take(self, exchange: Exchange, shortest: int, longest: int) -> Donor:
        """An unused donor of `shortest`..`longest` words from a conversation with another starter prompt that
        shares no content word with the message or the reply (chosen at random among all that qualify). When none
        is left the range grows by a word at each end, twice (a fallback: the packaged data never needs it for
        the seeds tried, 0-5, with two split seeds each)."""
        avoid = set(content_words(exchange.context)) | set(content_words(exchange.reply))
        prompt = exchange.conversation.prompt
        for widen in (0, 1, 2):
            candidates = [
                i
                for length in range(max(shortest - widen, MIN_DONOR_WORDS), longest + widen + 1)
                for i in self.by_length.get(length, [])
                if i not in self.used
                and not (self.content[i] & avoid)
                and (prompt is None or self.pool[i].conversation.prompt != prompt)
            ]
            if candidates:
                chosen = candidates[int(self.rng.integers(len(candidates)))]
                self.used.add(chosen)
                return self.pool[chosen]
        raise DatasetError(
            f"no unrelated reply of {shortest}-{longest} words is left for conversation {exchange.conversation.id}"
        )


def split_donors(donors: Sequence[Donor], split_seed: int, test_fraction: float) -> dict[str, list[Donor]]:
    """The donors cut into a train and a test pool by conversation (seeded like the items' split), so that an item
    and its unrelated reply always come from the same part."""
    conversations = list(dict.fromkeys(donor.conversation.id for donor in donors))
    order = np.random.default_rng([split_seed, _DONOR_SPLIT_STREAM]).permutation(len(conversations))
    test = {conversations[i] for i in order[: math.floor(len(conversations) * test_fraction + 0.5)]}
    return {
        "train": [donor for donor in donors if donor.conversation.id not in test],
        "test": [donor for donor in donors if donor.conversation.id in test],
    }


def degrade_on_topic(
    exchanges: Sequence[Exchange],
    scores: Sequence[int],
    parts: Sequence[str],
    corpus: Corpus,
    seeds: tuple[int, int],
    test_fraction: float,
) -> list[Degraded]:
    """The on-topic degradations of every item at once: each item takes an unused donor of its own part (`parts[i]`
    is "train" or "test"). `seeds`: (task seed, split seed)."""
    rng = np.random.default_rng([*seeds, _DONOR_STREAM])
    pools = split_donors(corpus.donors, seeds[1], test_fraction)
    assigners = {part: DonorAssigner(pool, rng) for part, pool in pools.items()}
    wanted = {i: donor_words_wanted(exchanges[i], score) for i, score in enumerate(scores) if score < CLEAN}
    # Longest needs first: long turns are the scarce ones.
    order = sorted(wanted, key=lambda i: (-wanted[i][1], exchanges[i].conversation.index))
    out: dict[int, Degraded] = {}
    for i in order:
        donor = assigners[parts[i]].take(exchanges[i], *wanted[i])
        out[i] = (swap if scores[i] == 1 else mix)(exchanges[i], donor, corpus.frequency)
    return [out.get(i) or clean(exchange, "on_topic", corpus.frequency) for i, exchange in enumerate(exchanges)]


def degrade(
    exchanges: Sequence[Exchange], scores: Sequence[int], dimension: str, corpus: Corpus, seed: int
) -> list[Degraded]:
    """The reply of every item degraded on `dimension` (naturalness or comprehensiveness) to its score."""
    degrade_one = degrade_naturalness if dimension == "naturalness" else degrade_comprehensiveness
    out = []
    for exchange, score in zip(exchanges, scores):
        if score == CLEAN:
            out.append(clean(exchange, dimension, corpus.frequency))
            continue
        rng = np.random.default_rng([seed, _DEGRADE_STREAM, DIMENSIONS.index(dimension), exchange.conversation.index])
        out.append(degrade_one(exchange, score, rng))
    return out


def render(context: str, reply: str) -> str:
    return f"A: {context}\nB: {reply}"


INSTRUCTIONS = {
    "naturalness": "Rate the naturalness of B's reply from 1 (broken) to 5 (natural).",
    "comprehensiveness": "Rate the comprehensiveness of B's reply from 1 (empty or cut off) to 5 (complete).",
    "on_topic": "Rate how well B's reply stays on the topic of A's message from 1 (unrelated) to 5 (on topic).",
}
SYSTEM_INSTRUCTIONS = {
    "naturalness": (
        "You rate the reply B gives to A's message in a casual chat. Naturalness is whether it reads like fluent "
        "human chat: 5 means natural word order with nothing repeated or missing, 1 means scrambled, stuttering or "
        "broken words. Answer with one digit from 1 to 5."
    ),
    "comprehensiveness": (
        "You rate the reply B gives to A's message in a casual chat. Comprehensiveness is whether the reply is a "
        "complete answer: 5 means a full reply, 1 means an empty filler such as 'ok' or a reply cut off after a "
        "word or two. Answer with one digit from 1 to 5."
    ),
    "on_topic": (
        "You rate the reply B gives to A's message in a casual chat. On-topic adherence is whether the reply talks "
        "about what the message is about: 5 means entirely on topic, 1 means about something unrelated. Answer with "
        "one digit from 1 to 5."
    ),
}


@register_task("dialogue_quality")
class DialogueQualityTask(PackagedTextTask):
    """Paper 2: rate a chat reply 1-5 on naturalness, comprehensiveness or on_topic (degraded Chit Chat replies)."""

    data = PackagedData("chitchat-dataset", "chitchat_dataset", "0.9.0", "dataset.json")
    label_names = SCORES
    labels = tuple(range(len(SCORES)))
    scale = tuple(float(score) for score in SCORES)  # ordinal: the metrics add the mean absolute error

    def __init__(self, seed: int = 0, dimension: str = "naturalness", test_fraction: float = 0.2) -> None:
        if dimension not in DIMENSIONS:
            raise ConfigError(f"parameter 'dimension' must be {listed(DIMENSIONS)}, got {dimension!r}")
        test_fraction = check_test_fraction(test_fraction)
        super().__init__(seed, dimension=dimension, test_fraction=test_fraction)
        self.dimension, self.test_fraction = dimension, test_fraction
        self.instruction = INSTRUCTIONS[dimension]
        self.system_instruction = SYSTEM_INSTRUCTIONS[dimension]
        self._rows_by_split_seed: dict[int, list[Row]] = {}

    @cached_property
    def _scored(self) -> tuple[Corpus, list[Exchange], list[int]]:
        """The corpus, one exchange per conversation and the balanced scores: fixed by the task seed."""
        corpus = read_corpus(self.data.locate(self.name))
        exchanges = choose_exchanges(corpus, self.seed)
        return corpus, exchanges, balanced_scores(len(exchanges), self.seed)

    @cached_property
    def _stratified_splits(self) -> StratifiedSplits:
        return StratifiedSplits([score - 1 for score in self._scored[2]], self.test_fraction)

    def read_rows(self, path: Path) -> list[Row]:
        """The items as the task seed's own split sees them (`rows_for(self.seed)`)."""
        return self.rows_for(self.seed)

    def rows_for(self, split_seed: int) -> list[Row]:
        """Every item, degraded. The labels depend on the task seed only; on-topic items also depend on the split
        seed, because their unrelated replies come from donor conversations of their own part."""
        if self.dimension != "on_topic":
            split_seed = self.seed  # nothing depends on the split
        if split_seed not in self._rows_by_split_seed:
            self._rows_by_split_seed[split_seed] = self._degraded_rows(split_seed)
        return self._rows_by_split_seed[split_seed]

    def _degraded_rows(self, split_seed: int) -> list[Row]:
        corpus, exchanges, scores = self._scored
        if self.dimension == "on_topic":
            test = set(self._stratified_splits.rows("test", split_seed))
            parts = ["test" if i in test else "train" for i in range(len(exchanges))]
            seeds = (self.seed, split_seed)
            degraded = degrade_on_topic(exchanges, scores, parts, corpus, seeds, self.test_fraction)
        else:
            degraded = degrade(exchanges, scores, self.dimension, corpus, self.seed)
        return [self._row(e, s, d) for e, s, d in zip(exchanges, scores, degraded)]

    def _split_rows(self, split: str, seed: int) -> tuple[list[Row], list[int]]:
        check_split(split)
        return self.rows_for(seed), self._stratified_splits.rows(split, seed)

    def _row(self, exchange: Exchange, score: int, degraded: Degraded) -> Row:
        donor = degraded.donor
        meta = {
            "conversation": exchange.conversation.id,
            "turn": exchange.turn,
            "prompt": exchange.conversation.prompt,
            "dimension": self.dimension,
            "degradation": degraded.kind,
            "strength": round(degraded.strength, 4),
            "scores": {name: score if name == self.dimension else CLEAN for name in DIMENSIONS},
            "context": exchange.context,
            "reply": exchange.reply,
            "donor": None if donor is None else donor.text,
            "donor_conversation": None if donor is None else donor.conversation.id,
            "donor_turn": None if donor is None else donor.turn,
        }
        text = render(exchange.context, degraded.reply)
        return Row(f"{self.name}-{exchange.conversation.id}", text, score - 1, degraded.explanation, meta)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dimension": self.dimension}
