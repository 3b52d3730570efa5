"""Human-readable text of a mine and its ownership chain."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyproj import Geod

from geomon.registry.core import Registry

_GEOD = Geod(ellps="WGS84")


def _fmt_pct(value: Any) -> str:
    return "share unknown" if value is None or pd.isna(value) else f"{float(value):.2f}%"


def format_mine(reg: Registry, mine_id: str) -> str:
    """A mine's registry record, AOI area and ownership chain (with the unknown remainder)."""
    row = reg.mine(mine_id)
    area_ha = abs(_GEOD.geometry_area_perimeter(row.geometry)[0]) / 1e4
    c = row.geometry.centroid
    lines = [
        f"{row['name']} ({row['mine_id']})",
        f"  country: {row['country']}   status: {row['status']}",
        f"  commodities: {', '.join(row['commodities'])}",
        f"  centre: {c.y:.5f} N, {c.x:.5f} E   AOI: {area_ha:,.0f} ha   "
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
    own = reg.owners(mine_id)
    lines.append("  ownership:")
    if own.empty:
        lines.append("    unknown (no ownership records)")
    known = 0.0
    for o in own.itertuples():
        op = "  [operator]" if o.is_operator else ""
        parent = ""
        if isinstance(o.parent, str) and o.parent.strip():
            parent = f"  <- parent {o.parent} ({_fmt_pct(o.parent_share_pct)})"
        lines.append(f"    {o.owner}: {_fmt_pct(o.share_pct)}{op}{parent}")
        if not pd.isna(o.share_pct):
            known += float(o.share_pct)
    if not own.empty and known < 99.995:
        lines.append(f"    unknown: {100 - known:.2f}% (shares sum to {known:.2f}%)")
    if not own.empty:
        lines.append(f"  ownership as of {own['as_of'].iloc[0]}; source: {own['source'].iloc[0]}")
    return "\n".join(lines)
