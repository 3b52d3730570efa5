"""Imagery benchmark: load + mask + composite against a plain rasterio read of the same windows.

A generated Earth Search-like catalog (24 scenes of 2048 x 2048 px at 10 m, 512-px COG blocks:
1.05 GiB of decoded pixels) is read over two AOI sizes (4 blocks and 1 block of 1024 px), each
case in a fresh process so that memory figures are its own. Per case, ``--reps`` times in turn:
the floor (every block geomon reads, read by plain rasterio into numpy, 2 threads, one open per
asset), then geomon's ``load_composite`` (monthly median of SCL-clear observations, graph
building included) on Dask's threaded scheduler with 2 workers, reduced block by block so that
no output is held. Nothing carries over between repetitions: geomon's pool of open datasets is
emptied before each (the floor opens every file anew too). The compiled median kernel and
imported modules are loaded before timing (a one-off ~1 s per process).

Prints, per case, the fastest repetition's wall times, geomon's throughput (decoded MB per
second per core), the wall and CPU-time ratios to the floor (CPU time is the steadier figure on a shared machine), the peak resident memory above the
starting point (first repetition) and how much of it the pool of open datasets held, the task
count, and the 1-minute load average at the start and end of the run (the machine is shared:
read ratios with it).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import gc
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask
import numpy as np
import psutil
import rasterio
from rasterio.windows import from_bounds
from shapely.geometry import box

from geomon.config import cache_dir
from geomon.imagery import (
    Aoi,
    CompositeOptions,
    LoadOptions,
    Query,
    StaticCatalogSource,
    load_composite,
    plan,
)
from geomon.imagery._reader import close_datasets
from geomon.imagery.testing import write_s2_catalog

THREADS = 2
CASES = ("full", "quarter")


def catalog(items: int, size_px: int, span_days: int = 59, scene: str = "flat") -> Path:
    """The benchmark catalog (``items`` scenes spread over ``span_days`` from 2023-01-02),
    generated once into the cache. ``scene``: ``flat`` (blocks of three flat spectra, the
    original input) or ``realistic`` (:mod:`bench.landscape`: demo spectra, natural covers and
    mines)."""
    span = "" if span_days == 59 else f"-d{span_days}"
    kind = "" if scene == "flat" else f"-{scene}"
    root = cache_dir() / "bench" / f"s2-{items}x{size_px}-b512{span}{kind}"
    if (root / "catalog.json").exists():
        return root / "catalog.json"
    start = dt.date(2023, 1, 2)
    dates = [start + dt.timedelta(days=(span_days * i) // items) for i in range(items)]
    print(f"generating {items} scenes of {size_px} px into {root} (once)...", flush=True)
    surface = None
    if scene == "realistic":
        from bench.landscape import realistic_reflectance

        surface = realistic_reflectance((size_px, size_px), seed=11)
    cat = write_s2_catalog(root, dates, cloud=0.2, size_px=size_px, seed=11, surface=surface)
    assert cat.catalog_path is not None
    return cat.catalog_path


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """Peak RSS (MB) above the RSS at entry, sampled every 5 ms."""
    proc, out, stop = psutil.Process(), {"peak_mb": 0.0}, threading.Event()
    base = proc.memory_info().rss

    def sample() -> None:
        while not stop.is_set():
            out["peak_mb"] = max(out["peak_mb"], (proc.memory_info().rss - base) / 2**20)
            time.sleep(0.005)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()


def _windows(
    query: Query, source: StaticCatalogSource, chunk: int, bands: tuple[str, ...] | None = None
) -> list[tuple[str, list[Any]]]:
    """Per asset, the bounds of the blocks geomon reads (its chunk grid at the asset's resolution)."""
    p = plan(source, query, LoadOptions(bands=bands))
    jobs = []
    for factor, names in p.groups:
        grid, step = p.grid(factor), chunk // factor
        tiles = [
            grid[y : min(y + step, grid.shape.y), x : min(x + step, grid.shape.x)].boundingbox
            for y in range(0, grid.shape.y, step)
            for x in range(0, grid.shape.x, step)
        ]
        for scene in p.scenes:
            keys = dict(scene.native.assets)
            jobs += [(scene.native.item.assets[keys[n]].href, tiles) for n in names]
    return jobs


def _read(job: tuple[str, list[Any]]) -> int:
    href, tiles = job
    nbytes = 0
    with rasterio.open(href) as src:
        for b in tiles:
            window = from_bounds(b.left, b.bottom, b.right, b.top, src.transform)
            data = src.read(1, window=window.round_offsets().round_lengths())
            nbytes += data.size * data.itemsize
    return nbytes


def floor(
    query: Query, source: StaticCatalogSource, chunk: int, bands: tuple[str, ...] | None = None
) -> tuple[float, int]:
    """Seconds and decoded bytes of a plain rasterio read of the same windows (2 threads);
    ``bands``: only those (and the mask), as a chain for a model of fewer bands reads."""
    jobs = _windows(query, source, chunk, bands)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        nbytes = sum(pool.map(_read, jobs))
    return time.perf_counter() - t0, nbytes


def pipeline(query: Query, source: StaticCatalogSource, chunk: int) -> tuple[float, int]:
    """Seconds of load + mask + monthly composite (graph building included), and task count."""
    t0 = time.perf_counter()
    comp = load_composite(source, query, LoadOptions(chunk=chunk), CompositeOptions("month"))
    sums = [comp[v].data.sum() for v in comp.data_vars if comp[v].ndim == 3]
    tasks = len(comp.__dask_graph__())
    with dask.config.set(scheduler="threads", num_workers=THREADS):
        dask.compute(*sums)
    return time.perf_counter() - t0, tasks


def _warm() -> None:
    """Load what every process loads once (compiled kernel, odc-stac, and distributed, which
    dask imports on a first compute to look for a client) before measuring."""
    import distributed  # noqa: F401
    import odc.stac  # noqa: F401

    from geomon.imagery._kernels import median_clear

    median_clear(np.ones((3, 4, 4), np.uint16), np.ones((3, 2, 2), bool), valid_factor=2)


_warm_kernels = _warm  # the name bench/bench_footprint.py imports


def _aoi(source: StaticCatalogSource, case: str) -> Aoi:
    """``full``: the scenes' common footprint (4 blocks of 1024 px); ``quarter``: its top-left
    0.45 x 0.45, inside one block."""
    bounds = [item.bbox for item in source.items() if item.bbox]
    minx, miny = max(b[0] for b in bounds), max(b[1] for b in bounds)
    maxx, maxy = min(b[2] for b in bounds), min(b[3] for b in bounds)
    full = box(minx, miny, maxx, maxy).buffer(-0.0005)
    if case == "full":
        return Aoi(case, full)
    x0, y0, x1, y1 = full.bounds
    return Aoi(case, box(x0, y1 - 0.45 * (y1 - y0), x0 + 0.45 * (x1 - x0), y1))


def _trim() -> None:
    """Give freed heap memory back to the OS (glibc keeps it otherwise), so RSS shows use."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _released_mb() -> float:
    """RSS (MB) given back by closing the pool's idle datasets (measured after the run)."""
    _trim()
    before = psutil.Process().memory_info().rss
    close_datasets()
    _trim()
    return (before - psutil.Process().memory_info().rss) / 2**20


def run_case(case: str, items: int, size_px: int, chunk: int, reps: int) -> dict[str, Any]:
    """One AOI size, in this process: ``reps`` x (floor, then pipeline); fastest of each."""
    source = StaticCatalogSource(catalog(items, size_px))
    query = Query(_aoi(source, case), dt.date(2023, 1, 1), dt.date(2023, 2, 28))
    _warm()
    out: dict[str, Any] = {"case": case, "floor_s": [], "geomon_s": [], "floor_cpu": [],
                           "geomon_cpu": []}  # fmt: skip
    for rep in range(reps):
        # the first repetition runs the pipeline first: its peak memory is measured before the
        # floor's reads leave freed pages in the allocator for the pipeline to reuse (the peak
        # then read "+0 MB" for the ten-band catalog at stop 20)
        close_datasets()
        if rep > 0:
            t_floor, cpu_floor, nbytes = _floor_cpu(query, source, chunk)
        gc.collect()
        cpu1 = time.process_time()
        with peak_rss() as mem:
            t_geo, tasks = pipeline(query, source, chunk)
        cpu2 = time.process_time()
        if rep == 0:
            out.update(peak_mb=mem["peak_mb"], pool_mb=_released_mb(), tasks=tasks)
            close_datasets()
            t_floor, cpu_floor, nbytes = _floor_cpu(query, source, chunk)
            out.update(bytes=nbytes)
        for key, value in (("floor_s", t_floor), ("geomon_s", t_geo),
                           ("floor_cpu", cpu_floor), ("geomon_cpu", cpu2 - cpu1)):  # fmt: skip
            out[key].append(value)
    return out


def _floor_cpu(query: Query, source: StaticCatalogSource, chunk: int) -> tuple[float, float, int]:
    """:func:`floor`'s wall time, the process's CPU time over it and the bytes decoded."""
    cpu0 = time.process_time()
    t_floor, nbytes = floor(query, source, chunk)
    return t_floor, time.process_time() - cpu0, nbytes


def compile_target() -> str:
    """The CPU numba compiles the kernels for (``NUMBA_CPU_NAME`` where set, else the host's)
    and whether the classifier's 8-bit layers use ``vpdpbusd`` there
    (:data:`geomon.classify._forward.VNNI`, which reads ``NUMBA_CPU_FEATURES`` too): the
    figures depend on it."""
    from llvmlite import binding
    from numba.core import config

    from geomon.classify._forward import VNNI

    name = getattr(config, "CPU_NAME", None)
    where = "NUMBA_CPU_NAME" if name is not None else "host"
    avx2 = ""
    if name is None:
        avx2 = f"AVX2 {'yes' if binding.get_host_cpu_features().get('avx2') else 'no'}, "
        name = binding.get_host_cpu_name()
    return f"{name} ({where}; {avx2}AVX-512 VNNI {'yes' if VNNI else 'no'})"


def run_cases(
    title: str,
    module: str,
    items: int,
    size_px: int,
    chunk: int,
    reps: int,
    *extra: str,
    span_days: int = 59,
    scene: str = "flat",
) -> Iterator[dict[str, Any]]:
    """Build the catalog, print a header with the load average, run each case of ``module`` in
    a fresh process (``--case``) and yield its JSON result; print the load average at the end."""
    catalog(items, size_px, span_days, scene)
    load0 = os.getloadavg()
    print(f"{title}: {os.cpu_count()} cores, {THREADS} threads, chunk {chunk} px, "
          f"{items} {scene} scenes of {size_px} px over {span_days} days, fastest of {reps} reps; "
          f"load avg at start {load0[0]:.2f} (5 min {load0[1]:.2f})")  # fmt: skip
    print(f"  compiled for {compile_target()}")
    for case in CASES:
        args = [sys.executable, "-m", module, "--case", case, "--items", str(items),
                "--size", str(size_px), "--chunk", str(chunk), "--reps", str(reps), *extra]  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"case {case} failed:\n{done.stderr[-2000:]}")
        yield {"case": case, **json.loads(done.stdout.strip().splitlines()[-1])}
    load1 = os.getloadavg()
    print(f"load avg at end {load1[0]:.2f} (5 min {load1[1]:.2f}) on {os.cpu_count()} cores")


