"""ESG: join a mine's results with its owners, roll them up to companies, and flag what matters."""

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
    "UNATTRIBUTED",
    "Attribution",
    "OwnershipChain",
    "Stake",
    "attribute",
    "companies",
    "company_mines",
    "company_share",
    "ownership_chain",
]
