"""STAC items -> scenes -> the imagery contract, through odc-stac.

Shared by the static-catalog, STAC API and folder sources: each turns its inputs into pystac
Items; this module filters them, reads their metadata (bands, scale, offset, masks) and loads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pystac
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geomon.errors import ConfigError
from geomon.imagery._aoi import project_lonlat
from geomon.imagery._bands import (
    BANDS,
    LANDSAT_ALIASES,
    S2_ALIASES,
    S2_NATIVE_RESOLUTION,
    item_scaling,
)
from geomon.imagery._reader import Paste, capture_env, paste_offsets, pasted_array
from geomon.imagery._types import LoadOptions, Query, Scene, Sensor

__all__ = ["StacNative", "StaticCatalogSource", "filter_items", "load_stac", "scene_from_item"]

#: mask layer -> (dtype, nodata) used when an item does not say
_MASK_DEFAULTS = {"scl": ("uint8", 0), "qa_pixel": ("uint16", 1)}
_REFLECTANCE_DEFAULT = ("uint16", 0)


@dataclass(frozen=True)
class StacNative:
    """What the loader needs from one scene: the item and its asset key per canonical band."""

    item: pystac.Item
    """The STAC item (hrefs absolute)."""
    assets: tuple[tuple[str, str], ...]
    """(canonical band or mask layer, asset key) pairs."""


def sensor_of(item: pystac.Item) -> Sensor:
    """``landsat`` when the item's collection or platform says so, else ``sentinel-2``."""
    text = f"{item.collection_id or ''} {item.properties.get('platform', '')}".lower()
    return "landsat" if "landsat" in text else "sentinel-2"


def _asset_map(item: pystac.Item, sensor: Sensor) -> dict[str, str]:
    aliases = LANDSAT_ALIASES if sensor == "landsat" else S2_ALIASES
    lowered = {key.lower(): key for key in item.assets}
    found: dict[str, str] = {}
    for canon, keys in aliases.items():
        key = next((lowered[k.lower()] for k in keys if k.lower() in lowered), None)
        if key is not None:
            found[canon] = key
    return found


def _asset_resolution(asset: pystac.Asset, default: float) -> float:
    fields = asset.extra_fields
    bands = fields.get("raster:bands") or []
    if bands and isinstance(bands[0], Mapping) and bands[0].get("spatial_resolution"):
        return float(bands[0]["spatial_resolution"])
    if fields.get("gsd"):
        return float(fields["gsd"])
    transform = fields.get("proj:transform")
    return abs(float(transform[0])) if transform else default


def _default_resolution(sensor: Sensor, band: str) -> float:
    return 30.0 if sensor == "landsat" else S2_NATIVE_RESOLUTION.get(band, 10.0)


def _crs_of(fields: Mapping[str, Any]) -> str | None:
    code = fields.get("proj:code")
    if code:
        return str(code)
    epsg = fields.get("proj:epsg")
    return f"EPSG:{int(epsg)}" if epsg else None


def _grid_of(
    item: pystac.Item, assets: Mapping[str, str]
) -> tuple[str | None, tuple[float, float] | None]:
    """CRS and top-left corner of the item's coarsest band (from the projection extension)."""
    best: tuple[float, float, float] | None = None
    crs = _crs_of(item.properties)
    for key in assets.values():
        fields = item.assets[key].extra_fields
        transform = fields.get("proj:transform")
        crs = _crs_of(fields) or crs
        if transform and (best is None or abs(transform[0]) > best[0]):
            best = (abs(float(transform[0])), float(transform[2]), float(transform[5]))
    return crs, (best[1], best[2]) if best else None


