"""The three papers' claims, each written once (docs/claims.md lists them with their sources; a test keeps the two
in step). Deltas are the smallest effects of interest we chose where the papers give none (docs/claims.md says why).
"""

from __future__ import annotations

from .base import Claim, Side, register_claim

# -- paper 1: reasoning-grounded explanations (arXiv 2503.11248) ----------------------------------------------------
WITH_REASONING = Side("joint_reasoning", ("two_step",))
WITHOUT_REASONING = Side("joint", ("direct",))
SEPARATE = (Side("separate", ("direct",)), Side("separate_icl", ("direct",)))

register_claim(Claim(
    id="paper1.alignment", paper="paper1", kind="faithfulness", metric="alignment_rate", delta=0.05,
    statement="With the reasoning first, answer and explanation agree more often than without it",
    pairs=((WITH_REASONING, WITHOUT_REASONING),), source="W4 abstract; papers.md 1.7"))
register_claim(Claim(
    id="paper1.alignment_vs_separate", paper="paper1", kind="faithfulness", metric="alignment_rate", delta=0.05,
    statement="With the reasoning first, answer and explanation agree more often than separately trained models'",
    pairs=tuple((WITH_REASONING, side) for side in SEPARATE), source="papers.md 1.6-1.7 (separate baseline)"))
register_claim(Claim(
    id="paper1.alignment_near_perfect", paper="paper1", kind="faithfulness", metric="alignment_rate", delta=0.0,
    reference=0.95, statement="With the reasoning first, answer and explanation agree almost always (above 0.95)",
    pairs=((WITH_REASONING, None),), source="W4 abstract: near-perfect alignment"))
register_claim(Claim(
    id="paper1.answer_accuracy", paper="paper1", kind="accuracy", metric="answer_accuracy", delta=0.05,
    statement="The reasoning also improves answer quality",
    pairs=((WITH_REASONING, WITHOUT_REASONING),), source="W4 abstract; W1"))
register_claim(Claim(
    id="paper1.explanation_accuracy", paper="paper1", kind="accuracy", metric="explanation_accuracy", delta=0.05,
    statement="Explanations written after the reasoning are more often right than without it",
    pairs=((WITH_REASONING, WITHOUT_REASONING),), source="depth plot: explanations with and without reasoning"))
# The causal reading of "grounded in the reasoning" (issue 17, after Lanham et al. 2023): a step of the model's own
# reasoning flipped, does the answer (the explanation) follow what the changed reasoning implies, more often than
# an answer that ignored the reasoning would (the same flips' unintervened answers)? delta 0.10: ten points above
# ignoring, with 95% confidence; and the no-change control (flips that imply the original output) must keep at least
# 90% of answers, or the answer merely reacts to any edit of its reasoning.
INTERVENED = tuple(Side(regime, ("reasoning_interventions*", "reasoning_step_flip"))
                   for regime in ("joint_reasoning", "joint_reasoning_both_formats"))
for claim_id, metric, baseline, what in (
        ("paper1.answer_follows_reasoning", "mistake_answer_follow", "mistake_answer_ignore_baseline", "answer"),
        ("paper1.explanation_follows_reasoning", "mistake_explanation_follow",
         "mistake_explanation_ignore_baseline", "explanation")):
    register_claim(Claim(
        id=claim_id, paper="paper1", kind="faithfulness", metric=metric, baseline_metric=baseline, delta=0.10,
        control=("mistake_nochange_keep", 0.9), supported_beyond_delta=True,
        pairs=tuple((side, side) for side in INTERVENED),
        statement=f"With a step of its reasoning flipped, the {what} follows what the changed reasoning implies "
                  "(beyond the rate of ignoring the reasoning)",
        source="W4's grounding read causally: Lanham et al. 2023 (adding mistakes); docs/faithfulness.md"))
