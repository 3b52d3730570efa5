"""``geomon train`` and ``geomon evaluate`` in-process, on generated catalogs (train and test apart)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Point, mapping

from geomon.classify.labels import NO_REFERENCE, reference_on_grid
from geomon.cli import main
from geomon.errors import ConfigError
from geomon.imagery.testing import write_s2_catalog

DATES = [dt.date(2021, 3, 1), dt.date(2021, 6, 1), dt.date(2021, 9, 1)]


def _scene(root: Path, seed: int) -> tuple[Path, Path, Path]:
    """A catalog, its AOI file and a label raster (veg 1, bare 2, water 3) from its truth."""
    made = write_s2_catalog(root / "cat", DATES, size_px=64, seed=seed)
    aoi = root / "aoi.geojson"
    aoi.write_text(
        json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(made.aoi_lonlat)})
    )
    labels = root / "labels.tif"
    left, _, _, top = made.bounds
    profile = {"driver": "GTiff", "width": 64, "height": 64, "count": 1, "dtype": "uint8",
               "crs": made.crs, "transform": from_origin(left, top, 10, 10), "nodata": 0}  # fmt: skip
    with rasterio.open(labels, "w", **profile) as dst:
        dst.write((made.landcover + 1).astype(np.uint8), 1)
    assert made.catalog_path is not None
    return made.catalog_path, aoi, labels


def test_train_then_evaluate_on_another_scene(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat_a, aoi_a, labels_a = _scene(tmp_path / "a", seed=0)
    cat_b, aoi_b, labels_b = _scene(tmp_path / "b", seed=3)
    model = tmp_path / "user.gmodel"
    common = ["--start", "2021-01-01", "--end", "2021-12-31", "--period", "year"]
    assert main(["train", "--aoi", str(aoi_a), *common, "--source", f"stac:{cat_a}",
                 "--labels", str(labels_a), "--out", str(model)]) == 0  # fmt: skip
    trained = capsys.readouterr()
    assert "wrote" in trained.out and model.stat().st_size < 50_000
    assert "composite:" in trained.err  # the composite's progress bar (periods)
    assert main(["evaluate", "--aoi", str(aoi_b), *common, "--source", f"stac:{cat_b}",
                 "--model", str(model), "--reference", str(labels_b)]) == 0  # fmt: skip
    evaluated = capsys.readouterr()
    assert "classify:" in evaluated.err
    out = evaluated.out
    assert "confusion matrix" in out and "error-adjusted area" in out
    line = next(row for row in out.splitlines() if row.startswith("bare_disturbed") and "." in row)
    assert float(line.split()[3]) > 0.95  # F1 of bare ground on the unseen scene
    # the same model with a date view: evaluate makes the view it reads
    viewed = tmp_path / "viewed.gmodel"
    assert main(["model-rules", str(model), "--date-view", "0.9", "--out", str(viewed)]) == 0
    assert main(["evaluate", "--aoi", str(aoi_b), *common, "--source", f"stac:{cat_b}",
                 "--model", str(viewed), "--reference", str(labels_b)]) == 0  # fmt: skip
    assert "confusion matrix" in capsys.readouterr().out


def test_evaluate_without_reference_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate"]) == 2
    assert "give --reference FILE" in capsys.readouterr().err


def test_evaluate_tail_threshold_needs_the_footprint_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The tail threshold changes only the footprint check: alone it would do nothing."""
    for extra in ([], ["--demo-seeds", "101"]):
        assert main(["evaluate", *extra, "--tail-min-probability", "0.7"]) == 2
        err = capsys.readouterr().err
        assert "--tail-min-probability needs --demo-seeds and --footprint" in err
        assert len(err.strip().splitlines()) == 1


def test_max_cloud_with_demo_seeds_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """Demo seeds read every scene: an imagery option beside them would be silently ignored."""
    for command in (["evaluate"], ["train", "--out", "x.gmodel"]):
        assert main([*command, "--demo-seeds", "101", "--max-cloud", "50"]) != 0
        assert "--max-cloud applies to imagery sources, not --demo-seeds" in capsys.readouterr().err
    for command in (["evaluate"], ["train", "--out", "x.gmodel"]):
        for extra in (["--source", "demo"], ["--start", "2021-01-01"]):
            assert main([*command, "--demo-seeds", "101", *extra]) != 0
            assert f"{extra[0]} applies to imagery sources" in capsys.readouterr().err
    assert main(["train", "--out", "x.gmodel", "--demo-seeds", "101", "--period", "month"]) != 0
    assert "--period applies to imagery sources" in capsys.readouterr().err


