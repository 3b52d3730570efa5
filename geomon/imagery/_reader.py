"""A lean reader for the common case: assets already on the output grid (same CRS, pixel edges
aligned, resolution an integer fraction of the output's). One task per (time step, band, block)
reads the block's window from each scene of the step and pastes it; open datasets are shared
by the process's threads (a bounded pool); coarser outputs read from the COG overviews (GDAL picks the level for a decimated
read). Anything else (another UTM zone, EPSG:4326 files, rotated grids) goes through odc-stac.

GDAL/rasterio settings active when the graph is built are captured into every task and
restored around its reads, so they reach Dask workers in other processes.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import rasterio
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from odc.geo.geobox import GeoBox
from rasterio.enums import Resampling
from rasterio.windows import Window

__all__ = [
    "Paste",
    "capture_env",
    "close_datasets",
    "paste_offsets",
    "pasted_array",
    "read_stack",
    "stacked_read",
]

_REMOTE = ("http://", "https://", "s3://", "/vsi", "gs://", "az://")


def _pool_size() -> int:
    """Idle datasets kept open per process. Each holds a file descriptor and ~0.65 MB once
    read from (GDAL's dataset and TIFF directory, libtiff's buffer of the last compressed tile;
    whole decoded tiles go straight to our arrays), so 512 keep at most ~330 MB whatever the
    AOI, within a quarter of the descriptor limit. Reads cycle through every file of a period
    once per block, so the pool should hold them all (bands x scenes of a period): a pool a
    little too small misses on every read (LRU on a cycle), and reopening costs ~1.5 ms."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):  # pragma: no cover - non-POSIX
        soft = 1024
    return max(16, min(512, soft // 4))


#: GDAL block cache while geomon reads, in bytes: rasterio hands an integer ``GDAL_CACHEMAX`` to
#: ``GDALSetCacheMax64``, which takes bytes (``64`` had made it a 64-byte cache). The cache is
#: process-wide, not per thread: readers on two threads save and restore each other's value, so
#: the process can keep this bound after a read (rather than GDAL's default of 5 % of RAM). With
#: the 64-byte value left behind, GDAL's rasterize (the footprint's AOI mask) ran 10-20x slower.
_CACHEMAX_BYTES = 64 * 2**20


class _Pool:
    """Open datasets shared by the threads of a process. A read checks a dataset out (a GDAL
    dataset serves one thread at a time) and returns it; idle ones are kept, least recently
    used closed first, up to ``size``. Shared rather than per thread, so that every thread
    does not open (and hold) every file: with 2 threads that halved the opens and the memory,
    which had grown with the number of blocks each file is read for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._idle: OrderedDict[str, list[Any]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @contextmanager
    def checkout(self, uri: str) -> Iterator[Any]:
        """An open dataset for ``uri``, this thread's until the block exits."""
        ds = self._take(uri)
        if ds is None or ds.closed:
            ds = rasterio.open(uri)
        try:
            yield ds
        finally:
            self._give(uri, ds)

    def _take(self, uri: str) -> Any:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: its parent's handles are not its own
                self._idle, self._count, self._pid = OrderedDict(), 0, os.getpid()
            idle = self._idle.get(uri)
            if not idle:
                return None
            self._count -= 1
            ds = idle.pop()
            if not idle:
                del self._idle[uri]
            return ds

    def _give(self, uri: str, ds: Any) -> None:
        closing = []
        with self._lock:
            self._idle.setdefault(uri, []).append(ds)
            self._idle.move_to_end(uri)
            self._count += 1
            while self._count > self.size:
                oldest, idle = next(iter(self._idle.items()))
                closing.append(idle.pop(0))
                self._count -= 1
                if not idle:
                    del self._idle[oldest]
        for old in closing:
            old.close()


_POOL = _Pool(_pool_size())


def close_datasets() -> int:
    """Close the idle datasets of this process's pool (file handles and their memory); returns
    how many were closed. Reads reopen what they need."""
    with _POOL._lock:
        idle, _POOL._idle, _POOL._count = _POOL._idle, OrderedDict(), 0
    closed = [ds for stack in idle.values() for ds in stack]
    for ds in closed:
        ds.close()
    return len(closed)


@dataclass(frozen=True)
class Paste:
    """Where one asset sits on the output grid: its top-left corner in output pixels."""

    uri: str
    """The asset's href."""
    row: float
    """Output row of the asset's first row (may be negative or fractional with decimation)."""
    col: float
    """Output column of the asset's first column."""
    factor: int
    """Asset pixels per output pixel along each axis (1: same resolution; 2, 4...: overviews)."""
    height: int
    """Asset height in its own pixels."""
    width: int
    """Asset width in its own pixels."""


def paste_offsets(src: GeoBox, dst: GeoBox, uri: str) -> Paste | None:
    """A :class:`Paste` when ``src`` pixels tile ``dst`` pixels exactly, else None."""
    a, b = src.affine, dst.affine
    if src.crs != dst.crs or a.b or a.d or b.b or b.d or a.e >= 0 or b.e >= 0:
        return None
    ratio = b.a / a.a
    factor = round(ratio)
    if factor < 1 or abs(ratio - factor) > 1e-9 or abs(b.e / a.e - factor) > 1e-9:
        return None
    col, row = (b.c - a.c) / a.a, (a.f - b.f) / -a.e
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    return Paste(uri, -round(row) / factor, -round(col) / factor, factor, src.shape.y, src.shape.x)


def capture_env(uris: Sequence[str]) -> tuple[tuple[str, Any], ...]:
    """The rasterio/GDAL options in force now, over geomon's defaults (a 64 MiB block cache;
    cloud-friendly settings for remote assets)."""
    options: dict[str, Any] = {"GDAL_CACHEMAX": _CACHEMAX_BYTES}
    if any(u.startswith(_REMOTE) for u in uris):
        options.update(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", GDAL_HTTP_MAX_RETRY="5",
                       GDAL_HTTP_RETRY_DELAY="1", VSI_CACHE="TRUE")  # fmt: skip
    if rasterio.env.hasenv():
        options.update(rasterio.env.getenv())
    return tuple(sorted(options.items()))


def _paste_one(out: np.ndarray, p: Paste, row0: int, col0: int, nodata: Any, first: bool) -> None:
    """Read the part of asset ``p`` under output block (row0, col0, out.shape) into ``out``:
    directly when it is the step's first asset, else only where ``out`` is still nodata."""
    h, w = out.shape
    top, left = max(row0, math.ceil(p.row)), max(col0, math.ceil(p.col))
    bottom = min(row0 + h, math.floor(p.row + p.height / p.factor))
    right = min(col0 + w, math.floor(p.col + p.width / p.factor))
    if bottom <= top or right <= left:
        return
    f = p.factor
    window = Window(
        round((left - p.col) * f), round((top - p.row) * f), (right - left) * f, (bottom - top) * f
    )
    target = out[top - row0 : bottom - row0, left - col0 : right - col0]
    with _POOL.checkout(p.uri) as reader:
        if first and target.flags.c_contiguous:
            reader.read(1, window=window, out=target, resampling=Resampling.nearest)
            return
        data = reader.read(1, window=window, out_shape=target.shape, resampling=Resampling.nearest)
    if first or nodata is None:
        target[...] = data
    else:
        np.copyto(target, data, where=target == nodata)


def _covers(p: Paste, block: tuple[int, int, int, int]) -> bool:
    row0, col0, h, w = block
    return (
        p.row <= row0
        and p.col <= col0
        and p.row + p.height / p.factor >= row0 + h
        and (p.col + p.width / p.factor >= col0 + w)
    )


def _read_step(out: np.ndarray, pastes: tuple[Paste, ...], block: tuple[int, int, int, int],
               nodata: Any) -> None:  # fmt: skip
    """Fill ``out`` (h, w) with the first non-nodata value of one step's assets (env active)."""
    row0, col0 = block[0], block[1]
    if not (pastes and _covers(pastes[0], block)):
        out[...] = nodata or 0
    for k, p in enumerate(pastes):
        _paste_one(out, p, row0, col0, nodata, first=k == 0)


def read_block(
    pastes: tuple[Paste, ...],
    block: tuple[int, int, int, int],
    dtype: str,
    nodata: Any,
    env: tuple[tuple[str, Any], ...],
) -> np.ndarray:
    """One output block (1, h, w): the first non-nodata value of the step's assets."""
    out = np.empty((1, block[2], block[3]), dtype=dtype)
    with rasterio.Env(**dict(env)):
        _read_step(out[0], pastes, block, nodata)
    return out


def read_stack(
    steps: tuple[tuple[Paste, ...], ...],
    block: tuple[int, int, int, int],
    dtype: str,
    nodata: Any,
    env: tuple[tuple[str, Any], ...],
) -> np.ndarray:
    """Several steps of one block (len(steps), h, w), each read straight into its slice of one
    array: the same values as stacking :func:`read_block`'s, without the per-step arrays, the
    copy that stacks them, or a GDAL environment per step."""
    out = np.empty((len(steps), block[2], block[3]), dtype=dtype)
    with rasterio.Env(**dict(env)):
        for t, pastes in enumerate(steps):
            _read_step(out[t], pastes, block, nodata)
    return out


def stacked_read(tasks: Sequence[Any]) -> tuple[Any, ...] | None:
    """One :func:`read_stack` task for ``tasks``, read tasks of one block built by
    :func:`pasted_array` (consecutive steps); None when they are anything else."""
    if not tasks or not all(isinstance(t, tuple) and t and t[0] is read_block for t in tasks):
        return None
    _, _, block, dtype, nodata, env = tasks[0]
    if any(t[2:] != (block, dtype, nodata, env) for t in tasks):
        return None
    return (read_stack, tuple(t[1] for t in tasks), block, dtype, nodata, env)


def pasted_array(
    steps: Sequence[tuple[Paste, ...]],
    geobox: GeoBox,
    blocks: tuple[tuple[int, ...], tuple[int, ...]],
    dtype: str,
    nodata: Any,
    env: tuple[tuple[str, Any], ...],
    label: str,
) -> da.Array:
    """A (time, y, x) dask array with ``blocks`` sizes: one read task per time step and block."""
    ys, xs = blocks
    token = tokenize(tuple(steps), geobox.affine, geobox.shape, blocks, dtype, nodata, env)
    name = f"read-{label}-{token}"
    y0s, x0s = np.cumsum((0, *ys[:-1])), np.cumsum((0, *xs[:-1]))
    graph: dict[Any, Any] = {}
    for t, pastes in enumerate(steps):
        for i, (y0, h) in enumerate(zip(y0s, ys, strict=True)):
            for j, (x0, w) in enumerate(zip(x0s, xs, strict=True)):
                block = (int(y0), int(x0), h, w)
                graph[(name, t, i, j)] = (read_block, pastes, block, dtype, nodata, env)
    chunks = ((1,) * len(steps), ys, xs)
    return da.Array(
        HighLevelGraph.from_collections(name, graph, dependencies=()), name, chunks, dtype
    )
