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

__all__ = [
    "NEW",
    "NONE",
    "PERSISTING",
    "REHABILITATED",
    "baseline_codes",
    "enclosed_pixels",
    "far_pixels",
    "masked_pixels",
    "recode_pixels",
    "track_pixels",
]

#: status codes (see :mod:`geomon.footprint.change`)
NONE, NEW, PERSISTING, REHABILITATED = 0, 1, 2, 3
_BIG = np.iinfo(np.int32).max


@numba.njit(nogil=True, cache=True, inline="always")
def _runs(hit, tail_hit, clear, cc, has_cc, persistence, tail_min_clear, ok):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """One pixel of ``confirmed_runs``: ``ok[t]`` when ``hit[t]`` starts or continues a run of
    ``persistence`` clear hits, or when ``t`` is in the run of clear ``hit`` or ``tail_hit``
    periods that reaches the end, every one of them ``tail_hit``, and the tail rule accepts it."""
    run = 0
    to_end = True
    min_cc = _BIG
    tail_all = True
    for t in range(hit.shape[0] - 1, -1, -1):
        c = clear[t]
        x = hit[t] and c
        if x:
            run += 1
        elif c:
            run = 0
        y = (hit[t] or tail_hit[t]) and c  # in the run that reaches the end, while to_end
        if y:
            tail_all = tail_all and tail_hit[t]
            if has_cc:
                min_cc = min(min_cc, cc[t])
        elif c:
            to_end = False
        tail_ok = has_cc and to_end and tail_all and min_cc >= tail_min_clear and tail_min_clear > 0
        ok[t] = (x and run >= persistence) or (y and tail_ok)


@numba.njit(nogil=True, cache=True, inline="always")
def _is_hit(code, base, bare, conversions):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Whether class ``code`` counts as disturbance on land whose baseline class is ``base``:
    ``bare`` (bare_disturbed), or one of ``conversions`` replacing a different class."""
    hit = code == bare
    for k in range(conversions.shape[0]):
        hit = hit or (code == conversions[k] and base != conversions[k])
    return hit


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
    undisturbed_min_probability,
    use_undisturbed_probability,
    conversions,
    tail_conversions,
    persistence,
    tail_min_clear,
    mine_ground,
    use_mine_ground,
    status,
    first_seen,
    baseline_index,
    baseline_class,
):
    """Fill ``status`` (t, y, x) and the per-pixel ``first_seen``, ``baseline_index`` and
    ``baseline_class`` from class ``codes`` (t, y, x); ``clear_count`` (integers, read as int32) and
    ``probability`` are read only when ``has_cc`` / ``use_probability`` say so (and, for the
    undisturbed views that make an onset new, ``use_undisturbed_probability``). ``kinds`` holds
    the codes of cloud_nodata, vegetation and bare_disturbed; ``conversions`` the codes that
    count as disturbance when they replace a different baseline class; ``tail_conversions``
    the codes the tail rule may confirm (it always may ``bare_disturbed``; a code not in ``conversions`` is never a hit).
    Where ``use_mine_ground`` and ``mine_ground`` (y, x) hold, the pixel is disturbed from its
    baseline view whatever its class there (mine ground the baseline shows as water)."""
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
            mine = use_mine_ground and mine_ground[y, x] and base_idx >= 0
            any_hit = mine
            for t in range(n):
                any_hit = any_hit or _is_hit(codes[t, y, x], base, bare, conversions)
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
                h = _is_hit(code, base, bare, conversions)
                hit[t] = h
                early = code == bare
                for k in range(tail_conversions.shape[0]):
                    early = early or code == tail_conversions[k]
                veg[t] = code == vegetation
                sure[t] = h and (not use_probability or probability[t, y, x] >= min_probability)
                # the tail rule's own threshold where it has one (below min_probability it
                # confirms a run at the end that the persistence rule would not count)
                tail[t] = early and (
                    (h and probability[t, y, x] >= tail_min_probability)
                    if use_tail_probability
                    else sure[t]
                )
                if has_cc:
                    cc[t] = clear_count[t, y, x]
            _runs(sure, tail, clear, cc, has_cc, persistence, tail_min_clear, bare_ok)
            _runs(veg, veg, clear, cc, has_cc, persistence, tail_min_clear, veg_ok)
            disturbed = False
            rehab = False
            seen_undisturbed = False
            first = -1
            for t in range(n):  # base_idx: the first clear period, found above
                onset = (bare_ok[t] or (mine and t == base_idx)) and not disturbed
                is_new = onset and first < 0 and seen_undisturbed
                if onset and first < 0:
                    first = t
                disturbed = disturbed or onset
                rehab = rehab and not onset
                healed = veg_ok[t] and disturbed
                rehab = rehab or healed
                disturbed = disturbed and not healed
                seen_undisturbed = seen_undisturbed or (
                    clear[t]
                    and not hit[t]
                    and not disturbed
                    and not rehab
                    and (
                        not use_undisturbed_probability
                        or probability[t, y, x] >= undisturbed_min_probability
                    )
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
def label_regions(vals, group, pixels, width, labels):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Label the 4-connected regions of equal ``vals`` and ``group`` among the masked pixels of
    a raster ``width`` wide: ``pixels`` their flat indices (ascending), ``vals``/``group`` their
    values in that order; ``labels`` (int64, one per masked pixel) numbered from 0 in the raster
    order of each region's first pixel (the numbering of scipy's ``connected_components`` over
    the masked pixels in raster order). Returns the number of regions.

    Union-find over the masked pixels only, with no raster-sized scratch (footprint masks cover
    a few percent of the grid; fresh raster-sized arrays cost more in page faults than the
    work): the pixel above is found by a pointer that walks ``pixels`` one row behind."""
    n_px = pixels.shape[0]
    parent = np.arange(n_px)
    up = 0
    for c in range(n_px):
        i = pixels[c]
        v = vals[c]
        g = group[c]
        left = c > 0 and pixels[c - 1] == i - 1 and i % width > 0
        if left and vals[c - 1] == v and group[c - 1] == g:
            _union(parent, c, c - 1)
        while up < c and pixels[up] < i - width:
            up += 1
        if up < c and pixels[up] == i - width and vals[up] == v and group[up] == g:
            _union(parent, c, up)
    n = 0
    for c in range(n_px):
        r = _find(parent, c)
        if r == c:
            labels[c] = n
            n += 1
        else:
            labels[c] = labels[r]
    return n