# Lanham's paraphrase: the same steps and output in the other format leave the answer as it was, at least 9 times
# in 10 (a reference, not a comparison: nothing is expected to do better than keep it).
register_claim(Claim(
    id="paper1.paraphrase_keeps_answer", paper="paper1", kind="faithfulness", metric="paraphrase_answer_keep",
    reference=0.9, delta=0.0, pairs=((INTERVENED[1], None),),
    statement="The answer survives its reasoning re-written in the other format (more often than 0.9)",
    source="Lanham et al. 2023 (paraphrasing); docs/faithfulness.md"))

# -- paper 2: regularization through reasoning (arXiv 2511.02044) ---------------------------------------------------
LABEL_ONLY = Side("label_only")
register_claim(Claim(
    id="paper2.explanation_beats_label_only", paper="paper2", kind="accuracy", metric="answer_accuracy", delta=0.03,
    statement="Fine-tuning on label + explanation is more accurate than on the label only",
    pairs=((Side("label_explanation"), LABEL_ONLY), (Side("explanation_label"), LABEL_ONLY)),
    source="W6: all 18 settings"))
register_claim(Claim(
    id="paper2.pseudo_beats_label_only", paper="paper2", kind="accuracy", metric="answer_accuracy", delta=0.03,
    statement="Fine-tuning on label + vocabulary-aligned random pseudo-explanations is more accurate than on the "
              "label only",
    pairs=((Side("shuffled_explanation"), LABEL_ONLY), (Side("bag_of_words_explanation"), LABEL_ONLY)),
    source="W6"))
register_claim(Claim(
    id="paper2.instruction_helps", paper="paper2", kind="accuracy", metric="answer_accuracy", delta=0.03,
    statement="A system instruction makes each regime more accurate (seed-only, unverified)",
    pairs=tuple((Side(f"{name}_instructed"), Side(name)) for name in
                ("label_only", "label_explanation", "explanation_label", "shuffled_explanation",
                 "bag_of_words_explanation")),
    source="seed summary only (papers.md 2.2)"))
# The causal reading for the explanation-first regime (issue 17): after another item's explanation (one where the
# model answered another label), the label becomes that item's, more often than after no explanation at all (the
# empty explanation: what a label that ignores the explanation gives). delta and the rule as paper 1's follow claims.
EXPLAINED_FIRST = Side("explanation_label", ("explanation_interventions",))
register_claim(Claim(
    id="paper2.label_follows_explanation", paper="paper2", kind="faithfulness", metric="explanation_donor_follow",
    baseline_metric="explanation_donor_ignore_baseline", delta=0.10, supported_beyond_delta=True,
    pairs=((EXPLAINED_FIRST, EXPLAINED_FIRST),),
    statement="With another item's explanation in place of its own, the explanation-first model gives that item's "
              "label (beyond the rate after no explanation)",
    source="the explanation-first format read causally (Lanham et al. 2023; issue 17); docs/faithfulness.md"))
# Decided on `faithex analyze` folders in the run directory (`faithex.claims.analysis`), not on cells. delta: 0.05
# nats, a tenth of the spread of activation entropies between layers measured on tweets.
register_claim(Claim(
    id="paper2.middle_layer_entropy", paper="paper2", metric="activation_entropy_middle_third", pairs=(),
    delta=0.05, decided_by="layer analysis", source="W6; papers.md 2.3",
    statement="Explanation-trained models have higher activation entropy in the intermediate layers (the middle "
              "third)"))
register_claim(Claim(
    id="paper2.sharper_output", paper="paper2", metric="output_entropy", pairs=(), direction="less", delta=0.05,
    decided_by="layer analysis", source="W6; papers.md 2.3",
    statement="Explanation-trained models put sharper predictive mass at the output layer (lower entropy of the "
              "last layer's distribution)"))

# -- paper 3: faithful self-explanations (arXiv 2512.07288) ---------------------------------------------------------
CLASSIFIER = Side("self_consistency_classifier", ("self_consistency_*",))
STYLES = ("attribution", "redaction", "counterfactual")


