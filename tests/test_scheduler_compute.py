"""geomon.scheduler.compute_by_period: each task runs once, whatever the Dataset's layout."""

from __future__ import annotations

import threading

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from geomon.scheduler import compute_by_period

_LOCK = threading.Lock()


def _dataset(time_chunk: int, calls: list[int], other: str) -> xr.Dataset:
    """Four periods of 8 x 8, each chunk counting its computations into ``calls``; ``other``:
    ``none``, ``var`` (a lazy sum over periods, sharing the chunks) or ``coord`` (the same as a
    coordinate)."""

    def block(x: np.ndarray) -> np.ndarray:
        with _LOCK:
            calls.append(1)
        return x * 2

    base = da.arange(4 * 64, dtype=np.float32).reshape(4, 8, 8).rechunk((time_chunk, 4, 4))
    doubled = base.map_blocks(block, dtype=np.float32)
    ds = xr.Dataset(
        {"band": (("time", "y", "x"), doubled), "flag": (("time",), da.ones(4, chunks=1) > 0)},
        coords={"time": np.arange(4)},
        attrs={"period": "year"},
    )
    if other == "var":
        ds["total"] = (("y", "x"), doubled.sum(axis=0))
    elif other == "coord":
        ds = ds.assign_coords(total=(("y", "x"), doubled.sum(axis=0)))
    return ds


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
@pytest.mark.parametrize(
    ("time_chunk", "other"), [(1, "none"), (2, "none"), (1, "var"), (1, "coord")]
)
def test_each_chunk_is_computed_once(scheduler: str, time_chunk: int, other: str) -> None:
    calls: list[int] = []
    ds = _dataset(time_chunk, calls, other)
    n_chunks = ds["band"].data.npartitions
    with dask.config.set(scheduler=scheduler):
        expected = ds.compute()
        calls.clear()
        got = compute_by_period(ds)
    xr.testing.assert_identical(got, expected)
    assert len(calls) == n_chunks  # a chunk over two periods, or one a sum shares, runs once
