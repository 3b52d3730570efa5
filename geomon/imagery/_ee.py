"""Google Earth Engine (optional extra ``geomon[earthengine]``) through the pixel endpoints.

Search asks Earth Engine for the images' ids, times and cloud cover (``computeValue``); loading
builds one dask task per time step and spatial chunk that fetches all bands of that chunk on
exactly the output grid (``computePixels``, NUMPY_NDARRAY). The calls go through an injected
:class:`EeBackend`: :class:`LiveEe` initialises Earth Engine lazily, in the process that first
needs it, so building graphs and tests never touch the service.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import dask.array as da
import numpy as np
import xarray as xr
from dask.highlevelgraph import HighLevelGraph
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

from geomon._lazy import lazy_import
from geomon.errors import ConfigError, ImagerySourceError
from geomon.imagery._bands import BANDS, LANDSAT_OFFSET, LANDSAT_SCALE, S2_NATIVE_RESOLUTION
from geomon.imagery._stac import solar_day, with_scaling
from geomon.imagery._types import LoadOptions, Query, Scene, Sensor

__all__ = ["COLLECTIONS", "EarthEngineSource", "EeBackend", "EeCollection", "LiveEe"]


@dataclass(frozen=True)
class EeCollection:
    """An Earth Engine image collection and how its bands map to the contract."""

    id: str
    """Asset id, e.g. ``COPERNICUS/S2_SR_HARMONIZED``."""
    sensor: Sensor
    """``sentinel-2`` or ``landsat``."""
    bands: tuple[tuple[str, str], ...]
    """(canonical band or mask layer, Earth Engine band name) pairs."""
    cloud_property: str
    """Image property with the percent cloud cover."""
    scale: float
    """Reflectance = DN * scale + offset (S2_SR_HARMONIZED is already offset-corrected)."""
    offset: float
    """See ``scale``."""
    mask_layer: str
    """``scl`` or ``qa_pixel``."""


_S2 = EeCollection(
    "COPERNICUS/S2_SR_HARMONIZED",
    "sentinel-2",
    (("blue", "B2"), ("green", "B3"), ("red", "B4"), ("nir", "B8"), ("rededge1", "B5"),
     ("rededge2", "B6"), ("rededge3", "B7"), ("nir08", "B8A"), ("swir16", "B11"),
     ("swir22", "B12"), ("scl", "SCL")),
    "CLOUDY_PIXEL_PERCENTAGE",
    1e-4,
    0.0,
    "scl",
)  # fmt: skip
_LANDSAT = EeCollection(
    "LANDSAT/LC09/C02/T1_L2",
    "landsat",
    (("blue", "SR_B2"), ("green", "SR_B3"), ("red", "SR_B4"), ("nir", "SR_B5"), ("nir08", "SR_B5"),
     ("swir16", "SR_B6"), ("swir22", "SR_B7"), ("qa_pixel", "QA_PIXEL")),
    "CLOUD_COVER",
    LANDSAT_SCALE,
    LANDSAT_OFFSET,
    "qa_pixel",
)  # fmt: skip
#: named collections: ``earthengine`` (Sentinel-2) and ``earthengine:landsat``
COLLECTIONS = {"sentinel-2": _S2, "landsat": _LANDSAT}


class EeBackend(Protocol):
    """The two Earth Engine calls geomon makes."""

    def compute_value(self, expression: Any) -> Any:
        """Evaluate an ee object (``ee.data.computeValue``)."""
        ...

    def compute_pixels(self, params: dict[str, Any]) -> np.ndarray:
        """Fetch pixels (``ee.data.computePixels`` with ``fileFormat`` NUMPY_NDARRAY)."""
        ...


def _ensure_ready(backend: EeBackend) -> None:
    """Initialise the backend's Earth Engine client, if it has one, before any ee object is built
    (``ee.ImageCollection(...)`` itself fails on an uninitialised client)."""
    initialize = getattr(backend, "initialize", None)
    if callable(initialize):
        initialize()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class LiveEe:
    """The real service. Initialises Earth Engine on first use in each process (credentials
    from ``earthengine authenticate`` or the environment)."""

    project: str | None = field(default_factory=lambda: os.environ.get("EARTHENGINE_PROJECT"))
    """Google Cloud project for Earth Engine requests (env EARTHENGINE_PROJECT); None uses the
    credentials' default."""

    def initialize(self) -> None:
        """Initialise Earth Engine in this process unless already done; a failure becomes an
        :class:`ImagerySourceError` that says how to authenticate."""
        self._ee()

    def _ee(self) -> Any:
        ee = lazy_import("ee")
        if not ee.data.is_initialized():
            try:
                ee.Initialize(project=self.project)
            except Exception as exc:
                raise ImagerySourceError(
                    f"cannot initialise Earth Engine ({_one_line(exc)}); authenticate with "
                    "'earthengine authenticate' (or set GOOGLE_APPLICATION_CREDENTIALS to a "
                    "service-account key) and set EARTHENGINE_PROJECT to your Cloud project"
                ) from exc
        return ee

    def compute_value(self, expression: Any) -> Any:
        """See :class:`EeBackend`."""
        return self._ee().data.computeValue(expression)

    def compute_pixels(self, params: dict[str, Any]) -> np.ndarray:
        """See :class:`EeBackend`."""
        return np.asarray(self._ee().data.computePixels(params))


