"""``geomon report`` and ``geomon run`` on the command line: user errors are one line with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from geomon.cli import main


def _err(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_unknown_mine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "report",
        "site",
        "weda_bey",
        "--start",
        "2019-01-01",
        "--end",
        "2020-12-31",
        "--out",
        str(tmp_path),
    ]
    assert (
        _err(args, capsys)
        == "error: mine 'weda_bey' is not in the registry; did you mean weda_bay?"
    )


def test_unknown_company(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "report",
        "company",
        "Glencor",
        "--start",
        "2019-01-01",
        "--end",
        "2020-12-31",
        "--out",
        str(tmp_path),
    ]
    assert (
        "company 'Glencor' owns no mine in the ownership table; did you mean Glencore plc?"
        in _err(args, capsys)
    )


def test_window_backwards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "report",
        "site",
        "weda_bay",
        "--start",
        "2021-01-01",
        "--end",
        "2020-12-31",
        "--out",
        str(tmp_path),
    ]
    assert "periods: end 2020-12-31 is before start 2021-01-01; swap them" in _err(args, capsys)


def test_help_lists_both_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--help"]) == 0
    out = capsys.readouterr().out
    assert "site" in out and "company" in out
    assert main(["run", "--help"]) == 0
    assert "--mine" in capsys.readouterr().out


def test_site_report_on_an_aoi_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``report site --aoi FILE --ecozone --continent``: an area not in the registry gets a full
    site report; it has no owners, and the report says so."""
    import datetime as dt
    import json

    from shapely.geometry import mapping

    from geomon.imagery.testing import write_s2_catalog

    dates = [dt.date(2021, 3, 1), dt.date(2021, 6, 1), dt.date(2022, 3, 1), dt.date(2022, 6, 1)]
    made = write_s2_catalog(tmp_path / "cat", dates, size_px=64, seed=2)
    aoi = tmp_path / "prospect_x.geojson"
    feature = {"type": "Feature", "properties": {}, "geometry": mapping(made.aoi_lonlat)}
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    base = ["report", "site", "--aoi", str(aoi), "--start", "2021-01-01", "--end", "2022-12-31",
            "--source", f"stac:{made.catalog_path}", "--out", str(tmp_path / "out")]  # fmt: skip
    err = _err(base, capsys)
    assert "not in the registry" in err and "--ecozone and --continent" in err
    assert main([*base, "--ecozone", "tropical dry", "--continent", "africa"]) == 0
    printed = capsys.readouterr().out
    assert "prospect_x" in printed
    doc = json.loads((tmp_path / "out" / "sites" / "site_prospect_x.json").read_text())
    assert doc["mine"]["mine_id"] == "prospect_x" and doc["mine"]["ecozone"] == "tropical dry"
    assert doc["mine"]["registry_source"] == f"--aoi {aoi}"
    assert doc["ownership"]["equity_share"][0]["basis"] == "no ownership records"
    # the area joins the registry in memory: the run records the user's registry, no temp copy
    assert doc["provenance"]["pipeline"]["parameters"]["registry"] is None
