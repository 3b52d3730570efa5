"""The public tasks: search, load (the imagery contract) and load_composite (native-resolution
compositing, resampled once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import shapely
import xarray as xr
from odc.geo.geobox import GeoBox
from shapely.geometry.base import BaseGeometry

from geomon.errors import ConfigError, MissingBandsError, NoImageryError
from geomon.imagery._aoi import project_lonlat, target_geobox
from geomon.imagery._bands import BANDS
from geomon.imagery._composite import TEMPORAL_VARIABLES, VIEW_PREFIX, composite_raw
from geomon.imagery._mask import FALLBACK_BANDS, qa_pixel_clear, scl_clear, spectral_clear
from geomon.imagery._resample import downsample_all, upsample
from geomon.imagery._stac import to_reflectance
from geomon.imagery._types import (
    CompositeOptions,
    ImagerySource,
    LoadOptions,
    Query,
    Scene,
)

__all__ = ["load", "load_composite", "plan", "search"]


@dataclass(frozen=True)
class Plan:
    """What a load will read: scenes, output grid, and bands grouped by native resolution."""

    source: str
    """The source's name."""
    query: Query
    """The query planned for."""
    scenes: tuple[Scene, ...]
    """Scenes to read, in time order."""
    bands: tuple[str, ...]
    """Canonical bands in the output."""
    geobox: GeoBox
    """The output grid (UTM zone of the AOI, chosen resolution)."""
    groups: tuple[tuple[int, tuple[str, ...]], ...]
    """(zoom-out factor, layers read at that factor): 20 m bands read at 20 m under a 10 m grid."""
    mask: str
    """Resolved mask method: ``scl``, ``qa_pixel``, ``spectral`` or ``none``."""
    chunk_offset: tuple[int, int] = (0, 0)
    """(y, x) output pixels between the grid's corner and the first block edge that falls on a
    multiple of the chunk from the scenes' pixel-grid corner (their COG block edges)."""
    imaged_fraction: float = 1.0
    """Share of the AOI's area inside at least one scene's footprint (1.0 when footprints are
    unknown). Below 1 the grid covers only the imaged part, and clear-sky coverage is measured
    over that part; reports state the share."""

    @property
    def sensor(self) -> str:
        """Sensor of the scenes."""
        return self.scenes[0].sensor

    def grid(self, factor: int) -> GeoBox:
        """The grid a group is read on."""
        return self.geobox.zoom_out(factor) if factor > 1 else self.geobox

    @property
    def mask_factor(self) -> int:
        """The group holding the mask layer, or the fallback's bands."""
        wanted = self.mask if self.mask in ("scl", "qa_pixel") else "blue"
        return next((f for f, names in self.groups if wanted in names), 1)


def search(source: ImagerySource, query: Query) -> list[Scene]:
    """Scenes of ``source`` for ``query``; raises NoImageryError when there are none."""
    scenes = source.search(query)
    if not scenes:
        raise NoImageryError(
            f"no imagery for {query.describe()} from source '{source.name}' "
            f"(cloud cover <= {query.max_cloud:g}%); widen the dates, raise --max-cloud "
            "(periods.max_cloud in a pipeline file) or choose another --source"
        )
    sensors = {s.sensor for s in scenes}
    if len(sensors) > 1:
        raise ConfigError(
            f"source '{source.name}' mixes sensors {sorted(sensors)}; load one at a time"
        )
    return scenes


def _required(scenes: Sequence[Scene], options: LoadOptions, source: str) -> tuple[str, ...]:
    """Requested bands, checked; by default the bands every scene has."""
    available = [b for b in BANDS if any(b in s.bands for s in scenes)]
    common = [b for b in available if all(b in s.bands for s in scenes)]
    required = tuple(options.bands) if options.bands is not None else tuple(common or available)
    unknown = [b for b in required if b not in BANDS]
    if unknown:
        raise ConfigError(
            f"unknown band(s) {', '.join(unknown)}; use names from {', '.join(BANDS)}"
        )
    missing = [b for b in required if b not in available]
    if missing or not required:
        raise MissingBandsError(
            f"source '{source}' lacks band(s) {', '.join(missing) or '(none requested)'}: "
            f"required {', '.join(required)}; available {', '.join(available) or 'none'}; "
            "choose another --source or a stage that needs fewer bands"
        )
    return required


def _mask_method(scenes: Sequence[Scene], bands: Sequence[str], options: LoadOptions) -> str:
    method: str = options.mask.method
    layer = scenes[0].mask_layer
    if method == "auto":
        method = layer or "spectral"
    if method == "spectral" and not all(set(FALLBACK_BANDS) <= set(s.bands) for s in scenes):
        raise MissingBandsError(
            f"the scenes have no cloud mask layer and the spectral fallback needs "
            f"{', '.join(FALLBACK_BANDS)} in every scene; add those files or pass --mask none"
        )
    if method in ("scl", "qa_pixel") and layer != method:
        raise MissingBandsError(
            f"mask '{method}' requested but the scenes provide {layer or 'no mask layer'}; "
            "use --mask auto or --mask spectral"
        )
    return method


