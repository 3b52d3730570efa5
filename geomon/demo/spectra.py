"""Sentinel-2 bands, land-cover codes of the demo's ground truth, and typical spectra per cover.

Bands
-----
The ten Sentinel-2 MSI bands geomon reads, keyed by their Earth Search asset names. Centre
wavelengths and widths are the Sentinel-2A values of ESA's spectral response functions
(COPE-GSEG-EOPG-TN-15-0007, v3.0) as quoted in Drusch et al. (2012), *Remote Sensing of
Environment* 120: 25-36.

Land-cover codes (ground-truth band 1)
--------------------------------------
Each code maps to one contract class of docs/contracts.md (``vegetation``, ``bare_disturbed``,
``water``, ``built_other``). As that page says, natural bare ground (rock, bare soil, salt crust)
is ``built_other`` ("not vegetation, not disturbance"), so it stays distinguishable from
mine-disturbed ground; every code also carries ``disturbed`` (true for everything the mine made
or cleared) and ``group``. ``truth/codes.json`` repeats this table.

Spectra
-------
Typical surface reflectance (0-1) at the ten band centres, read off published laboratory and
field spectra and rounded to about 0.005. They are representative values, *not* convolutions
with the spectral response functions and not measurements of the demo sites:

- [USGS7] Kokaly, R.F. et al. (2017) *USGS Spectral Library Version 7*, USGS Data Series 1035,
  doi:10.3133/ds1035 (chapters V vegetation, S soils, M minerals: halite, goethite, hematite,
  serpentine; L liquids: water; A artificial materials).
- [ECO] Meerdink, S.K. et al. (2019) The ECOSTRESS spectral library version 1.0, *Remote Sensing
  of Environment* 230: 111196, doi:10.1016/j.rse.2019.05.015 (vegetation incl. non-photosynthetic
  vegetation, rocks, soils, man-made materials: concrete, asphalt, metal roofing).
- [WATER] Pope & Fry (1997) and Hale & Querry (1973) water absorption: NIR and SWIR reflectance of
  water near zero; shallow water over a bright floor keeps blue/green bottom reflectance.
- Evaporation-pond colours (turquoise -> green -> yellow as lithium brine concentrates) follow
  the look of the Salar de Atacama ponds in Sentinel-2 true-colour images; their values are
  shallow-brine-over-halite spectra built from [USGS7] halite and [WATER] absorption, not
  measurements (marked ``"derived"`` in :data:`SPECTRA_SOURCES`).

Fresh mine ground against weathered natural ground
--------------------------------------------------
Laboratory rock spectra are measured on clean, broken or cut samples: that is what a pit wall,
blasted waste rock or a crushed-ore stockpile shows, so mine materials keep the library spectra
(no vegetation fraction). Natural outcrops and bare soils are not fresh: their surfaces carry
weathering rinds and iron/manganese-oxide coatings (desert varnish) and a cover of lichens,
biological soil crust, litter and a little green vegetation. The generator models both effects
(:data:`WEATHERED_RATIO`, the ``lichen_crust`` endmember, per-biome cover fractions in
:mod:`geomon.demo.biomes`):

- [WEATHER] Younis, M.T., Gilabert, M.A., Melia, J., Bastida, J. (1997) Weathering process effects
  on spectral reflectance of rocks in a semi-arid environment, *International Journal of Remote
  Sensing* 18(16): 3361-3377, doi:10.1080/014311697216928 (fresh and weathered surfaces of six
  rock types differ significantly in brightness and absorption features, iron oxides the most);
  Rivard, B. et al. (1992) Varnish, sediment, and rock controls on spectral reflectance of
  outcrops in arid regions, *Geology* 20(4): 295-298 (varnish dominates the reflectance of
  outcrops, in the laboratory and in Landsat TM data); Watson, R.D. (1971) Spectral reflectance
  and photometric properties of selected rocks, *Remote Sensing of Environment* 2: 95-100,
  doi:10.1016/0034-4257(71)90082-4 (fresh-broken vs weathered vs lichen-covered granite).
- [LICHEN] Ager, C.M. & Milton, N.M. (1987) Spectral reflectance of lichens and their effects on
  the reflectance of rock substrates, *Geophysics* 52(7): 898-906, doi:10.1190/1.1442360 (30 %
  lichen cover masks the features of spectrally flat rocks; lichens' reflectance peak near
  2220 nm fills the rocks' 2.2 um absorption); Bechtel, R., Rivard, B., Sanchez-Azofeifa, A.
  (2002) Spectral properties of foliose and crustose lichens based on laboratory experiments,
  *Remote Sensing of Environment* 82: 389-396 (lichens transmit < 3 %: lichen and rock mix
  linearly); van der Veen, C.J. & Csatho, B.M. (2005) Spectral characteristics of Greenland
  lichens, *Geographie physique et Quaternaire* 59(1): 63-73, doi:10.7202/013737ar (dark crustose
  lichens: near-zero visible reflectance, maximum near 1600 nm).
- [BSC] Weber, B. et al. (2008) A new approach for mapping of biological soil crusts in semidesert
  areas with hyperspectral imagery, *Remote Sensing of Environment* 112: 2187-2201 (crusts are
  darker than the bare soil with a weak chlorophyll signal); Eldridge, D.J. & Greene, R.S.B.
  (1994) Microbiotic soil crusts: a review of their roles in soil and ecological processes in the
  rangelands of Australia, *Australian Journal of Soil Research* 32: 389-415; Lehnert, L.W. et
  al. (2018) Estimating net photosynthesis of biological soil crusts in the Atacama using
  hyperspectral remote sensing, *Remote Sensing* 10(6): 891 (crusts in the Atacama's fog zone).
- [GRAIN] Clark, R.N. (1999) Spectroscopy of rocks and minerals, and principles of spectroscopy,
  in *Manual of Remote Sensing* vol. 3, Wiley, ch. 1 (finer particles scatter more: crushed,
  fine material is brighter than the same rock in coarse pieces). Haul roads are graded road
  base of crushed waste rock, compacted and dusty.
- [PAVE] Prose, D.V. (1985) Persisting effects of armored military maneuvers on some soils of the
  Mojave Desert, *Environmental Geology and Water Sciences* 7(3): 163-170; Lovich, J.E. &
  Bainbridge, D. (1999) Anthropogenic degradation of the southern California desert ecosystem
  and prospects for natural recovery and restoration, *Environmental Management* 24(3): 309-326
  (vehicles and grading break the varnished desert pavement and biological crust and expose the
  paler, unvarnished fines beneath; the scars stay visible for decades). Natural arid soils keep
  their pavement; cleared ground, haul roads and pond berms do not.
- [SALT] Metternicht, G.I. & Zinck, J.A. (2003) Remote sensing of soil salinity: potentials and
  constraints, *Remote Sensing of Environment* 85: 1-20 (natural salt crusts are darkened by
  surface roughness, moisture and silt/clay impurities; smooth, pure halite is bright), with
  [USGS7] halite: the harvested salt of the stockpiles is the clean end, the salar crust the
  rough end.
- [VIS] Ridd, M.K. (1995) Exploring a V-I-S (vegetation-impervious surface-soil) model for urban
  ecosystem analysis through remote sensing, *International Journal of Remote Sensing* 16(12):
  2165-2185; Small, C. (2001) Estimation of urban vegetation abundance by spectral mixture
  analysis, *International Journal of Remote Sensing* 22(7): 1305-1334: settlements are
  mixtures of roofs and paving, bare soil and vegetation (here 20 % trees).
- [SOM] Baumgardner, M.F. et al. (1970) Effects of organic matter on the multispectral properties
  of soils, *Proceedings of the Indiana Academy of Science* 79: 413-422; Ben-Dor, E. (2002)
  Quantitative remote sensing of soil properties, *Advances in Agronomy* 75: 173-243 (organic
  matter darkens soil across the VNIR-SWIR): stripping the topsoil ahead of mining exposes
  brighter, organic-poor subsoil (:data:`SUBSOIL_BRIGHTENING`).

Vegetated covers are linear mixtures (the standard spectral-mixture model) of a green-vegetation
endmember, non-photosynthetic vegetation (dry leaves, litter, wood) and the local soil, with
seasonal fractions (see :mod:`geomon.demo.landscape`). Every cover also gets per-patch and
per-pixel brightness and shape variability (:data:`VARIABILITY`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BANDS",
    "BAND_NAMES",
    "CONTRACT_CLASSES",
    "COVER_INFO",
    "SKY_CODES",
    "SPECTRA",
    "SPECTRA_SOURCES",
    "SUBSOIL_BRIGHTENING",
    "VARIABILITY",
    "WEATHERED_RATIO",
    "Band",
    "Cover",
    "CoverInfo",
    "Sky",
    "codes_json",
    "spectrum",
    "weathered",
]


@dataclass(frozen=True)
class Band:
    """One Sentinel-2 band as the demo catalog writes it."""

    name: str
    """Earth Search asset key (``red``)."""
    code: str
    """ESA band name (``B04``)."""
    common_name: str
    """STAC ``eo:bands`` common name."""
    center_um: float
    """Centre wavelength, micrometres (Sentinel-2A)."""
    fwhm_um: float
    """Band width, micrometres."""
    resolution_m: int
    """Native pixel size, 10 or 20 m."""
    snr: float
    """Signal-to-noise ratio at reference radiance (ESA mission requirements), for sensor noise."""


BANDS: tuple[Band, ...] = (
    Band("blue", "B02", "blue", 0.4924, 0.066, 10, 154),
    Band("green", "B03", "green", 0.5598, 0.036, 10, 168),
    Band("red", "B04", "red", 0.6646, 0.031, 10, 142),
    Band("rededge1", "B05", "rededge", 0.7041, 0.015, 20, 117),
    Band("rededge2", "B06", "rededge", 0.7405, 0.015, 20, 89),
    Band("rededge3", "B07", "rededge", 0.7828, 0.020, 20, 105),
    Band("nir", "B08", "nir", 0.8328, 0.106, 10, 174),
    Band("nir08", "B8A", "nir08", 0.8647, 0.021, 20, 72),
    Band("swir16", "B11", "swir16", 1.6137, 0.091, 20, 100),
    Band("swir22", "B12", "swir22", 2.2024, 0.175, 20, 100),
)
BAND_NAMES: tuple[str, ...] = tuple(b.name for b in BANDS)
#: Contract classes of docs/contracts.md, in the order of their codes (0-4).
CONTRACT_CLASSES: tuple[str, ...] = (
    "cloud_nodata",
    "vegetation",
    "bare_disturbed",
    "water",
    "built_other",
)


class Cover(IntEnum):
    """Land-cover codes of the ground-truth rasters (band 1). 0 means no data."""

    NODATA = 0
    FOREST = 1
    SHRUBLAND = 2
    GRASSLAND = 3
    CROPLAND = 4
    BARE_SOIL = 5
    ROCK = 6
    WATER = 7
    SALT_CRUST = 8
    SETTLEMENT = 9
    PIT = 10
    WASTE_DUMP = 11
    TAILINGS_POND = 12
    TAILINGS_BEACH = 13
    EVAPORATION_POND = 14
    PLANT = 15
    HAUL_ROAD = 16
    CLEARED = 17
    REHAB_BARE = 18
    REHAB_VEGETATED = 19


class Sky(IntEnum):
    """Sky-state codes of the ground-truth rasters (band 2)."""

    CLEAR = 0
    CLOUD = 1
    SHADOW = 2
    CIRRUS = 3
    NODATA = 4


SKY_CODES: dict[int, str] = {
    Sky.CLEAR: "clear sky",
    Sky.CLOUD: "cloud (optically thick enough to hide the ground's spectrum: opacity >= 0.08)",
    Sky.SHADOW: "cloud shadow (direct sunlight reduced by >= 12 %)",
    Sky.CIRRUS: "thin cirrus (adds >= 0.01 reflectance)",
    Sky.NODATA: "outside the swath: no data in any band",
}


@dataclass(frozen=True)
class CoverInfo:
    """What a land-cover code means and how it maps to the contract classes."""

    name: str
    contract_class: str
    """Class of docs/contracts.md: ``vegetation``, ``bare_disturbed``, ``water`` or ``built_other``
    (natural bare ground included); ``cloud_nodata`` for no data."""
    disturbed: bool
    """True for ground the mine made or cleared."""
    group: str
    """``natural_vegetation``, ``natural_bare``, ``natural_water``, ``settlement``, ``mine`` or
    ``rehabilitated``."""
    description: str


COVER_INFO: dict[Cover, CoverInfo] = {
    Cover.NODATA: CoverInfo("nodata", "cloud_nodata", False, "none", "no data (outside the swath)"),
    Cover.FOREST: CoverInfo(
        "forest", "vegetation", False, "natural_vegetation", "closed tree cover"
    ),
    Cover.SHRUBLAND: CoverInfo(
        "shrubland",
        "vegetation",
        False,
        "natural_vegetation",
        "open woodland, shrubs and regrowth (miombo, mulga, secondary forest)",
    ),
    Cover.GRASSLAND: CoverInfo(
        "grassland", "vegetation", False, "natural_vegetation", "grass, seasonally dry"
    ),
    Cover.CROPLAND: CoverInfo(
        "cropland",
        "vegetation",
        False,
        "natural_vegetation",
        "fields and gardens; fallow fields can look bare between seasons",
    ),
    Cover.BARE_SOIL: CoverInfo(
        "bare_soil", "built_other", False, "natural_bare", "natural bare soil or sand"
    ),
    Cover.ROCK: CoverInfo("rock", "built_other", False, "natural_bare", "natural outcrop"),
    Cover.WATER: CoverInfo("water", "water", False, "natural_water", "sea, lake or river"),
    Cover.SALT_CRUST: CoverInfo(
        "salt_crust", "built_other", False, "natural_bare", "natural salar or playa crust"
    ),
    Cover.SETTLEMENT: CoverInfo(
        "settlement", "built_other", False, "settlement", "village or town, not the mine"
    ),
    Cover.PIT: CoverInfo("pit", "bare_disturbed", True, "mine", "open pit floor, benches, walls"),
    Cover.WASTE_DUMP: CoverInfo(
        "waste_dump", "bare_disturbed", True, "mine", "waste rock dump or salt stockpile"
    ),
    Cover.TAILINGS_POND: CoverInfo(
        "tailings_pond", "water", True, "mine", "supernatant water of a tailings facility"
    ),
    Cover.TAILINGS_BEACH: CoverInfo(
        "tailings_beach", "bare_disturbed", True, "mine", "wet or dry tailings sludge"
    ),
    Cover.EVAPORATION_POND: CoverInfo(
        "evaporation_pond", "water", True, "mine", "brine evaporation pond (blue to yellow)"
    ),
    Cover.PLANT: CoverInfo(
        "plant", "built_other", True, "mine", "processing plant, buildings, stockyards"
    ),
    Cover.HAUL_ROAD: CoverInfo("haul_road", "bare_disturbed", True, "mine", "unpaved haul road"),
    Cover.CLEARED: CoverInfo(
        "cleared", "bare_disturbed", True, "mine", "vegetation stripped ahead of mining"
    ),
    Cover.REHAB_BARE: CoverInfo(
        "rehab_bare",
        "bare_disturbed",
        True,
        "rehabilitated",
        "reshaped, seeded ground that has regained < 45 % of the local natural green cover",
    ),
    Cover.REHAB_VEGETATED: CoverInfo(
        "rehab_vegetated",
        "vegetation",
        True,
        "rehabilitated",
        "rehabilitated ground that has regained >= 45 % of the local natural green cover",
    ),
}

#: Order of values: BAND_NAMES (blue, green, red, rededge1-3, nir, nir08, swir16, swir22).
SPECTRA: dict[str, tuple[float, ...]] = {
    # --- vegetation endmembers (full cover) ---
    "gv_broadleaf": (0.025, 0.050, 0.030, 0.085, 0.240, 0.300, 0.330, 0.345, 0.165, 0.080),
    "gv_needleleaf": (0.020, 0.040, 0.022, 0.065, 0.170, 0.210, 0.230, 0.240, 0.120, 0.055),
    "gv_shrub": (0.030, 0.055, 0.040, 0.095, 0.220, 0.270, 0.295, 0.305, 0.195, 0.105),
    "gv_grass": (0.035, 0.075, 0.045, 0.120, 0.300, 0.380, 0.420, 0.430, 0.230, 0.120),
    "npv": (0.070, 0.100, 0.130, 0.170, 0.210, 0.240, 0.270, 0.285, 0.360, 0.260),
    # dark crustose lichen / cyanobacterial soil crust (dry), [LICHEN] [BSC]: near-zero visible,
    # a weak red edge, maximum near 1.6 um and no 2.2 um absorption (peak near 2220 nm)
    "lichen_crust": (0.030, 0.042, 0.055, 0.070, 0.095, 0.120, 0.145, 0.155, 0.235, 0.205),
    # --- soils ---
    "soil_laterite": (0.050, 0.085, 0.170, 0.220, 0.250, 0.270, 0.290, 0.300, 0.380, 0.320),
    "soil_red_sand": (0.075, 0.120, 0.230, 0.290, 0.320, 0.335, 0.350, 0.360, 0.450, 0.400),
    "soil_alluvium": (0.150, 0.190, 0.240, 0.270, 0.290, 0.300, 0.310, 0.320, 0.380, 0.330),
    "soil_loam": (0.070, 0.100, 0.140, 0.170, 0.190, 0.210, 0.220, 0.230, 0.300, 0.240),
    # --- rocks ---
    "rock_ultramafic": (0.060, 0.070, 0.080, 0.085, 0.090, 0.095, 0.100, 0.105, 0.120, 0.110),
    "rock_sedimentary": (0.140, 0.170, 0.210, 0.230, 0.250, 0.260, 0.270, 0.280, 0.350, 0.300),
    "rock_volcanic": (0.090, 0.110, 0.130, 0.140, 0.150, 0.155, 0.160, 0.165, 0.200, 0.180),
    # --- water ---
    "water_clear": (0.050, 0.045, 0.020, 0.012, 0.008, 0.007, 0.006, 0.005, 0.003, 0.002),
    "water_turbid": (0.070, 0.100, 0.090, 0.080, 0.050, 0.040, 0.035, 0.030, 0.010, 0.008),
    "water_tailings": (0.090, 0.120, 0.110, 0.100, 0.070, 0.060, 0.055, 0.050, 0.015, 0.010),
    # --- salt ---
    "salt_crust_rough": (0.220, 0.260, 0.300, 0.315, 0.330, 0.340, 0.345, 0.350, 0.330, 0.290),
    "halite_clean": (0.550, 0.570, 0.580, 0.585, 0.590, 0.590, 0.590, 0.590, 0.520, 0.470),
    # --- man-made ---
    "concrete": (0.180, 0.200, 0.220, 0.230, 0.240, 0.245, 0.250, 0.255, 0.280, 0.250),
    "asphalt": (0.060, 0.070, 0.080, 0.085, 0.090, 0.095, 0.100, 0.100, 0.120, 0.110),
    "metal_roof": (0.300, 0.310, 0.310, 0.310, 0.300, 0.300, 0.300, 0.300, 0.260, 0.220),
    # --- mine materials ---
    "pit_cu_co": (0.130, 0.160, 0.190, 0.210, 0.230, 0.240, 0.250, 0.255, 0.310, 0.270),
    "limonite": (0.060, 0.100, 0.200, 0.260, 0.290, 0.300, 0.300, 0.305, 0.360, 0.300),
    "saprolite": (0.080, 0.110, 0.150, 0.180, 0.200, 0.210, 0.220, 0.225, 0.280, 0.230),
    "tailings_wet": (0.080, 0.100, 0.120, 0.130, 0.140, 0.145, 0.150, 0.150, 0.120, 0.090),
    # --- evaporation ponds (derived) ---
    "pond_turquoise": (0.220, 0.250, 0.140, 0.080, 0.040, 0.035, 0.030, 0.028, 0.012, 0.010),
    "pond_green": (0.150, 0.240, 0.160, 0.100, 0.050, 0.040, 0.035, 0.030, 0.012, 0.010),
    "pond_yellow": (0.100, 0.220, 0.230, 0.170, 0.080, 0.060, 0.050, 0.045, 0.015, 0.012),
}

SPECTRA_SOURCES: dict[str, str] = {
    **dict.fromkeys(("gv_broadleaf", "gv_needleleaf", "gv_shrub", "npv"), "ECO"),
    "lichen_crust": "LICHEN, BSC",
    "gv_grass": "USGS7",
    **dict.fromkeys(("soil_laterite", "soil_red_sand", "soil_alluvium", "soil_loam"), "USGS7, ECO"),
    **dict.fromkeys(("rock_ultramafic", "rock_sedimentary", "rock_volcanic"), "ECO"),
    **dict.fromkeys(("water_clear", "water_turbid", "water_tailings"), "USGS7, WATER"),
    **dict.fromkeys(("salt_crust_rough", "halite_clean"), "USGS7"),
    **dict.fromkeys(("concrete", "asphalt", "metal_roof"), "ECO"),
    **dict.fromkeys(("pit_cu_co", "limonite", "saprolite", "tailings_wet"), "USGS7"),
    **dict.fromkeys(("pond_turquoise", "pond_green", "pond_yellow"), "derived"),
}

#: Reflectance of a weathered natural rock surface relative to the fresh (laboratory) spectrum
#: of the same rock, in :data:`BAND_NAMES` order [WEATHER]. Iron/manganese-oxide coatings and
#: weathering rinds absorb most below 1 um (visible darkened most, about a third); the SWIR is
#: darkened less, and least at 2.2 um, where coatings and lichen subdue the rock's own
#: Al-OH/carbonate absorption (the swir22/swir16 ratio rises by about 5 %).
WEATHERED_RATIO: tuple[float, ...] = (0.62, 0.66, 0.72, 0.76, 0.79, 0.80, 0.81, 0.81, 0.84, 0.88)
#: Organic-poor subsoil exposed by topsoil stripping, relative to the surface soil [SOM].
SUBSOIL_BRIGHTENING = 1.12

#: Relative brightness variability per material family: (between patches, between pixels).
VARIABILITY: dict[str, tuple[float, float]] = {
    "vegetation": (0.10, 0.05),
    "soil": (0.12, 0.05),
    "rock": (0.15, 0.07),
    "water": (0.10, 0.03),
    "salt": (0.10, 0.04),
    "built": (0.25, 0.12),
    "mine": (0.15, 0.08),
}


def spectrum(name: str) -> NDArray[np.float32]:
    """The spectrum ``name`` as a float32 vector in :data:`BAND_NAMES` order."""
    return np.asarray(SPECTRA[name], dtype=np.float32)


def weathered(name: str) -> NDArray[np.float32]:
    """The weathered natural surface of rock ``name`` (:data:`WEATHERED_RATIO` x fresh)."""
    return spectrum(name) * np.asarray(WEATHERED_RATIO, dtype=np.float32)


def codes_json() -> str:
    """The land-cover and sky codes as the JSON text of ``truth/codes.json``."""
    doc = {
        "land_cover": [
            {
                "code": int(code),
                "name": info.name,
                "contract_class": info.contract_class,
                "disturbed": info.disturbed,
                "group": info.group,
                "description": info.description,
            }
            for code, info in COVER_INFO.items()
        ],
        "sky": [
            {"code": int(code), "name": Sky(code).name.lower(), "description": text}
            for code, text in SKY_CODES.items()
        ],
        "bands": {"1": "land-cover code", "2": "sky code"},
        "contract_classes": list(CONTRACT_CLASSES),
    }
    return json.dumps(doc, indent=2) + "\n"
