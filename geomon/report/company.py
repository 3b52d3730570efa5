"""The company report: a company's mines, their figures attributed by equity share and by
operational control, totals per period, and the flags of every site."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import pandas as pd

from geomon.errors import ReportInputError
from geomon.esg.ownership import company_mines, company_share, ownership_chain
from geomon.registry.schema import slugify
from geomon.report import figures as F
from geomon.report._json import clean, sha256
from geomon.report.document import (
    Block,
    Bullets,
    Document,
    Figure,
    Heading,
    KeyValues,
    Para,
    Table,
    fmt_num,
    fmt_pct,
    fmt_range,
)
from geomon.report.frameworks import framework_row
from geomon.report.inputs import ReportOptions
from geomon.report.site import (
    accuracy_text,
    awaiting_blocks,
    credit_blocks,
    factor_table_rows,
    flag_blocks,
    glossary_blocks,
    imagery_text,
)

__all__ = [
    "SCHEMA_COMPANY",
    "company_content",
    "company_document",
    "company_figures",
    "company_footprint",
]

SCHEMA_COMPANY = "geomon.company-report/1"
FIGURES = (
    "disturbed_ha",
    "new_ha",
    "rehabilitated_ha",
    "co2e_t_mean",
    "co2e_t_low",
    "co2e_t_high",
    "msa_ha_lost",
)
APPROACHES = ("equity_share", "operational_control")


def _nan(x: Any) -> float:
    return math.nan if x is None else float(x)


def _site_row(
    company: str, site: dict[str, Any], ownership: pd.DataFrame, opts: ReportOptions
) -> dict[str, Any]:
    mine = site["mine"]
    chain = ownership_chain(ownership, mine["mine_id"], opts.control_threshold_pct)
    equity, control = company_share(chain, company)
    unatt = next((a.pct for a in chain.equity if a.holder == "unattributed"), 0.0)
    flags = [f for f in site["flags"] if f["status"] == "flagged"]
    return {
        "mine_id": mine["mine_id"],
        "name": mine["name"],
        "country": mine["country"],
        "commodities": mine["commodities"],
        "equity_pct": equity.pct if equity else 0.0,
        "equity_basis": equity.basis if equity else "no equity recorded",
        "operational_pct": control.pct if control else 0.0,
        "operational_basis": control.basis if control else "not the operator",
        "site_unattributed_pct": unatt,
        "site_summary": site["summary"],
        "flags": {
            k: sum(1 for f in flags if f["severity"] == k) for k in ("high", "medium", "info")
        },
        "awaiting_confirmation": site.get("awaiting_confirmation") or [],
        "site_report_sha256": site["provenance"]["sha256"],
    }


def _period_totals(
    rows: list[dict[str, Any]], sites: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    labels = sorted({(p["start"], p["period"]) for s in sites.values() for p in s["periods"]})
    out = []
    for start, label in labels:
        rec: dict[str, Any] = {"period": label, "start": start}
        for approach, key in (
            ("equity_share", "equity_pct"),
            ("operational_control", "operational_pct"),
        ):
            by_mine, totals = {}, {}
            for r in rows:
                p = next((q for q in sites[r["mine_id"]]["periods"] if q["period"] == label), None)
                share = r[key]
                if p is None or not share or math.isnan(share):
                    continue
                by_mine[r["mine_id"]] = {f: _nan(p[f]) * share / 100.0 for f in FIGURES}
            for f in FIGURES:
                vals = [v[f] for v in by_mine.values()]
                known = [v for v in vals if not math.isnan(v)]
                totals[f] = sum(known) if known else math.nan
                totals[f"{f}_mines_estimated"] = len(known)
            rec[approach] = {"total": totals, "by_mine": by_mine, "mines": len(by_mine)}
        out.append(rec)
    return out


def _frameworks(
    rows: list[dict[str, Any]], sites: dict[str, dict[str, Any]]
) -> list[dict[str, str]]:
    near = [
        r["mine_id"]
        for r in rows
        if any(
            f["check"] == "protected_area" and f["status"] == "flagged"
            for f in sites[r["mine_id"]]["flags"]
        )
    ]
    assessed = [
        r["mine_id"]
        for r in rows
        if any(
            f["check"] == "protected_area" and f["status"] != "not_assessed"
            for f in sites[r["mine_id"]]["flags"]
        )
    ]
    return [
        framework_row(
            "ESRS E4 (CSRD)",
            "E4-5 number and area of sites in or near biodiversity-sensitive areas",
            "supported" if assessed else "not supported",
            f"{len(near)} of {len(rows)} sites flagged ({', '.join(near) or 'none'}); {len(assessed)} assessed",
            "KBA/World Heritage layers only where supplied",
        ),
        framework_row(
            "ESRS E4 / TNFD C1.1",
            "Land-use change over the window, all sites",
            "supported",
            "disturbed and new ha per period, attributed by equity share and operational control",
            "conversion is land cover, not land use",
        ),
        framework_row(
            "GHG Protocol",
            "Equity share and operational control consolidation",
            "supported",
            "both approaches per period",
            "unattributed shares are shown, not spread",
        ),
        framework_row(
            "GRI 305: Emissions 2016",
            "305-1/2/3 Scope 1, 2, 3",
            "not supported",
            "-",
            "operational emissions not estimated for most commodities; land-use-change CO2e shown separately",
        ),
        framework_row(
            "GRI 101 / GRI 14",
            "Site-level biodiversity disclosures",
            "partly",
            "per site in each site report",
            "management disclosures need company information",
        ),
    ]


def company_content(
    company: str,
    sites: list[dict[str, Any]],
    ownership: pd.DataFrame,
    opts: ReportOptions,
    versions: dict[str, str],
) -> dict[str, Any]:
    """Every figure of a company report, from the site contents of its mines."""
    if not sites:
        raise ReportInputError(
            f"no site results for '{company}'; run the company's mines first (see 'geomon registry list')"
        )
    mines = set(company_mines(ownership, company))
    by_id = {s["mine"]["mine_id"]: s for s in sites if s["mine"]["mine_id"] in mines}
    name = next((n for n in _names(ownership) if n.casefold() == company.casefold()), company)
    rows = [_site_row(name, by_id[m], ownership, opts) for m in sorted(by_id)]
    flags = [f for m in sorted(by_id) for f in by_id[m]["flags"]]
    prov = {
        "company": name,
        "sites": {m: by_id[m]["provenance"]["sha256"] for m in sorted(by_id)},
        "models": sorted(
            {
                f"{by_id[m]['provenance']['model'].get('id')} {by_id[m]['provenance']['model'].get('hash')}"
                for m in by_id
            }
        ),
        "factor_tables": sorted(
            {
                f"{t['name']}@{t.get('version', '')}"
                for m in by_id
                for t in by_id[m]["provenance"]["factor_tables"]
            }
        ),
        "versions": versions,
        "options": clean({"control_threshold_pct": opts.control_threshold_pct}),
        "mines_not_run": sorted(mines - set(by_id)),
    }
    prov["sha256"] = sha256(prov)
    content = {
        "schema": SCHEMA_COMPANY,
        "kind": "company",
        "title": f"Company report: {name}",
        "company": name,
        "window": sites[0]["window"],
        "mines": rows,
        "periods": _period_totals(rows, by_id),
        "flags": flags,
        "frameworks": _frameworks(rows, by_id),
        "methods": _methods(by_id),
        "credits": list(dict.fromkeys(c for m in sorted(by_id) for c in by_id[m]["credits"])),
        "provenance": prov,
    }
    return clean(content)


def _names(ownership: pd.DataFrame) -> list[str]:
    from geomon.esg.ownership import companies

    return companies(ownership)


def _methods(sites: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ms = [s["methods"] for s in sites.values()]
    tables = {(t["name"], t.get("version", "")): t for m in ms for t in m["factor_tables"]}
    models = {m["classifier"]["id"]: m["classifier"] for m in ms}
    return {
        "sensors": sorted({m["imagery"]["sensor"] for m in ms}),
        "classifiers": sorted(models),
        "classifier_details": [models[k] for k in sorted(models)],
        "imagery": {mine: s["methods"]["imagery"] for mine, s in sorted(sites.items())},
        "factor_tables": sorted(f"{n}@{v}" for n, v in tables),
        "factor_table_details": [tables[k] for k in sorted(tables)],
        "glossary": ms[0].get("glossary", []) if ms else [],
        "not_estimated": sorted({n for m in ms for n in m["not_estimated"]}),
        "never_estimated": ms[0]["never_estimated"] if ms else [],
        "limits": sorted({lim for m in ms for lim in m["limits"]}),
    }


def company_footprint(footprints: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """The footprints of several mines (each in its own UTM CRS) in one EPSG:4326 frame."""
    parts = [fp.to_crs(4326) for fp in footprints if not fp.empty]
    if not parts:
        return gpd.GeoDataFrame({"polygon_id": []}, geometry=gpd.GeoSeries([], crs=4326))
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)


def company_figures(c: dict[str, Any], dpi: int) -> dict[str, bytes]:
    labels = [p["period"] for p in c["periods"]]
    mines = sorted({m for p in c["periods"] for m in p["equity_share"]["by_mine"]})
    out = {}
    for key, fig, title, unit in (
        ("disturbed", "disturbed_ha", "Disturbed land attributed by equity share", "ha"),
        ("co2e", "co2e_t_mean", "Land-use-change CO2e attributed by equity share (mean)", "t CO2e"),
    ):
        series = {
            m: [_nan(p["equity_share"]["by_mine"].get(m, {}).get(fig)) for p in c["periods"]]
            for m in mines
        }
        out[key] = F.company_chart(title, unit, labels, series, dpi)
    return out


def _mine_table(c: dict[str, Any]) -> Table:
    rows = []
    for r in c["mines"]:
        s = r["site_summary"]
        rows.append(
            (
                f"{r['name']} ({r['mine_id']})",
                r["country"],
                fmt_pct(r["equity_pct"]),
                r["equity_basis"],
                fmt_pct(r["operational_pct"], 0),
                fmt_num(s.get("disturbed_ha_last")),
                fmt_num(s.get("new_ha_total")),
                fmt_range(
                    s.get("co2e_t_mean_total"),
                    s.get("co2e_t_low_total"),
                    s.get("co2e_t_high_total"),
                )
                + (
                    f" ({s.get('co2e_periods_estimated', 0)} of {s.get('periods', 0)} periods)"
                    if s.get("co2e_periods_estimated", 0) < s.get("periods", 0)
                    else ""
                ),
                f"{r['flags']['high']}/{r['flags']['medium']}/{r['flags']['info']}",
            )
        )
    return Table(
        (
            "Mine",
            "ISO3",
            "Equity",
            "Equity basis",
            "Op. control",
            "Site disturbed ha (last)",
            "Site new ha",
            "Site CO2e t (range)",
            "Flags high/med/gap",
        ),
        tuple(rows),
        "Whole-site figures (before attribution); the company's shares of them follow. CO2e is "
        "summed over the periods estimated; '(k of n periods)' = the other periods had no factor.",
        (2, 0.7, 0.8, 1.7, 0.8, 1, 0.8, 1.5, 0.7),
        (2, 4, 5, 6, 7),
        small=True,
    )


def _totals_table(c: dict[str, Any], approach: str) -> Table:
    rows = []
    for p in c["periods"]:
        t = p[approach]["total"]
        n = p[approach]["mines"]
        co2e_n = t.get("co2e_t_mean_mines_estimated", 0)
        rows.append(
            (
                p["period"],
                str(n),
                fmt_num(t["disturbed_ha"]),
                fmt_num(t["new_ha"]),
                fmt_num(t["rehabilitated_ha"]),
                fmt_range(t["co2e_t_mean"], t["co2e_t_low"], t["co2e_t_high"])
                + (f" ({co2e_n} of {n} mines)" if co2e_n < n else ""),
                fmt_num(t["msa_ha_lost"]),
            )
        )
    label = approach.replace("_", " ")
    return Table(
        ("Period", "Mines", "Disturbed ha", "New ha", "Rehab. ha", "CO2e t (range)", "MSA·ha lost"),
        tuple(rows),
        f"Company totals by {label}.",
        (0.8, 0.6, 1, 0.9, 0.9, 2.4, 1),
        (1, 2, 3, 4, 5, 6),
        small=True,
    )


def company_document(c: dict[str, Any], figs: dict[str, bytes]) -> Document:
    last = c["periods"][-1] if c["periods"] else None
    eq = last["equity_share"]["total"] if last else {}
    op = last["operational_control"]["total"] if last else {}
    blocks: list[Block] = [
        Heading("Summary", 2, "summary"),
        KeyValues(
            (
                ("Company", c["company"]),
                ("Window", f"{c['window']['start']} to {c['window']['end']}"),
                ("Mines", f"{len(c['mines'])}: " + ", ".join(r["name"] for r in c["mines"])),
                (
                    "Disturbed ha, last period",
                    f"equity share {fmt_num(eq.get('disturbed_ha'))}; operational control {fmt_num(op.get('disturbed_ha'))}",
                ),
                (
                    "Flags",
                    f"{sum(r['flags']['high'] for r in c['mines'])} high, {sum(r['flags']['medium'] for r in c['mines'])} medium, {sum(r['flags']['info'] for r in c['mines'])} data-gap",
                ),
                (
                    "Mines without results",
                    ", ".join(c["provenance"]["mines_not_run"]) or "none",
                ),
            )
        ),
        *(
            [
                Para(
                    f"The totals cover {len(c['mines'])} of the company's "
                    f"{len(c['mines']) + len(c['provenance']['mines_not_run'])} mines in the registry: "
                    f"{', '.join(c['provenance']['mines_not_run'])} had no results in this run (not monitored "
                    "here, e.g. no imagery from the source), so their figures are missing, not zero.",
                    "warning",
                )
            ]
            if c["provenance"]["mines_not_run"]
            else []
        ),
        Para(
            "Equity share attributes each site figure times the company's share through the ownership chain; operational control attributes "
            "100 % of the sites it operates (or controls through a majority-held operator). Both are shown; neither spreads unrecorded ownership."
        ),
        Heading("Mines", 2, "mines"),
        _mine_table(c),
        *awaiting_blocks(
            [{"mine": r["name"], **a} for r in c["mines"] for a in r["awaiting_confirmation"]]
        ),
        Heading("Totals per period", 2, "totals"),
        Heading("By equity share", 3),
        _totals_table(c, "equity_share"),
        Heading("By operational control (100 % of operated or controlled sites)", 3),
        _totals_table(c, "operational_control"),
        Figure(figs["disturbed"], "Disturbed land attributed by equity share, by mine."),
        Figure(
            figs["co2e"],
            "Land-use-change CO2e attributed by equity share, by mine (not-estimated periods count as 0 here; see the tables).",
        ),
        *flag_blocks(c["flags"], with_mine=True),
        Heading("What the figures support", 2, "frameworks"),
        Table(
            ("Framework", "Disclosure", "Status", "Figures", "Missing / caveat"),
            tuple(
                (r["framework"], r["disclosure"], r["status"], r["figures"], r["missing"])
                for r in c["frameworks"]
            ),
            "",
            (1.4, 1.9, 0.8, 2.3, 2.2),
            small=True,
        ),
        Heading("Methods and limits", 2, "methods"),
        KeyValues(
            (
                *(
                    (f"Imagery, {mine}", imagery_text(im))
                    for mine, im in c["methods"].get("imagery", {}).items()
                ),
                *(
                    (
                        f"Classifier {cl['id']}",
                        f"{cl['summary']}. Accuracy: {accuracy_text(cl)}",
                    )
                    for cl in c["methods"].get("classifier_details", [])
                ),
            )
        ),
        factor_table_rows(c["methods"].get("factor_table_details", []))
        if c["methods"].get("factor_table_details")
        else Para("Factor tables: none recorded.", "warning"),
        Heading("Not estimated", 3),
        Bullets(tuple(c["methods"]["not_estimated"]) or ("everything in scope was estimated",)),
        Heading("Never estimated by geomon", 3),
        Bullets(tuple(c["methods"]["never_estimated"])),
        Heading("Limits", 3),
        Bullets(tuple(c["methods"]["limits"])),
        Para(
            "Each mine has its own site report with maps, per-period figures, the full ownership chain and the methods of its run.",
            "note",
        ),
        *glossary_blocks(c["methods"].get("glossary", [])),
        *credit_blocks(c["credits"]),
        Heading("Provenance", 2, "provenance"),
        KeyValues(
            (
                ("Provenance hash (sha256)", c["provenance"]["sha256"]),
                *((f"Site {m}", h) for m, h in c["provenance"]["sites"].items()),
                ("Models (id, hash)", "; ".join(c["provenance"].get("models", [])) or "none"),
                ("Factor tables", ", ".join(c["provenance"].get("factor_tables", [])) or "none"),
                ("Versions", ", ".join(f"{k} {v}" for k, v in c["provenance"]["versions"].items())),
            )
        ),
    ]
    return Document(
        c["title"],
        f"{len(c['mines'])} mines - {c['window']['start']} to {c['window']['end']}",
        tuple(blocks),
        footer=f"geomon company report {slugify(c['company'])} - provenance {c['provenance']['sha256'][:12]}",
    )
