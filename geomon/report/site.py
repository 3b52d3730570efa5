"""The site report: one mine over a window, from its stage results to a :class:`Document`."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from geomon.esg.flags import nearby_areas, normalize_areas, with_polygon_ids
from geomon.report import figures as F
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
from geomon.report.inputs import ReportOptions, SiteResults

__all__ = [
    "evidence_text",
    "flag_blocks",
    "framework_blocks",
    "methods_blocks",
    "provenance_blocks",
    "site_document",
    "site_figures",
]

CHECK_TITLES = {
    "cleared_after_cutoff": "natural land cleared after cut-off",
    "outside_licence": "disturbance outside licence",
    "protected_area": "protected area / KBA / WHS",
    "expansion_rate": "expansion far above own history",
    "data_gap": "data gap",
}


# ---------------------------------------------------------------- figures


def _map_layers(
    res: SiteResults, fp: gpd.GeoDataFrame, period: str, first: str, crs: Any
) -> dict[str, Any]:
    cur = fp[fp["period"].astype(str) == period]
    disturbed = cur[cur["status"].isin(["new", "persisting"])]
    is_new = (
        disturbed["first_seen"].astype(str) > first
        if period != first
        else disturbed["status"] == "new"
    )
    lic = res.mine.get("licence_geometry")
    has_lic = lic is not None and not isinstance(lic, float) and not lic.is_empty
    return {
        "persisting": disturbed[~is_new],
        "new": disturbed[is_new],
        "rehabilitated": cur[cur["status"] == "rehabilitated"],
        "protected": _areas_near(res, crs),
        "licence": gpd.GeoSeries([lic], crs=4326).to_crs(crs) if has_lic else None,
        "aoi": gpd.GeoSeries([res.mine.geometry], crs=4326).to_crs(crs),
    }


def _areas_near(res: SiteResults, crs: Any) -> gpd.GeoDataFrame | None:
    if res.areas is None:
        return None
    aoi = gpd.GeoSeries([res.mine.geometry], crs=4326)
    return nearby_areas(normalize_areas(res.areas), aoi, 10_000.0).to_crs(crs)


def _extent(res: SiteResults, crs: Any, fp: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """A square around where there is something to see: the imagery and the footprint when
    imagery is given (the AOI may reach far beyond the scenes), else the AOI."""
    x0, y0, x1, y1 = gpd.GeoSeries([res.mine.geometry], crs=4326).to_crs(crs).total_bounds
    if res.composites is not None and {"x", "y"} <= set(res.composites.coords):
        finite = np.isfinite(np.asarray(res.composites["red"].values)).any(axis=0)
        if finite.any():
            xs = res.composites["x"].values[finite.any(axis=0)]
            ys = res.composites["y"].values[finite.any(axis=1)]
            x0, x1, y0, y1 = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
        if not fp.empty:
            fx0, fy0, fx1, fy1 = fp.total_bounds
            x0, y0, x1, y1 = min(x0, fx0), min(y0, fy0), max(x1, fx1), max(y1, fy1)
    pad = 0.04 * max(x1 - x0, y1 - y0)
    side = max(x1 - x0, y1 - y0) + 2 * pad
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - side / 2, cx + side / 2, cy - side / 2, cy + side / 2)


def _composite_index(res: SiteResults, period_start: str) -> int | None:
    if res.composites is None or "time" not in res.composites.dims:
        return None
    times = [str(t)[:10] for t in res.composites["time"].values]
    return times.index(period_start) if period_start in times else None


def site_figures(
    res: SiteResults, content: dict[str, Any], opts: ReportOptions
) -> dict[str, bytes]:
    """Before/after maps and the three charts, as PNG bytes keyed by name."""
    periods = content["periods"]
    out = {
        "disturbed": F.disturbed_chart(periods, opts.dpi),
        "co2e": F.co2e_chart(periods, opts.dpi),
        "msa": F.msa_chart(periods, opts.dpi),
    }
    if not periods:
        return out
    fp = with_polygon_ids(res.footprint)
    crs = (
        fp.crs
        if fp.crs is not None
        else gpd.GeoSeries([res.mine.geometry], crs=4326).estimate_utm_crs()
    )
    extent = _extent(res, crs, fp)
    first = periods[0]["period"]
    for key, p in (("map_before", periods[0]), ("map_after", periods[-1])):
        idx = _composite_index(res, p["start"])
        rgb, rgb_extent = (
            F.true_colour(res.composites, idx)
            if idx is not None and res.composites is not None
            else (None, None)
        )
        layers = _map_layers(res, fp, p["period"], first, crs)
        label = "first period" if key == "map_before" else "last period"
        out[key] = F.site_map(f"{p['period']} ({label})", extent, rgb, rgb_extent, layers, opts.dpi)
    return out


# ---------------------------------------------------------------- text


_MAX_IDS = 8


def _ids(ids: list[str]) -> str:
    """At most ``_MAX_IDS`` ids, then how many more (every id is in the JSON)."""
    shown = ", ".join(ids[:_MAX_IDS]) or "-"
    more = len(ids) - _MAX_IDS
    return shown + (f" ... and {more} more (all in the JSON)" if more > 0 else "")


def evidence_text(flag: dict[str, Any]) -> str:
    """A one-paragraph rendering of a check's evidence; long id lists are cut (the JSON has all)."""
    ev = dict(flag["evidence"])
    parts: list[str] = []
    for area in ev.pop("areas", []) or []:
        cat = (
            f", IUCN {area['iucn_cat']}"
            if area.get("iucn_cat") not in ("", None, "Not Reported")
            else ""
        )
        parts.append(
            f"{area['name']} ({area['kind'].replace('_', ' ')}{cat}): {fmt_num(area['ha_inside'], 2)} ha inside, "
            f"{fmt_num(area['distance_m'], 0)} m away; polygons {_ids(area['polygon_ids'])}"
        )
    for key, val in ev.items():
        if isinstance(val, list):
            text = _ids([str(v) for v in val])
        elif isinstance(val, dict):
            text = ", ".join(
                f"{k} {fmt_num(v, 2) if isinstance(v, float) else v}" for k, v in val.items()
            )
        elif isinstance(val, bool):
            text = "yes" if val else "no"
        elif isinstance(val, float):
            text = fmt_num(val, 2 if abs(val) < 1000 else 0)
        else:
            text = str(val)
        parts.append(f"{key.replace('_', ' ')}: {text}")
    return "; ".join(parts)