def _layers(bands: Sequence[str], mask: str) -> tuple[str, ...]:
    extra = [mask] if mask in ("scl", "qa_pixel") else []
    extra += [b for b in FALLBACK_BANDS if b not in bands] if mask == "spectral" else []
    return (*bands, *extra)


def _groups(
    scenes: Sequence[Scene], layers: Sequence[str], resolution: float
) -> tuple[tuple[int, tuple[str, ...]], ...]:
    native = scenes[0].native_resolution
    by_factor: dict[int, list[str]] = {}
    for name in layers:
        ratio = max(native.get(name, resolution), resolution) / resolution
        factor = round(ratio) if abs(ratio - round(ratio)) < 1e-6 else 1
        by_factor.setdefault(factor, []).append(name)
    return tuple((f, tuple(names)) for f, names in sorted(by_factor.items()))


def _anchor(scenes: Sequence[Scene], query: Query) -> tuple[float, float]:
    """The pixel-grid corner of the first scene in the AOI's UTM zone, else (0, 0)."""
    for scene in scenes:
        if scene.origin is not None and scene.crs == query.aoi.crs:
            return scene.origin
    return (0.0, 0.0)


def _chunk_offset(geobox: GeoBox, anchor: tuple[float, float], chunk: int) -> tuple[int, int]:
    res = geobox.resolution.x
    col = round((geobox.affine.c - anchor[0]) / res) % chunk
    row = round((anchor[1] - geobox.affine.f) / res) % chunk
    return (row, col)


def plan(source: ImagerySource, query: Query, options: LoadOptions | None = None) -> Plan:
    """Search and decide what to read, without reading pixels."""
    options = options or LoadOptions()
    found = search(source, query)
    bands = _required(found, options, source.name)
    scenes = [s for s in found if set(bands) <= set(s.bands)]
    if not scenes:
        raise MissingBandsError(
            f"no scene from '{source.name}' has all of {', '.join(bands)}; request fewer bands"
        )
    mask = _mask_method(scenes, bands, options)
    layers = _layers(bands, mask)
    native = scenes[0].native_resolution
    resolution = options.resolution or min(native.get(b, 10.0) for b in bands)
    groups = _groups(scenes, layers, resolution)
    align = resolution * max(f for f, _ in groups)
    anchor = _anchor(scenes, query)
    imaged, fraction = _imaged(scenes, query)
    geobox = target_geobox(query.aoi, resolution, align=align, anchor=anchor, within=imaged)
    offset = _chunk_offset(geobox, anchor, options.chunk)
    return Plan(source.name, query, tuple(scenes), bands, geobox, groups, mask, offset, fraction)


def _imaged(scenes: Sequence[Scene], query: Query) -> tuple[BaseGeometry | None, float]:
    """The union of the scenes' footprints in the AOI's UTM zone, and the share of the AOI it
    covers; (None, 1.0) when a footprint is unknown or the AOI crosses the antimeridian."""
    prints = [s.footprint for s in scenes]
    if any(p is None for p in prints) or query.aoi.crosses_antimeridian:
        return None, 1.0
    union = shapely.union_all(list({p.wkb: p for p in prints}.values()))
    aoi = query.aoi.projected()
    imaged = project_lonlat(union, query.aoi.crs)
    fraction = aoi.intersection(imaged).area / aoi.area if aoi.area > 0 else 1.0
    if fraction >= 0.999:
        return None, 1.0
    return imaged, float(fraction)


