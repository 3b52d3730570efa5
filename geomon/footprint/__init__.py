"""Footprint: disturbed land per mine and period, from classified periods (docs/contracts.md).

:func:`trace_footprint` takes the classes of a mine's periods (``geomon.classify``), tracks change
against the baseline with persistence (:mod:`geomon.footprint.change`), and returns the
footprint GeoDataFrame of the contract: polygons split by status, first_seen, baseline class and
cover, with ``area_ha`` in EPSG:6933, only inside the mine's AOI, patches under the minimum mapping
unit dropped.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine
from shapely.geometry.base import BaseGeometry

from geomon.classify.classes import BARE_DISTURBED, CLASS_NAMES, COVER_NAMES
from geomon.errors import ConfigError
from geomon.footprint.change import (
    NEW,
    STATUS_NAMES,
    ChangeOptions,
    ChangeResult,
    awaiting_confirmation,
    rules_of,
    track_change,
    view_of,
)
from geomon.footprint.periods import period_bounds, period_label
from geomon.footprint.polygons import (
    EQUAL_AREA_CRS,
    aoi_mask,
    area_ha,
    dissolve_by_patch,
    kept_patches,
    sieve_pixels,
    vectorize,
)

__all__ = [
    "AWAITING",
    "COLUMNS",
    "EQUAL_AREA_CRS",
    "ChangeOptions",
    "FootprintOptions",
    "awaiting_hectares",
    "check_baseline",
    "disturbed_area",
    "rule_inputs",
    "trace_footprint",
]

#: the footprint contract's columns, in order
COLUMNS: tuple[str, ...] = (
    "mine_id",
    "period",
    "period_start",
    "period_end",
    "status",
    "first_seen",
    "baseline_class",
    "baseline_cover",
    "area_ha",
    "geometry",
)
#: baseline cover when the classes carry no finer cover
_COVER_OF_CLASS = {
    "vegetation": "unknown",
    "bare_disturbed": "bare",
    "water": "water",
    "built_other": "unknown",
}
_N_COVERS = len(COVER_NAMES)
_N_CLASSES = len(CLASS_NAMES)


@dataclass(frozen=True)
class FootprintOptions:
    """How the footprint is traced."""

    change: ChangeOptions = field(default_factory=ChangeOptions)
    """Persistence rules for new disturbance and rehabilitation."""
    min_mapping_unit_ha: float = 0.5
    """Connected disturbed patches smaller than this are dropped (hectares)."""
    baseline: str | None = None
    """First period to use, as a date (``2019-01-01``) or label (``2019``); None = the first one."""
    aoi_crs: str = "EPSG:4326"
    """CRS of the AOI geometry handed to :func:`trace_footprint`."""

    def __post_init__(self) -> None:
        if not self.min_mapping_unit_ha >= 0:
            raise ConfigError(
                f"min_mapping_unit_ha {self.min_mapping_unit_ha} must be >= 0 hectares"
            )


def _grid(classes: xr.Dataset) -> tuple[str, Affine]:
    crs = classes.rio.crs
    if crs is None:
        raise ConfigError("classes have no CRS; write one with ds.rio.write_crs('EPSG:326NN')")
    x, y = classes["x"].values, classes["y"].values
    if x.size < 2 or y.size < 2:
        return crs.to_string(), classes.rio.transform(recalc=True)
    dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
    return crs.to_string(), Affine(dx, 0.0, float(x[0]) - dx / 2, 0.0, dy, float(y[0]) - dy / 2)


def pixel_metres(crs: str, transform: Affine, shape: tuple[int, ...]) -> float:
    """The side of a grid's pixels in metres (the mean of width and height): in the CRS's own
    linear unit converted to metres, or for a geographic CRS along the geodesic at the grid's
    centre."""
    from pyproj import CRS, Geod

    ref = CRS.from_user_input(crs)
    dx, dy = math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e)
    if not ref.is_geographic:
        factor = ref.axis_info[0].unit_conversion_factor if ref.axis_info else 1.0
        return float((dx + dy) / 2 * factor)
    lon, lat = transform @ (shape[-1] / 2, shape[-2] / 2)
    geod = Geod(ellps="WGS84")
    _, _, east = geod.inv(lon, lat, lon + dx, lat)
    _, _, north = geod.inv(lon, lat, lon, lat + dy)
    return float((east + north) / 2)


def _select_baseline(classes: xr.Dataset, baseline: str | None, kind: str) -> xr.Dataset:
    if baseline is None:
        return classes
    starts = list(pd.to_datetime(classes["time"].values))
    return classes.isel(time=slice(_baseline_index(starts, baseline, kind), None))


def _baseline_index(starts: list[pd.Timestamp], baseline: str, kind: str) -> int:
    """Index of the baseline among periods starting at ``starts`` (in time order): the period
    labelled ``baseline``, else the first starting on or after the date ``baseline``."""
    labels = [period_label(t, kind) for t in starts]
    if baseline in labels:
        return labels.index(baseline)
    try:
        start = pd.Timestamp(baseline)
    except ValueError:
        start = pd.NaT
    if pd.isna(start) or start.tzinfo is not None:
        raise ConfigError(
            f"baseline {baseline!r} is neither a period label nor a date (YYYY-MM-DD, no time zone)"
        )
    later = [i for i, t in enumerate(starts) if t >= start]
    if not later:
        last = labels[-1] if labels else "none"
        raise ConfigError(
            f"no period on or after baseline {baseline} (the last period is {last}); "
            "choose an earlier baseline or a later end date"
        )
    return later[0]


def check_baseline(baseline: str | None, start: dt.date, end: dt.date, kind: str) -> None:
    """Raise :class:`~geomon.errors.ConfigError` unless ``baseline`` (a period label or a date)
    picks one of the ``kind`` periods from ``start`` to ``end``: checked before any imagery is
    read, so a bad baseline fails at once rather than after the composites are made."""
    from geomon.imagery import period_starts

    if baseline is None or end < start or kind not in ("year", "quarter", "month"):
        return  # swapped dates or an unknown period: the query and composites say so, in their words
    starts = period_starts(start, end, kind)  # type: ignore[arg-type]  # the composites' periods
    _baseline_index([pd.Timestamp(d) for d in starts], baseline, kind)


def _cover_at_baseline(classes: xr.Dataset, change: ChangeResult, pixels: np.ndarray) -> np.ndarray:
    """uint8, one per pixel of ``pixels`` (flat indices): cover index at its baseline period."""
    unknown = COVER_NAMES.index("unknown")
    index = change.baseline_index.reshape(-1)[pixels]
    if "cover" in classes:
        # the masked pixels only (a few percent of the grid), one masked copy per period
        cover = np.asarray(classes["cover"].values)
        out = np.full(pixels.shape, unknown, np.uint8)
        for t in range(cover.shape[0]):
            np.copyto(out, cover[t].reshape(-1)[pixels], where=index == t, casting="unsafe")
        return out
    lut = np.array(
        [COVER_NAMES.index(_COVER_OF_CLASS.get(n, "unknown")) for n in CLASS_NAMES], np.uint8
    )
    base = change.baseline_class.reshape(-1)[pixels]
    return np.where(index >= 0, lut[base], unknown).astype(np.uint8)


def rule_inputs(classes: xr.Dataset) -> xr.Dataset:
    """``classes`` as the change rules read them: where a date view amended ``class``,
    ``probability`` and ``cover`` (:attr:`geomon.classify.PixelModel.date_view`), the
    composite's own (``composite_class`` ...) in their place; else ``classes`` itself. The class
    maps show the view; the rules, chosen on composites, read what they were chosen on. A model
    whose view speaks for the baseline too (:attr:`~geomon.classify.PixelModel.date_view_baseline`)
    has the rules read the map's classes in the first period (the baseline, once periods before
    it are dropped): ground its view calls bare there is disturbed at the baseline, not new
    later."""
    from geomon.classify.apply import COMPOSITE_PREFIX

    names = [n for n in ("class", "probability", "cover") if COMPOSITE_PREFIX + n in classes]
    if not names:
        return classes
    own = {n: classes[COMPOSITE_PREFIX + n] for n in names}
    if (view_of(classes) or {}).get("baseline"):
        later = classes["time"] != classes["time"][0]  # every period but the baseline
        own = {n: v.where(later, classes[n]).astype(v.dtype) for n, v in own.items()}
    return classes.assign(own)


def trace_footprint(
    classes: xr.Dataset,
    aoi: BaseGeometry | None,
    mine_id: str,
    options: FootprintOptions | None = None,
) -> gpd.GeoDataFrame:
    """The footprint GeoDataFrame (docs/contracts.md) of one mine over all its periods."""
    options = options or FootprintOptions()
    options = replace(options, change=options.change.resolved(rules_of(classes)))
    kind = str(classes.attrs.get("period", "year"))
    classes = rule_inputs(_select_baseline(classes, options.baseline, kind))
    crs, transform = _grid(classes)
    codes = np.asarray(classes["class"].values)
    counts = np.asarray(classes["clear_count"].values) if "clear_count" in classes else None
    prob = np.asarray(classes["probability"].values) if "probability" in classes else None
    pixel_m = pixel_metres(crs, transform, codes.shape[1:])
    change = track_change(codes, counts, options.change, prob, pixel_m)
    aoi_local = None
    inside = np.ones(codes.shape[1:], bool)
    if aoi is not None:
        aoi_local = gpd.GeoSeries([aoi], crs=options.aoi_crs).to_crs(crs).iloc[0]
        inside = aoi_mask(aoi_local, codes.shape[1:], transform)
    times = pd.to_datetime(classes["time"].values)
    labels = [period_label(t, kind) for t in times]
    pixel_m2 = abs(transform.a * transform.e - transform.b * transform.d)
    min_px = math.ceil(options.min_mapping_unit_ha * 10_000 / pixel_m2 - 1e-9)
    frames = [
        _period_frame(
            change, t, inside, min_px, transform, aoi_local, classes, labels, kind, times[t]
        )
        for t in range(len(times))
    ]
    rows = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if any(len(f) for f in frames)
        else None
    )
    out = _to_frame(rows, crs, mine_id)
    waiting = awaiting_confirmation(codes, change, options.change, prob, inside)
    waiting, _ = kept_patches(waiting, codes.shape[-1], min_px)
    area = _pixels_area_ha(waiting, codes.shape[1:], transform, aoi_local, crs)
    out.attrs[AWAITING] = {labels[-1]: area}
    return out


#: ``footprint.attrs`` key: {latest period: hectares awaiting confirmation} (see
#: :func:`~geomon.footprint.change.awaiting_confirmation`; patches under the minimum mapping
#: unit dropped, clipped to the AOI); not part of the footprint's polygons or areas
AWAITING = "awaiting_confirmation_ha"


def awaiting_hectares(footprint: gpd.GeoDataFrame) -> dict[str, float]:
    """{period: hectares} of land awaiting confirmation (``footprint.attrs[AWAITING]``), the
    periods with some only; empty when there is none or the frame lost its attrs (a
    ``pd.concat`` of several mines' footprints drops them)."""
    found = footprint.attrs.get(AWAITING, {}) or {}
    return {str(k): float(v) for k, v in found.items() if float(v) > 0}


def _pixels_area_ha(
    pixels: np.ndarray,
    shape: tuple[int, ...],
    transform: Affine,
    aoi: BaseGeometry | None,
    crs: str,
) -> float:
    """Hectares of the pixels (flat indices into a grid of ``shape``) clipped to ``aoi``,
    measured as the footprint's polygons are (:func:`~geomon.footprint.polygons.area_ha`)."""
    if not pixels.size:
        return 0.0
    mask = np.zeros(shape, bool)
    mask.reshape(-1)[pixels] = True
    geoms, _ = vectorize(mask.view(np.uint8), mask, transform, aoi)
    return float(area_ha(gpd.GeoSeries(geoms, crs=crs)).sum())


def _period_frame(
    change: ChangeResult,
    t: int,
    inside: np.ndarray,
    min_px: int,
    transform: Affine,
    aoi: BaseGeometry | None,
    classes: xr.Dataset,
    labels: list[str],
    kind: str,
    start: pd.Timestamp,
) -> pd.DataFrame:
    from geomon.footprint._kernels import masked_pixels

    # the footprint's pixels (flat indices) with their patches, labelled once: the minimum
    # mapping unit drops the small ones and the dissolve groups by them
    width = inside.shape[-1]
    pixels, patches = kept_patches(masked_pixels(change.status[t], inside), width, min_px)
    # the minimum mapping unit applies to connected patches; inside a patch each status keeps
    # its exact extent (thin growth rings stay new), while first-seen and baseline-cover
    # fragments smaller than the unit join their largest neighbour of the same status (a
    # sieve), instead of a mosaic of one-pixel polygons
    n_periods = len(labels) + 1
    # one int32 key per pixel for (status, first seen, baseline class, cover), computed on the
    # masked pixels only (a few percent of the grid; full-raster temporaries were a fifth of
    # the tracing time on a 4096 px grid), 0 elsewhere
    status = change.status[t].reshape(-1)[pixels]
    first = change.first_seen.reshape(-1)[pixels]
    base = change.baseline_class.reshape(-1)[pixels]
    key = status.astype(np.int32)
    key *= n_periods
    key += first
    key += 1
    key *= _N_CLASSES
    key += base
    key *= _N_COVERS
    key += _cover_at_baseline(classes, change, pixels)
    # whether land counts as disturbed at baseline (impacts measure the baseline halo and
    # carbon from it) stays exact too: the sieve never merges across it
    at_baseline = (base == BARE_DISTURBED) | ((first == 0) & (status != NEW))
    within = status.astype(np.int8) * 2 + at_baseline
    # the sieve on the masked pixels' keys alone (generalise's merges, without raster-sized
    # copies of the keys and groups)
    sieve_pixels(key, within, pixels, width, min_px)
    # the narrowest integer raster that holds every key (uint8 for a few periods): GDAL
    # polygonises equal values the same whatever their type, and a fresh int32 raster and
    # rasterio's copy of it cost as much as their bytes (0.1 s at 4096 px)
    top = 4 * n_periods * _N_CLASSES * _N_COVERS  # > any key
    dtype = np.uint8 if top <= 256 else np.uint16 if top <= 65536 else np.int32
    keys = np.zeros(inside.shape, dtype)  # 0 outside the mask
    keys.reshape(-1)[pixels] = key
    mask = np.zeros(inside.shape, bool)
    mask.reshape(-1)[pixels] = True
    geoms, values = vectorize(keys, mask, transform, aoi)
    geoms, values = dissolve_by_patch(geoms, values, mask, transform, (pixels, patches))
    if not geoms:
        return pd.DataFrame()
    vals = np.asarray(values, dtype=np.int64)
    cov, rest = vals % _N_COVERS, vals // _N_COVERS
    bcls, rest = rest % _N_CLASSES, rest // _N_CLASSES
    fst, st = rest % n_periods, rest // n_periods
    p_start, p_end = period_bounds(start, kind)
    return pd.DataFrame(
        {
            "period": labels[t],
            "period_start": p_start,
            "period_end": p_end,
            "status": [STATUS_NAMES[s] for s in st],
            "first_seen": [labels[f - 1] if f > 0 else labels[t] for f in fst],
            "baseline_class": [CLASS_NAMES[c] for c in bcls],
            "baseline_cover": [COVER_NAMES[c] for c in cov],
            "geometry": geoms,
        }
    )


def _to_frame(rows: pd.DataFrame | None, crs: str, mine_id: str) -> gpd.GeoDataFrame:
    if rows is None:
        empty = {c: pd.Series(dtype="object") for c in COLUMNS if c != "geometry"}
        empty["area_ha"] = pd.Series(dtype="float64")
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=crs), crs=crs)[list(COLUMNS)]
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    gdf.insert(0, "mine_id", mine_id)
    gdf["area_ha"] = area_ha(gdf.geometry)
    return gdf[list(COLUMNS)]


def disturbed_area(footprint: gpd.GeoDataFrame) -> pd.DataFrame:
    """Hectares per period and status (columns new, persisting, rehabilitated, disturbed =
    new + persisting), one row per period."""
    table = footprint.pivot_table(
        index="period", columns="status", values="area_ha", aggfunc="sum", fill_value=0.0
    )
    for name in STATUS_NAMES[1:]:
        if name not in table:
            table[name] = 0.0
    table = table[list(STATUS_NAMES[1:])]
    table["disturbed"] = table["new"] + table["persisting"]
    table.columns.name = None
    return table
