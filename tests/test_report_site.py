"""Site reports: every output written, the JSON deterministic, HTML and PDF carrying its figures."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import test_esg_fixtures as fx
from pypdf import PdfReader

from geomon.errors import ConfigError, ReportInputError
from geomon.report import SiteResults, build_site_report, write_report
from geomon.report.document import fmt_num, fmt_pct, fmt_range

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
            "Global Energy Monitor test tracker",
        ),
        (
            "testmine",
            "Strand Minerals",
            80.0,
            True,
            "Eramet",
            30.0,
            "2024-06-30",
            "Global Energy Monitor test tracker",
        ),
        (
            "testmine",
            "PT Antam",
            10.0,
            False,
            None,
            None,
            "2024-06-30",
            "Global Energy Monitor test tracker",
        ),
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


def _results(**kw: object) -> SiteResults:
    args: dict[str, object] = {
        "mine": fx.mine(),
        "footprint": fx.footprint(),
        "impacts": fx.impacts(),
        "ownership": OWNERSHIP,
        "start": dt.date(2019, 1, 1),
        "end": dt.date(2023, 12, 31),
        "coverage": fx.coverage(),
        "composites": fx.composites(),
        "areas": fx.areas(),
        "imagery": {"sensor": "sentinel-2-l2a", "source": "stac", "collection": "sentinel-2-l2a"},
        "model": {
            "id": "rf-test",
            "hash": "0" * 64,
            "summary": "random forest on 10 bands",
            "accuracy": {"overall_accuracy": 0.91},
        },
        "pipeline": {"file": "pipelines/site_report.yaml", "parameters": {"k": 1}},
    }
    args.update(kw)
    return SiteResults(**args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    report = build_site_report(_results())
    return write_report(report, tmp_path_factory.mktemp("site"))


def _json(paths: dict[str, Path]) -> dict:
    return json.loads(paths["json"].read_text(encoding="utf-8"))


def test_every_output_is_written(written: dict[str, Path]) -> None:
    assert sorted(written) == ["footprint_geojson", "footprint_geoparquet", "html", "json", "pdf"]
    assert written["pdf"].read_bytes().startswith(b"%PDF")
    fp = gpd.read_parquet(written["footprint_geoparquet"])
    assert fp.crs == fx.CRS and "polygon_id" in fp.columns
    geo = gpd.read_file(written["footprint_geojson"])
    assert geo.crs.to_epsg() == 4326 and len(geo) == len(fp)
    content = _json(written)
    ids = {i for f in content["flags"] for i in f["evidence"].get("polygon_ids", [])}
    assert ids and ids <= set(geo["polygon_id"])  # flag evidence resolves in the GeoJSON
    assert content["files"]["pdf"] == written["pdf"].name


def test_json_figures(written: dict[str, Path]) -> None:
    c = _json(written)
    assert c["schema"] == "geomon.site-report/1"
    p22 = next(p for p in c["periods"] if p["period"] == "2022")
    assert p22["new_ha"] == pytest.approx(60.0, rel=0.01)
    assert p22["co2e_t_mean"] is None  # not estimated -> null, with its reason
    assert any("no factor" in n for n in p22["not_estimated"])
    eq = {a["holder"]: a["pct"] for a in c["ownership"]["equity_share"]}
    assert eq == pytest.approx(
        {"Tsingshan": 45.6, "Eramet": 24.0, "PT Antam": 10.0, "unattributed": 20.4}
    )
    tsingshan = next(a for a in c["ownership"]["equity_share"] if a["holder"] == "Tsingshan")
    assert tsingshan["figures"]["new_ha_total"] == pytest.approx(
        0.456 * c["summary"]["new_ha_total"], rel=1e-3
    )
    assert {f["check"] for f in c["flags"] if f["status"] == "flagged"} == {
        "cleared_after_cutoff",
        "outside_licence",
        "protected_area",
        "expansion_rate",
        "data_gap",
    }
    tables = c["provenance"]["factor_tables"]
    assert [(t["name"], t["version"]) for t in tables] == [
        ("globio_msa_land_use", "1.0.0"),
        ("ipcc2019_agb_forest", "1.0.0"),
    ]
    assert "Alkemade" in tables[0]["source"] and "Table 4.7" in tables[1]["source"]
    assert c["methods"]["factor_tables"] == tables
    assert c["provenance"]["imagery"]["item_ids"][0] == "S2DEMO_testmine_20190615"
    assert len(c["provenance"]["sha256"]) == 64
    assert any("Global Energy Monitor" in s for s in c["credits"])
    assert any("Copernicus Sentinel data 2019-2023" in s for s in c["credits"])
    status = {(f["framework"], f["disclosure"]): f["status"] for f in c["frameworks"]}
    assert (
        status[("GRI 305: Emissions 2016", "305-1/2/3 Scope 1, 2, 3 GHG emissions")]
        == "not supported"
    )


def test_json_is_identical_on_rerun_but_for_generated_at(
    written: dict[str, Path], tmp_path: Path
) -> None:
    again = write_report(build_site_report(_results()), tmp_path)
    first, second = _json(written), _json(again)
    assert first.pop("generated_at") and second.pop("generated_at")
    assert first == second
    strip = lambda p: [ln for ln in p.read_text().splitlines() if '"generated_at"' not in ln]  # noqa: E731
    assert strip(written["json"]) == strip(again["json"])


def _expected_strings(c: dict) -> list[str]:
    """Figures of the JSON as the report prints them."""
    s = c["summary"]
    out = [c["mine"]["name"], c["provenance"]["sha256"]]
    for p in c["periods"]:
        out += [fmt_num(p["disturbed_ha"]), fmt_num(p["new_ha"]), fmt_num(p["msa_ha_lost"])]
        out.append(fmt_range(p["co2e_t_mean"], p["co2e_t_low"], p["co2e_t_high"]))
    out.append(fmt_range(s["co2e_t_mean_total"], s["co2e_t_low_total"], s["co2e_t_high_total"]))
    out += [fmt_pct(a["pct"]) for a in c["ownership"]["equity_share"]]
    out += [f["message"] for f in c["flags"] if f["status"] == "flagged"]
    return out


def test_html_and_pdf_contain_the_json_figures(written: dict[str, Path]) -> None:
    import html as html_lib

    c = _json(written)
    html = html_lib.unescape(written["html"].read_text(encoding="utf-8"))
    pdf = " ".join(
        " ".join((page.extract_text() or "").split()) for page in PdfReader(written["pdf"]).pages
    )
    missing_html = [s for s in _expected_strings(c) if s not in html]
    missing_pdf = [s for s in _expected_strings(c) if " ".join(s.split()) not in pdf]
    assert not missing_html
    assert not missing_pdf
    assert "data:image/png;base64," in html


def test_missing_inputs_are_reported_not_estimated(tmp_path: Path) -> None:
    res = _results(
        impacts=pd.DataFrame(columns=["period"]), composites=None, areas=None, coverage=None
    )
    report = build_site_report(res)
    c = report.content
    assert all(p["co2e_t_mean"] is None for p in c["periods"])
    assert all(p["not_estimated"] == ["no impact record for this period"] for p in c["periods"])
    assert {f["status"] for f in c["flags"] if f["check"] in ("protected_area", "data_gap")} == {
        "not_assessed"
    }
    assert write_report(report, tmp_path, formats=("json", "pdf"))["pdf"].exists()


def test_bad_inputs_fail_with_a_fix() -> None:
    with pytest.raises(ReportInputError, match="footprint lacks column"):
        build_site_report(_results(footprint=fx.footprint().drop(columns=["status"])))
    with pytest.raises(ConfigError, match="unknown report format"):
        write_report(build_site_report(_results(composites=None)), "/tmp", formats=("docx",))


def test_land_awaiting_confirmation_is_reported_apart(
    tmp_path: Path, written: dict[str, Path]
) -> None:
    """The footprint's awaiting-confirmation hectares (latest period) reach the JSON and a note
    under the per-period table, never a figure; a footprint without them says nothing."""
    from geomon.footprint import AWAITING

    fp = fx.footprint()
    fp.attrs[AWAITING] = {"2023": 2.5}
    paths = write_report(build_site_report(_results(footprint=fp)), tmp_path, ("json", "html"))
    assert _json(paths)["awaiting_confirmation"] == [{"period": "2023", "hectares": 2.5}]
    html = paths["html"].read_text(encoding="utf-8")
    assert "Awaiting confirmation: 2.50 ha in 2023." in html
    assert _json(written)["awaiting_confirmation"] == []
    assert "Awaiting confirmation" not in written["html"].read_text(encoding="utf-8")
