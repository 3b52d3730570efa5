"""Per-period composites: the per-pixel median of clear observations and their count, and, where
red and nir are loaded, ``ndvi_max``: the greatest NDVI of the period's clear observations (a
temporal statistic of the period: a field green for part of the year, or rehabilitated ground,
shows it though its median looks bare; ground cleared for a mine stays low all period), and
``ndvi_max_late``: the same over the observations of the period's second half (ground cleared
before the middle of the period is low there, though ``ndvi_max`` saw it green before).

Every period between the first and last date is kept: a period without any scene, or with too
few clear pixels, is flagged in ``low_coverage`` rather than dropped. One task per period, band
and spatial block reduces that block's whole period at once, taking the period's time blocks
directly (no rechunk or concatenate tasks). :func:`composite` works on the imagery contract;
:func:`composite_raw` on stored values with per-step scale and offset (reflectance computed in
the median kernel, masks possibly coarser than the band), which ``load_composite`` uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from geomon.errors import ConfigError
from geomon.imagery._bands import BANDS
from geomon.imagery._indices import normalized_difference
from geomon.imagery._kernels import median_clear, ndvi_max_clear, nearest_clear, nearest_first
from geomon.imagery._reader import stacked_read
from geomon.imagery._types import CompositeOptions, Period

__all__ = ["composite", "composite_raw", "period_label", "period_starts"]

_FREQ = {"month": "MS", "quarter": "QS", "year": "YS"}


def _floor(day: dt.date, period: Period) -> dt.date:
    if period == "year":
        return dt.date(day.year, 1, 1)
    month = day.month if period == "month" else (day.month - 1) // 3 * 3 + 1
    return dt.date(day.year, month, 1)


def period_starts(start: dt.date, end: dt.date, period: Period) -> list[dt.date]:
    """First day of every period that overlaps ``start..end``."""
    index = pd.date_range(_floor(start, period), end, freq=_FREQ[period])
    return [d.date() for d in index]


def period_label(start: dt.date, period: Period) -> str:
    """``2021`` (year), ``2021Q3`` (quarter) or ``2021-07`` (month)."""
    if period == "year":
        return f"{start.year}"
    if period == "quarter":
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    return f"{start:%Y-%m}"


def _stack(blocks: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """A period's time blocks as one array (already one when read by :func:`read_stack`)."""
    if isinstance(blocks, np.ndarray):
        return blocks
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _median_task(
    xs: np.ndarray | list[np.ndarray],
    valids: np.ndarray | list[np.ndarray],
    scale: np.ndarray,
    offset: np.ndarray,
    nodata: Any,
    factor: int,
) -> np.ndarray:
    x = _stack(xs)
    valid = _stack(valids)
    return median_clear(x, valid, scale=scale, offset=offset, nodata=nodata, valid_factor=factor)


def _view_task(xs: np.ndarray | list[np.ndarray], valids: Any, *scaling: Any) -> np.ndarray:
    """The period's date view of a band (:func:`nearest_clear` from the middle step outwards);
    ``scaling``: scale, offset, nodata and mask factor, as :func:`_median_task` takes them."""
    x = _stack(xs)
    scale, offset, nodata, factor = scaling
    order = np.asarray(nearest_first(x.shape[0]), np.int64)
    valid = _stack(valids)
    return nearest_clear(
        x, valid, order, scale=scale, offset=offset, nodata=nodata, valid_factor=factor
    )


def _ndvi_max_task(
    nirs: np.ndarray | list[np.ndarray],
    reds: np.ndarray | list[np.ndarray],
    valids: np.ndarray | list[np.ndarray],
    scale: np.ndarray,
    offset: np.ndarray,
    nodata: tuple[float, float] | None,
    factor: int,
    late: int | None,
) -> np.ndarray:
    return ndvi_max_clear(
        _stack(nirs),
        _stack(reds),
        _stack(valids),
        scale=scale,
        offset=offset,
        nodata=nodata,
        valid_factor=factor,
        late=late,
    )


def _count_task(valids: list[np.ndarray], factor: int, shape: tuple[int, int]) -> np.ndarray:
    count = (
        np.add.reduce(valids, dtype=np.int16)[0]
        if len(valids) > 1
        else valids[0][0].astype(np.int16)
    )
    if factor > 1:
        count = count.repeat(factor, axis=0).repeat(factor, axis=1)
    return count[None, : shape[0], : shape[1]]


