"""Classify: per-pixel contract classes with a probability, from composites (docs/contracts.md).

:func:`classify` is the stage function: composites in, classes out, blockwise over dask chunks
with a model chosen from the bands available (:func:`select_model`).
"""

from __future__ import annotations

import xarray as xr

from geomon.classify.apply import classify_dataset
from geomon.classify.bundled import (
    BundledModel,
    bundled_model,
    bundled_models,
    models_dir,
    select_model,
)
from geomon.classify.classes import CLASS_CODES, CLASS_NAMES, COVER_NAMES
from geomon.classify.features import FULL_FEATURES, REDUCED_FEATURES, FeatureSet, feature_set_for
from geomon.classify.model import PixelModel, Prediction
from geomon.classify.model_io import load_model, save_model

__all__ = [
    "CLASS_CODES",
    "CLASS_NAMES",
    "COVER_NAMES",
    "FULL_FEATURES",
    "REDUCED_FEATURES",
    "BundledModel",
    "FeatureSet",
    "PixelModel",
    "Prediction",
    "bundled_model",
    "bundled_models",
    "classify",
    "feature_set_for",
    "load_model",
    "models_dir",
    "save_model",
    "select_model",
]


def classify(composite: xr.Dataset, model: PixelModel | None = None) -> xr.Dataset:
    """Classes of every pixel and period of ``composite``; ``model`` defaults to the shipped model
    for the composite's bands (full Sentinel-2 set if present, else the reduced set)."""
    chosen = model or select_model(str(name) for name in composite.data_vars)
    return classify_dataset(composite, chosen)
