"""Protocols: how a trained model is asked over test examples (each yields samples batch by batch).

- `reasoning_grounded`: paper 1's `direct` and `two_step`
- `label`: `score` (label log-probabilities) and `generate` (label generated and parsed)

Importing this package registers them all in `PROTOCOLS`.
"""

from faithex.protocols import label, reasoning_grounded  # noqa: F401  (registers them)
from faithex.protocols.base import PROTOCOLS, Protocol, ProtocolContext, Sample, get_protocol, register_protocol

__all__ = ["PROTOCOLS", "Protocol", "ProtocolContext", "Sample", "get_protocol", "register_protocol"]
