"""The normalised difference of two bands, shared by the composites (``ndvi_mid``) and the
classifier's index features (:mod:`geomon.classify.features`), so both compute one formula."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["normalized_difference"]


def normalized_difference(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """``(a - b) / (a + b)`` as float32; 0 where the sum is 0, NaN where an input is NaN."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / total
    return np.where(total == 0, np.float32(0), out).astype(np.float32, copy=False)
