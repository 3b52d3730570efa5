"""Checks on the bundled registry data in ``aoi/``: mines, owners, reference layers."""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import Point, shape

from geomon.registry import load_registry
from geomon.registry.core import bundled_registry_dir
from geomon.registry.schema import (
    COMMODITIES,
    COORDINATE_ACCURACIES,
    CRITICAL_COMMODITIES,
    OWNERSHIP_COLUMNS,
    STATUSES,
)

DEMO_IDS = ("kamoto", "murrin_murrin", "salar_de_atacama_sqm", "weda_bay")
ECOZONES = {
    "tropical rainforest",
    "tropical moist",
    "tropical dry",
    "tropical shrubland",
    "tropical desert",
    "tropical mountain",
    "subtropical humid",
    "subtropical dry",
    "subtropical steppe",
    "subtropical desert",
    "subtropical mountain",
    "temperate oceanic",
    "temperate continental",
    "temperate steppe",
    "temperate desert",
    "temperate mountain",
    "boreal coniferous",
    "boreal tundra woodland",
    "boreal mountain",
    "polar",
}
CONTINENTS = {"Africa", "Americas", "Asia", "Europe", "Oceania"}
WDPA_COLUMNS = (
    "WDPAID",
    "WDPA_PID",
    "NAME",
    "ORIG_NAME",
    "DESIG",
    "DESIG_ENG",
    "DESIG_TYPE",
    "IUCN_CAT",
    "ISO3",
    "STATUS",
    "STATUS_YR",
    "GIS_AREA",
    "MARINE",
    "SAMPLE_NOTE",
)
IUCN_CATS = {"Ia", "Ib", "II", "III", "IV", "V", "VI", "Not Reported"}


@pytest.fixture(scope="module")
def reg():
    return load_registry()


@pytest.fixture(scope="module")
def raw_features() -> list[dict]:
    """The mines file as written (GeoJSON features), to check the polygons before any reprojection."""
    data = json.loads((bundled_registry_dir() / "mines.geojson").read_text(encoding="utf-8"))
    return data["features"]


def test_size_and_unique_ids(reg):
    assert len(reg) >= 28
    assert reg.mines["mine_id"].is_unique
    assert all(m == m.strip().lower() and " " not in m for m in reg.ids)
    assert str(reg.mines.crs).upper().endswith("4326")


def test_vocabularies(reg):
    for row in reg.mines.itertuples():
        assert row.commodities, row.mine_id
        assert set(row.commodities) <= COMMODITIES, row.mine_id
        assert row.status in STATUSES, row.mine_id
        assert row.coordinate_accuracy in COORDINATE_ACCURACIES, row.mine_id
        assert len(row.country) == 3 and row.country.isupper(), row.mine_id
        assert isinstance(row.source, str) and row.source.strip(), row.mine_id


def test_critical_commodities_and_countries(reg):
    present = {c for cs in reg.mines["commodities"] for c in cs}
    assert set(CRITICAL_COMMODITIES) <= present
    assert reg.mines["country"].nunique() >= 10


def test_lithium_has_brine_and_hard_rock(reg):
    lithium = reg.mines[reg.mines["commodities"].map(lambda cs: "lithium" in cs)]
    types = lithium["mine_type"].str.lower()
    assert types.str.contains("brine").any()
    assert types.str.contains("pegmatite|open pit").any()


def test_demo_mines(reg):
    for mine_id in DEMO_IDS:
        reg.mine(mine_id)
    kamoto = set(reg.mine("kamoto")["commodities"])
    assert {"copper", "cobalt"} <= kamoto
    weda = reg.owners("weda_bay")
    parents = set(weda["parent"].dropna())
    assert {"Tsingshan Holding Group", "Eramet SA"} <= parents, "weda_bay needs its two-level chain"


