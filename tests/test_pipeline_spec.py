"""Pipeline files: the shipped ones validate; bad ones fail with errors that point at the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from geomon.cli import main
from geomon.errors import PipelineValidationError
from geomon.pipeline import (
    bundled_pipeline,
    load_pipeline,
    parse_pipeline,
    report_options,
    select_mines,
)
from geomon.registry import load_registry

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


@pytest.mark.parametrize(
    "name", ["site_report.yaml", "company_report.yaml", "footprint_trends.yaml", "demo.yaml"]
)
def test_shipped_pipelines_are_valid(name: str) -> None:
    p = load_pipeline(PIPELINES / name)
    assert p.periods.start == dt.date(2019, 1, 1)
    assert select_mines(p, load_registry())


def test_company_pipeline_selects_the_owner_s_demo_mines() -> None:
    p = load_pipeline(PIPELINES / "company_report.yaml")
    assert select_mines(p, load_registry()) == ["kamoto", "murrin_murrin"]
    assert p.outputs.companies == ("Glencore plc",)
    assert select_mines(p, load_registry(), mine="weda_bay") == ["weda_bay"]


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline(path)
    return str(info.value)


def test_invalid_date_points_at_the_key(tmp_path: Path) -> None:
    msg = _error(tmp_path, "periods:\n  start: 2021-13-01\n  end: 2023-12-31\n")
    assert (
        msg == f"{tmp_path / 'x.yaml'}: periods.start: invalid date '2021-13-01' (use YYYY-MM-DD)"
    )


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    msg = _error(tmp_path, "periods:\n  start: 2021-01-01\n  ends: 2023-12-31\n")
    assert "periods.ends: unknown key; did you mean 'end'?" in msg
    assert "periods.end: required key is missing" in msg or "(and 1 more)" in msg


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "periods: {start: 2021-01-01, end: 2020-01-01, period: weekly}\n"
        "flags: {min_clear_fraction: 2}\nmines: {country: Indonesia}\n",
        encoding="utf-8",
    )
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline(path)
    problems = info.value.problems
    assert any(
        p.startswith("periods.period: 'weekly' is not allowed; use 'year', 'quarter' or 'month'")
        for p in problems
    )
    assert any(p.startswith("flags.min_clear_fraction:") for p in problems)
    assert any(
        "mines.country: 'Indonesia' is not an ISO 3166-1 alpha-3 code" in p for p in problems
    )


def test_end_before_start(tmp_path: Path) -> None:
    msg = _error(tmp_path, "periods: {start: 2022-01-01, end: 2021-01-01}\n")
    assert "periods: end 2021-01-01 is before start 2022-01-01; swap them" in msg


def test_yaml_syntax_and_missing_periods(tmp_path: Path) -> None:
    assert "line 3, column 1: expected ',' or ']'" in _error(tmp_path, "periods:\n  start: [2021\n")
    assert "periods: required key is missing" in _error(tmp_path, "name: x\n")
    assert "must be a mapping" in _error(tmp_path, "- a\n- b\n")


def test_pipeline_sets_the_report_options() -> None:
    p = parse_pipeline(
        {"periods": {"start": "2019-01-01", "end": "2020-12-31"}, "flags": {"near_km": 2.5}}
    )
    opts = report_options(p)
    assert opts.flags.near_m == 2500.0 and opts.flags.cutoff == dt.date(2020, 12, 31)


def test_cli_reports_a_bad_pipeline_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("periods:\n  start: 2021-13-01\n  end: 2023-12-31\n", encoding="utf-8")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {path}: periods.start: invalid date '2021-13-01' (use YYYY-MM-DD)"
    assert main(["run", str(PIPELINES / "company_report.yaml"), "--check"]) == 0
    assert "kamoto, murrin_murrin" in capsys.readouterr().out


def test_bundled_pipeline_paths() -> None:
    assert bundled_pipeline("demo") == PIPELINES / "demo.yaml"
    with pytest.raises(PipelineValidationError, match="shipped: company_report, demo"):
        bundled_pipeline("nope")
