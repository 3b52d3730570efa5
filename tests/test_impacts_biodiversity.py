"""MSA·ha lost on hand-made polygons, the infrastructure halo and its de-duplication between mines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from test_impacts_helpers import box, make_footprint, make_mine

from geomon.impacts import FactorTables, ImpactParams, compute_impacts, compute_impacts_many
from geomon.impacts._geo import grow
from geomon.impacts.biodiversity import attributed_halo_ha, halo_loss

NO_HALO = ImpactParams(mc_draws=200, halo=False)
CROP_GRASS = [(0.0, 500.0, 0.4), (500.0, 2000.0, 0.8), (2000.0, 7000.0, 0.9)]


def test_msa_sum_on_hand_made_polygons():
    rows = [
        {"geometry": box(0, 0, 1000, 100)},  # 10 ha forest: 1.0 -> 0.05
        {
            "geometry": box(0, 200, 500, 300),
            "baseline_cover": "cropland",
            "status": "persisting",
            "first_seen": "2020",
        },  # 5 ha low-input agriculture: 0.3 -> 0.05
        {
            "geometry": box(0, 400, 300, 500),
            "baseline_class": "bare_disturbed",
            "baseline_cover": "bare",
            "status": "persisting",
            "first_seen": "2020",
        },  # mine land: 0
        {"geometry": box(0, 600, 200, 700), "baseline_class": "water", "baseline_cover": "water"},
        {"geometry": box(0, 800, 400, 900), "status": "rehabilitated", "first_seen": "2019"},
    ]
    row = compute_impacts(make_footprint(rows), make_mine(), params=NO_HALO).iloc[0]
    assert row["msa_ha_lost_footprint"] == pytest.approx(10 * 0.95 + 5 * 0.25, rel=1e-3)
    assert row["msa_ha_lost"] == row["msa_ha_lost_footprint"]
    assert row["ha_no_msa_factor"] == pytest.approx(2.0, rel=1e-3)
    assert "GLOBIO has no mining class" in row["notes"]
    assert "MSA of 2.0 ha water: no factor" in row["notes"]


def test_secondary_forest_starts_lower():
    rows = [{"geometry": box(0, 0, 1000, 100)}]
    params = ImpactParams(mc_draws=200, halo=False, forest_state="secondary_le20")
    row = compute_impacts(make_footprint(rows), make_mine(), params=params).iloc[0]
    assert row["msa_ha_lost"] == pytest.approx(10 * (0.5 - 0.05), rel=1e-3)


def _buffer_area(side: float, r: float) -> float:
    """Area (m²) of a square of ``side`` buffered by ``r``: a² + 4ar + πr²."""
    return side * side + 4 * side * r + math.pi * r * r


def test_halo_rings_of_one_square_match_hand_computed_areas():
    square = box(0, 0, 100, 100)
    got = attributed_halo_ha(square, [], CROP_GRASS)
    edges = [0.0, 500.0, 2000.0, 7000.0]
    want = [(_buffer_area(100, edges[i + 1]) - _buffer_area(100, edges[i])) / 1e4 for i in range(3)]
    assert got == pytest.approx(want, rel=1e-3)
    loss = halo_loss(square, [], shapely.Polygon(), [], CROP_GRASS, 1.0)
    assert loss == pytest.approx(want[0] * 0.6 + want[1] * 0.2 + want[2] * 0.1, rel=1e-3)


def _zone_areas(geoms, bands):
    """Band areas around the union of all disturbance (what must be shared out)."""
    d = shapely.union_all(geoms)
    out = []
    for inner, outer, _ in bands:
        inner_g = d if inner == 0 else shapely.union_all([grow(g, inner) for g in geoms])
        out.append(
            shapely.union_all([grow(g, outer) for g in geoms]).difference(inner_g).area / 1e4
        )
    return out


def test_halo_shared_between_neighbours_is_not_double_counted():
    a, b = box(0, 0, 200, 200), box(1200, 0, 1400, 200)  # 1 km apart: rings overlap
    share_a = attributed_halo_ha(a, [b], CROP_GRASS)
    share_b = attributed_halo_ha(b, [a], CROP_GRASS)
    alone = attributed_halo_ha(a, [], CROP_GRASS)
    total = _zone_areas([a, b], CROP_GRASS)
    assert [x + y for x, y in zip(share_a, share_b, strict=True)] == pytest.approx(total, rel=1e-6)
    assert share_a == pytest.approx(share_b, rel=1e-6)  # symmetric layout, equal shares
    assert sum(share_a) < sum(alone)


def test_halo_three_mines_shares_add_up():
    geoms = [box(0, 0, 200, 200), box(900, 0, 1100, 300), box(400, 900, 700, 1000)]
    shares = [attributed_halo_ha(g, [h for h in geoms if h is not g], CROP_GRASS) for g in geoms]
    sums = [sum(col) for col in zip(*shares, strict=True)]
    assert sums == pytest.approx(_zone_areas(geoms, CROP_GRASS), rel=1e-6)


def test_halo_is_counted_against_baseline():
    pit = box(0, 0, 200, 200)
    assert halo_loss(pit, [], pit, [], CROP_GRASS, 1.0) == pytest.approx(0.0, abs=1e-9)
    grown = box(0, 0, 400, 200)
    assert halo_loss(grown, [], pit, [], CROP_GRASS, 1.0) > 0


def test_halo_biome_from_cover_and_ecozone():
    rows = [{"geometry": box(0, 0, 200, 200), "baseline_cover": "grassland"}]
    params = ImpactParams(mc_draws=200)
    row = compute_impacts(make_footprint(rows), make_mine(), params=params).iloc[0]
    assert row["halo_biome"] == "crop_grass"
    rows = [{"geometry": box(0, 0, 200, 200)}]
    row = compute_impacts(make_footprint(rows), make_mine(), params=params).iloc[0]
    assert row["halo_biome"] == "tropical_forest"
    mine = make_mine(ecozone="Boreal coniferous forest", continent="Americas", lat=55.0)
    from test_impacts_helpers import local

    fp = make_footprint(rows, crs=local(25.4, 55.0))
    assert (
        compute_impacts(fp, mine, params=params).iloc[0]["halo_biome"] == "temperate_boreal_forest"
    )


def test_many_mines_halo_shares_add_up_to_the_union():
    bands = FactorTables.load().halo_bands("tropical_forest")
    a, b = box(-1500, 0, -1300, 200), box(1300, 0, 1500, 200)
    mines = {m: make_mine(m) for m in ("mine_a", "mine_b")}
    fps = {
        "mine_a": make_footprint([{"geometry": a}], "mine_a"),
        "mine_b": make_footprint([{"geometry": b}], "mine_b"),
    }
    import geopandas as gpd

    registry = gpd.GeoDataFrame(list(mines.values()), geometry="geometry", crs=4326)
    params = ImpactParams(mc_draws=200, edge_depth_m=50.0)
    out = compute_impacts_many(fps, registry, params=params, scheduler="sync")
    assert out["mine_id"].tolist() == ["mine_a", "mine_b"]
    weights = [1 - m for _, _, m in bands]
    want = sum(w * z for w, z in zip(weights, _zone_areas([a, b], bands), strict=True))
    assert out["msa_ha_lost_halo"].sum() == pytest.approx(want, rel=2e-3)
    alone = compute_impacts(fps["mine_a"], mines["mine_a"], params=params)
    assert out.iloc[0]["msa_ha_lost_halo"] < alone.iloc[0]["msa_ha_lost_halo"]
    threads = compute_impacts_many(fps, registry, params=params, scheduler="threads")
    assert threads["msa_ha_lost_halo"].tolist() == out["msa_ha_lost_halo"].tolist()


def test_many_mines_on_processes_and_with_an_empty_footprint():
    import geopandas as gpd

    mines = [make_mine("mine_a"), make_mine("mine_b")]
    registry = gpd.GeoDataFrame(mines, geometry="geometry", crs=4326)
    fps = {
        "mine_a": make_footprint([{"geometry": box(0, 0, 200, 200)}], "mine_a"),
        "mine_b": make_footprint([{"geometry": box(0, 0, 200, 200)}], "mine_b").iloc[0:0],
    }
    params = ImpactParams(mc_draws=200)
    out = compute_impacts_many(fps, registry, params=params, scheduler="processes")
    assert out["mine_id"].tolist() == ["mine_a"]
    same = compute_impacts_many(fps, registry, params=params, scheduler="sync")
    assert out.drop(columns="notes").equals(same.drop(columns="notes"))


def test_filling_land_inside_the_baseline_halo_lowers_the_halo_part():
    base = shapely.union_all([box(0, 0, 200, 200), box(600, 0, 800, 200)])
    now = box(0, 0, 800, 200)  # the 8 ha between the pits, all in their 0-500 m band
    halo = halo_loss(now, [], base, [], CROP_GRASS, 1.0)
    assert halo < 0
    assert 8 * 0.95 + halo > 0  # the footprint part at full MSA more than makes up for it


def _scattered_patches(rng, shape: tuple[int, int]) -> np.ndarray:
    """A bool raster of irregular blobs with staircase outlines (smoothed noise, thresholded)."""
    from scipy import ndimage

    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.0)
    return noise > noise.std()


def _pixel_union(mask, x0: float, y0: float, res: float):
    """Union of the pixel outlines of ``mask`` (row 0 at the top, ``y0`` the top edge)."""
    import rasterio.features
    from affine import Affine

    shapes = rasterio.features.shapes(
        mask.astype(np.uint8), mask=mask, transform=Affine(res, 0, x0, 0, -res, y0)
    )
    return shapely.union_all([shapely.geometry.shape(g) for g, _ in shapes])


def test_halo_shares_match_a_raster_distance_transform():
    """Independent check of the vector halo (two-step buffers, band by nearest disturbance of any
    mine, equal split): the same shares from exact Euclidean distances on a 5 m raster."""
    from scipy import ndimage

    bands = [(0.0, 200.0, 0.4), (200.0, 800.0, 0.8), (800.0, 2000.0, 0.9)]
    rng = np.random.default_rng(7)
    res = 10.0
    masks = [_scattered_patches(rng, (150, 150)) for _ in range(2)]
    origins = [(0.0, 1500.0), (1900.0, 1500.0)]  # 400 m apart: the rings of both overlap
    geoms = [_pixel_union(m, x, y, res) for m, (x, y) in zip(masks, origins, strict=True)]
    assert all(shapely.get_num_coordinates(g) > 2_000 for g in geoms)  # the two-step buffer path
    got = [attributed_halo_ha(geoms[i], [geoms[1 - i]], bands) for i in range(2)]

    # 5 m cells over the whole ring extent; each 10 m pixel is 2 x 2 cells
    fine, margin = 5.0, 2100.0
    nx, ny = int((3400 + 2 * margin) / fine), int((1500 + 2 * margin) / fine)
    dist = []
    for m, (x, y) in zip(masks, origins, strict=True):
        grid = np.zeros((ny, nx), bool)
        r0, c0 = int((margin + 1500 - y) / fine), int((margin + x) / fine)
        up = m.repeat(2, axis=0).repeat(2, axis=1)
        grid[r0 : r0 + up.shape[0], c0 : c0 + up.shape[1]] = up
        # distance from a cell centre to the nearest disturbed cell's edge, not its centre
        d = ndimage.distance_transform_edt(~grid, sampling=fine)
        dist.append(np.where(grid, 0.0, np.maximum(d - fine / 2, 0.0)))
    nearest = np.minimum(*dist)
    cell_ha = fine * fine / 1e4
    for i in range(2):
        want = []
        for inner, outer, _ in bands:
            zone = (nearest >= inner) & (nearest < outer) & (nearest > 0)
            mine = zone & (dist[i] < outer)
            shared = mine & (dist[1 - i] < outer)
            want.append(float((mine & ~shared).sum() + 0.5 * shared.sum()) * cell_ha)
        assert got[i] == pytest.approx(want, rel=3e-3), (i, got[i], want)
