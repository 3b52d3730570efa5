"""bench/temporal_input.py: bare_disturbed F1 and IoU from a confusion matrix, as evaluate scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

temporal_input = pytest.importorskip("bench.temporal_input")


def test_bare_scores_from_a_hand_computed_matrix() -> None:
    # rows = map, columns = reference, codes 0 cloud_nodata, 1 vegetation, 2 bare_disturbed, ...
    counts = np.zeros((5, 5), np.int64)
    counts[2, 2] = 80  # bare called bare
    counts[2, 1] = 10  # vegetation called bare: false positives
    counts[4, 2] = 10  # bare called built_other: false negatives
    counts[2, 0] = 50  # no reference (code 0): left out, as geomon evaluate leaves it out
    f1, iou = temporal_input.bare_scores(counts)
    assert f1 == pytest.approx(160 / 180) and iou == pytest.approx(80 / 100)
    assert all(math.isnan(v) for v in temporal_input.bare_scores(np.zeros((5, 5), np.int64)))
