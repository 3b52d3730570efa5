"""Rasters of footprint status to polygons: minimum mapping unit, AOI clip, equal-area hectares."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
from affine import Affine
from scipy import ndimage
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

__all__ = ["EQUAL_AREA_CRS", "aoi_mask", "area_ha", "drop_small_patches", "vectorize"]

#: the equal-area CRS areas are measured in (WGS 84 / NSIDC EASE-Grid 2.0 Global); within
#: 0.001 % of the geodesic area, where UTM planar is -0.08 % and spherical Mollweide -0.12 %
EQUAL_AREA_CRS = "EPSG:6933"
_EIGHT = np.ones((3, 3), bool)


def aoi_mask(aoi: BaseGeometry, shape_: tuple[int, int], transform: Affine) -> np.ndarray:
    """bool ``(y, x)``: pixels touching ``aoi`` (in the raster's CRS); the exact edge is clipped later."""
    return rasterio.features.geometry_mask(
        [aoi], out_shape=shape_, transform=transform, invert=True, all_touched=True
    )


def drop_small_patches(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """``mask`` without its 8-connected patches smaller than ``min_pixels``."""
    if min_pixels <= 1 or not mask.any():
        return mask
    labels, n = ndimage.label(mask, structure=_EIGHT)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[labels]


def _shapes(
    keys: np.ndarray, mask: np.ndarray, transform: Affine
) -> Iterator[tuple[BaseGeometry, int]]:
    for geom, value in rasterio.features.shapes(
        keys.astype(np.int32), mask=mask, transform=transform, connectivity=4
    ):
        yield shape(geom), int(value)


def vectorize(
    keys: np.ndarray, mask: np.ndarray, transform: Affine, aoi: BaseGeometry | None
) -> tuple[list[BaseGeometry], list[int]]:
    """Polygons of equal ``keys`` under ``mask`` (4-connected, so always valid), clipped to ``aoi``."""
    geoms: list[BaseGeometry] = []
    values: list[int] = []
    for geom, value in _shapes(keys, mask, transform):
        geoms.append(geom)
        values.append(value)
    if aoi is not None and geoms:
        arr = np.asarray(geoms, dtype=object)
        inside = shapely.covered_by(arr, aoi)
        clipped = np.where(inside, arr, shapely.intersection(arr, aoi))
        polygonal = [_polygonal(g) for g in clipped]
        keep = [i for i, g in enumerate(polygonal) if g is not None and not g.is_empty]
        geoms = [g for g in (polygonal[i] for i in keep) if g is not None]
        values = [values[i] for i in keep]
    return geoms, values


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """Keep only the polygon parts of a clip result (drop slivers reduced to lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(parts) if parts else None
    return None


def area_ha(geoms: gpd.GeoSeries) -> np.ndarray:
    """Area of each geometry in hectares, measured in :data:`EQUAL_AREA_CRS`."""
    if geoms.crs is None:
        raise ValueError("geometries need a CRS to measure area")
    return np.asarray(geoms.to_crs(EQUAL_AREA_CRS).area, dtype=np.float64) / 10_000.0
