"""Footprint against protected areas, Key Biodiversity Areas and World Heritage sites.

Hectares of footprint inside each area (by IUCN category for protected areas), the distance from
the footprint to the nearest area, and hectares of footprint within buffers around protected
areas. Overlapping areas of one layer are dissolved before measuring, so a hectare inside two
protected areas counts once in the total (the by-category figures can then add up to more).
Distances are measured in the mine's local azimuthal equidistant projection: exact to within
metres near the mine, approximate (about 1 %) for areas hundreds of kilometres away.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from geomon.impacts._geo import area_ha, grow, to_crs, union
from geomon.impacts.params import ImpactParams

__all__ = ["SPECS", "LayerSpec", "layer_columns"]


@dataclass(frozen=True)
class LayerSpec:
    """How one layer's figures are named."""

    kind: str
    """Layer kind (field of ImpactLayers)."""
    ha: str
    """Column of hectares inside."""
    hits: str
    """Column listing the areas the footprint touches."""
    distance: str
    """Column of the distance to the nearest area."""
    by_category: bool
    """Report hectares by IUCN category and within buffers (protected areas)."""


SPECS: tuple[LayerSpec, ...] = (
    LayerSpec(
        "protected_areas",
        "ha_in_protected",
        "protected_areas_hit",
        "distance_to_nearest_pa_m",
        True,
    ),
    LayerSpec("kba", "ha_in_kba", "kba_hit", "distance_to_nearest_kba_m", False),
    LayerSpec(
        "world_heritage",
        "ha_in_world_heritage",
        "world_heritage_hit",
        "distance_to_nearest_world_heritage_m",
        False,
    ),
)


def _empty(spec: LayerSpec, buffers: tuple[float, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {spec.ha: math.nan, spec.hits: "", spec.distance: math.nan}
    if spec.by_category:
        out.update(
            ha_in_protected_by_iucn="{}",
            ha_within_buffer=math.nan,
            ha_within_buffer_m=buffers[0],
            ha_within_buffers="{}",
        )
    return out


def _eligible(layer: gpd.GeoDataFrame, statuses: tuple[str, ...]) -> gpd.GeoDataFrame:
    if "STATUS" not in layer.columns:
        return layer
    return layer[layer["STATUS"].astype(str).isin(statuses)]


def _window(layer: gpd.GeoDataFrame, bounds4326: tuple, lat: float, radius_m: float) -> Any:
    """Rows whose bounding box is within ``radius_m`` of the footprint's (conservative in degrees)."""
    dlat = radius_m / 110_500.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(min(abs(lat) + dlat, 89.0))), 1e-3))
    minx, miny, maxx, maxy = bounds4326
    box = shapely.box(minx - dlon, max(miny - dlat, -90), maxx + dlon, min(maxy + dlat, 90))
    return layer.iloc[layer.sindex.query(box, predicate="intersects")]


def _candidates(
    layer: gpd.GeoDataFrame, geom_local: BaseGeometry, local: CRS, start_m: float, max_m: float
) -> tuple[gpd.GeoDataFrame, float]:
    """Areas within ``start_m`` of the footprint, in the local CRS, and the distance to the
    nearest area (searching outward up to ``max_m``; inf when none is that close)."""
    geom4326 = to_crs(geom_local, local, 4326)
    lat = geom4326.centroid.y
    radius = min(start_m, max_m)
    while True:
        near = _window(layer, geom4326.bounds, lat, max(radius, start_m)).to_crs(local)
        distances = near.distance(geom_local)
        nearest = float(distances.min()) if len(near) else math.inf
        if nearest <= radius or radius >= max_m:
            within = near[distances <= start_m]
            return within, nearest if nearest <= max_m else math.inf
        radius = min(radius * 4.0, max_m)


def _present(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and math.isnan(value))
        and bool(str(value))
    )


def _label(row: Any) -> str:
    """``NAME (WDPAID n, IUCN cat)``, leaving out what the layer does not give."""
    parts = []
    if "WDPAID" in row and _present(row["WDPAID"]):
        parts.append(f"WDPAID {row['WDPAID']}")
    if "IUCN_CAT" in row and _present(row["IUCN_CAT"]):
        parts.append(f"IUCN {row['IUCN_CAT']}")
    return f"{row['NAME']} ({', '.join(parts)})" if parts else str(row["NAME"])


def layer_columns(
    spec: LayerSpec,
    layer: gpd.GeoDataFrame | None,
    disturbed_local: BaseGeometry,
    local: CRS,
    params: ImpactParams,
) -> tuple[dict[str, Any], list[str]]:
    """The columns of one layer for the disturbance of one period (in the local CRS)."""
    buffers = params.pa_buffers_m
    if layer is None:
        return _empty(spec, buffers), [f"{spec.kind}: not assessed (no layer given)"]
    if disturbed_local.is_empty:
        zero = _empty(spec, buffers)
        zero[spec.ha] = 0.0
        if spec.by_category:
            zero["ha_within_buffer"] = 0.0
            zero["ha_within_buffers"] = json.dumps({str(int(b)): 0.0 for b in buffers})
        return zero, []
    eligible = _eligible(layer, params.pa_statuses)
    reach = params.nearest_search_m
    near, nearest = _candidates(eligible, disturbed_local, local, max(buffers), reach)
    inside = near[near.intersects(disturbed_local)]
    out: dict[str, Any] = {
        spec.ha: area_ha(disturbed_local.intersection(union(inside.geometry)), local),
        spec.hits: "; ".join(sorted(_label(r) for _, r in inside.iterrows())),
        spec.distance: nearest if math.isfinite(nearest) else math.nan,
    }
    notes = []
    if not math.isfinite(nearest):
        notes.append(f"{spec.kind}: none within {reach / 1000:g} km of the footprint")
    if spec.by_category:
        out.update(_by_category(inside, disturbed_local, local))
        out.update(_within_buffers(near, disturbed_local, local, buffers))
    return out, notes


def _by_category(inside: gpd.GeoDataFrame, disturbed: BaseGeometry, local: CRS) -> dict[str, Any]:
    by_cat = {
        str(cat): round(area_ha(disturbed.intersection(union(group.geometry)), local), 6)
        for cat, group in inside.groupby("IUCN_CAT")
    }
    return {"ha_in_protected_by_iucn": json.dumps(dict(sorted(by_cat.items())))}


def _within_buffers(
    near: gpd.GeoDataFrame, disturbed: BaseGeometry, local: CRS, buffers: tuple[float, ...]
) -> dict[str, Any]:
    minx, miny, maxx, maxy = disturbed.bounds
    values: dict[str, float] = {}
    for b in buffers:
        clip = shapely.box(minx - b, miny - b, maxx + b, maxy + b)
        zone = union(grow(g.intersection(clip), b) for g in near.geometry)
        values[str(int(b))] = area_ha(disturbed.intersection(zone), local)
    first = values[str(int(buffers[0]))]
    return {
        "ha_within_buffer": first,
        "ha_within_buffer_m": buffers[0],
        "ha_within_buffers": json.dumps(values),
    }
