"""Footprint chain benchmark: load + mask + composite + classify + footprint polygons.

Uses the imagery benchmark's generated catalog (``bench.imagery``: 24 Sentinel-2 scenes of
2048 x 2048 px at 10 m, all ten bands, 20 % cloud) over its two AOI sizes (full: 4 blocks;
quarter: 1 block), each in a fresh process, monthly composites (two periods), the shipped
full-band model, Dask's threaded scheduler with 2 workers. Per case, ``--reps`` times in turn
(geomon's pool of open datasets emptied before each run, so nothing carries over):

- the raw read floor (plain rasterio read of every block the chain reads, 2 threads);
- each stage's wall time when run one after another (composite computed to memory, then its
  classifier inputs chunked and classified, then traced), and the classification share of that
  staged chain (of the fastest repetition, then of every repetition: the stages' times vary
  with the machine's other work, the composite's most, so one ratio can mislead);
- the fused chain (composite and classes in one graph, then polygons) in megapixels of output
  (pixels x periods) per second per core, its ratio to the read floor, and its peak resident
  memory above the starting point (first repetition).

Fastest repetitions are reported, with the 1-minute load average at the start and end (the
machine is shared: read the figures with it).

``--reference`` runs the input the issue measured its reference on (4 scenes of 4096 x 4096 px
within a month, 6 bands read: the shared-band model's five and SCL; one composite).

``--scene realistic`` images :mod:`bench.landscape` instead (demo spectra on natural covers and
mines): the original flat scenes are out of distribution for the context models and inflate the
footprint stage; the default stays ``flat`` so that figures compare with earlier runs. On the
flat reference (bare ground in 30 % of 16 px cells) the reduced model maps 26 % of the grid
``bare_disturbed`` in 8,272 polygons, and tracing them took 2.8 s of a 5.7 s staged chain at
stop 17 (realistic: 481 polygons, 0.95 s of 3.6 s); the closing notes quote the realistic
figures.

Run: ``python -m bench.bench_footprint [--reference] [--scene flat|realistic] [--items N]
[--size PX] [--reps N] [--model FILE]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dask
import xarray as xr
from shapely.geometry.base import BaseGeometry

from bench.imagery import (
    CASES,
    THREADS,
    _aoi,
    _warm_kernels,
    catalog,
    floor,
    peak_rss,
    run_cases,
)
from geomon.classify import REDUCED_FEATURES, PixelModel, classify, load_model, select_model
from geomon.footprint import FootprintOptions, trace_footprint
from geomon.footprint.run import compute_classes
from geomon.imagery import (
    TEMPORAL_VARIABLES,
    CompositeOptions,
    LoadOptions,
    Query,
    StaticCatalogSource,
    load_composite,
)
from geomon.imagery._reader import close_datasets

CORES = THREADS
T = TypeVar("T")


def _timed(func: Callable[[], T]) -> tuple[T, float]:
    out, wall, _ = _timed_cpu(func)
    return out, wall


def _timed_cpu(func: Callable[[], T]) -> tuple[T, float, float]:
    """``func()``, its wall time and the process's CPU time over it (all threads): CPU time is
    the steadier figure when another job shares the cores."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _composite(
    query: Query, source: StaticCatalogSource, chunk: int, model: PixelModel
) -> xr.Dataset:
    """Load only the bands the model reads (as ``run_footprint`` does), monthly composites,
    without the temporal statistics it does not read (the chain's classification never asks
    for them, so the timed composite stage must not compute them); each band's date view too
    for a model that reads it."""
    opts = LoadOptions(chunk=chunk, bands=model.features.bands)
    view = model.reads_date_view
    comp = load_composite(source, query, opts, CompositeOptions("month", date_view=view))
    unread = [v for v in TEMPORAL_VARIABLES if v in comp and v not in model.features.temporal]
    return comp.drop_vars(unread)


def _trace(classes: xr.Dataset, aoi: BaseGeometry) -> Any:
    """The footprint of the classes, as ``run_footprint`` traces it: the CRS is written only
    when the classes lack it (rioxarray's ``write_crs`` deep-copies every array: 0.3 s of the
    timed footprint stage on the 4096 px reference, where the classes carry the CRS already)."""
    crs = str(classes.attrs["crs"])
    if classes.rio.crs != crs:
        classes = classes.rio.write_crs(crs)
    return trace_footprint(classes, aoi, "bench", FootprintOptions(aoi_crs=crs))


