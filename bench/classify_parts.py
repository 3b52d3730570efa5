"""Where the compiled classification kernel's time goes, part by part, on a realistic block.

``bench.classify_stage`` splits the classify stage into the kernel and what dask and the copies
add; this splits the kernel (:func:`~geomon.classify._fused.classify_fused`). One realistic
block (:func:`bench.kernel_ab._inputs`: 1,024 px with the model's halo, one thread), ns per
output pixel, fastest and median of ``--rounds`` rounds, every case once per round:

- features, cumulative (the loop of :func:`geomon.classify._fused._fused_planes` with parts
  left out): the window sources' rows, then their integral rows, then the window statistics;
  the per-pixel features of the output rows alone; all features;
- the first stage's network, cumulative, over the block's features computed beforehand (a
  stack of ``--rows`` rows, in cache as the fused path has them): the inputs quantised (or
  clipped), each integer hidden layer, the float layers, the softmax with the class sums, the
  argmax (:func:`geomon.classify._forward.forward_row`'s steps without its output writes);
- the fused kernel with the first stage alone and with the whole model: their difference is
  what a second stage and a route cost, queues included.

The parts are the shipped functions; only the loops that call them are copies. At stop 31 on an
AVX2-only AMD EPYC (Zen 3, family 25, no AVX-512; 2.45 GHz), ``geomon-shared-reduced-v11``:
features 22.5 (sources 1.6, integral rows 6.7, window statistics 11.3, per-pixel 3.0); first
stage 60 (quantising 26 features 10, the 8-bit layers 28 -> 32 and 32 -> 16 20 and 10, the
float last layer 7, softmax 11, argmax 1.5); the second stage 13; the kernel 96-99. The two
8-bit layers are 56 and 32 ``vpmaddwd`` per pixel (two per quad of inputs, output row and 8
pixels), at about 0.9 cycles each with the unpacking of the bytes around them. Two variants of
:func:`~geomon.classify._forward._rows_kernel_int` tried then were no faster on that CPU: the
weights' signed bytes loaded already split into 16-bit pairs (layer 1: 19.7 ns against 19.5),
and 2 vectors of pixels per step instead of 4 (8 accumulators, no spills: 21.8).

    python -m bench.classify_parts [--model FILE] [--rounds 7] [--rows 256]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numba
import numpy as np

from bench.kernel_ab import _inputs
from geomon.classify import load_model
from geomon.classify._forward import (
    FLOATS,
    PAIRS,
    QFLOATS,
    QUADS,
    TILE,
    KernelModel,
    _dense,
    _dense_int,
    _first_argmax,
    _quantize_inputs,
    _quantize_inputs8,
    _softmax_tile,
    forward_scratch,
)
from geomon.classify._fused import _per_pixel_row, classify_fused
from geomon.classify._kernels import _add_integral_row, _stats_of_row, _zero_ring_row
from geomon.classify.features import _QMAX, _QUANTUM, compute_features
from geomon.classify.model import PixelModel

DEFAULT_MODEL = Path(__file__).parent.parent / "models" / "geomon-shared-reduced-v11.gmodel"

#: feature parts (bits of :func:`_feature_parts`' ``parts``)
SOURCES, INTEGRAL, STATS, PER_PIXEL = 1, 2, 4, 8


@numba.njit(nogil=True)
def _feature_parts(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    inputs, y0, y1, x0, x1, spec, sources, squares, sizes, mean_idx, std_idx, n_feat, parts,
):  # fmt: skip
    """The feature making of :func:`geomon.classify._fused._fused_planes` over plane 0 without
    the valid mask, the non-finite check and the classifier, running only the ``parts`` asked
    (bits of SOURCES ... PER_PIXEL). Returns the features of the last row (``(n_feat, x1 -
    x0)``)."""
    n_pp = spec.shape[0]
    h, w = inputs.shape[2], inputs.shape[3]
    n_src = sources.shape[0]
    r_max = 0
    for g in range(sizes.shape[0]):
        r_max = max(r_max, sizes[g] // 2)
    ring = 2 * r_max + 3
    s1 = np.zeros((n_src, ring, w + 1), np.int32)
    s2 = np.zeros((n_src, ring, w + 1), np.int64)
    cnt = np.zeros((ring, w + 1), np.int32)
    q = np.empty(w, np.int32)
    src_rows = np.zeros((n_src, 1, 1, w), np.float32)
    identity = np.arange(n_src)
    rc = np.empty(w, np.int32)
    r1 = np.empty(w, np.int32)
    r2 = np.zeros(w, np.int64)
    feats = np.zeros((n_feat, 1, 1, w), np.float32)
    no_valid = np.empty(0, np.bool_)
    bad = np.zeros(n_src, np.int64)
    inv_scale = 1.0 / _QUANTUM
    _zero_ring_row(max(y0 - r_max, 0), cnt, s1, s2, squares)
    built = max(y0 - r_max, 0)
    for y in range(y0, y1):
        need = min(y + r_max + 1, h)
        while built < need:
            if parts & SOURCES:
                for k in range(n_src):
                    _per_pixel_row(inputs, 0, built, 0, w, spec, sources[k], src_rows[k, 0, 0])
            if parts & INTEGRAL:
                _add_integral_row(
                    built, no_valid, False, src_rows, 0, 0, identity, _QUANTUM, _QMAX, q, cnt,
                    s1, s2, squares, bad,
                )  # fmt: skip
            built += 1
        if parts & STATS:
            _stats_of_row(
                y, h, sizes, mean_idx, std_idx, cnt, s1, s2, inv_scale, feats, 0, 0, x0, x1, rc,
                r1, r2,
            )  # fmt: skip
        if parts & PER_PIXEL:
            for k in range(n_pp):
                _per_pixel_row(inputs, 0, y, x0, x1, spec, k, feats[k, 0, 0])
    return feats[:, 0, 0, x0:x1]


@numba.njit(nogil=True)
def _network_parts(x, model, scratch, upto):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """:func:`geomon.classify._forward.forward_row`'s steps over every row of ``x`` (``(n_feat,
    1, rows, width)``), the first ``upto`` of: quantise (or clip) the inputs, each integer
    layer, the float layers (one step), softmax and class sums, argmax. Returns the argmax row
    (the class indices) of the last tile."""
    lower, upper, weights, biases = model.lower, model.upper, model.weights, model.biases
    quant = model.quant
    buf_a, buf_b, pairs, acc, cls, work, best, win, bad = scratch
    n_feat, rows, width = x.shape[0], x.shape[2], x.shape[3]
    n_layers, n_int = len(weights), quant.n_int
    eight = quant.bits == 8
    for y in range(rows):
        for start in range(0, width, TILE):
            m = min(TILE, width - start)
            bad[:m] = False
            if upto > 0:
                if n_int == 0:
                    for i in range(n_feat):
                        src = x[i, 0, y, start : start + m]
                        for p in range(m):
                            buf_a[i, p] = min(max(src[p], lower[i]), upper[i])
                elif eight:
                    _quantize_inputs8(x, 0, y, start, m, lower, upper, quant, pairs, bad)
                else:
                    _quantize_inputs(x, 0, y, start, m, lower, upper, quant, pairs, bad)
            n_in = n_feat
            src_pairs, dst_pairs = pairs, acc
            for k in range(n_int):
                w, n_out = quant.weights[k], quant.weights[k].shape[0]
                n_pairs = (n_in + 3) // 4 if eight else (n_in + 1) // 2
                if upto > 1 + k:
                    if k + 1 < n_int:
                        _dense_int(
                            QUADS if eight else PAIRS, w, src_pairs, dst_pairs, buf_a,
                            quant.deq[k], quant.bias[k], quant.requant[k],
                            np.float32(quant.bound[k + 1]), n_pairs, n_out, m,
                        )  # fmt: skip
                    else:
                        _dense_int(
                            QFLOATS if eight else FLOATS, w, src_pairs, dst_pairs, buf_a,
                            quant.deq[k], quant.bias[k], quant.deq[k], np.float32(0), n_pairs,
                            n_out, m,
                        )  # fmt: skip
                src_pairs, dst_pairs = dst_pairs, src_pairs
                n_in = n_out
            for k in range(n_int, n_layers):
                if upto > 1 + n_int:
                    _dense(weights[k], biases[k], buf_a, buf_b, n_in, weights[k].shape[0], m,
                           k < n_layers - 1)  # fmt: skip
                n_in = weights[k].shape[0]
                buf_a, buf_b = buf_b, buf_a
            if upto > 2 + n_int:
                _softmax_tile(buf_a, n_in, model.label_class, cls, work, best, m)
            if upto > 3 + n_int:
                _first_argmax(cls, cls.shape[0], np.float32(np.nan), win, work[2:], m)
    return win[0, : min(TILE, width - TILE * ((width - 1) // TILE))].copy()


def _network_names(kernel: KernelModel) -> list[str]:
    quant = kernel.quant
    names = ["quantise inputs" if quant.n_int else "clip inputs"]
    n_in = len(kernel.lower)
    for k, w in enumerate(quant.weights[: quant.n_int]):
        names.append(f"{quant.bits}-bit layer {k + 1} ({n_in} -> {w.shape[0]})")
        n_in = w.shape[0]
    names += ["float layers", "softmax, class sums", "argmax"]
    return names


def cases(
    model: PixelModel, rows: int, seed: int = 1
) -> tuple[int, list[tuple[str, Callable[[], object]]]]:
    """The block's side and the timed cases, in the order printed: each a name and a call."""
    plan = model.fused_plan
    if plan is None:
        raise SystemExit(f"model {model.model_id} has no row-fused path (no spatial context)")
    inputs = _inputs(model, seed)
    halo = model.features.halo
    side = inputs.shape[-1] - 2 * halo
    window = (slice(halo, halo + side), slice(halo, halo + side))
    first = replace(model, refine=None, route=None)._kernel_model

    def features(parts: int) -> Callable[[], object]:
        return lambda: _feature_parts(
            inputs, halo, halo + side, halo, halo + side, plan.spec, plan.sources, plan.squares,
            plan.sizes, plan.mean_idx, plan.std_idx, plan.n_features, parts,
        )  # fmt: skip

    bands = {name: inputs[i, 0] for i, name in enumerate(model.features.inputs)}
    rows = min(rows, side)
    stack = compute_features(bands, model.features)[:, halo : halo + rows, halo : halo + side]
    x = np.ascontiguousarray(stack[:, None])
    scratch = forward_scratch(x.shape[0], first)
    scale = side / rows  # the network cases classify ``rows`` rows: per output pixel of a block

    def network(upto: int) -> Callable[[], object]:
        return lambda: [_network_parts(x, first, scratch, upto) for _ in range(round(scale))]

    out: list[tuple[str, Callable[[], object]]] = [
        ("features: window sources' rows", features(SOURCES)),
        ("  + their integral rows", features(SOURCES | INTEGRAL)),
        ("  + window statistics", features(SOURCES | INTEGRAL | STATS)),
        ("features: per-pixel, output rows", features(PER_PIXEL)),
        ("features: all", features(SOURCES | INTEGRAL | STATS | PER_PIXEL)),
    ]
    for k, name in enumerate(_network_names(first)):
        out.append((("first stage: " if k == 0 else "  + ") + name, network(k + 1)))
    out.append(("kernel, first stage alone", lambda: classify_fused(first, plan, inputs, None,
                                                                     window)))  # fmt: skip
    if model.refine is not None or model.route is not None:
        whole = model._kernel_model
        out.append(("kernel, whole model", lambda: classify_fused(whole, plan, inputs, None,
                                                                   window)))  # fmt: skip
    return side, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.classify_parts", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model file")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--rows", type=int, default=256, help="rows of the network cases' stack")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    side, timed = cases(model, args.rows)
    for _, func in timed:
        func()  # compiles and warms the caches
    times: dict[str, list[float]] = {name: [] for name, _ in timed}
    for _ in range(args.rounds):
        for name, func in timed:
            t0 = time.perf_counter()
            func()
            times[name].append((time.perf_counter() - t0) / side**2 * 1e9)
    print(f"classify kernel parts, {model.model_id}: a realistic block of {side} px, one thread, "
          f"{args.rounds} rounds, ns per output pixel")  # fmt: skip
    for name, values in times.items():
        print(f"  {name:40s} fastest {min(values):6.1f}  median {statistics.median(values):6.1f}")


if __name__ == "__main__":
    main()
