"""Words of an input text, with character offsets, and how tokens and removals map onto them.

A word is a URL, a run of word characters (letters, digits, underscore; unicode-aware) with internal apostrophes or
hyphens ("can't", "cover-up") and an optional leading `@` or `#` ("@united", "#happy"), or a run of other
non-space characters ("!!!", ":", "😀"). Every non-space character belongs to exactly one word, so a word's span
(start, end) can be highlighted or redacted in the original text.

For attribution the input is also cut into *segments* that tile it without gaps: a word owns the whitespace before
it (the first word: any whitespace at the start; the last word: any whitespace at the end). Tokens are mapped to
words by the characters they share with the segments, so every token of the input, whitespace tokens included,
counts towards exactly one word (a token straddling two segments is split by its characters). Removing a word
removes its segment; when the first word is removed, the whitespace that followed it goes with it ("I love it"
without "I" is "love it", without "love" is "I it").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

WORD_PATTERN = re.compile(r"https?://\S+|[@#]?\w+(?:['’\-]\w+)*|[^\w\s]+")

Span = tuple[int, int]


@dataclass(frozen=True)
class Words:
    """The words of `text` (see the module docstring) and the operations attribution needs on them."""

    text: str
    spans: tuple[Span, ...]

    @classmethod
    def split(cls, text: str, pattern: re.Pattern[str] = WORD_PATTERN) -> "Words":
        return cls(text, tuple(match.span() for match in pattern.finditer(text)))

    def __len__(self) -> int:
        return len(self.spans)

    @property
    def words(self) -> list[str]:
        return [self.text[start:end] for start, end in self.spans]

    @cached_property
    def segments(self) -> tuple[Span, ...]:
        """Spans that tile the text: word i with the whitespace before it; the ends go to the first and last word."""
        if not self.spans:
            return ()
        starts = [0] + [end for _, end in self.spans[:-1]]
        ends = [end for _, end in self.spans[:-1]] + [len(self.text)]
        return tuple(zip(starts, ends))

    # -- removal (leave-one-out, feature ablation) -------------------------------------------------------------------
    @cached_property
    def _pieces(self) -> tuple[str, tuple[str, ...], str]:
        """(leading whitespace, one piece per word, trailing whitespace): piece 0 is the first word alone, piece i
        the whitespace before word i and the word. `compose` glues them back."""
        if not self.spans:
            return self.text, (), ""
        first_start, last_end = self.spans[0][0], self.spans[-1][1]
        pieces = [self.text[first_start:self.spans[0][1]]]
        pieces += [self.text[previous_end:end] for (_, previous_end), (_, end) in zip(self.spans, self.spans[1:])]
        return self.text[:first_start], tuple(pieces), self.text[last_end:]

    @property
    def pieces(self) -> tuple[str, ...]:
        return self._pieces[1]

    def compose(self, pieces: Sequence[str]) -> str:
        """The text rebuilt from `pieces` (some replaced by "" to remove those words). Whitespace left in front of
        the first remaining word is dropped, so removing the first word also removes the space after it; with all
        pieces kept, the original text comes back exactly."""
        leading, _, trailing = self._pieces
        return leading + "".join(pieces).lstrip() + trailing

    def without(self, index: int) -> str:
        """The text with word `index` removed (see `compose`)."""
        pieces = list(self.pieces)
        pieces[index] = ""
        return self.compose(pieces)

    # -- tokens -> words ---------------------------------------------------------------------------------------------
    def token_weights(self, offsets: Sequence[Span], text_start: int) -> list[tuple[int, int, float]]:
        """(token index, word index, weight) for every token that overlaps the text, where the text starts at
        character `text_start` of the string the offsets refer to. The weight is the share of the token's
        characters that lie in the word's segment; a zero-width token (some tokenizers give byte pieces empty
        offsets) counts as covering the character it starts at."""
        triples = []
        shifted = [(start + text_start, end + text_start) for start, end in self.segments]
        for token, (start, end) in enumerate(offsets):
            end = max(end, start + 1)
            for word, (segment_start, segment_end) in enumerate(shifted):
                overlap = min(end, segment_end) - max(start, segment_start)
                if overlap > 0:
                    triples.append((token, word, overlap / (end - start)))
        return triples
