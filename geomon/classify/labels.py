"""User reference data on the imagery grid: a label raster or labelled points/polygons.

A label raster holds contract codes (1 vegetation, 2 bare_disturbed, 3 water, 4 built_other;
0 and 255 are no data). A vector file (GeoJSON, GeoPackage...) needs a ``class`` column with
contract names or codes; points become the pixel they fall in, polygons every pixel they cover.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine

from geomon.classify.classes import CLASS_CODES, CLASS_NAMES
from geomon.errors import ConfigError

__all__ = ["NO_REFERENCE", "reference_on_grid"]

NO_REFERENCE = 255
_RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")


def reference_on_grid(
    path: str | Path, crs: str, transform: Affine, shape: tuple[int, int], column: str = "class"
) -> np.ndarray:
    """uint8 ``shape`` of contract codes 1..4 from ``path``; 255 where there is no reference."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"reference {path} not found; pass a label raster or a vector file")
    if path.suffix.lower() in _RASTER_SUFFIXES:
        out = _raster(path, crs, transform, shape)
    else:
        out = _vector(path, crs, transform, shape, column)
    out = np.where((out >= 1) & (out < len(CLASS_NAMES)), out, NO_REFERENCE).astype(np.uint8)
    if (out == NO_REFERENCE).all():
        raise ConfigError(
            f"reference {path} has no labelled pixel over the imagery; check its extent"
        )
    return out


def _raster(path: Path, crs: str, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    import rasterio
    from rasterio.warp import Resampling, reproject

    out = np.full(shape, NO_REFERENCE, np.uint8)
    with rasterio.open(path) as src:
        reproject(
            source=src.read(1),
            destination=out,
            src_transform=src.transform,
            src_crs=src.crs,
            src_nodata=src.nodata,
            dst_transform=transform,
            dst_crs=crs,
            dst_nodata=NO_REFERENCE,
            resampling=Resampling.nearest,
        )
    return out


def _code(value: object) -> int:
    if isinstance(value, str) and value.strip().lower() in CLASS_CODES:
        return CLASS_CODES[value.strip().lower()]
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ConfigError(
            f"reference class {value!r} is not a contract class; use one of {', '.join(CLASS_NAMES[1:])}"
        ) from None


def _vector(
    path: Path, crs: str, transform: Affine, shape: tuple[int, int], column: str
) -> np.ndarray:
    import geopandas as gpd
    from rasterio.features import rasterize

    frame = gpd.read_file(path)
    if column not in frame.columns:
        raise ConfigError(f"reference {path} has no '{column}' column; add one with class names")
    if frame.crs is None:
        raise ConfigError(f"reference {path} has no CRS; save it with one (EPSG:4326)")
    frame = frame.to_crs(crs)
    shapes = [(geom, _code(v)) for geom, v in zip(frame.geometry, frame[column], strict=True)]
    return rasterize(shapes, out_shape=shape, transform=transform, fill=NO_REFERENCE, dtype="uint8")
