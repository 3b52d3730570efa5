"""Fragmentation on known shapes, and the EU cut-off flag."""

from __future__ import annotations

import math
from datetime import date

import pytest
import shapely
from test_impacts_helpers import box, make_footprint, make_mine

from geomon.impacts import ImpactParams, compute_impacts
from geomon.impacts.fragmentation import fragmentation

WINDOW = box(0, 0, 1000, 1000)  # 100 ha


def test_square_with_square_hole():
    got = fragmentation(WINDOW, box(400, 400, 600, 600), depth_m=100.0)
    assert got.edge_m == pytest.approx(800.0, abs=0.01)
    assert got.edge_density_m_per_ha == pytest.approx(8.0, abs=1e-4)
    # core = window - (hole grown by 100 m: 200² + 4·200·100 + π·100²)
    core_m2 = 1_000_000 - (200**2 + 4 * 200 * 100 + math.pi * 100**2)
    assert got.core_area_ha == pytest.approx(core_m2 / 1e4, abs=0.01)
    assert got.natural_ha == pytest.approx(96.0)


def test_window_outline_is_not_edge_nor_erodes_core():
    whole = fragmentation(WINDOW, box(2000, 2000, 2100, 2100), depth_m=100.0)
    assert whole.edge_m == 0.0 and whole.core_area_ha == pytest.approx(100.0)
    corner = fragmentation(WINDOW, box(-50, -50, 200, 200), depth_m=100.0)
    assert corner.edge_m == pytest.approx(400.0, abs=0.01)  # only the two inner sides
    assert corner.natural_ha == pytest.approx(96.0)


def test_fragmentation_before_and_after_in_records():
    mine = make_mine(half_m=500.0)  # 1 km square AOI = 100 ha
    fp = make_footprint([{"geometry": box(-100, -100, 100, 100)}])
    params = ImpactParams(mc_draws=200, halo=False, edge_depth_m=100.0)
    row = compute_impacts(fp, mine, params=params).iloc[0]
    assert row["edge_density_before"] == 0.0
    assert row["core_area_ha_before"] == pytest.approx(100.0, rel=1e-3)
    assert row["edge_density_after"] == pytest.approx(8.0, rel=1e-3)
    core = 100.0 - (200**2 + 4 * 200 * 100 + math.pi * 100**2) / 1e4
    assert row["core_area_ha_after"] == pytest.approx(core, rel=1e-3)
    assert row["edge_depth_m"] == 100.0


def test_baseline_mine_land_counts_before():
    mine = make_mine(half_m=500.0)
    rows = [
        {
            "geometry": box(-100, -100, 100, 100),
            "baseline_class": "bare_disturbed",
            "baseline_cover": "bare",
            "status": "persisting",
            "first_seen": "2019",
        },
        {"geometry": box(100, -100, 300, 100)},
    ]
    row = compute_impacts(
        make_footprint(rows), mine, params=ImpactParams(mc_draws=200, halo=False)
    ).iloc[0]
    assert row["edge_density_before"] == pytest.approx(8.0, rel=1e-3)
    assert row["edge_density_after"] == pytest.approx(12.0, rel=1e-3)  # 400 x 200 m opening


# -- EU cut-off flag ---------------------------------------------------------------------------


def _cutoff_rows():
    return [
        {
            "geometry": box(0, 0, 500, 100),
            "period": "2022",
            "status": "persisting",
            "first_seen": "2020",
        },  # 5 ha forest cleared in 2020: before the cut-off
        {
            "geometry": box(0, 200, 1000, 300),
            "period": "2022",
            "status": "persisting",
            "first_seen": "2021",
        },  # 10 ha forest, 2021
        {
            "geometry": box(0, 400, 400, 500),
            "period": "2022",
            "baseline_cover": "grassland",
        },  # 4 ha
        {
            "geometry": box(0, 600, 300, 700),
            "period": "2022",
            "baseline_cover": "cropland",
        },  # not natural
        {
            "geometry": box(0, 800, 200, 900),
            "period": "2022",
            "baseline_class": "bare_disturbed",
            "baseline_cover": "bare",
        },
    ]


def test_cutoff_flag_counts_natural_cover_cleared_after_2020():
    fp = make_footprint(_cutoff_rows())
    row = compute_impacts(fp, make_mine(), params=ImpactParams(mc_draws=200, halo=False)).iloc[0]
    assert row["ha_natural_cleared_after_cutoff"] == pytest.approx(14.0, rel=1e-3)


def test_cutoff_inside_a_period_counts_and_says_so():
    fp = make_footprint(_cutoff_rows())
    params = ImpactParams(mc_draws=200, halo=False, cutoff_date=date(2021, 6, 30))
    row = compute_impacts(fp, make_mine(), params=params).iloc[0]
    assert row["ha_natural_cleared_after_cutoff"] == pytest.approx(14.0, rel=1e-3)
    assert "spanning 2021-06-30, counted as after it" in row["notes"]


def test_cutoff_counts_unknown_vegetation_and_says_so():
    rows = [{"geometry": box(0, 0, 100, 100), "baseline_cover": "unknown"}]
    row = compute_impacts(
        make_footprint(rows), make_mine(), params=ImpactParams(mc_draws=200, halo=False)
    ).iloc[0]
    assert row["ha_natural_cleared_after_cutoff"] == pytest.approx(1.0, rel=1e-3)
    assert "vegetation of unknown cover" in row["notes"]


def test_adjacent_polygons_of_different_periods_make_one_patch():
    """Polygons of different periods sharing an edge (with different vertex sets, as pixel
    polygons do) are unioned in the footprint's own UTM CRS and measured at true size: the shared
    edge is not edge. (On the demo footprint, unions after reprojection left zero-width cracks
    that added about 8 % to the edge length.)"""
    from pyproj import Transformer
    from test_impacts_helpers import LAT, LON, UTM

    x, y = Transformer.from_crs(4326, UTM, always_xy=True).transform(LON, LAT)
    left = shapely.Polygon(
        [(x - 100, y), (x, y), (x, y + 50), (x, y + 100), (x - 100, y + 100)]
    )  # extra vertex on the shared edge
    right = box(x, y, x + 100, y + 100)
    rows = [
        {
            "geometry": left,
            "period": "2021",
            "status": "persisting",
            "first_seen": "2019",
            "baseline_class": "bare_disturbed",
            "baseline_cover": "bare",
        },
        {
            "geometry": right,
            "period": "2022",
            "status": "persisting",
            "first_seen": "2019",
            "baseline_class": "bare_disturbed",
            "baseline_cover": "bare",
        },
    ]
    mine = make_mine(half_m=500.0)
    fp = make_footprint(rows, crs=UTM, out_crs=UTM)
    out = compute_impacts(fp, mine, params=ImpactParams(mc_draws=200, halo=False))
    window_ha = 100.0  # the 1 km AOI square, true size
    assert out.iloc[0]["edge_density_before"] == pytest.approx(600.0 / window_ha, rel=2e-3)
