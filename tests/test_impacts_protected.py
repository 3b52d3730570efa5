"""Footprint against protected areas, KBAs and World Heritage sites: hectares, categories, distance."""

from __future__ import annotations

import json
import math

import pytest
from test_impacts_helpers import box, make_footprint, make_layer, make_mine

from geomon.impacts import ImpactLayers, ImpactParams, bundled_layers, compute_impacts

FP = make_footprint([{"geometry": box(-500, -500, 500, 500)}])  # 100 ha
PARAMS = ImpactParams(mc_draws=200, halo=False)


def _row(layers: ImpactLayers, params: ImpactParams = PARAMS):
    return compute_impacts(FP, make_mine(), layers=layers, params=params).iloc[0]


def test_hectares_inside_by_iucn_category_and_hits():
    pa = make_layer(
        [
            (box(0, -2000, 3000, 2000), {"NAME": "Half Park", "IUCN_CAT": "II"}),
            (box(-500, 250, 0, 500), {"NAME": "Corner Reserve", "IUCN_CAT": "IV"}),
            (box(-3000, -3000, 3000, 3000), {"NAME": "Planned", "STATUS": "Proposed"}),
        ]
    )
    row = _row(ImpactLayers(protected_areas=pa))
    assert row["ha_in_protected"] == pytest.approx(50 + 12.5, rel=1e-3)
    by_cat = json.loads(row["ha_in_protected_by_iucn"])
    assert by_cat == pytest.approx({"II": 50.0, "IV": 12.5}, rel=1e-3)
    assert "Half Park (WDPAID 1000, IUCN II)" in row["protected_areas_hit"]
    assert "Planned" not in row["protected_areas_hit"]  # proposed areas are not protected
    assert row["distance_to_nearest_pa_m"] == 0.0


def test_overlapping_areas_count_once_in_total():
    pa = make_layer(
        [
            (box(0, -2000, 3000, 2000), {"IUCN_CAT": "II"}),
            (box(0, -2000, 3000, 2000), {"IUCN_CAT": "Ia"}),
        ]
    )
    row = _row(ImpactLayers(protected_areas=pa))
    assert row["ha_in_protected"] == pytest.approx(50.0, rel=1e-3)
    assert sum(json.loads(row["ha_in_protected_by_iucn"]).values()) == pytest.approx(
        100.0, rel=1e-3
    )


def test_distance_and_buffers():
    pa = make_layer([(box(5500, -500, 6500, 500), {"NAME": "Far Park"})])
    params = ImpactParams(mc_draws=200, halo=False, pa_buffers_m=(5200.0, 10_000.0, 100.0))
    row = _row(ImpactLayers(protected_areas=pa), params)
    assert row["ha_in_protected"] == 0.0
    assert row["protected_areas_hit"] == ""
    assert row["distance_to_nearest_pa_m"] == pytest.approx(5000.0, rel=1e-3)
    assert row["ha_within_buffer"] == pytest.approx(20.0, rel=1e-2)  # strip 200 m x 1 km
    assert row["ha_within_buffer_m"] == 5200.0
    within = json.loads(row["ha_within_buffers"])
    assert within["10000"] == pytest.approx(100.0, rel=1e-3)
    assert within["100"] == 0.0


def test_nearest_area_found_far_away():
    pa = make_layer([(box(80_000, -500, 81_000, 500), {"NAME": "Distant"})])
    row = _row(ImpactLayers(protected_areas=pa))
    assert row["distance_to_nearest_pa_m"] == pytest.approx(79_500.0, rel=1e-2)
    assert row["ha_within_buffer"] == 0.0


def test_kba_and_world_heritage_when_given():
    kba = make_layer([(box(-500, -500, 0, 500), {"NAME": "Wetland KBA"})])[["NAME", "geometry"]]
    whs = make_layer([(box(2000, -500, 3000, 500), {"NAME": "Old Forest", "STATUS": "Inscribed"})])
    row = _row(ImpactLayers(kba=kba, world_heritage=whs))
    assert row["ha_in_kba"] == pytest.approx(50.0, rel=1e-3)
    assert row["kba_hit"] == "Wetland KBA"
    assert row["ha_in_world_heritage"] == 0.0
    assert row["distance_to_nearest_world_heritage_m"] == pytest.approx(1500.0, rel=1e-3)
    assert math.isnan(row["ha_in_protected"])
    assert "protected_areas: not assessed (no layer given)" in row["notes"]


def test_no_layers_not_assessed():
    row = _row(ImpactLayers())
    for column in ("ha_in_protected", "ha_in_kba", "ha_in_world_heritage", "ha_within_buffer"):
        assert math.isnan(row[column])


def test_bundled_sample_layer_loads_without_wdpaid():
    layers = bundled_layers()
    assert layers.protected_areas is not None and len(layers.protected_areas) > 0
    assert layers.protected_areas.crs.to_epsg() == 4326


def test_nearest_beyond_search_radius_is_nan_with_a_note():
    pa = make_layer([(box(80_000, -500, 81_000, 500), {"NAME": "Distant"})])
    params = ImpactParams(mc_draws=200, halo=False, nearest_search_m=50_000.0)
    row = _row(ImpactLayers(protected_areas=pa), params)
    assert math.isnan(row["distance_to_nearest_pa_m"])
    assert "protected_areas: none within 50 km of the footprint" in row["notes"]
