"""ESG: join a mine's results with its owners, roll them up to companies, and flag what matters."""

from geomon.esg.flags import (
    CHECKS,
    Check,
    FlagOptions,
    flagged,
    normalize_areas,
    run_checks,
    with_polygon_ids,
)
from geomon.esg.ownership import (
    UNATTRIBUTED,
    Attribution,
    OwnershipChain,
    Stake,
    attribute,
    companies,
    company_mines,
    company_share,
    ownership_chain,
)

__all__ = [
    "CHECKS",
    "UNATTRIBUTED",
    "Attribution",
    "Check",
    "FlagOptions",
    "OwnershipChain",
    "Stake",
    "attribute",
    "companies",
    "company_mines",
    "company_share",
    "flagged",
    "normalize_areas",
    "ownership_chain",
    "run_checks",
    "with_polygon_ids",
]
