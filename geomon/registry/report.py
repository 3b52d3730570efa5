"""Human-readable text of a mine and its ownership chain."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyproj import Geod

from geomon.registry.core import Registry

_GEOD = Geod(ellps="WGS84")


def _fmt_pct(value: Any) -> str:
    return "share unknown" if value is None or pd.isna(value) else f"{float(value):.2f}%"


def format_latlon(lat: float, lon: float, digits: int = 5) -> str:
    """``-10.715, 25.4`` -> ``"10.71500 S, 25.40000 E"`` (hemisphere letters, no signs)."""
    ns = "S" if lat < 0 else "N"
    ew = "W" if lon < 0 else "E"
    return f"{abs(lat):.{digits}f} {ns}, {abs(lon):.{digits}f} {ew}"


def format_mine(reg: Registry, mine_id: str) -> str:
    """A mine's registry record, AOI area and ownership chain (with the unknown remainder)."""
    row = reg.mine(mine_id)
    area_ha = abs(_GEOD.geometry_area_perimeter(row.geometry)[0]) / 1e4
    c = row.geometry.centroid
    lines = [
        f"{row['name']} ({row['mine_id']})",
        f"  country: {row['country']}   status: {row['status']}",
        f"  commodities: {', '.join(row['commodities'])}",
        f"  centre: {format_latlon(c.y, c.x)}   AOI: {area_ha:,.0f} ha   "
        f"coordinates: {row['coordinate_accuracy']}",
    ]
    for col in ("ecozone", "continent"):
        if col in row.index and isinstance(row[col], str):
            lines.append(f"  {col}: {row[col]}")
    lic = row.get("licence_geometry")
    if lic is not None and not (isinstance(lic, float) and pd.isna(lic)) and not lic.is_empty:
        lic_ha = abs(_GEOD.geometry_area_perimeter(lic)[0]) / 1e4
        lines.append(f"  licence/concession: {lic_ha:,.0f} ha (approximate)")
    lines.append(f"  source: {row['source']}")
    lines.extend(_ownership_lines(reg.owners(mine_id)))
    return "\n".join(lines)


def _ownership_lines(own: pd.DataFrame) -> list[str]:
    """Owners with their share, operator mark and parents (an owner with two parents has two
    rows in the table, one per parent, with the same ``share_pct``; it is listed and counted once)."""
    lines = ["  ownership:"]
    if own.empty:
        return [*lines, "    unknown (no ownership records)"]
    known = 0.0
    for owner, rows in own.groupby("owner", sort=False):
        first = rows.iloc[0]
        op = "  [operator]" if bool(rows["is_operator"].any()) else ""
        lines.append(f"    {owner}: {_fmt_pct(first['share_pct'])}{op}")
        for r in rows.itertuples():
            if isinstance(r.parent, str) and r.parent.strip():
                lines.append(f"      parent: {r.parent} holds {_fmt_pct(r.parent_share_pct)} of it")
        if not pd.isna(first["share_pct"]):
            known += float(first["share_pct"])
    joint = own[own["owner"].isna() | (own["owner"].astype(str).str.strip() == "")]
    if not joint.empty:
        lines.append("    parents with a share of the mine (owner not named by the source):")
        for r in joint.itertuples():
            lines.append(f"      {r.parent}: {_fmt_pct(r.parent_share_pct)} of the mine")
    if known < 99.995:
        lines.append(f"    unknown: {100 - known:.2f}% (known shares sum to {known:.2f}%)")
    lines.append(f"  ownership as of {own['as_of'].iloc[0]}; sources: {own['source'].iloc[0]}")
    return lines