def test_aoi_polygons_valid_and_contain_centre(reg, raw_features):
    for feat in raw_features:
        props, geom = feat["properties"], feat["geometry"]
        assert geom["type"] == "Polygon", props["mine_id"]
        ring = geom["coordinates"][0]
        assert ring[0] == ring[-1], f"{props['mine_id']}: ring not closed"
        assert 7 <= len(ring) <= 17, f"{props['mine_id']}: {len(ring) - 1} vertices"
        poly = shape(geom)
        assert poly.is_valid, props["mine_id"]
        assert poly.exterior.is_ccw, f"{props['mine_id']}: exterior ring must be counter-clockwise"
        assert poly.contains(Point(props["lon"], props["lat"])), props["mine_id"]
    for row in reg.mines.itertuples():
        assert row.geometry.is_valid and not row.geometry.is_empty, row.mine_id


def test_aoi_sizes_are_plausible(reg):
    geod = Geod(ellps="WGS84")
    for row in reg.mines.itertuples():
        area_km2 = abs(geod.geometry_area_perimeter(row.geometry)[0]) / 1e6
        # An AOI covers one operation: a few to a few hundred km2, never a point nor a province.
        assert 1 < area_km2 < 500, f"{row.mine_id}: AOI of {area_km2:.0f} km2"


def test_ownership(reg):
    own = reg.ownership
    assert tuple(own.columns[: len(OWNERSHIP_COLUMNS)]) == OWNERSHIP_COLUMNS
    assert set(own["mine_id"]) <= set(reg.ids), "ownership rows for unknown mines"
    for mine_id in reg.ids:
        assert not reg.owners(mine_id).empty, f"{mine_id} has no ownership row"
    # An owner with two parents takes one row per parent, with the same share of the mine.
    assert not own.duplicated(["mine_id", "owner", "parent"]).any()
    direct = own.drop_duplicates(["mine_id", "owner", "share_pct"])
    assert not direct.duplicated(["mine_id", "owner"]).any(), "an owner with two shares"
    assert direct["share_pct"].dropna().between(0, 100).all()
    assert own["parent_share_pct"].dropna().between(0, 100).all()
    parent_totals = own.groupby(["mine_id", "owner"])["parent_share_pct"].sum()
    assert (parent_totals <= 100.0001).all(), parent_totals[parent_totals > 100.0001]
    totals = direct.groupby("mine_id")["share_pct"].sum()
    assert (totals <= 100.0001).all(), totals[totals > 100.0001]
    assert (totals < 99.995).any(), "at least one mine should show an unknown remainder"
    assert pd.to_datetime(own["as_of"], format="%Y-%m-%d").notna().all()
    assert own["source"].str.strip().ne("").all()


def test_glencore_owns_several_mines(reg):
    own = reg.ownership
    is_glencore = own["owner"].str.contains("Glencore", case=False) | own["parent"].fillna(
        ""
    ).str.contains("Glencore", case=False)
    assert own.loc[is_glencore, "mine_id"].nunique() >= 2


def test_ecozones(reg):
    for row in reg.mines.itertuples():
        assert row.ecozone in ECOZONES, row.mine_id
        assert row.continent in CONTINENTS, row.mine_id
    with (bundled_registry_dir() / "ecozones.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["source"].strip() for r in rows)


def test_licences(reg):
    lic = gpd.read_file(bundled_registry_dir() / "licences.geojson")
    assert {"mine_id", "source", "note"} <= set(lic.columns)
    assert set(DEMO_IDS) <= set(lic["mine_id"])
    assert lic["mine_id"].is_unique and set(lic["mine_id"]) <= set(reg.ids)
    assert lic.geometry.is_valid.all()
    with_licence = reg.mines[reg.mines["licence_geometry"].notna()]
    assert len(with_licence) == len(lic)
    for row in with_licence.itertuples():
        inside = row.geometry.intersection(row.licence_geometry).area / row.geometry.area
        assert inside > 0.5, f"{row.mine_id}: licence holds only {inside:.0%} of the AOI"


def test_protected_areas_sample():
    pa = gpd.read_file(bundled_registry_dir() / "protected_areas_sample.geojson")
    assert set(WDPA_COLUMNS) <= set(pa.columns)
    assert 5 <= len(pa) <= 10
    assert pa.geometry.is_valid.all()
    assert set(pa["IUCN_CAT"]) <= IUCN_CATS
    assert pa["SAMPLE_NOTE"].str.contains("not WDPA data").all()


def test_files_are_small():
    total = sum(p.stat().st_size for p in bundled_registry_dir().iterdir() if p.is_file())
    assert total < 200_000
