"""Regimes: how labelled examples become training conversations (and the prompts a trained model is asked).

- `classification`: `zero_shot` (no training), `label_only` and `label_only_instructed`
- `reasoning_grounded`: paper 1's `separate`, `separate_icl`, `joint`, `joint_reasoning`
- `explanation_enhanced`: paper 2's `label_explanation`, `explanation_label`, `shuffled_explanation`,
  `bag_of_words_explanation`, each also `<name>_instructed`
- `pseudo_faithful`: paper 3's `pseudo_faithful` and `pseudo_faithful_<style>` (training records built with the
  starting model: `Regime.needs_model`)

Importing this package registers them all in `REGIMES`.
"""

from faithex.regimes import (  # noqa: F401  (registers them)
    classification,
    explanation_enhanced,
    pseudo_faithful,
    reasoning_grounded,
)
from faithex.regimes.base import REGIMES, PromptOptions, Regime, get_regime, register_regime
from faithex.regimes.reasoning_grounded import CONFIGURATIONS, ReasoningGroundedRegime
from faithex.tasks.base import Example, Task

#: The first API's names for paper 1's configurations: they are regimes now.
get_configuration = get_regime
Configuration = ReasoningGroundedRegime


def training_records(regime: Regime, task: Task, examples: list[Example], system_prompt: str | None = "",
                     icl_shots: int = 0, seed: int = 0) -> dict[str, list[dict]]:
    """{adapter: prompt/completion records} of `regime` for `examples` (a shortcut for `regime.records`)."""
    return regime.records(task, examples, PromptOptions(system_prompt=system_prompt, icl_shots=icl_shots, seed=seed))


__all__ = ["CONFIGURATIONS", "REGIMES", "Configuration", "PromptOptions", "Regime", "get_configuration", "get_regime",
           "register_regime", "training_records"]
