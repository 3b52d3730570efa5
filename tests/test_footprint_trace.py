from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from pyproj import Geod
from shapely.geometry import box

from geomon.classify.classes import BARE_DISTURBED as B
from geomon.classify.classes import CLOUD_NODATA as C
from geomon.classify.classes import VEGETATION as V
from geomon.footprint import (
    AWAITING,
    COLUMNS,
    FootprintOptions,
    disturbed_area,
    trace_footprint,
)
from geomon.footprint.polygons import area_ha

CRS = "EPSG:32735"  # UTM 35S (southern Africa)
X0, Y0 = 500_000.0, 8_800_000.0


def _classes(codes: np.ndarray, years: list[int]) -> xr.Dataset:
    _, h, w = codes.shape
    ds = xr.Dataset(
        {"class": (("time", "y", "x"), codes.astype(np.uint8))},
        coords={
            "time": pd.to_datetime([f"{y}-01-01" for y in years]),
            "y": Y0 - 5 - 10 * np.arange(h),
            "x": X0 + 5 + 10 * np.arange(w),
        },
        attrs={"period": "year"},
    )
    return ds.rio.write_crs(CRS)


def _aoi_lonlat(x0: float, y0: float, x1: float, y1: float) -> object:
    return gpd.GeoSeries([box(x0, y0, x1, y1)], crs=CRS).to_crs("EPSG:4326").iloc[0]


def _scene() -> xr.Dataset:
    codes = np.full((5, 60, 60), V, np.uint8)
    codes[:, 5:15, 5:15] = B  # pit at baseline: 1 ha, persisting
    codes[2:, 30:50, 30:50] = B  # new in 2021 (confirmed by 2022): 4 ha
    codes[1, 20:25, 40:45] = B  # one-off bare in 2020: 0.25 ha, never confirmed
    codes[1:, 52:55, 2:5] = B  # tiny persistent patch, 0.09 ha < MMU
    codes[3, 30:40, 30:40] = C  # cloud over part of the new pit in 2022: state carries
    return _classes(codes, [2019, 2020, 2021, 2022, 2023])


def test_footprint_statuses_areas_and_columns() -> None:
    fp = trace_footprint(_scene(), None, "mine_a")
    assert tuple(fp.columns) == COLUMNS
    assert fp.crs.to_epsg() == 32735
    areas = disturbed_area(fp)
    assert areas.loc["2019", "persisting"] == pytest.approx(1.0, rel=1.5e-3)
    assert areas.loc["2020", "new"] == 0.0
    assert areas.loc["2021", "new"] == pytest.approx(4.0, rel=1.5e-3)
    assert areas.loc["2022", "persisting"] == pytest.approx(5.0, rel=1.5e-3)
    assert areas.loc["2022", "new"] == 0.0
    new = fp[fp.status == "new"]
    assert set(new.first_seen) == {"2021"} and set(new.baseline_class) == {"vegetation"}
    old = fp[(fp.period == "2022") & (fp.first_seen == "2019")]
    assert set(old.baseline_class) == {"bare_disturbed"} and set(old.baseline_cover) == {"bare"}
    assert fp.period_start.iloc[0].isoformat() == fp.period.iloc[0] + "-01-01"
    assert all(fp.period_end.map(lambda d: d.isoformat()[5:]) == "12-31")
    assert fp.geometry.is_valid.all()


def test_ground_awaiting_confirmation_is_reported_apart() -> None:
    codes = _scene()["class"].values.copy()
    codes[4, 20:30, 5:25] = B  # bare in the last period only: 2 ha, waits for the next one
    codes[4, 40:42, 8:10] = B  # 0.04 ha: under the minimum mapping unit
    codes[3:, 52:57, 50:60] = B  # bare in 2022 then cloud in 2023: its latest clear view
    codes[4, 52:57, 50:60] = C  # is bare but 2022 alone did not confirm it (0.5 ha)
    fp = trace_footprint(_classes(codes, [2019, 2020, 2021, 2022, 2023]), None, "mine_a")
    assert fp.attrs[AWAITING] == {"2023": pytest.approx(2.5, rel=1.5e-3)}
    before = trace_footprint(_scene(), None, "mine_a")
    assert disturbed_area(fp).equals(disturbed_area(before))  # never in the footprint
    assert before.attrs[AWAITING] == {"2023": 0.0}
    # the AOI clips it as it clips the footprint: columns 0..14 of the 2 ha patch's 5..24
    aoi = _aoi_lonlat(X0, Y0 - 600, X0 + 150, Y0)
    clipped = trace_footprint(_classes(codes, [2019, 2020, 2021, 2022, 2023]), aoi, "mine_a")
    assert clipped.attrs[AWAITING]["2023"] == pytest.approx(1.0, rel=5e-3)


