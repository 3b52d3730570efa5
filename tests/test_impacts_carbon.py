"""Land-use-change carbon, its Monte Carlo interval, and operational emissions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from test_impacts_helpers import box, make_footprint, make_mine

from geomon.impacts import FactorTables, ImpactParams, compute_impacts
from geomon.impacts.carbon import build_carbon_model, lognormal
from geomon.impacts.operational import operational_columns

HA = box(0, 0, 100, 100)  # 1 ha in the local CRS
FAST = ImpactParams(mc_draws=2000, halo=False)


def _one(rows, mine=None, params=FAST):
    mine = mine or make_mine()
    return compute_impacts(make_footprint(rows), mine, params=params)


def test_worked_check_african_rainforest_1ha_gives_1067_t():
    out = _one([{"geometry": HA}])
    row = out.iloc[0]
    assert row["co2e_biomass_t_mean"] == pytest.approx(404.2 * 1.532 * 0.47 * 44 / 12, rel=1e-3)
    assert row["co2e_biomass_t_mean"] == pytest.approx(1067, abs=1.5)
    assert row["co2e_biomass_t_low"] < row["co2e_biomass_t_mean"] < row["co2e_biomass_t_high"]
    assert "ipcc2019_agb_forest@1.0.0" in row["factor_tables"]


def test_factor_uses_r_of_agb_class():
    tables = FactorTables.load()
    model = build_carbon_model(tables, "tropical_dry", "africa", FAST)
    assert model.forest is not None
    assert model.forest.root_shoot == 0.332  # AGB 69.6 <= 125
    model = build_carbon_model(tables, "tropical_rainforest", "africa", FAST)
    assert model.forest is not None and model.forest.root_shoot == 0.532


def test_monte_carlo_is_reproducible_and_seeded():
    rows = [{"geometry": box(0, 0, 300, 300)}]
    a = _one(rows).iloc[0]
    b = _one(rows).iloc[0]
    c = _one(rows, params=ImpactParams(mc_draws=2000, halo=False, seed=7)).iloc[0]
    assert (a["co2e_t_low"], a["co2e_t_high"]) == (b["co2e_t_low"], b["co2e_t_high"])
    assert a["co2e_t_low"] != c["co2e_t_low"]
    assert a["co2e_t_low"] < a["co2e_t_mean"] < a["co2e_t_high"]


def _agb_table(folder: Path, sd: float) -> Path:
    bundled = Path(__file__).resolve().parents[1] / "geomon/impacts/tables/ipcc2019_agb_forest.csv"
    text = bundled.read_text().replace(
        "tropical_rainforest,africa,primary,404.2,120.4",
        f"tropical_rainforest,africa,primary,404.2,{sd}",
    )
    folder.mkdir()
    (folder / "ipcc2019_agb_forest.csv").write_text(text)
    return folder


def test_interval_width_scales_with_sd(tmp_path: Path):
    widths = []
    for sd in (20.0, 40.0):
        folder = _agb_table(tmp_path / f"sd{int(sd)}", sd)
        params = ImpactParams(mc_draws=20_000, halo=False, tables_dir=str(folder))
        row = _one([{"geometry": HA}], params=params).iloc[0]
        widths.append(row["co2e_t_high"] - row["co2e_t_low"])
    assert widths[1] / widths[0] == pytest.approx(2.0, rel=0.05)


def test_area_ci_widens_the_interval():
    base = _one([{"geometry": HA}]).iloc[0]
    wide = _one(
        [{"geometry": HA}], params=ImpactParams(mc_draws=2000, halo=False, area_ci95_rel=0.3)
    )
    row = wide.iloc[0]
    assert row["co2e_t_mean"] == pytest.approx(base["co2e_t_mean"])
    assert row["co2e_t_high"] - row["co2e_t_low"] > base["co2e_t_high"] - base["co2e_t_low"]


def test_lognormal_matches_mean_and_sd():
    draws = lognormal(np.random.default_rng(1), 67.7, 93.4, 200_000)
    assert draws.min() > 0
    assert draws.mean() == pytest.approx(67.7, rel=0.02)
    assert draws.std() == pytest.approx(93.4, rel=0.05)
    assert np.all(lognormal(np.random.default_rng(1), 5.0, math.nan, 10) == 5.0)


def test_soil_spread_over_20_years_when_stock_given():
    rows = [
        {"geometry": HA, "period": "2021"},
        {"geometry": HA, "period": "2022", "status": "persisting", "first_seen": "2021"},
    ]
    params = ImpactParams(
        mc_draws=2000, halo=False, soc_ref_t_c_per_ha=100.0, soc_ref_sd_t_c_per_ha=30.0
    )
    out = _one(rows, params=params)
    yearly = 100.0 * (1 - 0.80) * 44 / 12 / 20
    assert out["co2e_soil_t_mean"].tolist() == pytest.approx([yearly, yearly], rel=1e-2)
    assert out.iloc[1]["co2e_biomass_t_mean"] == 0.0  # persisting land: biomass already counted
    assert bool(out.iloc[0]["co2e_complete"])
    assert out.iloc[1]["co2e_t_low"] < out.iloc[1]["co2e_t_mean"] < out.iloc[1]["co2e_t_high"]
    no_sd = _one(rows, params=ImpactParams(mc_draws=2000, halo=False, soc_ref_t_c_per_ha=100.0))
    assert math.isnan(no_sd.iloc[1]["co2e_soil_t_low"]) and math.isnan(no_sd.iloc[1]["co2e_t_low"])


def test_soil_not_estimated_without_stock():
    row = _one([{"geometry": HA}]).iloc[0]
    assert math.isnan(row["co2e_soil_t_mean"])
    assert "soil carbon: not estimated" in row["notes"]
    assert not row["co2e_complete"]


def test_non_forest_vegetation_has_no_factor():
    rows = [{"geometry": HA, "baseline_cover": "grassland"}]
    row = _one(rows).iloc[0]
    assert math.isnan(row["co2e_t_mean"])
    assert row["ha_no_carbon_factor"] == pytest.approx(1.0, rel=1e-3)
    assert "1.0 ha grassland: no factor" in row["notes"]


def test_partial_factor_keeps_estimated_part_and_flags_it():
    rows = [{"geometry": HA}, {"geometry": box(200, 0, 300, 100), "baseline_cover": "shrubland"}]
    row = _one(rows).iloc[0]
    assert row["co2e_biomass_t_mean"] == pytest.approx(1067, abs=1.5)
    assert not row["co2e_complete"]


def test_bare_land_emits_no_biomass():
    rows = [{"geometry": HA, "baseline_class": "built_other", "baseline_cover": "bare"}]
    row = _one(rows).iloc[0]
    assert row["co2e_biomass_t_mean"] == 0.0


def test_missing_agb_cell_is_no_factor():
    mine = make_mine(ecozone="tropical desert", continent="Oceania")
    row = _one([{"geometry": HA}], mine=mine).iloc[0]
    assert math.isnan(row["co2e_t_mean"])
    assert "no factor for primary tropical_desert in oceania" in row["notes"]


def test_missing_root_shoot_gives_above_ground_only():
    mine = make_mine(ecozone="Tropical shrubland", continent="Africa")
    row = _one([{"geometry": HA}], mine=mine).iloc[0]
    assert row["co2e_biomass_t_mean"] == pytest.approx(48.4 * 0.47 * 44 / 12, rel=1e-3)
    assert "below-ground biomass: no factor" in row["notes"]


def test_unpublished_sd_gives_no_range_unless_assumed():
    mine = make_mine(ecozone="Tropical mountain system", continent="Americas")
    row = _one([{"geometry": HA}], mine=mine).iloc[0]
    assert row["co2e_t_mean"] == pytest.approx(195.0 * 0.47 * 44 / 12, rel=1e-3)
    assert math.isnan(row["co2e_t_low"]) and math.isnan(row["co2e_t_high"])
    assert "no published SD, so no CO2e interval" in row["notes"]
    params = ImpactParams(mc_draws=2000, halo=False, agb_rel_sd_when_unpublished=0.3)
    row = _one([{"geometry": HA}], mine=mine, params=params).iloc[0]
    assert row["co2e_t_low"] < row["co2e_t_mean"] < row["co2e_t_high"]
    assert "assumed 30% of the mean" in row["notes"]


def test_unknown_vegetation_uses_the_assumed_cover():
    rows = [{"geometry": HA, "baseline_cover": "unknown"}]
    assert math.isnan(_one(rows).iloc[0]["co2e_t_mean"])
    params = ImpactParams(mc_draws=2000, halo=False, unknown_vegetation_cover="forest")
    assert _one(rows, params=params).iloc[0]["co2e_t_mean"] == pytest.approx(1067, abs=1.5)


def test_secondary_forest_state():
    params = ImpactParams(mc_draws=2000, halo=False, forest_state="secondary_gt20")
    row = _one([{"geometry": HA}], params=params).iloc[0]
    assert row["co2e_t_mean"] == pytest.approx(212.9 * 1.532 * 0.47 * 44 / 12, rel=1e-3)


def test_rehabilitated_area_reported_separately_not_netted():
    rows = [
        {"geometry": HA, "period": "2022", "first_seen": "2021", "status": "persisting"},
        {
            "geometry": box(200, 0, 300, 100),
            "period": "2022",
            "status": "rehabilitated",
            "first_seen": "2021",
        },
    ]
    row = _one(rows).iloc[0]
    assert row["ha_rehabilitated"] == pytest.approx(1.0, rel=1e-3)
    assert row["ha_disturbed"] == pytest.approx(1.0, rel=1e-3)
    assert row["co2e_t_mean"] == 0.0
    assert "never netted" in row["notes"]


# -- operational emissions ----------------------------------------------------------------------


def _op(**mine):
    return operational_columns(make_mine(**mine), 1.0, FactorTables.load())


def test_operational_site_factor():
    cols, notes = _op(mine_id="tenke_fungurume", ore_mt_per_year=10.0)
    assert cols["op_co2e_t"] == pytest.approx(10e6 * 0.0944)
    assert "site factor" in notes[0]


def test_operational_country_factor():
    cols, _ = _op(mine_id="escondida", country="CHL", ore_mt_per_year=2.0)
    assert cols["op_co2e_t"] == pytest.approx(2e6 * 0.0085)
    assert cols["op_factor_t_co2_per_t_ore"] == 0.0085


def test_operational_not_estimated_paths():
    cols, notes = _op(commodities=("lithium",), ore_mt_per_year=2.0)
    assert math.isnan(cols["op_co2e_t"]) and "no verified per-tonne factor for lithium" in notes[0]
    cols, notes = _op(country="ZMB", ore_mt_per_year=2.0)
    assert math.isnan(cols["op_co2e_t"]) and "nor country factor for ZMB" in notes[0]
    cols, notes = _op(mine_id="kansanshi", country="ZMB")
    assert math.isnan(cols["op_co2e_t"]) and "ore tonnage not in the registry" in notes[0]


def test_operational_scales_with_period_length():
    tables = FactorTables.load()
    mine = make_mine(mine_id="kansanshi", country="ZMB", ore_mt_per_year=4.0)
    cols, _ = operational_columns(mine, 0.25, tables)
    assert cols["op_co2e_t"] == pytest.approx(4e6 * 0.0454 * 0.25)


def test_soil_skips_cropland_and_says_so():
    rows = [{"geometry": HA}, {"geometry": box(200, 0, 300, 100), "baseline_cover": "cropland"}]
    params = ImpactParams(mc_draws=2000, halo=False, soc_ref_t_c_per_ha=100.0)
    row = _one(rows, params=params).iloc[0]
    assert row["co2e_soil_t_mean"] == pytest.approx(100.0 * 0.2 * 44 / 12 / 20, rel=1e-2)
    assert "soil of 1.0 ha cropland: no factor" in row["notes"]
    assert not row["co2e_complete"]
