"""Per-period compositing: medians of clear observations, counts, flagged periods."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest

from geomon.errors import ConfigError
from geomon.imagery import (
    Aoi,
    CompositeOptions,
    LoadOptions,
    Query,
    StaticCatalogSource,
    composite,
    load,
    load_composite,
    period_label,
    period_starts,
)
from geomon.imagery.testing import SyntheticImagery, write_s2_catalog

DATES = [dt.date(2021, 1, d) for d in (3, 13, 23)] + [dt.date(2021, 2, 2), dt.date(2021, 4, 3)]


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> SyntheticImagery:
    root = tmp_path_factory.mktemp("comp")
    return write_s2_catalog(root, DATES, cloud=[0.2, 0.4, 0.1, 0.6, 0.0], size_px=96, seed=3)


def _query(cat: SyntheticImagery) -> Query:
    return Query(Aoi("m", cat.aoi_lonlat.buffer(-0.001)), dt.date(2021, 1, 1), dt.date(2021, 4, 30))


def _numpy_median(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        return np.nanmedian(np.where(valid, x, np.nan), axis=0)


def test_monthly_median_and_count_match_numpy(cat: SyntheticImagery) -> None:
    ds = load(StaticCatalogSource(cat.catalog_path), _query(cat), LoadOptions(bands=("red", "nir")))
    comp = composite(
        ds, CompositeOptions("month"), start=dt.date(2021, 1, 1), end=dt.date(2021, 4, 30)
    )
    assert list(comp["period"].values) == ["2021-01", "2021-02", "2021-03", "2021-04"]
    got, raw = comp.compute(), ds.compute()
    jan = raw.isel(time=slice(0, 3))
    expected = _numpy_median(jan["red"].values, jan["valid"].values)
    np.testing.assert_allclose(got["red"].isel(time=0).values, expected, rtol=1e-6)
    np.testing.assert_array_equal(
        got["clear_count"].isel(time=0).values, jan["valid"].values.sum(axis=0)
    )
    assert got["clear_count"].dtype == np.int16
    assert got["red"].dtype == np.float32


def test_empty_and_cloudy_periods_are_flagged_not_dropped(cat: SyntheticImagery) -> None:
    ds = load(StaticCatalogSource(cat.catalog_path), _query(cat), LoadOptions(bands=("red",)))
    comp = composite(
        ds,
        CompositeOptions("month", min_coverage=0.5),
        start=dt.date(2021, 1, 1),
        end=dt.date(2021, 4, 30),
    ).compute()
    assert comp.sizes["time"] == 4
    march = comp.sel(time="2021-03-01")
    assert bool(march["low_coverage"]) and int(march["clear_count"].max()) == 0
    assert np.isnan(march["red"].values).all()
    assert not bool(comp.sel(time="2021-04-01")["low_coverage"])
    assert march["item_ids"].item() == ""
    assert comp["item_ids"].values[0].count(",") == 2


def test_quarter_and_year_periods(cat: SyntheticImagery) -> None:
    ds = load(StaticCatalogSource(cat.catalog_path), _query(cat), LoadOptions(bands=("red",)))
    quarters = composite(ds, CompositeOptions("quarter"))
    assert list(quarters["period"].values) == ["2021Q1", "2021Q2"]
    year = composite(ds, CompositeOptions("year")).compute()
    assert list(year["period"].values) == ["2021"]
    assert int(year["clear_count"].max()) <= 5


def test_native_resolution_composite_equals_composite_of_load(cat: SyntheticImagery) -> None:
    source, q = StaticCatalogSource(cat.catalog_path), _query(cat)
    opts = LoadOptions(bands=("red", "swir16"))
    direct = composite(load(source, q, opts), start=q.start, end=q.end).compute()
    native = load_composite(source, q, opts).compute()
    for band in ("red", "swir16", "clear_count"):
        np.testing.assert_array_equal(native[band].values, direct[band].values)
    assert (
        native.attrs["period"] == "month" and native.attrs["item_ids"] == direct.attrs["item_ids"]
    )


def test_period_helpers() -> None:
    assert period_starts(dt.date(2020, 11, 15), dt.date(2021, 2, 1), "month") == [
        dt.date(2020, 11, 1),
        dt.date(2020, 12, 1),
        dt.date(2021, 1, 1),
        dt.date(2021, 2, 1),
    ]
    assert period_starts(dt.date(2020, 5, 1), dt.date(2021, 1, 1), "quarter")[0] == dt.date(
        2020, 4, 1
    )
    assert period_label(dt.date(2020, 7, 1), "quarter") == "2020Q3"
    with pytest.raises(ConfigError, match="period"):
        CompositeOptions("week")  # type: ignore[arg-type]


def test_composite_needs_valid(cat: SyntheticImagery) -> None:
    ds = load(StaticCatalogSource(cat.catalog_path), _query(cat), LoadOptions(bands=("red",)))
    with pytest.raises(ConfigError, match="valid"):
        composite(ds.drop_vars("valid"))


def test_median_kernel_integer_and_float_paths_agree() -> None:
    from geomon.imagery._kernels import median_clear

    rng = np.random.default_rng(5)
    dn = rng.integers(0, 6000, (7, 40, 30)).astype(np.uint16)  # 0 = nodata
    valid = rng.random((7, 20, 15)) > 0.3  # a 20 m mask under 10 m pixels
    scale, offset = np.full(7, 1e-4), np.where(np.arange(7) < 3, 0.0, -0.1)  # baseline change
    fast = median_clear(dn, valid, scale=scale, offset=offset, nodata=0, valid_factor=2)
    slow = median_clear(
        dn.astype(np.float32), valid, scale=scale, offset=offset, nodata=0, valid_factor=2
    )
    np.testing.assert_allclose(fast, slow, atol=1e-6)
    refl = np.where(dn == 0, np.nan, dn * scale[:, None, None] + offset[:, None, None])
    clear = valid.repeat(2, axis=1).repeat(2, axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(np.where(clear, refl, np.nan), axis=0)
    np.testing.assert_allclose(fast[0], expected, atol=1e-6)


def test_ndvi_max_is_the_greatest_clear_ndvi_of_the_period(cat: SyntheticImagery) -> None:
    source, q = StaticCatalogSource(cat.catalog_path), _query(cat)
    ds = load(source, q, LoadOptions(bands=("red", "nir"))).compute()
    comp = composite(ds, CompositeOptions("month"), start=q.start, end=q.end).compute()
    jan = ds.isel(time=slice(0, 3))
    ndvi = (jan["nir"] - jan["red"]) / (jan["nir"] + jan["red"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        expected = np.nanmax(np.where(jan["valid"].values, ndvi.values, np.nan), axis=0)
    np.testing.assert_allclose(comp["ndvi_max"].isel(time=0).values, expected, atol=1e-6)
    assert np.isnan(comp["ndvi_max"].sel(time="2021-03-01").values).all()  # no scene
    native = load_composite(source, q, LoadOptions(bands=("red", "nir"))).compute()
    np.testing.assert_allclose(native["ndvi_max"].values, comp["ndvi_max"].values, atol=1e-6)
    # ndvi_max_late: the same over the days from the month's middle on, else the month's
    late_days = jan["time"].values >= np.datetime64("2021-01-16T12:00")
    assert 0 < late_days.sum() < 3  # both halves of January have scenes
    late = jan.isel(time=np.flatnonzero(late_days))
    late_ndvi = np.where(
        late["valid"].values,
        ((late["nir"] - late["red"]) / (late["nir"] + late["red"])).values,
        np.nan,
    )
    seen_late = np.isfinite(late_ndvi).any(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.where(seen_late, np.nanmax(late_ndvi, axis=0), expected)
    got = comp["ndvi_max_late"].isel(time=0).values
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(
        native["ndvi_max_late"].values, comp["ndvi_max_late"].values, atol=1e-6
    )
    only_red = composite(ds[["red", "valid"]], CompositeOptions("month"))
    assert "ndvi_max" not in only_red and "ndvi_max_late" not in only_red  # needs both bands


def test_ndvi_max_kernel_skips_nodata_and_cloud() -> None:
    from geomon.imagery._kernels import ndvi_max_clear

    nir = np.array([[[3000]], [[5000]], [[0]], [[4000]]], np.uint16)
    red = np.array([[[1000]], [[500]], [[100]], [[100]]], np.uint16)
    valid = np.array([[[True]], [[False]], [[True]], [[True]]])  # step 1 cloudy, step 2 nodata
    out = ndvi_max_clear(nir, red, valid, scale=np.full(4, 1e-4), offset=np.zeros(4), nodata=(0, 0))
    np.testing.assert_allclose(out[0, 0, 0], (0.4 - 0.01) / (0.4 + 0.01), rtol=1e-6)
    none = ndvi_max_clear(nir, red, np.zeros_like(valid))
    assert np.isnan(none).all()
    # from step 3 on: its own NDVI; from step 2 on (only nodata there, then 3) the same; a pixel
    # seen only before ``late`` keeps the whole range's greatest
    scaled = {"scale": np.full(4, 1e-4), "offset": np.zeros(4), "nodata": (0, 0)}
    late3 = ndvi_max_clear(nir, red, valid, late=3, **scaled)
    np.testing.assert_allclose(late3[0, 0, 0], (0.4 - 0.01) / (0.4 + 0.01), rtol=1e-6)
    early = valid & (np.arange(4) == 0)[:, None, None]
    np.testing.assert_allclose(
        ndvi_max_clear(nir, red, early, late=1, **scaled), ndvi_max_clear(nir, red, early, **scaled)
    )
    np.testing.assert_allclose(ndvi_max_clear(nir, red, valid, late=0, **scaled), out)
    cleared = ndvi_max_clear(
        nir[::-1], red[::-1], valid[::-1], late=3, **scaled
    )  # green, then bare
    np.testing.assert_allclose(cleared[0, 0, 0], (0.3 - 0.1) / (0.3 + 0.1), rtol=1e-6)
