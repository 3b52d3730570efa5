"""Where a demo scene lies: the mine's UTM grid, its AOI mask, biome and mining style."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine
from numpy.typing import NDArray

from geomon.demo.biomes import Biome, choose_biome, choose_style
from geomon.errors import ConfigError

__all__ = ["SITE_HINTS", "Site", "make_site", "mine_fingerprint", "utm_epsg"]

#: Facts about the bundled demo mines that the registry does not hold (geography around them).
SITE_HINTS: dict[str, dict[str, str]] = {
    "weda_bay": {"coast": "south"},  # Weda Bay (Halmahera): the mine runs down to the sea
}

_POINT_BUFFER_M = 1500.0


@dataclass(frozen=True)
class Site:
    """A mine's scene: grid, AOI and what its landscape looks like."""

    mine_id: str
    name: str
    lon: float
    lat: float
    epsg: int
    """UTM zone of the AOI centroid (326NN north, 327NN south)."""
    transform: Affine
    """10 m grid, origin aligned to multiples of 20 m."""
    size: int
    """Scene side in 10 m pixels (even)."""
    aoi: NDArray[np.bool_]
    """AOI polygon rasterised on the 10 m grid."""
    radius_px: float
    """Radius of the simulated mine footprint, pixels."""
    biome: Biome
    style: str
    """``open_pit``, ``laterite``, ``brine`` or ``underground``."""
    commodities: tuple[str, ...]
    coast: str
    """Side of the scene where the sea is (``north``, ``south``, ``east``, ``west``) or ``""``."""
    key: int
    """Stable integer derived from ``mine_id`` (seeds this mine's random streams)."""

    @property
    def footprint_utm(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of the scene in the UTM CRS."""
        side = self.size * self.transform.a
        return (
            self.transform.c,
            self.transform.f - side,
            self.transform.c + side,
            self.transform.f,
        )


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone containing (lon, lat)."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def _text(row: pd.Series, column: str) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def mine_fingerprint(row: pd.Series) -> dict[str, Any]:
    """What of a registry row shapes the demo scene (part of the cache key)."""
    return {
        "mine_id": str(row["mine_id"]),
        "geometry": row.geometry.wkt if row.geometry is not None else "",
        "commodities": sorted(str(c) for c in row["commodities"]),
        "mine_type": _text(row, "mine_type"),
        "ecozone": _text(row, "ecozone"),
        "name": _text(row, "name"),
    }


def make_site(row: pd.Series, window_m: int) -> Site:
    """The scene of the registry mine ``row``: a ``window_m`` square centred on its AOI."""
    import geopandas as gpd
    from rasterio.features import rasterize

    mine_id = str(row["mine_id"])
    geom = row.geometry
    if geom is None or geom.is_empty:
        raise ConfigError(
            f"mine '{mine_id}' has no geometry; give it an AOI polygon in the registry"
        )
    centroid = geom.centroid
    epsg = utm_epsg(centroid.x, centroid.y)
    aoi = gpd.GeoSeries([geom], crs=4326).to_crs(epsg).iloc[0]
    if aoi.geom_type in ("Point", "MultiPoint", "LineString", "MultiLineString"):
        aoi = aoi.buffer(_POINT_BUFFER_M)
    cx, cy = aoi.centroid.x, aoi.centroid.y
    half = window_m / 2.0
    left = round((cx - half) / 20.0) * 20.0
    top = round((cy + half) / 20.0) * 20.0
    size = window_m // 10
    transform = Affine(10.0, 0.0, left, 0.0, -10.0, top)
    mask = rasterize([(aoi, 1)], out_shape=(size, size), transform=transform, fill=0).astype(bool)
    area_px = float(mask.sum()) if mask.any() else math.pi * (_POINT_BUFFER_M / 10.0) ** 2
    radius = float(np.clip(math.sqrt(area_px / math.pi), 0.15 * size, 0.40 * size))
    commodities = [str(c) for c in row["commodities"]]
    mine_type, name = _text(row, "mine_type"), _text(row, "name")
    biome = choose_biome(_text(row, "ecozone"), centroid.y, commodities, mine_type, name)
    return Site(
        mine_id=mine_id,
        name=name or mine_id,
        lon=float(centroid.x),
        lat=float(centroid.y),
        epsg=epsg,
        transform=transform,
        size=size,
        aoi=mask,
        radius_px=radius,
        biome=biome,
        style=choose_style(mine_type, commodities, name),
        commodities=tuple(commodities),
        coast=SITE_HINTS.get(mine_id, {}).get("coast", ""),
        key=zlib.crc32(mine_id.encode()),
    )