def _footprint(query: Query) -> Any:
    ee = lazy_import("ee")
    return ee.Geometry(query.aoi.geojson(), geodesic=False)


class EarthEngineSource:
    """``COPERNICUS/S2_SR_HARMONIZED`` or Landsat C2 L2 from Earth Engine."""

    def __init__(self, collection: EeCollection = _S2, backend: EeBackend | None = None) -> None:
        self.collection = collection
        self.backend: EeBackend = backend or LiveEe()

    @classmethod
    def named(cls, spec: str) -> EarthEngineSource:
        """``earthengine`` (Sentinel-2) or ``earthengine:landsat``."""
        _, _, which = spec.partition(":")
        if (which or "sentinel-2") not in COLLECTIONS:
            raise ConfigError(
                f"unknown Earth Engine collection '{which}'; use sentinel-2 or landsat"
            )
        return cls(COLLECTIONS[which or "sentinel-2"])

    @property
    def name(self) -> str:
        """``earthengine:<collection id>``."""
        return f"earthengine:{self.collection.id}"

    def search_expression(self, query: Query) -> Any:
        """The ee list of [system:index, system:time_start, cloud] over the query (no call made)."""
        ee = lazy_import("ee")
        prop = self.collection.cloud_property
        images = (
            ee.ImageCollection(self.collection.id)
            .filterBounds(_footprint(query))
            .filterDate(query.start.isoformat(), (query.end + dt.timedelta(days=1)).isoformat())
            .filter(ee.Filter.lte(prop, query.max_cloud))
        )
        columns = ["system:index", "system:time_start", prop]
        return images.reduceColumns(ee.Reducer.toList(len(columns)), columns).get("list")

    def search(self, query: Query) -> list[Scene]:
        """Images over the query's area and dates."""
        _ensure_ready(self.backend)
        rows = self.backend.compute_value(self.search_expression(query))
        scenes = [self._scene(str(i), float(ms), cloud) for i, ms, cloud in rows]
        return sorted(scenes, key=lambda s: (s.datetime, s.id))

    def _scene(self, index: str, millis: float, cloud: Any) -> Scene:
        c = self.collection
        names = dict(c.bands)
        res = 30.0 if c.sensor == "landsat" else None
        return Scene(
            id=f"{c.id}/{index}",
            datetime=dt.datetime.fromtimestamp(millis / 1000.0, tz=dt.UTC),
            sensor=c.sensor,
            bands=tuple(b for b in BANDS if b in names),
            resolution=tuple((b, res or S2_NATIVE_RESOLUTION.get(b, 10.0)) for b in names),
            cloud_cover=None if cloud is None else float(cloud),
            platform=c.id,
            mask_layer=c.mask_layer,
            scale=c.scale,
            offset=c.offset,
            scaling_source=f"earthengine:{c.id}",
            native=f"{c.id}/{index}",
        )

    def load(
        self, scenes: Sequence[Scene], bands: Sequence[str], geobox: GeoBox, options: LoadOptions
    ) -> xr.Dataset:
        """See :class:`ImagerySource`: one computePixels request per time step and chunk."""
        _ensure_ready(self.backend)
        lon = geobox.extent.centroid.to_crs("EPSG:4326").coords[0][0]
        groups: dict[dt.date, list[Scene]] = {}
        for s in scenes:
            groups.setdefault(solar_day(s.datetime, lon), []).append(s)
        steps = [groups[d] for d in sorted(groups)]
        names = dict(self.collection.bands)
        exprs = [_mosaic_json(step, [names[b] for b in bands], list(bands)) for step in steps]
        blocks = options.block_sizes((geobox.shape.y, geobox.shape.x))
        cube = _pixel_array(self.backend, exprs, list(bands), geobox, blocks)
        return _dataset(cube, steps, list(bands), geobox)


