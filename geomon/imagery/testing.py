"""Tiny generated imagery for tests and benchmarks: real COGs and real STAC JSON, no mocks.

``write_s2_catalog`` writes an Earth Search-like Sentinel-2 L2A static catalog (optionally without
``raster:bands``), ``write_landsat_catalog`` a Landsat C2 L2-like one and ``write_band_folder`` a
folder of one-file-per-band-and-date GeoTIFFs. Each returns what it wrote plus the truth (surface
reflectance and sky codes) so that tests can compare against exact expected values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pystac
import rasterio
from rasterio.transform import Affine, from_origin
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping, shape

from geomon.imagery._aoi import utm_crs
from geomon.imagery._bands import BANDS, S2_BASELINE_04_START, S2_NATIVE_RESOLUTION

__all__ = [
    "SKY_CLEAR",
    "SKY_CLOUD",
    "SKY_SHADOW",
    "SyntheticImagery",
    "surface_reflectance",
    "write_band_folder",
    "write_landsat_catalog",
    "write_s2_catalog",
]

SKY_CLEAR, SKY_CLOUD, SKY_SHADOW = 0, 1, 2
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
S2_ASSET_NAMES = {
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "nir": "B08",
    "rededge1": "B05",
    "rededge2": "B06",
    "rededge3": "B07",
    "nir08": "B8A",
    "swir16": "B11",
    "swir22": "B12",
}
#: land-cover code -> reflectance per canonical band (vegetation, bare ground, water)
_SPECTRA = np.array(
    [
        [0.03, 0.06, 0.04, 0.35, 0.10, 0.25, 0.30, 0.36, 0.18, 0.09],
        [0.12, 0.16, 0.20, 0.28, 0.23, 0.25, 0.26, 0.29, 0.35, 0.30],
        [0.05, 0.06, 0.04, 0.02, 0.03, 0.02, 0.02, 0.02, 0.01, 0.01],
    ],
    dtype=np.float32,
)
_CLOUD = np.float32(0.6)


@dataclass
class SyntheticImagery:
    """What a writer produced: where, which items or files, and the truth at 10 m."""

    root: Path
    """Folder holding everything."""
    catalog_path: Path | None
    """``catalog.json`` (None for a band folder)."""
    crs: str
    """The rasters' CRS."""
    bounds: tuple[float, float, float, float]
    """Raster bounds in ``crs``."""
    item_ids: list[str] = field(default_factory=list)
    """Item ids (or dates) in time order."""
    dates: list[dt.date] = field(default_factory=list)
    """Acquisition dates, one per item."""
    landcover: np.ndarray | None = None
    """Land-cover code per 10 m pixel: 0 vegetation, 1 bare, 2 water."""
    sky: dict[str, np.ndarray] = field(default_factory=dict)
    """Sky code per item per 10 m pixel: 0 clear, 1 cloud, 2 shadow."""

    @property
    def aoi_lonlat(self) -> object:
        """The raster footprint in EPSG:4326 (a shapely polygon)."""
        return shape(transform_geom(self.crs, "EPSG:4326", mapping(box(*self.bounds))))


def _save(catalog: pystac.Catalog, root: Path) -> None:
    catalog.normalize_hrefs(str(root))
    for item in catalog.get_items(recursive=True):
        item.make_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)


