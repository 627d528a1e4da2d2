"""Word attributions as objects: one `WordAttribution` per example, collected in an `AttributionResult` that shows
itself as a terminal heat map, saves to and loads from JSON, and lists each example's top words.

Texts come from datasets and models: they are printed with `rich.text.Text` and styles, never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from faithex.errors import DatasetError
from faithex.io import read_format_json, write_json

FORMAT = "faithex.attribution"
FORMAT_VERSION = 1


@dataclass
class WordAttribution:
    """Scores of the words of one example's input for one target."""

    id: str
    text: str
    """The example's input; `spans[i]` are the characters of `words[i]` in it."""
    words: list[str]
    spans: list[tuple[int, int]]
    scores: list[float]
    """One per word, in the target's units (nats of log-probability); positive: the word supports the target."""
    method: str
    target: str
    """The label whose log-probability is explained."""
    target_score: float
    """log p(target) after the prompt, minus log p(contrast) when there is a contrast label."""
    contrast: str | None = None
    """The label subtracted from the target (`contrast="runner_up"`), or None."""
    predicted: str | None = None
    gold: str | None = None
    label_scores: dict[str, float] = field(default_factory=dict)
    """Summed log-probability of every label after the prompt."""

    def top_words(self, k: int = 5) -> list[tuple[str, float]]:
        """The k words that most support the target (highest scores first; ties: earlier word first)."""
        order = sorted(range(len(self.words)), key=lambda i: (-self.scores[i], i))
        return [(self.words[i], self.scores[i]) for i in order[:k]]

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["spans"] = [list(span) for span in self.spans]
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "WordAttribution":
        known = {f.name for f in fields(cls)}
        item = cls(**{key: value for key, value in row.items() if key in known})
        item.spans = [tuple(span) for span in item.spans]
        return item

    def heat_text(self):
        """The input as a `rich.text.Text`, each word's background coloured by its score: green supports the
        target, red opposes it, the strongest word of the example at full strength."""
        from rich.text import Text

        text = Text(no_wrap=False)
        strongest = max((abs(s) for s in self.scores), default=0.0) or 1.0
        position = 0
        for (start, end), score in zip(self.spans, self.scores):
            text.append(self.text[position:start])
            text.append(self.text[start:end], style=_score_style(score / strongest))
            position = end
        text.append(self.text[position:])
        return text

    def header_text(self):
        from rich.text import Text

        versus = f" - log p({self.contrast})" if self.contrast is not None else ""
        details = [f"predicted {self.predicted}"] if self.predicted is not None else []
        details += [f"gold {self.gold}"] if self.gold is not None else []
        header = Text(self.id, style="bold")
        header.append(f"  target {self.target}: log p({self.target}){versus} = {self.target_score:.3f}")
        if details:
            header.append(f"  ({', '.join(details)})", style="dim")
        return header


def _score_style(strength: float):
    """Background from white (0) to green (+1) or red (-1), black text so every shade stays readable."""
    from rich.color import Color
    from rich.style import Style

    strength = max(-1.0, min(1.0, strength))
    fade = int(round(255 * (1 - abs(strength))))
    rgb = (fade, 255, fade) if strength >= 0 else (255, fade, fade)
    return Style(color="black", bgcolor=Color.from_rgb(*rgb))


@dataclass
class AttributionResult:
    """Word attributions of several examples with one method, and how they were made (`meta`)."""

    attributions: list[WordAttribution]
    meta: dict[str, Any] = field(default_factory=dict)
    """Method, options, target, contrast, task, model, seconds per example..."""

    def __len__(self) -> int:
        return len(self.attributions)

    def __iter__(self) -> Iterator[WordAttribution]:
        return iter(self.attributions)

    def __getitem__(self, key: int | str) -> WordAttribution:
        """By position or by example id."""
        if isinstance(key, str):
            for item in self.attributions:
                if item.id == key:
                    return item
            raise KeyError(key)
        return self.attributions[key]

    def top_words(self, k: int = 5) -> dict[str, list[tuple[str, float]]]:
        """Example id -> its k words that most support the target."""
        return {item.id: item.top_words(k) for item in self.attributions}

    def show(self, console=None, top: int = 3) -> None:
        """Print every example as a heat map (and its `top` best words) to `console` (default: stdout)."""
        from rich.console import Console
        from rich.text import Text

        console = console or Console(markup=False, highlight=False, emoji=False)
        method = self.meta.get("method") or (self.attributions[0].method if self.attributions else "")
        console.print(Text(f"word attribution: {method}; green supports the target label, red opposes it",
                           style="dim"))
        for item in self.attributions:
            console.print(item.header_text())
            console.print(item.heat_text())
            if top and item.words:
                best = ", ".join(f"{word} ({score:+.3f})" for word, score in item.top_words(top))
                console.print(Text(f"top: {best}", style="dim"))
            console.print()

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": FORMAT_VERSION, "meta": self.meta,
                "attributions": [item.to_dict() for item in self.attributions]}

    def save(self, path: str | Path) -> None:
        """Write the result as JSON, atomically (a reader sees the old file or the new one)."""
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "AttributionResult":
        data = read_format_json(path, FORMAT, FORMAT_VERSION, "an attribution file")
        try:
            items = [WordAttribution.from_dict(row) for row in data["attributions"]]
        except (KeyError, TypeError) as error:
            raise DatasetError(f"{path}: a malformed attribution entry ({error})") from None
        return cls(items, data.get("meta") or {})

    def to_frame(self):
        """A pandas DataFrame with one row per word: id, position, word, start, end, score, method, target."""
        import pandas as pd

        rows = [{"id": item.id, "position": i, "word": word, "start": start, "end": end, "score": score,
                 "method": item.method, "target": item.target}
                for item in self.attributions
                for i, (word, (start, end), score) in enumerate(zip(item.words, item.spans, item.scores))]
        return pd.DataFrame(rows, columns=["id", "position", "word", "start", "end", "score", "method", "target"])
