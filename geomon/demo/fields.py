"""Numeric building blocks of the demo scenes: noise fields, blurs, distances, terrain shading.

Everything works on float32 numpy arrays in pixel units and takes an explicit
:class:`numpy.random.Generator`, so that a scene depends only on its seed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float32]

__all__ = [
    "Array",
    "blur",
    "fractal_noise",
    "hillshade",
    "quantile_levels",
    "segment_distance",
    "upsample2",
]


def fractal_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    beta: float = 3.0,
    scale_px: float = 0.0,
    anisotropy: tuple[float, float] = (1.0, 0.0),
) -> Array:
    """A zero-mean, unit-variance random field with a power spectrum ~ 1/f**beta.

    ``beta`` ~ 2 gives rough textures, ~ 3-4 smooth, cloud- or terrain-like fields. ``scale_px``
    (> 0) suppresses features smaller than about that many pixels. ``anisotropy`` = (stretch,
    angle in radians) elongates features along the angle (cirrus streaks, ridges).
    """
    h, w = shape
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    stretch, angle = anisotropy
    if stretch != 1.0:
        c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
        fx, fy = fx * c + fy * s, (fy * c - fx * s) * np.float32(stretch)
    f2 = fx * fx + fy * fy
    f2[0, 0] = 1.0
    amp = f2 ** np.float32(-beta / 4.0)
    if scale_px > 0:
        amp *= np.exp(-f2 * np.float32((np.pi * scale_px) ** 2 / 2.0))
    amp[0, 0] = 0.0
    white = rng.standard_normal((h, w), dtype=np.float32)
    field = np.fft.irfft2(np.fft.rfft2(white) * amp, s=(h, w)).astype(np.float32)
    std = float(field.std())
    return field / np.float32(std if std > 0 else 1.0)


def blur(a: Array, passes: int = 1) -> Array:
    """Separable [1, 2, 1] / 4 smoothing (about a 0.7 px Gaussian per pass), edges replicated.

    Used as the sensor's point-spread function (mixed pixels at class edges) and to soften masks.
    Works on 2-D arrays or stacks whose last two axes are (y, x).
    """
    q, h = np.float32(0.25), np.float32(0.5)
    out: Array = a.astype(np.float32, copy=False)
    for _ in range(passes):
        p = np.concatenate([out[..., :1, :], out, out[..., -1:, :]], axis=-2)
        out = np.asarray(q * p[..., :-2, :] + h * p[..., 1:-1, :] + q * p[..., 2:, :], np.float32)
        p = np.concatenate([out[..., :1], out, out[..., -1:]], axis=-1)
        out = np.asarray(q * p[..., :-2] + h * p[..., 1:-1] + q * p[..., 2:], np.float32)
    return out


def upsample2(a: Array) -> Array:
    """Double the resolution of a (y, x) field by pixel repetition followed by a light blur."""
    return blur(np.repeat(np.repeat(a, 2, axis=0), 2, axis=1))


def quantile_levels(field: Array, fractions: list[float]) -> list[float]:
    """Thresholds that split ``field`` into consecutive classes covering ``fractions`` of it."""
    cum = np.cumsum(np.asarray(fractions, dtype=np.float64))
    cum = np.clip(cum / max(cum[-1], 1e-9), 0.0, 1.0)
    return [float(v) for v in np.quantile(field, cum[:-1])] if len(cum) > 1 else []


def segment_distance(
    rows: Array, cols: Array, p0: tuple[float, float], p1: tuple[float, float]
) -> Array:
    """Distance (px) from each pixel (rows, cols grids) to the segment p0-p1 (row, col points)."""
    r0, c0 = p0
    dr, dc = p1[0] - r0, p1[1] - c0
    length2 = max(dr * dr + dc * dc, 1e-9)
    t = np.clip(((rows - r0) * dr + (cols - c0) * dc) / np.float32(length2), 0.0, 1.0)
    return np.hypot(rows - (r0 + t * dr), cols - (c0 + t * dc)).astype(np.float32)


def hillshade(
    elevation_m: Array, pixel_m: float, sun_elevation_deg: float, sun_azimuth_deg: float
) -> Array:
    """Ratio cos(incidence) / cos(solar zenith) of each pixel: 1 on flat ground, < 1 on slopes
    facing away from the sun, > 1 on slopes facing it (what L2A leaves when it does not correct
    for terrain)."""
    dz_dy, dz_dx = np.gradient(elevation_m, pixel_m)
    # rows grow southwards: the northward slope is -dz/dy
    slope = np.arctan(np.hypot(dz_dx, dz_dy))
    aspect = np.arctan2(-dz_dx, dz_dy)  # downslope direction, clockwise from north
    zen = np.deg2rad(90.0 - sun_elevation_deg)
    az = np.deg2rad(sun_azimuth_deg)
    cos_i = np.cos(zen) * np.cos(slope) + np.sin(zen) * np.sin(slope) * np.cos(az - aspect)
    return (np.clip(cos_i, 0.0, None) / max(np.cos(zen), 0.05)).astype(np.float32)
