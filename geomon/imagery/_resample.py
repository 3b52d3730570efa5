"""Cheap, exact grid changes between nested grids (20 m -> 10 m and back) on dask arrays."""

from __future__ import annotations

import functools
from collections.abc import Hashable

import dask.array as da
import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords

__all__ = ["downsample_all", "grid_coords", "nest_factor", "on_geobox", "upsample"]


def nest_factor(coarse: GeoBox, fine: GeoBox) -> int | None:
    """The integer factor by which ``fine`` subdivides ``coarse`` with the same origin, else None."""
    ratio = coarse.resolution.x / fine.resolution.x
    same_origin = np.allclose(
        (coarse.affine.c, coarse.affine.f), (fine.affine.c, fine.affine.f), atol=1e-6
    )
    if not same_origin or coarse.crs != fine.crs or abs(ratio - round(ratio)) > 1e-9:
        return None
    return round(ratio)


def _repeat(block: np.ndarray, factor: int) -> np.ndarray:
    return block.repeat(factor, axis=-2).repeat(factor, axis=-1)


@functools.lru_cache(maxsize=16)
def _grid_coords(geobox: GeoBox) -> dict[Hashable, xr.DataArray]:
    return dict(xr_coords(geobox))


def grid_coords(geobox: GeoBox) -> dict[Hashable, xr.DataArray]:
    """``odc.geo.xr.xr_coords(geobox)``, computed once per grid (~10 ms each: a composite
    asks for it once per resampled band), handed out as shallow copies."""
    return {k: v.copy(deep=False) for k, v in _grid_coords(geobox).items()}


def on_geobox(data: da.Array, geobox: GeoBox, like: xr.DataArray, name: str) -> xr.DataArray:
    """Wrap a dask array whose last two axes are ``geobox``'s, keeping ``like``'s leading coords."""
    coords: dict[Hashable, xr.DataArray] = {d: like.coords[d] for d in like.dims[:-2]}
    coords.update(grid_coords(geobox))
    return xr.DataArray(data, dims=(*like.dims[:-2], "y", "x"), coords=coords, name=name)


def upsample(arr: xr.DataArray, factor: int, fine: GeoBox) -> xr.DataArray:
    """Nearest-neighbour upsampling by an integer ``factor`` onto ``fine`` (one task per block)."""
    data = arr.data
    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks=-1)
    chunks = (*data.chunks[:-2], *(tuple(c * factor for c in cs) for cs in data.chunks[-2:]))
    big = data.map_blocks(_repeat, factor, chunks=chunks, dtype=data.dtype)
    big = big[..., : fine.shape.y, : fine.shape.x]
    return on_geobox(big, fine, arr, str(arr.name))


def _all_block(block: np.ndarray, factor: int) -> np.ndarray:
    h, w = block.shape[-2] // factor * factor, block.shape[-1] // factor * factor
    trimmed = block[..., :h, :w]
    shape = (*block.shape[:-2], h // factor, factor, w // factor, factor)
    return np.asarray(trimmed.reshape(shape).all(axis=(-3, -1)))


def downsample_all(arr: xr.DataArray, factor: int, coarse: GeoBox) -> xr.DataArray:
    """Boolean downsampling: a coarse pixel is True when all its fine pixels are (for masks)."""
    data = arr.data
    pad_y, pad_x = (-arr.shape[-2]) % factor, (-arr.shape[-1]) % factor
    if pad_y or pad_x:
        data = da.pad(data, [(0, 0)] * (data.ndim - 2) + [(0, pad_y), (0, pad_x)], mode="edge")
    target = tuple(c * factor for c in (coarse.shape.y, coarse.shape.x))
    data = data[..., : target[0], : target[1]].rechunk(
        {-2: _multiple(data.chunks[-2], factor), -1: _multiple(data.chunks[-1], factor)}
    )
    chunks = (*data.chunks[:-2], *(tuple(c // factor for c in cs) for cs in data.chunks[-2:]))
    small = data.map_blocks(_all_block, factor, chunks=chunks, dtype=bool)
    return on_geobox(small, coarse, arr, str(arr.name))


def _multiple(chunks: tuple[int, ...], factor: int) -> tuple[int, ...]:
    total, size = sum(chunks), max(chunks[0] // factor * factor, factor)
    out = [size] * (total // size)
    if total % size:
        out.append(total % size)
    return tuple(out)