def _read_groups(source: ImagerySource, p: Plan, options: LoadOptions) -> dict[int, xr.Dataset]:
    """Stored values per resolution group (DN with ``scale``/``offset`` coords; mask layers)."""
    out = {}
    for factor, names in p.groups:
        offset = (p.chunk_offset[0] // factor, p.chunk_offset[1] // factor)
        opts = replace(options, chunk=options.chunk // factor, chunk_offset=offset)
        out[factor] = source.load(p.scenes, names, p.grid(factor), opts)
    return out


def _reflectance(ds: xr.Dataset) -> xr.Dataset:
    """The group's bands as float32 reflectance (mask layers left as stored)."""
    out = ds.copy()
    for band in (b for b in ds.data_vars if b in BANDS):
        out[band] = to_reflectance(ds[band])
    return out.drop_vars(["scale", "offset"])


def _clear(groups: dict[int, xr.Dataset], p: Plan, options: LoadOptions) -> xr.DataArray:
    """Clear-sky mask on the mask group's grid (nodata excluded for SCL and QA_PIXEL)."""
    ds = groups[p.mask_factor]
    if p.mask == "scl":
        return scl_clear(ds["scl"], options.mask)
    if p.mask == "qa_pixel":
        return qa_pixel_clear(ds["qa_pixel"], options.mask)
    refl = _reflectance(ds)
    if p.mask == "spectral":
        return spectral_clear(refl, options.mask)
    return refl[next(b for b in p.bands if b in refl)].notnull()


def _valid_on(clear: xr.DataArray, p: Plan, factor: int, ds: xr.Dataset) -> xr.DataArray:
    """The clear mask moved to a group's grid. Masks from SCL or QA_PIXEL already exclude
    nodata; the others are and'ed with the presence of the group's first band."""
    if factor < p.mask_factor:
        clear = upsample(clear, p.mask_factor // factor, p.grid(factor))
    elif factor > p.mask_factor:
        clear = downsample_all(clear, factor // p.mask_factor, p.grid(factor))
    first = next(b for b in (*p.bands, *ds.data_vars) if b in ds)
    valid = clear.variable
    if p.mask not in ("scl", "qa_pixel"):
        valid = valid & ds[first].notnull().variable
    return xr.DataArray(valid, coords=ds[first].coords, name="valid")


def _attrs(p: Plan, groups: dict[int, xr.Dataset]) -> dict[str, object]:
    scaling = sorted({s for ds in groups.values() for s in ds.attrs.get("scaling", [])})
    return {
        "aoi": p.query.aoi.name,
        "source": p.source,
        "sensor": p.sensor,
        "crs": str(p.geobox.crs),
        "resolution": float(p.geobox.resolution.x),
        "start": p.query.start.isoformat(),
        "end": p.query.end.isoformat(),
        "mask": p.mask,
        "scaling": scaling,
        "item_ids": [s.id for s in p.scenes],
        "aoi_imaged_fraction": round(p.imaged_fraction, 4),
    }


def load(source: ImagerySource, query: Query, options: LoadOptions | None = None) -> xr.Dataset:
    """The imagery contract for ``query``: lazy, dims (time, y, x), UTM, float32 reflectance,
    boolean ``valid``, provenance in attrs."""
    options = options or LoadOptions()
    p = plan(source, query, options)
    raw = _read_groups(source, p, options)
    clear = _clear(raw, p, options)
    groups = {f: _reflectance(ds) for f, ds in raw.items()}
    out = xr.Dataset(attrs=_attrs(p, raw))
    for factor, ds in groups.items():
        for band in (b for b in p.bands if b in ds):
            out[band] = upsample(ds[band], factor, p.geobox) if factor > 1 else ds[band]
    fine = groups[1] if 1 in groups else xr.Dataset({b: out[b] for b in p.bands})
    out["valid"] = (out[p.bands[0]].dims, _valid_on(clear, p, 1, fine).data)
    return out.assign_coords(item_ids=("time", next(iter(raw.values()))["item_ids"].values))


def _group_valid(
    clear: xr.DataArray, p: Plan, factor: int, ds: xr.Dataset
) -> tuple[xr.DataArray, int]:
    """The mask for a group's composite and how much coarser it is than the group's grid."""
    if p.mask in ("scl", "qa_pixel") and factor <= p.mask_factor:
        return clear, p.mask_factor // factor
    return _valid_on(clear, p, factor, _reflectance(ds)), 1


def load_composite(
    source: ImagerySource,
    query: Query,
    options: LoadOptions | None = None,
    composite_options: CompositeOptions | None = None,
) -> xr.Dataset:
    """Per-period composites for ``query``, each band composited at its native resolution from
    stored values (reflectance computed inside the median kernel, the 20 m SCL used as is for
    10 m bands) and resampled once to the output grid."""
    options = options or LoadOptions()
    composite_options = composite_options or CompositeOptions()
    p = plan(source, query, options)
    groups = _read_groups(source, p, options)
    clear = _clear(groups, p, options)
    parts = {}
    for factor, ds in groups.items():
        bands = [b for b in p.bands if b in ds]
        if not bands:
            continue
        valid, vf = _group_valid(clear, p, factor, ds)
        staged = ds[bands]
        parts[factor] = composite_raw(
            staged, valid, composite_options, valid_factor=vf, start=query.start, end=query.end
        )
    return _merge_composites(parts, p, _attrs(p, groups))


def _merge_composites(
    parts: dict[int, xr.Dataset], p: Plan, attrs: dict[str, object]
) -> xr.Dataset:
    finest = min(parts)
    out = parts[finest].copy()
    for factor, comp in parts.items():
        for band in (b for b in p.bands if b in comp and factor != finest):
            out[band] = upsample(comp[band], factor // finest, p.grid(finest))
            if VIEW_PREFIX + band in comp:  # its date view, like the band
                view = comp[VIEW_PREFIX + band]
                out[VIEW_PREFIX + band] = upsample(view, factor // finest, p.grid(finest))
    extra = ["clear_count", "valid", "low_coverage", "clear_fraction"]
    temporal = [v for v in TEMPORAL_VARIABLES if v in out]
    views = [VIEW_PREFIX + b for b in p.bands if VIEW_PREFIX + b in out]
    out = out[[*(b for b in p.bands if b in out), *temporal, *views, *extra]]
    out.attrs = {**out.attrs, **attrs}
    return out
