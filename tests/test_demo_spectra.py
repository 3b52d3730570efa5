"""Spectra, codes, biomes and mining styles of the demo generator."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geomon.demo.biomes import choose_biome, choose_style
from geomon.demo.sites import make_site, utm_epsg
from geomon.demo.spectra import (
    BAND_NAMES,
    CONTRACT_CLASSES,
    COVER_INFO,
    SPECTRA,
    SPECTRA_SOURCES,
    Cover,
    codes_json,
    spectrum,
)
from geomon.demo.testing import sample_registry


def _nd(a: np.ndarray, b: np.ndarray) -> float:
    return float((a - b) / (a + b))


def _band(name: str) -> int:
    return BAND_NAMES.index(name)


def test_every_spectrum_is_sourced_and_physical() -> None:
    assert set(SPECTRA) == set(SPECTRA_SOURCES)
    for name, values in SPECTRA.items():
        assert len(values) == len(BAND_NAMES) and all(0 < v < 1 for v in values), name


def test_spectra_have_the_textbook_shapes() -> None:
    red, nir, green, swir = _band("red"), _band("nir"), _band("green"), _band("swir16")
    for veg in ("gv_broadleaf", "gv_needleleaf", "gv_grass", "gv_shrub"):
        s = spectrum(veg)
        assert _nd(s[nir], s[red]) > 0.7 and s[green] > s[red], veg  # red edge, green peak
    water = spectrum("water_clear")
    assert water[nir] < water[green] and water[swir] < 0.01
    assert (
        _nd(spectrum("npv")[swir], spectrum("npv")[nir]) > 0
    )  # cellulose: dry leaves bright in SWIR
    assert spectrum("halite_clean").min() > 0.4  # bright salt
    soil = spectrum("soil_laterite")
    assert soil[red] > 1.5 * soil[_band("blue")]  # iron oxides absorb blue
    for pond in ("pond_turquoise", "pond_green", "pond_yellow"):
        assert _nd(spectrum(pond)[green], spectrum(pond)[nir]) > 0.5  # looks like water


def test_codes_json_lists_every_cover_with_its_contract_class() -> None:
    doc = json.loads(codes_json())
    assert [c["code"] for c in doc["land_cover"]] == [int(c) for c in Cover]
    assert {c["contract_class"] for c in doc["land_cover"]} <= set(CONTRACT_CLASSES)
    assert {c.name.lower() for c in Cover} == {i.name for i in COVER_INFO.values()}
    mine = {c for c, i in COVER_INFO.items() if i.group == "mine"}
    assert Cover.PIT in mine and Cover.EVAPORATION_POND in mine and Cover.SALT_CRUST not in mine


@pytest.mark.parametrize(
    ("mine", "biome", "style", "epsg"),
    [
        ("kamoto", "tropical_dry", "open_pit", 32735),
        ("murrin_murrin", "semi_arid", "laterite", 32751),
        ("salar_de_atacama_sqm", "salar", "brine", 32719),
        ("weda_bay", "tropical_rainforest", "laterite", 32652),
    ],
)
def test_demo_mines_get_their_biome_and_style(mine: str, biome: str, style: str, epsg: int) -> None:
    row = sample_registry((mine,)).mine(mine)
    site = make_site(row, 2000)
    assert (site.biome.name, site.style, site.epsg) == (biome, style, epsg)
    assert site.size == 200 and site.aoi[100, 100] and site.transform.c % 20 == 0


def test_biome_falls_back_to_latitude_and_style_to_commodities() -> None:
    assert choose_biome(None, 46.0, ["copper"], "", "x").name == "temperate"
    assert choose_biome("", 3.0, ["nickel"], "", "x").name == "tropical_rainforest"
    assert choose_biome("", -23.5, ["lithium"], "", "Salar de X").name == "salar"
    assert choose_style("", ["nickel", "cobalt"], "x") == "laterite"
    assert choose_style("underground", ["copper"], "x") == "underground"
    assert choose_style("open pit and underground", ["copper", "cobalt"], "x") == "open_pit"
    assert choose_style("brine (evaporation ponds)", ["lithium"], "x") == "brine"
    assert utm_epsg(14.56, 45.87) == 32633


def test_natural_rock_is_weathered_and_mine_rock_is_fresh() -> None:
    from geomon.demo.spectra import WEATHERED_RATIO, weathered

    fresh, old = spectrum("rock_sedimentary"), weathered("rock_sedimentary")
    assert (old < fresh).all() and max(WEATHERED_RATIO) < 1  # coatings darken every band
    swir16, swir22 = _band("swir16"), _band("swir22")
    assert old[swir22] / old[swir16] > fresh[swir22] / fresh[swir16]  # 2.2 um feature subdued
    crust = spectrum("lichen_crust")
    assert crust[_band("blue")] < 0.05 and crust[swir16] > crust[_band("nir")]  # dark, SWIR max


def test_kamoto_outcrops_and_dumps_of_one_rock_look_different() -> None:
    from geomon.demo.landscape import make_landscape
    from geomon.demo.options import DemoConfig
    from geomon.demo.scene import _ground, acquisitions

    site = make_site(sample_registry(("kamoto",)).mine("kamoto"), 4000)
    ls = make_landscape(site, 7, 5)
    state = ls.state(2.0, 0.5)
    ground = _ground(ls, state, acquisitions(site, DemoConfig(seed=7))[13])
    rock, dump = state.cover == Cover.ROCK, state.cover == Cover.WASTE_DUMP
    assert rock.sum() > 500 and dump.sum() > 500
    red, nir, blue = _band("red"), _band("nir"), _band("blue")
    ndvi = (ground[nir] - ground[red]) / (ground[nir] + ground[red])
    # weathered outcrops with lichen and plants: darker, greener than fresh waste rock
    assert np.median(ground[blue][rock]) < 0.7 * np.median(ground[blue][dump])
    assert np.median(ndvi[rock]) > np.median(ndvi[dump]) + 0.1