def _summary_blocks(c: dict[str, Any]) -> list[Block]:
    s, m, own = c["summary"], c["mine"], c["ownership"]
    flags = [f for f in c["flags"] if f["status"] == "flagged"]
    sev = {k: sum(1 for f in flags if f["severity"] == k) for k in ("high", "medium", "info")}
    eq = [a for a in own["equity_share"] if a["holder"] != "unattributed"]
    unatt = [a for a in own["equity_share"] if a["holder"] == "unattributed"]
    op = own["operational_control"][0]["holder"] if own["operational_control"] else "unattributed"
    k, n = s.get("co2e_periods_estimated", 0), s.get("periods", 0)
    co2e_note = (
        ""
        if k == n
        else f", summed over the {k} of {n} periods estimated; the other periods are not estimated (see 'Not estimated')"
    )
    items = [
        (
            "Mine",
            f"{m['name']} ({m['mine_id']}), {m['country']}; {', '.join(m['commodities'])}; {m['status']}",
        ),
        (
            "Location",
            f"{m['centroid_lat']:.4f}, {m['centroid_lon']:.4f} (coordinates {m['coordinate_accuracy']})",
        ),
        (
            "Area of interest",
            f"{fmt_num(m['aoi_ha'], 0)} ha"
            + (
                f"; licence {fmt_num(m['licence_ha'], 0)} ha"
                if m.get("licence_ha")
                else "; no licence polygon"
            ),
        ),
        (
            "Window",
            f"{c['window']['start']} to {c['window']['end']}, {s.get('periods', 0)} periods",
        ),
        (
            "Disturbed land",
            f"{fmt_num(s.get('disturbed_ha_first'))} ha ({s.get('first_period')}) → {fmt_num(s.get('disturbed_ha_last'))} ha ({s.get('last_period')})",
        ),
        ("Newly disturbed in window", f"{fmt_num(s.get('new_ha_total'))} ha"),
        ("Rehabilitated (last period)", f"{fmt_num(s.get('rehabilitated_ha_last'))} ha"),
        (
            "Land-use-change CO2e, window",
            f"{fmt_range(s.get('co2e_t_mean_total'), s.get('co2e_t_low_total'), s.get('co2e_t_high_total'))} t"
            + co2e_note
            if k
            else "not estimated in any period (see 'Not estimated')",
        ),
        ("MSA·ha lost (last period)", fmt_num(s.get("msa_ha_lost_last"))),
        ("Flags", f"{sev['high']} high, {sev['medium']} medium, {sev['info']} data-gap"),
        ("Operator", op),
        (
            "Equity holders",
            "; ".join(f"{a['holder']} {fmt_pct(a['pct'])}" for a in eq)
            + (f"; unattributed {fmt_pct(unatt[0]['pct'])}" if unatt else ""),
        ),
    ]
    blocks: list[Block] = [Heading("Summary", 2, "summary"), KeyValues(tuple(items))]
    grouped = _group_flags([f for f in flags if f["severity"] != "info"])
    if grouped:
        blocks.append(Bullets(tuple(grouped)))
    return blocks


