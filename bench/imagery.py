"""Imagery benchmark: load + mask + composite against a plain rasterio read of the same windows.

A generated Earth Search-like catalog (>= 1 GB of decoded pixels by default) is read over two AOI
sizes. For each: the floor (every asset's AOI window read into numpy by rasterio, 2 threads),
then geomon's ``load_composite`` (monthly median of SCL-clear observations) on Dask's threaded
scheduler with 2 workers, reduced block by block so that no output is held. Prints wall times,
the ratio to the floor, and the peak resident memory above the starting point.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask
import psutil
import rasterio
from rasterio.windows import from_bounds
from shapely.geometry import box, mapping, shape

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
from geomon.imagery.testing import write_s2_catalog

THREADS = 2


def catalog(items: int, size_px: int) -> Path:
    """The benchmark catalog, generated once into the cache."""
    root = cache_dir() / "bench" / f"s2-{items}x{size_px}"
    if (root / "catalog.json").exists():
        return root / "catalog.json"
    start = dt.date(2023, 1, 2)
    dates = [start + dt.timedelta(days=(59 * i) // items) for i in range(items)]
    print(f"generating {items} scenes of {size_px} px into {root} (once)...", flush=True)
    cat = write_s2_catalog(root, dates, cloud=0.2, size_px=size_px, seed=11)
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


def _windows(query: Query, source: StaticCatalogSource) -> list[tuple[str, Any]]:
    p = plan(source, query)
    bounds = p.geobox.boundingbox
    jobs = []
    for scene in p.scenes:
        for _, key in scene.native.assets:
            href = scene.native.item.assets[key].href
            jobs.append((href, bounds))
    return jobs


def _read(job: tuple[str, Any]) -> int:
    href, b = job
    with rasterio.open(href) as src:
        window = (
            from_bounds(b.left, b.bottom, b.right, b.top, src.transform)
            .round_offsets()
            .round_lengths()
        )
        data = src.read(1, window=window, boundless=False)
    return int(data.size * data.itemsize)


def floor(query: Query, source: StaticCatalogSource) -> tuple[float, int]:
    """Seconds and decoded bytes of a plain rasterio read of every asset's AOI window."""
    jobs = _windows(query, source)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        nbytes = sum(pool.map(_read, jobs))
    return time.perf_counter() - t0, nbytes


def pipeline(query: Query, source: StaticCatalogSource, chunk: int) -> tuple[float, int]:
    """Seconds of load + mask + monthly composite, and the graph's task count."""
    t0 = time.perf_counter()
    comp = load_composite(source, query, LoadOptions(chunk=chunk), CompositeOptions("month"))
    sums = [comp[v].data.sum() for v in comp.data_vars if comp[v].ndim == 3]
    tasks = len(comp.__dask_graph__())
    with dask.config.set(scheduler="threads", num_workers=THREADS):
        dask.compute(*sums)
    return time.perf_counter() - t0, tasks


def _timed(label: str, func: Callable[[], tuple[float, int]]) -> tuple[float, int, float]:
    gc.collect()
    with peak_rss() as mem:
        seconds, extra = func()
    print(f"  {label:<34} {seconds:7.2f} s   peak +{mem['peak_mb']:6.0f} MB", flush=True)
    return seconds, extra, mem["peak_mb"]


def run(items: int, size_px: int, chunk: int) -> None:
    """Print the benchmark for the full AOI and a quarter of it."""
    path = catalog(items, size_px)
    source = StaticCatalogSource(path)
    footprint = shape(mapping(box(*_lonlat_bounds(source))))
    full = footprint.buffer(-0.0005)
    c = full.centroid
    w = (full.bounds[2] - full.bounds[0]) / 4
    quarter = box(c.x - w, c.y - w, c.x + w, c.y + w)
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; threads {THREADS}; chunk {chunk} px"
    )
    for name, geom in (("full AOI", full), ("quarter AOI", quarter)):
        query = Query(Aoi(name, geom), dt.date(2023, 1, 1), dt.date(2023, 2, 28))
        print(f"{name}:")
        t_floor, nbytes, _ = _timed(
            "floor: rasterio windows -> numpy", lambda q=query: floor(q, source)
        )
        t_geo, tasks, _ = _timed(
            "geomon load+mask+composite", lambda q=query: pipeline(q, source, chunk)
        )
        print(
            f"  decoded {nbytes / 2**30:.2f} GiB; {tasks} tasks; ratio to floor {t_geo / t_floor:.2f}x"
        )


def _lonlat_bounds(source: StaticCatalogSource) -> tuple[float, float, float, float]:
    geoms = [shape(item.geometry) for item in source.items()]
    xs = [g.bounds for g in geoms]
    return (
        max(b[0] for b in xs),
        max(b[1] for b in xs),
        min(b[2] for b in xs),
        min(b[3] for b in xs),
    )


def main(argv: list[str]) -> int:
    """Command line: ``python -m bench [--items N] [--size PX] [--chunk PX]``."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--items", type=int, default=24, help="scenes (default 24: ~1.05 GB decoded)"
    )
    parser.add_argument("--size", type=int, default=2048, help="scene side in 10 m pixels")
    parser.add_argument("--chunk", type=int, default=1024, help="chunk side in 10 m pixels")
    args = parser.parse_args(argv)
    run(args.items, args.size, args.chunk)
    return 0
