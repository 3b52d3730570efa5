"""Per-mine landscapes: the natural land cover, terrain and texture fields that do not change
with time, and the land cover at any date once the mine plan (:mod:`geomon.demo.mineplan`) is
laid over them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geomon.demo.biomes import Biome
from geomon.demo.fields import Array, blur, fractal_noise, quantile_levels
from geomon.demo.mineplan import MinePlan, MineState, make_plan
from geomon.demo.sites import Site
from geomon.demo.spectra import Cover

__all__ = ["Landscape", "make_landscape"]

VEGETATED: tuple[Cover, ...] = (
    Cover.FOREST,
    Cover.SHRUBLAND,
    Cover.GRASSLAND,
    Cover.CROPLAND,
    Cover.REHAB_BARE,
    Cover.REHAB_VEGETATED,
)


@dataclass(frozen=True, eq=False)
class Landscape:
    """Everything about a mine's scene that does not depend on the date."""

    site: Site
    natural: NDArray[np.uint8]
    """Natural land cover (codes of :class:`Cover`)."""
    terrain: Array
    """Natural elevation, metres (pit and dumps are added per date)."""
    patch: Array
    """Smooth unit-variance field: brightness of patches (tens to hundreds of metres)."""
    grain: Array
    """Unit-variance, nearly white field: pixel-to-pixel brightness."""
    tilt: Array
    """Smooth unit-variance field: spectral shape (redder / bluer) of patches."""
    alt: Array
    """0-1 weight of each cover's alternative material (e.g. concrete vs metal roofs)."""
    density: Array
    """Smooth unit-variance field: vegetation density (canopy gaps, thickets)."""
    crop_phase: Array
    """Per-parcel shift of the crop calendar, days."""
    plan: MinePlan

    def state(self, t_years: float, wetness: float) -> MineState:
        """Land cover and mine geometry at ``t_years`` after 1 January of the start year."""
        return self.plan.state(self.natural, t_years, wetness)


def _grid(n: int) -> tuple[Array, Array]:
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float32)
    return rows, cols


def _terrain(site: Site, rng: np.random.Generator, rows: Array, cols: Array) -> Array:
    n, biome = site.size, site.biome
    base = fractal_noise(rng, (n, n), beta=3.6, scale_px=3) * np.float32(biome.relief_m)
    if biome.order_by != "elevation":
        return base
    angle = rng.uniform(0, 2 * math.pi)
    ramp = ((rows - n / 2) * math.sin(angle) + (cols - n / 2) * math.cos(angle)) / n
    return (base + 60.0 * np.clip(ramp + 0.15, 0, None) ** 1.5).astype(np.float32)


def _natural_classes(biome: Biome, key: Array) -> NDArray[np.uint8]:
    covers = [c for c, _ in biome.covers]
    levels = quantile_levels(key, [f for _, f in biome.covers])
    idx = np.digitize(key, levels) if levels else np.zeros(key.shape, dtype=np.int64)
    return np.asarray(covers, dtype=np.uint8)[idx]


def _river(site: Site, rng: np.random.Generator, rows: Array, cols: Array) -> NDArray[np.bool_]:
    n = site.size
    offset = site.radius_px * 1.3 + 0.1 * n
    if offset > 0.47 * n:
        return np.zeros((n, n), dtype=bool)
    side = 1 if rng.random() < 0.5 else -1
    wiggle = fractal_noise(rng, (1, n), beta=3.0)[0] * np.float32(0.03 * n)
    centre = n / 2 + side * offset + wiggle  # a west-east river north or south of the mine
    width = 1.5 + 1.0 * rng.random()
    return np.asarray(np.abs(rows - centre[None, :]) < width)


def _sea(site: Site, rng: np.random.Generator, rows: Array, cols: Array) -> NDArray[np.bool_]:
    n = site.size
    depth_max = n / 2 - 1.15 * site.radius_px - 2
    if not site.coast or depth_max <= 2:
        return np.zeros((n, n), dtype=bool)
    depth = min(0.15 * n, depth_max)
    shore = depth * (0.7 + 0.3 * fractal_noise(rng, (1, n), beta=3.0)[0])
    along, across = {
        "south": (cols, n - 1 - rows),
        "north": (cols, rows),
        "west": (rows, cols),
        "east": (rows, n - 1 - cols),
    }[site.coast]
    return np.asarray(across < shore[along.astype(np.int64)])