def _group_flags(flags: list[dict[str, Any]]) -> list[str]:
    """One line per check: the latest finding and every period it was raised in."""
    by_check: dict[str, list[dict[str, Any]]] = {}
    for f in flags:
        by_check.setdefault(f["check"], []).append(f)
    lines = []
    for check, items in by_check.items():
        periods = ", ".join(f["period"] for f in items)
        worst = "high" if any(f["severity"] == "high" for f in items) else items[-1]["severity"]
        title = CHECK_TITLES.get(check, check)
        lines.append(
            f"{title[0].upper()}{title[1:]} [{worst}] in {periods}; latest: {items[-1]['message']}"
        )
    return lines


def _period_table(periods: list[dict[str, Any]]) -> Table:
    rows = []
    for p in periods:
        imp = p["impacts"]
        rows.append(
            (
                p["period"] + (" (gap)" if p["data_gap"] else ""),
                fmt_pct(
                    p["clear_fraction"] * 100 if p["clear_fraction"] is not None else None, 0, "n/a"
                ),
                fmt_num(p["disturbed_ha"]),
                fmt_num(p["new_ha"]),
                fmt_num(p["rehabilitated_ha"]),
                fmt_range(p["co2e_t_mean"], p["co2e_t_low"], p["co2e_t_high"]),
                fmt_num(p["msa_ha_lost"]),
                fmt_num(
                    imp.get("ha_in_protected")
                    if not isinstance(imp.get("ha_in_protected"), dict)
                    else sum(imp["ha_in_protected"].values())
                ),
                fmt_num(imp.get("ha_natural_cleared_after_cutoff")),
            )
        )
    cols = (
        "Period",
        "Clear sky",
        "Disturbed ha",
        "New ha",
        "Rehab. ha",
        "CO2e t (90 % range)",
        "MSA·ha lost",
        "ha in PA",
        "Natural ha cleared since cut-off (to date)",
    )
    return Table(
        cols,
        tuple(rows),
        "Per-period figures. Disturbed = new + persisting. CO2e is land-use change only.",
        (0.9, 0.8, 1, 0.9, 0.9, 1.9, 1, 0.8, 1.2),
        tuple(range(1, 9)),
        small=True,
    )


