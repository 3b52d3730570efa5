"""Where the classify stage's time goes on the footprint benchmark's reference composite.

``bench.kernel_ab`` times the compiled kernel on generated blocks; ``bench.bench_footprint``
times the whole stage. This sits between them: the reference input's composite
(``bench.bench_footprint --reference --scene realistic``: 4 scenes of 4096 px, one monthly
composite, 1,024 px chunks) is computed once to memory, then, alternated ``--reps`` times (the
machine is shared: each line gives the fastest and the median), in ns per output pixel:

- ``kernel, 1 thread``: :func:`~geomon.classify._fused.classify_fused` over every chunk, each
  chunk's inputs with their halo already in one contiguous array (no dask, no copies);
- ``kernel, 2 threads``: the same chunks taken by two threads from one queue, wall time x 2;
- ``halo copies``: copying every chunk's inputs and halo (and its valid mask) into new arrays:
  about what :func:`geomon.classify.apply._halo_block` pays pasting a chunk and its neighbours'
  edges into the buffer it keeps per thread before the kernel runs (it reuses that buffer);
- ``stage, sync`` and ``stage, 2 threads``: the stage as the benchmark times it
  (:func:`~geomon.footprint.run.compute_classes` of :func:`~geomon.classify.classify`), on
  dask's synchronous scheduler and on its threaded one with 2 workers (wall time x 2).

The stage minus the kernel is what dask, the copies and the outputs' store cost; the 2-thread
stage minus the 1-thread stage is, mostly, the last chunks' imbalance (16 chunks of unequal cost
on 2 workers). Then, for a two-stage model, the share of each chunk's pixels with data that its
first stage sends on (:func:`sent`) (the second stage costs about 200-250 ns per pixel it classifies: where a chunk sends
14 % of its pixels, the second stage is a third of that chunk's time).

At stop 23 (v10, two runs, fastest / median; the stage cases then also copied the composite's
``clear_count``, which :func:`bench.bench_footprint._classifier_blocks` leaves in memory since
stop 25, so the stage figures are not comparable with later ones): kernel 1 thread 66.6-70.4 / 69.5-75.0, 2
threads 72.7-75.0 / 76.0-79.2, halo copies 1.8-2.1, stage sync 77.1-79.3 / 81.5-90.5, stage
2 threads 80.0-85.7 / 91.5-95.4; the first stage sends 3.5 % over the AOI, 0.0-16.2 % per
chunk. Removing the halo paste altogether (a throw-away ``_halo_block`` reading stacks pasted
beforehand, alternated 6 times with the shipped one) gained at most 4 % of the stage in one
thread and 1.5 % in two: the copies outside the kernel are not where the stage's time is.

    python -m bench.classify_stage [--model FILE] [--reps 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from bench.bench_footprint import _classifier_blocks, _composite
from bench.imagery import _aoi, _warm_kernels, catalog
from geomon.classify import classify, load_model
from geomon.classify._fused import classify_fused
from geomon.classify.model import PixelModel, Refinement
from geomon.footprint.run import compute_classes
from geomon.imagery import Query, StaticCatalogSource

DEFAULT_MODEL = Path(__file__).parent.parent / "models" / "geomon-shared-reduced-v11.gmodel"

Block = tuple[np.ndarray, np.ndarray, tuple[slice, slice]]


def sent(refine: Refinement, code: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """The pixels a two-stage model's first stage sends on: with data, and not accepted by
    ``refine`` (:meth:`~geomon.classify.model.Refinement.accepts`)."""
    return (code > 0) & ~refine.accepts(code, prob)


def reference_blocks(model: PixelModel, size: int, chunk: int) -> tuple[xr.Dataset, list[Block]]:
    """The footprint benchmark's reference composite (``size`` px scenes, computed to memory)
    with the bands ``model`` reads, and its chunks with their halo (:func:`_blocks`)."""
    source = StaticCatalogSource(catalog(4, size, 28, "realistic"))
    query = Query(_aoi(source, "full"), dt.date(2023, 1, 1), dt.date(2023, 1, 31))
    _warm_kernels()
    with dask.config.set(scheduler="threads", num_workers=2):
        comp = _composite(query, source, chunk, model).compute()
    arrays = [np.ascontiguousarray(comp[n].values) for n in (*model.features.inputs, "valid")]
    return comp, _blocks(arrays, model.features.halo, chunk)


def _blocks(arrays: list[np.ndarray], halo: int, chunk: int) -> list[Block]:
    """Each chunk's inputs ``(n_inputs, planes, y, x)`` and valid mask with their halo (none
    beyond the image edge), and the chunk's window within them."""
    height, width = arrays[0].shape[-2:]
    out = []
    for by in range(0, height, chunk):
        for bx in range(0, width, chunk):
            y0, x0 = max(by - halo, 0), max(bx - halo, 0)
            y1, x1 = min(by + chunk + halo, height), min(bx + chunk + halo, width)
            stack = np.ascontiguousarray(np.stack([a[:, y0:y1, x0:x1] for a in arrays[:-1]]))
            valid = np.ascontiguousarray(arrays[-1][:, y0:y1, x0:x1])
            window = (
                slice(by - y0, min(by + chunk, height) - y0),
                slice(bx - x0, min(bx + chunk, width) - x0),
            )
            out.append((stack, valid, window))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.classify_stage", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model file")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--size", type=int, default=4096, help=argparse.SUPPRESS)  # tests
    parser.add_argument("--chunk", type=int, default=1024, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    model = load_model(args.model)
    plan = model.fused_plan
    if plan is None:
        raise SystemExit(f"model {model.model_id} has no row-fused path (no spatial context)")
    comp, blocks = reference_blocks(model, args.size, args.chunk)
    chunked = _classifier_blocks(comp, model, args.chunk)
    n_out = comp.sizes["time"] * comp.sizes["y"] * comp.sizes["x"]
    kernel = model._kernel_model

    def run(block: Block) -> None:
        classify_fused(kernel, plan, *block)

    pool = ThreadPoolExecutor(2)

    def kernel_1() -> None:
        for block in blocks:
            run(block)

    def kernel_2() -> None:
        list(pool.map(run, blocks))

    def copies() -> None:
        for stack, valid, _ in blocks:
            np.copyto(np.empty_like(stack), stack)
            np.copyto(np.empty_like(valid), valid)

    def stage(scheduler: str, workers: int) -> Callable[[], None]:
        def go() -> None:
            with dask.config.set(scheduler=scheduler, num_workers=workers):
                compute_classes(classify(chunked, model))

        return go

    cases: list[tuple[str, Callable[[], None], int]] = [
        ("kernel, 1 thread", kernel_1, 1),
        ("kernel, 2 threads", kernel_2, 2),
        ("halo copies", copies, 1),
        ("stage, sync", stage("sync", 1), 1),
        ("stage, 2 threads", stage("threads", 2), 2),
    ]
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _name, func, _ in cases:
        func()  # compiles, warms the caches and the threads' buffers
    for _ in range(args.reps):
        for name, func, cores in cases:
            t0 = time.perf_counter()
            func()
            times[name].append((time.perf_counter() - t0) * cores / n_out * 1e9)
    print(f"classify stage, {model.model_id}: {n_out / 1e6:.1f} Mpx in {len(blocks)} chunks "
          f"of {args.chunk} px, {args.reps} repetitions, ns per output pixel (x cores)")  # fmt: skip
    for name, values in times.items():
        print(f"  {name:20s} fastest {min(values):6.1f}  median {statistics.median(values):6.1f}")
    if model.refine is not None:
        first = replace(model, refine=None)._kernel_model
        shares, n_sent, total = [], 0, 0
        for stack, valid, window in blocks:
            out = classify_fused(first, plan, stack, valid, window)
            if out is None:
                raise SystemExit("a chunk has a non-finite input; report this as a bug")
            code, prob, _ = out
            seen = code > 0
            send = sent(model.refine, code, prob)
            shares.append(100 * send.sum() / max(seen.sum(), 1))
            n_sent, total = n_sent + send.sum(), total + seen.sum()
        print(f"  first stage sends {100 * n_sent / max(total, 1):.1f} % of the pixels with data on; per "
              f"chunk {min(shares):.1f}-{max(shares):.1f} %: "
              f"{', '.join(f'{s:.1f}' for s in shares)}")  # fmt: skip
    pool.shutdown()


if __name__ == "__main__":
    main()
