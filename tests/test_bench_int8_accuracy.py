"""The 8-bit accuracy study (bench/int8_accuracy.py): its numpy classifier gives the shipped
classes (so its figures compare with geomon evaluate's), and its 8-bit first stage stays close
to the shipped one; its swap of the classifier is undone after the block."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from geomon.classify import REDUCED_FEATURES, classify, select_model

int8_accuracy = pytest.importorskip("bench.int8_accuracy")
landscape = pytest.importorskip("bench.landscape")


def _composite(side: int = 192) -> xr.Dataset:
    """A one-period composite of a realistic scene with the shared-band model's inputs."""
    _, cube = landscape.realistic_reflectance((side, side), seed=5)
    bands = dict(zip(landscape.BANDS, cube, strict=True))
    values = {b: bands[b] for b in REDUCED_FEATURES.bands}
    values["ndvi_max"] = (bands["nir"] - bands["red"]) / (bands["nir"] + bands["red"])
    valid = np.ones((1, side, side), bool)
    valid[0, :7, :11] = False  # some pixels without data
    coords = {"time": [np.datetime64("2023-01-01")], "y": np.arange(side) * -10.0,
              "x": np.arange(side) * 10.0}  # fmt: skip
    data = {k: (("time", "y", "x"), v[None].astype(np.float32)) for k, v in values.items()}
    data["valid"] = (("time", "y", "x"), valid)
    return xr.Dataset(data, coords=coords)


def test_numpy_classifier_gives_the_shipped_classes_and_int8_stays_close() -> None:
    model = select_model(REDUCED_FEATURES.bands)
    comp = _composite()
    shipped = classify(comp, model)["class"].values
    control = int8_accuracy.predictor(model, None)
    got = int8_accuracy.classify_numpy(comp, model, control)
    np.testing.assert_array_equal(got["class"].values, shipped)
    assert (got["class"].values[0, :7, :11] == 0).all()
    assert set(got) >= {"class", "probability"}
    x, ok = int8_accuracy.features(comp, model)
    int8 = int8_accuracy.Int8FirstStage.calibrate(model, x[:, ok])
    assert np.abs(int8.w1).max() <= 127 and np.abs(int8.w2).max() <= 127
    eight = int8_accuracy.classify_numpy(comp, model, int8_accuracy.predictor(model, int8))
    agree = (eight["class"].values == shipped).mean()
    assert agree >= 0.98  # close to the shipped classes (0.991 here; a wrong scale: 0.88)


def test_numpy_classifier_swap_is_undone() -> None:
    import geomon.classify as gc
    import geomon.classify.recipes as recipes

    model = select_model(REDUCED_FEATURES.bands)
    before = recipes.classify_dataset, gc.classify
    with int8_accuracy.numpy_classifier(model, int8_accuracy.predictor(model, None)):
        assert gc.classify is not before[1] and recipes.classify_dataset is not before[0]
        out = gc.classify(_composite(96), model)
        assert "class" in out
    assert (recipes.classify_dataset, gc.classify) == before
