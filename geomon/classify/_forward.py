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

Masked stores: no vectorised loop here updates an array in place under a condition (the ReLU's
``if v < 0: v = 0``, a running maximum or argmax kept in a row). LLVM turns such a loop into AVX
masked stores (``vmaskmovps``), which are microcoded and slow on AMD Zen: in the assembly of the
previous version they were the hottest loops after the layers. The ReLU writes into the other
scratch buffer instead, and the maxima and argmaxes over the nine labels and five classes run
per pixel in scalar code. Same results bit for bit; the forward pass on the realistic reference
block (reduced model, one thread, in-process alternation) went from 139 to 102 ns per pixel
(fastest of 9; medians 170 -> 154 under a load of 2.2).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

__all__ = ["TILE", "KernelModel", "forward", "forward_window"]

#: pixels per tile: long enough for LLVM's unrolled vector loop (16 AVX2 vectors per row; 32
#: pixels fell back to its scalar remainder), short enough that the scratch stays in L1/L2
TILE = 128


@numba.njit(nogil=True, cache=True)
def _dense(w, b, src, dst, n_in, n_out, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``dst[:n_out, :m] = w @ src[:n_in, :m] + b``, ``w`` ``(n_out, n_in)``; ``src`` and
    ``dst`` are C-contiguous ``(rows, TILE)`` scratch buffers.

    Register blocking: a block of four output rows takes four input rows per pass over the
    pixels, so each partial sum is loaded and stored once per four products instead of once per
    product, and each input load serves four rows. The sums still run input by input in order
    (bias, then ``w[j, 0] * x0``, ``w[j, 1] * x1``, ...), the float32 operations of one input at
    a time, so results do not change. The block indexes flat views with offsets that differ by
    the constant ``TILE``, which lets LLVM check aliasing once per buffer and vectorise (four
    separate row views were not vectorised). Remaining inputs and rows go one at a time."""
    sf = src.reshape(src.shape[0] * src.shape[1])
    df = dst.reshape(dst.shape[0] * dst.shape[1])
    j = 0
    while j + 4 <= n_out:
        d0, d1, d2, d3 = dst[j], dst[j + 1], dst[j + 2], dst[j + 3]
        b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
        for p in range(m):
            d0[p] = b0
            d1[p] = b1
            d2[p] = b2
            d3[p] = b3
        o0 = j * TILE
        o1 = o0 + TILE
        o2 = o1 + TILE
        o3 = o2 + TILE
        i = 0
        while i + 4 <= n_in:
            s0 = i * TILE
            s1 = s0 + TILE
            s2 = s1 + TILE
            s3 = s2 + TILE
            w00, w01, w02, w03 = w[j, i], w[j, i + 1], w[j, i + 2], w[j, i + 3]
            w10, w11, w12, w13 = w[j + 1, i], w[j + 1, i + 1], w[j + 1, i + 2], w[j + 1, i + 3]
            w20, w21, w22, w23 = w[j + 2, i], w[j + 2, i + 1], w[j + 2, i + 2], w[j + 2, i + 3]
            w30, w31, w32, w33 = w[j + 3, i], w[j + 3, i + 1], w[j + 3, i + 2], w[j + 3, i + 3]
            for p in range(m):
                x0 = sf[s0 + p]
                x1 = sf[s1 + p]
                x2 = sf[s2 + p]
                x3 = sf[s3 + p]
                d = df[o0 + p]
                d += w00 * x0
                d += w01 * x1
                d += w02 * x2
                d += w03 * x3
                df[o0 + p] = d
                d = df[o1 + p]
                d += w10 * x0
                d += w11 * x1
                d += w12 * x2
                d += w13 * x3
                df[o1 + p] = d
                d = df[o2 + p]
                d += w20 * x0
                d += w21 * x1
                d += w22 * x2
                d += w23 * x3
                df[o2 + p] = d
                d = df[o3 + p]
                d += w30 * x0
                d += w31 * x1
                d += w32 * x2
                d += w33 * x3
                df[o3 + p] = d
            i += 4
        while i < n_in:
            w0, w1, w2, w3 = w[j, i], w[j + 1, i], w[j + 2, i], w[j + 3, i]
            s = src[i]
            for p in range(m):
                v = s[p]
                d0[p] += w0 * v
                d1[p] += w1 * v
                d2[p] += w2 * v
                d3[p] += w3 * v
            i += 1
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


@numba.njit(nogil=True, cache=True)
def _relu(src, dst, n, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``dst[:n, :m] = src[:n, :m]`` with negative values set to 0 (NaN and -0.0 kept, as the
    in-place ``if v < 0: v = 0`` did), into another buffer: see the module notes on masked stores."""
    for j in range(n):
        s = src[j]
        d = dst[j]
        for p in range(m):
            v = s[p]
            d[p] = np.float32(0) if v < 0 else v


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
    ok = None if valid is None else np.ascontiguousarray(valid, np.bool_)
    if ok is not None and (ok.ndim != 1 or ok.size != n):
        raise ValueError(f"valid has shape {ok.shape} for {n} feature pixels")
    code, prob, cover = forward_window(
        model,
        x.reshape(len(x), 1, 1, n),
        None if ok is None else ok.reshape(1, 1, n),
        (slice(0, 1), slice(0, n)),
    )
    return code.reshape(n), prob.reshape(n), cover.reshape(n)


def forward_window(
    model: KernelModel,
    x: np.ndarray,
    valid: np.ndarray | None,
    window: tuple[slice, slice],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`forward` of the pixels of ``window`` (two slices, step 1, of the last two axes)
    of feature-major ``x`` ``(n_features, planes, y, x)`` C-contiguous float32 (``valid``:
    ``(planes, y, x)``), as ``(planes, window y, window x)`` arrays: a block read with a halo
    for its context features classifies its own pixels only. Each pixel's results do not depend
    on where its tile starts, so they are those of the whole array's."""
    if x.ndim != 4 or x.dtype != np.float32 or not x.flags.c_contiguous:
        raise ValueError(f"x must be C-contiguous float32 (features, planes, y, x), not {x.shape}")
    planes, h, w = x.shape[1:]
    ys, xs = (range(*window[0].indices(h)), range(*window[1].indices(w)))
    if ys.step != 1 or xs.step != 1:
        raise ValueError("window slices must have step 1")
    if valid is None:
        ok = np.empty((0, 0, 0), np.bool_)
    else:
        ok = np.ascontiguousarray(valid, np.bool_)
        if ok.shape != x.shape[1:]:
            raise ValueError(f"valid has shape {ok.shape} for feature pixels {x.shape[1:]}")
    shape = (planes, len(ys), len(xs))
    code = np.empty(shape, np.uint8)
    prob = np.empty(shape, np.float32)
    cover = np.empty(shape, np.uint8)
    if code.size:
        y0, x0 = ys.start, xs.start
        _forward(x, ok, y0, y0 + len(ys), x0, x0 + len(xs), *model, code, prob, cover)
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
    label into ``best`` (int32 ``(TILE,)``), the total into ``work[0]`` (``work`` ``(1, TILE)``
    scratch). The exp and sums run over the tile's pixels (vectorised); the maxima run per pixel
    over the labels, in scalar code (see the module notes on masked stores)."""
    top = work[0]
    for p in range(m):
        t = scores[0, p]
        for j in range(1, n_lab):
            t = max(t, scores[j, p])
        top[p] = t
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
    for j in range(n_lab):
        row = scores[j]
        into = cls[label_class[j]]
        for p in range(m):
            e = row[p]
            top[p] += e
            into[p] += e
    _first_argmax(scores, n_lab, np.float32(-1), best, m)  # exps are >= 0


@numba.njit(nogil=True, cache=True)
def _first_argmax(rows, n, floor, out, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``out[p]`` = the first ``j < n`` with the largest ``rows[j, p]`` (numpy's argmax), for
    ``p < m``: a scalar loop over the rows per pixel (see the module notes on masked stores). Rows
    compare with ``>`` from ``floor`` (0 if none is above it), or from row 0 when ``floor`` is
    NaN: the comparisons of the vectorised passes this replaced, NaN included."""
    start = 0 if floor == floor else 1
    for p in range(m):
        t = floor if start == 0 else rows[0, p]
        k = 0
        for j in range(start, n):
            v = rows[j, p]
            if v > t:
                t = v
                k = j
        out[p] = k


@numba.njit(nogil=True, cache=True)
def _forward(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    x,
    valid,
    y0,
    y1,
    x0,
    x1,
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
    """Classify the pixels ``[y0:y1, x0:x1]`` of each plane of feature-major ``x``
    ``(n_features, planes, y, x)`` float32 into ``code``, ``prob`` and ``cover`` ``(planes,
    y1 - y0, x1 - x0)``, in tiles along each row. ``weights``/``biases``: the folded layers
    (``(n_out, n_in)`` and ``(n_out,)`` float32, ReLU between, softmax after);
    ``label_class``/``label_cover``: each label's class code and cover index. Pixels with a NaN
    feature or not ``valid`` (``(planes, y, x)`` bool, or empty for all valid) get
    ``nodata_code``, 0 and ``unknown_cover``."""
    n_feat = x.shape[0]
    n_layers = len(weights)
    width = n_feat
    for w in weights:
        width = max(width, w.shape[0])
    buf_a = np.empty((width, TILE), np.float32)
    buf_b = np.empty((width, TILE), np.float32)
    cls = np.empty((n_classes, TILE), np.float32)
    work = np.empty((1, TILE), np.float32)
    best = np.empty(TILE, np.int32)
    win = np.empty(TILE, np.int32)
    bits = np.empty(TILE, np.int32)
    scale = bits.view(np.float32)
    bad = np.empty(TILE, np.bool_)
    check_valid = valid.shape[0] == x.shape[1]
    n = x1 - x0
    for pl in range(x.shape[1]):
        for y in range(y0, y1):
            vrow = valid[pl, y, x0:x1] if check_valid else valid[0, 0, :0]
            crow, prow, vcov = code[pl, y - y0], prob[pl, y - y0], cover[pl, y - y0]
            for start in range(0, n, TILE):
                m = min(TILE, n - start)
                for p in range(m):
                    bad[p] = check_valid and not vrow[start + p]
                for i in range(n_feat):
                    lo = lower[i]
                    hi = upper[i]
                    row = buf_a[i]
                    src = x[i, pl, y, x0 + start : x0 + start + m]  # offsets by slicing
                    for p in range(m):
                        v = src[p]
                        bad[p] |= v != v
                        row[p] = min(max(v, lo), hi)
                n_in = n_feat
                for k in range(n_layers):  # buf_a -> buf_b, ReLU back into buf_a, ...
                    w = weights[k]
                    _dense(w, biases[k], buf_a, buf_b, n_in, w.shape[0], m)
                    n_in = w.shape[0]
                    if k < n_layers - 1:
                        _relu(buf_b, buf_a, n_in, m)
                _softmax_tile(buf_b, n_in, label_class, cls, work, best, bits, scale, m)
                _first_argmax(cls, n_classes, np.float32(np.nan), win, m)
                total = work[0]
                for p in range(m):
                    out = start + p
                    if bad[p]:
                        crow[out] = nodata_code
                        prow[out] = 0
                        vcov[out] = unknown_cover
                    else:
                        crow[out] = win[p]
                        prow[out] = cls[win[p], p] / total[p]
                        vcov[out] = label_cover[best[p]]
