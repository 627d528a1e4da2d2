"""The causal faithfulness battery (issue 17): which protocols compute each test, and which tests run by default.

    battery:                       # in an experiment file; every key optional
      interventions: true          # default: on. Paper 1's reasoning interventions, paper 2's explanation ones,
                                   #   for every regime they can ask (a list names the protocols to use instead)
      cc_shap: false               # default: off (hundreds of forward passes per item; the cost is printed first)
      eraser: false                # default: off (ERASER comprehensiveness and sufficiency of paper 3's
                                   #   one-word self-explanations: self_consistency_attribution_1word_eraser)

A test adds its protocols to every regime of the experiment that one of them `supports` (a regime without a
reasoning turn gets no reasoning interventions: the report's battery table says "n/a" there), after the regime's own
protocols. `false` turns a test off; a list of protocol names replaces the test's defaults (the demo's cheaper
`reasoning_step_flip`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from faithex.errors import ConfigError
from faithex.protocols.base import PROTOCOLS
from faithex.regimes.base import Regime


@dataclass(frozen=True)
class BatteryTest:
    name: str
    protocols: tuple[str, ...]
    on_by_default: bool
    description: str


BATTERY = {test.name: test for test in (
    BatteryTest("interventions", ("reasoning_interventions", "explanation_interventions"), True,
                "the reasoning (paper 1) or the explanation (paper 2) changed: does the decision follow?"),
    BatteryTest("cc_shap", ("cc_shap",), False,
                "CC-SHAP: do the input words drive the answer and the explanation alike? (costly: opt-in)"),
    BatteryTest("eraser", ("self_consistency_attribution_1word_eraser",), False,
                "ERASER comprehensiveness and sufficiency of the words a one-word self-explanation names (paper 3; "
                "the other checks' `_eraser` variants are named in `protocols:`)"),
)}
#: What an experiment's `battery:` maps a test to: on, off, or the protocols to use for it.
Choice = bool | Sequence[str]


def check_battery(choices: Mapping[str, Choice]) -> dict[str, Choice]:
    """The experiment's `battery:` with its names checked (a typo fails before anything runs)."""
    for test, choice in choices.items():
        if test not in BATTERY:
            raise ConfigError(f"battery: unknown test '{test}'; known: {', '.join(BATTERY)}")
        if not isinstance(choice, bool):
            for name in choice:
                PROTOCOLS.get(name)  # an unknown protocol fails here, with a suggestion
    return dict(choices)


def battery_protocols(regime: Regime, choices: Mapping[str, Choice] | None = None) -> list[str]:
    """The battery's protocols that can ask `regime`, for the tests `choices` turns on (default: each test's
    `on_by_default`)."""
    out: list[str] = []
    for test in BATTERY.values():
        choice = (choices or {}).get(test.name, test.on_by_default)
        names = test.protocols if choice is True else () if choice is False else tuple(choice)
        out += [name for name in names if PROTOCOLS.get(name).supports(regime)]
    return out
