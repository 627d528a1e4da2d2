"""Each paper's claims as code, and their verdicts on a run's cells.

    from faithex.claims import judge, read_items
    judge(results, config, read_items(run_dir / "items.json"))   # adds results["guards"] and results["verdicts"]

`base` defines a claim (which cells, which metric, which direction, the smallest effect of interest) and the YAML
form an experiment declares its own with; `papers` registers the three papers' claims (docs/claims.md lists them);
`guards` tells untrained classifiers and checks that cannot pass by construction; `items` keeps the per-item values
verdicts are computed from; `verdicts` applies the rule (exact tests, Holm within a paper, minimum detectable
effect).
"""

from __future__ import annotations

from . import papers  # noqa: F401 - importing registers the papers' claims
from .base import (
    CLAIMS,
    Claim,
    ClaimSpec,
    Side,
    SideSpec,
    UnknownClaimError,
    experiment_claims,
    get_claim,
    register_claim,
)
from .guards import Guard, guard, guard_from_confusion, not_applicable_by_construction
from .items import FILE_NAME as ITEMS_FILE
from .items import Items, cell_items, read_items, write_items
from .verdicts import RegimeInfo, Run, decide, guards, judge, regime_infos, settings, verdicts

__all__ = [
    "CLAIMS", "ITEMS_FILE", "Claim", "ClaimSpec", "Guard", "Items", "RegimeInfo", "Run", "Side", "SideSpec",
    "UnknownClaimError", "cell_items", "decide", "experiment_claims", "get_claim", "guard", "guard_from_confusion",
    "guards", "judge", "not_applicable_by_construction", "read_items", "regime_infos", "register_claim", "settings",
    "verdicts",
    "write_items",
]
