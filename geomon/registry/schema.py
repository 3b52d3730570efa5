"""Columns, vocabularies and normalisation rules of the mine registry and ownership table.

See ARCHITECTURE.md, "Data contracts". The registry is a GeoDataFrame in EPSG:4326 with one row
per mine; the ownership table has one row per (mine, owner).
"""

from __future__ import annotations

import re
import unicodedata

#: Required registry columns (besides ``geometry``).
MINE_COLUMNS: tuple[str, ...] = (
    "mine_id",
    "name",
    "country",
    "commodities",
    "status",
    "source",
    "coordinate_accuracy",
)
#: Optional registry columns, kept when present.
MINE_OPTIONAL_COLUMNS: tuple[str, ...] = (
    "licence_geometry",
    "ecozone",
    "continent",
    "lat",
    "lon",
    "aoi_radius_m",
    "mine_type",
    "ore_mt_per_year",
    "ore_year",
    "ore_source",
    "design_capacity_mt_per_year",
    "production",
    "notes",
)
OWNERSHIP_COLUMNS: tuple[str, ...] = (
    "mine_id",
    "owner",
    "share_pct",
    "is_operator",
    "parent",
    "parent_share_pct",
    "as_of",
    "source",
)

#: Commodities geomon knows. The six critical minerals first, then common co- and by-products.
CRITICAL_COMMODITIES: tuple[str, ...] = (
    "lithium",
    "cobalt",
    "nickel",
    "copper",
    "graphite",
    "rare_earths",
)
COMMODITIES: frozenset[str] = frozenset(
    {
        *CRITICAL_COMMODITIES,
        "iron_ore",
        "gold",
        "silver",
        "zinc",
        "lead",
        "molybdenum",
        "manganese",
        "platinum",
        "palladium",
        "bauxite",
        "tin",
        "tungsten",
        "vanadium",
        "uranium",
        "coal",
        "phosphate",
        "potash",
        "titanium",
        "zircon",
        "chromium",
        "niobium",
        "tantalum",
        "scandium",
        "boron",
    }
)
#: Spellings seen in trackers and company filings, mapped to the canonical name.
COMMODITY_ALIASES: dict[str, str] = {
    "iron": "iron_ore",
    "iron ore": "iron_ore",
    "ironore": "iron_ore",
    "ree": "rare_earths",
    "rare earth": "rare_earths",
    "rare earths": "rare_earths",
    "rare earth elements": "rare_earths",
    "rare_earth": "rare_earths",
    "rees": "rare_earths",
    "li": "lithium",
    "co": "cobalt",
    "ni": "nickel",
    "cu": "copper",
    "au": "gold",
    "natural graphite": "graphite",
    "pgm": "platinum",
    "pgms": "platinum",
    "molybdenite": "molybdenum",
    "moly": "molybdenum",
    "lithium brine": "lithium",
    "spodumene": "lithium",
    "nickel laterite": "nickel",
}

#: Operating statuses, with aliases (GEM, S&P and company wording).
STATUSES: frozenset[str] = frozenset(
    {
        "operating",
        "construction",
        "development",
        "care_and_maintenance",
        "closed",
        "exploration",
        "proposed",
        "cancelled",
        "shelved",
        "unknown",
    }
)
STATUS_ALIASES: dict[str, str] = {
    "active": "operating",
    "producing": "operating",
    "production": "operating",
    "mothballed": "care_and_maintenance",
    "care and maintenance": "care_and_maintenance",
    "suspended": "care_and_maintenance",
    "idle": "care_and_maintenance",
    "retired": "closed",
    "decommissioned": "closed",
    "abandoned": "closed",
    "announced": "proposed",
    "pre-construction": "proposed",
    "permitting": "proposed",
    "under construction": "construction",
    "in construction": "construction",
    "exploration/development": "development",
    "feasibility": "development",
    "operating pre-retirement": "operating",
    "": "unknown",
    "--": "unknown",
    "n/a": "unknown",
}

#: How well a mine's coordinates are known (GEM's vocabulary, plus "surveyed").
COORDINATE_ACCURACIES: frozenset[str] = frozenset({"exact", "approximate", "surveyed", "unknown"})


def normalize_commodity(name: str) -> str | None:
    """Canonical commodity name, or ``None`` when the name is not known."""
    key = " ".join(name.strip().lower().replace("-", " ").split())
    if not key:
        return None
    if key in COMMODITY_ALIASES:
        return COMMODITY_ALIASES[key]
    key_us = key.replace(" ", "_")
    return key_us if key_us in COMMODITIES else None


def normalize_status(status: str | None) -> str:
    """Canonical status; unrecognised wording maps to ``unknown`` (the original is kept elsewhere)."""
    key = " ".join((status or "").strip().lower().split())
    if key in STATUS_ALIASES:
        return STATUS_ALIASES[key]
    key_us = key.replace(" ", "_")
    return key_us if key_us in STATUSES else "unknown"


def slugify(text: str) -> str:
    """A stable ASCII slug for mine ids: ``"Tenke Fungurume Mine"`` -> ``"tenke_fungurume_mine"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return slug or "mine"