def test_minimum_mapping_unit_is_configurable() -> None:
    fine = trace_footprint(_scene(), None, "mine_a", FootprintOptions(min_mapping_unit_ha=0.05))
    assert disturbed_area(fine).loc["2021", "persisting"] == pytest.approx(1.09, rel=1.5e-3)


def test_disturbance_outside_the_aoi_is_not_counted() -> None:
    # AOI: x from 0 to 400 m (pixel columns 0..39) -> half of the new pit (cols 30..49) is outside
    aoi = _aoi_lonlat(X0, Y0 - 600, X0 + 400, Y0)
    fp = trace_footprint(_scene(), aoi, "mine_a")
    new = fp[fp.status == "new"]
    assert new.area_ha.sum() == pytest.approx(2.0, rel=5e-3)
    assert new.geometry.total_bounds[2] <= X0 + 400 + 1e-6


def test_aoi_edge_cuts_pixels_exactly() -> None:
    # cuts half a pixel off the new pit's left and bottom columns/rows
    aoi = _aoi_lonlat(X0 + 305, Y0 - 495, X0 + 520, Y0 - 280)
    fp = trace_footprint(_scene(), aoi, "m", FootprintOptions(min_mapping_unit_ha=0))
    new = fp[fp.status == "new"]
    assert new.area_ha.sum() == pytest.approx(1.95 * 1.95, rel=1.5e-3)


def test_equal_area_matches_geodesic_area() -> None:
    # a 2 km x 3 km UTM rectangle and a 0.2 x 0.3 degree box at 60 N
    rect = gpd.GeoSeries([box(X0, Y0, X0 + 2000, Y0 + 3000)], crs=CRS)
    geod = Geod(ellps="WGS84")
    for shape in (rect, gpd.GeoSeries([box(10.0, 60.0, 10.2, 60.3)], crs="EPSG:4326")):
        lonlat = shape.to_crs("EPSG:4326").iloc[0].segmentize(0.001)
        truth = abs(geod.geometry_area_perimeter(lonlat)[0]) / 10_000
        assert area_ha(shape)[0] == pytest.approx(truth, rel=1e-5)


def test_nothing_disturbed_gives_empty_frame_with_contract_columns() -> None:
    fp = trace_footprint(_classes(np.full((2, 10, 10), V), [2020, 2021]), None, "quiet")
    assert len(fp) == 0 and tuple(fp.columns) == COLUMNS and fp.crs is not None


def test_baseline_option_drops_earlier_periods() -> None:
    fp = trace_footprint(_scene(), None, "mine_a", FootprintOptions(baseline="2021"))
    assert sorted(set(fp.period)) == ["2021", "2022", "2023"]
    assert (fp.status != "new").all()  # the 2021 pit is there at the new baseline


def test_generalise_merges_fragments_until_each_region_reaches_the_unit() -> None:
    from scipy import ndimage

    from geomon.footprint.polygons import generalise

    rng = np.random.default_rng(0)
    values = rng.integers(1, 6, (60, 60))
    mask = np.ones(values.shape, bool)
    out = generalise(values, mask, 50)
    for v in np.unique(out):
        labels, _ = ndimage.label(out == v)
        assert np.bincount(labels.ravel())[1:].min() >= 50
    # within groups: nothing crosses a group edge, and pixels outside the mask are untouched
    group = np.zeros(values.shape, np.int64)
    group[:, 30:] = 1
    mask[0, 0] = False
    split = generalise(values, mask, 50, within=group)
    assert split[0, 0] == values[0, 0]
    left, right = set(np.unique(split[1:, :30])), set(np.unique(split[:, 30:]))
    assert left <= set(np.unique(values[:, :30])) and right <= set(np.unique(values[:, 30:]))