def _fill_task(shape: tuple[int, ...], value: Any, dtype: Any) -> np.ndarray:
    return np.full(shape, value, dtype=dtype)


def _time_blocks(a: da.Array) -> da.Array:
    return a if all(c == 1 for c in a.chunks[0]) else a.rechunk({0: 1})


def _inlinable(a: da.Array) -> bool:
    """A one-layer array of plain read tasks (the paste reader): its tasks can run inside the
    task that consumes them, saving one task and one held block per read."""
    graph = a.__dask_graph__()
    return (
        isinstance(graph, HighLevelGraph) and len(graph.layers) == 1 and a.name.startswith("read-")
    )


def _block_refs(
    a: da.Array, mode: str, shared: dict[Any, Any]
) -> Callable[[int, int, int, int], Any]:
    """What a task gets for steps t0..t1 of block (i, j): ``keys``, a list of block keys;
    ``inline``, one task reading them all into one array (else a list of the read tasks);
    ``shared``, the key of a task that makes that one array (a read straight into it when the
    array is plain reads, else a concatenation of the block keys), added to ``shared``: every
    task of any graph that asks for the same steps and block takes that key, so a band that
    two composite variables read (nir and red: their medians and ``ndvi_max``) and the clear
    mask that every band's median reads are read or stacked once per period and block, not
    once per consumer (each stacking a fresh copy)."""
    if mode == "keys":
        return lambda t0, t1, i, j: [(a.name, t, i, j) for t in range(t0, t1)]
    graph = a.__dask_graph__()
    if mode == "inline":

        def ref(t0: int, t1: int, i: int, j: int) -> Any:
            tasks = [graph[(a.name, t, i, j)] for t in range(t0, t1)]
            return stacked_read(tasks) or tasks

        return ref
    readable = _inlinable(a)

    def shared_ref(t0: int, t1: int, i: int, j: int) -> Any:
        key = (f"stack-{a.name}", t0, t1, i, j)
        if key not in shared:
            keys = [(a.name, t, i, j) for t in range(t0, t1)]
            read = stacked_read([graph[k] for k in keys]) if readable else None
            shared[key] = read or (_stack, keys)
        return key

    return shared_ref


def _per_period(
    func: Callable[..., np.ndarray],
    arrays: Sequence[da.Array],
    sizes: Sequence[int],
    like: da.Array,
    dtype: Any,
    fill: Any,
    args: Callable[[int, int, int, int], tuple[Any, ...]],
    modes: Sequence[str] | None = None,
) -> da.Array:
    """One task per (period, block of ``like``): ``func(*time-block lists, *args(t0, size, h, w))``;
    empty periods get ``fill``. All ``arrays`` share ``like``'s block layout in y and x; each is
    passed as its ``modes`` says (see :func:`_block_refs`; default ``keys``)."""
    arrays = [_time_blocks(a) for a in arrays]
    modes = list(modes) if modes is not None else ["keys"] * len(arrays)
    shared: dict[Any, Any] = {}
    refs = [_block_refs(a, m, shared) for a, m in zip(arrays, modes, strict=True)]
    ychunks, xchunks = like.chunks[1:]
    name = f"{func.__name__.strip('_')}-{tokenize(func, *arrays, tuple(sizes), fill, args(0, 0, 0, 0))}"
    graph: dict[Any, Any] = {}
    t0 = 0
    for p, size in enumerate(sizes):
        for i, h in enumerate(ychunks):
            for j, w in enumerate(xchunks):
                if size == 0:
                    graph[(name, p, i, j)] = (_fill_task, (1, h, w), fill, dtype)
                    continue
                blocks = [ref(t0, t0 + size, i, j) for ref in refs]
                graph[(name, p, i, j)] = (func, *blocks, *args(t0, size, h, w))
        t0 += size
    graph.update(shared)
    stacks = {k[0] for k, task in shared.items() if isinstance(task, tuple) and task[0] is _stack}
    deps = [
        a
        for a, m in zip(arrays, modes, strict=True)
        if m == "keys" or (m == "shared" and f"stack-{a.name}" in stacks)
    ]
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=deps)  # type: ignore[arg-type]
    return da.Array(hlg, name, ((1,) * len(sizes), ychunks, xchunks), dtype=dtype)


def _sizes(times: np.ndarray, starts: Sequence[dt.date], period: Period) -> list[int]:
    days = [_floor(pd.Timestamp(t).date(), period) for t in times]
    return [days.count(s) for s in starts]


