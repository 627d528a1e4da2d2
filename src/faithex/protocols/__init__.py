"""Protocols: how a trained model is asked over test examples (each yields samples batch by batch).

- `reasoning_grounded`: paper 1's `direct` and `two_step`
- `interventions`: paper 1's `reasoning_interventions` (the own reasoning changed: does the answer follow?)
- `label`: `score` (label log-probabilities) and `generate` (label generated and parsed)
- `explanation`: `explain_then_score` (paper 2's explanation-first regimes: explanation generated, then labels scored)
- `explanation_interventions`: paper 2's `explanation_interventions` (another explanation in front of the label: does
  it follow?)
- `self_consistency`: paper 3's `self_consistency_<style>[_1word][_generate][_from_prediction]` (Madsen's checks)
- `ccshap`: `cc_shap` (CC-SHAP: Shapley attributions of the input to the answer and to the explanation, compared)

Importing this package registers them all in `PROTOCOLS`.
"""

# importing registers them (cc_shap runs a regime's own protocol first, looked up when it runs)
from faithex.protocols import (  # noqa: F401
    ccshap,
    explanation,
    explanation_interventions,
    interventions,
    label,
    reasoning_grounded,
    self_consistency,
)
from faithex.protocols.base import PROTOCOLS, Protocol, ProtocolContext, Sample, get_protocol, register_protocol

__all__ = ["PROTOCOLS", "Protocol", "ProtocolContext", "Sample", "get_protocol", "register_protocol"]
