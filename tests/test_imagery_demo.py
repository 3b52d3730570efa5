"""The loader on the demo catalog (geomon.demo): the baseline-04.00 offset and cloud masks
measured against the generator's ground truth."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from shapely.geometry import shape

from geomon.imagery import (
    Aoi,
    LoadOptions,
    MaskOptions,
    Query,
    StaticCatalogSource,
    load,
    mask_agreement,
)

demo = pytest.importorskip("geomon.demo")

CLEAR, NODATA_COVER = 0, 0
NON_VEGETATED = list(range(5, 19))  # bare soil ... rehab_bare (codes.json): little seasonality


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> object:
    config = demo.DemoConfig(
        mine_ids=("kamoto",), start_year=2021, years=2, dates_per_year=6, window_m=2000
    )
    return demo.build_demo_catalog(config, root=tmp_path_factory.mktemp("demo") / "cat")


def _load(built: object, method: str = "auto") -> xr.Dataset:
    source = StaticCatalogSource(built.catalog_path, name="demo")  # type: ignore[attr-defined]
    footprint = shape(source.items()[0].geometry)
    q = Query(Aoi("kamoto", footprint), dt.date(2021, 1, 1), dt.date(2022, 12, 31), max_cloud=100)
    ds = load(source, q, LoadOptions(mask=MaskOptions(method=method))).compute()  # type: ignore[arg-type]
    first = built.truth_path(str(ds["item_ids"].values[0]))  # type: ignore[attr-defined]
    with rasterio.open(first) as src:
        b = src.bounds
    return ds.sel(x=slice(b.left, b.right), y=slice(b.top, b.bottom))


def _truth(built: object, ds: xr.Dataset) -> np.ndarray:
    paths: list[Path] = [built.truth_path(str(i)) for i in ds["item_ids"].values]  # type: ignore[attr-defined]
    stack = []
    for path in paths:
        with rasterio.open(path) as src:
            stack.append(src.read())
    return np.stack(stack)  # (time, 2, y, x): land cover, sky


def test_demo_catalog_loads_as_the_contract(built: object) -> None:
    ds = _load(built)
    assert ds.attrs["sensor"] == "sentinel-2" and ds.attrs["mask"] == "scl"
    assert ds.attrs["scaling"] == ["raster:bands"]
    assert ds.sizes["time"] == 12 and ds["red"].dtype == np.float32


def test_indices_do_not_jump_on_2022_01_25(built: object) -> None:
    ds = _load(built)
    truth = _truth(built, ds)
    times = ds["time"].values.astype("datetime64[D]")
    before = int(np.flatnonzero(times < np.datetime64("2022-01-25"))[-1])
    after = before + 1  # first scene of processing baseline 04.00
    stable = (truth[before, 0] == truth[after, 0]) & np.isin(truth[before, 0], NON_VEGETATED)
    stable &= (truth[before, 1] == CLEAR) & (truth[after, 1] == CLEAR)
    assert stable.sum() > 100
    red, nir = ds["red"].values, ds["nir"].values
    ndvi = (nir - red) / (nir + red)
    jump = float(np.median(ndvi[after][stable] - ndvi[before][stable]))
    # had the -0.1 offset been ignored, reflectance after the change would be 0.1 too high:
    naive = (nir[after] - red[after]) / (nir[after] + red[after] + 0.2)
    naive_jump = float(np.median(naive[stable] - ndvi[before][stable]))
    print(
        f"NDVI change across 2022-01-25 on {stable.sum()} stable px: {jump:+.4f} (ignoring the offset: {naive_jump:+.4f})"
    )
    # natural bare soil and rock carry sparse plants (demo generator v5+) that green up between
    # this November and February scene (the rains): NDVI rises about 0.03; an ignored offset
    # would lower it by about 0.1
    assert -0.02 < jump < 0.05
    assert abs(naive_jump) > 2 * abs(jump) + 0.02


@pytest.mark.parametrize(("method", "accuracy"), [("scl", 0.9), ("spectral", 0.85)])
def test_cloud_masks_agree_with_the_true_sky(built: object, method: str, accuracy: float) -> None:
    ds = _load(built, method)
    truth = _truth(built, ds)
    has_data = truth[:, 0] != NODATA_COVER
    scores = mask_agreement(ds["valid"].values[has_data], (truth[:, 1] == CLEAR)[has_data])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print(f"{method} mask vs demo truth:", {k: round(v, 3) for k, v in scores.items()})
    assert scores["accuracy"] > accuracy
    assert scores["cloud_precision"] > 0.9
