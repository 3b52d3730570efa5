from __future__ import annotations

import numpy as np
import pytest

from geomon.classify.features import (
    REDUCED_BANDS,
    REDUCED_FEATURES,
    ContextFeature,
    compute_features,
)
from geomon.classify.samples import DEMO_COVER_LABELS, DEMO_SCHEME, Augment, augment, sample_pixels
from geomon.errors import ConfigError


def _bands(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {b: rng.uniform(0.02, 0.4, n).astype(np.float32) for b in REDUCED_FEATURES.bands}


def test_draw_is_split_evenly_over_strata() -> None:
    n = 10_000
    labels = np.zeros(n, np.int64)
    strata = np.where(np.arange(n) < 9_500, 7, 6)  # a common cover (95 %) and a rare one (5 %)
    rng = np.random.default_rng(1)
    x, y = sample_pixels(_bands(n), labels, REDUCED_FEATURES, 400, 1, rng, strata=strata)
    assert len(y) == 400 and x.shape == (400, len(REDUCED_FEATURES))
    plain, _ = sample_pixels(_bands(n), labels, REDUCED_FEATURES, 400, 1, np.random.default_rng(1))
    # stratified: 200 of each cover; plain: about 5 % of the rare one
    rare = _bands(n)["blue"][9_500:]
    assert np.isin(x[:, 0], rare).sum() == 200
    assert np.isin(plain[:, 0], rare).sum() < 60


def test_unlabelled_and_nan_pixels_are_never_drawn() -> None:
    bands = _bands(100)
    bands["red"][:10] = np.nan
    labels = np.where(np.arange(100) < 50, 0, -1)
    x, _ = sample_pixels(bands, labels, REDUCED_FEATURES, 1_000, 1, np.random.default_rng(2))
    assert len(x) == 40 and np.isfinite(x).all()


def test_haze_brightens_blue_more_than_swir() -> None:
    bands = {b: np.full(2_000, 0.1, np.float32) for b in REDUCED_FEATURES.bands}
    opts = Augment(brightness=(1.0, 1.0), tilt=0.0, haze_fraction=1.0, haze_blue=(0.05, 0.05))
    out = augment(bands, np.random.default_rng(3), opts)
    assert np.allclose(out["blue"], 0.15)
    assert (out["swir22"] < 0.1 + 0.05 * (2.202 / 0.492) ** -1 + 1e-6).all()
    assert (out["red"] < out["blue"]).all()


def test_every_demo_label_belongs_to_the_scheme() -> None:
    assert set(DEMO_COVER_LABELS.values()) == set(DEMO_SCHEME.labels)
    natural = {DEMO_COVER_LABELS[c] for c in ("bare_soil", "rock", "salt_crust")}
    assert {DEMO_SCHEME.classes[DEMO_SCHEME.labels.index(n)] for n in natural} == {"built_other"}


def test_context_samples_are_whole_image_features_of_the_drawn_pixels() -> None:
    fset = REDUCED_FEATURES.with_context([ContextFeature("ndvi", 5, "mean")])
    rng = np.random.default_rng(4)
    bands = {b: rng.uniform(0.02, 0.4, (2, 20, 30)).astype(np.float32) for b in fset.bands}
    bands["nir"][1, :5, :5] = np.nan
    labels = rng.integers(-1, 3, (2, 20, 30))
    x, y = sample_pixels(bands, labels, fset, 10_000, 3, np.random.default_rng(5))
    whole = compute_features(bands, fset).reshape(len(fset), -1).T
    ok = (labels.reshape(-1) >= 0) & np.isfinite(whole).all(axis=1)
    np.testing.assert_array_equal(x, whole[ok])
    np.testing.assert_array_equal(y, labels.reshape(-1)[ok])
    hazy, _ = sample_pixels(bands, labels, fset, 10_000, 3, np.random.default_rng(5), Augment())
    assert hazy.shape == x.shape and not np.array_equal(hazy, x)
    with pytest.raises(ConfigError, match="images"):
        sample_pixels(_bands(50), np.zeros(50, np.int64), fset, 10, 1, rng)


def test_augmented_ndvi_max_moves_with_the_ndvi_of_the_median() -> None:
    from geomon.classify.features import ndvi, single_observation

    fset = REDUCED_FEATURES.with_temporal(["ndvi_max", "ndvi_max_late"])
    scene = single_observation(_bands(500), fset)  # one observation: both are its NDVI
    out = augment(scene, np.random.default_rng(6), Augment(haze_fraction=1.0))
    for name in fset.temporal:
        np.testing.assert_allclose(out[name], ndvi(out["nir"], out["red"]), atol=1e-6)
    views = REDUCED_FEATURES.with_temporal(["ndvi_mid", *(f"view_{b}" for b in REDUCED_BANDS)])
    scene = single_observation(_bands(500), views)  # one observation: its own date view
    out = augment(scene, np.random.default_rng(8), Augment(haze_fraction=0.5))
    for b in REDUCED_BANDS:  # a band's date view is perturbed as the band
        np.testing.assert_array_equal(out[f"view_{b}"], out[b])
        assert not np.array_equal(out[b], scene[b])
    np.testing.assert_allclose(out["ndvi_mid"], ndvi(out["nir"], out["red"]), atol=1e-6)
    period = {**scene, "ndvi_max": np.full(500, 0.8, np.float32)}
    period["ndvi_max_late"] = np.full(500, 0.1, np.float32)
    bright = augment(period, np.random.default_rng(7), Augment(tilt=0.0, haze_fraction=0.0))
    np.testing.assert_allclose(bright["ndvi_max"], 0.8, atol=1e-6)  # brightness alone: unchanged
    np.testing.assert_allclose(bright["ndvi_max_late"], 0.1, atol=1e-6)
