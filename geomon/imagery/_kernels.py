"""Compiled per-pixel kernels (numba): the median of clear observations.

The median sorts each pixel's observations with a Batcher odd-even merge sorting network run
row by row: branch-free min/max over rows that the compiler vectorises, ~10x faster than
``np.sort`` along time and without temporaries. Invalid observations sort last as +inf.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

__all__ = ["median_clear", "sorting_pairs"]


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
def _median_rows(x, valid, pairs, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    t_len, height, width = x.shape
    work = np.empty((t_len, width), np.float32)
    count = np.empty(width, np.int64)
    for i in range(height):
        count[:] = 0
        for t in range(t_len):
            for j in range(width):
                v = x[t, i, j]
                ok = valid[t, i, j] and v == v
                work[t, j] = v if ok else np.inf
                count[j] += ok
        for p in range(pairs.shape[0]):
            a, b = pairs[p, 0], pairs[p, 1]
            for j in range(width):
                lo, hi = min(work[a, j], work[b, j]), max(work[a, j], work[b, j])
                work[a, j], work[b, j] = lo, hi
        for j in range(width):
            k = count[j]
            if k == 0:
                out[i, j] = np.nan
            elif k % 2 == 1:
                out[i, j] = work[k // 2, j]
            else:
                out[i, j] = (work[k // 2 - 1, j] + work[k // 2, j]) * np.float32(0.5)


def median_clear(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Median over axis 0 of the finite values where ``valid``; NaN where none. Shape (1, y, x)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    valid = np.ascontiguousarray(valid, dtype=np.bool_)
    out = np.empty((1, *x.shape[1:]), np.float32)
    _median_rows(x, valid, sorting_pairs(x.shape[0]), out[0])
    return out
