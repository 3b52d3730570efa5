"""Clear-sky masks: Sentinel-2 SCL, Landsat QA_PIXEL bits, and a spectral + temporal fallback.

The fallback, for sources without a mask layer (folders of GeoTIFFs, some user catalogs):

- *bright and white* (cloud): mean visible reflectance above ``brightness`` and the spread of
  blue, green and red around their mean below ``whiteness`` times that mean (Zhu & Woodcock's
  Fmask whiteness test);
- *temporal outlier* (cloud): blue above the pixel's median blue over the whole series by more
  than ``temporal_delta`` (haze and thin cloud that are not white enough);
- *temporal outlier* (shadow): nir below 60 % of the pixel's median nir and lower by more than
  ``temporal_delta`` (shadows darken nir most).

The medians assume that a pixel is clear in more than half of the series; where it is cloudy
more often the fallback under-masks. Its agreement with true cloud masks is measured by
``geomon.imagery.mask_agreement`` (see tests and the closing note of issue 3).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from geomon.errors import MissingBandsError
from geomon.imagery._types import MaskOptions

__all__ = ["FALLBACK_BANDS", "mask_agreement", "qa_pixel_clear", "scl_clear", "spectral_clear"]

FALLBACK_BANDS = ("blue", "green", "red", "nir")
_QA_FILL, _QA_DILATED, _QA_CIRRUS, _QA_CLOUD, _QA_SHADOW, _QA_SNOW = 0, 1, 2, 3, 4, 5


def scl_clear(scl: xr.DataArray, options: MaskOptions) -> xr.DataArray:
    """True where the Sentinel-2 scene classification is one of the clear classes."""
    classes = set(options.scl_clear)
    classes |= {11} if options.keep_snow else set()
    classes |= {7} if options.keep_unclassified else set()
    table = np.zeros(256, dtype=bool)
    table[sorted(classes)] = True
    return xr.apply_ufunc(
        _lookup, scl, kwargs={"table": table}, dask="parallelized", output_dtypes=[bool]
    )


def _lookup(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    return table[codes.astype(np.uint8, copy=False)]


def qa_pixel_clear(qa: xr.DataArray, options: MaskOptions) -> xr.DataArray:
    """True where Landsat C2 QA_PIXEL flags neither fill, cloud, dilated cloud, cirrus nor shadow
    (nor snow unless ``keep_snow``)."""
    bad = [_QA_FILL, _QA_DILATED, _QA_CIRRUS, _QA_CLOUD, _QA_SHADOW]
    bad += [] if options.keep_snow else [_QA_SNOW]
    bits = sum(1 << b for b in bad)
    return (qa.astype(np.uint16) & bits) == 0


def spectral_clear(ds: xr.Dataset, options: MaskOptions) -> xr.DataArray:
    """The documented fallback (module docstring): True where no test flags cloud or shadow."""
    missing = [b for b in FALLBACK_BANDS if b not in ds]
    if missing:
        raise MissingBandsError(
            f"the spectral cloud mask needs bands {', '.join(FALLBACK_BANDS)}; "
            f"missing {', '.join(missing)}: load them or choose --mask none"
        )
    blue, green, red, nir = (ds[b] for b in FALLBACK_BANDS)
    visible = (blue + green + red) / 3
    spread = (abs(blue - visible) + abs(green - visible) + abs(red - visible)) / visible
    white = (visible > options.brightness) & (spread < options.whiteness)
    median = _temporal_median(ds[["blue", "nir"]])
    hazy = blue - median["blue"] > options.temporal_delta
    dark = (nir < 0.6 * median["nir"]) & (median["nir"] - nir > options.temporal_delta)
    return blue.notnull() & ~(white | hazy | dark)


def _temporal_median(series: xr.Dataset) -> xr.Dataset:
    """Per-pixel median over time, in 256-px blocks holding the whole series (bounded memory),
    returned in the series' own spatial chunks."""
    if not series.chunks:
        return series.median("time", skipna=True)
    chunks = {d: series.chunksizes[d] for d in ("y", "x")}
    whole = series.chunk({"time": -1, "y": 256, "x": 256})
    return whole.median("time", skipna=True).chunk(chunks)


def mask_agreement(predicted_clear: np.ndarray, true_clear: np.ndarray) -> dict[str, float]:
    """Agreement of a clear-sky mask with the truth: overall accuracy, and the share of truly
    cloudy/shadowed pixels caught (recall) and of flagged pixels truly cloudy (precision)."""
    pred_bad, true_bad = ~predicted_clear, ~true_clear
    caught = float((pred_bad & true_bad).sum())
    return {
        "accuracy": float((predicted_clear == true_clear).mean()),
        "cloud_recall": caught / max(float(true_bad.sum()), 1.0),
        "cloud_precision": caught / max(float(pred_bad.sum()), 1.0),
        "true_cloud_fraction": float(true_bad.mean()),
    }