def _classifier_blocks(comp: xr.Dataset, model: PixelModel, chunk: int) -> xr.Dataset:
    """``comp`` (computed) with the classifier's inputs and ``valid`` in one block per period
    and chunk, as the fused graph has them (no hashing of the data); the composite's other
    variables stay in memory.

    Until stop 25 every variable was chunked, so the classify stage also copied the composite's
    ``clear_count`` (int16, 33 MB on the reference) into a new array
    (:func:`~geomon.footprint.run.compute_classes` stores every lazy variable): a second copy of
    a composite output that the fused chain, which stores it once from the composite's tasks,
    never makes. On this machine fresh pages are dear (first touch of memory the guest had
    handed back: half the benchmark's samples in the kernel's ``clear_page_erms``), and that copy
    was 0.3 s of a 1.3 s classify stage (``bench.bench_footprint`` notes, stop 25)."""
    views = [f"view_{b}" for b in model.features.bands] if model.date_view is not None else []
    names = list(dict.fromkeys([*model.features.inputs, *views, "valid"]))  # a view: an input
    chunked = comp[names].chunk({"time": 1, "y": chunk, "x": chunk}, token="bench-composite")
    return comp.assign(chunked.data_vars)


def _staged(
    query: Query, source: StaticCatalogSource, chunk: int, model: PixelModel, aoi: BaseGeometry
) -> dict[str, Any]:
    """Composite to memory, then classify, then trace: each stage's wall time."""
    comp, t_comp, c_comp = _timed_cpu(lambda: _composite(query, source, chunk, model).compute())
    blocks = _classifier_blocks(comp, model, chunk)
    classes, t_cls, c_cls = _timed_cpu(lambda: compute_classes(classify(blocks, model)))
    fp, t_fp, c_fp = _timed_cpu(lambda: _trace(classes, aoi))
    n_out = classes.sizes["time"] * classes.sizes["y"] * classes.sizes["x"]
    shape = (classes.sizes["time"], classes.sizes["y"], classes.sizes["x"])
    return {"comp_s": t_comp, "cls_s": t_cls, "fp_s": t_fp, "n_out": n_out, "shape": shape,
            "polygons": len(fp), "comp_cpu": c_comp, "cls_cpu": c_cls, "fp_cpu": c_fp}  # fmt: skip


def _fused(
    query: Query, source: StaticCatalogSource, chunk: int, model: PixelModel, aoi: BaseGeometry
) -> int:
    """The whole chain: composite and classes in one graph, computed as ``run_footprint`` computes
    them (:func:`~geomon.footprint.run.compute_classes`), then the footprint polygons."""
    classes = compute_classes(classify(_composite(query, source, chunk, model), model))
    return len(_trace(classes, aoi))


def _model(source: StaticCatalogSource, model_path: Path | None, reduced: bool) -> PixelModel:
    if model_path:
        return load_model(model_path)
    if reduced:
        return select_model(REDUCED_FEATURES.bands)
    return select_model(next(iter(source.items())).assets)


def run_case(case: str, a: argparse.Namespace) -> dict[str, Any]:
    """One AOI size, in this process: ``reps`` x (floor, staged chain, fused chain)."""
    chunk, reps = a.chunk, a.reps
    source = StaticCatalogSource(catalog(a.items, a.size, a.span, a.scene))
    end = dt.date(2023, 1, 31) if a.span < 29 else dt.date(2023, 2, 28)  # whole months
    query = Query(_aoi(source, case), dt.date(2023, 1, 1), end)
    _warm_kernels()
    out: dict[str, Any] = {"case": case, "floor_s": [], "fused_s": [], "staged": []}
    model = _model(source, a.model, a.reduced)
    with dask.config.set(scheduler="threads", num_workers=THREADS):
        lazy = _composite(query, source, chunk, model)
        classify(lazy.isel(x=slice(0, 64), y=slice(0, 64)), model).compute()  # warm imports
        aoi = query.aoi.projected(str(lazy.attrs["crs"]))
        out["model"] = model.model_id
        for _ in range(reps):
            close_datasets()
            t_floor, out["bytes"] = floor(query, source, chunk, model.features.bands)
            out["floor_s"].append(t_floor)
            close_datasets()
            out["staged"].append(_staged(query, source, chunk, model, aoi))
            close_datasets()
            gc.collect()
            with peak_rss() as mem:
                _, t_fused = _timed(lambda: _fused(query, source, chunk, model, aoi))
            out["fused_s"].append(t_fused)
            out.setdefault("peak_mb", mem["peak_mb"])
    return out