def _not_estimated_blocks(periods: list[dict[str, Any]]) -> list[Block]:
    """What was not estimated, once per reason, with the periods it applies to (ha in the JSON)."""
    from geomon.report._notes import generic_note

    where: dict[str, list[str]] = {}
    for p in periods:
        for note in p["not_estimated"]:
            where.setdefault(generic_note(note), []).append(p["period"])
    if not where:
        return []
    rows = tuple((note, ", ".join(dict.fromkeys(ps))) for note, ps in where.items())
    return [
        Table(
            ("Not estimated or assumed, and why", "Periods"),
            rows,
            "The hectares each note concerns, per period, are in the JSON.",
            (6, 1.4),
            small=True,
        )
    ]


def _cover_table(c: dict[str, Any]) -> list[Block]:
    new = [r for r in c["by_cover"] if r["status"] == "new"]
    if not new:
        return []
    covers = sorted({r["baseline_cover"] for r in new})
    periods = [p["period"] for p in c["periods"]]
    cell = {(r["period"], r["baseline_cover"]): r["ha"] for r in new}
    rows = tuple((p, *(fmt_num(cell.get((p, cv), 0.0)) for cv in covers)) for p in periods)
    return [
        Heading("Land newly disturbed, by cover at baseline", 3),
        Table(
            ("Period", *covers),
            rows,
            "ha of newly disturbed land by what it was at baseline (natural: forest, shrubland, grassland, wetland).",
            numeric=tuple(range(1, len(covers) + 1)),
            small=True,
        ),
    ]


def ownership_blocks(own: dict[str, Any], figures_label: str = "window") -> list[Block]:
    stakes = tuple(
        (
            s["holder"],
            str(s["level"]),
            s["via"] or "the mine",
            fmt_pct(s["share_pct"]),
            fmt_pct(s["equity_pct"]),
            s["basis"],
            "yes" if s["is_operator"] else "",
        )
        for s in own["stakes"]
    )
    attr = []
    for key, label in (
        ("equity_share", "equity share"),
        ("operational_control", "operational control"),
        ("controllers", "operational control (majority parent)"),
    ):
        for a in own[key]:
            f = a["figures"]
            attr.append(
                (
                    label,
                    a["holder"],
                    fmt_pct(a["pct"]),
                    fmt_num(f["disturbed_ha_last"]),
                    fmt_num(f["new_ha_total"]),
                    fmt_range(
                        f["co2e_t_mean_total"], f["co2e_t_low_total"], f["co2e_t_high_total"]
                    ),
                    fmt_num(f["msa_ha_lost_last"]),
                    a["basis"],
                )
            )
    blocks: list[Block] = [
        Heading("Ownership and attribution", 2, "ownership"),
        Para(
            f"Ownership as of {own['as_of'] or 'unknown'}. Equity share multiplies the shares along the chain; "
            "operational control gives 100 % to the operator. What no recorded holder accounts for is shown as "
            "'unattributed', never spread over the known holders."
        ),
        Table(
            ("Holder", "Level", "Holds", "Share", "Equity in mine", "Basis", "Operator"),
            stakes,
            "Ownership chain.",
            (2.3, 0.65, 2, 0.8, 0.9, 1.6, 0.8),
            (1, 3, 4),
            small=True,
        ),
        Table(
            (
                "Approach",
                "Holder",
                "Share",
                "Disturbed ha, last",
                "New ha",
                "CO2e t (range)",
                "MSA·ha lost (last)",
                "Basis",
            ),
            tuple(attr),
            f"Site figures attributed to holders ({figures_label}).",
            (1.2, 1.7, 0.85, 1.1, 0.8, 1.6, 0.9, 2.0),
            (2, 3, 4, 5, 6),
            small=True,
        ),
    ]
    if own["notes"]:
        blocks.append(Para("Data notes: " + "; ".join(own["notes"]), "note"))
    return blocks


