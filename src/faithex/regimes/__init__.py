"""Regimes: how labelled examples become training conversations (and the prompts a trained model is asked)."""

from faithex.regimes.reasoning_grounded import (
    CONFIGURATIONS,
    Configuration,
    UnknownConfigurationError,
    get_configuration,
    training_records,
)

__all__ = ["CONFIGURATIONS", "Configuration", "UnknownConfigurationError", "get_configuration", "training_records"]