def _blobs(rng: np.random.Generator, shape_: tuple[int, int], cell: int) -> np.ndarray:
    low = rng.random((shape_[0] // cell + 2, shape_[1] // cell + 2))
    big = np.kron(low, np.ones((cell, cell)))
    return big[: shape_[0], : shape_[1]]


def surface_reflectance(shape_: tuple[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A land-cover map and its reflectance cube ``(band, y, x)`` in ``BANDS`` order."""
    rng = np.random.default_rng(seed)
    field_ = _blobs(rng, shape_, 16)
    landcover = np.digitize(field_, [0.55, 0.85]).astype(np.uint8)
    cube = _SPECTRA[landcover].transpose(2, 0, 1).copy()
    cube += rng.normal(0, 0.005, cube.shape).astype(np.float32)
    return landcover, np.clip(cube, 0.001, 1.0)


def _sky(rng: np.random.Generator, shape_: tuple[int, int], cloud_fraction: float) -> np.ndarray:
    sky = np.zeros(shape_, np.uint8)
    if cloud_fraction <= 0:
        return sky
    cloud = _blobs(rng, shape_, 24) < cloud_fraction
    shadow = np.roll(cloud, (6, 6), axis=(0, 1)) & ~cloud
    sky[shadow] = SKY_SHADOW
    sky[cloud] = SKY_CLOUD
    return sky


def _observed(cube: np.ndarray, sky: np.ndarray) -> np.ndarray:
    seen = cube.copy()
    seen[:, sky == SKY_CLOUD] = _CLOUD
    seen[:, sky == SKY_SHADOW] *= 0.25
    return seen


def _coarsen(a: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return a
    h, w = a.shape[-2] // factor, a.shape[-1] // factor
    return a[..., : h * factor : factor, : w * factor : factor]


def _write_cog(
    path: Path, data: np.ndarray, crs: str, transform: Affine, nodata: float | None, **kw: object
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "COG",
        "width": data.shape[-1],
        "height": data.shape[-2],
        "count": 1,
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "compress": "DEFLATE",
        "blocksize": 256 if max(data.shape) < 1024 else 512,
        **kw,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def _scl(sky: np.ndarray, landcover: np.ndarray) -> np.ndarray:
    scl = np.choose(landcover, [4, 5, 6]).astype(np.uint8)
    scl[sky == SKY_CLOUD] = 9
    scl[sky == SKY_SHADOW] = 3
    return scl


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _baseline(day: dt.date) -> str:
    return "04.00" if day >= S2_BASELINE_04_START else "03.01"


def _s2_asset(
    href: str, band: str, transform: Affine, shape_: tuple[int, ...], offset: float, rb: bool
) -> pystac.Asset:
    extra: dict[str, object] = {
        "proj:shape": list(shape_),
        "proj:transform": list(transform)[:6],
    }
    if band == "scl":
        raster = {"data_type": "uint8", "nodata": 0}
    else:
        extra["eo:bands"] = [{"name": S2_ASSET_NAMES[band], "common_name": band}]
        raster = {"data_type": "uint16", "nodata": 0, "scale": 0.0001, "offset": offset}
        raster["spatial_resolution"] = S2_NATIVE_RESOLUTION[band]
    if rb:
        extra["raster:bands"] = [raster]
    return pystac.Asset(href, media_type=COG_TYPE, roles=["data"], extra_fields=extra)


@dataclass(frozen=True)
class _Grid:
    crs: str
    transform: Affine
    shape: tuple[int, int]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        t, (h, w) = self.transform, self.shape
        return (t.c, t.f + h * t.e, t.c + w * t.a, t.f)

    def footprint(self) -> dict[str, object]:
        return dict(transform_geom(self.crs, "EPSG:4326", mapping(box(*self.bounds))))


def _grid(
    lon: float, lat: float, size_px: int, resolution: float, crs: str | None, shift: float = 0.0
) -> _Grid:
    from pyproj import Transformer

    crs = crs or utm_crs(lon, lat)
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    step = 60.0
    x0, y0 = np.floor(x / step) * step, np.ceil(y / step) * step
    half = size_px * resolution / 2
    x0, y0 = np.floor((x0 - half) / step) * step, np.ceil((y0 + half) / step) * step
    return _Grid(
        crs, from_origin(x0 + shift, y0 + shift, resolution, resolution), (size_px, size_px)
    )


def _item(item_id: str, grid: _Grid, when: dt.datetime, props: dict[str, object]) -> pystac.Item:
    geom = grid.footprint()
    item = pystac.Item(item_id, geom, list(shape(geom).bounds), when, dict(props))
    item.stac_extensions = [
        "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    ]
    return item


def write_s2_catalog(
    root: str | Path,
    dates: Sequence[dt.date],
    *,
    lon: float = 15.0,
    lat: float = -12.0,
    size_px: int = 128,
    cloud: Sequence[float] | float = 0.0,
    seed: int = 0,
    raster_bands: bool = True,
    crs: str | None = None,
    mine_id: str = "test_mine",
    bands: Sequence[str] = BANDS,
    with_scl: bool = True,
    surface: tuple[np.ndarray, np.ndarray] | None = None,
) -> SyntheticImagery:
    """An Earth Search-like Sentinel-2 L2A static catalog, one item per date (see docs/demo-catalog.md).

    ``surface``: a ``(landcover, cube)`` pair as :func:`surface_reflectance` returns, of the
    grid's shape, to image instead of its blocks of three spectra."""
    root = Path(root)
    grid = _grid(lon, lat, size_px, 10.0, crs)
    landcover, cube = surface if surface is not None else surface_reflectance(grid.shape, seed)
    rng = np.random.default_rng(seed + 1)
    clouds = [cloud] * len(dates) if isinstance(cloud, float | int) else list(cloud)
    collection = pystac.Collection(
        "sentinel-2-l2a-test",
        "synthetic Sentinel-2 L2A",
        pystac.Extent(
            pystac.SpatialExtent([list(shape(grid.footprint()).bounds)]),
            pystac.TemporalExtent([[_utc(dates[0]), _utc(dates[-1])]]),
        ),
    )
    out = SyntheticImagery(root, root / "catalog.json", grid.crs, grid.bounds, landcover=landcover)
    for day, fraction in zip(dates, clouds, strict=True):
        sky = _sky(rng, grid.shape, fraction)
        item = _s2_item(
            root, mine_id, grid, day, sky, cube, landcover, raster_bands, bands, with_scl
        )
        collection.add_item(item)
        out.item_ids.append(item.id)
        out.dates.append(day)
        out.sky[item.id] = sky
    catalog = pystac.Catalog("test-catalog", "synthetic imagery for geomon tests")
    catalog.add_child(collection)
    _save(catalog, root)
    return out


def _s2_item(
    root: Path,
    mine_id: str,
    grid: _Grid,
    day: dt.date,
    sky: np.ndarray,
    cube: np.ndarray,
    landcover: np.ndarray,
    raster_bands: bool,
    bands: Sequence[str],
    with_scl: bool,
) -> pystac.Item:
    item_id = f"S2TEST_{mine_id}_{day:%Y%m%d}"
    baseline = _baseline(day)
    add = 1000 if baseline >= "04.00" else 0
    offset = -0.1 if add else 0.0
    when = dt.datetime.combine(day, dt.time(10, 30), tzinfo=dt.UTC)
    props = {
        "platform": "sentinel-2a",
        "constellation": "sentinel-2",
        "eo:cloud_cover": float(100.0 * np.mean(sky > 0)),
        "s2:processing_baseline": baseline,
        "proj:code": grid.crs,
        "geomon:mine_id": mine_id,
    }
    item = _item(item_id, grid, when, props)
    folder = root / mine_id / item_id
    seen = _observed(cube, sky)
    for b, name in enumerate(BANDS):
        if name not in bands:
            continue
        factor = int(S2_NATIVE_RESOLUTION[name] // 10)
        dn = np.clip(np.round(_coarsen(seen[b], factor) * 10000) + add, 1, 65535).astype(np.uint16)
        _add_s2_band(item, folder, name, dn, grid, factor, offset, raster_bands)
    if with_scl:
        scl = _coarsen(_scl(sky, landcover), 2)
        _add_s2_band(item, folder, "scl", scl, grid, 2, offset, raster_bands)
    return item


def _add_s2_band(
    item: pystac.Item,
    folder: Path,
    name: str,
    data: np.ndarray,
    grid: _Grid,
    factor: int,
    offset: float,
    raster_bands: bool,
) -> None:
    t = grid.transform
    transform = Affine(t.a * factor, t.b, t.c, t.d, t.e * factor, t.f)
    path = folder / f"{name}.tif"
    _write_cog(path, data, grid.crs, transform, 0)
    item.add_asset(name, _s2_asset(str(path), name, transform, data.shape, offset, raster_bands))


_LANDSAT_KEYS = {
    "blue": "blue",
    "green": "green",
    "red": "red",
    "nir": "nir08",
    "swir16": "swir16",
    "swir22": "swir22",
}


def _qa_pixel(sky: np.ndarray, landcover: np.ndarray) -> np.ndarray:
    qa = np.full(sky.shape, 1 << 6, np.uint16)  # bit 6: clear
    qa[landcover == 2] |= 1 << 7
    qa[sky == SKY_CLOUD] = (1 << 3) | (1 << 1)
    qa[sky == SKY_SHADOW] = 1 << 4
    return qa


def write_landsat_catalog(
    root: str | Path,
    dates: Sequence[dt.date],
    *,
    lon: float = 15.0,
    lat: float = -12.0,
    size_px: int = 48,
    cloud: float = 0.2,
    seed: int = 0,
    crs: str | None = None,
    corner_shift: float = 15.0,
) -> SyntheticImagery:
    """A Landsat C2 L2-like static catalog (30 m, SR = DN * 2.75e-5 - 0.2, QA_PIXEL bits), without
    ``raster:bands`` scale so that the loader falls back on the Collection 2 rule. Pixel corners
    sit ``corner_shift`` metres off the multiples of 30 m, as real WRS-2 grids do."""
    root = Path(root)
    grid = _grid(lon, lat, size_px, 30.0, crs, corner_shift)
    landcover, cube = surface_reflectance(grid.shape, seed)
    rng = np.random.default_rng(seed + 1)
    catalog = pystac.Catalog("landsat-test", "synthetic Landsat C2 L2")
    out = SyntheticImagery(root, root / "catalog.json", grid.crs, grid.bounds, landcover=landcover)
    for day in dates:
        sky = _sky(rng, grid.shape, cloud)
        item = _landsat_item(root, grid, day, sky, cube, landcover)
        catalog.add_item(item)
        out.item_ids.append(item.id)
        out.dates.append(day)
        out.sky[item.id] = sky
    _save(catalog, root)
    return out


def _landsat_item(
    root: Path, grid: _Grid, day: dt.date, sky: np.ndarray, cube: np.ndarray, lc: np.ndarray
) -> pystac.Item:
    item_id = f"LC09_L2SP_TEST_{day:%Y%m%d}_02_T1"
    when = dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)
    props = {
        "platform": "landsat-9",
        "eo:cloud_cover": float(100 * np.mean(sky > 0)),
        "proj:code": grid.crs,
    }
    item = _item(item_id, grid, when, props)
    item.collection_id = "landsat-c2-l2"
    seen = _observed(cube, sky)
    for name, key in _LANDSAT_KEYS.items():
        dn = np.clip(np.round((seen[BANDS.index(name)] + 0.2) / 2.75e-5), 1, 65535)
        path = root / item_id / f"{key}.tif"
        _write_cog(path, dn.astype(np.uint16), grid.crs, grid.transform, 0)
        item.add_asset(key, _plain_asset(str(path), grid, key, 30.0))
    path = root / item_id / "qa_pixel.tif"
    _write_cog(path, _qa_pixel(sky, lc), grid.crs, grid.transform, 1)
    item.add_asset("qa_pixel", _plain_asset(str(path), grid, "qa_pixel", 30.0))
    return item


def _plain_asset(href: str, grid: _Grid, key: str, gsd: float) -> pystac.Asset:
    extra = {"proj:shape": list(grid.shape), "proj:transform": list(grid.transform)[:6], "gsd": gsd}
    return pystac.Asset(href, media_type=COG_TYPE, roles=["data"], title=key, extra_fields=extra)


def write_band_folder(
    root: str | Path,
    dates: Sequence[dt.date],
    *,
    lon: float = 15.0,
    lat: float = -12.0,
    size_px: int = 40,
    bands: Sequence[str] = ("B02", "B03", "B04", "B08", "B11"),
    cloud: float = 0.2,
    seed: int = 0,
    big_endian: bool = True,
    template: str = "{date}-00:00_{date}-23:59_Sentinel-2_L2A_{band}_(Raw).tiff",
) -> SyntheticImagery:
    """One GeoTIFF per band and date in EPSG:4326 (~10 m pixels), uint16 DN, no SCL, as common
    download tools export them. ``big_endian`` writes big-endian TIFFs."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    res = 10.0 / 111_320.0
    transform = from_origin(lon - size_px * res / 2, lat + size_px * res / 2, res, res)
    landcover, cube = surface_reflectance((size_px, size_px), seed)
    rng = np.random.default_rng(seed + 1)
    bounds = (
        lon - size_px * res / 2,
        lat - size_px * res / 2,
        lon + size_px * res / 2,
        lat + size_px * res / 2,
    )
    out = SyntheticImagery(root, None, "EPSG:4326", bounds, landcover=landcover)
    from geomon.imagery._bands import canonical_band

    for day in dates:
        sky = _sky(rng, (size_px, size_px), cloud)
        seen = _observed(cube, sky)
        for band in bands:
            canon = canonical_band(band)
            dn = np.clip(np.round(seen[BANDS.index(str(canon))] * 10000), 1, 65535)
            path = root / template.format(date=day.isoformat(), band=band)
            _write_tiff(path, dn.astype(np.uint16), transform, big_endian)
        out.item_ids.append(day.isoformat())
        out.dates.append(day)
        out.sky[day.isoformat()] = sky
    return out


def _write_tiff(path: Path, data: np.ndarray, transform: Affine, big_endian: bool) -> None:
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype.name,
        "crs": "EPSG:4326",
        "transform": transform,
        "nodata": 0,
    }
    if big_endian:
        profile["ENDIANNESS"] = "BIG"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
