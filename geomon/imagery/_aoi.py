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
    def from_file(cls, path: str | Path, *, repair: bool = False) -> Aoi:
        """The union of the polygons in a GeoJSON or GeoPackage file, named after the file.

        The file must carry a CRS (GeoJSON is EPSG:4326 by specification; a GeoPackage layer
        without one is an error, never assumed to be lon/lat), and its coordinates must be
        plausible degrees once in EPSG:4326. Invalid polygons (self-intersections) are an error
        unless ``repair`` is true, which applies ``shapely.make_valid``."""
        import geopandas as gpd

        try:
            frame = gpd.read_file(path)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(
                f"cannot read AOI file {path}: {first}; pass a GeoJSON or GeoPackage polygon"
            ) from exc
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        if frame.empty:
            raise ConfigError(f"AOI file {path} holds no geometry; add a polygon")
        if frame.crs is None:
            raise ConfigError(
                f"AOI file {path} has no coordinate reference system; set one "
                "(e.g. ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg, or GeoDataFrame.set_crs) "
                "or save it as GeoJSON in lon/lat"
            )
        geoms = _valid_polygons(np.asarray(frame.geometry.to_numpy()), path, repair)
        try:
            lonlat = gpd.GeoSeries(geoms, crs=frame.crs).to_crs(4326).to_numpy()
        except Exception as exc:
            raise ConfigError(f"cannot reproject AOI file {path} to EPSG:4326: {exc}") from exc
        _check_degrees(shapely.total_bounds(lonlat), path, str(frame.crs))
        return cls(Path(path).stem, shapely.union_all(lonlat))

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


def _valid_polygons(geoms: np.ndarray, path: str | Path, repair: bool) -> np.ndarray:
    """The file's geometries, each valid; invalid ones are repaired only when asked."""
    bad = ~shapely.is_valid(geoms)
    if not bad.any():
        return geoms
    if not repair:
        first = int(np.flatnonzero(bad)[0])
        reason = shapely.is_valid_reason(geoms[first])
        raise ConfigError(
            f"AOI file {path}: feature {first} is not a valid polygon ({reason}); fix it "
            "(e.g. QGIS 'Fix geometries' or shapely.make_valid) or pass --repair-aoi"
        )
    fixed = shapely.make_valid(geoms)
    return np.array([_polygonal(g) for g in fixed], dtype=object)


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """The polygon parts of a repaired geometry (make_valid may add lines or points)."""
    parts = [p for p in shapely.get_parts(geometry) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _check_degrees(bounds: np.ndarray, path: str | Path, crs: str) -> None:
    """Coordinates that cannot be lon/lat degrees mean a CRS that does not match the data."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if not (-360.0 <= minx <= maxx <= 360.0 and -90.0 <= miny <= maxy <= 90.0):
        raise ConfigError(
            f"AOI file {path}: coordinates ({minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g}) are "
            f"not longitude/latitude degrees in its CRS {crs}; GeoJSON must be in EPSG:4326 "
            "lon/lat, so reproject the polygon or save it as a GeoPackage with its real CRS"
        )


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
