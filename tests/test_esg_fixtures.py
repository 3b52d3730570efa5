"""Hand-made stage outputs in the shapes of docs/contracts.md, shared by the esg/report tests.

A mine at the equator (UTM 52N): a 100 ha pit at baseline (2018) and a strip of new disturbance
each year, 2019-2023, growing east; one strip (2022, 60 ha) is a spike and crosses the licence
edge; part of the pit is rehabilitated in 2023; 2023 has poor clear-sky coverage. A protected area
lies ~1 km east of the 2022 strip. Every figure below is known by construction.
"""

from __future__ import annotations

import datetime as dt
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from shapely.geometry import box

CRS = "EPSG:32652"
X0, Y0 = 400_000.0, 50_000.0
#: (period, x from, x to, baseline cover) of each year's new strip, 1 km tall
STRIPS = [
    ("2019", 1000, 1100, "forest"),
    ("2020", 1100, 1220, "forest"),
    ("2021", 1220, 1330, "forest"),
    ("2022", 1330, 1930, "shrubland"),
    ("2023", 1930, 2030, "cropland"),
]
PERIODS = [s[0] for s in STRIPS]


def _box(x1: float, y1: float, x2: float, y2: float) -> object:
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def _ha(geom: object) -> float:
    return float(gpd.GeoSeries([geom], crs=CRS).to_crs("EPSG:6933").area.iloc[0] / 1e4)


def _row(period: str, status: str, first_seen: str, cls: str, cover: str, geom: object) -> dict:
    year = int(period)
    return {
        "mine_id": "testmine",
        "period": period,
        "period_start": dt.date(year, 1, 1),
        "period_end": dt.date(year, 12, 31),
        "status": status,
        "first_seen": first_seen,
        "baseline_class": cls,
        "baseline_cover": cover,
        "area_ha": _ha(geom),
        "geometry": geom,
    }


def footprint() -> gpd.GeoDataFrame:
    rows = []
    for i, (period, *_rest) in enumerate(STRIPS):
        rehab = period == "2023"
        pit = _box(0, 0, 1000, 1000)
        if rehab:
            pit = pit.difference(_box(0, 0, 200, 200))
            rows.append(
                _row(
                    period, "rehabilitated", "2018", "bare_disturbed", "bare", _box(0, 0, 200, 200)
                )
            )
        rows.append(_row(period, "persisting", "2018", "bare_disturbed", "bare", pit))
        for earlier, x1, x2, cover in STRIPS[:i]:
            rows.append(
                _row(period, "persisting", earlier, "vegetation", cover, _box(x1, 0, x2, 1000))
            )
        _, x1, x2, cover = STRIPS[i]
        cls = "vegetation"
        rows.append(_row(period, "new", period, cls, cover, _box(x1, 0, x2, 1000)))
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def mine(with_licence: bool = True) -> pd.Series:
    aoi = gpd.GeoSeries([_box(-500, -500, 3000, 1500)], crs=CRS).to_crs(4326).iloc[0]
    lic = gpd.GeoSeries([_box(-100, -100, 1700, 1100)], crs=CRS).to_crs(4326).iloc[0]
    return pd.Series(
        {
            "mine_id": "testmine",
            "name": "Test Mine",
            "country": "IDN",
            "commodities": ["nickel", "cobalt"],
            "status": "operating",
            "source": "hand-made test fixture",
            "coordinate_accuracy": "exact",
            "ecozone": "tropical_rainforest",
            "continent": "asia",
            "geometry": aoi,
            "licence_geometry": lic if with_licence else None,
        }
    )


def coverage() -> pd.DataFrame:
    rows = []
    for period in PERIODS:
        year = int(period)
        frac = 0.3 if period == "2023" else 0.9
        rows.append(
            {
                "mine_id": "testmine",
                "period": period,
                "period_start": dt.date(year, 1, 1),
                "period_end": dt.date(year, 12, 31),
                "clear_fraction": frac,
                "n_items": 12,
                "low_coverage": frac < 0.5,
            }
        )
    return pd.DataFrame(rows)