def scene_from_item(item: pystac.Item) -> Scene | None:
    """A :class:`Scene` for a Sentinel-2 or Landsat item, None when it has no band we know."""
    sensor = sensor_of(item)
    assets = _asset_map(item, sensor)
    bands = tuple(b for b in BANDS if b in assets)
    if not bands or item.datetime is None:
        return None
    when = item.datetime
    first = item.assets[assets[bands[0]]]
    scaling = item_scaling(sensor, item.properties, first.extra_fields, when.date())
    resolution = tuple(
        (name, _asset_resolution(item.assets[key], _default_resolution(sensor, name)))
        for name, key in assets.items()
    )
    mask = next((m for m in ("scl", "qa_pixel") if m in assets), None)
    cloud = item.properties.get("eo:cloud_cover")
    crs, origin = _grid_of(item, assets)
    return Scene(
        id=item.id,
        datetime=when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC),
        sensor=sensor,
        bands=bands,
        resolution=resolution,
        cloud_cover=None if cloud is None else float(cloud),
        platform=str(item.properties.get("platform", "")),
        mask_layer=mask,
        scale=scaling.scale,
        offset=scaling.offset,
        scaling_source=scaling.source,
        crs=crs,
        origin=origin,
        native=StacNative(item, tuple(assets.items())),
        footprint=_footprint(item),
    )


def _footprint(item: pystac.Item) -> BaseGeometry | None:
    if item.geometry is not None:
        return shape(item.geometry)
    return shapely.box(*item.bbox) if item.bbox else None


def _in_query(scene: Scene, query: Query, area: BaseGeometry, crs: str) -> bool:
    if not query.start <= scene.datetime.date() <= query.end:
        return False
    if scene.cloud_cover is not None and scene.cloud_cover > query.max_cloud:
        return False
    footprint = _footprint(scene.native.item)
    return footprint is None or project_lonlat(footprint, crs).intersects(area)


def filter_items(items: Iterable[pystac.Item], query: Query) -> list[Scene]:
    """Scenes of ``items`` inside the query's area, dates and cloud ceiling, sorted by time."""
    crs = query.aoi.crs
    area = query.aoi.projected(crs)
    scenes = (scene_from_item(item) for item in items)
    kept = [s for s in scenes if s is not None and _in_query(s, query, area, crs)]
    return sorted(kept, key=lambda s: (s.datetime, s.id))


class StaticCatalogSource:
    """A local static STAC catalog (the demo catalog, or any catalog whose assets are files).

    pystac-client cannot search a static catalog, so items are read once with pystac and
    filtered here with shapely."""

    def __init__(self, path: str | Path, name: str | None = None) -> None:
        self.path = Path(path)
        self._name = name or f"stac:{self.path}"
        self._items: list[pystac.Item] | None = None

    @property
    def name(self) -> str:
        """``demo`` or ``stac:PATH``."""
        return self._name

    def items(self) -> list[pystac.Item]:
        """Every item of the catalog, hrefs made absolute (read once)."""
        if self._items is None:
            self._items = _read_catalog(self.path)
        return self._items

    def search(self, query: Query) -> list[Scene]:
        """Scenes over the query's area and dates."""
        return filter_items(self.items(), query)

    def load(
        self, scenes: Sequence[Scene], bands: Sequence[str], geobox: GeoBox, options: LoadOptions
    ) -> xr.Dataset:
        """See :class:`ImagerySource`."""
        return load_stac(scenes, bands, geobox, options)


def _read_catalog(path: Path) -> list[pystac.Item]:
    target = path / "catalog.json" if path.is_dir() else path
    if not target.exists():
        raise ConfigError(f"no STAC catalog at {target}; pass a catalog.json or its folder")
    root = pystac.read_file(str(target))
    if isinstance(root, pystac.Item):
        items = [root]
    elif isinstance(root, pystac.Catalog):
        items = list(root.get_items(recursive=True))
    else:
        raise ConfigError(f"{target} is not a STAC catalog or collection; point at catalog.json")
    for item in items:
        item.make_asset_hrefs_absolute()
    return items


# --- loading ---------------------------------------------------------------------------------


