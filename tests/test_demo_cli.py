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
