"""The row-fused classification of a block (features made as the model reads them) against the
two-step path (feature stack, then predict): the same results bit for bit, or a clear refusal."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geomon.classify import apply, bundled_model, classify
from geomon.classify._fused import classify_fused, fused_plan
from geomon.classify.features import (
    FULL_FEATURES,
    REDUCED_FEATURES,
    ContextFeature,
    compute_features,
    shipped_features,
)
from geomon.classify.model import PixelModel

#: blue, red, nir, swir16, swir22 of forest, mine ground, water, town
COVERS = np.array(
    [
        (0.03, 0.03, 0.35, 0.17, 0.08),
        (0.12, 0.20, 0.26, 0.34, 0.30),
        (0.06, 0.04, 0.03, 0.02, 0.01),
        (0.10, 0.13, 0.18, 0.21, 0.19),
    ],
    np.float32,
)


@pytest.fixture(scope="module")
def reduced() -> PixelModel:
    """A shipped reduced model (windows up to 101 px, a temporal statistic, two stages in 8
    bits; v11, the default until stop 37: routing has its own tests, test_classify_route)."""
    return bundled_model("geomon-shared-reduced-v11")


def _inputs(
    model: PixelModel, shape: tuple[int, int, int], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, valid)``: the model's inputs ``(n, planes, y, x)`` over patches of covers, NaN
    where not valid (a cloud and a swath edge)."""
    rng = np.random.default_rng(seed)
    t, h, w = shape
    patches = rng.integers(0, 4, (t, h // 9 + 1, w // 9 + 1))
    codes = np.repeat(np.repeat(patches, 9, axis=1), 9, axis=2)[:, :h, :w]
    refl = COVERS[codes] * rng.uniform(0.9, 1.1, (*codes.shape, 1)).astype(np.float32)
    refl += rng.normal(0, 0.006, refl.shape).astype(np.float32)
    bands = dict(
        zip(REDUCED_FEATURES.bands, np.moveaxis(np.clip(refl, 0.001, 1), -1, 0), strict=True)
    )
    greenest = (bands["nir"] - bands["red"]) / (bands["nir"] + bands["red"]) + 0.05
    values = {**bands, "ndvi_max": greenest.astype(np.float32)}
    valid = np.ones(shape, bool)
    valid[0, 10:30, 40:75] = False  # a cloud
    valid[-1, :, : w // 5] = False  # outside the swath
    stack = np.stack([values[n] for n in model.features.inputs]).astype(np.float32)
    stack[:, ~valid] = np.nan
    return np.ascontiguousarray(stack), valid


def _two_step(
    model: PixelModel, inputs: np.ndarray, valid: np.ndarray, window: tuple[slice, slice]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = dict(zip(model.features.inputs, inputs, strict=True))
    pred = model.predict(compute_features(values, model.features, valid), valid, window=window)
    return pred.code, pred.probability, pred.cover


@pytest.mark.parametrize(
    "window",
    [
        (slice(50, 90), slice(50, 130)),  # a chunk with a full halo
        (slice(0, 140), slice(0, 180)),  # the whole block
        (slice(0, 37), slice(101, 180)),  # at the top and right edges
        (slice(100, 140), slice(0, 1)),  # one column at the bottom left
    ],
)
def test_fused_equals_two_step_bit_for_bit(
    reduced: PixelModel, window: tuple[slice, slice]
) -> None:
    inputs, valid = _inputs(reduced, (2, 140, 180), seed=1)
    plan = reduced.fused_plan
    assert plan is not None
    got = classify_fused(reduced._kernel_model, plan, inputs, valid, window)
    assert got is not None
    want = _two_step(reduced, inputs, valid, window)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape == (2, *(len(range(140)[window[0]]), len(range(180)[window[1]])))
        np.testing.assert_array_equal(a, b)
    codes = got[0]
    assert len(np.unique(codes[valid[:, window[0], window[1]]])) >= 2  # not a constant map
    assert (codes[~valid[:, window[0], window[1]]] == 0).all()


def test_fused_without_valid_and_an_empty_window(reduced: PixelModel) -> None:
    inputs, _ = _inputs(reduced, (1, 60, 70), seed=2)
    inputs = np.nan_to_num(inputs, nan=0.05)
    plan = reduced.fused_plan
    got = classify_fused(reduced._kernel_model, plan, inputs, None, (slice(5, 55), slice(0, 70)))
    values = dict(zip(reduced.features.inputs, inputs, strict=True))
    pred = reduced.predict(
        compute_features(values, reduced.features), window=(slice(5, 55), slice(0, 70))
    )
    assert got is not None
    for a, b in zip(got, (pred.code, pred.probability, pred.cover), strict=True):
        np.testing.assert_array_equal(a, b)
    empty = classify_fused(reduced._kernel_model, plan, inputs, None, (slice(10, 10), slice(0, 70)))
    assert empty is not None and empty[0].shape == (1, 0, 70)


def test_a_source_not_finite_on_a_valid_pixel_declines_and_classify_falls_back(
    reduced: PixelModel,
) -> None:
    """The two-step path gives such a source a valid count of its own; the fused path declines
    (None) and the block goes through the two-step path: a chunked classification still equals
    the whole image's."""
    inputs, valid = _inputs(reduced, (1, 160, 96), seed=3)
    swir16 = reduced.features.inputs.index("swir16")  # a context source (std over 5 px)
    inputs[swir16, 0, 150, 41] = np.nan  # valid, but no value
    plan = reduced.fused_plan
    km = reduced._kernel_model
    assert classify_fused(km, plan, inputs, valid, (slice(100, 160), slice(0, 96))) is None
    # rows whose windows (50 px at most) stop short of row 150: the fused path runs, and gives
    # the two-step path's numbers (which redoes the source with a valid count of its own)
    top = (slice(0, 40), slice(0, 96))
    got = classify_fused(km, plan, inputs, valid, top)
    assert got is not None
    for a, b in zip(got, _two_step(reduced, inputs, valid, top), strict=True):
        np.testing.assert_array_equal(a, b)
    dims = ("time", "y", "x")
    coords = {
        "time": pd.date_range("2020-01-01", periods=1, freq="YS"),
        "y": 9_000_000 - 5 - 10 * np.arange(160),
        "x": 500_005 + 10 * np.arange(96),
    }
    data = {
        n: (dims, da.from_array(v, chunks=(1, 80, 48)))
        for n, v in zip(reduced.features.inputs, inputs, strict=True)
    }
    data["valid"] = (dims, da.from_array(valid, chunks=(1, 80, 48)))
    comp = xr.Dataset(data, coords=coords)
    vars(apply._SCRATCH).pop("features", None)  # left by an earlier test's whole-image path
    with dask.config.set(scheduler="sync"):  # in this thread: its scratch can be looked at
        chunked = classify(comp, reduced).compute()
    # the fallback's feature stack is not kept as this thread's scratch (130 MB per worker
    # thread on 1,024 px blocks, for as long as the thread lived)
    assert getattr(apply._SCRATCH, "features", None) is None
    whole = classify(comp.compute(), reduced)
    for name in ("class", "probability", "cover"):
        np.testing.assert_array_equal(chunked[name].values, whole[name].values)
    assert chunked["class"].values[0, 150, 41] == 0  # no data


def test_plans_of_the_shipped_sets_and_the_sets_without_context() -> None:
    for bands in ("full", "reduced"):
        plan = fused_plan(shipped_features(bands))  # type: ignore[arg-type]
        assert plan is not None and plan.n_features == len(shipped_features(bands))  # type: ignore[arg-type]
    assert fused_plan(FULL_FEATURES) is None  # per-pixel: nothing to fuse
    mean99 = REDUCED_FEATURES.with_context([ContextFeature("ndvi", 99, "mean")])
    assert fused_plan(mean99) is not None


def test_bad_inputs_are_refused(reduced: PixelModel) -> None:
    inputs, valid = _inputs(reduced, (1, 20, 20), seed=4)
    plan = reduced.fused_plan
    km = reduced._kernel_model
    whole = (slice(0, 20), slice(0, 20))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        classify_fused(km, plan, inputs.astype(np.float64), valid, whole)
    with pytest.raises(ValueError, match="model inputs"):
        classify_fused(km, plan, inputs[:3].copy(), valid, whole)
    with pytest.raises(ValueError, match="valid has shape"):
        classify_fused(km, plan, inputs, valid[:, :10], whole)
    with pytest.raises(ValueError, match="step 1"):
        classify_fused(km, plan, inputs, valid, (slice(0, 20, 2), slice(0, 20)))
