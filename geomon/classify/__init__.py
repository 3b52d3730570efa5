"""Classify: per-pixel contract classes with a probability, from composites (docs/contracts.md)."""

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
    "FeatureSet",
    "PixelModel",
    "Prediction",
    "feature_set_for",
    "load_model",
    "save_model",
]