def _report(r: dict[str, Any]) -> None:
    staged = min(r["staged"], key=lambda s: s["comp_s"] + s["cls_s"] + s["fp_s"])
    t_floor, t_fused = min(r["floor_s"]), min(r["fused_s"])
    total = staged["comp_s"] + staged["cls_s"] + staged["fp_s"]
    n_out = staged["n_out"]
    periods, height, width = staged["shape"]
    print(f"  {r['case']} AOI: {periods} periods x {height} x {width} px = {n_out / 1e6:.1f} Mpx "
          f"output; {staged['polygons']} polygons; {r['bytes'] / 2**30:.2f} GiB decoded")  # fmt: skip
    print(f"    read floor      {t_floor:6.2f} s")
    print(f"    staged chain    {total:6.2f} s = composite {staged['comp_s']:.2f} + classify "
          f"{staged['cls_s']:.2f} + footprint {staged['fp_s']:.2f}; classification "
          f"{100 * staged['cls_s'] / total:.1f} % of it "
          f"({1e9 * staged['cls_s'] * CORES / n_out:.0f} ns per output pixel per core)")  # fmt: skip
    shares = [100 * s["cls_s"] / (s["comp_s"] + s["cls_s"] + s["fp_s"]) for s in r["staged"]]
    print(f"    classification share of each repetition's staged chain: "
          f"{', '.join(f'{x:.1f} %' for x in shares)} (median {statistics.median(shares):.1f} %)")  # fmt: skip
    cpu = staged["comp_cpu"] + staged["cls_cpu"] + staged["fp_cpu"]
    print(f"    staged CPU      {cpu:6.2f} s = composite {staged['comp_cpu']:.2f} + classify "
          f"{staged['cls_cpu']:.2f} + footprint {staged['fp_cpu']:.2f}; classification "
          f"{100 * staged['cls_cpu'] / cpu:.1f} % of it "
          f"({1e9 * staged['cls_cpu'] / n_out:.0f} ns CPU per output pixel)")  # fmt: skip
    print(f"    fused chain     {t_fused:6.2f} s = {n_out / 1e6 / t_fused / CORES:.2f} Mpx/s/core, "
          f"{t_fused / t_floor:.2f}x the read floor, peak +{r['peak_mb']:.0f} MB")  # fmt: skip


def run(a: argparse.Namespace) -> None:
    """Print the benchmark for both AOI sizes (each in a fresh process)."""
    extra = [*(("--model", str(a.model)) if a.model else ()), "--span", str(a.span)]
    extra += ["--reduced"] if a.reduced else []
    extra += ["--scene", a.scene]
    title = "footprint benchmark"
    for r in run_cases(
        title, "bench.bench_footprint", a.items, a.size, a.chunk, a.reps, *extra,
        span_days=a.span, scene=a.scene,
    ):  # fmt: skip
        if r["case"] == CASES[0]:
            print(f"  model {r['model']}")
        _report(r)


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_footprint", description=__doc__)
    parser.add_argument("--items", type=int, default=24, help="scenes (default 24)")
    parser.add_argument("--size", type=int, default=2048, help="scene side in 10 m pixels")
    parser.add_argument("--chunk", type=int, default=1024, help="chunk side in 10 m pixels")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (fastest reported)")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    parser.add_argument("--span", type=int, default=59, help="days the scenes spread over")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="the issue's reference input: 4 scenes of 4096 px within 28 days (one monthly "
        "composite), the shared-band model (5 bands + SCL read: 6 bands)",
    )
    parser.add_argument("--reduced", action="store_true", help="use the shared-band model")
    parser.add_argument(
        "--scene",
        choices=("flat", "realistic"),
        default="flat",
        help="flat: the original blocks of three flat spectra (out of distribution for context "
        "models: inflated polygon counts); realistic: bench.landscape (demo spectra, natural "
        "covers, mines)",
    )
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reference:
        args.items, args.size, args.span, args.reduced = 4, 4096, 28, True
    if args.case:
        print(json.dumps(run_case(args.case, args)))
    else:
        run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