def _mosaic_json(step: Sequence[Scene], ee_names: list[str], canonical: list[str]) -> str:
    ee = lazy_import("ee")
    images = ee.ImageCollection.fromImages([ee.Image(s.native) for s in step])
    image = images.mosaic().select(ee_names, canonical).toUint16()
    return str(ee.serializer.toJSON(image))


def _grid(geobox: GeoBox) -> dict[str, Any]:
    a = geobox.affine
    return {
        "dimensions": {"width": geobox.shape.x, "height": geobox.shape.y},
        "affineTransform": {"scaleX": a.a, "shearX": a.b, "translateX": a.c,
                            "shearY": a.d, "scaleY": a.e, "translateY": a.f},
        "crsCode": str(geobox.crs),
    }  # fmt: skip


def fetch_block(
    backend: EeBackend, expression: str, bands: list[str], grid: dict[str, Any]
) -> np.ndarray:
    """One computePixels call: a (1, band, y, x) uint16 block."""
    ee = lazy_import("ee")
    params = {"expression": ee.deserializer.fromJSON(expression), "fileFormat": "NUMPY_NDARRAY",
              "grid": grid, "bandIds": bands}  # fmt: skip
    try:
        pixels = backend.compute_pixels(params)
    except ImagerySourceError:
        raise
    except Exception as exc:
        raise ImagerySourceError(
            f"Earth Engine computePixels failed: {exc}; retry later or use smaller chunks"
        ) from exc
    return np.stack([np.asarray(pixels[b], dtype=np.uint16) for b in bands])[None]


def _pixel_array(
    backend: EeBackend,
    exprs: list[str],
    bands: list[str],
    geobox: GeoBox,
    blocks: tuple[tuple[int, ...], tuple[int, ...]],
) -> da.Array:
    from dask.base import tokenize

    name = f"ee-pixels-{tokenize(exprs, bands, geobox.affine, geobox.shape, blocks)}"
    ys, xs = blocks
    y0s, x0s = np.cumsum((0, *ys[:-1])), np.cumsum((0, *xs[:-1]))
    graph: dict[Any, Any] = {}
    for t, expr in enumerate(exprs):
        for i, (y0, h) in enumerate(zip(y0s, ys, strict=True)):
            for j, (x0, w) in enumerate(zip(x0s, xs, strict=True)):
                sub = geobox[int(y0) : int(y0) + h, int(x0) : int(x0) + w]
                graph[(name, t, 0, i, j)] = (fetch_block, backend, expr, bands, _grid(sub))
    chunks = ((1,) * len(exprs), (len(bands),), ys, xs)
    return da.Array(
        HighLevelGraph.from_collections(name, graph, dependencies=()), name, chunks, np.uint16
    )


def _dataset(
    cube: da.Array, steps: list[list[Scene]], bands: list[str], geobox: GeoBox
) -> xr.Dataset:
    times = np.array([np.datetime64(s[0].datetime.replace(tzinfo=None), "ns") for s in steps])
    coords = {"time": times, **xr_coords(geobox)}
    out = {}
    for k, band in enumerate(bands):
        raw = xr.DataArray(cube[:, k], dims=("time", "y", "x"), coords=coords, attrs={"nodata": 0})
        if band == "qa_pixel":  # masked pixels arrive as 0: mark them fill (bit 0)
            raw = raw.where(raw != 0, 1).astype(np.uint16).assign_attrs(nodata=1)
        out[band] = raw
    return with_scaling(xr.Dataset(out), steps)
