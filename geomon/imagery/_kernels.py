"""Compiled per-pixel kernels (numba): the median of clear observations, and the period's
greatest NDVI over them (:func:`ndvi_max_clear`).

The median sorts each pixel's observations with a Batcher odd-even merge sorting network run
row by row: branch-free min/max over rows that the compiler vectorises, ~10x faster than
``np.sort`` along time and without temporaries. Invalid observations sort last as +inf.
Every inner loop runs on one lane width (uint16 for DN): a coarser clear mask is expanded once
per mask row into uint16 lanes, and usable values are selected with bit masks, so that loading
a row vectorises as well as sorting it (the load, not the sort, was two thirds of the time).
"""

from __future__ import annotations

import functools

import numba
import numpy as np

__all__ = ["median_clear", "ndvi_max_clear", "nearest_clear", "nearest_first", "sorting_pairs"]


@functools.lru_cache(maxsize=64)
def sorting_pairs(n: int) -> np.ndarray:
    """Comparator pairs (i, j), i < j, of a sorting network for ``n`` values (Batcher's
    odd-even merge sort on the next power of two, pairs beyond ``n`` dropped: they compare
    with +inf padding and never swap)."""
    size = 1
    while size < n:
        size *= 2
    pairs = [(i, j) for i, j in _merge_sort(0, size - 1) if j < n]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _merge_sort(lo: int, hi: int) -> list[tuple[int, int]]:
    if hi - lo < 1:
        return []
    mid = lo + (hi - lo) // 2
    return [*_merge_sort(lo, mid), *_merge_sort(mid + 1, hi), *_merge(lo, hi, 1)]


def _merge(lo: int, hi: int, r: int) -> list[tuple[int, int]]:
    step = r * 2
    if step >= hi - lo:
        return [(lo, lo + r)]
    inner = [(i, i + r) for i in range(lo + r, hi - r, step)]
    return [*_merge(lo, hi, step), *_merge(lo + r, hi, step), *inner]


