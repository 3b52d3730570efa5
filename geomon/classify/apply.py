"""Blockwise classification of composites: one numpy task per dask chunk.

A per-pixel model reads only its chunk. A model with spatial context reads each chunk with a halo
of its neighbours (``FeatureSet.halo`` pixels, none beyond the image edge) and classifies the
chunk's own pixels, so chunked and whole-image classification give the same result (context sums
are exact integers).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import threading
from typing import Any

import numpy as np
import xarray as xr

from geomon.classify.classes import BARE_DISTURBED, CLOUD_NODATA, RULES_ATTR, VIEW_ATTR
from geomon.classify.features import compute_features
from geomon.classify.model import PixelModel
from geomon.errors import MissingBandsError

__all__ = ["classify_dataset"]

_PASS_THROUGH = ("clear_count", "low_coverage", "clear_fraction")
#: prefix of the composite's own ``class``, ``probability`` and ``cover`` where a date view
#: amended them (the class maps take the view; the change rules read these:
#: :func:`geomon.footprint.rule_inputs`)
COMPOSITE_PREFIX = "composite_"


_SCRATCH = threading.local()


def _feature_scratch(shape: tuple[int, ...]) -> np.ndarray:
    """A float32 array of ``shape`` for one block's features, taken from a buffer this thread
    keeps from block to block (grown when a block needs more).

    A block's feature stack (20 features of a 1044 px block: 87 MB) is beyond malloc's mmap
    threshold, so a new one came as fresh pages from the kernel each time: first touching them
    cost 8 ns per pixel (14.1 ns to allocate and fill vs 5.8 to refill, measured), a tenth of
    the feature computation. The buffer stays with the thread (a dask worker) until it ends."""
    return _thread_buffer("features", shape, np.float32)


def _thread_buffer(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` from the buffer ``name`` this thread keeps."""
    size = math.prod(shape)
    buf: np.ndarray | None = getattr(_SCRATCH, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype)
        setattr(_SCRATCH, name, buf)
    return buf[:size].reshape(shape)


