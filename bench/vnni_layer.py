"""How much faster would an 8-bit integer layer run than the shipped 16-bit one? (VNNI lever)

The shipped hidden layers (:mod:`geomon.classify._quant`) sum pairs of 16-bit products into
32-bit lanes (``vpdpwssd`` on AVX-512 VNNI, matched by LLVM from the plain integer IR of
:func:`geomon.classify._forward._rows_kernel_int`). ``vpdpbusd`` sums four products of unsigned
8-bit activations and signed 8-bit weights per lane. This times, on the same layer shapes, the
shipped kernel in its ``sums`` mode (:func:`~geomon.classify._forward._dense_int`) against a
kernel of the same register blocking (4 output rows x 4 vectors of 8 pixels) over quads, two
ways: through the intrinsic ``llvm.x86.avx512.vpdpbusd.256`` (only where the CPU has AVX-512
VNNI: the column is left out elsewhere), and in plain integer IR (zero- and sign-extend,
multiply, add each lane's four products), which LLVM 22 does *not* turn into ``vpdpbusd``: an
8-bit kernel needs the intrinsic, with a path of its own for other CPUs. Every kernel's sums are
checked against numpy before timing (exact integers); random values, 1,024 pixels, one thread,
median of 7 rounds, ns per pixel.

The shapes are those of ``geomon-shared-reduced-v10``: its first stage's 26 inputs (28 in quads)
-> 32 and 32 -> 16, its second stage's 26 (28) -> 128 and 128 -> 64. At stop 23 (Zen 4, three
runs), vpdpbusd quads over shipped pairs: 2.9-3.7x, 1.9-3.3x, 1.7-2.6x and 1.5-1.9x (e.g. 14.8
-> 5.1, 6.4 -> 2.6, 56 -> 22 and 105 -> 66 ns per pixel); plain-IR quads 3.5-6x slower than the
pairs. What 8 bits would cost in answers:
``bench.int8_flips``.

    python -m bench.vnni_layer
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any, cast

import numba
import numpy as np
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from geomon.classify import _forward as fw

SHAPES = ((28, 32), (32, 16), (28, 128), (128, 64))
PIXELS = 1024
_VECS = 4  # vectors of 8 pixels per step, as the shipped kernel
_I8, _I32, _I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
_V8I32 = ir.VectorType(_I32, 8)
_V32I8 = ir.VectorType(_I8, 32)
_V32I32 = ir.VectorType(_I32, 32)
#: lanes 4i + k of the 32 products, for k = 0..3: the four products of each output lane
_QUAD = [ir.Constant(_V8I32, [4 * i + k for i in range(8)]) for k in range(4)]


def _quad_kernel(n_rows: int, use_intrinsic: bool):  # type: ignore[no-untyped-def]
    """Intrinsic ``kernel(w, src, dst, n_quads, j, n_steps)``: int32 sums of output rows ``[j, j
    + n_rows)``, ``w`` int32 ``(n_out, n_quads)`` of four signed bytes, ``src`` int32 ``(n_quads,
    width)`` of four unsigned bytes, ``dst`` int32 ``(n_out, width)``, all C-contiguous."""

    @intrinsic
    def kernel(typingctx, w, src, dst, n_quads, j, n_steps):  # type: ignore[no-untyped-def]
        sig = types.void(w, src, dst, types.intp, types.intp, types.intp)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            wa, sa, da = fw._array_args(context, builder, signature, args, 3)
            n_in, j_v, n_steps_v = args[3:]
            w_cols, s_cols, d_cols = fw._columns(builder, wa, sa, da)
            undef = ir.Constant(_V8I32, ir.Undefined)
            undef32 = ir.Constant(_V32I32, ir.Undefined)
            zero = ir.Constant(_V8I32, [0] * 8)
            dot = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(_V8I32, [_V8I32, _V8I32, _V8I32]),
                "llvm.x86.avx512.vpdpbusd.256",
            )
            acc = [[cgutils.alloca_once(builder, _V8I32) for _ in range(_VECS)] for _ in range(n_rows)]  # fmt: skip
            rows = [builder.add(j_v, ir.Constant(_I64, r)) for r in range(n_rows)]
            w_rows = [builder.gep(wa.data, [builder.mul(jr, w_cols)]) for jr in rows]

            def at(base, offset):  # type: ignore[no-untyped-def]
                return fw._vector_at(builder, base, offset, _V8I32)

            with cgutils.for_range(builder, n_steps_v) as step:
                p0 = builder.mul(step.index, ir.Constant(_I64, 8 * _VECS))
                for r in range(n_rows):
                    for h in range(_VECS):
                        builder.store(zero, acc[r][h])
                with cgutils.for_range(builder, n_in) as inner:
                    base = builder.add(builder.mul(inner.index, s_cols), p0)
                    xs = [
                        builder.load(
                            at(sa.data, builder.add(base, ir.Constant(_I64, 8 * h))), align=4
                        )
                        for h in range(_VECS)
                    ]
                    for r in range(n_rows):
                        weight = builder.load(builder.gep(w_rows[r], [inner.index]))
                        wv = fw._broadcast(builder, weight, undef)
                        for h in range(_VECS):
                            total = builder.load(acc[r][h])
                            if use_intrinsic:
                                total = builder.call(dot, [total, xs[h], wv])
                            else:
                                a = builder.zext(builder.bitcast(xs[h], _V32I8), _V32I32)
                                b = builder.sext(builder.bitcast(wv, _V32I8), _V32I32)
                                prod = builder.mul(a, b)
                                parts = [builder.shuffle_vector(prod, undef32, q) for q in _QUAD]
                                four = builder.add(
                                    builder.add(parts[0], parts[1]), builder.add(parts[2], parts[3])
                                )
                                total = builder.add(total, four)
                            builder.store(total, acc[r][h])
                for r in range(n_rows):
                    row_at = builder.add(builder.mul(rows[r], d_cols), p0)
                    for h in range(_VECS):
                        offset = builder.add(row_at, ir.Constant(_I64, 8 * h))
                        builder.store(builder.load(acc[r][h]), at(da.data, offset), align=4)
            return context.get_dummy_value()

        return sig, codegen

    return kernel


def _quad_layer(use_intrinsic: bool) -> Callable[..., None]:
    """A compiled ``f(w, src, dst, n_quads, n_out, m, reps)``: ``reps`` times the layer's sums
    over the first ``m`` pixels (``n_out`` a multiple of 4, ``m`` of 32)."""
    k4 = _quad_kernel(4, use_intrinsic)

    @numba.njit(nogil=True)
    def layer(w, src, dst, n_quads, n_out, m, reps):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        steps = m // (8 * _VECS)
        for _ in range(reps):
            j = 0
            while j < n_out:
                k4(w, src, dst, n_quads, j, steps)
                j += 4

    return cast(Callable[..., None], layer)


@numba.njit(nogil=True)
def _pair_layer(w, src, dst, out, zeros, n_pairs, n_out, m, reps):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The shipped kernel's sums, ``reps`` times."""
    for _ in range(reps):
        fw._dense_int(
            fw.SUMS, w, src, dst, out, zeros, zeros, zeros, np.float32(0), n_pairs, n_out, m
        )


