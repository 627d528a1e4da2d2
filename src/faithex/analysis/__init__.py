"""Layer analysis (paper 2): the logit lens at the decision position, per-layer entropy, label-token ranks and the
entropy of MLP activations, for one model or the difference between two.

    from faithex.analysis import analyze, analyze_run, LayerAnalysis

    a = analyze_run("runs/tweets", regime="label_only", n=200)
    b = analyze_run("runs/tweets", regime="label_only", n=200, base=True)
    a.show(); a.difference(b).show(); a.plot("layers", other=b); a.save("analysis.json")

`analyze(model, tokenizer, prompt_token_ids, label_texts)` is the core, for any causal LM with Llama-style MLPs.
Definitions: `faithex.analysis.result.DEFINITIONS` (also stored in every saved analysis) and docs/analysis.md.
"""

from __future__ import annotations

from typing import Any

from faithex.analysis.result import DEFINITIONS, LayerAnalysis

__all__ = ["DEFINITIONS", "LayerAnalysis", "activation_entropy", "analyze", "analyze_run"]


def __getattr__(name: str) -> Any:
    # torch and transformers load when the analysis runs, not when the command line starts.
    if name in ("analyze", "activation_entropy"):
        from faithex.analysis import lens

        return getattr(lens, name)
    if name == "analyze_run":
        from faithex.analysis.run import analyze_run

        return analyze_run
    raise AttributeError(f"module 'faithex.analysis' has no attribute {name!r}")