def areas(inside: bool = False) -> gpd.GeoDataFrame:
    """WDPA layout: a national park 1.07 km east of the 2022 strip (or overlapping it)."""
    x1 = 1800 if inside else 3000
    rows = [
        {
            "WDPAID": 555,
            "NAME": "Test National Park",
            "DESIG_ENG": "National Park",
            "IUCN_CAT": "II",
            "geometry": _box(x1, 0, 5000, 1000),
        },
        {
            "WDPAID": 777,
            "NAME": "Far Heritage",
            "DESIG_ENG": "World Heritage Site (natural or mixed)",
            "IUCN_CAT": "Not Reported",
            "geometry": _box(60_000, 0, 70_000, 1000),
        },
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).to_crs(4326)


def impacts() -> pd.DataFrame:
    """Impact records in geomon.impacts' shape: CO2e with a range (not estimated for non-forest),
    MSA-ha (footprint + halo), protected-area figures, factor tables as ``name@version; ...``."""
    fp = footprint()
    new = fp[fp["status"] == "new"].groupby("period")["area_ha"].sum()
    rows = []
    for i, period in enumerate(PERIODS):
        ha = float(new[period])
        forest = STRIPS[i][3] == "forest"
        rows.append(
            {
                "mine_id": "testmine",
                "period": period,
                "period_start": f"{period}-01-01",
                "period_end": f"{period}-12-31",
                "co2e_t_mean": ha * 1067.0 if forest else math.nan,
                "co2e_t_low": ha * 500.0 if forest else math.nan,
                "co2e_t_high": ha * 1600.0 if forest else math.nan,
                "op_co2e_t": math.nan,
                "msa_ha_lost": ha * 1.25,
                "msa_ha_lost_footprint": ha * 0.95,
                "msa_ha_lost_halo": ha * 0.3,
                "ha_in_protected": 0.0,
                "ha_in_protected_by_iucn": "{}",
                "ha_within_buffer": ha,
                "distance_to_nearest_pa_m": 1070.0,
                "ha_natural_cleared_after_cutoff": 11.0
                if period == "2021"
                else 71.0
                if int(period) > 2021
                else 0.0,
                "notes": ""
                if forest
                else "biomass of shrubland: no factor (not estimated); operational emissions: not estimated",
                "factor_tables": "globio_msa_land_use@1.0.0; ipcc2019_agb_forest@1.0.0",
            }
        )
    return pd.DataFrame(rows)


def composites() -> xr.Dataset:
    """Yearly true-colour composites (40 m grid) over the AOI: green vegetation, brown where the
    period's footprint is disturbed, so the maps show what the footprint says."""
    fp = footprint()
    xs = np.arange(X0 - 500 + 20, X0 + 3000, 40.0)
    ys = np.arange(Y0 + 1500 - 20, Y0 - 500, -40.0)
    xx, yy = np.meshgrid(xs, ys)
    bands = {
        b: np.zeros((len(PERIODS), len(ys), len(xs)), "float32") for b in ("red", "green", "blue")
    }
    rng = np.random.default_rng(0)
    for i, period in enumerate(PERIODS):
        cur = fp[(fp["period"] == period) & fp["status"].isin(["new", "persisting"])]
        inside = shapely.contains_xy(shapely.union_all(cur.geometry.values), xx, yy)
        noise = rng.normal(0, 0.01, xx.shape)
        bands["red"][i] = np.where(inside, 0.30, 0.05) + noise
        bands["green"][i] = np.where(inside, 0.25, 0.12) + noise
        bands["blue"][i] = np.where(inside, 0.20, 0.04) + noise
    times = pd.to_datetime([f"{p}-01-01" for p in PERIODS])
    ds = xr.Dataset(
        {b: (("time", "y", "x"), v) for b, v in bands.items()},
        coords={"time": times, "y": ys, "x": xs},
    )
    ds.attrs.update(
        {"sensor": "sentinel-2", "item_ids": [f"S2DEMO_testmine_{p}0615" for p in PERIODS]}
    )
    return ds


def test_fixture_footprint_follows_the_contract() -> None:
    fp = footprint()
    cols = {
        "mine_id",
        "period",
        "period_start",
        "period_end",
        "status",
        "first_seen",
        "baseline_class",
        "baseline_cover",
        "area_ha",
        "geometry",
    }
    assert cols <= set(fp.columns)
    assert set(fp["status"]) == {"new", "persisting", "rehabilitated"}
    new = fp[fp["status"] == "new"].groupby("period")["area_ha"].sum()
    assert new["2022"] == pytest.approx(60.0, rel=0.01)  # UTM at the equator ~ equal-area
    assert np.isfinite(fp["area_ha"]).all()