def packed(values: np.ndarray, per: int) -> np.ndarray:
    """int32 ``(n_in / per, width)``: ``per`` consecutive rows of ``values`` (``(n_in, width)``,
    1- or 2-byte integers) packed into each 32-bit word, the lower row in the lower bytes."""
    n_in, width = values.shape
    grouped = values.reshape(n_in // per, per, width).transpose(0, 2, 1)
    return np.ascontiguousarray(grouped).view(np.int32).reshape(n_in // per, width)


def _time(func: Callable[..., None], args: tuple[Any, ...], reps: int) -> list[float]:
    func(*args, 1)  # compiles
    out = []
    for _ in range(7):
        t0 = time.perf_counter()
        func(*args, reps)
        out.append((time.perf_counter() - t0) / (reps * PIXELS) * 1e9)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.vnni_layer", description=__doc__)
    parser.add_argument("--reps", type=int, default=2000, help=argparse.SUPPRESS)  # tests
    args = parser.parse_args(argv)
    kernels: dict[str, Callable[..., None]] = {"pairs": cast(Callable[..., None], _pair_layer)}
    if binding.get_host_cpu_features().get("avx512vnni"):
        kernels["vpdpbusd"] = _quad_layer(True)
    kernels["plain IR"] = _quad_layer(False)
    rng = np.random.default_rng(0)
    print(f"one thread, {PIXELS} pixels, ns per pixel (median of 7): the shipped 16-bit pairs "
          f"against 8-bit quads, {' and '.join(list(kernels)[1:])}")  # fmt: skip
    for n_in, n_out in SHAPES:
        reps = max(1, args.reps * 8192 // (n_in * n_out))
        a8 = rng.integers(0, 256, (n_in, PIXELS)).astype(np.uint8)
        w8 = rng.integers(-127, 128, (n_out, n_in)).astype(np.int8)
        a16 = rng.integers(0, 4096, (n_in, PIXELS)).astype(np.int16)
        w16 = rng.integers(-4095, 4096, (n_out, n_in)).astype(np.int16)
        dst = np.zeros((n_out, PIXELS), np.int32)
        zeros, out = np.zeros(n_out, np.float32), np.zeros((n_out, PIXELS), np.float32)
        w8q, a8q = packed(w8.T, 4).T.copy(), packed(a8, 4)
        cells = []
        for name, func in kernels.items():
            if name == "pairs":
                call: tuple[Any, ...] = (packed(w16.T, 2).T.copy(), packed(a16, 2), dst, out,
                                         zeros, n_in // 2, n_out, PIXELS)  # fmt: skip
                expected = w16.astype(np.int64) @ a16
            else:
                call, expected = (w8q, a8q, dst, n_in // 4, n_out, PIXELS), w8.astype(np.int64) @ a8
            dst[...] = 0
            func(*call, 1)
            if not np.array_equal(dst, expected.astype(np.int32)):
                raise SystemExit(f"the {name} kernel's sums are wrong for {n_in} -> {n_out}")
            cells.append(statistics.median(_time(func, call, reps)))
        ratios = ", ".join(f"{name} {t:6.1f} ({cells[0] / t:.2f}x)" for name, t in
                           zip(list(kernels)[1:], cells[1:], strict=True))  # fmt: skip
        print(f"  {n_in:4d} -> {n_out:3d}: pairs {cells[0]:6.1f}; {ratios}")


if __name__ == "__main__":
    main()
