"""Typed, frozen options and records shared by every imagery source."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from geomon.errors import ConfigError
from geomon.imagery._aoi import Aoi

if TYPE_CHECKING:
    import xarray as xr
    from odc.geo.geobox import GeoBox

__all__ = [
    "CompositeOptions",
    "ImagerySource",
    "LoadOptions",
    "MaskOptions",
    "Query",
    "Scene",
    "block_sizes",
]

Sensor = Literal["sentinel-2", "landsat"]
Period = Literal["month", "quarter", "year"]
MaskMethod = Literal["auto", "scl", "qa_pixel", "spectral", "none"]


@dataclass(frozen=True)
class Query:
    """What to search for: an area, a date range and a cloud-cover ceiling."""

    aoi: Aoi
    """The area to cover; its centroid's UTM zone is the output CRS."""
    start: dt.date
    """First day, inclusive."""
    end: dt.date
    """Last day, inclusive."""
    max_cloud: float = 80.0
    """Skip scenes whose ``eo:cloud_cover`` (percent) is above this; scenes without it are kept."""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigError(f"end {self.end} is before start {self.start}; swap the dates")
        if not 0.0 <= self.max_cloud <= 100.0:
            raise ConfigError(f"max_cloud {self.max_cloud} must be a percentage in 0..100")

    def describe(self) -> str:
        """``mine_x 2021-01-01..2021-12-31`` for error messages."""
        return f"'{self.aoi.name}' {self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Scene:
    """One acquisition a source can load (a STAC item, a date of files, an Earth Engine image)."""

    id: str
    """The source's identifier (STAC item id, Earth Engine image id, or ``files:DATE``)."""
    datetime: dt.datetime
    """Acquisition time, UTC."""
    sensor: Sensor
    """``sentinel-2`` or ``landsat``."""
    bands: tuple[str, ...]
    """Canonical bands present (see ``BANDS``)."""
    resolution: tuple[tuple[str, float], ...]
    """Native resolution (m) per canonical band and per mask layer, as pairs."""
    cloud_cover: float | None = None
    """Percent cloudy, as the provider states it; None when unknown."""
    platform: str = ""
    """e.g. ``sentinel-2a``, ``landsat-9``."""
    mask_layer: str | None = None
    """The provider's cloud mask layer when present: ``scl`` or ``qa_pixel``."""
    scale: float = 1.0
    """Reflectance = DN * scale + offset."""
    offset: float = 0.0
    """See ``scale``; Sentinel-2 baseline >= 04.00 gives -0.1."""
    scaling_source: str = ""
    """Where scale and offset were read from (``raster:bands``, ``s2:processing_baseline``...)."""
    crs: str | None = None
    """CRS of the scene's rasters (``EPSG:32735``), when known."""
    origin: tuple[float, float] | None = None
    """Top-left corner (x, y) of the scene's pixel grid in ``crs``: output grids in the same
    CRS are anchored on it so that pixels line up without resampling (Landsat corners sit on
    odd multiples of 15 m)."""
    native: Any = field(default=None, compare=False, hash=False, repr=False)
    """The source's own object (a pystac Item, a mapping band -> file path, an ee.Image id)."""
    footprint: Any = field(default=None, compare=False, hash=False, repr=False)
    """The area the scene images, a shapely geometry in EPSG:4326 (STAC ``geometry``); None when
    unknown (then the scene is taken to cover the whole AOI)."""

    @property
    def native_resolution(self) -> dict[str, float]:
        """``resolution`` as a dict."""
        return dict(self.resolution)


@dataclass(frozen=True)
class MaskOptions:
    """How clear-sky pixels are chosen."""

    method: MaskMethod = "auto"
    """``auto`` uses the provider's mask (SCL, QA_PIXEL) when present and the spectral fallback otherwise."""
    scl_clear: tuple[int, ...] = (4, 5, 6)
    """Sentinel-2 SCL classes counted clear: vegetation, not vegetated, water."""
    keep_snow: bool = False
    """Count snow/ice (SCL 11, QA_PIXEL bit 5) as clear."""
    keep_unclassified: bool = False
    """Count SCL 7 (unclassified) as clear."""
    brightness: float = 0.2
    """Spectral fallback: mean visible reflectance above this may be cloud."""
    whiteness: float = 0.7
    """Spectral fallback: the spread of visible bands over their mean below this looks white (cloud)."""
    temporal_delta: float = 0.03
    """Spectral fallback: blue above (nir below) the pixel's median over time by more than this is
    cloud (shadow)."""