def test_evaluate_with_a_missing_reference_fails_before_classifying(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog, aoi, _ = _scene(tmp_path, seed=3)
    code = main(["evaluate", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2021-12-31",
                 "--source", f"stac:{catalog}", "--reference", str(tmp_path / "none.tif")])  # fmt: skip
    printed = capsys.readouterr()
    assert code != 0 and f"reference {tmp_path / 'none.tif'} not found" in printed.err
    assert "classify" not in printed.err  # no progress bar: nothing was classified


def test_labelled_points_land_on_their_pixels(tmp_path: Path) -> None:
    crs = "EPSG:32735"
    points = gpd.GeoDataFrame(
        {"class": ["water", "bare_disturbed", 1]},
        geometry=[Point(500_015, 8_999_985), Point(500_055, 8_999_955), Point(500_095, 8_999_905)],
        crs=crs,
    )
    path = tmp_path / "points.geojson"
    points.to_file(path)
    ref = reference_on_grid(path, crs, from_origin(500_000, 9_000_000, 10, 10), (10, 10))
    assert ref[1, 1] == 3 and ref[4, 5] == 2 and ref[9, 9] == 1
    assert (ref == NO_REFERENCE).sum() == 97
    points["class"] = ["lava", "water", "water"]
    points.to_file(path)
    with pytest.raises(ConfigError, match="lava"):
        reference_on_grid(path, crs, from_origin(500_000, 9_000_000, 10, 10), (10, 10))


def test_footprint_on_an_aoi_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``geomon footprint --aoi FILE``: an area that is not in the registry, named after the file."""
    from geomon.classify.features import FULL_FEATURES, compute_features
    from geomon.classify.model_io import save_model
    from geomon.classify.train import LabelScheme, TrainOptions, fit_pixel_model
    from geomon.imagery import BANDS
    from geomon.imagery.testing import surface_reflectance

    landcover, cube = surface_reflectance((64, 64), seed=5)
    x = compute_features({b: cube[i] for i, b in enumerate(BANDS)}, FULL_FEATURES)
    scheme = LabelScheme(
        ("vegetation", "bare", "water"),
        ("vegetation", "bare_disturbed", "water"),
        ("unknown", "bare", "water"),
    )
    model = fit_pixel_model(
        x.reshape(len(FULL_FEATURES), -1).T, landcover.ravel(), FULL_FEATURES, scheme, "tiny",
        TrainOptions(hidden=(8,), max_iter=30),
    )  # fmt: skip
    save_model(model, tmp_path / "tiny.gmodel")
    catalog, aoi, _ = _scene(tmp_path, seed=1)
    site = aoi.rename(tmp_path / "pit_north.geojson")
    out = tmp_path / "out"
    code = main(["footprint", "--aoi", str(site), "--start", "2021-01-01", "--end", "2021-12-31",
                 "--source", f"stac:{catalog}", "--model", str(tmp_path / "tiny.gmodel"),
                 "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "pit_north: model tiny" in printed.out
    assert (out / "footprint_2021.parquet").exists() and (out / "classes_2021.tif").exists()
    assert main(["footprint", "greenbushes", "--aoi", str(site), "--start", "2021-01-01",
                 "--end", "2021-12-31", "--out", str(out)]) == 2  # fmt: skip
    assert "give either a MINE_ID or --aoi" in capsys.readouterr().err


def test_footprint_checks_the_baseline_first_and_passes_max_cloud(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A baseline after the last period fails before any imagery is read (no progress bar, no
    output folder); ``--max-cloud`` reaches the scene search."""
    made = write_s2_catalog(tmp_path / "cat", DATES, size_px=32, seed=2, cloud=0.3)
    aoi = tmp_path / "pit.geojson"
    aoi.write_text(
        json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(made.aoi_lonlat)})
    )
    out = tmp_path / "out"
    args = ["footprint", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2021-12-31",
            "--source", f"stac:{made.catalog_path}", "--out", str(out)]  # fmt: skip
    assert main([*args, "--baseline", "2022"]) != 0
    printed = capsys.readouterr()
    assert "error: no period on or after baseline 2022 (the last period is 2021)" in printed.err
    assert main([*args, "--baseline", "2021-01-01T00:00Z"]) != 0
    assert "neither a period label nor a date" in capsys.readouterr().err
    swapped = [a if a != "2021-12-31" else "2020-06-30" for a in args]
    assert main([*swapped, "--baseline", "2021"]) != 0
    assert "swap the dates" in capsys.readouterr().err
    assert "classify" not in printed.err and "composite" not in printed.err
    assert main([*args, "--baseline", "2021-06-01", "--period", "quarter", "--max-cloud", "1"]) != 0
    printed = capsys.readouterr()
    assert "cloud cover <= 1%" in printed.err and "raise --max-cloud" in printed.err
    assert not out.exists()


