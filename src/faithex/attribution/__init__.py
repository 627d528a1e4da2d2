"""Word-level feature attribution: which words of an input make the model answer the label it answers.

    from faithex.attribution import load_attributor
    attributor = load_attributor("default")                 # or adapter="runs/x" (a trained classifier)
    result = attributor.attribute(examples, task="tweet_sentiment", method="input_x_gradient")
    result.show(); result.save("attributions.json"); result.top_words(3)

Scores are per word of the example's input only (never the instruction or chat template around it), for the
log-probability of a label's full answer (`faithex.lm.scoring.label_scores`). Methods (`METHODS`):
`input_x_gradient` (default, own and batched), `integrated_gradients` and `feature_ablation` (captum),
`leave_one_out` (own, batched). See docs/attribution.md.
"""

from faithex.attribution.api import Attributor, attribute, load_attributor
from faithex.attribution.result import AttributionResult, WordAttribution
from faithex.attribution.words import WORD_PATTERN, Words


def __getattr__(name: str):
    # The method registry imports torch: loaded on first use, so `import faithex.attribution` stays light.
    if name == "METHODS":
        from faithex.attribution.methods import METHODS

        return METHODS
    raise AttributeError(name)


__all__ = ["METHODS", "WORD_PATTERN", "AttributionResult", "Attributor", "WordAttribution", "Words", "attribute",
           "load_attributor"]