def _prepare(
    ds: xr.Dataset, start: dt.date | None, end: dt.date | None, period: Period
) -> tuple[xr.Dataset, list[dt.date], list[int]]:
    if ds.sizes.get("time", 0) == 0:
        raise ConfigError("composite needs at least one time step")
    if not ds.indexes["time"].is_monotonic_increasing:
        ds = ds.sortby("time")  # (an indexing task per block: only when needed)
    if not ds.chunks:
        ds = ds.chunk({"time": 1})
    times = ds["time"].values
    first = start or pd.Timestamp(times[0]).date()
    last = end or pd.Timestamp(times[-1]).date()
    starts = period_starts(first, last, period)
    return ds, starts, _sizes(times, starts, period)


def _scaling(ds: xr.Dataset, t0: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    if "scale" in ds.coords:
        return ds["scale"].values[t0 : t0 + size], ds["offset"].values[t0 : t0 + size]
    return np.ones(size), np.zeros(size)


def _band_median(
    ds: xr.Dataset,
    band: str,
    valid: da.Array,
    factor: int,
    sizes: list[int],
    shared: bool,
    task: Callable[..., np.ndarray] = _median_task,
) -> da.Array:
    """The band's per-period median (``task``: or its date view, :func:`_view_task`);
    ``shared``: other tasks read the band too (its steps read once per block by a task they
    share, not inlined into each, which would read it twice)."""
    nodata = ds[band].attrs.get("nodata") if "scale" in ds.coords else None

    def args(t0: int, size: int, h: int, w: int) -> tuple[Any, ...]:
        return (*_scaling(ds, t0, size), nodata, factor)

    data = ds[band].data
    mode = "shared" if shared else "inline" if _inlinable(data) else "keys"
    modes = [mode, "shared"]
    return _per_period(task, [data, valid], sizes, data, np.float32, np.nan, args, modes)


_NDVI_BANDS = ("nir", "red")
#: prefix of a band's date view (:attr:`~geomon.imagery.CompositeOptions.date_view`)
VIEW_PREFIX = "view_"
NDVI_MAX = "ndvi_max"
NDVI_MAX_LATE = "ndvi_max_late"
NDVI_MID = "ndvi_mid"
#: composite variables that are temporal statistics of the period (beside the band medians);
#: ``ndvi_mid`` only with :attr:`~geomon.imagery.CompositeOptions.date_view`
TEMPORAL_VARIABLES = (NDVI_MAX, NDVI_MAX_LATE, NDVI_MID)


def _late_steps(
    times: np.ndarray, starts: Sequence[dt.date], sizes: Sequence[int], period: Period
) -> dict[int, int]:
    """Each period's first step index -> the index, within the period, of its first step on or
    after the period's middle (its day count halved; the period's size if none is)."""
    step = pd.tseries.frequencies.to_offset(_FREQ[period])
    out = {}
    t0 = 0
    for start, size in zip(starts, sizes, strict=True):
        if not size:  # an empty period shares its t0 with the next; it gets no task
            continue
        begin = pd.Timestamp(start)
        middle = begin + (begin + step - begin) / 2
        out[t0] = int(np.searchsorted(times[t0 : t0 + size], middle.to_datetime64()))
        t0 += size
    return out


def _ndvi_max(
    ds: xr.Dataset,
    valid: da.Array,
    factor: int,
    sizes: list[int],
    late: dict[int, int] | None = None,
) -> da.Array:
    """The per-period greatest NDVI of clear observations (NaN where none); with ``late``
    (:func:`_late_steps`), of those in the period's second half where it has any."""
    stored = "scale" in ds.coords
    nir_nd, red_nd = (ds[b].attrs.get("nodata") if stored else None for b in _NDVI_BANDS)
    nodata = None if nir_nd is None or red_nd is None else (float(nir_nd), float(red_nd))

    def args(t0: int, size: int, h: int, w: int) -> tuple[Any, ...]:
        return (*_scaling(ds, t0, size), nodata, factor, None if late is None else late[t0])

    arrays = [ds[b].data for b in _NDVI_BANDS]
    like = arrays[0]
    modes = ["shared"] * 3
    return _per_period(
        _ndvi_max_task, [*arrays, valid], sizes, like, np.float32, np.nan, args, modes
    )


def composite_raw(
    ds: xr.Dataset,
    valid: xr.DataArray,
    options: CompositeOptions | None = None,
    *,
    valid_factor: int = 1,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> xr.Dataset:
    """Composite stored values (with ``scale``/``offset`` coords and ``nodata`` attrs) using a
    clear mask that may be coarser by ``valid_factor``; see :func:`composite`."""
    options = options or CompositeOptions()
    ds, starts, sizes = _prepare(ds, start, end, options.period)
    mask = _time_blocks(
        valid.data
        if isinstance(valid.data, da.Array)
        else da.from_array(valid.values, chunks=(1, -1, -1))
    )
    bands = [b for b in ds.data_vars if b in BANDS]
    like = ds[bands[0]].data
    greenest = all(b in bands for b in _NDVI_BANDS)
    shared = tuple(bands) if options.date_view else _NDVI_BANDS if greenest else ()
    out = {b: _band_median(ds, b, mask, valid_factor, sizes, b in shared) for b in bands}
    if options.date_view:
        for b in bands:
            out[VIEW_PREFIX + b] = _band_median(ds, b, mask, valid_factor, sizes, True, _view_task)
    if greenest:
        out[NDVI_MAX] = _ndvi_max(ds, mask, valid_factor, sizes)
        late = _late_steps(ds["time"].values, starts, sizes, options.period)
        out[NDVI_MAX_LATE] = _ndvi_max(ds, mask, valid_factor, sizes, late)
        if options.date_view:  # the NDVI of the clear observation nearest the period's middle
            views = [out[VIEW_PREFIX + b] for b in _NDVI_BANDS]
            out[NDVI_MID] = da.map_blocks(normalized_difference, *views, dtype=np.float32)
    count = _per_period(
        _count_task, [mask], sizes, like, np.int16, 0, lambda t0, size, h, w: (valid_factor, (h, w))
    )
    return _assemble(ds, out, count, starts, sizes, options)


def composite(
    ds: xr.Dataset,
    options: CompositeOptions | None = None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> xr.Dataset:
    """Composite an imagery Dataset (the contract, with ``valid``) to periods, lazily.

    Returns one time step per period (labelled by its first day) from ``start`` to ``end``
    (default: the data's first and last dates), the bands' median over clear observations,
    ``ndvi_max`` (the greatest NDVI over them, where red and nir are present),
    ``ndvi_max_late`` (the greatest over those in the period's second half, or ``ndvi_max`` where
    that half has none), with ``options.date_view`` each band's date view ``view_<band>`` and
    ``ndvi_mid`` (the NDVI of that view), ``clear_count``
    (int16), ``valid`` (clear_count >= 1) and ``low_coverage`` (per period)."""
    if "valid" not in ds:
        raise ConfigError("composite needs a 'valid' mask; load imagery with geomon.imagery.load")
    bands = ds.drop_vars("valid").drop_vars(["scale", "offset"], errors="ignore")
    return composite_raw(bands, ds["valid"], options, start=start, end=end)


def _assemble(
    ds: xr.Dataset,
    bands: dict[str, da.Array],
    count: da.Array,
    starts: Sequence[dt.date],
    sizes: Sequence[int],
    options: CompositeOptions,
) -> xr.Dataset:
    coords = {k: v for k, v in ds.coords.items() if "time" not in v.dims}
    coords["time"] = np.array([np.datetime64(s, "ns") for s in starts])
    coords["period"] = ("time", [period_label(s, options.period) for s in starts])
    coords["item_ids"] = ("time", _ids_per_period(ds, sizes))
    dims = ("time", "y", "x")
    out = xr.Dataset({k: (dims, v) for k, v in bands.items()}, coords=coords)
    out["clear_count"] = (dims, count)
    out["valid"] = out["clear_count"] >= 1
    coverage = out["valid"].mean(("y", "x"))
    out["low_coverage"] = coverage < options.min_coverage
    out["clear_fraction"] = coverage.astype(np.float32)
    out.attrs = {**ds.attrs, "period": options.period, "min_coverage": options.min_coverage}
    return out


def _ids_per_period(ds: xr.Dataset, sizes: Sequence[int]) -> list[str]:
    if "item_ids" not in ds.coords:
        return [""] * len(sizes)
    ids = [str(v) for v in ds["item_ids"].values]
    out, i = [], 0
    for size in sizes:
        out.append(",".join(ids[i : i + size]))
        i += size
    return out
