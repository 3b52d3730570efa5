"""Projections and small geometry helpers.

Areas reported from the footprint use its ``area_ha`` (EPSG:6933). Areas of geometries the impact
stage derives (intersections with protected areas) are measured in EPSG:6933 too. Buffers,
distances, edge lengths, halo rings and core areas are computed in a local azimuthal equidistant
projection centred on the mine, where within 20 km of the centre distances are exact along radii
and areas are within 1e-5 of geodesic.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

__all__ = ["EQUAL_AREA", "area_ha", "local_crs", "to_crs", "union"]

EQUAL_AREA = CRS.from_epsg(6933)


def local_crs(lon: float, lat: float) -> CRS:
    """Azimuthal equidistant CRS (metres) centred on (lon, lat)."""
    return CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat:.6f} +lon_0={lon:.6f} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )


def to_crs(geom: BaseGeometry, src: CRS | str | int, dst: CRS | str | int) -> BaseGeometry:
    """One geometry moved between CRSs."""
    if geom.is_empty:
        return geom
    return gpd.GeoSeries([geom], crs=src).to_crs(dst).iloc[0]


def area_ha(geom: BaseGeometry, crs: CRS | str | int) -> float:
    """Area in hectares measured in EPSG:6933."""
    if geom.is_empty:
        return 0.0
    return float(gpd.GeoSeries([geom], crs=crs).to_crs(EQUAL_AREA).area.iloc[0]) / 1e4


def union(geoms: Iterable[BaseGeometry]) -> BaseGeometry:
    """Union of polygons (an empty polygon when there are none)."""
    items = [g for g in geoms if g is not None and not g.is_empty]
    if not items:
        return shapely.Polygon()
    return shapely.union_all(items)
