"""Areas of interest: a mine's AOI polygon, its UTM zone, and the output pixel grid."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from odc.geo.geobox import GeoBox
from pyproj import Transformer
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry

from geomon.errors import ConfigError

if TYPE_CHECKING:
    from geomon.registry import Registry

__all__ = ["Aoi", "project_lonlat", "target_geobox", "utm_crs"]


def _unwrap(geometry: BaseGeometry) -> BaseGeometry:
    """Make a geometry that crosses the antimeridian contiguous (longitudes beyond 180)."""
    minx, _, maxx, _ = geometry.bounds
    if maxx - minx <= 180:
        return geometry
    shifted = shapely.transform(
        geometry, lambda xy: xy + ((xy[:, :1] < 0) * [360.0, 0.0]), include_z=False
    )
    return shapely.union_all(shapely.get_parts(shifted))


def _wrap_lon(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def utm_crs(lon: float, lat: float) -> str:
    """The WGS 84 / UTM zone CRS (``EPSG:326NN`` north, ``EPSG:327NN`` south) of a point."""
    zone = min(int((_wrap_lon(lon) + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


@dataclass(frozen=True)
class Aoi:
    """An area to read imagery over: a mine from the registry, or any polygon (``--aoi FILE``)."""

    name: str
    """The mine id, or a name for an area that is not in the registry (e.g. the file's stem)."""
    geometry: BaseGeometry
    """Polygon(s) in EPSG:4326. May cross the antimeridian (split parts or longitudes > 180)."""

    def __post_init__(self) -> None:
        if self.geometry.is_empty or self.geometry.geom_type not in ("Polygon", "MultiPolygon"):
            raise ConfigError(
                f"AOI '{self.name}' must be a non-empty polygon in EPSG:4326; "
                "buffer a point into a polygon first"
            )

    @classmethod
    def from_registry(cls, registry: Registry, mine_id: str) -> Aoi:
        """The AOI polygon of ``mine_id`` in ``registry``."""
        row = registry.mine(mine_id)
        return cls(mine_id, row["geometry"])

    @classmethod
    def from_file(cls, path: str | Path) -> Aoi:
        """The union of the polygons in a GeoJSON or GeoPackage file, named after the file."""
        import geopandas as gpd

        try:
            frame = gpd.read_file(path)
        except Exception as exc:
            raise ConfigError(
                f"cannot read AOI file {path}: {exc}; pass a GeoJSON or GeoPackage polygon"
            ) from exc
        if frame.empty:
            raise ConfigError(f"AOI file {path} holds no geometry; add a polygon")
        if frame.crs is not None:
            frame = frame.to_crs(4326)
        return cls(Path(path).stem, shapely.union_all(frame.geometry.to_numpy()))

    @property
    def unwrapped(self) -> BaseGeometry:
        """The geometry made contiguous across the antimeridian."""
        return _unwrap(self.geometry)

    @property
    def crosses_antimeridian(self) -> bool:
        """True when the AOI spans longitude 180."""
        minx, _, maxx, _ = self.unwrapped.bounds
        return maxx > 180.0 or minx < -180.0

    @property
    def crs(self) -> str:
        """The UTM zone of the AOI's centroid."""
        centre = self.unwrapped.centroid
        return utm_crs(centre.x, centre.y)

    def projected(self, crs: str | None = None) -> BaseGeometry:
        """The AOI in ``crs`` (default: its UTM zone)."""
        return project_lonlat(self.geometry, crs or self.crs)

    def search_geometry(self) -> BaseGeometry:
        """The AOI in EPSG:4326 split at the antimeridian, as STAC APIs expect."""
        geom = self.unwrapped
        if not self.crosses_antimeridian:
            return geom
        east = geom.intersection(box(-180.0, -90.0, 180.0, 90.0))
        west = geom.intersection(box(180.0, -90.0, 540.0, 90.0))
        west = shapely.transform(west, lambda xy: xy - [360.0, 0.0])
        return shapely.union_all([g for g in (east, west) if not g.is_empty])

    def geojson(self) -> dict[str, Any]:
        """The split search geometry as a GeoJSON mapping."""
        return dict(mapping(self.search_geometry()))


def project_lonlat(geometry: BaseGeometry, crs: str) -> BaseGeometry:
    """A lon/lat geometry (possibly crossing the antimeridian) projected to ``crs``."""
    to = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(_unwrap(geometry), lambda xy: np.column_stack(to.transform(*xy.T)))


def target_geobox(
    aoi: Aoi,
    resolution: float,
    align: float | None = None,
    anchor: tuple[float, float] = (0.0, 0.0),
    within: BaseGeometry | None = None,
) -> GeoBox:
    """The output grid: the AOI's bounds in its UTM zone, snapped outward to multiples of
    ``align`` (default ``resolution``) counted from ``anchor`` (a corner of the source pixel
    grid), so that coarser native bands nest exactly and source pixels need no resampling.

    ``within`` (in the AOI's UTM zone) narrows the grid to the bounds of the AOI's part inside
    it: the part of the AOI the source images at all."""
    step = align or resolution
    ax, ay = anchor[0] % step, anchor[1] % step
    area = aoi.projected()
    if within is not None and not within.is_empty:
        area = area.intersection(within)
    minx, miny, maxx, maxy = area.bounds
    bbox = (
        math.floor((minx - ax) / step) * step + ax,
        math.floor((miny - ay) / step) * step + ay,
        math.ceil((maxx - ax) / step) * step + ax,
        math.ceil((maxy - ay) / step) * step + ay,
    )
    return GeoBox.from_bbox(bbox, aoi.crs, resolution=resolution, tight=True)
