"""``geomon imagery show`` and ``composite`` end to end, in-process, on a hand-made catalog."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geomon.cli import main
from geomon.imagery.testing import SyntheticImagery, write_s2_catalog


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> SyntheticImagery:
    root = tmp_path_factory.mktemp("cli")
    dates = [dt.date(2021, 1, 5), dt.date(2021, 2, 5), dt.date(2021, 4, 5)]
    return write_s2_catalog(root, dates, cloud=[0.1, 0.5, 0.2], size_px=64)


@pytest.fixture
def aoi_file(cat: SyntheticImagery, tmp_path: Path) -> Path:
    path = tmp_path / "site_a.geojson"
    geometry = cat.aoi_lonlat.buffer(-0.001).__geo_interface__  # type: ignore[attr-defined]
    feature = {"type": "Feature", "properties": {}, "geometry": geometry}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_show_prints_items_dates_bands_and_cloud(
    cat: SyntheticImagery, aoi_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "imagery",
            "show",
            "--aoi",
            str(aoi_file),
            "--start",
            "2021-01-01",
            "--end",
            "2021-12-31",
            "--source",
            f"stac:{cat.catalog_path}",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "S2TEST_test_mine_20210105" in out and "2021-04-05" in out
    assert "blue, green, red, nir" in out and "EPSG:32733" in out
    assert "%" in out and "3 scenes on 3 dates" in out


def test_composite_writes_cogs_and_manifest(
    cat: SyntheticImagery, aoi_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = [
        "imagery",
        "composite",
        "--aoi",
        str(aoi_file),
        "--start",
        "2021-01-01",
        "--end",
        "2021-06-30",
        "--source",
        f"stac:{cat.catalog_path}",
        "--period",
        "quarter",
        "--bands",
        "red,nir,swir16",
        "--out",
        str(out),
        "--scheduler",
        "threads",
    ]
    assert main(args) == 0
    manifest = json.loads((out / "composites.json").read_text())
    assert [p["period"] for p in manifest["periods"]] == ["2021Q1", "2021Q2"]
    with rasterio.open(out / manifest["periods"][0]["image"]) as src:
        assert src.descriptions == ("red", "nir", "swir16")
        assert src.crs.to_epsg() == 32733 and src.dtypes[0] == "float32"
        assert src.res == (10.0, 10.0)
        red = src.read(1)
        assert np.nanmax(red) < 0.3  # clouds (0.6) were masked before the median
        assert src.tags()["geomon_source"].startswith("stac:")
    with rasterio.open(out / manifest["periods"][0]["clear_count"]) as src:
        assert src.read(1).max() == 2
    assert "wrote 2 quarter composites" in capsys.readouterr().out


def test_user_errors_are_one_line(
    cat: SyntheticImagery, aoi_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = f"stac:{cat.catalog_path}"
    cases = [
        (
            [
                "imagery",
                "show",
                "--aoi",
                str(aoi_file),
                "--start",
                "2015-01-01",
                "--end",
                "2015-12-31",
                "--source",
                src,
            ],
            "no imagery for 'site_a' 2015-01-01..2015-12-31",
        ),
        (
            [
                "imagery",
                "show",
                "--aoi",
                str(aoi_file),
                "--start",
                "2021-01-01",
                "--end",
                "2021-12-31",
                "--source",
                "nope",
            ],
            "unknown imagery source 'nope'",
        ),
        (
            ["imagery", "show", "--start", "2021-01-01", "--end", "2021-12-31", "--source", src],
            "give either a MINE_ID or --aoi",
        ),
        (
            [
                "imagery",
                "composite",
                "--aoi",
                str(aoi_file),
                "--start",
                "2021-01-01",
                "--end",
                "2021-12-31",
                "--source",
                src,
                "--bands",
                "red,rededge9",
                "--out",
                "x",
            ],
            "unknown band",
        ),
    ]
    for args, message in cases:
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}"), err
        assert len(err.strip().splitlines()) == 1


def test_files_source_and_mask_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from geomon.imagery.testing import write_band_folder

    made = write_band_folder(tmp_path / "files", [dt.date(2020, 5, 1)], size_px=48)
    aoi = tmp_path / "f.geojson"
    feature = {"type": "Feature", "properties": {}, "geometry": made.aoi_lonlat.__geo_interface__}  # type: ignore[attr-defined]
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    base = ["imagery", "show", "--aoi", str(aoi), "--start", "2020-01-01", "--end", "2020-12-31"]
    assert main([*base, "--source", f"files:{made.root}", "--mask", "none"]) == 0
    out = capsys.readouterr().out
    assert "mask: none" in out and "files:2020-05-01" in out
    assert main([*base, "--source", f"files:{made.root}", "--mask", "scl"]) == 2
    assert "mask 'scl' requested" in capsys.readouterr().err