def test_dissolve_by_patch_makes_one_feature_per_patch_and_value() -> None:
    from affine import Affine

    from geomon.footprint.polygons import dissolve_by_patch, vectorize

    keys = np.zeros((6, 6), np.int64)
    keys[0:2, 0:2] = 7  # touches the block below only at a corner
    keys[2:4, 2:4] = 7
    keys[2:4, 0:2] = 3  # joins both 7-blocks into one 4-connected patch
    keys[5, 5] = 7  # a patch of its own
    mask = keys > 0
    transform = Affine(10, 0, 0, 0, -10, 60)
    geoms, values = vectorize(keys, mask, transform, None)
    assert sorted(values) == [3, 7, 7, 7]
    merged, merged_values = dissolve_by_patch(geoms, values, mask, transform)
    assert sorted(merged_values) == [3, 7, 7]
    areas = sorted(g.area for g, v in zip(merged, merged_values, strict=True) if v == 7)
    assert areas == [100.0, 800.0]


def test_compiled_regions_equal_scipy_components() -> None:
    """The union-find kernel numbers regions as scipy's graph components do (the sieve's tie
    breaks depend on the numbering), on contiguous and strided windows."""
    from geomon.footprint.polygons import _regions, _regions_reference

    rng = np.random.default_rng(5)
    for shape in [(1, 1), (5, 7), (64, 64), (120, 90), (1, 50), (50, 1)]:
        for k in (2, 3, 6):
            vals = rng.integers(0, k, shape).astype(np.int32)
            mask = rng.random(shape) > 0.3
            group = rng.integers(0, 2, shape).astype(np.int8)
            padded = np.zeros((shape[0] + 4, shape[1] + 6), np.int32)
            padded[2:-2, 3:-3] = vals
            want = _regions_reference(vals, mask, group)[mask]
            assert np.array_equal(_regions(vals, mask, group)[mask], want), (shape, k)
            assert np.array_equal(_regions(padded[2:-2, 3:-3], mask, group)[mask], want)


def test_compiled_sieve_equals_numpy_passes() -> None:
    from geomon.footprint.polygons import sieve, sieve_reference

    rng = np.random.default_rng(6)
    for shape in [(1, 1), (5, 7), (64, 64), (120, 90), (1, 50), (50, 1)]:
        for k, min_pixels in ((2, 5), (3, 2), (6, 20)):
            vals = rng.integers(0, k, shape).astype(np.int32)
            mask = rng.random(shape) > 0.2
            group = rng.integers(0, 2, shape).astype(np.int8)
            fast, ref = vals.copy(), vals.copy()
            sieve(fast, mask, group, min_pixels)
            sieve_reference(ref, mask, group, min_pixels)
            np.testing.assert_array_equal(fast, ref)


def test_patches_match_ndimage_label() -> None:
    from scipy import ndimage

    from geomon.footprint.polygons import _patches, drop_small_patches

    rng = np.random.default_rng(8)
    four = ndimage.generate_binary_structure(2, 1)
    for shape in [(1, 1), (9, 4), (80, 61)]:
        mask = rng.random(shape) > 0.45
        labels, n = ndimage.label(mask, structure=four)
        pixels, ours, count = _patches(mask)
        assert count == n
        np.testing.assert_array_equal(pixels, np.flatnonzero(mask))
        np.testing.assert_array_equal(ours + 1, labels.reshape(-1)[pixels])  # same numbering
        sizes = np.bincount(labels.ravel())
        keep = sizes >= 4
        keep[0] = False
        np.testing.assert_array_equal(drop_small_patches(mask, 4), keep[labels])


