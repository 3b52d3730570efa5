"""The chain (imagery -> classes -> footprint -> files) on a generated Sentinel-2 catalog."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from geomon.classify.classes import BARE_DISTURBED, VEGETATION, WATER
from geomon.classify.features import FULL_FEATURES, compute_features
from geomon.classify.model import PixelModel
from geomon.classify.train import LabelScheme, TrainOptions, fit_pixel_model
from geomon.footprint import COLUMNS
from geomon.footprint.change import mine_water
from geomon.footprint.run import RunOptions, run_footprint, write_outputs
from geomon.imagery import BANDS, Aoi, StaticCatalogSource
from geomon.imagery.testing import surface_reflectance, write_s2_catalog

SCHEME = LabelScheme(
    ("vegetation", "bare", "water"),
    ("vegetation", "bare_disturbed", "water"),
    ("unknown", "bare", "water"),
)
DATES = [dt.date(2020, m, 10) for m in (3, 6, 9)] + [dt.date(2021, m, 10) for m in (3, 6, 9)]


@pytest.fixture(scope="module")
def model() -> PixelModel:
    landcover, cube = surface_reflectance((64, 64), seed=5)  # not the catalog's seed
    bands = {b: cube[i] for i, b in enumerate(BANDS)}
    x = compute_features(bands, FULL_FEATURES).reshape(len(FULL_FEATURES), -1).T
    opts = TrainOptions(hidden=(8,), max_iter=30)
    return fit_pixel_model(x, landcover.ravel(), FULL_FEATURES, SCHEME, "tiny-s2", opts)


def test_chain_writes_footprint_and_class_rasters(
    model: PixelModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = write_s2_catalog(
        tmp_path / "cat", DATES, size_px=96, cloud=[0.0, 0.3, 0.0, 0.0, 0.2, 0.0]
    )
    aoi = Aoi("test_mine", made.aoi_lonlat)
    source = StaticCatalogSource(made.catalog_path, name="test")
    run = run_footprint(
        aoi, DATES[0], dt.date(2021, 12, 31), source, RunOptions(period="year"), model
    )
    assert run.model_id == "tiny-s2" and set(run.seconds) == {"load+classify", "footprint"}
    fp = run.footprint
    assert tuple(fp.columns) == COLUMNS and sorted(set(fp.period)) == ["2020", "2021"]
    assert set(fp.status) == {"persisting"}  # the bare land was there at baseline
    # the bare land and the water it rings (mine water: ChangeOptions.mine_water_share)
    codes = np.array([VEGETATION, BARE_DISTURBED, WATER], np.uint8)[made.landcover]
    truth_ha = ((made.landcover == 1).sum() + mine_water(codes, 0.5).sum()) * 0.01
    for period in ("2020", "2021"):
        assert fp[fp.period == period].area_ha.sum() == pytest.approx(truth_ha, rel=0.05)
    files = write_outputs(run, tmp_path / "out")
    names = {f.name for f in files}
    assert {
        "footprint_2020.parquet",
        "footprint_2021.geojson",
        "classes_2021.tif",
        "run.json",
    } <= names
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    rules = summary["footprint_rules"]  # the rules behind the hectares, for an auditor
    assert rules["min_mapping_unit_ha"] == 0.5 and rules["change"]["persistence"] == 2
    assert rules["change"]["tail_conversions"] == ["water", "built_other"]
    assert "aoi_crs" not in rules and rules["change"]["mine_water_share"] == 0.5
    assert (
        rules["change"]["built_reach_m"] == 30.0 and rules["change"]["tail_min_probability"] == 0.8
    )
    # land seen disturbed only in the latest clear view, reported apart (none here: the bare
    # land was there at baseline)
    assert summary["awaiting_confirmation_ha"] == {"2021": 0.0}
    back = gpd.read_parquet(tmp_path / "out" / "footprint_2021.parquet")
    assert tuple(back.columns) == COLUMNS and back.crs == fp.crs
    assert gpd.read_file(tmp_path / "out" / "footprint_2020.geojson").crs.to_epsg() == 4326
    with rasterio.open(tmp_path / "out" / "classes_2020.tif") as src:
        codes = src.read(1)
        assert src.count == 2 and src.overviews(1) is not None
    assert set(np.unique(codes)) <= {0, 1, 2, 3, 4}
    from rio_cogeo.cogeo import cog_validate

    assert cog_validate(str(tmp_path / "out" / "classes_2020.tif"))[0]

    # a failure while writing leaves no partial output: a new folder disappears, an existing
    # one keeps exactly what it held
    import geomon.footprint.run as fr

    def broken(classes: object, index: int, path: Path) -> Path:
        if index == 1:
            raise OSError("disk full")
        return write_class_cog(classes, index, path)  # type: ignore[arg-type]

    write_class_cog = fr.write_class_cog
    monkeypatch.setattr(fr, "write_class_cog", broken)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(run, tmp_path / "new")
    assert not (tmp_path / "new").exists()
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    (tmp_path / "out" / "footprint_2020.parquet").unlink()
    with pytest.raises(OSError, match="disk full"):
        write_outputs(run, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        n for n in before if n != "footprint_2020.parquet"
    ]


def test_compute_classes_equals_a_plain_compute(model: PixelModel, tmp_path: Path) -> None:
    """Periods stored into arrays allocated once give what computing the whole Dataset gives:
    the rasters, the per-period coverage figures, coordinates and attributes."""
    import xarray as xr

    from geomon.classify import classify
    from geomon.footprint.run import compute_classes, run_composite
    from geomon.scheduler import dask_client

    made = write_s2_catalog(
        tmp_path / "cat", DATES, size_px=96, cloud=[0.0, 0.5, 0.0, 0.2, 0.0, 0.0]
    )
    source = StaticCatalogSource(made.catalog_path, name="test")
    comp = run_composite(
        Aoi("test_mine", made.aoi_lonlat),
        DATES[0],
        dt.date(2021, 12, 31),
        source,
        RunOptions(period="quarter", chunk=64),
        model,
    )
    lazy = classify(comp, model)
    assert lazy.sizes["time"] > 2 and {"low_coverage", "clear_count"} <= set(lazy.data_vars)
    plain = lazy.compute()
    xr.testing.assert_identical(compute_classes(lazy), plain)
    # on a cluster of processes the tasks cannot write into this process's arrays
    with dask_client("local", workers=1):
        xr.testing.assert_identical(compute_classes(lazy), plain)


def test_footprint_command_end_to_end(
    model: PixelModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from geomon.classify.model_io import save_model
    from geomon.cli import main
    from geomon.registry import Registry, load_registry, save_registry

    made = write_s2_catalog(tmp_path / "cat", DATES, size_px=64, mine_id="test_mine")
    bundled = load_registry()
    mines = bundled.mines.iloc[[0]].copy()
    mines["mine_id"] = "test_mine"
    mines["geometry"] = [made.aoi_lonlat]
    owners = bundled.ownership.iloc[0:0]
    save_registry(Registry(mines.reset_index(drop=True), owners), tmp_path / "reg")
    save_model(model, tmp_path / "tiny.gmodel")
    out = tmp_path / "out"
    code = main(["footprint", "test_mine", "--start", "2020-01-01", "--end", "2021-12-31",
                 "--source", f"stac:{made.catalog_path}", "--registry", str(tmp_path / "reg"),
                 "--model", str(tmp_path / "tiny.gmodel"), "--built-reach-m", "80",
                 "--tail-min-probability", "0.7", "--tail-min-clear", "2",
                 "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "model tiny-s2" in printed.out and "persisting" in printed.out
    assert (out / "footprint_2021.parquet").exists() and (out / "classes_2020.tif").exists()
    rules = json.loads((out / "run.json").read_text())["footprint_rules"]["change"]
    assert rules["built_reach_m"] == 80.0 and rules["tail_min_probability"] == 0.7
    assert rules["tail_min_clear"] == 2
    args = ["footprint", "test_mine", "--start", "2020-01-01", "--end", "2021-12-31",
            "--built-reach-m", "-5", "--out", str(tmp_path / "bad")]  # fmt: skip
    assert main(args) != 0
    assert "built-reach-m" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    args[args.index("--built-reach-m") : args.index("--built-reach-m") + 2] = [
        "--tail-min-probability", "1.5"]  # fmt: skip
    assert main(args) != 0
    assert "tail-min-probability" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    args[args.index("--tail-min-probability") : args.index("--tail-min-probability") + 2] = [
        "--tail-min-clear", "1.5"]  # fmt: skip
    assert main(args) != 0
    assert "tail-min-clear" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_footprint_command_reports_ground_awaiting_confirmation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that ends early in a year: bare ground seen in the new year's first scenes on land
    seen undisturbed before is printed apart (and in run.json), never in the footprint; the
    year's full run confirms it as new."""
    from geomon.classify import FULL_FEATURES as FULL
    from geomon.classify import select_model
    from geomon.cli import main
    from geomon.demo import DemoConfig, build_demo_catalog
    from geomon.errors import GeomonError

    try:
        select_model(FULL.bands)
    except GeomonError:
        pytest.skip("no shipped classifier in models/")
    cfg = DemoConfig(mine_ids=("weda_bay",), years=3, dates_per_year=12, window_m=2500)
    catalog = build_demo_catalog(cfg, root=tmp_path / "demo")
    last = cfg.start_year + cfg.years - 1
    source = ["--source", f"stac:{catalog.catalog_path}", "--start", f"{cfg.start_year}-01-01"]
    early, whole = tmp_path / "early", tmp_path / "whole"
    assert (
        main(["footprint", "weda_bay", *source, "--end", f"{last}-02-28", "--out", str(early)]) == 0
    )
    printed = capsys.readouterr().out
    waiting = json.loads((early / "run.json").read_text())["awaiting_confirmation_ha"][str(last)]
    assert waiting > 1.0  # 5.1 ha to March when written (stop 25); 2.9 ha to February since the
    # shipped models confirm at the series end on two clear observations (stop 35)
    assert f"awaiting confirmation in {last}: {waiting:.2f} ha" in printed
    # the same window through a pipeline: its log line and the site report's JSON say it too
    from geomon.pipeline import parse_pipeline, run_pipeline

    spec = {
        "source": f"stac:{catalog.catalog_path}",
        "mines": {"ids": ["weda_bay"]},
        "periods": {"start": f"{cfg.start_year}-01-01", "end": f"{last}-02-28"},
        "outputs": {"formats": ["json"]},
    }
    lines: list[str] = []
    out = run_pipeline(parse_pipeline(spec), out_dir=tmp_path / "reports", echo=lines.append)
    assert f"weda_bay: {waiting:.2f} ha awaiting confirmation in {last}" in "\n".join(lines)
    site = json.loads(out.sites["weda_bay"]["json"].read_text())
    assert site["awaiting_confirmation"] == [{"period": str(last), "hectares": waiting}]
    fp = gpd.read_parquet(early / "footprint.parquet")
    new_early = fp[(fp.period == str(last)) & (fp.status == "new")].area_ha.sum()
    assert (
        main(["footprint", "weda_bay", *source, "--end", f"{last}-12-31", "--out", str(whole)]) == 0
    )
    capsys.readouterr()
    fp = gpd.read_parquet(whole / "footprint.parquet")
    new_whole = fp[(fp.period == str(last)) & (fp.status == "new")].area_ha.sum()
    assert new_whole >= new_early + 0.5 * waiting  # the year's later scenes confirm most of it


