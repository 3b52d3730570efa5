"""Blockwise classification of composites: one numpy task per dask chunk, no pixel leaves its chunk."""

from __future__ import annotations

import numpy as np
import xarray as xr

from geomon.classify.features import compute_features
from geomon.classify.model import PixelModel
from geomon.errors import MissingBandsError

__all__ = ["classify_dataset"]

_PASS_THROUGH = ("clear_count", "low_coverage", "clear_fraction")


def _block(*arrays: np.ndarray, model: PixelModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Classify one chunk: ``arrays`` are the model's bands then ``valid``, each ``(time, y, x)``."""
    *bands, valid = arrays
    names = model.features.bands
    features = compute_features(dict(zip(names, bands, strict=True)), model.features)
    pred = model.predict(features, valid)
    return pred.code, pred.probability, pred.cover


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
    bands = [composite[b] for b in model.features.bands]
    valid = composite["valid"] if "valid" in composite else bands[0].notnull()
    code, prob, cover = xr.apply_ufunc(
        _block,
        *bands,
        valid,
        kwargs={"model": model},
        output_core_dims=[[], [], []],
        dask="parallelized",
        output_dtypes=[np.uint8, np.float32, np.uint8],
    )
    out = xr.Dataset({"class": code, "probability": prob, "cover": cover})
    for name in _PASS_THROUGH:
        if name in composite:
            out[name] = composite[name]
    out.attrs = {
        **composite.attrs,
        "model_id": model.model_id,
        "model_digest": model.digest,
        "classes": "0 cloud_nodata, 1 vegetation, 2 bare_disturbed, 3 water, 4 built_other",
    }
    return out
