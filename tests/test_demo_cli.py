"""``geomon demo`` end to end, in-process, on a tiny scene."""

from __future__ import annotations

from pathlib import Path

import pytest

from geomon.cli import main
from geomon.demo.testing import sample_registry
from geomon.registry import save_registry


@pytest.fixture
def registry_dir(tmp_path: Path) -> Path:
    return save_registry(sample_registry(("kamoto", "weda_bay")), tmp_path / "registry")


def test_demo_generates_then_reuses_and_summarises(
    registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["demo", "--registry", str(registry_dir), "--mines", "kamoto,weda_bay"]
    args += ["--years", "2", "--start-year", "2021", "--dates-per-year", "2", "--window-m", "800"]
    args += ["--catalog-only"]
    assert main(args) == 0
    first = capsys.readouterr()
    out = first.out
    assert "registry: 2 mines" in out and "mines: 2, items: 8" in out
    assert "kamoto" in out and "weda_bay" in out and "baselines 03.01, 04.00" in out
    assert "B04" in out and "10 m  80x80 px  uint16" in out and "20 m  40x40 px  uint8" in out
    assert "size on disk:" in out and "catalog:" in out
    assert "demo: 100%" in first.err  # the progress bar
    assert main([*args, "--no-progress"]) == 0
    again = capsys.readouterr()
    assert again.err == "" and again.out.split("catalog:")[1] == out.split("catalog:")[1]


def test_demo_unknown_mine_is_a_one_line_error(
    registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--registry", str(registry_dir), "--mines", "kamotto", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: mine 'kamotto' is not in the registry")
    assert "did you mean kamoto" in err and len(err.strip().splitlines()) == 1


def test_demo_bad_option_is_a_one_line_error(
    registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--registry", str(registry_dir), "--window-m", "1010", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "window_m=1010" in err and len(err.strip().splitlines()) == 1


def test_demo_runs_footprints_impacts_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole demo on small scenes of two Glencore mines with the bundled registry: hectares
    per year, the impact table, a site report per mine and Glencore's company report."""
    out = tmp_path / "reports"
    args = ["demo", "--mines", "kamoto,murrin_murrin", "--years", "2", "--start-year", "2021"]
    args += ["--dates-per-year", "3", "--window-m", "1200", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "pipeline demo.yaml: 2 mines" in text
    hectares = text.split("disturbed hectares per mine and year")[1].split("impacts per mine")[0]
    rows = [line.split() for line in hectares.splitlines() if line.startswith(("kamoto", "murr"))]
    assert [(r[0], r[1]) for r in rows] == [
        ("kamoto", "2021"),
        ("kamoto", "2022"),
        ("murrin_murrin", "2021"),
        ("murrin_murrin", "2022"),
    ]
    assert all(float(r[2].replace(",", "")) >= 0 for r in rows)
    assert "CO2e t mean [90% range]" in text and "factor tables: " in text
    assert "ipcc2019_agb_forest@" in text
    for mine in ("kamoto", "murrin_murrin"):
        for name in ("pdf", "html", "json", "footprint.geojson", "footprint.parquet"):
            assert (out / "sites" / f"site_{mine}{'_' if '.' in name else '.'}{name}").is_file()
        assert f"site {mine}: {(out / 'sites' / f'site_{mine}.pdf').resolve()}" in text
    company = out / "companies" / "company_glencore_plc.pdf"
    assert company.is_file() and f"company Glencore plc: {company.resolve()}" in text
    assert (out / "footprint_trends.csv").is_file()


def test_sigterm_mid_build_leaves_no_partial_catalog(registry_dir: Path, tmp_path: Path) -> None:
    """A ``geomon`` process stopped with SIGTERM (a scheduler's stop, ``kill``) while it builds a
    demo catalog exits 143 with a one-line message and removes its temporary folder: the
    signal's default had ended it at once and left the folder behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = tmp_path / "cat"
    args = ["demo", "--registry", str(registry_dir), "--mines", "kamoto,weda_bay", "--years", "5"]
    args += ["--catalog-only", "--no-progress", "--root", str(root)]
    env = {**os.environ, "GEOMON_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "geomon", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".cat.tmp-*/**/*.tif")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the build never started writing scenes"
        time.sleep(0.05)
    assert proc.poll() is None, "the build ended before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1].startswith("terminated (SIGTERM)")
    assert not list(tmp_path.glob(".cat.tmp-*")) and not root.exists()
