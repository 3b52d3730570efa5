"""The 8-bit integer layer kernels against the 16-bit ones, on the shipped models' layer shapes.

The 16-bit hidden layers (:mod:`geomon.classify._quant`) sum pairs of 16-bit products into
32-bit lanes (``vpdpwssd`` on AVX-512 VNNI, matched by LLVM from the plain integer IR of
:func:`geomon.classify._forward._rows_kernel_int`). The 8-bit ones (``geomon quantize``,
:func:`~geomon.classify._quant.quantize_layers8`) sum four products of unsigned 8-bit inputs and
signed 8-bit weights per lane, in the same kernel's register blocking (4 output rows x 4
vectors of 8 pixels), two ways: through the intrinsic ``llvm.x86.avx512.vpdpbusd.256`` (where
the CPU has AVX-512 VNNI and VL: the column is left out elsewhere), and in plain integer IR
(zero- and sign-extend, multiply, add each lane's four products; the path of other CPUs), which
LLVM 22 does *not* turn into ``vpdpbusd``. This times the shipped kernels' sums mode
(:func:`~geomon.classify._forward._dense_int`: ``SUMS``, ``QSUMS``, ``QSUMS_PLAIN``), each
checked against numpy before timing (exact integers); random values, 1,024 pixels, one thread,
median of 7 rounds, ns per pixel.

The shapes are those of ``geomon-shared-reduced-v10``: its first stage's 26 inputs (28 in quads)
-> 32 and 32 -> 16, its second stage's 26 (28) -> 128 and 128 -> 64. At stop 23 (Zen 4, three
runs, the quad kernel then in this file), vpdpbusd quads over the pairs: 2.9-3.7x, 1.9-3.3x,
1.7-2.6x and 1.5-1.9x (e.g. 14.8 -> 5.1, 6.4 -> 2.6, 56 -> 22 and 105 -> 66 ns per pixel);
plain-IR quads 3.5-6x slower than the pairs. In the whole classify kernel the first stage in 8
bits gained less (``bench.kernel_ab``: v10 took 1.09-1.18x v11's time at stop 24): the
layers were about 13 of its 65-70 ns per pixel. What 8 bits change in answers: ``bench.int8_flips``.

    python -m bench.vnni_layer
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from geomon.classify import _forward as fw

SHAPES = ((28, 32), (32, 16), (28, 128), (128, 64))
PIXELS = 1024


@numba.njit(nogil=True)
def _layer(mode, w, src, dst, out, zeros, n_units, n_out, m, reps):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The shipped kernel's sums in ``mode`` (16-bit pairs or 8-bit quads), ``reps`` times."""
    for _ in range(reps):
        fw._dense_int(mode, w, src, dst, out, zeros, zeros, zeros, np.float32(0), n_units, n_out, m)


def packed(values: np.ndarray, per: int) -> np.ndarray:
    """int32 ``(n_in / per, width)``: ``per`` consecutive rows of ``values`` (``(n_in, width)``,
    1- or 2-byte integers) packed into each 32-bit word, the lower row in the lower bytes."""
    n_in, width = values.shape
    grouped = values.reshape(n_in // per, per, width).transpose(0, 2, 1)
    return np.ascontiguousarray(grouped).view(np.int32).reshape(n_in // per, width)


def _time(func: Callable[..., None], args: tuple[Any, ...], reps: int) -> list[float]:
    """ns per pixel of ``reps`` calls, 7 rounds (after one call: it compiles); none for 0."""
    func(*args, 1)
    out: list[float] = []
    if reps == 0:
        return out
    for _ in range(7):
        t0 = time.perf_counter()
        func(*args, reps)
        out.append((time.perf_counter() - t0) / (reps * PIXELS) * 1e9)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.vnni_layer", description=__doc__)
    parser.add_argument("--reps", type=int, default=2000, help=argparse.SUPPRESS)  # tests
    args = parser.parse_args(argv)
    kernels = {"pairs": fw.SUMS, **({"vpdpbusd": fw.QSUMS} if fw.VNNI else {}),
               "plain IR": fw.QSUMS_PLAIN}  # fmt: skip
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
        for name, mode in kernels.items():
            if name == "pairs":
                w, src, n_units = packed(w16.T, 2).T.copy(), packed(a16, 2), n_in // 2
                expected = w16.astype(np.int64) @ a16
            else:
                w, src, n_units = w8q, a8q, n_in // 4
                expected = w8.astype(np.int64) @ a8
            call: tuple[Any, ...] = (mode, w, src, dst, out, zeros, n_units, n_out, PIXELS)
            dst[...] = 0
            _time(_layer, call, 0)  # compiles, and checks the sums below
            if not np.array_equal(dst, expected.astype(np.int32)):
                raise SystemExit(f"the {name} kernel's sums are wrong for {n_in} -> {n_out}")
            cells.append(statistics.median(_time(_layer, call, reps)))
        ratios = ", ".join(f"{name} {t:6.1f} ({cells[0] / t:.2f}x)" for name, t in
                           zip(list(kernels)[1:], cells[1:], strict=True))  # fmt: skip
        print(f"  {n_in:4d} -> {n_out:3d}: pairs {cells[0]:6.1f}; {ratios}")


if __name__ == "__main__":
    main()
