"""Rasters of footprint status to polygons: minimum mapping unit, AOI clip, equal-area hectares."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio.features
import rasterio.transform
import shapely
from affine import Affine
from shapely.geometry.base import BaseGeometry

__all__ = [
    "EQUAL_AREA_CRS",
    "aoi_mask",
    "area_ha",
    "dissolve_by_patch",
    "drop_small_patches",
    "generalise",
    "kept_patches",
    "sieve_pixels",
    "vectorize",
]

#: the equal-area CRS areas are measured in (WGS 84 / NSIDC EASE-Grid 2.0 Global); within
#: 0.001 % of the geodesic area, where UTM planar is -0.08 % and spherical Mollweide -0.12 %
EQUAL_AREA_CRS = "EPSG:6933"
#: patches and polygons are 4-connected (rasterio.features.shapes with connectivity 4 makes
#: valid polygons; a pixel touching a patch only at a corner is a patch of its own)
_MAX_PASSES = 64


def aoi_mask(aoi: BaseGeometry, shape_: tuple[int, int], transform: Affine) -> np.ndarray:
    """bool ``(y, x)``: pixels touching ``aoi`` (in the raster's CRS); the exact edge is clipped later."""
    return rasterio.features.geometry_mask(
        [aoi], out_shape=shape_, transform=transform, invert=True, all_touched=True
    )


def drop_small_patches(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """``mask`` without its 4-connected patches smaller than ``min_pixels``."""
    if min_pixels <= 1 or not mask.any():
        return mask
    pixels, _ = kept_patches(np.flatnonzero(mask), mask.shape[-1], min_pixels)
    out = np.zeros(mask.shape, bool)
    out.reshape(-1)[pixels] = True
    return out


def kept_patches(pixels: np.ndarray, width: int, min_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`drop_small_patches` on a mask given by its pixels' flat indices (ascending) in a
    raster ``width`` wide: the kept pixels and each one's patch label (labels of the whole
    mask's patches, so kept patches keep theirs; :func:`dissolve_by_patch` takes them instead of
    labelling the kept mask again)."""
    labels, n = _label_pixels(pixels, width)
    if min_pixels <= 1 or not pixels.size:
        return pixels, labels
    keep = np.bincount(labels, minlength=n)[labels] >= min_pixels
    return pixels[keep], labels[keep]


def sieve_pixels(
    values: np.ndarray, group: np.ndarray, pixels: np.ndarray, width: int, min_pixels: int
) -> bool:
    """:func:`generalise` in place on the masked pixels only: ``values`` and ``group`` one per
    pixel of ``pixels`` (flat indices, ascending, in a raster ``width`` wide). The same merges
    as :func:`generalise` on the raster (its window only shifts the flat indices, never their
    order or adjacency). Returns whether any value changed."""
    from geomon.footprint._kernels import sieve_pass

    if min_pixels <= 1 or not pixels.size:
        return False
    labels = np.empty(pixels.size, np.int64)
    changed = False
    for _ in range(_MAX_PASSES):
        if not sieve_pass(values, group, pixels, width, labels, min_pixels):
            break
        changed = True
    return changed


def _patches(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The 4-connected patches of ``mask`` over its pixels only: their flat indices, each
    one's patch label (0.. in raster order of the patch's first pixel) and the patch count
    (the components of ``ndimage.label``, without its raster-sized label image)."""
    pixels = np.flatnonzero(mask)
    labels, n = _label_pixels(pixels, mask.shape[-1])
    return pixels, labels, n


def _label_pixels(pixels: np.ndarray, width: int) -> tuple[np.ndarray, int]:
    """The 4-connected patch label of each of ``pixels`` (flat indices, ascending, in a raster
    ``width`` wide) and the patch count."""
    from geomon.footprint._kernels import label_regions

    labels = np.empty(pixels.size, np.int64)
    same = np.zeros(pixels.size, np.int8)
    return labels, int(label_regions(same, same, pixels, width, labels))


def generalise(
    values: np.ndarray,
    mask: np.ndarray,
    min_pixels: int,
    within: np.ndarray | None = None,
    *,
    copy: bool = True,
) -> np.ndarray:
    """``values`` (integers, at least int32 in the result) under ``mask`` with every 4-connected region of one value smaller than
    ``min_pixels`` merged into its largest 4-neighbouring region, repeatedly, so that each
    polygon respects the minimum mapping unit (a sieve run to convergence: on classified demo
    scenes GDAL's one-pass sieve left mosaics of one-pixel regions). With ``within``, regions merge only into neighbours of the
    same ``within`` value (e.g. first-seen fragments inside one status, never across
    statuses). Pixels outside ``mask`` are left as they are; a region with no neighbour to merge
    into stays. ``copy=False``: work in ``values`` itself when it is already at least int32 (a
    caller's own scratch; a raster-sized copy was a tenth of tracing on a 4096 px grid)."""
    out = values.astype(np.result_type(values.dtype, np.int32), copy=copy)
    if min_pixels <= 1 or not mask.any():
        return out
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    win = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    vals, m = out[win], mask[win]
    group = np.zeros(vals.shape, np.int8) if within is None else within[win]
    sieve(vals, m, group, min_pixels)
    out[win] = vals
    return out


def sieve(vals: np.ndarray, m: np.ndarray, group: np.ndarray, min_pixels: int) -> None:
    """Sieve passes in place until nothing changes (at most ``_MAX_PASSES``), by the compiled
    pass (:func:`geomon.footprint._kernels.sieve_pass`: the merges of :func:`_merge_small`,
    the numpy reference, over the masked pixels only, without raster-sized temporaries)."""
    pixels = np.flatnonzero(m)
    masked = vals[m]
    if sieve_pixels(masked, group[m], pixels, vals.shape[-1], min_pixels):
        vals[m] = masked


def sieve_reference(vals: np.ndarray, m: np.ndarray, group: np.ndarray, min_pixels: int) -> None:
    """:func:`sieve` by numpy passes (:func:`_merge_small`), the reference it is tested against."""
    for _ in range(_MAX_PASSES):
        if not _merge_small(vals, m, group, min_pixels):
            break


def _merge_small(vals: np.ndarray, m: np.ndarray, group: np.ndarray, min_pixels: int) -> bool:
    """One sieve pass in place: each region below ``min_pixels`` takes the value of its largest
    neighbour in the same group, when that neighbour is at least as large (so two small regions
    never swap values). Returns whether anything changed."""
    labels = _regions(vals, m, group)
    sizes = np.bincount(labels[m], minlength=int(labels.max()) + 1)
    a, b = _touching(labels, m, group)
    keep = (sizes[a] < min_pixels) & ((sizes[b] > sizes[a]) | ((sizes[b] == sizes[a]) & (b > a)))
    a, b = a[keep], b[keep]
    if a.size == 0:
        return False
    order = np.lexsort((b, sizes[b], a))  # per region a, its largest neighbour comes last
    a, b = a[order], b[order]
    last = np.r_[a[1:] != a[:-1], True]
    target = np.arange(sizes.size)
    target[a[last]] = b[last]
    value = np.zeros(sizes.size, vals.dtype)
    value[labels[m]] = vals[m]
    vals[m] = value[target[labels[m]]]
    return True


def _regions(vals: np.ndarray, m: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Labels of the 4-connected regions of equal value and group under ``m`` (0 outside it,
    where it means nothing), numbered in raster order of each region's first pixel: one
    compiled union-find pass (:func:`_regions_reference`, scipy's graph components over the
    masked pixels, gives the same labels at ~10x the time)."""
    from geomon.footprint._kernels import label_regions

    labels = np.zeros(vals.shape, np.int64)
    masked = np.empty(int(m.sum()), np.int64)
    label_regions(vals[m], group[m], np.flatnonzero(m), vals.shape[-1], masked)
    labels[m] = masked
    return labels


def _regions_reference(vals: np.ndarray, m: np.ndarray, group: np.ndarray) -> np.ndarray:
    """:func:`_regions` with scipy's connected components (the reference the kernel is tested
    against)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    h, w = vals.shape
    # graph nodes are the masked pixels only (numbered in raster order), int32 indices
    n = int(m.sum())
    index = np.full((h, w), -1, np.int32)
    index[m] = np.arange(n, dtype=np.int32)
    same_x = m[:, :-1] & m[:, 1:] & (vals[:, :-1] == vals[:, 1:]) & (group[:, :-1] == group[:, 1:])
    same_y = m[:-1] & m[1:] & (vals[:-1] == vals[1:]) & (group[:-1] == group[1:])
    src = np.concatenate([index[:, :-1][same_x], index[:-1][same_y]])
    dst = np.concatenate([index[:, 1:][same_x], index[1:][same_y]])
    graph = coo_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(n, n))
    _, node_labels = connected_components(graph, directed=False)
    # pixels outside the mask are never read (callers take labels[m] and masked edges only)
    labels = np.zeros((h, w), np.int64)
    labels[m] = node_labels
    return labels


def _touching(
    labels: np.ndarray, m: np.ndarray, group: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (a, b), both directions, of different regions that share an edge within a group."""
    pairs = []
    for la, lb, ma, mb, ga, gb in (
        (labels[:, :-1], labels[:, 1:], m[:, :-1], m[:, 1:], group[:, :-1], group[:, 1:]),
        (labels[:-1], labels[1:], m[:-1], m[1:], group[:-1], group[1:]),
    ):
        edge = ma & mb & (la != lb) & (ga == gb)
        pairs.append((la[edge], lb[edge]))
        pairs.append((lb[edge], la[edge]))
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def dissolve_by_patch(
    geoms: list[BaseGeometry],
    values: list[int],
    mask: np.ndarray,
    transform: Affine,
    patches: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[list[BaseGeometry], list[int]]:
    """One (Multi)Polygon per connected patch of ``mask`` and value: pieces of one value that
    touch only at a corner (4-connected polygons) become parts of one feature, not features of
    their own. ``patches``: the mask's pixels (flat indices, ascending) and a patch label per
    pixel, when the caller has them (:func:`kept_patches`); labels only group, any numbering
    does."""
    if not geoms:
        return geoms, values
    pixels, patches_ = patches if patches is not None else _patches(mask)[:2]
    points = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    rows, cols = rasterio.transform.rowcol(transform, shapely.get_x(points), shapely.get_y(points))
    h, w = mask.shape
    flat = np.clip(np.asarray(rows), 0, h - 1) * w + np.clip(np.asarray(cols), 0, w - 1)
    pos = np.minimum(np.searchsorted(pixels, flat), max(pixels.size - 1, 0))
    found = pixels[pos] == flat if pixels.size else np.zeros(flat.size, bool)
    pid = np.where(found, patches_[pos] if pixels.size else -1, -1)  # -1: outside the mask
    groups: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip(pid.tolist(), values, strict=True)):
        groups.setdefault(key, []).append(i)
    out_geoms, out_values = [], []
    for (_, value), members in sorted(groups.items(), key=lambda kv: kv[1][0]):
        parts = [p for i in members for p in shapely.get_parts(geoms[i])]
        out_geoms.append(parts[0] if len(parts) == 1 else shapely.multipolygons(parts))
        out_values.append(value)
    return out_geoms, out_values


def _shapes(keys: np.ndarray, mask: np.ndarray, transform: Affine) -> tuple[np.ndarray, list[int]]:
    """Polygons of equal ``keys`` under ``mask`` (GDAL polygonize, 4-connected) and their values.

    The GeoJSON-like rings rasterio returns become shapely polygons in one vectorised call
    (``from_ragged_array``): building them one by one with ``shapely.geometry.shape`` spent
    three quarters of the vectorising time in Python, coordinate by coordinate. ``keys`` is
    passed as it is when of a type GDAL polygonises (uint8, uint16, int16 or int32; the
    footprint's are): the raster-sized copy ``astype`` made was 0.18 s of a 1.1 s trace on the
    4096 px realistic reference. Other types are cast to int32."""
    rings: list[np.ndarray] = []
    ring_counts: list[int] = []
    values: list[int] = []
    if keys.dtype not in (np.uint8, np.uint16, np.int16, np.int32):
        keys = keys.astype(np.int32)
    for geom, value in rasterio.features.shapes(
        keys, mask=mask, transform=transform, connectivity=4
    ):
        coords = geom["coordinates"]
        rings.extend(np.asarray(r, dtype=np.float64) for r in coords)
        ring_counts.append(len(coords))
        values.append(int(value))
    if not values:
        return np.empty(0, dtype=object), values
    sizes = np.fromiter((len(r) for r in rings), np.int64, len(rings))
    ring_offsets = np.concatenate([[0], np.cumsum(sizes)])
    poly_offsets = np.concatenate([[0], np.cumsum(ring_counts)])
    geoms = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON, np.concatenate(rings), (ring_offsets, poly_offsets)
    )
    return geoms, values


def vectorize(
    keys: np.ndarray, mask: np.ndarray, transform: Affine, aoi: BaseGeometry | None
) -> tuple[list[BaseGeometry], list[int]]:
    """Polygons of equal ``keys`` under ``mask`` (4-connected, so always valid), clipped to ``aoi``."""
    arr, values = _shapes(keys, mask, transform)
    if aoi is None or not len(values):
        return list(arr), values
    clipped = arr.copy()
    cross = ~shapely.covered_by(arr, aoi)  # only polygons crossing the AOI's edge are cut
    clipped[cross] = shapely.intersection(arr[cross], aoi)
    polygonal = [_polygonal(g) for g in clipped]
    keep = [i for i, g in enumerate(polygonal) if g is not None and not g.is_empty]
    geoms = [g for g in (polygonal[i] for i in keep) if g is not None]
    return geoms, [values[i] for i in keep]


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """Keep only the polygon parts of a clip result (drop slivers reduced to lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(parts) if parts else None
    return None


def area_ha(geoms: gpd.GeoSeries) -> np.ndarray:
    """Area of each geometry in hectares, measured in :data:`EQUAL_AREA_CRS`."""
    if geoms.crs is None:
        raise ValueError("geometries need a CRS to measure area")
    return np.asarray(geoms.to_crs(EQUAL_AREA_CRS).area, dtype=np.float64) / 10_000.0
