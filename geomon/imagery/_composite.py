"""Per-period composites: the per-pixel median of clear observations and their count.

Every period between the first and last date is kept: a period without any scene, or with too
few clear pixels, is flagged in ``low_coverage`` rather than dropped. One task per period, band
and spatial block reduces that block's whole period at once (a sort along time).
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
from geomon.imagery._types import CompositeOptions, Period

__all__ = ["composite", "period_label", "period_starts"]

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


def _median_block(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Median over axis 0 of the clear, finite values; NaN where there are none."""
    from geomon.imagery._kernels import median_clear

    return median_clear(x, valid)


def _count_block(valid: np.ndarray) -> np.ndarray:
    return valid.sum(axis=0, dtype=np.int16)[None]


def _median_task(xs: list[np.ndarray], valids: list[np.ndarray]) -> np.ndarray:
    return _median_block(np.concatenate(xs), np.concatenate(valids))


def _count_task(valids: list[np.ndarray]) -> np.ndarray:
    return _count_block(np.concatenate(valids))


def _fill_task(shape: tuple[int, ...], value: Any, dtype: Any) -> np.ndarray:
    return np.full(shape, value, dtype=dtype)


def _per_period(
    func: Callable[..., np.ndarray],
    arrays: Sequence[da.Array],
    sizes: Sequence[int],
    dtype: Any,
    fill: Any,
) -> da.Array:
    """One task per (period, spatial block): ``func`` gets, for each input, the list of that
    period's time blocks (no rechunk, no concatenate tasks); empty periods get ``fill``."""
    arrays = [a if all(c == 1 for c in a.chunks[0]) else a.rechunk({0: 1}) for a in arrays]
    ychunks, xchunks = arrays[0].chunks[1:]
    name = f"{func.__name__.strip('_')}-{tokenize(func, *arrays, tuple(sizes), fill)}"
    graph: dict[Any, Any] = {}
    t0 = 0
    for p, size in enumerate(sizes):
        for i, h in enumerate(ychunks):
            for j, w in enumerate(xchunks):
                if size == 0:
                    graph[(name, p, i, j)] = (_fill_task, (1, h, w), fill, dtype)
                    continue
                blocks = [[(a.name, t, i, j) for t in range(t0, t0 + size)] for a in arrays]
                graph[(name, p, i, j)] = (func, *blocks)
        t0 += size
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=list(arrays))  # type: ignore[arg-type]
    return da.Array(hlg, name, ((1,) * len(sizes), ychunks, xchunks), dtype=dtype)


def _sizes(times: np.ndarray, starts: Sequence[dt.date], period: Period) -> list[int]:
    days = [_floor(pd.Timestamp(t).date(), period) for t in times]
    return [days.count(s) for s in starts]


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
    ``clear_count`` (int16), ``valid`` (clear_count >= 1) and ``low_coverage`` (per period)."""
    options = options or CompositeOptions()
    if "valid" not in ds:
        raise ConfigError("composite needs a 'valid' mask; load imagery with geomon.imagery.load")
    if ds.sizes["time"] == 0:
        raise ConfigError("composite needs at least one time step")
    if not ds.indexes["time"].is_monotonic_increasing:
        ds = ds.sortby("time")  # (an indexing task per block: only when needed)
    if not ds.chunks:
        ds = ds.chunk({"time": 1})
    times = ds["time"].values
    first = start or pd.Timestamp(times[0]).date()
    last = end or pd.Timestamp(times[-1]).date()
    starts = period_starts(first, last, options.period)
    sizes = _sizes(times, starts, options.period)
    valid = ds["valid"].data
    out = {
        band: _per_period(_median_task, [ds[band].data, valid], sizes, np.float32, np.nan)
        for band in ds.data_vars
        if band in BANDS
    }
    count = _per_period(_count_task, [valid], sizes, np.int16, 0)
    return _assemble(ds, out, count, starts, sizes, options)


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