@numba.njit(nogil=True, cache=True, inline="always")
def _prefer(a, b, sizes, min_pixels, best):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Offer neighbour ``b`` to region ``a``: a region below the unit takes its largest
    neighbour (ties: the larger label) that is larger than it (ties: a larger label)."""
    sa, sb = sizes[a], sizes[b]
    if sa < min_pixels and (sb > sa or (sb == sa and b > a)):
        cur = best[a]
        if cur < 0 or sb > sizes[cur] or (sb == sizes[cur] and b > cur):
            best[a] = b


@numba.njit(nogil=True, cache=True)
def sieve_pass(vals, group, pixels, width, labels, min_pixels):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """One pass of :func:`geomon.footprint.polygons._merge_small` in place on the masked pixels
    (as :func:`label_regions` takes them; ``labels`` int64 scratch, one per pixel): the same
    merges, each region below ``min_pixels`` taking the value of its largest 4-neighbouring
    region of the same group when that one is at least as large (ties to the larger label,
    regions numbered as scipy's components). Returns whether anything changed."""
    n_px = pixels.shape[0]
    n = label_regions(vals, group, pixels, width, labels)
    sizes = np.zeros(n, np.int64)
    value = np.empty(n, vals.dtype)
    for c in range(n_px):
        k = labels[c]
        sizes[k] += 1
        value[k] = vals[c]
    best = np.full(n, -1, np.int64)
    up = 0
    for c in range(n_px):  # each pixel with its left and upper neighbours: every edge once
        i = pixels[c]
        a = labels[c]
        g = group[c]
        if c > 0 and pixels[c - 1] == i - 1 and i % width > 0 and group[c - 1] == g:
            b = labels[c - 1]
            if a != b:
                _prefer(a, b, sizes, min_pixels, best)
                _prefer(b, a, sizes, min_pixels, best)
        while up < c and pixels[up] < i - width:
            up += 1
        if up < c and pixels[up] == i - width and group[up] == g:
            b = labels[up]
            if a != b:
                _prefer(a, b, sizes, min_pixels, best)
                _prefer(b, a, sizes, min_pixels, best)
    changed = False
    for k in range(n):
        if best[k] >= 0:
            changed = True
            break
    if not changed:
        return False
    for c in range(n_px):
        k = labels[c]
        if best[k] >= 0:
            vals[c] = value[best[k]]
    return True


@numba.njit(nogil=True, cache=True)
def masked_pixels(status, inside):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Flat indices (ascending, int64) of the pixels where ``status`` (y, x) is not 0 and
    ``inside`` (y, x) holds: ``np.flatnonzero((status > 0) & inside)`` without its two
    raster-sized boolean temporaries."""
    height, width = status.shape
    n = 0
    for y in range(height):
        for x in range(width):
            if status[y, x] > 0 and inside[y, x]:
                n += 1
    out = np.empty(n, np.int64)
    k = 0
    for y in range(height):
        for x in range(width):
            if status[y, x] > 0 and inside[y, x]:
                out[k] = y * width + x
                k += 1
    return out


@numba.njit(nogil=True, cache=True)
def awaiting_pixels(codes, status, base_cls, prob, p_min, kinds, conversions, inside):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Flat indices (ascending, int64) of the pixels inside ``inside`` (y, x) whose status at the
    last period is NONE, whose latest clear view (``codes`` (t, y, x) not ``kinds[0]``) is
    ``kinds[2]`` (bare_disturbed) or one of ``conversions`` on a different baseline class
    ``base_cls``, at probability ``prob`` (t, y, x) of at least ``p_min[0]`` (when above 0), and
    that an earlier clear view saw undisturbed (at ``p_min[1]`` or more, when above 0): ground
    that becomes ``new`` if the next period confirms it. One pass, the indices in a buffer grown
    by doubling (no raster-sized temporaries; most pixels end at the status test: 0.04 s for a
    4096 px period)."""
    cloud, bare = kinds[0], kinds[2]
    n, height, width = codes.shape
    use_last, use_early = p_min[0] > 0, p_min[1] > 0
    found = np.empty(1024, np.int64)
    k = 0
    for y in range(height):
        for x in range(width):
            if status[n - 1, y, x] != NONE or not inside[y, x]:
                continue
            last = n - 1
            while last >= 0 and codes[last, y, x] == cloud:
                last -= 1
            if last <= 0:
                continue
            base = base_cls[y, x]
            code = codes[last, y, x]
            hit = _is_hit(code, base, bare, conversions)
            if not hit or (use_last and not prob[last, y, x] >= p_min[0]):
                continue
            seen = False
            for t in range(last):
                code = codes[t, y, x]
                if code == cloud:
                    continue
                if not _is_hit(code, base, bare, conversions) and (
                    not use_early or prob[t, y, x] >= p_min[1]
                ):
                    seen = True
                    break
            if seen:
                if k == found.shape[0]:
                    grown = np.empty(2 * k, np.int64)
                    grown[:k] = found
                    found = grown
                found[k] = y * width + x
                k += 1
    return found[:k].copy()


@numba.njit(nogil=True, cache=True)
def baseline_codes(codes, cloud, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Fill ``out`` (y, x) with each pixel's class ``codes`` (t, y, x) at its first clear period
    (``cloud`` where none is clear)."""
    n, height, width = codes.shape
    for y in range(height):
        for x in range(width):
            b = cloud
            for t in range(n):
                if codes[t, y, x] != cloud:
                    b = codes[t, y, x]
                    break
            out[y, x] = b


@numba.njit(nogil=True, cache=True)
def enclosed_pixels(base, code, edge_code, cloud, share):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Flat indices (ascending, int64) of the pixels of the 4-connected regions of ``code`` in
    ``base`` (y, x) at least ``share`` of whose edge is ``edge_code``: the edge is every
    4-neighbour pair of a region pixel and a pixel of another class that is not ``cloud``.
    Regions are labelled by :func:`label_regions` over the ``code`` pixels only, and nothing is
    labelled when no ``code`` pixel touches ``edge_code``."""
    height, width = base.shape
    n = 0
    touch = False
    for y in range(height):
        for x in range(width):
            if base[y, x] == code:
                n += 1
                if not touch:
                    touch = (
                        (y > 0 and base[y - 1, x] == edge_code)
                        or (y + 1 < height and base[y + 1, x] == edge_code)
                        or (x > 0 and base[y, x - 1] == edge_code)
                        or (x + 1 < width and base[y, x + 1] == edge_code)
                    )
    if not touch:
        return np.empty(0, np.int64)
    pixels = np.empty(n, np.int64)
    k = 0
    for y in range(height):
        for x in range(width):
            if base[y, x] == code:
                pixels[k] = y * width + x
                k += 1
    same = np.zeros(n, np.uint8)
    labels = np.empty(n, np.int64)
    regions = label_regions(same, same, pixels, width, labels)
    edge = np.zeros(regions, np.int64)
    hits = np.zeros(regions, np.int64)
    for c in range(n):
        i = pixels[c]
        y, x = i // width, i % width
        lab = labels[c]
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            yy, xx = y + dy, x + dx
            if 0 <= yy < height and 0 <= xx < width:
                v = base[yy, xx]
                if v != code and v != cloud:
                    edge[lab] += 1
                    if v == edge_code:
                        hits[lab] += 1
    keep = np.zeros(regions, np.bool_)
    m = 0
    for r in range(regions):
        keep[r] = edge[r] > 0 and hits[r] >= share * edge[r]
    for c in range(n):
        if keep[labels[c]]:
            m += 1
    out = np.empty(m, np.int64)
    k = 0
    for c in range(n):
        if keep[labels[c]]:
            out[k] = pixels[c]
            k += 1
    return out


@numba.njit(nogil=True, cache=True)
def far_pixels(codes, near_code, far_code, reach):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """bool ``(y, x)``: the pixels some period of ``codes`` ``(t, y, x)`` shows as ``far_code``
    that lie farther than ``reach`` pixels along rows and columns (outside the ``2 * reach + 1``
    square) from every pixel some period shows as ``near_code``; and their count. Two
    running-count passes (along each row, then down the columns) over the pixels that are
    ``near_code`` in some period: linear in the grid, whatever the reach."""
    n_t, h, w = codes.shape
    ever = np.zeros(w, np.int32)
    across = np.empty((h, w), np.int32)  # near_code within reach along the row
    has_far = np.zeros((h, w), np.bool_)
    for y in range(h):
        ever[:] = 0
        for t in range(n_t):
            row = codes[t, y]
            far_row = has_far[y]
            for x in range(w):
                c = row[x]
                ever[x] |= c == near_code
                far_row[x] |= c == far_code
        count = 0
        for x in range(min(reach, w - 1) + 1):
            count += ever[x]
        for x in range(w):
            across[y, x] = count
            if x + reach + 1 < w:
                count += ever[x + reach + 1]
            if x - reach >= 0:
                count -= ever[x - reach]
    count_row = np.zeros(w, np.int32)
    for y in range(min(reach, h - 1) + 1):
        count_row += across[y]
    out = np.zeros((h, w), np.bool_)
    n_far = 0
    for y in range(h):
        far_row, out_row = has_far[y], out[y]
        for x in range(w):
            f = far_row[x] and count_row[x] == 0
            out_row[x] = f
            n_far += f
        if y + reach + 1 < h:
            count_row += across[y + reach + 1]
        if y - reach >= 0:
            count_row -= across[y - reach]
    return out, n_far


@numba.njit(nogil=True, cache=True)
def recode_pixels(codes, where, code, new_code):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """A copy of ``codes`` ``(t, y, x)`` with ``code`` replaced by ``new_code`` where ``where``
    ``(y, x)`` holds."""
    out = codes.copy()
    n_t, h, w = codes.shape
    for t in range(n_t):
        for y in range(h):
            src, dst, mask = codes[t, y], out[t, y], where[y]
            for x in range(w):
                if mask[x] and src[x] == code:
                    dst[x] = new_code
    return out
