"""Clouds, cirrus, cloud shadows and the swath edge of a demo scene, and its SCL band.

Cumulus are a thresholded fractal field (soft, thin edges); their shadows are the same field
displaced away from the sun by cloud height x tan(solar zenith). Cirrus is a streaky anisotropic
field that adds reflectance. The SCL band is derived the way Sen2Cor's scene classification
behaves, *with its typical errors*: thin cloud edges and faint cirrus and shadows are missed,
bright bare ground (salt crust, fresh dumps) is sometimes called cloud, some dark ground is
"dark area" or water, and a few uncertain edges are "unclassified".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geomon.demo.fields import Array, blur, fractal_noise, upsample2
from geomon.demo.spectra import BANDS, Sky

__all__ = ["SkyFields", "SkyParams", "apply_sky", "make_sky", "scl_band", "sky_truth"]

#: Reflectance of thick water cloud per band (bright and flat, lower in SWIR).
CLOUD_SPECTRUM = np.asarray(
    [0.44, 0.44, 0.45, 0.45, 0.46, 0.46, 0.46, 0.46, 0.33, 0.22], dtype=np.float32
)
#: Relative reflectance of thin ice cloud per band (ice absorbs in the SWIR).
CIRRUS_SPECTRUM = np.asarray(
    [1.0, 1.0, 0.98, 0.96, 0.95, 0.94, 0.93, 0.92, 0.55, 0.45], dtype=np.float32
)
#: Share of diffuse skylight per band, which still lights cloud shadows (bluer in shadow).
DIFFUSE = np.asarray([0.42, 0.35, 0.28, 0.26, 0.24, 0.23, 0.22, 0.22, 0.15, 0.12], dtype=np.float32)
_WL = np.asarray([b.center_um for b in BANDS], dtype=np.float32)

CLOUD_MIN_OPACITY = 0.08
CIRRUS_MIN = 0.01
SHADOW_MIN = 0.12


@dataclass(frozen=True)
class SkyParams:
    """What the sky of one date looks like."""

    cloud_cover: float
    """Target fraction of the scene under cumulus, 0-1."""
    cirrus_cover: float
    """Fraction under cirrus, 0-1."""
    cirrus_strength: float
    """Reflectance cirrus adds at its thickest."""
    cloud_height_m: float
    sun_elevation: float
    sun_azimuth: float
    haze: float
    """Residual aerosol reflectance in the blue band left by atmospheric correction."""
    swath_cut: float
    """Fraction of the scene beyond the swath edge (no data), 0 for none."""


@dataclass(frozen=True)
class SkyFields:
    """Per-pixel sky state at 10 m."""

    opacity: Array
    """Cumulus opacity, 0-1."""
    brightness: Array
    """Cloud-top brightness multiplier."""
    cirrus: Array
    """Reflectance added by cirrus."""
    shadow: Array
    """Fraction of direct sunlight blocked by cloud, 0-1."""
    nodata: NDArray[np.bool_]
    haze: float


def _shadow_shift(p: SkyParams) -> tuple[int, int]:
    """Displacement (rows, cols) in 10 m pixels from a cloud to its shadow."""
    zen = math.radians(90.0 - max(p.sun_elevation, 5.0))
    length = p.cloud_height_m * math.tan(zen) / 10.0
    az = math.radians(p.sun_azimuth)
    return round(length * math.cos(az)), round(-length * math.sin(az))


def _cumulus(n: int, p: SkyParams, rng: np.random.Generator) -> tuple[Array, Array, Array]:
    drow, dcol = _shadow_shift(p)
    pad = (max(abs(drow), abs(dcol)) + 3) // 2 + 1
    m = n // 2 + 2 * pad
    field = fractal_noise(rng, (m, m), beta=3.4) + 0.3 * fractal_noise(rng, (m, m), beta=2.0)
    centre = field[pad : pad + n // 2, pad : pad + n // 2]
    thr = float(np.quantile(centre, 1.0 - p.cloud_cover))
    canvas = upsample2((np.clip((field - thr) / 0.6, 0.0, 1.0) ** 0.7).astype(np.float32))
    bright = upsample2((0.8 + 0.25 * np.clip((field - thr) / 1.5, 0.0, 1.0)).astype(np.float32))
    o = 2 * pad
    opacity = canvas[o : o + n, o : o + n]
    shadow = canvas[o - drow : o - drow + n, o - dcol : o - dcol + n]
    return opacity, bright[o : o + n, o : o + n], np.clip(0.85 * shadow, 0.0, 1.0)


def _cirrus(n: int, p: SkyParams, rng: np.random.Generator) -> Array:
    angle = rng.uniform(0, math.pi)
    g = fractal_noise(rng, (n // 2, n // 2), beta=3.0, anisotropy=(5.0, angle))
    thr = float(np.quantile(g, 1.0 - p.cirrus_cover))
    top = max(float(g.max()) - thr, 1e-6)
    return upsample2(
        (p.cirrus_strength * np.clip((g - thr) / top, 0.0, 1.0) ** 0.6).astype(np.float32)
    )


def _swath(n: int, p: SkyParams, rng: np.random.Generator) -> NDArray[np.bool_]:
    if p.swath_cut <= 0:
        return np.zeros((n, n), dtype=bool)
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float32)
    across = cols + rows * np.float32(math.tan(math.radians(rng.uniform(-12, 12))))
    if rng.random() < 0.5:
        across = across.max() - across
    return np.asarray(across > np.quantile(across, 1.0 - p.swath_cut))


def make_sky(n: int, p: SkyParams, rng: np.random.Generator) -> SkyFields:
    """The sky of one date on an ``n`` x ``n`` 10 m grid."""
    zeros = np.zeros((n, n), dtype=np.float32)
    opacity, bright, shadow = (
        _cumulus(n, p, rng) if p.cloud_cover > 0 else (zeros, zeros + 1.0, zeros)
    )
    cirrus = _cirrus(n, p, rng) if p.cirrus_cover > 0 else zeros
    return SkyFields(opacity, bright, cirrus, shadow, _swath(n, p, rng), p.haze)


def apply_sky(ground: Array, sky: SkyFields) -> Array:
    """Top-of-canopy reflectance (bands, y, x) as the sensor sees it through this sky."""
    d = DIFFUSE[:, None, None]
    out = ground * (1.0 - sky.shadow[None] * (1.0 - d))
    c = sky.cirrus[None]
    out = out * (1.0 - 0.5 * c) + c * CIRRUS_SPECTRUM[:, None, None]
    a = sky.opacity[None]
    out = out * (1.0 - a) + a * (CLOUD_SPECTRUM[:, None, None] * sky.brightness[None])
    haze = sky.haze * (_WL / _WL[0]) ** -1.5
    return (out + haze[:, None, None]).astype(np.float32)


def sky_truth(sky: SkyFields) -> NDArray[np.uint8]:
    """True sky code per 10 m pixel (:class:`Sky`)."""
    out = np.full(sky.opacity.shape, Sky.CLEAR, dtype=np.uint8)
    out[sky.shadow >= SHADOW_MIN] = Sky.SHADOW
    out[sky.cirrus >= CIRRUS_MIN] = Sky.CIRRUS
    out[sky.opacity >= CLOUD_MIN_OPACITY] = Sky.CLOUD
    out[sky.nodata] = Sky.NODATA
    return out


def _block(a: Array) -> Array:
    """2 x 2 block mean of the last two axes."""
    return 0.25 * (
        a[..., 0::2, 0::2] + a[..., 1::2, 0::2] + a[..., 0::2, 1::2] + a[..., 1::2, 1::2]
    )


def scl_band(refl20: Array, sky: SkyFields, rng: np.random.Generator) -> NDArray[np.uint8]:
    """Sen2Cor-like scene classification at 20 m from the observed 20 m reflectance
    (bands, y, x) and the true sky, with realistic misses and false alarms."""
    h = refl20.shape[1]
    err = blur(fractal_noise(rng, (h, h), beta=2.6))
    err2 = fractal_noise(rng, (h, h), beta=2.2)
    opacity, cirrus, shadow = _block(sky.opacity), _block(sky.cirrus), _block(sky.shadow)
    nodata = _block(sky.nodata.astype(np.float32)) >= 0.5
    blue, green, red, nir, swir = refl20[0], refl20[1], refl20[2], refl20[6], refl20[8]
    ndvi = (nir - red) / np.maximum(nir + red, 1e-4)
    ndwi = (green - nir) / np.maximum(green + nir, 1e-4)
    out = np.where(ndvi > 0.35, 5 - 1, 5).astype(np.uint8)  # 4 vegetation, 5 not vegetated
    out[((nir + swir) / 2 < 0.04) & (ndwi <= 0.1)] = 2  # dark area
    out[(ndwi > 0.15) & (nir < 0.1)] = 6
    out[(opacity >= 0.12) & (opacity < 0.3) & (err2 > 1.2)] = 7
    out[shadow >= 0.3 + 0.08 * err] = 3
    out[cirrus >= 0.02 + 0.006 * err] = 10
    bright = np.minimum((blue - 0.18) * 8.0, 1.0) + err2
    out[(bright > 2.0) & (ndvi < 0.15) & (ndwi < 0.1)] = 8  # bright ground called cloud
    cloud = opacity >= 0.3 + 0.08 * err
    out[cloud] = 8
    out[cloud & (opacity >= 0.6)] = 9
    out[nodata] = 0
    return out
