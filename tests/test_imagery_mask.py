"""Cloud masks: SCL classes, QA_PIXEL bits, and the spectral fallback's agreement with truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import xarray as xr

from geomon.imagery import (
    Aoi,
    LoadOptions,
    MaskOptions,
    Query,
    StaticCatalogSource,
    load,
    mask_agreement,
    qa_pixel_clear,
    scl_clear,
)
from geomon.imagery.testing import SKY_CLEAR, SyntheticImagery, write_s2_catalog

DATES = [dt.date(2021, 5, 1) + dt.timedelta(days=10 * i) for i in range(8)]


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> SyntheticImagery:
    root = tmp_path_factory.mktemp("mask")
    return write_s2_catalog(
        root, DATES, cloud=[0.0, 0.3, 0.1, 0.25, 0.0, 0.35, 0.15, 0.2], size_px=128, seed=7
    )


def test_scl_classes() -> None:
    scl = xr.DataArray(np.arange(12, dtype=np.uint8))
    assert np.flatnonzero(scl_clear(scl, MaskOptions()).values).tolist() == [4, 5, 6]
    both = MaskOptions(keep_snow=True, keep_unclassified=True)
    assert np.flatnonzero(scl_clear(scl, both).values).tolist() == [4, 5, 6, 7, 11]


def test_qa_pixel_bits() -> None:
    values = [1 << 6, (1 << 6) | (1 << 7), 1, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5]
    qa = xr.DataArray(np.array(values, dtype=np.uint16))
    assert qa_pixel_clear(qa, MaskOptions()).values.tolist() == [True, True] + [False] * 6
    assert qa_pixel_clear(qa, MaskOptions(keep_snow=True)).values.tolist()[-1]


def _agreement(cat: SyntheticImagery, method: str) -> dict[str, float]:
    q = Query(Aoi("m", cat.aoi_lonlat), DATES[0], DATES[-1])  # type: ignore[attr-defined]
    ds = load(
        StaticCatalogSource(cat.catalog_path),
        q,
        LoadOptions(bands=("blue", "green", "red", "nir"), mask=MaskOptions(method=method)),
    )  # type: ignore[arg-type]
    minx, miny, maxx, maxy = cat.bounds
    valid = ds["valid"].sel(x=slice(minx, maxx), y=slice(maxy, miny)).values
    truth = np.stack([cat.sky[i] for i in ds["item_ids"].values]) == SKY_CLEAR
    assert valid.shape == truth.shape
    return mask_agreement(valid, truth)


def test_scl_agrees_with_truth(cat: SyntheticImagery) -> None:
    scores = _agreement(cat, "scl")
    assert scores["accuracy"] > 0.97  # SCL is 20 m: only cloud edges differ
    assert scores["cloud_recall"] > 0.95


def test_spectral_fallback_agrees_with_truth(cat: SyntheticImagery) -> None:
    scores = _agreement(cat, "spectral")
    print("spectral fallback vs truth:", {k: round(v, 3) for k, v in scores.items()})
    assert scores["accuracy"] > 0.95
    assert scores["cloud_recall"] > 0.9
    assert scores["cloud_precision"] > 0.9
