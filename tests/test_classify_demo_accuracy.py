"""``evaluate_on_demo`` and ``geomon evaluate --demo-seeds``: the stable-pixel report, and every
pixel at its period's middle scene as the footprint check counts it, on a small real demo
catalog (one mine growing through two years of three scenes each)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    import xarray as xr

    from geomon.classify import PixelModel
    from geomon.classify.recipes import DemoAccuracy
    from geomon.demo import DemoCatalog

SEED = 4  # a validation seed (the catalog's config seed; never a training seed of a model)


@pytest.fixture(scope="module")
def model() -> PixelModel:
    from geomon.classify import FULL_FEATURES, select_model
    from geomon.errors import GeomonError

    try:
        return select_model(FULL_FEATURES.bands)
    except GeomonError:
        pytest.skip("no shipped classifier in models/")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> DemoCatalog:
    from geomon.demo import DemoConfig, build_demo_catalog

    cfg = DemoConfig(seed=SEED, mine_ids=("kamoto",), years=2, dates_per_year=3, window_m=1500)
    return build_demo_catalog(cfg, root=tmp_path_factory.mktemp("demo") / "cat")


@pytest.fixture(scope="module")
def small_demo(catalog: DemoCatalog) -> Iterator[None]:
    """``evaluate_on_demo`` measures on the small catalog whatever seeds it is given."""
    from geomon.classify import recipes

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(recipes, "demo_catalogs", lambda seeds, years=5, progress=False: [catalog])
        yield


@pytest.fixture(scope="module")
def accuracy(model: PixelModel, small_demo: None) -> DemoAccuracy:
    from geomon.classify.recipes import evaluate_on_demo

    return evaluate_on_demo(model, [SEED], "year")


def _changed_within_period(catalog: DemoCatalog, ds: xr.Dataset) -> np.ndarray:
    """bool ``(time, y, x)``: two scenes of the period saw different covers (read anew)."""
    from geomon.classify.demo_data import truth_on_grid

    crs = str(ds.rio.crs)
    transform = ds.rio.transform(recalc=True)
    shape = (ds.sizes["y"], ds.sizes["x"])
    out = []
    for ids in ds["item_ids"].values:
        covers = np.stack(
            [
                truth_on_grid(str(catalog.truth_path(i)), crs, transform, shape)[0]
                for i in ids.split(",")
            ]
        )
        seen = covers != 0
        lo = np.where(seen, covers, 255).min(axis=0)
        hi = np.where(seen, covers, 0).max(axis=0)
        out.append(seen.any(axis=0) & (lo != hi))
    return np.stack(out)


def test_middle_scene_report_counts_ground_that_changed_within_its_period(
    catalog: DemoCatalog, model: PixelModel, accuracy: DemoAccuracy
) -> None:
    """The second report's confusion matrix is the one the footprint check's truth
    (``truth_codes``, read independently) gives on pixels seen clear; it holds ground whose
    cover changed within a year, which the stable-pixel report leaves out."""
    from geomon.classify.apply import classify_dataset
    from geomon.classify.demo_data import NO_LABEL, contract_lookup, load_mine
    from geomon.classify.recipes import pixel_counts
    from geomon.footprint.assess import truth_codes

    data = load_mine(catalog, "kamoto", "year", model.reads_date_view)
    lut = contract_lookup(catalog)
    truth = truth_codes(catalog, data.imagery)
    middle = lut[truth]
    assert np.array_equal(np.where(middle != NO_LABEL, truth, NO_LABEL), data.middle)
    pred = classify_dataset(data.imagery, model)["class"].values
    ref = np.where(data.clear & (middle != NO_LABEL), middle, NO_LABEL)
    assert np.array_equal(accuracy.middle.counts, pixel_counts(pred, ref)[1:, 1:])

    changed = _changed_within_period(catalog, data.imagery) & (ref != NO_LABEL) & (pred > 0)
    assert changed.sum() > 100  # the mine grows within each year: the test is not vacuous
    assert (data.cover[changed] == NO_LABEL).all()  # left out of the stable reference
    n_stable, n_middle = accuracy.stable.counts.sum(), accuracy.middle.counts.sum()
    assert n_stable + changed.sum() <= n_middle
    # every stable pixel is a middle-scene pixel of the same class
    stable_ref = np.where(data.clear & (data.cover != NO_LABEL), lut[data.cover], NO_LABEL)
    assert (stable_ref[stable_ref != NO_LABEL] == ref[stable_ref != NO_LABEL]).all()
    assert not np.array_equal(accuracy.stable.counts, accuracy.middle.counts)


def test_evaluate_demo_seeds_prints_both_reports(
    model: PixelModel,
    accuracy: DemoAccuracy,
    small_demo: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The stable-pixel report comes first and unchanged, then the middle-scene report (more
    reference pixels), then a line giving both counts."""
    from geomon.cli import main
    from geomon.evaluate import format_report

    assert main(["evaluate", "--demo-seeds", str(SEED), "--bands", "full", "--period", "year"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "evaluate: 100%" in captured.err  # long work shows progress (on stderr, not in out)
    title = f"{model.model_id} on demo seeds {SEED}, year composites"
    first = format_report(accuracy.stable, title)
    assert out.startswith(first + "\n\n")
    second = format_report(
        accuracy.middle,
        f"{title}: every pixel seen clear, at its period's middle scene (as the footprint check "
        "counts it)",
    )
    assert out[len(first) + 2 :].startswith(second + "\n\n")
    assert first.splitlines()[1:] != second.splitlines()[1:]  # not the same report twice
    sizes = [
        int(line.rsplit(", ", 1)[1].removesuffix(" px"))
        for line in out.splitlines()
        if line.startswith("confusion matrix")
    ]
    n_stable, n_middle = int(accuracy.stable.counts.sum()), int(accuracy.middle.counts.sum())
    assert sizes == [n_stable, n_middle] and n_stable < n_middle
    last = out.rstrip("\n").splitlines()[-1]
    assert last.startswith(f"stable-pixel reference: {n_stable:,} px of {n_middle:,} (")
    assert f"the {n_middle - n_stable:,} left out changed within their period" in last


def test_reference_counts_read_in_millions() -> None:
    from geomon.classify.recipes import _px

    assert _px(16_650_000) == "16.65 M" and _px(999_999) == "999,999"


def test_evaluate_footprint_checks_each_mine_and_shows_progress(
    model: PixelModel, small_demo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--footprint`` runs the chain over each demo mine and compares its new disturbance with
    the truth: a row per mine run and the totals, with the mines done shown on stderr."""
    from geomon.cli import main

    argv = ["evaluate", "--demo-seeds", str(SEED), "--bands", "full", "--footprint"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    after = captured.out.split("new disturbance against the truth", 1)[1]
    table, land = after.split("\n\n", 1)  # then the footprint against the disturbed land
    rows = [line.split() for line in table.splitlines() if line.startswith(("kamoto@", "total"))]
    assert [r[0] for r in rows] == [f"kamoto@{SEED}", "total"]
    assert rows[0][1:5] == rows[1][1:5]  # one mine: its AOI, new and truth areas are the total
    mine = [line.split() for line in land.splitlines() if line.startswith(("kamoto@", "all "))]
    assert [r[0] for r in mine] == [f"kamoto@{SEED}", "all"]
    assert mine[0][1:] == mine[1][2:]  # one mine: its row is the total
    assert land.rstrip("\n").splitlines()[-1].startswith("disturbed land the footprint holds: ")
    assert "footprint check: 100%" in captured.err


def test_middle_labels_train_on_ground_that_changed_within_its_period(
    catalog: DemoCatalog,
) -> None:
    """``DemoSampling.middle_labels``: a composite's pixels take their middle-scene truth, so
    ground the mine took within a year becomes a training pixel; stable pixels keep their label,
    and single scenes are labelled by their own truth either way."""
    from geomon.classify.demo_data import cover_codes, load_mine, training_labels
    from geomon.classify.samples import DEMO_COVER_LABELS, DEMO_SCHEME, label_lookup

    lut = label_lookup(cover_codes(catalog), DEMO_SCHEME, DEMO_COVER_LABELS)
    data = load_mine(catalog, "kamoto", "year")
    stable = training_labels(data, lut)
    middle = training_labels(data, lut, middle=True)
    kept = stable >= 0
    assert (middle[kept] == stable[kept]).all()
    gained = (stable < 0) & (middle >= 0)
    changed = _changed_within_period(catalog, data.imagery)
    assert gained.sum() > 100 and changed[gained].all()
    disturbed = DEMO_SCHEME.labels.index("disturbed")
    assert (middle[gained] == disturbed).sum() > 0  # ground cleared before the middle scene
    assert (middle[gained] == lut[data.middle][gained]).all()
    scenes = load_mine(catalog, "kamoto")
    assert np.array_equal(training_labels(scenes, lut, middle=True), training_labels(scenes, lut))


def test_demo_samples_show_the_mines_drawn(
    catalog: DemoCatalog, capsys: pytest.CaptureFixture[str]
) -> None:
    from geomon.classify.demo_data import DemoSampling, demo_samples
    from geomon.classify.features import shipped_features

    fset = shipped_features("reduced")
    sampling = DemoSampling(per_label=20, periods=("year",), middle_labels=True)
    x, y = demo_samples([catalog], fset, sampling, progress=True)
    assert x.shape == (len(y), len(fset)) and len(y) > 0
    err = capsys.readouterr().err
    assert "training pixels" in err and "1/1" in err
