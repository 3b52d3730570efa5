"""The realistic benchmark scene (bench/landscape.py): shape, range, covers, determinism."""

from __future__ import annotations

import numpy as np
import pytest

landscape = pytest.importorskip("bench.landscape")


def test_realistic_scene_has_every_kind_of_cover_in_range() -> None:
    landcover, cube = landscape.realistic_reflectance((300, 260), seed=3)
    assert landcover.shape == (300, 260) and cube.shape == (10, 300, 260)
    assert cube.dtype == np.float32 and cube.min() >= 0.001 and cube.max() <= 1.0
    assert set(np.unique(landcover)) == {0, 1, 2}  # vegetation, bare, water for the SCL
    again = landscape.realistic_reflectance((300, 260), seed=3)
    np.testing.assert_array_equal(again[1], cube)
