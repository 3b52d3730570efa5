"""The truth-class runs (the truth in place of the classifier): bench/change_sweep.py and the
new-area check's rules' reach."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from geomon.footprint import rule_inputs
from geomon.footprint.assess import truth_as_classes

change_sweep = pytest.importorskip("bench.change_sweep")


def test_truth_as_classes_keeps_the_composites_clear_pixels() -> None:
    dims = ("time", "y", "x")
    classes = xr.Dataset(
        {
            "class": (dims, np.array([[[1, 4, 0, 2]], [[2, 2, 2, 0]]], np.uint8)),
            "probability": (dims, np.full((2, 1, 4), 0.7, np.float32)),
            "clear_count": (dims, np.full((2, 1, 4), 3, np.int16)),
        }
    )
    lut = np.full(256, 255, np.uint8)
    lut[[1, 10, 12]] = [1, 2, 3]  # forest, pit, tailings pond; code 0 (no data) has no class
    codes = np.array([[[10, 12, 10, 0]], [[1, 10, 12, 10]]], np.uint8)
    out = truth_as_classes(classes, codes, lut)
    # the truth where the composite saw the ground; 0 where it did not or the truth has no class
    assert out["class"].values.tolist() == [[[2, 3, 0, 0]], [[1, 2, 3, 0]]]
    assert (out["probability"].values == 1).all() and out["probability"].dtype == np.float32
    assert (out["clear_count"].values == 3).all()
    assert classes["class"].values[0, 0].tolist() == [1, 4, 0, 2]  # the input is left as it was
    # a date-view model's classes: the rules read the truth, not the composite's own classes,
    # and "seen" is the composite's (the view's map may say clear where the composite did not)
    viewed = classes.assign(
        composite_class=classes["class"],
        composite_probability=classes["probability"],
        **{"class": classes["class"].where(classes["class"] > 0, 1).astype(np.uint8)},
    )
    out = truth_as_classes(viewed, codes, lut)
    assert "composite_class" not in out and "composite_probability" not in out
    assert rule_inputs(out)["class"].values.tolist() == [[[2, 3, 0, 0]], [[1, 2, 3, 0]]]


def test_ndvi_max_as_ndvi_feeds_the_composites_own_ndvi() -> None:
    dims = ("time", "y", "x")
    comp = xr.Dataset(
        {
            "red": (dims, np.array([[[0.1, 0.2, 0.3]]], np.float32)),
            "nir": (dims, np.array([[[0.3, 0.2, np.nan]]], np.float32)),
            "ndvi_max": (dims, np.array([[[0.8, np.nan, 0.5]]], np.float32)),
        }
    )
    out = change_sweep.ndvi_max_as_ndvi(comp)
    got = out["ndvi_max"].values[0, 0]
    assert got[0] == pytest.approx(0.5) and np.isnan(got[1]) and np.isnan(got[2])
    assert out["ndvi_max"].dtype == np.float32
    assert comp["ndvi_max"].values[0, 0, 0] == pytest.approx(0.8)  # the input is left as it was
    assert change_sweep.ndvi_max_as_ndvi(comp.drop_vars("ndvi_max")).identical(
        comp.drop_vars("ndvi_max")
    )


def test_routed_by_late_drop_takes_the_second_classes_where_ndvi_falls_late() -> None:
    dims = ("time", "y", "x")
    comp = xr.Dataset(
        {
            "ndvi_max": (dims, np.array([[[0.8, 0.8, 0.8, np.nan]]], np.float32)),
            "ndvi_max_late": (dims, np.array([[[0.8, 0.2, 0.75, np.nan]]], np.float32)),
        }
    )

    def classes(code: int, p: float) -> xr.Dataset:
        return xr.Dataset(
            {
                "class": (dims, np.full((1, 1, 4), code, np.uint8)),
                "probability": (dims, np.full((1, 1, 4), p, np.float32)),
            }
        )

    out = change_sweep.routed_by_late_drop(classes(1, 0.9), classes(2, 0.6), comp, 0.1)
    assert out["class"].values[0, 0].tolist() == [1, 2, 1, 1]  # only the 0.6 drop moves
    assert out["probability"].values[0, 0].tolist() == pytest.approx([0.9, 0.6, 0.9, 0.9])
    assert out["class"].dtype == np.uint8 and out["probability"].dtype == np.float32


def test_baseline_view_gives_the_rules_the_map_in_the_baseline_period_only() -> None:
    code = np.array([[[2, 1]], [[1, 2]], [[2, 2]]], np.uint8)  # the map (view-amended)
    own = np.array([[[1, 1]], [[1, 1]], [[1, 1]]], np.uint8)  # the composite's own
    classes = xr.Dataset(
        {
            "class": (("time", "y", "x"), code),
            "composite_class": (("time", "y", "x"), own),
            "probability": (("time", "y", "x"), np.full(code.shape, 0.9, np.float32)),
            "composite_probability": (("time", "y", "x"), np.full(code.shape, 0.6, np.float32)),
        }
    )
    read = rule_inputs(change_sweep.baseline_view(classes))
    np.testing.assert_array_equal(read["class"].values[0], code[0])
    np.testing.assert_array_equal(read["class"].values[1:], own[1:])
    np.testing.assert_array_equal(read["probability"].values[0], np.float32(0.9))
    np.testing.assert_array_equal(read["probability"].values[1:], np.float32(0.6))
    np.testing.assert_array_equal(classes["composite_class"].values, own)  # not changed
    plain = xr.Dataset({"class": (("time", "y", "x"), code)})
    np.testing.assert_array_equal(change_sweep.baseline_view(plain)["class"].values, code)
