"""Footprint chain benchmark: load + mask + composite + classify + footprint polygons.

Uses the imagery benchmark's generated catalog (``bench.imagery``: 24 Sentinel-2 scenes of
2048 x 2048 px at 10 m, all ten bands, 20 % cloud) over its full AOI, monthly composites (two
periods), the shipped full-band model, Dask's threaded scheduler with 2 workers. Prints:

- the raw read floor (plain rasterio read of every block the chain reads, 2 threads);
- each stage's wall time when run one after another (composite computed to memory, then
  classified, then traced), and the classification share of that chain;
- the fused chain (composite and classes in one graph, then polygons) in megapixels of output
  (pixels x periods) per second per core, and its ratio to the read floor.

Run: ``python -m bench.bench_footprint [--items N] [--size PX] [--model FILE]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import dask

from bench.imagery import THREADS, _aoi, _warm_kernels, catalog, floor
from geomon.classify import classify, load_model, select_model
from geomon.footprint import trace_footprint
from geomon.imagery import CompositeOptions, LoadOptions, Query, StaticCatalogSource, load_composite

CORES = THREADS


def _timed(func, *args):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = func(*args)
    return out, time.perf_counter() - t0


def _composite(query: Query, source: StaticCatalogSource, chunk: int):  # type: ignore[no-untyped-def]
    return load_composite(source, query, LoadOptions(chunk=chunk), CompositeOptions("month"))


def run(items: int, size_px: int, chunk: int, model_path: Path | None) -> None:
    """Print the benchmark."""
    source = StaticCatalogSource(catalog(items, size_px))
    query = Query(_aoi(source, "full"), dt.date(2023, 1, 1), dt.date(2023, 2, 28))
    _warm_kernels()
    t_floor, nbytes = floor(query, source, chunk)
    with dask.config.set(scheduler="threads", num_workers=THREADS):
        lazy = _composite(query, source, chunk)
        model = (
            load_model(model_path) if model_path else select_model(str(v) for v in lazy.data_vars)
        )
        classify(lazy.isel(x=slice(0, 64), y=slice(0, 64)), model).compute()  # warm caches
        comp, t_comp = _timed(lambda: _composite(query, source, chunk).compute())
        blocks = comp.chunk({"y": chunk, "x": chunk}, token="bench-composite")  # no hashing
        classes, t_cls = _timed(lambda: classify(blocks, model).compute())
        aoi = query.aoi.projected(str(comp.attrs["crs"]))
        classes = classes.rio.write_crs(str(comp.attrs["crs"]))
        fp, t_fp = _timed(lambda: trace_footprint(classes, aoi, "bench", _opts(comp)))
        fused, t_fused = _timed(lambda: _fused(query, source, chunk, model, aoi))
    n_out = classes.sizes["time"] * classes.sizes["y"] * classes.sizes["x"]
    staged = t_comp + t_cls + t_fp
    print(f"footprint benchmark: {os.cpu_count()} cores, {THREADS} threads, chunk {chunk} px, "
          f"{items} scenes of {size_px} px, model {model.model_id}")  # fmt: skip
    print(f"  output: {classes.sizes['time']} periods x {classes.sizes['y']} x {classes.sizes['x']} px "
          f"= {n_out / 1e6:.1f} Mpx; {len(fp)} polygons")  # fmt: skip
    print(f"  read floor      {t_floor:7.2f} s  ({nbytes / 2**30:.2f} GiB decoded)")
    print(f"  composite       {t_comp:7.2f} s")
    print(f"  classify        {t_cls:7.2f} s  = {100 * t_cls / staged:.1f} % of the staged chain "
          f"({1e9 * t_cls * CORES / n_out:.0f} ns per output pixel per core)")  # fmt: skip
    print(f"  footprint       {t_fp:7.2f} s")
    print(f"  fused chain     {t_fused:7.2f} s  = {n_out / 1e6 / t_fused / CORES:.2f} Mpx/s/core, "
          f"{t_fused / t_floor:.2f}x the read floor  (load avg {os.getloadavg()[0]:.1f})")  # fmt: skip
    del fused


def _opts(comp):  # type: ignore[no-untyped-def]
    from geomon.footprint import FootprintOptions

    attrs = comp if isinstance(comp, dict) else comp.attrs
    return FootprintOptions(aoi_crs=str(attrs["crs"]))


def _fused(query, source, chunk, model, aoi):  # type: ignore[no-untyped-def]
    classes = classify(_composite(query, source, chunk), model).compute()
    crs = str(classes.attrs["crs"])
    return trace_footprint(classes.rio.write_crs(crs), aoi, "bench", _opts({"crs": crs}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_footprint", description=__doc__)
    parser.add_argument("--items", type=int, default=24, help="scenes (default 24)")
    parser.add_argument("--size", type=int, default=2048, help="scene side in 10 m pixels")
    parser.add_argument("--chunk", type=int, default=1024, help="chunk side in 10 m pixels")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    args = parser.parse_args(argv)
    run(args.items, args.size, args.chunk, args.model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
