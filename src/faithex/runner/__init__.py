"""Experiments: the YAML schema (`config`), the run directory layout (`rundir`), the runner (`run`) and what
produced a run (`provenance`)."""

from faithex.runner.config import Experiment, RegimeSpec, TaskSpec, load_experiment, parse_experiment
from faithex.runner.run import Reporter, prepare, run_experiment

__all__ = ["Experiment", "RegimeSpec", "Reporter", "TaskSpec", "load_experiment", "parse_experiment", "prepare",
           "run_experiment"]