def flag_blocks(flags: list[dict[str, Any]], with_mine: bool = False) -> list[Block]:
    raised = [f for f in flags if f["status"] == "flagged"]
    lead = ("Mine",) if with_mine else ()
    rows = tuple(
        ((f["mine_id"],) if with_mine else ())
        + (
            f["period"],
            CHECK_TITLES.get(f["check"], f["check"]),
            f["severity"],
            f["message"],
            evidence_text(f),
        )
        for f in raised
    )
    blocks: list[Block] = [Heading("Flags and their evidence", 2, "flags")]
    if rows:
        widths = (0.9, 0.7, 1.2, 0.9, 2.0, 3.6) if with_mine else (0.6, 1.3, 0.8, 2.2, 4.0)
        blocks.append(
            Table(
                (*lead, "Period", "Check", "Severity", "Finding", "Evidence"),
                rows,
                "Polygon ids refer to the footprint GeoJSON/GeoParquet written with this report.",
                widths,
                small=True,
            )
        )
    else:
        blocks.append(Para("No check raised a flag."))
    skipped: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    for f in flags:
        if f["status"] == "not_assessed":
            key = CHECK_TITLES.get(f["check"], f["check"])
            skipped.setdefault(key, []).append(
                f"{f['mine_id']} {f['period']}" if with_mine else f["period"]
            )
            reasons.setdefault(key, f["message"])
    text = (
        "; ".join(f"{k} in {', '.join(v)} ({reasons[k]})" for k, v in sorted(skipped.items()))
        or "none"
    )
    clear = sum(1 for f in flags if f["status"] == "clear")
    blocks.append(Para(f"{clear} checks were made and found clear. Not assessed: {text}.", "note"))
    return blocks


def framework_blocks(rows: list[dict[str, str]]) -> list[Block]:
    return [
        Heading("What the figures support, framework by framework", 2, "frameworks"),
        Para(
            "The figures are measurements from satellite imagery joined with published factors and ownership records. "
            "They support the disclosures marked below; 'not supported' means this report gives no figure for it."
        ),
        Table(
            ("Framework", "Disclosure", "Status", "Figures in this report", "Missing / caveat"),
            tuple(
                (r["framework"], r["disclosure"], r["status"], r["figures"], r["missing"])
                for r in rows
            ),
            "",
            (1.4, 1.8, 0.8, 2.3, 2.3),
            small=True,
        ),
    ]


def methods_blocks(m: dict[str, Any]) -> list[Block]:
    im, cl = m["imagery"], m["classifier"]
    acc = (
        ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
            for k, v in cl["accuracy"].items()
        )
        or "not recorded"
    )
    ft = (
        ", ".join(f"{t['name']} v{t.get('version', '?')}" for t in m["factor_tables"])
        or "none recorded"
    )
    flags = m["flags"]
    blocks: list[Block] = [
        Heading("Methods and limits", 2, "methods"),
        KeyValues(
            (
                (
                    "Imagery",
                    f"{im['sensor']} from {im['source']}"
                    + (f" ({im['collection']})" if im.get("collection") else "")
                    + f"; {im['items']} scenes",
                ),
                (
                    "Classifier",
                    f"{cl['id']}"
                    + (f" (sha256 {str(cl['hash'])[:16]}...)" if cl.get("hash") else ""),
                ),
                ("Model card", str(cl["summary"])),
                ("Accuracy", acc),
                ("Factor tables", ft),
                (
                    "Flag thresholds",
                    f"cut-off {flags['cutoff']}; natural covers {', '.join(flags['natural_covers'])}; licence tolerance {flags['licence_tolerance_m']:g} m, min {flags['licence_min_ha']:g} ha; "
                    f"near = within {flags['near_m'] / 1000:g} km; expansion > median + {flags['expansion_k']:g} x MAD and > median + {flags['expansion_min_excess_ha_per_year']:g} ha/yr after {flags['expansion_min_history']} periods; data gap < {flags['min_clear_fraction']:.0%} clear",
                ),
                (
                    "Ownership",
                    f"{m['ownership']['approaches']}; majority-parent threshold {m['ownership']['control_threshold_pct']}%",
                ),
            )
        ),
        Heading("Not estimated in this run", 3),
        Bullets(tuple(m["not_estimated"]) or ("everything in scope was estimated",)),
        Heading("Never estimated by geomon", 3),
        Bullets(tuple(m["never_estimated"])),
        Heading("Limits", 3),
        Bullets(tuple(m["limits"])),
    ]
    return blocks


