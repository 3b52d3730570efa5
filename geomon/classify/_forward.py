"""Compiled forward pass of the pixel MLP (numba): clip, layers, ReLU, softmax, class sums and
argmax fused per tile of pixels, with no ``(n_hidden, n)`` intermediates.

The numpy formulation (:meth:`geomon.classify.model.PixelModel._predict_slice`, kept as the
reference) makes a dozen passes over ``(width, 32k)`` float32 arrays per slice. Here each tile of
:data:`TILE` pixels stays in a few kilobytes of scratch: every layer is a loop over the tile
innermost (independent lanes, so LLVM vectorises it without reassociating sums; no fastmath), and
the softmax, class sums and argmax run on the tile's scores. The model is data (weights tuple,
bounds, label tables), so any feature set and any number of layers run through the same kernel.

Results match the numpy path to float32 rounding (sums run in another order than BLAS's): the
tests compare class codes, covers and probabilities on realistic scenes.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

__all__ = ["TILE", "KernelModel", "forward"]

#: pixels per tile: long enough for LLVM's unrolled vector loop (16 AVX2 vectors per row; 32
#: pixels fell back to its scalar remainder), short enough that the scratch stays in L1/L2
TILE = 128


@numba.njit(nogil=True, cache=True)
def _dense(w, b, src, dst, n_in, n_out, m, relu):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``dst[:n_out, :m] = w @ src[:n_in, :m] + b`` (ReLU when ``relu``), ``w`` ``(n_out, n_in)``.

    Four output rows at a time share each load of an input row (1.4x over one row at a time);
    the pixel loop innermost vectorises."""
    j = 0
    while j + 4 <= n_out:
        d0, d1, d2, d3 = dst[j], dst[j + 1], dst[j + 2], dst[j + 3]
        b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
        for p in range(m):
            d0[p] = b0
            d1[p] = b1
            d2[p] = b2
            d3[p] = b3
        for i in range(n_in):
            w0, w1, w2, w3 = w[j, i], w[j + 1, i], w[j + 2, i], w[j + 3, i]
            s = src[i]
            for p in range(m):
                v = s[p]
                d0[p] += w0 * v
                d1[p] += w1 * v
                d2[p] += w2 * v
                d3[p] += w3 * v
        j += 4
    while j < n_out:
        d = dst[j]
        bj = b[j]
        for p in range(m):
            d[p] = bj
        for i in range(n_in):
            wji = w[j, i]
            s = src[i]
            for p in range(m):
                d[p] += wji * s[p]
        j += 1
    if relu:
        for j in range(n_out):
            d = dst[j]
            for p in range(m):
                if d[p] < 0:
                    d[p] = 0


class KernelModel(NamedTuple):
    """A model as :func:`forward` takes it (see :attr:`PixelModel._kernel_model`)."""

    lower: np.ndarray
    """float32 ``(n_features,)`` clip bounds."""
    upper: np.ndarray
    weights: tuple[np.ndarray, ...]
    """float32 ``(n_out, n_in)`` per layer, standardisation folded into the first."""
    biases: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer."""
    label_class: np.ndarray
    """intp class code of each label."""
    label_cover: np.ndarray
    """uint8 cover index of each label."""
    n_classes: int
    nodata_code: int
    unknown_cover: int


def forward(
    model: KernelModel, x: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(code uint8, probability float32, cover uint8)`` ``(n,)`` of feature-major ``x``
    ``(n_features, n)``; pixels with a NaN feature or not ``valid`` ``(n,)`` are no data."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[1]
    ok = np.empty(0, np.bool_) if valid is None else np.ascontiguousarray(valid, np.bool_)
    if ok.size not in (0, n) or ok.ndim != 1:
        raise ValueError(f"valid has shape {ok.shape} for {n} feature pixels")
    code = np.empty(n, np.uint8)
    prob = np.empty(n, np.float32)
    cover = np.empty(n, np.uint8)
    if n:
        _forward(x, ok, *model, code, prob, cover)
    return code, prob, cover


_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_EXP_MIN = np.float32(-87.0)


@numba.njit(nogil=True, cache=True)
def _exp_nonpositive(d, bits, scale, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``d[:m] = exp(d[:m])`` for ``d <= 0`` in float32, in loops LLVM vectorises (a libm call
    per value was a third of the pass): Cephes ``expf`` (Cody-Waite reduction by ln 2, degree-7
    polynomial, within 2 ulp), the power of two built in ``bits``, an int32 view of ``scale``.
    Values below -87 give exp(-87) ~ 1.6e-38 (negligible beside the top label's 1)."""
    for p in range(m):
        x = max(d[p], _EXP_MIN)
        n = np.floor(x * _LOG2E + np.float32(0.5))
        r = x - n * _LN2_HI - n * _LN2_LO
        y = np.float32(1.9875691500e-4) * r + np.float32(1.3981999507e-3)
        y = y * r + np.float32(8.3334519073e-3)
        y = y * r + np.float32(4.1665795894e-2)
        y = y * r + np.float32(1.6666665459e-1)
        y = y * r + np.float32(5.0000001201e-1)
        d[p] = y * (r * r) + r + np.float32(1)
        bits[p] = (np.int32(n) + np.int32(127)) << np.int32(23)
    for p in range(m):
        d[p] *= scale[p]


