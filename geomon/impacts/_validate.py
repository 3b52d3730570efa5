"""Checks on the inputs of the impact stage; every failure is one line naming the layer and the fix."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geomon.errors import MissingEcozoneError, ReferenceLayerError

__all__ = [
    "FOOTPRINT_COLUMNS",
    "LAYER_COLUMNS",
    "normalize_continent",
    "normalize_ecozone",
    "validate_footprint",
    "validate_layer",
    "validate_mine",
]

#: Columns a reference layer of each kind must have (besides geometry), WDPA's spelling.
LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "protected_areas": ("WDPAID", "NAME", "IUCN_CAT"),
    "kba": ("NAME",),
    "world_heritage": ("NAME",),
}

FOOTPRINT_COLUMNS: tuple[str, ...] = (
    "mine_id",
    "period",
    "period_start",
    "period_end",
    "status",
    "first_seen",
    "baseline_class",
    "area_ha",
)
_STATUSES = frozenset({"new", "persisting", "rehabilitated"})

_CONTINENTS: dict[str, str] = {
    "africa": "africa",
    "americas": "americas",
    "america": "americas",
    "north america": "americas",
    "south america": "americas",
    "central america": "americas",
    "latin america": "americas",
    "asia": "asia",
    "europe": "europe",
    "oceania": "oceania",
    "australia": "oceania",
    "australasia": "oceania",
}
_DROP_WORDS = frozenset({"forest", "forests", "system", "systems", "zone", "deciduous", "wet"})


def normalize_ecozone(name: str) -> str:
    """``"Tropical moist deciduous forest"`` -> ``tropical_moist``; unknown names come back slugified."""
    text = name.lower().replace("sub-tropical", "subtropical").replace("rain forest", "rainforest")
    words = [w for w in re.split(r"[^a-z]+", text) if w and w not in _DROP_WORDS]
    return "_".join(words)


def normalize_continent(name: str) -> str:
    """Continent as the factor tables spell it (africa, americas, asia, europe, oceania)."""
    key = " ".join(name.lower().replace("_", " ").split())
    return _CONTINENTS.get(key, key)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def validate_mine(mine: Mapping[str, Any], ecozones: list[str]) -> tuple[str, str]:
    """(ecozone, continent) of a registry row, canonical; raises :class:`MissingEcozoneError`."""
    mine_id = mine.get("mine_id", "?")
    fix = (
        "add a row (mine_id, ecozone, continent, source) to the registry's ecozones.csv "
        "or set the mine's ecozone and continent columns"
    )
    if _missing(mine.get("ecozone")):
        raise MissingEcozoneError(f"ecozones layer: mine '{mine_id}' has no ecozone; {fix}")
    if _missing(mine.get("continent")):
        raise MissingEcozoneError(f"ecozones layer: mine '{mine_id}' has no continent; {fix}")
    ecozone = normalize_ecozone(str(mine["ecozone"]))
    if ecozone not in ecozones:
        raise MissingEcozoneError(
            f"ecozones layer: mine '{mine_id}' has unknown ecozone '{mine['ecozone']}'; "
            f"use an FAO/IPCC global ecological zone ({', '.join(ecozones)})"
        )
    geom = mine.get("geometry")
    if geom is None or not hasattr(geom, "is_empty") or geom.is_empty:
        raise ReferenceLayerError(
            f"mine registry: mine '{mine_id}' has no AOI geometry; give it a polygon in EPSG:4326"
        )
    return ecozone, normalize_continent(str(mine["continent"]))


def validate_layer(
    layer: Any, kind: str, *, repair: bool = False, required: tuple[str, ...] | None = None
) -> gpd.GeoDataFrame:
    """A checked copy of a WDPA-like layer in EPSG:4326 (invalid geometries repaired only when asked)."""
    if not isinstance(layer, gpd.GeoDataFrame):
        raise ReferenceLayerError(
            f"{kind} layer: expected a GeoDataFrame, got {type(layer).__name__}; "
            "read it with geopandas.read_file(path)"
        )
    _check_crs(layer, kind)
    columns = LAYER_COLUMNS.get(kind, ()) if required is None else required
    absent = [c for c in columns if c not in layer.columns]
    if absent:
        raise ReferenceLayerError(
            f"{kind} layer: missing column(s) {', '.join(absent)}; the layer must follow WDPA's "
            f"column layout ({', '.join(columns)}, geometry)"
        )
    layer = _check_geometries(layer, kind, repair=repair)
    return layer.to_crs(4326) if not layer.crs.equals("EPSG:4326") else layer


def _check_crs(layer: gpd.GeoDataFrame, kind: str) -> None:
    if layer.crs is None:
        raise ReferenceLayerError(
            f"{kind} layer: no CRS; set it with layer.set_crs('EPSG:4326') "
            "(WDPA, KBA and World Heritage files are EPSG:4326)"
        )
    if layer.crs.is_geographic and len(layer) and not layer.geometry.is_empty.all():
        minx, miny, maxx, maxy = layer.total_bounds
        if minx < -180.5 or maxx > 180.5 or miny < -90.5 or maxy > 90.5:
            raise ReferenceLayerError(
                f"{kind} layer: CRS says {layer.crs.to_string()} (degrees) but coordinates reach "
                f"({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}); set the true CRS with "
                "layer.set_crs(..., allow_override=True)"
            )


def _check_geometries(layer: gpd.GeoDataFrame, kind: str, *, repair: bool) -> gpd.GeoDataFrame:
    geoms = layer.geometry
    null = geoms.isna() | geoms.is_empty
    if null.any():
        raise ReferenceLayerError(
            f"{kind} layer: {int(null.sum())} row(s) without geometry (first at row "
            f"{_first(null, layer)}); drop them before passing the layer"
        )
    polygonal = geoms.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.all():
        raise ReferenceLayerError(
            f"{kind} layer: {int((~polygonal).sum())} non-polygon geometries (first at row "
            f"{_first(~polygonal, layer)}); keep polygons only (WDPA's point layer has no extent)"
        )
    nonfinite = _nonfinite(geoms)
    if nonfinite.any():
        raise ReferenceLayerError(
            f"{kind} layer: {int(nonfinite.sum())} geometries with non-finite coordinates "
            f"(inf/nan; first at row {_first(nonfinite, layer)}) in {layer.crs.to_string()}: "
            "they lie where that CRS cannot represent them (typically a global layer reprojected "
            "into a local UTM zone); pass the layer in EPSG:4326, as WDPA ships it, or drop the "
            "features outside the CRS's area of use"
        )
    invalid = ~geoms.is_valid
    if not invalid.any():
        return layer
    if not repair:
        first = _first(invalid, layer)
        reason = shapely.is_valid_reason(geoms[invalid].iloc[0])
        raise ReferenceLayerError(
            f"{kind} layer: {int(invalid.sum())} invalid geometries (first at row {first}: "
            f"{reason}); repair them with shapely.make_valid or ImpactParams(repair_layers=True)"
        )
    fixed = layer.copy()
    fixed.loc[invalid, fixed.geometry.name] = shapely.make_valid(geoms[invalid].to_numpy())
    fixed[fixed.geometry.name] = fixed.geometry.apply(_polygonal_part)
    return fixed


def _nonfinite(geoms: gpd.GeoSeries) -> pd.Series:
    """Rows with any inf/nan coordinate (a projection failure, not an invalid shape)."""
    flags = [
        not bool(np.isfinite(shapely.get_coordinates(g)).all()) if g is not None else False
        for g in geoms
    ]
    return pd.Series(flags, index=geoms.index)


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of a repaired geometry (make_valid can return a collection with lines)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _first(mask: pd.Series, layer: pd.DataFrame) -> str:
    label = mask[mask].index[0]
    for column in ("WDPAID", "NAME"):
        if column in layer.columns and not _missing(layer.loc[label, column]):
            return f"{label} ({column} {layer.loc[label, column]})"
    return str(label)


def validate_footprint(footprint: Any, mine_id: str) -> gpd.GeoDataFrame:
    """The footprint of docs/contracts.md, checked; ``baseline_cover`` added as unknown if absent."""
    where = f"footprint of '{mine_id}'"
    if not isinstance(footprint, gpd.GeoDataFrame):
        raise ReferenceLayerError(
            f"{where}: expected a GeoDataFrame, got {type(footprint).__name__}; "
            "pass the frame geomon.footprint returns"
        )
    if footprint.crs is None:
        raise ReferenceLayerError(
            f"{where}: no CRS; set the mine's UTM CRS with footprint.set_crs(...)"
        )
    absent = [c for c in FOOTPRINT_COLUMNS if c not in footprint.columns]
    if absent:
        raise ReferenceLayerError(
            f"{where}: missing column(s) {', '.join(absent)}; see docs/contracts.md 'Footprint'"
        )
    bad = sorted(set(footprint["status"].astype(str)) - _STATUSES)
    if bad:
        raise ReferenceLayerError(
            f"{where}: unknown status {', '.join(bad)}; use new, persisting or rehabilitated"
        )
    invalid = ~footprint.geometry.is_valid | footprint.geometry.isna()
    if invalid.any():
        raise ReferenceLayerError(
            f"{where}: {int(invalid.sum())} invalid or missing geometries; "
            "repair them with shapely.make_valid before computing impacts"
        )
    if "baseline_cover" not in footprint.columns:
        footprint = footprint.assign(baseline_cover="unknown")
    return footprint