def run(items: int, size_px: int, chunk: int, reps: int) -> None:
    """Print the benchmark for the full AOI and a quarter of it (each in a fresh process)."""
    for r in run_cases("imagery benchmark", "bench", items, size_px, chunk, reps):
        t_floor, t_geo = min(r["floor_s"]), min(r["geomon_s"])
        cpu_floor, cpu_geo = min(r["floor_cpu"]), min(r["geomon_cpu"])
        print(f"{r['case']:>8} AOI: decoded {r['bytes'] / 2**30:.2f} GiB  floor {t_floor:.2f} s  "
              f"geomon {t_geo:.2f} s ({r['bytes'] / 2**20 / t_geo / THREADS:.0f} MB/s/core "
              f"decoded and composited)  wall ratio {t_geo / t_floor:.2f}x  "
              f"cpu ratio {cpu_geo / cpu_floor:.2f}x (cpu {cpu_floor:.2f} / {cpu_geo:.2f} s)  "
              f"peak +{r['peak_mb']:.0f} MB (open datasets {r['pool_mb']:.0f} MB)  "
              f"{r['tasks']} tasks")  # fmt: skip


def main(argv: list[str]) -> int:
    """Command line: ``python -m bench [--items N] [--size PX] [--chunk PX] [--reps N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--items", type=int, default=24, help="scenes (default 24: ~1.05 GiB decoded)"
    )
    parser.add_argument("--size", type=int, default=2048, help="scene side in 10 m pixels")
    parser.add_argument("--chunk", type=int, default=1024, help="chunk side in 10 m pixels")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (fastest reported)")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args.items, args.size, args.chunk, args.reps)))
    else:
        run(args.items, args.size, args.chunk, args.reps)
    return 0
