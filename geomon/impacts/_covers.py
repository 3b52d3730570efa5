"""Resolve each footprint polygon's replaced cover to a row of table ``cover_classes``."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geomon.errors import ReferenceLayerError
from geomon.impacts._tables import FactorTables
from geomon.impacts.params import ImpactParams

__all__ = ["COVER_COLUMNS", "resolve_covers"]

_CLASSES = ("vegetation", "bare_disturbed", "water", "built_other")
_UNKNOWN_BY_CLASS = {
    "vegetation": "vegetation_unknown",
    "water": "water",
    "built_other": "other_unknown",
}
#: columns added to the footprint, copied from the cover table
COVER_COLUMNS = ("globio_land_use", "carbon_pool", "natural_vegetation", "natural_land")


def _cover_key(base_class: str, cover: str, known: set[str], params: ImpactParams) -> str:
    if base_class == "bare_disturbed":
        return "mine_land"
    if cover in known and cover not in ("vegetation_unknown", "other_unknown", "mine_land"):
        return cover
    if base_class == "vegetation" and params.unknown_vegetation_cover:
        return params.unknown_vegetation_cover
    return _UNKNOWN_BY_CLASS[base_class]


def resolve_covers(
    footprint: gpd.GeoDataFrame, tables: FactorTables, params: ImpactParams
) -> gpd.GeoDataFrame:
    """The footprint with ``cover_key`` and the cover table's columns (yes/no as booleans)."""
    bad = sorted(set(footprint["baseline_class"].astype(str)) - set(_CLASSES))
    if bad:
        raise ReferenceLayerError(
            f"footprint: unknown baseline_class {', '.join(bad)}; use {', '.join(_CLASSES)}"
        )
    table = tables["cover_classes"].frame.set_index("cover")
    known = set(table.index)
    covers = footprint["baseline_cover"].fillna("unknown").astype(str).str.lower()
    keys = [
        _cover_key(c, v, known, params)
        for c, v in zip(footprint["baseline_class"].astype(str), covers, strict=True)
    ]
    out = footprint.assign(cover_key=keys)
    for column in COVER_COLUMNS:
        values = pd.Series(table.loc[keys, column].to_numpy(), index=out.index)
        out[column] = values.eq("yes") if column.startswith("natural") else values
    return out