def solar_day(when: dt.datetime, lon: float) -> dt.date:
    """The local solar date of an acquisition at longitude ``lon``."""
    return (when + dt.timedelta(hours=lon / 15.0)).date()


def time_groups(scenes: Sequence[Scene], lon: float, by_day: bool) -> list[list[Scene]]:
    """Scenes merged into one time step: same solar day and same scaling (or one per scene)."""
    groups: dict[Any, list[Scene]] = {}
    for scene in sorted(scenes, key=lambda s: (s.datetime, s.id)):
        key = (solar_day(scene.datetime, lon), scene.scale, scene.offset) if by_day else scene.id
        groups.setdefault(key, []).append(scene)
    return sorted(groups.values(), key=lambda g: (g[0].datetime, g[0].id))


def _asset_keys(scenes: Sequence[Scene], names: Sequence[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for name in names:
        found = {dict(s.native.assets).get(name) for s in scenes}
        if len(found) != 1 or None in found:
            raise ConfigError(
                f"band '{name}' has different asset keys across items ({sorted(map(str, found))}); "
                "load one collection at a time"
            )
        keys[name] = str(found.pop())
    return keys


def _fill_cfg(item: pystac.Item, keys: Mapping[str, str]) -> dict[str, Any]:
    """odc-stac config for assets whose ``raster:bands`` lack data type or nodata."""
    assets: dict[str, Any] = {}
    for name, key in keys.items():
        bands = item.assets[key].extra_fields.get("raster:bands") or [{}]
        if bands[0].get("data_type") and "nodata" in bands[0]:
            continue
        dtype, nodata = _MASK_DEFAULTS.get(name, _REFLECTANCE_DEFAULT)
        assets[key] = {"data_type": dtype, "nodata": nodata}
    return {"*": {"assets": assets, "warnings": "ignore"}}


def _reflectance_block(
    dn: np.ndarray, scale: np.ndarray, offset: np.ndarray, nodata: Any, block_info: Any = None
) -> np.ndarray:
    t0, t1 = block_info[0]["array-location"][0] if block_info else (0, dn.shape[0])
    shape_ = (-1,) + (1,) * (dn.ndim - 1)
    out = dn.astype(np.float32)
    out *= scale[t0:t1].reshape(shape_)
    out += offset[t0:t1].reshape(shape_)
    if nodata is not None:
        out[dn == nodata] = np.nan
    return out


def to_reflectance(dn: xr.DataArray) -> xr.DataArray:
    """Stored values -> float32 reflectance with each time step's ``scale`` and ``offset``
    coordinates; nodata -> NaN. One task per block (fused into the read by dask)."""
    scale = np.asarray(dn["scale"].values, dtype=np.float32)
    offset = np.asarray(dn["offset"].values, dtype=np.float32)
    nodata = dn.attrs.get("nodata")
    data = dn.data
    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks=(1, *data.shape[1:]))
    out = data.map_blocks(_reflectance_block, scale, offset, nodata, dtype=np.float32)
    return xr.DataArray(out, dims=dn.dims, coords=dn.coords, name=dn.name)


def with_scaling(ds: xr.Dataset, groups: Sequence[Sequence[Scene]]) -> xr.Dataset:
    """Add the per-step coordinates ``scale``, ``offset`` and ``item_ids`` and attr ``scaling``."""
    ds = ds.assign_coords(
        scale=("time", np.array([g[0].scale for g in groups], dtype=np.float64)),
        offset=("time", np.array([g[0].offset for g in groups], dtype=np.float64)),
        item_ids=("time", [",".join(s.id for s in g) for g in groups]),
    )
    ds.attrs["scaling"] = sorted({g[0].scaling_source for g in groups})
    return ds


def _pastes(
    parsed: Sequence[Any], groups: Sequence[Sequence[Scene]], key: str, geobox: GeoBox
) -> list[tuple[Paste, ...]] | None:
    """Per time step, where each scene's asset ``key`` sits on ``geobox``; None if any does not
    tile it exactly (then odc-stac reprojects)."""
    index = {p.id: p for p in parsed}
    steps = []
    for group in groups:
        pastes = []
        for scene in group:
            src = index[scene.id][key]
            paste = paste_offsets(src.geobox, geobox, src.uri) if src.geobox is not None else None
            if paste is None:
                return None
            pastes.append(paste)
        steps.append(tuple(pastes))
    return steps


def _read_pasted(
    parsed: Sequence[Any],
    groups: Sequence[Sequence[Scene]],
    keys: Mapping[str, str],
    geobox: GeoBox,
    options: LoadOptions,
) -> xr.Dataset | None:
    plans = {name: _pastes(parsed, groups, key, geobox) for name, key in keys.items()}
    if any(plan is None for plan in plans.values()):
        return None
    env = capture_env([p.uri for plan in plans.values() for step in plan or [] for p in step])
    coords = xr_coords(geobox)
    out = {}
    for name, key in keys.items():
        meta = parsed[0][key].meta
        dtype, nodata = str(meta.data_type), meta.nodata
        blocks = options.block_sizes((geobox.shape.y, geobox.shape.x))
        data = pasted_array(plans[name] or [], geobox, blocks, dtype, nodata, env, name)
        out[name] = xr.DataArray(
            data, dims=("time", "y", "x"), coords=coords, attrs={"nodata": nodata}
        )
    return xr.Dataset(out)


def _read_odc(
    items: Sequence[pystac.Item],
    groups: Sequence[Sequence[Scene]],
    keys: Mapping[str, str],
    geobox: GeoBox,
    options: LoadOptions,
    patch_url: Callable[[str], str] | None,
) -> xr.Dataset:
    import odc.stac

    group_of = {s.id: i for i, g in enumerate(groups) for s in g}
    try:
        raw = odc.stac.load(
            items,
            bands=sorted(set(keys.values())),
            geobox=geobox,
            chunks={"time": 1, "y": options.chunk, "x": options.chunk},
            groupby=lambda item, _parsed, _idx: group_of[item.id],
            resampling="nearest",
            stac_cfg=_fill_cfg(items[0], keys),
            patch_url=patch_url,
        )
    except ValueError as exc:
        raise ConfigError(
            f"cannot load items such as '{items[0].id}': {exc}; add the projection extension "
            "(proj:code, proj:shape, proj:transform) to the catalog's items"
        ) from exc
    ys, xs = options.block_sizes((geobox.shape.y, geobox.shape.x))
    out = xr.Dataset({name: raw[key] for name, key in keys.items()}).drop_vars("time")
    return out if options.chunk_offset == (0, 0) else out.chunk({"y": ys, "x": xs})


def load_stac(
    scenes: Sequence[Scene],
    bands: Sequence[str],
    geobox: GeoBox,
    options: LoadOptions,
    patch_url: Callable[[str], str] | None = None,
) -> xr.Dataset:
    """Load ``bands`` of STAC scenes on ``geobox``, lazily, as stored (DN), with per-step
    ``scale``/``offset`` coordinates. Assets already on the grid are pasted by the lean reader;
    others are reprojected by odc-stac."""
    import odc.stac

    keys = _asset_keys(scenes, list(dict.fromkeys(bands)))
    lon = geobox.extent.centroid.to_crs("EPSG:4326").coords[0][0]
    groups = time_groups(scenes, lon, options.group_by_day)
    items = [s.native.item for s in scenes]
    try:
        parsed = list(odc.stac.parse_items(items, cfg=_fill_cfg(items[0], keys)))
    except ValueError:
        parsed = []
    raw = _read_pasted(parsed, groups, keys, geobox, options) if parsed and not patch_url else None
    if raw is None:
        raw = _read_odc(items, groups, keys, geobox, options, patch_url)
    times = np.array([np.datetime64(g[0].datetime.replace(tzinfo=None), "ns") for g in groups])
    return with_scaling(raw.assign_coords(time=times), groups)
