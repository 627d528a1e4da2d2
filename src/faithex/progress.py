"""Progress output. faithex draws its own bars (rich, in the command line) on every long step: training records,
generation, scoring, attribution, analysis, annotation; a training shows the trainer's own bar. The libraries'
other output is kept out of the way:

- datasets' per-`map` bars ("Tokenizing train dataset", a fraction of a second each): always off;
- transformers' bars (weight loading, the trainer's tqdm bar): off when stderr is not a terminal, where every
  update would be one more line in a log; the trainer then prints its loss lines only;
- transformers' FutureWarning about `is_gradient_checkpointing`, raised inside the trainer on every training.

Rich's bars need nothing: on a console that is not a terminal they print one line when the step ends.
"""

from __future__ import annotations

import sys
import warnings


def interactive() -> bool:
    """Whether progress is shown to a person (stderr is a terminal) rather than written to a log."""
    return sys.stderr.isatty()


def quiet_libraries() -> None:
    import datasets
    from transformers.utils import logging as transformers_logging

    datasets.disable_progress_bars()
    if interactive():
        transformers_logging.enable_progress_bar()
    else:
        transformers_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning)