@numba.njit(nogil=True, cache=True)
def _expand_valid(valid, t, r, vf, row):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Row ``r`` of step ``t`` of the (coarser by ``vf``) mask into ``row`` as uint16 lanes,
    0xFFFF where clear: a 2x expansion writes each flag once as a 32-bit word (vectorises)."""
    vr = valid[t, r]
    if vf == 1:
        for j in range(row.shape[0]):
            row[j] = np.uint16(0) - np.uint16(vr[j])
    elif vf == 2:
        r32 = row.view(np.uint32)
        for j in range(r32.shape[0]):
            r32[j] = np.uint32(0) - np.uint32(vr[j])
    else:
        for j in range(row.shape[0]):
            row[j] = np.uint16(0) - np.uint16(vr[j // vf])


@numba.njit(nogil=True, cache=True)
def _expanded_masks(valid, i, vf, vexp):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Refresh ``vexp`` (t, >= width) when row ``i`` starts a new coarse mask row."""
    if i % vf == 0:
        for t in range(vexp.shape[0]):
            _expand_valid(valid, t, i // vf, vf, vexp[t])


@numba.njit(nogil=True, cache=True)
def _load_rows(x, i, vexp, scale, offset, nodata, has_nodata, work, count):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Row ``i`` of every step into ``work`` as reflectance, +inf where not usable."""
    inf = np.float32(np.inf)
    count[:] = 0
    for t in range(x.shape[0]):
        s, o = np.float32(scale[t]), np.float32(offset[t])
        xr, ve, wr = x[t, i], vexp[t], work[t]
        for j in range(wr.shape[0]):
            raw = xr[j]
            v = np.float32(raw) * s + o
            ok = (ve[j] != 0) & (v == v) & ((not has_nodata) | (raw != nodata))
            wr[j] = v if ok else inf
            count[j] += ok


@numba.njit(nogil=True, cache=True)
def _sort_rows(work, pairs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Apply the sorting network to every column of ``work`` (branch-free, vectorised)."""
    for p in range(pairs.shape[0]):
        wa, wb = work[pairs[p, 0]], work[pairs[p, 1]]
        for j in range(wa.shape[0]):
            a, b = wa[j], wb[j]
            wa[j] = min(a, b)
            wb[j] = max(a, b)


@numba.njit(nogil=True, cache=True)
def _median_rows(x, valid, vf, scale, offset, nodata, has_nodata, pairs, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    t_len, height, width = x.shape
    work = np.empty((t_len, width), np.float32)
    count = np.zeros(width, np.int32)
    vexp = np.empty((t_len, (width + vf - 1) // vf * vf), np.uint16)
    for i in range(height):
        _expanded_masks(valid, i, vf, vexp)
        _load_rows(x, i, vexp, scale, offset, nodata, has_nodata, work, count)
        _sort_rows(work, pairs)
        for j in range(width):
            k = count[j]
            if k == 0:
                out[i, j] = np.nan
            elif k % 2 == 1:
                out[i, j] = work[k // 2, j]
            else:
                out[i, j] = (work[k // 2 - 1, j] + work[k // 2, j]) * np.float32(0.5)


@numba.njit(nogil=True, cache=True)
def _load_rows_u16(x, i, vexp, shift, nodata, has_nodata, work, count):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Row ``i`` of every step into ``work`` as DN shifted to one offset, the sentinel 65535
    where not usable (values clamp to 0..65534); ``count`` the usable ones. All uint16 lanes."""
    top = np.uint16(65535)
    nd = np.uint16(nodata)
    count[:] = 0
    for t in range(x.shape[0]):
        xr, ve, wr, sh = x[t, i], vexp[t], work[t], shift[t]
        if has_nodata:
            for j in range(wr.shape[0]):
                raw = xr[j]
                v = np.uint16(min(max(np.int32(raw) + sh, 0), 65534))
                m = ve[j] & (np.uint16(0) - np.uint16(raw != nd))
                wr[j] = v | (m ^ top)
                count[j] += m & np.uint16(1)
        else:
            for j in range(wr.shape[0]):
                m = ve[j]
                v = np.uint16(min(max(np.int32(xr[j]) + sh, 0), 65534))
                wr[j] = v | (m ^ top)
                count[j] += m & np.uint16(1)


@numba.njit(nogil=True, cache=True)
def _median_rows_u16(x, valid, vf, shift, nodata, has_nodata, pairs, scale, offset, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """As ``_median_rows`` on uint16 DN shifted to one offset (twice the SIMD lanes); the
    sentinel 65535 sorts unusable values last, ``count`` says how many are real."""
    t_len, height, width = x.shape
    work = np.empty((t_len, width), np.uint16)
    count = np.zeros(width, np.uint16)
    vexp = np.empty((t_len, (width + vf - 1) // vf * vf), np.uint16)
    for i in range(height):
        _expanded_masks(valid, i, vf, vexp)
        _load_rows_u16(x, i, vexp, shift, nodata, has_nodata, work, count)
        _sort_rows(work, pairs)
        for j in range(width):
            k = np.int64(count[j])
            if k == 0:
                out[i, j] = np.nan
            else:
                mid = (
                    np.float32(work[(k - 1) // 2, j]) + np.float32(work[k // 2, j])
                ) * np.float32(0.5)
                out[i, j] = mid * np.float32(scale) + np.float32(offset)


def _integer_shifts(x: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray | None:
    """Per-step DN shifts onto the lowest offset, when the steps share one scale and their
    offsets differ by whole DN (Sentinel-2 baselines: 1000), and fewer than 65535 steps (the
    uint16 count); else None."""
    if x.dtype != np.uint16 or len(x) >= 65535 or not np.allclose(scale, scale[0], rtol=0, atol=0):
        return None
    steps = (offset - offset.min()) / scale[0]
    if not np.allclose(steps, np.round(steps), atol=1e-6):
        return None
    return np.round(steps).astype(np.int32)


def _prepared(
    x: np.ndarray, valid: np.ndarray, scale: np.ndarray | None, offset: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A reduction's inputs as its kernel takes them (C-contiguous values, a bool mask, float64
    scale and offset per step, 1 and 0 by default) and its float32 output, shaped (1, y, x)."""
    t_len = x.shape[0]
    scale = np.ones(t_len, np.float64) if scale is None else np.asarray(scale, np.float64)
    offset = np.zeros(t_len, np.float64) if offset is None else np.asarray(offset, np.float64)
    out = np.empty((1, *x.shape[1:]), np.float32)
    return (
        np.ascontiguousarray(x),
        np.ascontiguousarray(valid, dtype=np.bool_),
        scale,
        offset,
        out,
    )


def median_clear(
    x: np.ndarray,
    valid: np.ndarray,
    *,
    scale: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    nodata: float | None = None,
    valid_factor: int = 1,
) -> np.ndarray:
    """Median over axis 0 of ``x * scale[t] + offset[t]`` where ``valid``, finite and not
    ``nodata``; NaN where none. ``valid`` may be coarser than ``x`` by ``valid_factor``
    (a 20 m mask for 10 m bands). Returns float32 of shape (1, y, x). uint16 DN sharing a
    scale take an integer path (same result up to float rounding, about twice as fast)."""
    x, valid, scale, offset, out = _prepared(x, valid, scale, offset)
    fill = 0.0 if nodata is None else float(nodata)
    pairs = sorting_pairs(x.shape[0])
    shifts = _integer_shifts(x, scale, offset)
    if shifts is not None:
        base = float(offset.min())
        _median_rows_u16(
            x, valid, valid_factor, shifts, fill, nodata is not None, pairs, scale[0], base, out[0]
        )
        return out
    _median_rows(x, valid, valid_factor, scale, offset, fill, nodata is not None, pairs, out[0])
    return out


@numba.njit(nogil=True, cache=True)
def _ndvi_max_rows(nir, red, valid, vf, scale, offset, nodata, has_nodata, late, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Per pixel, the greatest ``(nir - red) / (nir + red)`` (0 where the sum is 0) over the
    steps where the (coarser by ``vf``) mask is clear and both values are usable; NaN if none.
    With ``late`` >= 0, over steps ``late`` and after only, the whole range's where those have
    none."""
    t_len, height, width = nir.shape
    best = np.empty(width, np.float32)
    tail = np.empty(width, np.float32)
    for i in range(height):
        best[:] = -np.inf
        tail[:] = -np.inf
        for t in range(t_len):
            vr, nr, rr = valid[t, i // vf], nir[t, i], red[t, i]
            s, o = np.float32(scale[t]), np.float32(offset[t])
            in_tail = 0 <= late <= t
            for j in range(width):
                if not vr[j // vf]:
                    continue
                if has_nodata and (nr[j] == nodata[0] or rr[j] == nodata[1]):
                    continue
                n = np.float32(nr[j]) * s + o
                r = np.float32(rr[j]) * s + o
                total = n + r
                v = np.float32(0) if total == 0 else (n - r) / total
                if v > best[j]:  # False for NaN
                    best[j] = v
                if in_tail and v > tail[j]:
                    tail[j] = v
        for j in range(width):
            v = tail[j] if tail[j] > -np.inf else best[j]
            out[i, j] = v if v > -np.inf else np.nan


def ndvi_max_clear(
    nir: np.ndarray,
    red: np.ndarray,
    valid: np.ndarray,
    *,
    scale: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    nodata: tuple[float, float] | None = None,
    valid_factor: int = 1,
    late: int | None = None,
) -> np.ndarray:
    """The greatest NDVI over axis 0 of ``nir`` and ``red`` (stored values, reflectance
    ``x * scale[t] + offset[t]``) where ``valid``, both finite and neither its ``nodata``
    (nir's, red's); NaN where none. ``valid`` may be coarser by ``valid_factor``. With ``late``,
    the greatest over steps ``late`` and after only, and over all steps where those have none
    (a pixel seen only early keeps the whole range's value). Returns float32 of shape
    (1, y, x)."""
    t_len = nir.shape[0]
    nir = np.ascontiguousarray(nir)
    red = np.ascontiguousarray(red)
    valid = np.ascontiguousarray(valid, dtype=np.bool_)
    scale = np.ones(t_len, np.float64) if scale is None else np.asarray(scale, np.float64)
    offset = np.zeros(t_len, np.float64) if offset is None else np.asarray(offset, np.float64)
    fill = np.zeros(2) if nodata is None else np.asarray(nodata, np.float64)
    out = np.empty((1, *nir.shape[1:]), np.float32)
    tail = -1 if late is None else max(0, int(late))
    _ndvi_max_rows(
        nir, red, valid, valid_factor, scale, offset, fill, nodata is not None, tail, out[0]
    )
    return out


@numba.njit(nogil=True, cache=True)
def _nearest_rows(x, valid, vf, scale, offset, nodata, has_nodata, order, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Per pixel, the first usable value in step ``order``; NaN if none."""
    height, width = out.shape
    for i in range(height):
        for j in range(width):
            value = np.float32(np.nan)
            for t in order:
                if not valid[t, i // vf, j // vf]:
                    continue
                raw = x[t, i, j]
                if has_nodata and raw == nodata:
                    continue
                v = np.float32(raw) * np.float32(scale[t]) + np.float32(offset[t])
                if np.isfinite(v):
                    value = v
                    break
            out[i, j] = value


def nearest_clear(
    x: np.ndarray,
    valid: np.ndarray,
    order: np.ndarray,
    *,
    scale: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    nodata: float | None = None,
    valid_factor: int = 1,
) -> np.ndarray:
    """Per pixel, ``x[t] * scale[t] + offset[t]`` at the first step ``t`` of ``order`` where
    ``valid`` (coarser by ``valid_factor``), finite and not ``nodata``; NaN where none: one
    clear observation, the one nearest the period's middle when ``order`` is
    :func:`nearest_first`. Returns float32 of shape (1, y, x)."""
    x, valid, scale, offset, out = _prepared(x, valid, scale, offset)
    fill = 0.0 if nodata is None else float(nodata)
    steps = np.asarray(order, np.int64)
    _nearest_rows(x, valid, valid_factor, scale, offset, fill, nodata is not None, steps, out[0])
    return out


def nearest_first(n: int) -> list[int]:
    """Indices ``0 .. n - 1`` from the middle one (``n // 2``) outwards, the earlier first at
    equal distance: ``nearest_first(5) == [2, 1, 3, 0, 4]`` (the order in which the demo truth
    of a period, its middle scene, is filled: :func:`geomon.footprint.assess.middle_scene`)."""
    middle = n // 2
    order = [middle]
    for d in range(1, n):
        order += [k for k in (middle - d, middle + d) if 0 <= k < n]
    return order
