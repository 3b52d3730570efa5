"""Cloud-Optimized GeoTIFF writing (GDAL's COG driver through rasterio)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray

__all__ = ["COG_MEDIA_TYPE", "overview_count", "write_cog"]

COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
_MIN_OVERVIEW_PX = 64


def overview_count(width: int, height: int) -> int:
    """Number of internal overviews (x2, x4, ...): halve while the overview keeps >= 64 px."""
    side, count = max(width, height), 0
    while side / 2 ** (count + 1) >= _MIN_OVERVIEW_PX:
        count += 1
    return count


def write_cog(
    path: Path,
    data: NDArray[np.generic],
    transform: Affine,
    epsg: int,
    *,
    nodata: float | None,
    resampling: str = "average",
) -> None:
    """Write ``data`` ((y, x) or (bands, y, x)) as a DEFLATE-compressed, tiled COG with
    internal overviews (``resampling``: ``average`` for reflectance, ``nearest`` for codes)."""
    array = data[None] if data.ndim == 2 else data
    count, height, width = array.shape
    n_ov = overview_count(width, height)
    options: dict[str, object] = {
        "BLOCKSIZE": 256 if max(width, height) <= 4096 else 512,
        "COMPRESS": "DEFLATE",
        "PREDICTOR": "YES",
        "NUM_THREADS": 1,
        "BIGTIFF": "NO",
    }
    if n_ov:
        options |= {"OVERVIEW_COUNT": n_ov, "OVERVIEW_RESAMPLING": resampling.upper()}
    else:
        options["OVERVIEWS"] = "NONE"
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="COG",
        width=width,
        height=height,
        count=count,
        dtype=array.dtype.name,
        crs=f"EPSG:{epsg}",
        transform=transform,
        nodata=nodata,
        **options,
    ) as dst:
        dst.write(array)