def test_train_hidden_sets_the_layers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from geomon.classify import load_model

    cat, aoi, labels = _scene(tmp_path, seed=0)
    common = ["train", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2021-12-31",
              "--period", "year", "--source", f"stac:{cat}", "--labels", str(labels)]  # fmt: skip
    model = tmp_path / "m.gmodel"
    assert main([*common, "--hidden", "12,6", "--out", str(model)]) == 0
    assert load_model(model).info["hyper_parameters"]["hidden_layer_sizes"] == [12, 6]
    capsys.readouterr()
    bad = tmp_path / "bad.gmodel"
    assert main([*common, "--hidden", "12,x", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "--hidden '12,x'" in err and len(err.strip().splitlines()) == 1 and not bad.exists()
    assert main([*common, "--hidden", "64,99999", "--out", str(bad)]) == 2
    assert "1..4096" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "n_features"),
    [
        ("--no-context", 18),
        ("--no-temporal", 31),
        ("--late-ndvi", 33),
        ("--mid-ndvi", 33),
        ("--view-bands", 42),
    ],
)
def test_train_flags_leave_out_context_or_period_statistics(
    tmp_path: Path, flag: str, n_features: int, capsys: pytest.CaptureFixture[str]
) -> None:
    from geomon.classify import load_model

    cat, aoi, labels = _scene(tmp_path, seed=0)
    model = tmp_path / "m.gmodel"
    assert main(["train", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2021-12-31",
                 "--period", "year", "--source", f"stac:{cat}", "--labels", str(labels),
                 flag, "--hidden", "8", "--out", str(model)]) == 0  # fmt: skip
    assert len(load_model(model).features) == n_features
    if flag in ("--mid-ndvi", "--view-bands"):  # statistics of the date view: composites with it
        made = load_model(model)
        views = (
            ("ndvi_mid",)
            if flag == "--mid-ndvi"
            else tuple(f"view_{b}" for b in made.features.bands)
        )
        assert made.features.temporal == ("ndvi_max", *views) and made.reads_date_view
        assert main(["train", "--demo-seeds", "1", flag, "--no-temporal",
                     "--out", str(tmp_path / "bad.gmodel")]) == 2  # fmt: skip
        assert "leave out --no-temporal" in capsys.readouterr().err
    if flag == "--late-ndvi":
        assert load_model(model).features.temporal == ("ndvi_max", "ndvi_max_late")
        bad = tmp_path / "bad.gmodel"
        assert main(["train", "--demo-seeds", "1", "--late-ndvi", "--no-temporal",
                     "--out", str(bad)]) == 2  # fmt: skip
        assert main(["train", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2021-12-31",
                     "--period", "year", "--source", f"stac:{cat}", "--labels", str(labels),
                     "--middle-labels", "--out", str(bad)]) == 2  # fmt: skip
        capsys.readouterr()
        assert main(["train", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2021-12-31",
                     "--period", "year", "--source", f"stac:{cat}", "--labels", str(labels),
                     "--per-label", "10", "--out", str(bad)]) == 2  # fmt: skip
        err = capsys.readouterr().err
        assert "--per-label draws demo pixels: give --demo-seeds too" in err
        assert len(err.strip().splitlines()) == 1
        assert main(["train", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2021-12-31",
                     "--period", "year", "--source", f"stac:{cat}", "--labels", str(labels),
                     "--brightness", "0.6,1.18", "--out", str(bad)]) == 2  # fmt: skip
        err = capsys.readouterr().err
        assert "--brightness perturbs demo pixels" in err and len(err.strip().splitlines()) == 1
        for value in ("0.6", "1.2,0.6", "0,1", "a,b", "0.6,inf"):
            assert main(["train", "--demo-seeds", "1", "--brightness", value,
                         "--out", str(bad)]) == 2  # fmt: skip
            err = capsys.readouterr().err
            assert f"--brightness {value!r}" in err and len(err.strip().splitlines()) == 1
        assert not bad.exists()
        assert main(["train", "--demo-seeds", "1", "--per-label", "0", "--out", str(bad)]) == 2
        assert "--per-label" in capsys.readouterr().err
        assert not bad.exists()