def test_pixel_paths_equal_the_raster_helpers() -> None:
    """The trace's path over the masked pixels (masked_pixels, kept_patches, sieve_pixels,
    dissolve_by_patch with the kept patches, narrow key rasters) gives what the raster helpers
    (drop_small_patches, generalise, dissolve_by_patch labelling the mask, int32 keys) give."""
    from affine import Affine

    from geomon.footprint._kernels import masked_pixels
    from geomon.footprint.polygons import (
        dissolve_by_patch,
        drop_small_patches,
        generalise,
        kept_patches,
        sieve_pixels,
        vectorize,
    )

    rng = np.random.default_rng(12)
    transform = Affine(10, 0, X0, 0, -10, Y0)
    for shape in [(1, 1), (7, 5), (60, 80), (1, 40), (40, 1)]:
        for min_px in (0, 1, 4, 12):
            status = rng.integers(0, 4, shape).astype(np.uint8) * (rng.random(shape) > 0.4)
            inside = rng.random(shape) > 0.1
            want_mask = drop_small_patches((status > 0) & inside, min_px)
            pixels, patches = kept_patches(masked_pixels(status, inside), shape[1], min_px)
            np.testing.assert_array_equal(pixels, np.flatnonzero(want_mask))
            values = rng.integers(1, 5, shape).astype(np.int32)
            group = rng.integers(0, 2, shape).astype(np.int8)
            want = generalise(values * want_mask, want_mask, min_px, within=group)
            key = values.reshape(-1)[pixels].copy()
            sieve_pixels(key, group.reshape(-1)[pixels], pixels, shape[1], min_px)
            np.testing.assert_array_equal(key, want.reshape(-1)[pixels])
            want_geoms, want_values = dissolve_by_patch(
                *vectorize(want, want_mask, transform, None), want_mask, transform
            )
            for dtype in (np.uint8, np.uint16, np.int32):
                keys = np.zeros(shape, dtype)
                keys.reshape(-1)[pixels] = key
                geoms, vals = vectorize(keys, want_mask, transform, None)
                geoms, vals = dissolve_by_patch(
                    geoms, vals, want_mask, transform, (pixels, patches)
                )
                assert vals == want_values
                assert [g.wkb for g in geoms] == [g.wkb for g in want_geoms]


def test_the_change_rules_read_the_composites_classes_beside_a_date_view() -> None:
    """Where a date view amended the map (``class``), the footprint reads the composite's own
    classes (``composite_class``): the view changes the class rasters, not the footprint."""
    plain = _scene()
    viewed = plain.assign(composite_class=plain["class"].copy())
    codes = viewed["class"].values.copy()
    codes[1:, 40:55, 5:20] = B  # the view's bare ground: 2.25 ha the composite calls vegetation
    viewed["class"] = (viewed["class"].dims, codes)
    fp, base = trace_footprint(viewed, None, "m"), trace_footprint(plain, None, "m")
    assert fp.drop(columns="geometry").equals(base.drop(columns="geometry"))
    alone = trace_footprint(viewed.drop_vars("composite_class"), None, "m")
    assert disturbed_area(alone).loc["2020", "new"] > disturbed_area(base).loc["2020", "new"] == 0


def test_a_date_view_that_speaks_for_the_baseline_makes_its_bare_ground_old() -> None:
    """With ``date_view.baseline`` (``geomon model-rules --date-view-baseline``) the rules read
    the map's classes in the baseline period and the composite's own later: ground the
    baseline's view calls bare, and the composite bare only from the next period, is disturbed
    at the baseline (persisting), not new; with a later baseline the map is read there."""
    import json

    from geomon.classify.classes import VIEW_ATTR

    plain = _scene()
    comp = plain["class"].values.copy()
    comp[1:, 40:55, 10:25] = B  # the composite: bare from 2020, 2.25 ha
    mapped = comp.copy()
    mapped[:2, 40:55, 10:25] = B  # the view: bare in 2019 already
    dims = plain["class"].dims
    viewed = plain.assign(composite_class=(dims, comp), **{"class": (dims, mapped)})
    viewed.attrs[VIEW_ATTR] = json.dumps({"min_probability": 0.9})
    composite_only = disturbed_area(trace_footprint(viewed, None, "m"))
    assert composite_only.loc["2020", "new"] == pytest.approx(2.25, rel=1.5e-3)
    viewed.attrs[VIEW_ATTR] = json.dumps({"min_probability": 0.9, "baseline": True})
    fp = trace_footprint(viewed, None, "m")
    areas = disturbed_area(fp)
    assert areas.loc["2020", "new"] == 0.0
    assert areas.loc["2019", "persisting"] == pytest.approx(1.0 + 2.25, rel=1.5e-3)
    # a later baseline: the map is read in 2020 (bare there in both), nothing new either
    later = trace_footprint(viewed, None, "m", FootprintOptions(baseline="2020"))
    assert disturbed_area(later).loc["2020", "persisting"] == pytest.approx(1.0 + 2.25, rel=1.5e-3)
    # where the view calls 2020 vegetation, the composite's bare 2020 is not read: new in 2021
    mapped[1, 40:55, 10:25] = V
    viewed["class"] = (dims, mapped)
    again = disturbed_area(trace_footprint(viewed, None, "m", FootprintOptions(baseline="2020")))
    assert again.loc["2020", "persisting"] == pytest.approx(1.0, rel=1.5e-3)
    assert again.loc["2021", "new"] == pytest.approx(4.0 + 2.25, rel=1.5e-3)
