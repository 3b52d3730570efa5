"""``geomon impacts`` in-process, on a hand-made footprint file over a bundled mine."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from test_impacts_helpers import box, local, make_footprint

from geomon.cli import main
from geomon.impacts import IMPACT_COLUMNS
from geomon.registry import load_registry


@pytest.fixture
def footprint_file(tmp_path: Path) -> Path:
    mine = load_registry().mine("kamoto")
    crs = local(mine["lon"], mine["lat"])
    rows = [
        {"geometry": box(0, 0, 300, 300), "period": "2021"},
        {
            "geometry": box(0, 0, 300, 300),
            "period": "2022",
            "status": "persisting",
            "first_seen": "2021",
        },
        {"geometry": box(400, 0, 500, 100), "period": "2022", "baseline_cover": "grassland"},
    ]
    path = tmp_path / "footprint.parquet"
    make_footprint(rows, "kamoto", crs=crs).to_parquet(path)
    return path


def test_cli_writes_json_and_csv(tmp_path: Path, footprint_file: Path, capsys):
    out = tmp_path / "out"
    argv = [
        "impacts",
        "kamoto",
        "--start",
        "2021-01-01",
        "--end",
        "2022-12-31",
        "--footprint",
        str(footprint_file),
        "--out",
        str(out),
        "--buffer-km",
        "5",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "kamoto" in printed and "ipcc2019_agb_forest@1.0.0" in printed
    doc = json.loads((out / "impacts_kamoto.json").read_text())
    assert [r["period"] for r in doc["records"]] == ["2021", "2022"]
    first = doc["records"][0]
    assert first["co2e_t_mean"] == pytest.approx(9 * 69.6 * 1.332 * 0.47 * 44 / 12, rel=1e-3)
    assert first["co2e_soil_t_mean"] is None  # NaN is written as null
    assert doc["params"]["pa_buffers_m"] == [5000.0]
    assert {t["name"] for t in doc["factor_tables"]} >= {
        "ipcc2019_agb_forest",
        "globio_msa_land_use",
    }
    assert all(t["source"] for t in doc["factor_tables"])
    csv = pd.read_csv(out / "impacts_kamoto.csv")
    assert tuple(csv.columns) == IMPACT_COLUMNS and len(csv) == 2
    assert math.isnan(csv.loc[1, "co2e_t_mean"])  # only grassland was new in 2022: no factor


def test_cli_limits_records_to_the_dates(tmp_path: Path, footprint_file: Path):
    argv = [
        "impacts",
        "kamoto",
        "--start",
        "2022-01-01",
        "--end",
        "2022-12-31",
        "--footprint",
        str(footprint_file),
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    doc = json.loads((tmp_path / "impacts_kamoto.json").read_text())
    assert [r["period"] for r in doc["records"]] == ["2022"]


def test_cli_errors_are_one_line(tmp_path: Path, footprint_file: Path, capsys):
    argv = [
        "impacts",
        "kamoto",
        "--start",
        "2021-01-01",
        "--end",
        "2022-12-31",
        "--footprint",
        str(tmp_path / "missing.parquet"),
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: footprint file") and err.count("\n") == 1
    argv = [
        "impacts",
        "nowhere_mine",
        "--start",
        "2021-01-01",
        "--end",
        "2022-12-31",
        "--footprint",
        str(footprint_file),
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 2
    assert "not in the registry" in capsys.readouterr().err
    argv = [
        "impacts",
        "kamoto",
        "--start",
        "2022-01-01",
        "--end",
        "2021-12-31",
        "--footprint",
        str(footprint_file),
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 2
    assert "swap them" in capsys.readouterr().err


def test_cli_refuses_imagery_options_beside_a_footprint_file(
    tmp_path: Path, footprint_file: Path, capsys
):
    """The file's periods and polygons replace the imagery: an imagery option beside it would be
    silently ignored, so it is refused before anything is written."""
    base = ["impacts", "kamoto", "--start", "2021-01-01", "--end", "2022-12-31",
            "--footprint", str(footprint_file), "--out", str(tmp_path / "out")]  # fmt: skip
    for extra in (["--source", "demo"], ["--max-cloud", "40"], ["--period", "quarter"],
                  ["--scheduler", "local"]):  # fmt: skip
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert f"{extra[0]} applies to imagery sources, not --footprint; leave it out" in err
    assert not (tmp_path / "out").exists()
    assert main(base) == 0  # defaults are not "given"


def test_cli_on_an_aoi_outside_the_registry(tmp_path: Path, capsys):
    """``--aoi FILE`` with ``--ecozone``/``--continent``: the same numbers as the registered mine
    with the same polygon and zone; without them a one-line error says what to pass."""
    import geopandas as gpd

    mine = load_registry().mine("kamoto")
    aoi = tmp_path / "my_site.geojson"
    gpd.GeoDataFrame(geometry=[mine["geometry"]], crs=4326).to_file(aoi)
    crs = local(mine["lon"], mine["lat"])
    fp = tmp_path / "fp.parquet"
    make_footprint(
        [{"geometry": box(0, 0, 300, 300), "period": "2021"}], "my_site", crs=crs
    ).to_parquet(fp)
    base = ["impacts", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2021-12-31",
            "--footprint", str(fp), "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(base) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not in the registry" in err
    assert "pass --ecozone and --continent" in err
    zone = ["--ecozone", str(mine["ecozone"]), "--continent", str(mine["continent"])]
    assert main([*base, *zone]) == 0, capsys.readouterr().err
    doc = json.loads((tmp_path / "out" / "impacts_my_site.json").read_text())
    assert doc["mine_id"] == "my_site" and [r["period"] for r in doc["records"]] == ["2021"]
    assert doc["records"][0]["co2e_t_mean"] == pytest.approx(
        9 * 69.6 * 1.332 * 0.47 * 44 / 12, rel=1e-3
    )
    # a zone the factor tables do not know is refused before any work
    assert main([*base, "--ecozone", "lunar highlands", "--continent", "africa"]) == 2
    assert "unknown ecozone" in capsys.readouterr().err
    # the zone options are for --aoi areas only
    registered = ["impacts", "kamoto", *base[3:], *zone]
    assert main(registered) == 2
    assert "--ecozone and --continent are for --aoi areas" in capsys.readouterr().err
