"""The footprint against the demo truth: the by-period split adds up to the whole-series check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from geomon.footprint.assess import check_demo_footprint, new_by_period


def test_new_area_by_period_adds_up_to_the_series_check(tmp_path: Path) -> None:
    from geomon.classify import FULL_FEATURES, select_model
    from geomon.demo import DemoConfig, build_demo_catalog
    from geomon.errors import GeomonError
    from geomon.footprint.polygons import aoi_mask
    from geomon.footprint.run import RunOptions, run_footprint
    from geomon.imagery import Aoi, StaticCatalogSource
    from geomon.registry import load_registry

    try:
        model = select_model(FULL_FEATURES.bands)
    except GeomonError:
        pytest.skip("no shipped classifier in models/")
    cfg = DemoConfig(mine_ids=("kamoto",), years=3, dates_per_year=3, window_m=1500)
    catalog = build_demo_catalog(cfg, root=tmp_path / "demo")
    aoi = Aoi.from_registry(load_registry(), "kamoto")
    source = StaticCatalogSource(catalog.catalog_path, name="demo")
    start, end = dt.date(cfg.start_year, 1, 1), dt.date(cfg.start_year + cfg.years - 1, 12, 31)
    classes = run_footprint(aoi, start, end, source, RunOptions(period="year"), model).classes
    crs = str(classes.rio.crs)
    mask = aoi_mask(
        aoi.projected(crs),
        (classes.sizes["y"], classes.sizes["x"]),
        classes.rio.transform(recalc=True),
    )
    check = check_demo_footprint(catalog, classes, mask, "kamoto")
    split = new_by_period(catalog, classes, mask)
    assert len(split.truth_ha) == len(split.new_ha) == classes.sizes["time"] == cfg.years
    assert split.truth_ha[0] == 0 and split.missed_ha[0] == 0  # nothing is new at the baseline
    assert check.truth_new_ha > 0  # the mine grows in the window: the check is not vacuous
    assert split.truth_ha.sum() == pytest.approx(check.truth_new_ha)
    assert split.missed_ha.sum() == pytest.approx(check.missed_new_ha)
    # a pixel is "new" in one period only, the one its disturbance starts
    assert split.new_ha.sum() == pytest.approx(check.new_ha)
    assert 0 <= split.unseen_baseline_ha <= check.missed_new_ha
    assert np.all(split.missed_ha <= split.truth_ha + 1e-9)


def test_truth_gaps_come_from_the_nearest_scene_with_data() -> None:
    """A period's truth is its middle scene's cover; a pixel outside that scene's swath takes the
    cover of the nearest scene that saw it (before, a no-data code there made ground the mine
    had taken in the baseline year "truly new" later). Scenes are read only while a gap remains."""
    from geomon.footprint.assess import first_known, nearest_first

    assert nearest_first(1) == [0]
    assert nearest_first(4) == [2, 1, 3, 0]
    assert nearest_first(5) == [2, 1, 3, 0, 4]
    gap = np.zeros(256, bool)
    gap[[0, 255]] = True
    scenes = {
        2: np.array([[11, 0, 0, 255]], np.uint8),  # the middle scene: three gaps
        1: np.array([[1, 10, 0, 0]], np.uint8),  # fills the second pixel
        3: np.array([[2, 3, 17, 0]], np.uint8),  # fills the third
        0: np.array([[5, 5, 5, 0]], np.uint8),  # sees none of the fourth
        4: np.array([[6, 6, 6, 19]], np.uint8),  # fills the fourth
    }
    read: list[int] = []

    def lazily(order: list[int]) -> Iterator[np.ndarray]:
        for k in order:
            read.append(k)
            yield scenes[k]

    assert first_known(lazily(nearest_first(5)), gap).tolist() == [[11, 10, 17, 19]]
    assert read == [2, 1, 3, 0, 4]
    read.clear()
    scenes[2] = np.array([[11, 12, 13, 14]], np.uint8)  # no gap: the others are not read
    assert first_known(lazily(nearest_first(5)), gap).tolist() == [[11, 12, 13, 14]]
    assert read == [2]
    read.clear()
    scenes[2] = np.array([[0, 12, 13, 14]], np.uint8)  # a gap no scene fills stays a gap
    scenes[1] = scenes[3] = scenes[0] = scenes[4] = np.full((1, 4), 255, np.uint8)
    assert first_known(lazily(nearest_first(5)), gap).tolist() == [[255, 12, 13, 14]]


def test_check_table_counts_the_mines_within_five_percent() -> None:
    from geomon.footprint.assess import FootprintCheck, format_checks

    checks = [
        FootprintCheck("a", 100.0, 10.4, 10.0, 0.1, 0.0),  # +4 %
        FootprintCheck("b", 100.0, 8.0, 10.0, 0.3, 2.0),  # -20 %
        FootprintCheck("c", 200.0, 10.5, 10.0, 0.2, 0.0),  # +5 %: within
    ]
    last = format_checks(checks).splitlines()[-1]
    assert last == (
        "mines within 5 % of the truth: 2 of 3; median |error| 5.0 %; largest false/AOI 0.30 %"
    )