def _block(*arrays: np.ndarray, model: PixelModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classify one chunk: ``arrays`` are the model's inputs (bands, then temporal statistics)
    then ``valid``, each ``(time, y, x)``. The features go into this thread's scratch
    (:func:`_feature_scratch`): only the prediction leaves the block."""
    *bands, valid = arrays
    names = model.features.inputs
    out = _feature_scratch((len(model.features), *np.shape(bands[0])))
    features = compute_features(
        dict(zip(names, bands, strict=True)), model.features, valid, out=out
    )
    pred = model.predict(features, valid)
    return pred.code, pred.probability, pred.cover


def _halo_block(
    pieces: list[list[list[np.ndarray]]], centre: tuple[int, int], *, model: PixelModel
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classify one chunk read with its halo; return the code, probability and cover of the
    chunk itself.

    ``pieces``: per input (the model's inputs, then ``valid``), the chunk and the halo-wide
    edges of its neighbours (rows of pieces, top to bottom, each left to right; none beyond the
    image edge), the chunk at row and column ``centre`` of them. They are copied straight into
    this thread's scratch (dask's overlap concatenated a padded copy of each input per chunk, in
    fresh memory). Only the chunk's own pixels go through the model (the halo's are read for
    their context only): a 1024 px chunk with a 50 px halo ran the model on 20 % more pixels.

    The features are made row by row as the model reads them
    (:func:`geomon.classify._fused.classify_fused`: no feature stack); where that path declines
    (a source not finite on a valid pixel), they are computed into a feature stack of the block
    and predicted (the same results where both run)."""
    *inputs, valid_pieces = pieces
    heights = [row[0].shape[-2] for row in valid_pieces]
    widths = [p.shape[-1] for p in valid_pieces[0]]
    lead = valid_pieces[0][0].shape[:-2]
    shape = (*lead, sum(heights), sum(widths))
    fset = model.features
    y0, x0 = sum(heights[: centre[0]]), sum(widths[: centre[1]])
    ys, xs = slice(y0, y0 + heights[centre[0]]), slice(x0, x0 + widths[centre[1]])
    valid = _paste(valid_pieces, _valid_scratch(shape))
    plan = model.fused_plan
    if plan is not None:
        from geomon.classify._fused import classify_fused

        planes = (-1, *shape[-2:])
        stack = _thread_buffer("inputs", (len(fset.inputs), *shape), np.float32)
        for parts, dst in zip(inputs, stack, strict=True):
            _paste(parts, dst)
        result = classify_fused(
            model._kernel_model,
            plan,
            stack.reshape(len(stack), *planes),
            valid.reshape(planes),
            (ys, xs),
        )
        if result is not None:
            out_shape = (*lead, heights[centre[0]], widths[centre[1]])
            code, prob, cover = (a.reshape(out_shape) for a in result)
            return code, prob, cover
    # a new array, not this thread's scratch: the fused path declines rarely (a source not
    # finite on a valid pixel), and a scratch kept after one such block held 130 MB per worker
    # thread (26 features of a 1,124 px block) for as long as the thread lived
    out = np.empty((len(fset), *shape), np.float32)
    rows = {name: i for i, name in enumerate(fset.bands)}
    rows.update({n: len(fset.bands) + len(fset.indices) + k for k, n in enumerate(fset.temporal)})
    bands = {}
    for name, parts in zip(fset.inputs, inputs, strict=True):
        bands[name] = _paste(parts, out[rows[name]])
    features = compute_features(bands, fset, valid, out=out)
    pred = model.predict(features, valid, window=(ys, xs))
    return pred.code, pred.probability, pred.cover


def _paste(parts: list[list[np.ndarray]], dst: np.ndarray) -> np.ndarray:
    """Copy rows of pieces (each row's pieces left to right) into ``dst``; return ``dst``."""
    y = 0
    for row in parts:
        x = 0
        for part in row:
            h, w = part.shape[-2:]
            dst[..., y : y + h, x : x + w] = part
            x += w
        y += h
    return dst


def _valid_scratch(shape: tuple[int, ...]) -> np.ndarray:
    """A bool array of ``shape`` from a buffer this thread keeps (see :func:`_feature_scratch`)."""
    return _thread_buffer("valid", shape, np.bool_)


def _apply_per_pixel(
    bands: list[xr.DataArray], valid: xr.DataArray, model: PixelModel
) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    code, prob, cover = xr.apply_ufunc(
        _block,
        *bands,
        valid,
        kwargs={"model": model},
        output_core_dims=[[], [], []],
        dask="parallelized",
        output_dtypes=[np.uint8, np.float32, np.uint8],
    )
    return code, prob, cover


def _classify_with_halo(
    bands: list[xr.DataArray], valid: xr.DataArray, model: PixelModel
) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    import dask.array as da
    from dask.array.overlap import ensure_minimum_chunksize

    halo = model.features.halo
    template = bands[0]
    if not isinstance(template.data, da.Array):
        code, prob, cover = _block(
            *(np.asarray(b.values) for b in bands), np.asarray(valid.values), model=model
        )
    else:
        arrays = [b.data for b in bands] + [da.asarray(valid.data)]
        chunks = tuple(arrays[0].chunks)
        chunks = (*chunks[:-2], *(ensure_minimum_chunksize(halo, c) for c in chunks[-2:]))
        arrays = [a.rechunk(chunks) for a in arrays]
        code, prob, cover = _halo_graph(arrays, halo, model)
    dims, coords = template.dims, template.coords
    return (
        xr.DataArray(code, dims=dims, coords=coords),
        xr.DataArray(prob, dims=dims, coords=coords),
        xr.DataArray(cover, dims=dims, coords=coords),
    )


def _halo_graph(arrays: list[Any], halo: int, model: PixelModel) -> tuple[Any, Any, Any]:
    """The code, probability and cover dask arrays of :func:`_halo_block` per chunk of
    ``arrays`` (dask arrays of one chunking, every chunk of the last two axes at least ``halo``
    wide). The graph of ``dask.array.overlap`` with ``boundary="none"`` (each neighbour's edge
    sliced by a ``getitem`` task), without its concatenation into a padded copy of each input;
    each output takes its item of the block's result (as ``dask.array.apply_gufunc`` does for
    several outputs), without stacking the three into one float32 array and casting back."""
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    token = tokenize(*(a.name for a in arrays), halo, model.digest)
    name = "classify-halo-" + token
    block = functools.partial(_halo_block, model=model)
    numblocks = arrays[0].numblocks
    lead = (slice(None),) * (len(numblocks) - 2)
    edge = {-1: slice(-halo, None), 0: slice(None), 1: slice(0, halo)}
    dsk: dict[Any, Any] = {}
    for idx in itertools.product(*(range(n) for n in numblocks)):
        *outer, i, j = idx
        rows = [d for d in (-1, 0, 1) if 0 <= i + d < numblocks[-2]]
        cols = [d for d in (-1, 0, 1) if 0 <= j + d < numblocks[-1]]
        pieces = [
            [
                [
                    (a.name, *outer, i, j)
                    if di == dj == 0
                    else (
                        operator.getitem,
                        (a.name, *outer, i + di, j + dj),
                        (*lead, edge[di], edge[dj]),
                    )
                    for dj in cols
                ]
                for di in rows
            ]
            for a in arrays
        ]
        dsk[(name, *idx)] = (block, pieces, (rows.index(0), cols.index(0)))
    outputs = []
    for k, (label, dtype) in enumerate((("code", np.uint8), ("probability", np.float32),
                                        ("cover", np.uint8))):  # fmt: skip
        out_name = f"classify-{label}-{token}"
        layer: dict[Any, Any] = dict(dsk)
        layer.update({(out_name, *key[1:]): (operator.getitem, key, k) for key in dsk})
        graph = HighLevelGraph.from_collections(out_name, layer, dependencies=arrays)
        outputs.append(da.Array(graph, out_name, chunks=arrays[0].chunks, dtype=dtype))
    return outputs[0], outputs[1], outputs[2]


def classify_dataset(composite: xr.Dataset, model: PixelModel) -> xr.Dataset:
    """The classes Dataset (docs/contracts.md) of ``composite``, lazy when the input is.

    Output variables: ``class`` (uint8 contract code), ``probability`` (float32), ``cover``
    (uint8 index into ``COVER_NAMES``: the finer cover of the most probable label), plus the
    composite's ``clear_count``/``low_coverage`` when present (footprint persistence uses them).
    """
    missing = [b for b in model.features.bands if b not in composite]
    if missing:
        raise MissingBandsError(
            f"model {model.model_id} needs band(s) {', '.join(missing)}; "
            "load them or let geomon pick the model for the bands you have"
        )
    missing = [v for v in model.features.temporal if v not in composite]
    if missing:
        raise MissingBandsError(
            f"model {model.model_id} needs the period statistic(s) {', '.join(missing)}; "
            "classify composites made by geomon.imagery.composite or load_composite"
        )
    code, prob, cover = _classes(composite, model)
    out = xr.Dataset({"class": code, "probability": prob, "cover": cover})
    if model.date_view is not None:
        v_code, v_prob, v_cover = _classes(_date_view(composite, model), model)
        take = (
            (v_code == BARE_DISTURBED)
            & (v_prob >= np.float32(model.date_view))
            & (code != BARE_DISTURBED)
            & (code != CLOUD_NODATA)
        )
        if model.date_view_release is not None:  # and back from bare_disturbed
            take = take | (
                (code == BARE_DISTURBED)
                & (v_code != BARE_DISTURBED)
                & (v_code != CLOUD_NODATA)
                & (v_prob >= np.float32(model.date_view_release))
            )
        # the composite's own classes stay beside the map's: the change rules read them
        out = out.rename({k: COMPOSITE_PREFIX + k for k in ("class", "probability", "cover")})
        out["class"] = xr.where(take, v_code, code).astype(np.uint8)
        out["probability"] = xr.where(take, v_prob, prob).astype(np.float32)
        out["cover"] = xr.where(take, v_cover, cover).astype(np.uint8)
    for name in _PASS_THROUGH:
        if name in composite:
            out[name] = composite[name]
    out.attrs = {
        **composite.attrs,
        "model_id": model.model_id,
        "model_digest": model.digest,
        "classes": "0 cloud_nodata, 1 vegetation, 2 bare_disturbed, 3 water, 4 built_other",
    }
    if model.change_rules:  # read back by geomon.footprint.change.rules_of
        out.attrs[RULES_ATTR] = json.dumps(model.change_rules, sort_keys=True)
    if model.date_view is not None:  # read back by geomon.footprint.change.view_of
        out.attrs[VIEW_ATTR] = json.dumps(model.info["date_view"], sort_keys=True)
    return out


def _classes(composite: xr.Dataset, model: PixelModel) -> tuple[Any, Any, Any]:
    """Class code, probability and cover of every pixel of ``composite`` (lazy when it is)."""
    bands = [composite[b] for b in model.features.inputs]
    valid = composite["valid"] if "valid" in composite else bands[0].notnull()
    if model.features.halo:
        return _classify_with_halo(bands, valid, model)
    return _apply_per_pixel(bands, valid, model)


def _date_view(composite: xr.Dataset, model: PixelModel) -> xr.Dataset:
    """The period's date view as a composite of one observation (``view_<band>`` as the bands,
    its period statistics those of that one observation, as for a single scene:
    :func:`~geomon.classify.features.single_observation`), for a model that reads it."""
    from geomon.classify.features import single_observation
    from geomon.imagery._composite import VIEW_PREFIX

    missing = [VIEW_PREFIX + b for b in model.features.bands if VIEW_PREFIX + b not in composite]
    if missing:
        raise MissingBandsError(
            f"model {model.model_id} also classifies each period's date view ({missing[0]} is "
            "missing); composite with CompositeOptions(date_view=True), as geomon footprint does"
        )
    bands = {b: composite[VIEW_PREFIX + b] for b in model.features.bands}
    names = list(model.features.temporal)

    def statistics(*arrays: np.ndarray) -> Any:
        got = single_observation(
            dict(zip(model.features.bands, arrays, strict=True)), model.features
        )
        out = tuple(np.asarray(got[n], np.float32) for n in names)
        return out if len(out) > 1 else out[0]  # apply_ufunc takes one output bare

    view = xr.Dataset(bands)
    if names:
        stats = xr.apply_ufunc(
            statistics,
            *bands.values(),
            output_core_dims=[[]] * len(names),
            dask="parallelized",
            output_dtypes=[np.float32] * len(names),
        )
        stats = stats if isinstance(stats, tuple) else (stats,)
        for n, st in zip(names, stats, strict=True):
            view[n] = st
    if "valid" in composite:
        view["valid"] = composite["valid"]
    return view