def _other_styles(style: str) -> Side:
    return Side(f"pseudo_faithful_{style}", tuple(f"self_consistency_{other}*" for other in STYLES if other != style))


ONE_WORD = ((Side("pseudo_faithful", ("self_consistency_*_1word*",)), CLASSIFIER),
            *((Side(f"pseudo_faithful_{style}", (f"self_consistency_{style}_1word*",)), CLASSIFIER)
              for style in STYLES))
MULTI_WORD = ((Side("pseudo_faithful", ("self_consistency_*",), exclude=("*_1word*",)), CLASSIFIER),
              *((Side(f"pseudo_faithful_{style}", (f"self_consistency_{style}*",), exclude=("*_1word*",)),
                 CLASSIFIER) for style in STYLES))
_CHECKS = (("paper3.more_faithful", "self_consistency_faithfulness", 0.05,
            "Self-explanations are more faithful (Madsen's check) after pseudo-faithful training"),
           ("paper3.more_faithful_label_change", "self_consistency_label_change", 0.05,
            "After pseudo-faithful training, applying a self-explanation changes the label more often "
            "(the looser reading of Madsen's check)"),
           ("paper3.more_faithful_shift", "self_consistency_shift", 0.02,
            "After pseudo-faithful training, applying a self-explanation moves the classifier's probability more"))
for claim_id, metric, delta, statement in _CHECKS:
    register_claim(Claim(id=claim_id, paper="paper3", kind="faithfulness", metric=metric, delta=delta,
                         same_protocol=True, statement=statement + " (one-word explanations)", pairs=ONE_WORD,
                         source="W9 abstract; papers.md 3.1"))
register_claim(Claim(
    id="paper3.multi_word", paper="paper3", kind="faithfulness", metric="self_consistency_faithfulness", delta=0.05,
    same_protocol=True, pairs=MULTI_WORD, source="W9: generalisation to multi-word explanations",
    statement="The gain carries over to multi-word self-explanations"))
register_claim(Claim(
    id="paper3.cross_style", paper="paper3", kind="faithfulness", metric="self_consistency_faithfulness", delta=0.05,
    same_protocol=True, pairs=tuple((_other_styles(style), CLASSIFIER) for style in STYLES),
    source="W9: cross-style generalisation", statement="Training one explanation style makes the others more faithful"))
register_claim(Claim(
    id="paper3.unseen_task", paper="paper3", kind="faithfulness", metric="self_consistency_faithfulness", delta=0.05,
    same_protocol=True, seen_task=False, pairs=ONE_WORD + MULTI_WORD, source="W9: generalisation to unseen tasks",
    statement="The gain carries over to a task the training did not see (a pseudo-faithful regime with `train_on` "
              "asked on another task, against the classifier)"))
# The "unknown" variant's control (issue 17): with the words its self-explanation names redacted, it answers
# "unknown" (Madsen's check passes) more often than with as many random words redacted; otherwise "unknown" follows
# any [REDACTED], a shortcut, not the explanation. Same items, the rule of paper 1's follow claims.
UNKNOWN_CHECKS = Side("self_consistency_classifier_unknown", ("self_consistency_attribution*",
                                                            "self_consistency_redaction*"))
register_claim(Claim(
    id="paper3.unknown_beats_random_redaction", paper="paper3", kind="faithfulness",
    metric="self_consistency_faithfulness", baseline_metric="self_consistency_faithfulness_random_control",
    delta=0.10, supported_beyond_delta=True, pairs=((UNKNOWN_CHECKS, UNKNOWN_CHECKS),),
    statement="Trained to answer unknown, the classifier does so when the words it names are redacted more often than "
              "when as many random words are",
    source="Madsen et al.'s checks with ICE-style random controls; docs/faithfulness.md"))
