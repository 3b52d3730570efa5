from __future__ import annotations

import numpy as np
import pytest

from geomon.classify.features import (
    FULL_FEATURES,
    REDUCED_FEATURES,
    FeatureSet,
    bsi,
    compute_features,
    feature_set_for,
    mndwi,
    nbr,
    ndbi,
    ndvi,
)
from geomon.errors import MissingBandsError


def test_indices_match_reference_formulas() -> None:
    blue, green, red, nir, swir16, swir22 = (
        np.float32(v) for v in (0.05, 0.08, 0.04, 0.40, 0.20, 0.10)
    )
    assert ndvi(nir, red) == pytest.approx((0.40 - 0.04) / 0.44, rel=1e-6)
    assert mndwi(green, swir16) == pytest.approx((0.08 - 0.20) / 0.28, rel=1e-6)
    assert nbr(nir, swir22) == pytest.approx(0.30 / 0.50, rel=1e-6)
    assert ndbi(swir16, nir) == pytest.approx(-0.20 / 0.60, rel=1e-6)
    assert bsi(blue, red, nir, swir16) == pytest.approx((0.24 - 0.45) / 0.69, rel=1e-6)


def test_zero_denominator_gives_zero_and_nan_stays_nan() -> None:
    out = ndvi(np.array([0.0, np.nan, 0.3]), np.array([0.0, 0.1, 0.1]))
    assert out[0] == 0 and np.isnan(out[1]) and out[2] == pytest.approx(0.5)
    assert out.dtype == np.float32


def test_feature_set_chosen_from_available_bands() -> None:
    assert feature_set_for((*FULL_FEATURES.bands, "scl")) is FULL_FEATURES
    assert feature_set_for(("blue", "green", "red", "nir", "swir16", "swir22")) is REDUCED_FEATURES
    with pytest.raises(MissingBandsError, match="swir22"):
        feature_set_for(("blue", "red", "nir", "swir16"))


def test_index_needing_absent_band_is_refused() -> None:
    with pytest.raises(MissingBandsError, match="green"):
        FeatureSet(("blue", "red", "nir", "swir16"), ("mndwi",))


def test_compute_features_stacks_bands_then_indices() -> None:
    rng = np.random.default_rng(0)
    bands = {b: rng.uniform(0.01, 0.5, (3, 4)).astype(np.float32) for b in REDUCED_FEATURES.bands}
    stack = compute_features(bands, REDUCED_FEATURES)
    assert stack.shape == (len(REDUCED_FEATURES), 3, 4)
    np.testing.assert_array_equal(stack[1], bands["red"])
    i = REDUCED_FEATURES.names.index("ndvi")
    np.testing.assert_allclose(stack[i], ndvi(bands["nir"], bands["red"]), rtol=1e-6)
    with pytest.raises(MissingBandsError, match="green"):
        compute_features(bands, FULL_FEATURES)


def test_window_sums_match_a_direct_convolution():
    """The compiled window sums against scipy's convolution with a ones kernel (exact on ints)."""
    from scipy import ndimage

    from geomon.classify._kernels import box_sum

    rng = np.random.default_rng(3)
    for shape in [(1, 7, 5), (2, 30, 41), (1, 1, 9), (1, 64, 3)]:
        for size in (1, 3, 5, 21, 41):
            a = rng.integers(-30_000, 30_000, shape).astype(np.int64)
            want = np.stack(
                [ndimage.convolve(p, np.ones((size, size), np.int64), mode="constant") for p in a]
            )
            assert np.array_equal(box_sum(a, size), want), (shape, size)
            assert np.array_equal(box_sum(a.astype(np.int32), size), want), (shape, size)
    with pytest.raises(TypeError):
        box_sum(np.zeros((1, 3, 3), np.float32), 3)


def test_temporal_statistics_follow_indices_and_a_scene_is_one_observation() -> None:
    from geomon.classify.features import single_observation

    rng = np.random.default_rng(4)
    bands = {b: rng.uniform(0.02, 0.4, (6, 7)).astype(np.float32) for b in REDUCED_FEATURES.bands}
    fset = REDUCED_FEATURES.with_temporal(["ndvi_max"])
    with pytest.raises(MissingBandsError, match="single_observation"):
        compute_features(bands, fset)
    stack = compute_features(single_observation(bands, fset), fset)
    k = fset.names.index("ndvi_max")
    assert k == len(REDUCED_FEATURES.bands) + len(REDUCED_FEATURES.indices)
    np.testing.assert_array_equal(stack[k], stack[fset.names.index("ndvi")])
    with pytest.raises(MissingBandsError, match="temporal statistic"):
        FeatureSet(REDUCED_FEATURES.bands, (), temporal=("ndvi_mean",))


def test_a_feature_listed_twice_is_refused() -> None:
    """Two equal context features (or bands) would give the fused path two rows for one
    statistic, one of them never written."""
    from geomon.classify.features import ContextFeature
    from geomon.errors import ConfigError

    ctx = ContextFeature("ndvi", 5, "mean")
    with pytest.raises(ConfigError, match="'ndvi_mean5' is in the feature set twice"):
        REDUCED_FEATURES.with_context([ctx, ctx])
    with pytest.raises(ConfigError, match="'red' is in the feature set twice"):
        FeatureSet(("red", "red", "nir"), ())
    assert len(REDUCED_FEATURES.with_context([ctx])) == len(REDUCED_FEATURES) + 1
