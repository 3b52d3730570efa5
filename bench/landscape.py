"""A realistic benchmark landscape: the demo generator's spectra on natural covers and a mine.

The benchmark's original scenes (:func:`geomon.imagery.testing.surface_reflectance`) are 16-px
squares of three flat spectra: out of distribution for models with spatial context, which call
many of their edges disturbed (thousands of polygons where a real scene has hundreds), so the
footprint stage measured there is not the one users run. This scene draws covers from smooth
random fields (water in the lowest ground, then forest, shrubland, grassland and bare ground),
each pixel a mixture of the cover's green vegetation and its ground (demo spectra,
:mod:`geomon.demo.spectra`), with patch- and pixel-scale brightness variation, plus mine sites
(pit, waste dumps, cleared ground, haul roads, a tailings pond) and a settlement.
"""

from __future__ import annotations

import numpy as np

from geomon.demo.fields import fractal_noise
from geomon.demo.spectra import BAND_NAMES, spectrum, weathered
from geomon.imagery._bands import BANDS

__all__ = ["realistic_reflectance"]

# cover: (green/first endmember, ground/second endmember, mean first fraction, SCL kind)
# SCL kinds as geomon.imagery.testing's land cover: 0 vegetation, 1 bare, 2 water
_SOIL = spectrum("soil_laterite")
_COVERS = (
    ("water", spectrum("water_clear"), spectrum("water_turbid"), 0.6, 2),
    ("forest", spectrum("gv_broadleaf"), _SOIL, 0.85, 0),
    ("shrubland", spectrum("gv_shrub"), 0.5 * _SOIL + 0.5 * spectrum("npv"), 0.55, 0),
    ("grassland", spectrum("gv_grass"), spectrum("npv"), 0.6, 0),
    ("bare", _SOIL, weathered("rock_sedimentary"), 0.6, 1),
    ("pit", spectrum("pit_cu_co"), spectrum("rock_sedimentary"), 0.5, 1),
    ("dump", spectrum("rock_sedimentary"), spectrum("saprolite"), 0.6, 1),
    ("road", 1.15 * spectrum("rock_sedimentary"), _SOIL, 0.7, 1),
    ("tailings", spectrum("water_tailings"), spectrum("tailings_wet"), 0.8, 2),
    ("settlement", spectrum("concrete"), spectrum("gv_broadleaf"), 0.7, 1),
    ("cleared", 1.12 * _SOIL, spectrum("npv"), 0.85, 1),
)
_NAMES = [c[0] for c in _COVERS]
_ORDER = [BAND_NAMES.index(b) for b in BANDS]  # demo band order -> the imagery contract's


def _natural(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Natural covers along a smooth moisture field (wettest first)."""
    moist = fractal_noise(rng, shape, beta=3.4, scale_px=6)
    edges = np.quantile(moist[::8, ::8], [0.03, 0.45, 0.70, 0.90])
    kinds = np.array(
        [_NAMES.index(n) for n in ("water", "forest", "shrubland", "grassland", "bare")]
    )
    return kinds[np.digitize(moist, edges)].astype(np.uint8)


def _disc(shape: tuple[int, int], cy: float, cx: float, radius: np.ndarray) -> np.ndarray:
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2


def _mine(rng: np.random.Generator, cover: np.ndarray, wobble: np.ndarray) -> None:
    """One open-pit mine in place: cleared ground, dumps, the pit, a tailings pond, roads."""
    h, w = cover.shape
    cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
    r = rng.uniform(0.03, 0.06) * min(h, w)
    rough = r * (1 + 0.25 * wobble)
    cover[_disc(cover.shape, cy, cx, 2.6 * rough)] = _NAMES.index("cleared")
    for _ in range(3):
        a = rng.uniform(0, 2 * np.pi)
        dy, dx = 1.6 * r * np.sin(a), 1.6 * r * np.cos(a)
        cover[_disc(cover.shape, cy + dy, cx + dx, 0.7 * rough)] = _NAMES.index("dump")
    cover[_disc(cover.shape, cy, cx, rough)] = _NAMES.index("pit")
    a = rng.uniform(0, 2 * np.pi)
    ty, tx = cy + 3.2 * r * np.sin(a), cx + 3.2 * r * np.cos(a)
    cover[_disc(cover.shape, ty, tx, 0.9 * rough)] = _NAMES.index("tailings")
    for _ in range(2):  # haul roads, 3 px wide, from the pit towards the scene edge
        a = rng.uniform(0, 2 * np.pi)
        t = np.arange(0, 1.5 * max(h, w))
        ys = np.clip((cy + t * np.sin(a)).astype(int), 0, h - 1)
        xs = np.clip((cx + t * np.cos(a)).astype(int), 0, w - 1)
        for o in (-1, 0, 1):
            cover[np.clip(ys + o, 0, h - 1), xs] = _NAMES.index("road")


def realistic_reflectance(shape: tuple[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(landcover, cube)``: the SCL kind per pixel (0 vegetation, 1 bare, 2 water) and the
    surface reflectance ``(band, y, x)`` float32 in ``BANDS`` order of a realistic scene."""
    rng = np.random.default_rng(seed)
    cover = _natural(rng, shape)
    wobble = fractal_noise(rng, shape, beta=3.0, scale_px=4)
    for _ in range(max(1, round(shape[0] * shape[1] / 2048**2))):
        _mine(rng, cover, wobble)
    village = _disc(shape, rng.uniform(0.1, 0.9) * shape[0], rng.uniform(0.1, 0.9) * shape[1],
                    0.03 * min(shape) * (1 + 0.3 * wobble))  # fmt: skip
    cover[village & (cover != _NAMES.index("water"))] = _NAMES.index("settlement")
    first = np.stack([c[1] for c in _COVERS])[:, _ORDER]
    second = np.stack([c[2] for c in _COVERS])[:, _ORDER]
    mean = np.array([c[3] for c in _COVERS], np.float32)
    frac = np.clip(mean[cover] + 0.12 * fractal_noise(rng, shape, beta=2.6), 0, 1)
    bright = 1 + 0.10 * fractal_noise(rng, shape, beta=3.0, scale_px=3)
    cube = np.empty((len(BANDS), *shape), np.float32)
    for b in range(len(BANDS)):
        band = frac * first[cover, b] + (1 - frac) * second[cover, b]
        band *= bright * (1 + rng.normal(0, 0.04, shape).astype(np.float32))
        cube[b] = np.clip(band, 0.001, 1.0)
    landcover = np.array([c[4] for c in _COVERS], np.uint8)[cover]
    return landcover, cube