@dataclass(frozen=True)
class LoadOptions:
    """How to turn scenes into the imagery contract."""

    bands: tuple[str, ...] | None = None
    """Canonical bands required; None loads every band the source has."""
    resolution: float | None = None
    """Output pixel size in metres; None means the sensor's finest (10 m Sentinel-2, 30 m Landsat)."""
    chunk: int = 1024
    """Spatial chunk side in pixels at the output resolution (a multiple of the COG block, 512)."""
    mask: MaskOptions = MaskOptions()
    """Cloud masking."""
    group_by_day: bool = True
    """Merge scenes of the same solar day (adjacent tiles of one pass) into one time step."""
    chunk_offset: tuple[int, int] = (0, 0)
    """Pixels (y, x) by which the first block is shorter than ``chunk``, so that block edges
    fall on the source's COG block edges (set by the planner; 0 for a regular grid)."""

    def block_sizes(self, shape: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Block sizes along y and x of a grid of ``shape`` (height, width)."""
        return (
            block_sizes(shape[0], self.chunk, self.chunk_offset[0]),
            block_sizes(shape[1], self.chunk, self.chunk_offset[1]),
        )

    def __post_init__(self) -> None:
        if self.chunk < 32 or self.chunk % 16:
            raise ConfigError(f"chunk {self.chunk} must be a multiple of 16 and at least 32 pixels")
        if self.resolution is not None and self.resolution <= 0:
            raise ConfigError(f"resolution {self.resolution} must be positive (metres)")


def block_sizes(total: int, chunk: int, offset: int = 0) -> tuple[int, ...]:
    """``total`` pixels cut into blocks of ``chunk``, the first one ``offset`` shorter."""
    first = chunk - offset % chunk
    sizes = [min(first, total)]
    while sum(sizes) < total:
        sizes.append(min(chunk, total - sum(sizes)))
    return tuple(sizes)


@dataclass(frozen=True)
class CompositeOptions:
    """Per-period compositing."""

    period: Period = "month"
    """``month``, ``quarter`` or ``year``; each period's label is its first day."""
    min_coverage: float = 0.5
    """A period is flagged ``low_coverage`` when fewer than this fraction of pixels have a clear view."""
    date_view: bool = False
    """Also give each band's *date view* ``view_<band>``: per pixel, its value in the clear
    observation nearest the period's middle (the period's middle step, then outwards, the
    earlier first at equal distance), and where red and nir are given ``ndvi_mid``, the NDVI of
    their views. A model that carries a date view (:attr:`geomon.classify.PixelModel.date_view`)
    classifies it too, and one may read these as features
    (:attr:`geomon.classify.PixelModel.reads_date_view`); the band reads are shared with the
    medians'."""

    def __post_init__(self) -> None:
        if self.period not in ("month", "quarter", "year"):
            raise ConfigError(f"period '{self.period}' is not one of month, quarter, year")
        if not 0.0 <= self.min_coverage <= 1.0:
            raise ConfigError(f"min_coverage {self.min_coverage} must be a fraction in 0..1")


@runtime_checkable
class ImagerySource(Protocol):
    """Where imagery comes from. Sources are injected; tests pass a local one."""

    @property
    def name(self) -> str:
        """Short name used in messages and provenance (``demo``, ``earth-search``, ``files:...``)."""
        ...

    def search(self, query: Query) -> list[Scene]:
        """Scenes over ``query.aoi`` between its dates, sorted by time (may be empty)."""
        ...

    def load(
        self, scenes: Sequence[Scene], bands: Sequence[str], geobox: GeoBox, options: LoadOptions
    ) -> xr.Dataset:
        """A lazy Dataset on ``geobox``: dims ``(time, y, x)``; canonical ``bands`` as float32
        reflectance (NaN where there is no data), mask layers (``scl``, ``qa_pixel``) as stored.
        A coordinate ``item_ids`` along time lists the scene ids merged into each step, and the
        attr ``scaling`` where scale and offset came from."""
        ...
