from __future__ import annotations

import numpy as np
import pytest

from geomon.errors import EvaluationError
from geomon.evaluate import assess, confusion_matrix, error_adjusted_area, format_report

# Olofsson et al. (2014), Remote Sensing of Environment 148:42-57, section 5 worked example:
# rows = map (deforestation, forest gain, stable forest, stable non-forest), columns = reference.
OLOFSSON_COUNTS = np.array([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]])
OLOFSSON_MAPPED_HA = np.array([200_000, 150_000, 3_200_000, 6_450_000]) * 0.09  # 30 m pixels
NAMES = ("deforestation", "gain", "forest", "non_forest")


def test_olofsson_worked_example_areas_and_intervals() -> None:
    areas = error_adjusted_area(OLOFSSON_COUNTS, OLOFSSON_MAPPED_HA)
    # the paper: 21,158 ± 6,158 ha; 11,686 ± 3,756; 285,770 ± 15,510; 581,386 ± 16,282
    expected = [(21_158, 6_158), (11_686, 3_756), (285_770, 15_510), (581_386, 16_282)]
    for est, (area, ci) in zip(areas, expected, strict=True):
        assert est.area_ha == pytest.approx(area, abs=1.0)
        assert est.ci95_ha == pytest.approx(ci, abs=1.5)
    # user's 0.88 ± 0.07 and producer's 0.75 ± 0.21 for deforestation
    assert areas[0].users == pytest.approx(0.88) and areas[0].users_ci95 == pytest.approx(
        0.07, abs=0.005
    )
    assert areas[0].producers == pytest.approx(0.75, abs=0.005)
    assert areas[0].producers_ci95 == pytest.approx(0.21, abs=0.005)
    assert sum(a.area_ha for a in areas) == pytest.approx(OLOFSSON_MAPPED_HA.sum())


def test_olofsson_overall_accuracy_is_area_weighted() -> None:
    report = assess(OLOFSSON_COUNTS, NAMES, OLOFSSON_MAPPED_HA)
    assert report.overall_adjusted == pytest.approx(0.95, abs=0.005)  # paper: 0.95 ± 0.02
    assert report.overall_adjusted_ci95 == pytest.approx(0.02, abs=0.003)
    assert report.overall == pytest.approx(587 / 640)


def test_hand_computed_scores() -> None:
    # map/reference of 10 pixels, classes a (0) and b (1)
    pred = np.array([0, 0, 0, 1, 1, 1, 1, 1, 0, 1])
    ref = np.array([0, 0, 1, 1, 1, 1, 0, 1, 0, 1])
    counts = confusion_matrix(pred, ref, 2)
    np.testing.assert_array_equal(counts, [[3, 1], [1, 5]])
    report = assess(counts, ("a", "b"))
    assert report.score("a") == pytest.approx(
        {"precision": 0.75, "recall": 0.75, "f1": 0.75, "iou": 0.6}
    )
    assert report.score("b")["precision"] == pytest.approx(5 / 6)
    assert report.score("b")["iou"] == pytest.approx(5 / 7)
    assert report.overall == pytest.approx(0.8)


def test_census_reference_gives_reference_area() -> None:
    pred = np.array([0, 0, 0, 1, 1, 1, 1, 1, 0, 1])
    ref = np.array([0, 0, 1, 1, 1, 1, 0, 1, 0, 1])
    counts = confusion_matrix(pred, ref, 2)
    areas = error_adjusted_area(counts, counts.sum(axis=1) * 0.01)
    assert [a.area_ha for a in areas] == pytest.approx([0.04, 0.06])


def test_ignored_code_and_mismatched_grids() -> None:
    counts = confusion_matrix(np.array([0, 1, 2]), np.array([0, 0, 1]), 3, ignore=0)
    assert counts.sum() == 1 and counts[2, 1] == 1
    with pytest.raises(EvaluationError, match="same grid"):
        confusion_matrix(np.zeros(3), np.zeros(4), 2)
    with pytest.raises(EvaluationError, match="no reference pixel"):
        assess(np.zeros((2, 2), int), ("a", "b"))


def test_report_text_names_every_part() -> None:
    text = format_report(assess(OLOFSSON_COUNTS, NAMES, OLOFSSON_MAPPED_HA), "olofsson")
    for part in (
        "rows = map",
        "precision",
        "IoU",
        "overall accuracy",
        "error-adjusted area",
        "21157.76",
    ):
        assert part in text
