"""Hand-made inputs for the impact tests: mines, footprints and WDPA-like layers built from
squares in a local metric projection around a chosen point (no files, no network)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from geomon.impacts._geo import local_crs, to_crs
from geomon.impacts._periods import label_bounds

LON, LAT = 25.4, -10.7  # Kolwezi area; UTM 35S
UTM = "EPSG:32735"


def local(lon: float = LON, lat: float = LAT) -> CRS:
    """Metric CRS the test shapes are drawn in (the same one the impact stage uses)."""
    return local_crs(lon, lat)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def make_mine(
    mine_id: str = "m1",
    *,
    lon: float = LON,
    lat: float = LAT,
    half_m: float = 3000.0,
    ecozone: Any = "Tropical rainforest",
    continent: Any = "Africa",
    country: str = "COD",
    commodities: tuple[str, ...] = ("copper",),
    **extra: Any,
) -> dict[str, Any]:
    """A registry row whose AOI is a square of 2*half_m around (lon, lat)."""
    aoi = to_crs(box(-half_m, -half_m, half_m, half_m), local(lon, lat), 4326)
    return {
        "mine_id": mine_id,
        "name": mine_id.replace("_", " ").title(),
        "country": country,
        "commodities": list(commodities),
        "ecozone": ecozone,
        "continent": continent,
        "geometry": aoi,
        **extra,
    }


def make_footprint(
    rows: list[dict[str, Any]],
    mine_id: str = "m1",
    *,
    crs: CRS | None = None,
    out_crs: Any = UTM,
) -> gpd.GeoDataFrame:
    """A footprint (docs/contracts.md) from rows with ``geometry`` drawn in ``crs`` (default: the
    local CRS); ``area_ha`` is measured in EPSG:6933 and the frame is returned in ``out_crs``
    (UTM 35S by default, like geomon.footprint returns a mine's UTM zone)."""
    crs = crs or local()
    records = []
    for row in rows:
        period = str(row.get("period", "2021"))
        start, end = label_bounds(period)
        records.append(
            {
                "mine_id": mine_id,
                "period": period,
                "period_start": pd.Timestamp(start),
                "period_end": pd.Timestamp(end),
                "status": row.get("status", "new"),
                "first_seen": str(row.get("first_seen", period)),
                "baseline_class": row.get("baseline_class", "vegetation"),
                "baseline_cover": row.get("baseline_cover", "forest"),
                "geometry": row["geometry"],
            }
        )
    gdf = gpd.GeoDataFrame(records, geometry="geometry", crs=crs)
    gdf["area_ha"] = gdf.geometry.to_crs(6933).area / 1e4
    return gdf.to_crs(out_crs)


def make_layer(
    shapes: list[tuple[shapely.Geometry, dict[str, Any]]], *, crs: CRS | None = None
) -> gpd.GeoDataFrame:
    """A WDPA-like layer (EPSG:4326) from (geometry in local CRS, attributes) pairs."""
    records = []
    for i, (geom, attrs) in enumerate(shapes):
        base = {
            "WDPAID": 1000 + i,
            "NAME": f"Area {i}",
            "DESIG_ENG": "National Park",
            "IUCN_CAT": "II",
            "ISO3": "COD",
            "STATUS": "Designated",
            "STATUS_YR": 2000,
        }
        records.append({**base, **attrs, "geometry": geom})
    return gpd.GeoDataFrame(records, geometry="geometry", crs=crs or local()).to_crs(4326)