def test_a_model_carries_its_own_change_rules(
    model: PixelModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``geomon model-rules`` writes a model whose footprints use its tail threshold where a
    run gives none (recorded in run.json and the classes' attrs); a threshold the run gives
    wins; taking the rules out again gives the original file, byte for byte."""
    from dataclasses import replace

    from geomon.classify.model_io import file_sha256, load_model, save_model
    from geomon.cli import main
    from geomon.footprint import ChangeOptions, FootprintOptions

    plain = tmp_path / "plain.gmodel"
    save_model(model, plain)
    own = tmp_path / "own.gmodel"
    assert main(["model-rules", str(plain), "--tail-min-probability", "0.65",
                 "--out", str(own)]) == 0  # fmt: skip
    assert "0.65" in capsys.readouterr().out
    carried = load_model(own)
    assert carried.change_rules == {"tail_min_probability": 0.65}
    counted = tmp_path / "counted.gmodel"
    assert main(["model-rules", str(own), "--tail-min-probability", "0.65", "--tail-min-clear",
                 "2", "--out", str(counted)]) == 0  # fmt: skip
    assert "'tail_min_clear': 2" in capsys.readouterr().out
    assert load_model(counted).change_rules == {"tail_min_probability": 0.65, "tail_min_clear": 2}
    back = tmp_path / "back.gmodel"
    assert main(["model-rules", str(own), "--out", str(back)]) == 0
    assert file_sha256(back) == file_sha256(plain)

    made = write_s2_catalog(
        tmp_path / "cat", DATES, size_px=64, cloud=[0.0, 0.3, 0.0, 0.0, 0.2, 0.0]
    )
    aoi = Aoi("test_mine", made.aoi_lonlat)
    source = StaticCatalogSource(made.catalog_path, name="test")
    end = dt.date(2021, 12, 31)
    run = run_footprint(aoi, DATES[0], end, source, RunOptions(period="year"), carried)
    assert run.footprint_options is not None
    assert run.footprint_options.change.tail_min_probability == 0.65
    assert run.footprint_options.change.tail_min_clear == 3  # the default, resolved
    two = run_footprint(aoi, DATES[0], end, source, RunOptions(period="year"),
                        load_model(counted))  # fmt: skip
    assert two.footprint_options is not None
    assert two.footprint_options.change.tail_min_clear == 2
    assert json.loads(run.classes.attrs["change_rules"]) == {"tail_min_probability": 0.65}
    write_outputs(run, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    rules = summary["footprint_rules"]["change"]
    assert rules["tail_min_probability"] == 0.65 and summary["date_view"] is None
    # the same footprint as the plain model with the threshold given (the classes are equal)
    given = RunOptions(
        period="year", footprint=FootprintOptions(ChangeOptions(tail_min_probability=0.65))
    )
    same = run_footprint(aoi, DATES[0], end, source, given, model)
    assert same.footprint.drop(columns="geometry").equals(run.footprint.drop(columns="geometry"))
    # a threshold the run gives wins over the model's
    mine = RunOptions(
        period="year", footprint=FootprintOptions(ChangeOptions(tail_min_probability=0.9))
    )
    over = run_footprint(aoi, DATES[0], end, source, mine, carried)
    assert over.footprint_options is not None
    assert over.footprint_options.change.tail_min_probability == 0.9
    assert replace(carried, info=model.info).digest == model.digest
