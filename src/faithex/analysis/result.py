"""`LayerAnalysis`: what the logit lens found at the decision position, layer by layer (inseq-like result object).

Plain Python numbers only (no torch): a saved analysis loads, shows, compares and plots without loading a model.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from faithex.errors import ConfigError, DatasetError

FORMAT = "faithex.layer_analysis"
VERSION = 1

#: What each per-layer value is; stored in every saved analysis so a JSON file explains itself.
DEFINITIONS = {
    "decision_position": "the last prompt token (the assistant header's end), whose next-token distribution "
                         "predicts the first token of the label",
    "logit_lens": "logits_l = lm_head(final_norm(h_l)) for layers l < L; lm_head(h_L) for the last layer (the model's "
                  "own logits); h_l is the residual stream after decoder layer l (embeddings excluded)",
    "entropy": "Shannon entropy in nats of softmax(logits_l) over the vocabulary",
    "label_rank": "rank (1 = top) of each label's first token in logits_l (Ecco's rankings_watch); mean over examples",
    "label_prob": "softmax(logits_l) probability of each label's first token; mean over examples",
    "activation_entropy": "Shannon entropy in nats of p = a / sum(a), a = |input of the layer's MLP down_proj| "
                          "(the MLP's intermediate activations) at the decision position; 0 when a is all zero",
    "final_preference": "how many examples' last layer gives each label's first token the highest probability "
                        "among the labels",
}


@dataclass
class LayerAnalysis:
    """Per-layer logit-lens values at the decision position, averaged over `n` examples (definitions: `DEFINITIONS`).

    `entropy[i]`, `activation_entropy[i]`, `label_rank[label][i]`, `label_prob[label][i]` belong to layer
    `layers[i]` (1..L). A difference (`a.difference(b)`) holds a minus b in the same fields, `kind="difference"`.
    `per_example` (when kept) holds the same values per example: ids, entropy [n][L], activation_entropy [n][L],
    label_rank / label_prob {label: [n][L]}, preferred [n] (label name), gold [n] (label name or None)."""

    description: str
    task: str
    n: int
    labels: list[str]
    layers: list[int]
    entropy: list[float]
    activation_entropy: list[float]
    label_rank: dict[str, list[float]]
    label_prob: dict[str, list[float]]
    label_tokens: dict[str, str] = field(default_factory=dict)
    """The first token of each label, as the tokenizer writes it (labels sharing it get the same rank)."""
    final_preference: dict[str, int] = field(default_factory=dict)
    kind: str = "analysis"
    meta: dict[str, Any] = field(default_factory=dict)
    """Where it came from: model, adapter, regime, seed, run directory, precision, seconds..."""
    per_example: dict[str, Any] | None = None
    definitions: dict[str, str] = field(default_factory=lambda: dict(DEFINITIONS))

    # -- reading ----------------------------------------------------------------------------------------------------
    @property
    def first_token_accuracy(self) -> float | None:
        """Share of examples whose gold label is the last layer's preferred label (None without gold labels)."""
        rows = self.per_example or {}
        pairs = [(p, g) for p, g in zip(rows.get("preferred", []), rows.get("gold", [])) if g is not None]
        return sum(p == g for p, g in pairs) / len(pairs) if pairs else None

    def difference(self, other: "LayerAnalysis") -> "LayerAnalysis":
        """This analysis minus `other` (same labels and layer count; paired per example when both kept the same
        examples)."""
        if self.kind != "analysis" or other.kind != "analysis":
            raise ConfigError("a difference is taken between two analyses, not of a difference")
        if self.labels != other.labels or self.layers != other.layers:
            raise ConfigError(f"cannot compare '{self.description}' with '{other.description}': different labels "
                              f"({self.labels} / {other.labels}) or layers ({len(self.layers)} / {len(other.layers)})")
        return LayerAnalysis(
            description=f"{self.description} minus {other.description}", task=self.task, n=self.n,
            labels=list(self.labels), layers=list(self.layers),
            entropy=_minus(self.entropy, other.entropy),
            activation_entropy=_minus(self.activation_entropy, other.activation_entropy),
            label_rank={k: _minus(self.label_rank[k], other.label_rank[k]) for k in self.labels},
            label_prob={k: _minus(self.label_prob[k], other.label_prob[k]) for k in self.labels},
            label_tokens=dict(self.label_tokens), kind="difference",
            final_preference={k: self.final_preference.get(k, 0) - other.final_preference.get(k, 0)
                              for k in self.labels},
            meta={"minuend": self.summary(), "subtrahend": other.summary()},
            per_example=_paired_difference(self.per_example, other.per_example, self.labels),
        )

    def summary(self) -> dict[str, Any]:
        """Description, task, n and provenance (what a difference keeps of each side)."""
        return {"description": self.description, "task": self.task, "n": self.n, **self.meta}

    # -- showing ----------------------------------------------------------------------------------------------------
    def show(self, console=None) -> None:
        """Print a table (one row per layer) to the terminal; nothing a model or dataset wrote is read as markup."""
        from rich.console import Console

        console = console or Console(markup=False, highlight=False, emoji=False)
        console.print(self.table())

    def table(self):
        """The rich Table `show` prints."""
        from rich.table import Table
        from rich.text import Text

        signed = self.kind == "difference"
        scope = f"{self.task}, n={self.n}" if self.task else f"n={self.n}"
        title = ("Difference: " if signed else "") + f"{self.description} ({scope})"
        table = Table(title=Text(title), caption=Text(self._caption()), caption_justify="left")
        table.add_column(Text("layer"), justify="right")
        table.add_column(Text("entropy"), justify="right")
        table.add_column(Text("act. entropy"), justify="right")
        for label in self.labels:
            table.add_column(Text(f"rank {label}"), justify="right")
            table.add_column(Text(f"p {label}"), justify="right")
        sign = "+" if signed else ""
        for i, layer in enumerate(self.layers):
            cells = [str(layer), f"{self.entropy[i]:{sign}.3f}", f"{self.activation_entropy[i]:{sign}.3f}"]
            for label in self.labels:
                cells += [f"{self.label_rank[label][i]:{sign}.1f}", f"{self.label_prob[label][i]:{sign}.3f}"]
            table.add_row(*(Text(c) for c in cells))
        return table

    def _caption(self) -> str:
        tokens = ", ".join(f"{label} -> {token!r}" for label, token in self.label_tokens.items())
        preference = ", ".join(f"{label} {count:+d}" if self.kind == "difference" else f"{label} {count}"
                               for label, count in self.final_preference.items())
        lines = [f"entropies in nats; label ranks and probabilities of each label's first token ({tokens})",
                 f"last layer prefers: {preference}"]
        accuracy = self.first_token_accuracy
        if accuracy is not None:
            lines[-1] += f" (first-token accuracy {accuracy:.3f})"
        return "\n".join(lines)

    def plot(self, path_stem: str | Path, other: "LayerAnalysis | None" = None) -> list[Path]:
        """Write `<path_stem>.png` and `.svg`: entropy, activation entropy and label ranks (log scale) per layer;
        with `other`, both drawn together plus a row of differences (self minus other). Returns the paths."""
        from faithex.analysis.plots import layer_figure, save_figure

        return save_figure(layer_figure(self, other), path_stem)

    # -- storing ----------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    def save(self, path: str | Path) -> Path:
        """Write as JSON (atomically: a reader never sees half a file)."""
        from faithex.io import atomic_write_text, writable_file

        path = writable_file(path)
        atomic_write_text(path, _readable_json(self.to_dict()) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LayerAnalysis":
        from faithex.io import read_format_json

        data = read_format_json(path, FORMAT, VERSION, "a layer analysis")
        fields = {k: v for k, v in data.items() if k not in ("format", "version")}
        try:
            return cls(**fields)
        except TypeError as error:
            raise DatasetError(f"{path}: {error}") from None


def _readable_json(value: Any, level: int = 0) -> str:
    """JSON with objects indented and every list on one line (per-layer and per-example arrays stay readable)."""
    if isinstance(value, dict) and value:
        pad = "  " * (level + 1)
        items = [f"{pad}{json.dumps(key, ensure_ascii=False)}: {_readable_json(item, level + 1)}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    return json.dumps(value, ensure_ascii=False)


def _minus(a: list[float], b: list[float]) -> list[float]:
    return [x - y for x, y in zip(a, b)]


def _paired_difference(a: dict[str, Any] | None, b: dict[str, Any] | None, labels: list[str]) -> dict[str, Any] | None:
    """Per-example differences when both sides hold the same examples in the same order, else None."""
    if not a or not b or a.get("ids") != b.get("ids"):
        return None

    def rows(x, y):
        return [[float(f"{d:.7g}") for d in _minus(p, q)] for p, q in zip(x, y)]

    return {"ids": list(a["ids"]), "entropy": rows(a["entropy"], b["entropy"]),
            "activation_entropy": rows(a["activation_entropy"], b["activation_entropy"]),
            "label_rank": {k: rows(a["label_rank"][k], b["label_rank"][k]) for k in labels},
            "label_prob": {k: rows(a["label_prob"][k], b["label_prob"][k]) for k in labels}}


def mean_rows(rows: list[list[float]]) -> list[float]:
    """Column means of a [n][L] list (n >= 1)."""
    return [math.fsum(column) / len(rows) for column in zip(*rows)]
