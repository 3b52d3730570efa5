"""Compiled per-pixel change tracking (numba): the rules of :mod:`geomon.footprint.change` in
one pass per pixel over its periods, with no full-raster temporaries.

The numpy formulation (:func:`geomon.footprint.change.confirmed_runs` and a forward loop over
periods) builds a dozen boolean rasters per period and was half of the footprint stage; this
kernel walks each pixel's series backwards once (confirmed runs of disturbance and of
vegetation) and forwards once (status), and gives the same arrays bit for bit (tests compare
them on random series).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["NEW", "NONE", "PERSISTING", "REHABILITATED", "track_pixels"]

#: status codes (see :mod:`geomon.footprint.change`)
NONE, NEW, PERSISTING, REHABILITATED = 0, 1, 2, 3
_BIG = np.iinfo(np.int32).max


@numba.njit(nogil=True, cache=True, inline="always")
def _runs(hit, tail_hit, clear, cc, has_cc, persistence, tail_min_clear, ok):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """One pixel of ``confirmed_runs``: ``ok[t]`` when ``hit[t]`` starts or continues a run of
    ``persistence`` clear hits, or a shorter run reaching the end that the tail rule accepts."""
    run = 0
    to_end = True
    min_cc = _BIG
    tail_all = True
    for t in range(hit.shape[0] - 1, -1, -1):
        c = clear[t]
        x = hit[t] and c
        if x:
            run += 1
            tail_all = tail_all and tail_hit[t]
            if has_cc:
                min_cc = min(min_cc, cc[t])
        elif c:
            run = 0
            to_end = False
            tail_all = True
            min_cc = _BIG
        tail_ok = has_cc and to_end and tail_all and min_cc >= tail_min_clear and tail_min_clear > 0
        ok[t] = x and (run >= persistence or tail_ok)


@numba.njit(nogil=True, cache=True)
def track_pixels(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    codes,
    kinds,
    clear_count,
    has_cc,
    probability,
    min_probability,
    tail_min_probability,
    use_probability,
    use_tail_probability,
    conversions,
    persistence,
    tail_min_clear,
    status,
    first_seen,
    baseline_index,
    baseline_class,
):
    """Fill ``status`` (t, y, x) and the per-pixel ``first_seen``, ``baseline_index`` and
    ``baseline_class`` from class ``codes`` (t, y, x); ``clear_count`` (int32) and
    ``probability`` are read only when ``has_cc`` / ``use_probability`` say so. ``kinds`` holds
    the codes of cloud_nodata, vegetation and bare_disturbed; ``conversions`` the codes that
    count as disturbance when they replace a different baseline class."""
    cloud, vegetation, bare = kinds[0], kinds[1], kinds[2]
    n, height, width = codes.shape
    clear = np.empty(n, np.bool_)
    hit = np.empty(n, np.bool_)
    sure = np.empty(n, np.bool_)
    tail = np.empty(n, np.bool_)
    veg = np.empty(n, np.bool_)
    bare_ok = np.empty(n, np.bool_)
    veg_ok = np.empty(n, np.bool_)
    cc = np.zeros(n, np.int32)
    for y in range(height):
        for x in range(width):
            base = np.uint8(cloud)
            base_idx = -1
            for t in range(n):
                if codes[t, y, x] != cloud:
                    base = np.uint8(codes[t, y, x])
                    base_idx = t
                    break
            # most pixels never show a disturbance class: no run can start, so every period
            # is NONE (the full rules below give the same; this skips them)
            any_hit = False
            for t in range(n):
                code = codes[t, y, x]
                if code == bare:
                    any_hit = True
                for k in range(conversions.shape[0]):
                    if code == conversions[k] and base != conversions[k]:
                        any_hit = True
            if not any_hit:
                for t in range(n):
                    status[t, y, x] = NONE
                first_seen[y, x] = -1
                baseline_index[y, x] = base_idx
                baseline_class[y, x] = base
                continue
            for t in range(n):
                code = codes[t, y, x]
                clear[t] = code != cloud
                h = code == bare
                for k in range(conversions.shape[0]):
                    h = h or (code == conversions[k] and base != conversions[k])
                hit[t] = h
                veg[t] = code == vegetation
                sure[t] = h and (not use_probability or probability[t, y, x] >= min_probability)
                tail[t] = sure[t] and (
                    not use_tail_probability or (h and probability[t, y, x] >= tail_min_probability)
                )
                if has_cc:
                    cc[t] = clear_count[t, y, x]
            _runs(sure, tail, clear, cc, has_cc, persistence, tail_min_clear, bare_ok)
            _runs(veg, veg, clear, cc, has_cc, persistence, tail_min_clear, veg_ok)
            disturbed = False
            rehab = False
            seen_undisturbed = False
            first = -1
            base_idx = -1
            for t in range(n):
                if clear[t] and base_idx < 0:
                    base_idx = t
                onset = bare_ok[t] and not disturbed
                is_new = onset and first < 0 and seen_undisturbed
                if onset and first < 0:
                    first = t
                disturbed = disturbed or onset
                rehab = rehab and not onset
                healed = veg_ok[t] and disturbed
                rehab = rehab or healed
                disturbed = disturbed and not healed
                seen_undisturbed = seen_undisturbed or (
                    clear[t] and not hit[t] and not disturbed and not rehab
                )
                if disturbed:
                    status[t, y, x] = NEW if is_new else PERSISTING
                else:
                    status[t, y, x] = REHABILITATED if rehab else NONE
            first_seen[y, x] = first
            baseline_index[y, x] = base_idx
            baseline_class[y, x] = base


@numba.njit(nogil=True, cache=True)
def _find(parent, i):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        parent[i], i = root, parent[i]
    return root


@numba.njit(nogil=True, cache=True)
def _union(parent, a, b):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Join the sets of ``a`` and ``b``; the root stays the smaller index (the set's first
    pixel in raster order)."""
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


@numba.njit(nogil=True, cache=True)
def label_regions(vals, mask, group, labels):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Label the 4-connected regions of equal ``vals`` and ``group`` under ``mask`` (``(h,
    w)``) into C-ordered ``labels`` (int64, left as it is
    outside the mask), numbered from 0 in the raster order of each region's first pixel (the
    numbering of scipy's ``connected_components`` over the masked pixels in raster order);
    returns the number of regions. Union-find in one raster pass; pixels outside the mask are
    never touched (footprint masks cover a few percent of the grid)."""
    w = vals.shape[1]
    h = vals.shape[0]
    parent = np.empty(h * w, np.int64)
    for y in range(h):
        for x in range(w):
            if not mask[y, x]:
                continue
            i = y * w + x
            parent[i] = i
            v = vals[y, x]
            g = group[y, x]
            if x > 0 and mask[y, x - 1] and vals[y, x - 1] == v and group[y, x - 1] == g:
                _union(parent, i, i - 1)
            if y > 0 and mask[y - 1, x] and vals[y - 1, x] == v and group[y - 1, x] == g:
                _union(parent, i, i - w)
    n = 0
    flat = labels.reshape(-1)
    for y in range(h):
        for x in range(w):
            if not mask[y, x]:
                continue
            i = y * w + x
            r = _find(parent, i)
            if r == i:
                flat[i] = n
                n += 1
            else:
                flat[i] = flat[r]
    return n
