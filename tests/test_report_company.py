"""Company reports: figures of several mines attributed by equity share and operational control."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import test_esg_fixtures as fx
from pypdf import PdfReader

from geomon.errors import UnknownCompanyError
from geomon.report import Report, SiteResults, build_company_report, build_site_report, write_report
from geomon.report.document import fmt_num, fmt_pct

OWNERSHIP = pd.DataFrame(
    [
        (
            "testmine",
            "Strand Minerals",
            80.0,
            True,
            "Tsingshan",
            57.0,
            "2024-06-30",
            "company filings",
        ),
        (
            "testmine",
            "Strand Minerals",
            80.0,
            True,
            "Eramet",
            30.0,
            "2024-06-30",
            "company filings",
        ),
        ("second", "Eramet", 100.0, True, None, None, "2024-06-30", "company filings"),
    ],
    columns=[
        "mine_id",
        "owner",
        "share_pct",
        "is_operator",
        "parent",
        "parent_share_pct",
        "as_of",
        "source",
    ],
)


def _site(mine_id: str, awaiting: dict[str, float] | None = None) -> Report:
    from geomon.footprint import AWAITING

    mine = fx.mine().copy()
    mine["mine_id"], mine["name"] = mine_id, f"Mine {mine_id}"
    fp = fx.footprint().assign(mine_id=mine_id)
    if awaiting:
        fp.attrs[AWAITING] = awaiting
    res = SiteResults(
        mine,
        fp,
        fx.impacts().assign(mine_id=mine_id),
        OWNERSHIP,
        dt.date(2019, 1, 1),
        dt.date(2023, 12, 31),
        coverage=fx.coverage(),
        areas=fx.areas(),
        imagery={"sensor": "sentinel-2-l2a", "source": "stac"},
    )
    return build_site_report(res)


@pytest.fixture(scope="module")
def sites() -> list[Report]:
    return [_site("testmine"), _site("second")]


def test_equity_and_operational_totals(sites: list[Report]) -> None:
    c = build_company_report("eramet", sites, OWNERSHIP).content
    assert c["company"] == "Eramet"
    rows = {r["mine_id"]: r for r in c["mines"]}
    assert rows["testmine"]["equity_pct"] == pytest.approx(24.0)  # 80 % x 30 %
    assert rows["testmine"]["operational_pct"] == 0.0
    assert rows["second"]["equity_pct"] == 100.0 and rows["second"]["operational_pct"] == 100.0
    site = {p["period"]: p for p in sites[0].content["periods"]}
    for p in c["periods"]:
        one = site[p["period"]]["disturbed_ha"]
        assert p["equity_share"]["total"]["disturbed_ha"] == pytest.approx(1.24 * one, rel=1e-3)
        assert p["operational_control"]["total"]["disturbed_ha"] == pytest.approx(one, rel=1e-3)
    p22 = next(p for p in c["periods"] if p["period"] == "2022")
    assert p22["equity_share"]["total"]["co2e_t_mean"] is None  # not estimated at both mines
    assert p22["equity_share"]["total"]["co2e_t_mean_mines_estimated"] == 0
    assert {f["mine_id"] for f in c["flags"]} == {"testmine", "second"}


def test_majority_parent_reports_operational_control(sites: list[Report]) -> None:
    c = build_company_report("Tsingshan", sites, OWNERSHIP).content
    (row,) = c["mines"]
    assert row["equity_pct"] == pytest.approx(45.6)
    assert row["operational_pct"] == 100.0 and "57.00% of operator" in row["operational_basis"]


def test_company_files_and_figures(sites: list[Report], tmp_path: Path) -> None:
    report = build_company_report("Eramet", sites, OWNERSHIP)
    paths = write_report(report, tmp_path)
    assert paths["json"].name == "company_eramet.json"
    c = json.loads(paths["json"].read_text())
    pdf = " ".join(
        " ".join((pg.extract_text() or "").split()) for pg in PdfReader(paths["pdf"]).pages
    )
    html = paths["html"].read_text()
    expected = [fmt_pct(r["equity_pct"]) for r in c["mines"]]
    expected += [fmt_num(p["equity_share"]["total"]["disturbed_ha"]) for p in c["periods"]]
    expected += [fmt_num(p["operational_control"]["total"]["disturbed_ha"]) for p in c["periods"]]
    assert [s for s in expected if s not in pdf] == []
    assert [s for s in expected if s not in html] == []
    again = write_report(build_company_report("Eramet", sites, OWNERSHIP), tmp_path / "again")
    first, second = c, json.loads(again["json"].read_text())
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second


def test_land_awaiting_confirmation_reaches_the_company_report(
    sites: list[Report], tmp_path: Path
) -> None:
    """A mine's awaiting hectares (its site report's) are listed per mine in the company JSON and
    in a note under the mine table, and stay out of every total."""
    waiting = [_site("testmine", {"2023": 2.5}), sites[1]]
    report = build_company_report("Eramet", waiting, OWNERSHIP)
    rows = {r["mine_id"]: r for r in report.content["mines"]}
    assert rows["testmine"]["awaiting_confirmation"] == [{"period": "2023", "hectares": 2.5}]
    assert rows["second"]["awaiting_confirmation"] == []
    plain = build_company_report("Eramet", sites, OWNERSHIP).content
    assert report.content["periods"] == plain["periods"]  # in no total
    html = write_report(report, tmp_path, ("html",))["html"].read_text(encoding="utf-8")
    assert "Awaiting confirmation: Mine testmine 2.50 ha in 2023." in html
    assert "Awaiting confirmation" not in write_report(
        build_company_report("Eramet", sites, OWNERSHIP), tmp_path / "plain", ("html",)
    )["html"].read_text(encoding="utf-8")


def test_unknown_company(sites: list[Report]) -> None:
    with pytest.raises(UnknownCompanyError, match="did you mean Eramet"):
        build_company_report("Erament", sites, OWNERSHIP)


def test_company_methods_provenance_and_missing_mines(sites: list[Report], tmp_path: Path) -> None:
    own = pd.concat(
        [
            OWNERSHIP,
            pd.DataFrame(
                [("unrun", "Eramet", 50.0, False, None, None, "2024-06-30", "company filings")],
                columns=OWNERSHIP.columns,
            ),
        ],
        ignore_index=True,
    )
    paths = write_report(build_company_report("Eramet", sites, own), tmp_path)
    c = json.loads(paths["json"].read_text())
    pdf = " ".join(
        " ".join((pg.extract_text() or "").split()) for pg in PdfReader(paths["pdf"]).pages
    )
    import html as html_lib

    html = html_lib.unescape(paths["html"].read_text())
    assert c["provenance"]["mines_not_run"] == ["unrun"]
    tables = c["methods"]["factor_table_details"]
    assert {t["name"] for t in tables} == {"globio_msa_land_use", "ipcc2019_agb_forest"}
    assert all(t["source"] and t["version"] for t in tables)
    assert c["provenance"]["factor_tables"] == c["methods"]["factor_tables"]
    for doc in (pdf, html):
        assert "The totals cover 2 of the company's 3 mines" in doc
        for t in tables:
            assert t["name"] in doc and " ".join(t["source"].split())[:50] in doc
        assert "Terms used" in doc
    totals = [p["equity_share"]["total"] for p in c["periods"]]
    for t in totals:  # company CO2e as printed (or 'not estimated')
        if t["co2e_t_mean"] is None:
            continue
        from geomon.report.document import fmt_range

        s = fmt_range(t["co2e_t_mean"], t["co2e_t_low"], t["co2e_t_high"])
        assert s in pdf and s in html
