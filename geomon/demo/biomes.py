"""Biomes of the demo landscapes: natural covers, soils, relief, phenology and cloud climate.

A biome is chosen per mine from the registry (``ecozone`` when present, else commodities,
``mine_type`` and latitude, see :func:`choose_biome`). Seasonal tables are written for the
northern hemisphere and shifted by half a year south of the equator.

Green-cover fractions follow the usual behaviour of each vegetation type: evergreen rainforest
(NDVI ~0.8 all year), miombo woodland and savanna grass (green in the rains, November-April in the
southern tropics, brown and partly leafless in the dry season), sparse arid shrubland (green cover
below ~30 %), temperate deciduous forest and crops (leafless or bare in winter). Cloud climates:
wet-season convective cloud in the tropics, near-permanent cloud over equatorial rainforest, rare
cloud in the Atacama except the austral-summer "altiplanic winter".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from geomon.demo.spectra import Cover

__all__ = ["BIOMES", "Biome", "choose_biome", "choose_style", "season"]


@dataclass(frozen=True)
class Biome:
    """Natural landscape and climate of one biome."""

    name: str
    covers: tuple[tuple[Cover, float], ...]
    """Natural covers from wettest (or lowest, see ``order_by``) to driest, with area fractions."""
    order_by: str
    """``moisture``: covers follow a moisture field; ``elevation``: the lowest ground first."""
    soil: str
    """Spectrum name of the local soil (also under vegetation)."""
    rock: str
    """Spectrum name of natural outcrops."""
    tree: str
    """Green-vegetation spectrum of trees (``gv_broadleaf``); temperate forests mix needleleaf."""
    relief_m: float
    """Standard deviation of the terrain elevation over the scene, metres."""
    water_fraction: float
    """Share of lakes and ponds in the lowest ground."""
    crop_fraction: float
    """Share of fields (rectangular parcels) over vegetated land."""
    settlement_fraction: float
    """Share of a village or town."""
    river: bool
    """Whether a river crosses the scene."""
    green: dict[Cover, tuple[float, float]] = field(default_factory=dict)
    """Green-vegetation cover fraction (dry season, wet season) per vegetated cover."""
    npv: dict[Cover, tuple[float, float]] = field(default_factory=dict)
    """Non-photosynthetic (dry) vegetation fraction (dry season, wet season)."""
    wet_peak_doy: int = 200
    """Day of year of the green peak in the northern hemisphere."""
    soil_moisture: tuple[float, float] = (0.1, 0.4)
    """Surface soil wetness (dry season, wet season), 0-1; wet soil is darker, most in SWIR."""
    cloud_chance: tuple[float, ...] = (0.5,) * 12
    """Relative chance of a cloudy date per month (January first, northern phase), 0-1."""
    cloud_cover: tuple[float, ...] = (0.3,) * 12
    """Mean cloud cover of a cloudy date per month, 0-1."""
    crust: float = 0.15
    """Mean share of natural bare ground (soil, rock) under lichen, moss or biological soil crust
    (``lichen_crust`` spectrum; :mod:`geomon.demo.spectra` [LICHEN], [BSC])."""
    litter: float = 0.08
    """Mean share of natural bare ground under litter and dead plant material (``npv``)."""
    bare_green: tuple[float, float] = (0.02, 0.06)
    """Green cover of natural bare ground (scattered plants), dry and wet season."""
    pavement: float = 0.0
    """Share of natural bare soil covered by a varnished stone lag (desert pavement, gibber) of
    the local rock, weathered like outcrops (:data:`geomon.demo.spectra.WEATHERED_RATIO`)."""


_TROPICAL_GREEN = {
    Cover.FOREST: (0.88, 0.93),
    Cover.SHRUBLAND: (0.65, 0.78),
    Cover.GRASSLAND: (0.55, 0.75),
    Cover.CROPLAND: (0.30, 0.80),
}

BIOMES: dict[str, Biome] = {
    "tropical_rainforest": Biome(
        name="tropical_rainforest",
        covers=(
            (Cover.FOREST, 0.80),
            (Cover.SHRUBLAND, 0.12),
            (Cover.GRASSLAND, 0.05),
            (Cover.BARE_SOIL, 0.02),
            (Cover.ROCK, 0.01),
        ),
        order_by="moisture",
        soil="soil_laterite",
        rock="rock_ultramafic",
        tree="gv_broadleaf",
        relief_m=60.0,
        water_fraction=0.0,
        crop_fraction=0.03,
        settlement_fraction=0.01,
        river=True,
        green=_TROPICAL_GREEN,
        npv={
            Cover.FOREST: (0.03, 0.02),
            Cover.SHRUBLAND: (0.10, 0.08),
            Cover.GRASSLAND: (0.15, 0.10),
            Cover.CROPLAND: (0.20, 0.10),
        },
        wet_peak_doy=15,
        soil_moisture=(0.55, 0.75),
        cloud_chance=(1.0, 1.0, 1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.75, 0.8, 0.9, 1.0),
        cloud_cover=(0.55, 0.55, 0.5, 0.5, 0.45, 0.4, 0.4, 0.35, 0.35, 0.4, 0.5, 0.55),
        crust=0.20,  # mosses, algae and lichens on humid outcrops
        litter=0.10,
        bare_green=(0.05, 0.08),
    ),
    "tropical_dry": Biome(
        name="tropical_dry",
        covers=(
            (Cover.FOREST, 0.38),
            (Cover.SHRUBLAND, 0.24),
            (Cover.GRASSLAND, 0.30),
            (Cover.BARE_SOIL, 0.06),
            (Cover.ROCK, 0.02),
        ),
        order_by="moisture",
        soil="soil_laterite",
        rock="rock_sedimentary",
        tree="gv_broadleaf",
        relief_m=15.0,
        water_fraction=0.01,
        crop_fraction=0.08,
        settlement_fraction=0.03,
        river=False,
        green={
            Cover.FOREST: (0.35, 0.80),
            Cover.SHRUBLAND: (0.20, 0.65),
            Cover.GRASSLAND: (0.08, 0.70),
            Cover.CROPLAND: (0.03, 0.75),
        },
        npv={
            Cover.FOREST: (0.40, 0.10),
            Cover.SHRUBLAND: (0.45, 0.15),
            Cover.GRASSLAND: (0.65, 0.15),
            Cover.CROPLAND: (0.25, 0.10),
        },
        wet_peak_doy=228,  # February in the southern tropics
        soil_moisture=(0.05, 0.65),
        cloud_chance=(0.1, 0.1, 0.15, 0.3, 0.7, 0.95, 1.0, 1.0, 0.9, 0.6, 0.2, 0.1),
        cloud_cover=(0.05, 0.05, 0.1, 0.2, 0.4, 0.55, 0.6, 0.6, 0.5, 0.3, 0.1, 0.05),
        crust=0.15,
        litter=0.12,
        bare_green=(0.02, 0.08),
    ),
    "semi_arid": Biome(
        name="semi_arid",
        covers=(
            (Cover.SHRUBLAND, 0.42),
            (Cover.GRASSLAND, 0.16),
            (Cover.BARE_SOIL, 0.32),
            (Cover.ROCK, 0.06),
            (Cover.SALT_CRUST, 0.04),
        ),
        order_by="moisture",
        soil="soil_red_sand",
        rock="rock_ultramafic",
        tree="gv_shrub",
        relief_m=8.0,
        water_fraction=0.0,
        crop_fraction=0.0,
        settlement_fraction=0.0,
        river=False,
        green={Cover.SHRUBLAND: (0.18, 0.30), Cover.GRASSLAND: (0.05, 0.25)},
        npv={Cover.SHRUBLAND: (0.30, 0.25), Cover.GRASSLAND: (0.45, 0.35)},
        wet_peak_doy=15,  # austral winter (July) once shifted
        soil_moisture=(0.03, 0.20),
        cloud_chance=(0.45, 0.35, 0.3, 0.25, 0.2, 0.3, 0.35, 0.4, 0.35, 0.3, 0.4, 0.45),
        cloud_cover=(0.35, 0.3, 0.3, 0.25, 0.2, 0.25, 0.3, 0.3, 0.3, 0.25, 0.3, 0.35),
        crust=0.25,  # extensive microbiotic crusts of Australian rangelands (Eldridge & Greene 1994)
        litter=0.08,
        bare_green=(0.02, 0.05),
        pavement=0.35,  # stony (gibber) plains of the Yilgarn
    ),
    "salar": Biome(
        name="salar",
        covers=(
            (Cover.SALT_CRUST, 0.74),
            (Cover.BARE_SOIL, 0.18),
            (Cover.SHRUBLAND, 0.02),
            (Cover.ROCK, 0.06),
        ),
        order_by="elevation",
        soil="soil_alluvium",
        rock="rock_volcanic",
        tree="gv_shrub",
        relief_m=4.0,
        water_fraction=0.0,
        crop_fraction=0.0,
        settlement_fraction=0.0,
        river=False,
        green={Cover.SHRUBLAND: (0.08, 0.14)},
        npv={Cover.SHRUBLAND: (0.25, 0.22)},
        wet_peak_doy=228,
        soil_moisture=(0.0, 0.05),
        cloud_chance=(0.25, 0.2, 0.1, 0.05, 0.05, 0.05, 0.6, 0.5, 0.2, 0.05, 0.05, 0.1),
        cloud_cover=(0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.3, 0.3, 0.15, 0.05, 0.05, 0.1),
        crust=0.04,  # hyper-arid: crusts only in fog-fed patches (Lehnert et al. 2018)
        litter=0.02,
        bare_green=(0.0, 0.01),
        pavement=0.6,  # varnished desert pavements on the alluvial fans around the salar
    ),
    "temperate": Biome(
        name="temperate",
        covers=(
            (Cover.FOREST, 0.50),
            (Cover.SHRUBLAND, 0.08),
            (Cover.GRASSLAND, 0.36),
            (Cover.BARE_SOIL, 0.03),
            (Cover.ROCK, 0.03),
        ),
        order_by="moisture",
        soil="soil_loam",
        rock="rock_sedimentary",
        tree="gv_broadleaf",
        relief_m=40.0,
        water_fraction=0.01,
        crop_fraction=0.20,
        settlement_fraction=0.03,
        river=True,
        green={
            Cover.FOREST: (0.20, 0.88),
            Cover.SHRUBLAND: (0.20, 0.75),
            Cover.GRASSLAND: (0.40, 0.85),
            Cover.CROPLAND: (0.02, 0.85),
        },
        npv={
            Cover.FOREST: (0.55, 0.05),
            Cover.SHRUBLAND: (0.40, 0.08),
            Cover.GRASSLAND: (0.30, 0.05),
            Cover.CROPLAND: (0.15, 0.05),
        },
        wet_peak_doy=195,
        soil_moisture=(0.45, 0.25),
        cloud_chance=(0.95, 0.9, 0.85, 0.75, 0.7, 0.65, 0.55, 0.55, 0.65, 0.8, 0.95, 1.0),
        cloud_cover=(0.6, 0.55, 0.5, 0.45, 0.4, 0.4, 0.35, 0.35, 0.4, 0.5, 0.6, 0.65),
        crust=0.20,
        litter=0.12,
        bare_green=(0.04, 0.10),
    ),
}

_ECOZONE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("rainforest", "tropical_rainforest"),
    ("tropical moist", "tropical_rainforest"),
    ("tropical mountain", "tropical_rainforest"),
    ("subtropical humid", "tropical_rainforest"),
    ("tropical dry", "tropical_dry"),
    ("savanna", "tropical_dry"),
    ("miombo", "tropical_dry"),
    ("shrubland", "semi_arid"),
    ("steppe", "semi_arid"),
    ("semi", "semi_arid"),
    ("subtropical dry", "semi_arid"),
    ("desert", "semi_arid"),
    ("salar", "salar"),
    ("temperate", "temperate"),
    ("boreal", "temperate"),
    ("oceanic", "temperate"),
    ("continental", "temperate"),
    ("mountain", "temperate"),
)


def _is_brine(mine_type: str, commodities: list[str], name: str) -> bool:
    text = f"{mine_type} {name}".lower()
    return "brine" in text or "evapor" in text or ("lithium" in commodities and "salar" in text)


def choose_biome(
    ecozone: str | None, lat: float, commodities: list[str], mine_type: str, name: str
) -> Biome:
    """The biome of a mine: a brine operation sits on a salar; else the ecozone's keywords;
    else latitude bands (tropical rainforest, tropical dry, semi-arid, temperate)."""
    if _is_brine(mine_type, commodities, name):
        return BIOMES["salar"]
    eco = (ecozone or "").lower()
    for keyword, biome in _ECOZONE_KEYWORDS:
        if keyword in eco:
            return BIOMES[biome]
    a = abs(lat)
    key = (
        "tropical_rainforest"
        if a < 8
        else "tropical_dry"
        if a < 20
        else "semi_arid"
        if a < 35
        else "temperate"
    )
    return BIOMES[key]


def choose_style(mine_type: str, commodities: list[str], name: str) -> str:
    """Mining style: ``brine`` (evaporation ponds), ``laterite`` (shallow strip-mined cells,
    backfilled and rehabilitated), ``underground`` (plant, dumps, tailings only) or ``open_pit``."""
    mt = mine_type.lower()
    if _is_brine(mine_type, commodities, name):
        return "brine"
    if "laterite" in mt or ("nickel" in commodities and "copper" not in commodities):
        return "laterite"
    surface = any(word in mt for word in ("open", "pit", "cut", "strip", "quarry"))
    return "underground" if "underground" in mt and not surface else "open_pit"


def season(doy: float, peak_doy: float) -> float:
    """0 at the driest, 1 at the greenest day of the year (a cosine around ``peak_doy``)."""
    return 0.5 + 0.5 * math.cos(2.0 * math.pi * (doy - peak_doy) / 365.25)
