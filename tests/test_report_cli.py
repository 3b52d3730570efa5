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
