"""The date-view experiment's pieces (bench/date_view.py): the view takes the clear observations
nearest the period's middle scene, and the amendment takes only confident bare ground."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

date_view = pytest.importorskip("bench.date_view")


def test_nearest_view_takes_the_clear_observations_nearest_the_middle() -> None:
    # one band, five scenes, three pixels; the middle scene is index 2, then 1, 3, 0, 4
    values = np.array([10.0, 20.0, 30.0, 40.0, 50.0], np.float32)
    stack = np.broadcast_to(values[None, :, None, None], (1, 5, 1, 3)).copy()
    valid = np.ones((5, 1, 3), bool)
    valid[2, 0, 1] = False  # the middle scene cloudy: the earlier neighbour first
    valid[:, 0, 2] = False  # never clear
    one = date_view.nearest_view(stack, valid, 1)
    assert one[0, 0, 0] == 30 and one[0, 0, 1] == 20 and np.isnan(one[0, 0, 2])
    three = date_view.nearest_view(stack, valid, 3)
    assert three[0, 0, 0] == 30  # median of 30, 20, 40
    assert three[0, 0, 1] == 20  # median of 20, 40, 10 (with 50 instead of 10 it were 40)


def test_amend_takes_only_confident_bare_ground_on_clear_pixels() -> None:
    dims = ("time", "y", "x")
    classes = xr.Dataset(
        {
            "class": (dims, np.array([[[1, 4, 0, 2]], [[1, 1, 1, 1]]], np.uint8)),
            "probability": (dims, np.full((2, 1, 4), 0.7, np.float32)),
        }
    )
    view = xr.Dataset(
        {
            "class": (dims, np.full((2, 1, 4), 2, np.uint8)),
            "probability": (dims, np.array([[[0.95, 0.95, 0.95, 0.95]], [[0.8] * 4]], np.float32)),
        }
    )
    out = date_view._amend(classes, view, 0.9, [0])
    # vegetation and built_other become bare; cloud stays cloud; period 1 is not amended
    assert out["class"].values[0, 0].tolist() == [2, 2, 0, 2]
    assert out["probability"].values[0, 0, :2].tolist() == pytest.approx([0.95, 0.95])
    assert out["class"].values[1, 0].tolist() == [1, 1, 1, 1]
    assert classes["class"].values[0, 0].tolist() == [1, 4, 0, 2]  # the input is left as it was
    everywhere = date_view._amend(classes, view, 0.8, None)
    assert everywhere["class"].values[1, 0].tolist() == [2, 2, 2, 2]


def test_view_order_before_and_after_the_middle_scene() -> None:
    assert date_view.view_order(5, "nearest") == [2, 1, 3, 0, 4]
    assert date_view.view_order(5, "before") == [2, 1, 0]
    assert date_view.view_order(5, "after") == [3, 4]
    assert date_view.view_order(1, "after") == []
