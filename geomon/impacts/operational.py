"""Operational (Scope 1) emissions of ore extraction: ore mined x a Climate TRACE emission factor.

Only for mines that produce a commodity Climate TRACE covers (copper, iron ore, bauxite), have a
site or country factor, and have their ore tonnage in the registry (``ore_mt_per_year``, million
tonnes of ore a year). Everything else is "not estimated", with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geomon.impacts._tables import FactorTables
from geomon.registry.schema import slugify

__all__ = ["OPERATIONAL_TABLES", "OreFactor", "operational_columns", "ore_factor"]

OPERATIONAL_TABLES = ("climate_trace_ore_ef",)


@dataclass(frozen=True)
class OreFactor:
    """A factor that applies to a mine."""

    t_co2_per_t_ore: float
    """Emission factor."""
    scope: str
    """``site`` or ``country``."""
    source: str
    """Row source."""


def _commodities(mine: Mapping[str, Any]) -> list[str]:
    value = mine.get("commodities")
    if isinstance(value, str):
        return [c.strip() for c in value.replace(",", ";").split(";") if c.strip()]
    return [str(c) for c in value] if value is not None else []


def ore_factor(mine: Mapping[str, Any], tables: FactorTables) -> tuple[OreFactor | None, str]:
    """The factor for a mine (site first, then country) or None with the reason."""
    frame = tables["climate_trace_ore_ef"].frame
    covered = {c for cs in frame["commodities"] for c in cs.split(";")}
    mine_commodities = _commodities(mine)
    if not covered & set(mine_commodities):
        listed = ", ".join(mine_commodities) or "none listed"
        return None, (
            f"operational emissions: not estimated (no verified per-tonne factor for {listed}; "
            f"Climate TRACE covers {', '.join(sorted(covered))})"
        )
    names = f"{mine.get('mine_id', '')} {slugify(str(mine.get('name', '')))}"
    for row in frame[frame["scope"] == "site"].itertuples(index=False):
        if row.key in names:
            return OreFactor(float(row.t_co2_per_t_ore), "site", str(row.source)), ""
    country = str(mine.get("country", "")).upper()
    for row in frame[frame["scope"] == "country"].itertuples(index=False):
        if row.key == country:
            return OreFactor(float(row.t_co2_per_t_ore), "country", str(row.source)), ""
    return None, (
        f"operational emissions: not estimated (no Climate TRACE site factor for this mine "
        f"nor country factor for {country or 'its country'})"
    )


def _ore_mt(mine: Mapping[str, Any]) -> float:
    value = mine.get("ore_mt_per_year")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if number >= 0 else math.nan


def _ore_origin(mine: Mapping[str, Any]) -> str:
    """`` (2023, <source>)`` from the registry's ore_year and ore_source, when given."""
    parts = []
    year = mine.get("ore_year")
    try:
        if year is not None and math.isfinite(float(year)):
            parts.append(f"{int(float(year))}")
    except (TypeError, ValueError):
        parts.append(str(year))
    source = mine.get("ore_source")
    if isinstance(source, str) and source.strip():
        parts.append(source.strip())
    return f" ({'; '.join(parts)})" if parts else ""


def operational_columns(
    mine: Mapping[str, Any], years: float, tables: FactorTables
) -> tuple[dict[str, Any], list[str]]:
    """``op_co2e_t`` (over a period of ``years``), the factor used and its source, and notes."""
    factor, reason = ore_factor(mine, tables)
    ore = _ore_mt(mine)
    empty = {"op_co2e_t": math.nan, "op_factor_t_co2_per_t_ore": math.nan, "op_factor_source": ""}
    if factor is None:
        return empty, [reason]
    if math.isnan(ore):
        return empty, [
            "operational emissions: not estimated (ore tonnage not in the registry; "
            "add ore_mt_per_year)"
        ]
    value = ore * 1e6 * factor.t_co2_per_t_ore * years
    note = (
        f"operational emissions: {ore:g} Mt ore/yr{_ore_origin(mine)} x "
        f"{factor.t_co2_per_t_ore:g} t CO2/t ore ({factor.scope} factor, {factor.source}); "
        "point estimate, no published uncertainty"
    )
    return {
        "op_co2e_t": value,
        "op_factor_t_co2_per_t_ore": factor.t_co2_per_t_ore,
        "op_factor_source": factor.source,
    }, [note]