def _parcels(
    site: Site, rng: np.random.Generator, rows: Array, cols: Array
) -> tuple[NDArray[np.int64], Array]:
    """Field parcels: an id per pixel and a random value per parcel (0-1)."""
    size = (14, 9) if site.biome.name == "temperate" else (7, 5)
    angle = rng.uniform(0, math.pi)
    a = cols * math.cos(angle) + rows * math.sin(angle)
    b = rows * math.cos(angle) - cols * math.sin(angle)
    ia = np.floor(a / size[0]).astype(np.int64)
    ib = np.floor(b / size[1]).astype(np.int64)
    ia -= ia.min()
    ib -= ib.min()
    pid = ia * (int(ib.max()) + 1) + ib
    values = rng.random(int(pid.max()) + 1).astype(np.float32)
    return pid, values[pid]


def _overlay_fields_and_villages(
    site: Site, rng: np.random.Generator, natural: NDArray[np.uint8], rows: Array, cols: Array
) -> Array:
    """Add crop parcels and a settlement to ``natural`` in place; return each pixel's crop phase."""
    n, biome = site.size, site.biome
    dist = np.hypot(rows - n / 2, cols - n / 2)
    far = dist > site.radius_px * 1.1
    vegetated = np.isin(natural, [Cover.FOREST, Cover.SHRUBLAND, Cover.GRASSLAND]) & far
    _, pvalue = _parcels(site, rng, rows, cols)
    phase = ((pvalue - 0.5) * 40.0).astype(np.float32)
    if biome.crop_fraction > 0 and vegetated.any():
        score = blur(fractal_noise(rng, (n, n), beta=3.2), 2) + 0.6 * pvalue
        level = np.quantile(
            score[vegetated], max(0.0, 1.0 - biome.crop_fraction / vegetated.mean())
        )
        natural[vegetated & (score >= level)] = Cover.CROPLAND
    if biome.settlement_fraction > 0:
        r = math.sqrt(biome.settlement_fraction * n * n / math.pi)
        ang = rng.uniform(0, 2 * math.pi)
        d = min(site.radius_px * 1.2 + r, 0.5 * n - r)
        cy, cx = n / 2 + d * math.sin(ang), n / 2 + d * math.cos(ang)
        rough = fractal_noise(rng, (n, n), beta=2.0)
        town = (np.hypot(rows - cy, cols - cx) < r * (1 + 0.15 * rough)) & (rough > -0.6) & far
        natural[town] = Cover.SETTLEMENT
    return phase


def _natural(
    site: Site, rng: np.random.Generator, terrain: Array, rows: Array, cols: Array
) -> tuple[NDArray[np.uint8], Array]:
    biome, n = site.biome, site.size
    tz = (terrain - terrain.mean()) / max(float(terrain.std()), 1e-6)
    if biome.order_by == "elevation":
        key = tz + 0.15 * fractal_noise(rng, (n, n), beta=3.0)
    else:
        key = -(0.75 * fractal_noise(rng, (n, n), beta=3.0, scale_px=2) - 0.35 * tz)
    natural = _natural_classes(biome, key.astype(np.float32))
    if biome.water_fraction > 0:
        natural[tz <= np.quantile(tz, biome.water_fraction)] = Cover.WATER
    if biome.river:
        natural[_river(site, rng, rows, cols)] = Cover.WATER
    phase = _overlay_fields_and_villages(site, rng, natural, rows, cols)
    sea = _sea(site, rng, rows, cols)
    if sea.any():
        near = blur(sea.astype(np.float32), 3) > 0.02
        natural[near] = Cover.BARE_SOIL  # beach
        natural[sea] = Cover.WATER
    return natural, phase


def make_landscape(site: Site, seed: int, years: int) -> Landscape:
    """The static landscape of ``site`` for a ``years``-long series; same seed, same landscape."""
    rng = np.random.default_rng([seed, site.key, 1])
    n = site.size
    rows, cols = _grid(n)
    terrain = _terrain(site, rng, rows, cols)
    natural, phase = _natural(site, rng, terrain, rows, cols)
    alt = np.clip(0.5 + 0.8 * fractal_noise(rng, (n, n), beta=2.6), 0.0, 1.0)
    grain = blur(rng.standard_normal((n, n), dtype=np.float32))
    grain /= max(float(grain.std()), 1e-6)
    plan = make_plan(site, np.random.default_rng([seed, site.key, 2]), rows, cols, years)
    return Landscape(
        site=site,
        natural=natural,
        terrain=terrain,
        patch=fractal_noise(rng, (n, n), beta=3.0, scale_px=1.5),
        grain=grain.astype(np.float32),
        tilt=fractal_noise(rng, (n, n), beta=3.0),
        alt=alt.astype(np.float32),
        density=fractal_noise(rng, (n, n), beta=2.4),
        crop_phase=phase,
        plan=plan,
    )
