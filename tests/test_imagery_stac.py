"""The STAC loader on hand-made static catalogs: contract, scaling, masks, errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from geomon.errors import ConfigError, MissingBandsError, NoImageryError
from geomon.imagery import (
    BANDS,
    Aoi,
    LoadOptions,
    MaskOptions,
    Query,
    StaticCatalogSource,
    load,
    search,
)
from geomon.imagery.testing import (
    SKY_CLEAR,
    SyntheticImagery,
    write_landsat_catalog,
    write_s2_catalog,
)

ACROSS_BASELINE = [dt.date(2022, 1, d) for d in (5, 15, 24, 25, 26)] + [dt.date(2022, 2, 4)]


@pytest.fixture(scope="module")
def s2(tmp_path_factory: pytest.TempPathFactory) -> SyntheticImagery:
    root = tmp_path_factory.mktemp("s2")
    return write_s2_catalog(root, ACROSS_BASELINE, cloud=[0.0, 0.3, 0.0, 0.0, 0.3, 0.0], size_px=96)


@pytest.fixture(scope="module")
def s2_plain(tmp_path_factory: pytest.TempPathFactory) -> SyntheticImagery:
    """The same scenes, without raster:bands: scaling and nodata come from the rules."""
    root = tmp_path_factory.mktemp("s2plain")
    return write_s2_catalog(root, ACROSS_BASELINE, size_px=96, raster_bands=False)


def _query(
    cat: SyntheticImagery, start: dt.date = dt.date(2022, 1, 1), end: dt.date = dt.date(2022, 2, 28)
) -> Query:
    return Query(Aoi("test_mine", cat.aoi_lonlat.buffer(-0.0015)), start, end)


def test_load_returns_the_contract(s2: SyntheticImagery) -> None:
    ds = load(StaticCatalogSource(s2.catalog_path), _query(s2))
    assert ds["red"].dims == ("time", "y", "x")
    assert [v for v in ds.data_vars if v != "valid"] == list(BANDS)
    assert all(ds[b].dtype == np.float32 for b in BANDS)
    assert ds["valid"].dtype == bool
    assert all(ds[v].chunks is not None for v in ds.data_vars), "must be lazy"
    assert ds.attrs["crs"] == s2.crs == f"EPSG:{ds.odc.geobox.crs.epsg}"
    assert ds.attrs["sensor"] == "sentinel-2" and ds.attrs["resolution"] == 10.0
    assert ds.attrs["item_ids"] == s2.item_ids
    assert list(ds["item_ids"].values) == s2.item_ids


def test_reflectance_matches_truth_and_offset_is_applied(s2: SyntheticImagery) -> None:
    ds = load(StaticCatalogSource(s2.catalog_path), _query(s2)).compute()
    clear = ds["valid"].values
    red = ds["red"].values
    assert np.nanmax(red[clear]) < 0.3 and np.nanmin(red[clear]) > 0.0
    # the surface does not change: clear pixels agree before and after baseline 04.00
    before = np.nanmedian(np.where(clear[:3], red[:3], np.nan), axis=0)
    after = np.nanmedian(np.where(clear[3:], red[3:], np.nan), axis=0)
    both = np.isfinite(before) & np.isfinite(after)
    assert np.abs(before - after)[both].max() < 1e-3


@pytest.mark.parametrize("fixture", ["s2", "s2_plain"])
def test_ndvi_does_not_jump_on_2022_01_25(fixture: str, request: pytest.FixtureRequest) -> None:
    cat: SyntheticImagery = request.getfixturevalue(fixture)
    ds = load(StaticCatalogSource(cat.catalog_path), _query(cat), LoadOptions(bands=("red", "nir")))
    ndvi = ((ds.nir - ds.red) / (ds.nir + ds.red)).where(ds.valid).median(("y", "x")).values
    times = ds.time.values.astype("datetime64[D]")
    jump = np.nanmean(ndvi[times >= np.datetime64("2022-01-25")]) - np.nanmean(
        ndvi[times < np.datetime64("2022-01-25")]
    )
    assert abs(jump) < 0.005


def test_scaling_source_is_recorded(s2: SyntheticImagery, s2_plain: SyntheticImagery) -> None:
    assert load(StaticCatalogSource(s2.catalog_path), _query(s2)).attrs["scaling"] == [
        "raster:bands"
    ]
    plain = load(StaticCatalogSource(s2_plain.catalog_path), _query(s2_plain))
    assert plain.attrs["scaling"] == ["s2:processing_baseline"]
    assert plain["red"].dtype == np.float32


def test_scl_mask_matches_truth_where_native(s2: SyntheticImagery) -> None:
    ds = load(
        StaticCatalogSource(s2.catalog_path),
        _query(s2, end=dt.date(2022, 1, 20)),
        LoadOptions(bands=("red",)),
    )
    valid = ds["valid"].values
    truth = s2.sky[s2.item_ids[1]]
    # SCL is 20 m: compare on 20 m pixels whose 2x2 truth block is uniform
    assert valid.shape[0] == 2
    assert 0.4 < valid[1].mean() < 0.9
    assert valid[0].mean() > 0.99
    assert np.isin(np.unique(truth), [SKY_CLEAR, 1, 2]).all()


def test_twenty_metre_bands_nest_in_the_ten_metre_grid(s2: SyntheticImagery) -> None:
    ds = load(
        StaticCatalogSource(s2.catalog_path), _query(s2), LoadOptions(bands=("red", "swir16"))
    )
    swir = ds["swir16"].isel(time=0).values
    assert np.array_equal(
        swir[0::2, 0::2], swir[1::2, 1::2][: swir[0::2, 0::2].shape[0], : swir[0::2, 0::2].shape[1]]
    )


def test_native_resolution_load_at_20m(s2: SyntheticImagery) -> None:
    ds = load(
        StaticCatalogSource(s2.catalog_path),
        _query(s2),
        LoadOptions(resolution=20.0, bands=("red", "swir22")),
    )
    assert ds.attrs["resolution"] == 20.0
    assert ds["red"].shape[1:] == ds["valid"].shape[1:]


def test_no_imagery_names_mine_dates_and_source(s2: SyntheticImagery) -> None:
    source = StaticCatalogSource(s2.catalog_path, name="handmade")
    with pytest.raises(NoImageryError, match=r"'test_mine' 2019-01-01\.\.2019-12-31.*'handmade'"):
        load(source, _query(s2, dt.date(2019, 1, 1), dt.date(2019, 12, 31)))


def test_cloud_ceiling_filters_scenes(s2: SyntheticImagery) -> None:
    q = _query(s2)
    strict = Query(q.aoi, q.start, q.end, max_cloud=5.0)
    assert len(search(StaticCatalogSource(s2.catalog_path), strict)) == 4


def test_aoi_elsewhere_finds_nothing(s2: SyntheticImagery) -> None:
    from shapely.geometry import box

    far = Query(Aoi("far", box(30, 10, 30.01, 10.01)), dt.date(2022, 1, 1), dt.date(2022, 2, 28))
    with pytest.raises(NoImageryError, match="'far'"):
        search(StaticCatalogSource(s2.catalog_path), far)


def test_missing_bands_lists_required_and_available(tmp_path: Path) -> None:
    cat = write_s2_catalog(tmp_path, [dt.date(2021, 5, 1)], bands=("red", "nir"), size_px=64)
    source = StaticCatalogSource(cat.catalog_path)
    with pytest.raises(MissingBandsError, match="required red, swir16; available red, nir"):
        load(
            source,
            _query(cat, dt.date(2021, 1, 1), dt.date(2021, 12, 31)),
            LoadOptions(bands=("red", "swir16")),
        )


def test_unknown_band_and_mask_are_config_errors(s2: SyntheticImagery) -> None:
    source = StaticCatalogSource(s2.catalog_path)
    with pytest.raises(ConfigError, match="unknown band"):
        load(source, _query(s2), LoadOptions(bands=("ultraviolet",)))
    with pytest.raises(MissingBandsError, match="qa_pixel"):
        load(source, _query(s2), LoadOptions(mask=MaskOptions(method="qa_pixel")))


def test_missing_catalog_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no STAC catalog"):
        StaticCatalogSource(tmp_path / "nowhere").items()


def test_landsat_scaling_and_qa_pixel(tmp_path: Path) -> None:
    cat = write_landsat_catalog(tmp_path, [dt.date(2023, 3, 1), dt.date(2023, 3, 17)], cloud=0.3)
    source = StaticCatalogSource(cat.catalog_path)
    ds = load(source, _query(cat, dt.date(2023, 1, 1), dt.date(2023, 12, 31))).compute()
    assert ds.attrs["sensor"] == "landsat" and ds.attrs["resolution"] == 30.0
    assert ds.attrs["mask"] == "qa_pixel" and ds.attrs["scaling"] == ["landsat-c2"]
    assert set(ds.data_vars) == {
        "blue",
        "green",
        "red",
        "nir",
        "nir08",
        "swir16",
        "swir22",
        "valid",
    }
    clear = ds["valid"].values
    assert 0.3 < clear.mean() < 0.95
    assert np.nanmax(ds["red"].values[clear]) < 0.3  # clouds (0.6) are masked out
    assert float(ds["nir"].where(ds.valid).max()) == pytest.approx(0.36, abs=0.03)
    # the output grid is anchored on the scenes' 15 m-offset pixel corners: no resampling
    assert ds.odc.geobox.affine.c % 30 == 15 and ds.odc.geobox.affine.f % 30 == 15
    lazy = load(source, _query(cat, dt.date(2023, 1, 1), dt.date(2023, 12, 31)))
    names = {k[0] for k in dict(lazy["red"].data.__dask_graph__()) if isinstance(k, tuple)}
    assert any(n.startswith("read-") for n in names)  # pasted as stored, not reprojected
    with pytest.raises(MissingBandsError, match="rededge1"):
        load(
            source,
            _query(cat, dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
            LoadOptions(bands=("red", "rededge1")),
        )


def test_loader_is_lazy_until_computed(s2: SyntheticImagery, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(s2.root, copy)
    source = StaticCatalogSource(copy / "catalog.json")
    ds = load(source, _query(s2))
    shutil.rmtree(copy / "test_mine")  # pixels gone: building the graph must not have read them
    assert isinstance(ds, xr.Dataset)
    with pytest.raises(Exception, match=r"No such file|not recognized|does not exist"):
        ds["red"].compute()
