"""One demo acquisition: dates and sun, ground reflectance, sky, sensor, DN, SCL and truth.

The ground reflectance is synthesised at 10 m for all ten bands; the 20 m bands are then
block-averaged 2 x 2 as the sensor integrates them, and each band gets noise scaled by its
signal-to-noise ratio. DN follow the processing baseline of the date (REFERENCE.md): from
2022-01-25 on, baseline 04.00 adds 1000 (BOA_ADD_OFFSET = -1000).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geomon.demo.biomes import Biome, season
from geomon.demo.fields import Array, blur, hillshade
from geomon.demo.landscape import Landscape
from geomon.demo.mineplan import MineState
from geomon.demo.options import DemoConfig
from geomon.demo.sites import Site
from geomon.demo.sky import SkyParams, apply_sky, make_sky, scl_band, sky_truth
from geomon.demo.spectra import BANDS, SUBSOIL_BRIGHTENING, Cover, Sky, spectrum, weathered

__all__ = [
    "BASELINE_04_START",
    "Acquisition",
    "Scene",
    "acquisitions",
    "processing_baseline",
    "synthesize",
]

BASELINE_04_START = dt.date(2022, 1, 25)
_BASELINE_03_START = dt.date(2021, 3, 30)
_IDX10 = [i for i, b in enumerate(BANDS) if b.resolution_m == 10]
_IDX20 = [i for i, b in enumerate(BANDS) if b.resolution_m == 20]
_SNR = np.asarray([b.snr for b in BANDS], dtype=np.float32)
#: How much wet soil darkens each band, relative (water absorbs most in the SWIR).
_WET_DARKENING = np.asarray(
    [0.30, 0.30, 0.30, 0.30, 0.30, 0.31, 0.32, 0.32, 0.42, 0.48], dtype=np.float32
)


@dataclass(frozen=True)
class Acquisition:
    """When and how a scene was seen."""

    index: int
    when: dt.datetime
    """Sensing time, UTC (10:30 local solar time)."""
    platform: str
    baseline: str
    """``s2:processing_baseline``."""
    boa_offset: int
    """DN added to every valid pixel: 1000 from baseline 04.00, else 0."""
    sun_elevation: float
    sun_azimuth: float

    @property
    def item_suffix(self) -> str:
        return self.when.strftime("%Y%m%d")


@dataclass(frozen=True)
class Scene:
    """Everything written for one acquisition."""

    acquisition: Acquisition
    dn10: dict[str, NDArray[np.uint16]]
    dn20: dict[str, NDArray[np.uint16]]
    scl: NDArray[np.uint8]
    truth: NDArray[np.uint8]
    """(2, y, x): land-cover code, sky code."""
    cloud_cover: float
    """Percent of valid pixels under cloud, cirrus or shadow (truth)."""
    nodata_percent: float


def processing_baseline(day: dt.date) -> tuple[str, int]:
    """(``s2:processing_baseline``, BOA offset in DN) of a product sensed on ``day``."""
    if day >= BASELINE_04_START:
        return "04.00", 1000
    return ("03.01", 0) if day >= _BASELINE_03_START else ("02.14", 0)


def sun_position(lat: float, when: dt.datetime, solar_hour: float = 10.5) -> tuple[float, float]:
    """(elevation, azimuth clockwise from north), degrees, at ``solar_hour`` local solar time."""
    doy = when.timetuple().tm_yday
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365.0)
    phi, h = math.radians(lat), math.radians((solar_hour - 12.0) * 15.0)
    sin_el = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(h)
    az = math.atan2(
        -math.cos(decl) * math.sin(h),
        math.sin(decl) * math.cos(phi) - math.cos(decl) * math.sin(phi) * math.cos(h),
    )
    return math.degrees(math.asin(sin_el)), math.degrees(az) % 360.0


def acquisitions(site: Site, config: DemoConfig) -> list[Acquisition]:
    """The acquisition dates of ``site``: ``dates_per_year`` per year, jittered by the seed."""
    rng = np.random.default_rng([config.seed, site.key, 3])
    out: list[Acquisition] = []
    step = 365.0 / config.dates_per_year
    for year in range(config.start_year, config.start_year + config.years):
        for k in range(config.dates_per_year):
            doy = int(np.clip((k + 0.5 + rng.uniform(-0.3, 0.3)) * step, 0, 364))
            day = dt.date(year, 1, 1) + dt.timedelta(days=doy)
            hours = 10.5 - site.lon / 15.0
            when = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            when += dt.timedelta(hours=hours)
            when = when.replace(microsecond=0)
            baseline, offset = processing_baseline(when.date())
            elev, az = sun_position(site.lat, when)
            platform = "sentinel-2a" if (day.toordinal() // 5) % 2 == 0 else "sentinel-2b"
            out.append(Acquisition(len(out), when, platform, baseline, offset, elev, az))
    return out


def _local_season(biome: Biome, lat: float, doy: float, shift: float = 0.0) -> float:
    peak = biome.wet_peak_doy + (182.6 if lat < 0 else 0.0)
    return season(doy - shift, peak)


@dataclass(frozen=True)
class _Materials:
    """Per-cover spectra (cover code x band) of one site."""

    base: Array
    alt: Array
    gv: Array
    soil: Array
    npv: Array
    vegetated: NDArray[np.bool_]
    natural_bare: NDArray[np.bool_]
    """Covers whose surface is weathered natural ground with a lichen/crust/litter cover."""
    moist: Array
    cv_patch: Array
    cv_pixel: Array


def _materials(site: Site) -> _Materials:
    biome, style = site.biome, site.style
    copper = style == "open_pit" and "copper" in site.commodities
    pit, pit_alt = (
        ("pit_cu_co", "rock_sedimentary")
        if copper
        else ("limonite", "saprolite")
        if style == "laterite"
        else ("rock_sedimentary", "rock_volcanic")
    )
    # salt stockpiles are harvested pond salt: freshly precipitated, clean halite with a little
    # crust material picked up when loading, not the rough, silty natural crust [SALT]
    stockpile = 0.85 * spectrum("halite_clean") + 0.15 * spectrum("salt_crust_rough")
    dump, dump_alt = (
        ("halite_clean", stockpile)
        if style == "brine"
        else ("saprolite", "limonite")
        if style == "laterite"
        else (pit_alt, pit)
    )
    soil = spectrum(biome.soil)
    subsoil = soil * np.float32(SUBSOIL_BRIGHTENING)  # topsoil stripped [SOM]
    s = {name: spectrum(name) for name in ("concrete", "asphalt", "metal_roof", "npv")}
    # natural outcrops are weathered; mine rock (pit, dumps, roads) is fresh [WEATHER]
    # arid natural soils: part of the surface is a varnished stone lag (desert pavement) [WEATHER];
    # clearing and grading strip it and expose the paler fines beneath [PAVE]
    ground = (1.0 - biome.pavement) * soil + biome.pavement * weathered(biome.rock)
    table: dict[Cover, tuple[object, object, str]] = {
        Cover.BARE_SOIL: (ground, ground * 0.85, "soil"),
        Cover.ROCK: (weathered(biome.rock), weathered("rock_sedimentary"), "rock"),
        Cover.WATER: ("water_clear", "water_turbid", "water"),
        Cover.SALT_CRUST: (
            "salt_crust_rough",
            0.7 * spectrum("salt_crust_rough") + 0.3 * spectrum("halite_clean"),
            "salt",
        ),
        # villages as vegetation-impervious-soil mixtures: yards, gardens and shade trees [VIS]
        Cover.SETTLEMENT: (
            0.45 * s["concrete"] + 0.35 * soil + 0.2 * spectrum(biome.tree),
            0.8 * s["metal_roof"] + 0.2 * spectrum(biome.tree),
            "built",
        ),
        Cover.PIT: (pit, pit_alt, "mine"),
        Cover.WASTE_DUMP: (dump, dump_alt, "mine"),
        Cover.TAILINGS_POND: ("water_tailings", "water_turbid", "water"),
        Cover.TAILINGS_BEACH: (
            "tailings_wet",
            0.5 * spectrum("tailings_wet") + 0.5 * s["concrete"],
            "mine",
        ),
        Cover.EVAPORATION_POND: ("pond_turquoise", "pond_green", "water"),
        Cover.PLANT: (s["concrete"], 0.6 * s["metal_roof"] + 0.4 * s["asphalt"], "built"),
        # crushed, compacted road base: finer and brighter than the rock it is made of [GRAIN]
        Cover.HAUL_ROAD: (1.15 * spectrum(dump), 1.1 * (0.5 * spectrum(dump) + 0.5 * soil), "mine"),
        # vegetation and topsoil stripped ahead of mining: subsoil with windrowed debris [SOM]
        Cover.CLEARED: (0.85 * subsoil + 0.15 * s["npv"], subsoil, "soil"),
    }
    gv = {
        Cover.FOREST: biome.tree,
        Cover.SHRUBLAND: "gv_shrub",
        Cover.GRASSLAND: "gv_grass",
        Cover.CROPLAND: "gv_grass",
        Cover.REHAB_BARE: "gv_grass",
        Cover.REHAB_VEGETATED: "gv_grass",
    }
    return _table(table, gv, soil, s["npv"])


_FAMILY_CV = {
    "vegetation": (0.10, 0.05),
    "soil": (0.12, 0.05),
    "rock": (0.15, 0.07),
    "water": (0.10, 0.03),
    "salt": (0.10, 0.04),
    "built": (0.25, 0.12),
    "mine": (0.15, 0.08),
}
_MOIST = {"soil": 1.0, "mine": 0.5, "rock": 0.2, "salt": 0.6}


def _vec(x: object) -> Array:
    return spectrum(x) if isinstance(x, str) else np.asarray(x, dtype=np.float32)


def _table(
    table: dict[Cover, tuple[object, object, str]], gv: dict[Cover, str], soil: Array, npv: Array
) -> _Materials:
    ncodes, nb = len(Cover), len(BANDS)
    base, alt, gvt = (np.zeros((ncodes, nb), np.float32) for _ in range(3))
    cvp, cvx, moist = (np.zeros(ncodes, np.float32) for _ in range(3))
    veg = np.zeros(ncodes, dtype=bool)
    bare = np.zeros(ncodes, dtype=bool)
    bare[[Cover.BARE_SOIL, Cover.ROCK]] = True
    for code, (a, b, family) in table.items():
        base[code], alt[code] = _vec(a), _vec(b)
        cvp[code], cvx[code] = _FAMILY_CV[family]
        moist[code] = _MOIST.get(family, 0.0)
    for code, name in gv.items():
        gvt[code], veg[code] = spectrum(name), True
        base[code] = alt[code] = soil
        cvp[code], cvx[code] = _FAMILY_CV["vegetation"]
        moist[code] = 1.0
    return _Materials(base, alt, gvt, soil, npv, veg, bare, moist, cvp, cvx)


def _fractions(ls: Landscape, state: MineState, doy: float) -> tuple[Array, Array]:
    """Green and dry-vegetation cover fractions per pixel on day ``doy``."""
    biome, lat = ls.site.biome, ls.site.lat
    g = np.zeros(len(Cover), np.float32)
    n_ = np.zeros(len(Cover), np.float32)
    s = _local_season(biome, lat, doy)
    for code, (dry, wet) in biome.green.items():
        g[code] = dry + (wet - dry) * s
    for code, (dry, wet) in biome.npv.items():
        n_[code] = dry + (wet - dry) * s
    cover = state.cover
    green = g[cover] * (1.0 + 0.15 * ls.density)
    crop = cover == Cover.CROPLAND
    if crop.any() and Cover.CROPLAND in biome.green:
        dry, wet = biome.green[Cover.CROPLAND]
        peak = biome.wet_peak_doy + (182.6 if lat < 0 else 0.0) + ls.crop_phase[crop]
        cs = 0.5 + 0.5 * np.cos(2 * np.pi * (doy - peak) / 365.25)
        green[crop] = dry + (wet - dry) * cs**3
    rehab = (cover == Cover.REHAB_BARE) | (cover == Cover.REHAB_VEGETATED)
    target = max((wet for c, (_, wet) in biome.green.items() if c != Cover.CROPLAND), default=0.6)
    green[rehab] = state.rehab_progress[rehab] * target * (0.75 + 0.25 * s)
    dry_veg = n_[cover]
    dry_veg[rehab] = 0.15
    green = np.clip(green, 0.0, 0.97)
    return green, np.clip(dry_veg, 0.0, 1.0 - green)


def _ground(ls: Landscape, state: MineState, acq: Acquisition) -> Array:
    """Ground reflectance (bands, y, x) at 10 m before the sky and the sensor."""
    site, mats = ls.site, _materials(ls.site)
    doy = acq.when.timetuple().tm_yday
    wet = site.biome.soil_moisture
    wetness = wet[0] + (wet[1] - wet[0]) * _local_season(site.biome, site.lat, doy, shift=15.0)
    cover, w = state.cover, ls.alt[None]
    dark = 1.0 - (wetness * mats.moist[cover])[None] * _WET_DARKENING[:, None, None]
    refl = (mats.base.T[:, cover] * (1.0 - w) + mats.alt.T[:, cover] * w) * dark
    green, dry = _fractions(ls, state, doy)
    veg = mats.vegetated[cover]
    soil = mats.soil[:, None, None] * dark
    mix = green[None] * mats.gv.T[:, cover] + dry[None] * mats.npv[:, None, None]
    mix += (1.0 - green - dry)[None] * soil
    refl = np.where(veg[None], mix, refl)
    refl = _natural_surface(ls, refl, mats.natural_bare[cover], doy)
    wl = np.asarray([b.center_um for b in BANDS], np.float32)[:, None, None]
    shape = 1.0 + 0.05 * ls.tilt[None] * (wl - 1.0)
    bright = 1.0 + mats.cv_patch[cover] * ls.patch + mats.cv_pixel[cover] * ls.grain
    refl = refl * np.clip(bright, 0.4, 2.0)[None] * shape
    refl = _ponds(refl, state, doy)
    shade = hillshade(ls.terrain + state.relief_m, 10.0, acq.sun_elevation, acq.sun_azimuth)
    water = np.isin(cover, (Cover.WATER, Cover.TAILINGS_POND, Cover.EVAPORATION_POND))
    shade = np.where(water, 1.0, np.clip(1.0 + 0.8 * (shade - 1.0), 0.15, 1.8))
    return blur(np.clip(refl * shade[None], 0.0, 1.5).astype(np.float32))


def _natural_surface(ls: Landscape, refl: Array, bare: NDArray[np.bool_], doy: float) -> Array:
    """Natural bare ground (soil, rock) as a linear mixture [LICHEN] of its weathered surface with
    lichen or biological soil crust, litter and scattered green plants; fractions vary in space
    with the vegetation-density field, green cover with the season."""
    if not bare.any():
        return refl
    biome = ls.site.biome
    s = _local_season(biome, ls.site.lat, doy)
    vary = np.clip(1.0 + 0.5 * ls.density[bare], 0.2, 1.8)
    crust = np.float32(biome.crust) * vary
    litter = np.float32(biome.litter) * vary
    dry, wet = biome.bare_green
    green = np.float32(dry + (wet - dry) * s) * vary
    ends = (spectrum("lichen_crust"), spectrum("npv"), spectrum("gv_grass"))
    part = refl[:, bare] * (1.0 - crust - litter - green)[None]
    for frac, end in zip((crust, litter, green), ends, strict=True):
        part += end[:, None] * frac[None]
    refl[:, bare] = part
    return refl


def _ponds(refl: Array, state: MineState, doy: float) -> Array:
    pond = state.cover == Cover.EVAPORATION_POND
    if not pond.any():
        return refl
    stage = np.clip(state.pond_stage[pond] + 0.05 * math.sin(doy / 58.0), 0.0, 1.0)[None]
    t, g, y = (spectrum(n)[:, None] for n in ("pond_turquoise", "pond_green", "pond_yellow"))
    lo = t + (g - t) * np.clip(stage * 2.0, 0.0, 1.0)
    col = np.where(stage < 0.5, lo, g + (y - g) * np.clip(stage * 2.0 - 1.0, 0.0, 1.0))
    depth = 0.94 + 0.12 * ((state.pond_stage[pond] * 7.31) % 1.0)  # per-pond brightness
    refl[:, pond] = col * depth[None]
    return refl


def _sky_params(
    site: Site, acq: Acquisition, config: DemoConfig, rng: np.random.Generator
) -> SkyParams:
    month = acq.when.month - 1
    if site.lat < 0:
        month = (month + 6) % 12
    biome = site.biome
    chance = config.cloud_probability * biome.cloud_chance[month]
    mean = biome.cloud_cover[month]
    cover = 0.0
    if rng.random() < chance:
        cover = float(rng.beta(2.0, 2.0 * (1 - mean) / max(mean, 0.02)))
        if rng.random() < 0.12:
            cover = float(rng.uniform(0.75, 0.97))
    elif rng.random() < 0.5:
        cover = float(rng.uniform(0.0, 0.02))
    cirrus = config.cirrus_probability * max(biome.cloud_chance[month], 0.3)
    has_cirrus = rng.random() < cirrus
    return SkyParams(
        cloud_cover=min(cover, 0.98),
        cirrus_cover=float(rng.uniform(0.1, 0.6)) if has_cirrus else 0.0,
        cirrus_strength=float(rng.uniform(0.015, 0.07)),
        cloud_height_m=float(rng.uniform(700, 2500)),
        sun_elevation=acq.sun_elevation,
        sun_azimuth=acq.sun_azimuth,
        haze=float(rng.uniform(0.0, 0.015)),
        swath_cut=float(rng.uniform(0.1, 0.45))
        if rng.random() < config.swath_edge_probability
        else 0.0,
    )


def _to_dn(refl: Array, offset: int, nodata: NDArray[np.bool_]) -> NDArray[np.uint16]:
    dn = np.clip(np.rint(refl * 10000.0) + offset, 1, 65535).astype(np.uint16)
    dn[..., nodata] = 0
    return dn


def _block(a: Array) -> Array:
    return 0.25 * (
        a[..., 0::2, 0::2] + a[..., 1::2, 0::2] + a[..., 0::2, 1::2] + a[..., 1::2, 1::2]
    )


def _noisy(refl: Array, snr: Array, rng: np.random.Generator) -> Array:
    sigma = (0.08 + 0.3 * refl) / snr[:, None, None] * 1.5
    return (refl + sigma * rng.standard_normal(refl.shape, dtype=np.float32)).astype(np.float32)


def synthesize(ls: Landscape, acq: Acquisition, config: DemoConfig) -> Scene:
    """Synthesise the scene of ``ls`` on ``acq``; deterministic from the config's seed."""
    site = ls.site
    rng = np.random.default_rng([config.seed, site.key, 4, acq.index])
    t_years = (acq.when.date() - dt.date(config.start_year, 1, 1)).days / 365.25
    doy = acq.when.timetuple().tm_yday
    wetness = _local_season(site.biome, site.lat, doy, shift=15.0)
    state = ls.state(t_years, wetness)
    ground = _ground(ls, state, acq)
    sky = make_sky(site.size, _sky_params(site, acq, config, rng), rng)
    seen = apply_sky(ground, sky)
    refl10 = _noisy(seen[_IDX10], _SNR[_IDX10], rng)
    refl20 = _noisy(_block(seen[_IDX20]), _SNR[_IDX20], rng)
    nodata20 = _block(sky.nodata.astype(np.float32)) >= 0.5
    dn10 = _to_dn(refl10, acq.boa_offset, sky.nodata)
    dn20 = _to_dn(refl20, acq.boa_offset, nodata20)
    all20 = np.concatenate([_block(refl10), refl20])[np.argsort(_IDX10 + _IDX20)]
    scl = scl_band(all20, sky, rng)
    skycode = sky_truth(sky)
    truth = np.stack([np.where(sky.nodata, Cover.NODATA, state.cover), skycode]).astype(np.uint8)
    valid = ~sky.nodata
    cloudy = (skycode != Sky.CLEAR) & valid
    return Scene(
        acquisition=acq,
        dn10={BANDS[i].name: dn10[k] for k, i in enumerate(_IDX10)},
        dn20={BANDS[i].name: dn20[k] for k, i in enumerate(_IDX20)},
        scl=scl,
        truth=truth,
        cloud_cover=round(100.0 * float(cloudy.sum()) / max(int(valid.sum()), 1), 2),
        nodata_percent=round(100.0 * float(sky.nodata.mean()), 2),
    )