def _short(value: Any, limit: int = 400) -> str:
    from geomon.report._json import dumps

    text = dumps(value or {}, indent=None)
    return text if len(text) <= limit else text[:limit] + " ... (full text in the JSON)"


def provenance_blocks(c: dict[str, Any]) -> list[Block]:
    prov = c["provenance"]
    ids = prov.get("imagery", {}).get("item_ids", [])
    shown = ", ".join(ids[:40]) + (
        f" ... and {len(ids) - 40} more (all in the JSON)" if len(ids) > 40 else ""
    )
    versions = ", ".join(f"{k} {v}" for k, v in prov["versions"].items())
    pipe = prov.get("pipeline") or {}
    items = [
        ("Provenance hash (sha256)", prov["sha256"]),
        ("Model", f"{prov.get('model', {}).get('id')} / {prov.get('model', {}).get('hash')}"),
        (
            "Pipeline",
            f"{pipe.get('file') or 'none (command line)'}; parameters {_short(pipe.get('parameters'))}",
        ),
        ("Input items", shown or "none recorded"),
        (
            "Input hashes",
            "; ".join(f"{k} {str(v)[:16]}" for k, v in prov.get("inputs_sha256", {}).items() if v),
        ),
        ("Versions", versions),
    ]
    return [
        Heading("Provenance", 2, "provenance"),
        KeyValues(tuple(items)),
        Para(
            "The JSON beside this report holds every figure above, the full evidence of each flag and the complete provenance; rerunning the same inputs gives the same JSON (only 'generated_at' differs).",
            "note",
        ),
    ]


def credit_blocks(credits: list[str]) -> list[Block]:
    return [Heading("Data credits", 2, "credits"), Bullets(tuple(credits))]


def site_document(c: dict[str, Any], figs: dict[str, bytes]) -> Document:
    """The site report document (same blocks for HTML and PDF)."""
    m = c["mine"]
    blocks: list[Block] = [*_summary_blocks(c)]
    if any(p["data_gap"] for p in c["periods"]) or any("DEMO" in s for s in c["methods"]["limits"]):
        blocks.append(
            Para(
                " ".join(
                    s for s in c["methods"]["limits"] if s.startswith(("DEMO", "Periods with"))
                ),
                "warning",
            )
        )
    if "map_before" in figs:
        blocks += [
            Heading("Maps", 2, "maps"),
            Figure(figs["map_before"], "", 0.49, pair=True),
            Figure(figs["map_after"], "", 0.49),
            Para(
                "True-colour composites of the first and last period, with disturbed land, land newly "
                "disturbed within the window, rehabilitated land, protected areas, the licence and the AOI. "
                "Scale bars are in UTM metres.",
                "caption",
            ),
        ]
    blocks += [
        Heading("Change over time", 2, "charts"),
        Figure(figs["disturbed"], "Disturbed land per period; shaded periods are data gaps."),
        Figure(
            figs["co2e"],
            "Land-use-change CO2e of land disturbed in each period, with the 90 % range; 'not estimated' where no factor applies.",
        ),
        Figure(figs["msa"], "Mean species abundance lost, in MSA-weighted hectares (GLOBIO)."),
        Heading("Per-period figures", 2, "periods"),
        _period_table(c["periods"]),
        *_not_estimated_blocks(c["periods"]),
        *_cover_table(c),
        *ownership_blocks(c["ownership"]),
        *flag_blocks(c["flags"]),
        *framework_blocks(c["frameworks"]),
        *methods_blocks(c["methods"]),
        *credit_blocks(c["credits"]),
        *provenance_blocks(c),
    ]
    subtitle = f"{m['name']} ({m['mine_id']}), {m['country']} - {c['window']['start']} to {c['window']['end']}"
    return Document(
        c["title"],
        subtitle,
        tuple(blocks),
        footer=f"geomon site report {m['mine_id']} - provenance {c['provenance']['sha256'][:12]}",
    )
