"""``geomon imagery show`` and ``composite`` end to end, in-process, on a hand-made catalog."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox

from geomon.cli import main
from geomon.imagery import LoadOptions, Scene, StaticCatalogSource
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


def _show(aoi: Path, source: str) -> list[str]:
    dates = ["--start", "2021-01-01", "--end", "2021-12-31"]
    return ["imagery", "show", "--aoi", str(aoi), *dates, "--source", source]


def _one_line_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    return err


def _feature_file(path: Path, coords: list[tuple[float, float]]) -> Path:
    geometry = {"type": "Polygon", "coordinates": [[list(c) for c in coords]]}
    feature = {"type": "Feature", "properties": {}, "geometry": geometry}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def test_stac_path_that_is_not_json(
    aoi_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "scenes.csv"
    csv.write_text("id,date\na,2021-01-05\n")
    err = _one_line_error(_show(aoi_file, f"stac:{csv}"), capsys)
    assert f"{csv} is not a STAC JSON file" in err
    other = tmp_path / "other.json"
    other.write_text('{"type": "FeatureCollection", "features": []}')
    assert "not a STAC catalog" in _one_line_error(_show(aoi_file, f"stac:{other}"), capsys)


def test_self_intersecting_aoi_is_an_error_unless_repaired(
    cat: SyntheticImagery, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x0, y0, x1, y1 = cat.aoi_lonlat.buffer(-0.001).bounds  # type: ignore[attr-defined]
    bowtie = _feature_file(
        tmp_path / "bowtie.geojson", [(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)]
    )
    src = f"stac:{cat.catalog_path}"
    err = _one_line_error(_show(bowtie, src), capsys)
    assert "not a valid polygon (Self-intersection" in err and "--repair-aoi" in err
    assert main([*_show(bowtie, src), "--repair-aoi"]) == 0
    assert "3 scenes on 3 dates" in capsys.readouterr().out


def test_aoi_without_a_crs_or_in_metres_is_an_error(
    cat: SyntheticImagery, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import geopandas as gpd

    src = f"stac:{cat.catalog_path}"
    gpkg = tmp_path / "no_crs.gpkg"
    gpd.GeoDataFrame(geometry=[cat.aoi_lonlat.buffer(-0.001)], crs=None).to_file(gpkg)  # type: ignore[attr-defined]
    err = _one_line_error(_show(gpkg, src), capsys)
    assert "has no coordinate reference system; set one" in err
    # UTM metres written into a GeoJSON (which is lon/lat by specification)
    utm = _feature_file(
        tmp_path / "utm.geojson",
        [(500000, 8800000), (501000, 8800000), (501000, 8801000), (500000, 8800000)],
    )
    err = _one_line_error(_show(utm, src), capsys)
    assert "are not longitude/latitude degrees" in err and "EPSG:4326" in err
    # the same polygon in a GeoPackage that says so is read and reprojected
    good = tmp_path / "utm.gpkg"
    area = gpd.GeoSeries([cat.aoi_lonlat.buffer(-0.001)], crs=4326).to_crs(32733)  # type: ignore[attr-defined]
    gpd.GeoDataFrame(geometry=area).to_file(good)
    assert main(_show(good, src)) == 0
    assert "3 scenes on 3 dates" in capsys.readouterr().out


def test_demo_source_shows_progress_while_building(monkeypatch: pytest.MonkeyPatch) -> None:
    import geomon.demo
    from geomon.imagery import open_source

    seen: dict[str, object] = {}

    class Built:
        catalog_path = Path("catalog.json")

    def build(config: object, **kwargs: object) -> Built:
        seen.update(kwargs)
        return Built()

    monkeypatch.setattr(geomon.demo, "build_demo_catalog", build)
    assert open_source("demo").name == "demo"
    assert seen.get("progress") is True


def test_missing_mask_error_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from geomon.imagery.testing import write_band_folder

    made = write_band_folder(tmp_path / "files", [dt.date(2020, 5, 1)], bands=("B04", "B08"))
    aoi = _feature_file(tmp_path / "f.geojson", list(made.aoi_lonlat.exterior.coords))  # type: ignore[attr-defined]
    base = ["imagery", "show", "--aoi", str(aoi), "--start", "2020-01-01", "--end", "2020-12-31"]
    err = _one_line_error([*base, "--source", f"files:{made.root}"], capsys)
    assert "spectral fallback needs" in err and "pass --mask none" in err
    assert main([*base, "--source", f"files:{made.root}", "--mask", "none"]) == 0


class DropsOutSource(StaticCatalogSource):
    """A static catalog whose reads fail from the third scene on, like a connection that drops
    while the second period is being composited."""

    def load(
        self, scenes: Sequence[Scene], bands: Sequence[str], geobox: GeoBox, options: LoadOptions
    ) -> xr.Dataset:
        ds = super().load(scenes, bands, geobox, options)
        return ds.map(
            lambda v: (
                v.copy(data=v.data.map_blocks(_fail_late, dtype=v.dtype))
                if v.dims and v.dims[0] == "time" and hasattr(v.data, "map_blocks")
                else v
            )
        )


def _fail_late(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    if block_info is not None and block_info[0]["array-location"][0][0] >= 2:
        raise OSError("connection reset while reading scene 3")
    return block


def test_failed_composite_run_leaves_nothing_behind(cat: SyntheticImagery, tmp_path: Path) -> None:
    from geomon.imagery import Aoi, CompositeOptions, Query, load_composite
    from geomon.imagery._write import write_composites

    aoi = Aoi("site_a", cat.aoi_lonlat.buffer(-0.001))  # type: ignore[attr-defined]
    query = Query(aoi, dt.date(2021, 1, 1), dt.date(2021, 6, 30))
    source = DropsOutSource(cat.catalog_path)
    comp = load_composite(source, query, LoadOptions(bands=("red",)), CompositeOptions("quarter"))
    out = tmp_path / "out"
    with pytest.raises(OSError, match="connection reset"):
        write_composites(comp, out)  # Q1 is written, then Q2 fails
    assert list(tmp_path.iterdir()) == []  # no partial COGs, no temporary folder
    # into an existing folder: its files stay, nothing of the failed run is added
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(OSError, match="connection reset"):
        write_composites(comp, out)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    # a run that succeeds moves everything in, the manifest last
    good = load_composite(
        StaticCatalogSource(cat.catalog_path),
        query,
        LoadOptions(bands=("red",)),
        CompositeOptions("quarter"),
    )
    manifest = write_composites(good, out)
    names = sorted(p.name for p in out.iterdir())
    assert manifest == out / "composites.json" and "notes.txt" in names and len(names) == 6
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