@numba.njit(nogil=True, cache=True)
def _softmax_tile(scores, n_lab, label_class, cls, work, best, bits, scale, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Over ``m`` pixels of ``scores`` ``(n_lab, TILE)`` (overwritten by exp(score - max)): label
    probabilities summed by class into ``cls`` ``(n_classes, TILE)``, the first most probable
    label into ``best``; ``work[0]`` the largest score then the total, ``work[1]`` the largest
    exp. Every loop runs over the tile's pixels (vectorised)."""
    top, top_e = work[0], work[1]
    for p in range(m):
        top[p] = scores[0, p]
    for j in range(1, n_lab):
        row = scores[j]
        for p in range(m):
            top[p] = max(top[p], row[p])
    for j in range(n_lab):
        row = scores[j]
        for p in range(m):
            row[p] -= top[p]
        _exp_nonpositive(row, bits, scale, m)
    for c in range(cls.shape[0]):
        for p in range(m):
            cls[c, p] = 0
    for p in range(m):
        top[p] = 0  # now the total
        top_e[p] = -1
        best[p] = 0
    for j in range(n_lab):
        row = scores[j]
        into = cls[label_class[j]]
        for p in range(m):
            e = row[p]
            top[p] += e
            into[p] += e
            if e > top_e[p]:  # the first most probable label, as numpy's argmax
                top_e[p] = e
                best[p] = j


@numba.njit(nogil=True, cache=True)
def _forward(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    x,
    valid,
    lower,
    upper,
    weights,
    biases,
    label_class,
    label_cover,
    n_classes,
    nodata_code,
    unknown_cover,
    code,
    prob,
    cover,
):
    """Classify feature-major ``x`` ``(n_features, n)`` float32 into ``code``, ``prob`` and
    ``cover`` ``(n,)``. ``weights``/``biases``: the folded layers (``(n_out, n_in)`` and
    ``(n_out,)`` float32, ReLU between, softmax after); ``label_class``/``label_cover``: each
    label's class code and cover index. Pixels with a NaN feature or not ``valid`` (an
    ``(n,)`` bool array, or empty for all valid) get ``nodata_code``, 0 and ``unknown_cover``."""
    n_feat, n = x.shape
    n_layers = len(weights)
    width = n_feat
    for w in weights:
        width = max(width, w.shape[0])
    buf_a = np.empty((width, TILE), np.float32)
    buf_b = np.empty((width, TILE), np.float32)
    cls = np.empty((n_classes, TILE), np.float32)
    work = np.empty((2, TILE), np.float32)
    best = np.empty(TILE, np.intp)
    win = np.empty(TILE, np.uint8)
    bits = np.empty(TILE, np.int32)
    scale = bits.view(np.float32)
    bad = np.empty(TILE, np.bool_)
    check_valid = valid.shape[0] == n
    for start in range(0, n, TILE):
        m = min(TILE, n - start)
        for p in range(m):
            bad[p] = check_valid and not valid[start + p]
        for i in range(n_feat):
            lo = lower[i]
            hi = upper[i]
            row = buf_a[i]
            for p in range(m):
                v = x[i, start + p]
                bad[p] |= v != v
                row[p] = min(max(v, lo), hi)
        src, dst = buf_a, buf_b
        n_in = n_feat
        for k in range(n_layers):
            w = weights[k]
            _dense(w, biases[k], src, dst, n_in, w.shape[0], m, k < n_layers - 1)
            n_in = w.shape[0]
            src, dst = dst, src
        _softmax_tile(src, n_in, label_class, cls, work, best, bits, scale, m)
        total, top = work[0], work[1]
        for p in range(m):
            top[p] = cls[0, p]
            win[p] = 0
        for c in range(1, n_classes):
            row = cls[c]
            for p in range(m):
                if row[p] > top[p]:
                    top[p] = row[p]
                    win[p] = c
        for p in range(m):
            out = start + p
            if bad[p]:
                code[out] = nodata_code
                prob[out] = 0
                cover[out] = unknown_cover
            else:
                code[out] = win[p]
                prob[out] = top[p] / total[p]
                cover[out] = label_cover[best[p]]
