"""The site report: one mine over a window, from its stage results to a :class:`Document`."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

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
from geomon.report.model_card import PER_MINE, REACH, per_mine_text

__all__ = [
    "accuracy_text",
    "evidence_text",
    "flag_blocks",
    "framework_blocks",
    "map_caption",
    "map_view",
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


def _crs(res: SiteResults, fp: gpd.GeoDataFrame) -> Any:
    return (
        fp.crs
        if fp.crs is not None
        else gpd.GeoSeries([res.mine.geometry], crs=4326).estimate_utm_crs()
    )


def _inside(geom: Any, extent: tuple[float, float, float, float]) -> bool:
    x0, y0, x1, y1 = geom.bounds
    return bool(x0 >= extent[0] and x1 <= extent[1] and y0 >= extent[2] and y1 <= extent[3])


def map_view(res: SiteResults) -> dict[str, Any]:
    """What the maps show: their width, grid, and whether the AOI, the licence and the protected
    areas within 10 km are in view (for the caption and the JSON)."""
    fp = with_polygon_ids(res.footprint)
    crs = _crs(res, fp)
    extent = _extent(res, crs, fp)
    view = shapely.box(extent[0], extent[2], extent[1], extent[3])
    aoi = gpd.GeoSeries([res.mine.geometry], crs=4326).to_crs(crs).iloc[0]
    lic = res.mine.get("licence_geometry")
    has_lic = lic is not None and not isinstance(lic, float) and not lic.is_empty
    lic_geom = gpd.GeoSeries([lic], crs=4326).to_crs(crs).iloc[0] if has_lic else None
    near = _areas_near(res, crs)
    epsg = gpd.GeoSeries([], crs=crs).crs.to_epsg()
    return {
        "width_km": round((extent[1] - extent[0]) / 1000.0, 1),
        "crs": f"EPSG:{epsg}" if epsg else str(crs),
        "imagery": res.composites is not None,
        "aoi_in_view": _inside(aoi, extent),
        "licence_in_view": None if lic_geom is None else _inside(lic_geom, extent),
        "protected_areas_assessed": near is not None,
        "protected_areas_within_10km": None if near is None else len(near),
        "protected_areas_in_view": None if near is None else int(near.intersects(view).sum()),
    }


def map_caption(c: dict[str, Any]) -> str:
    """The maps' caption: what is drawn, and what lies outside them, from ``c["maps"]``."""
    v, m = c.get("maps") or {}, c["mine"]
    first, last = c["periods"][0]["period"], c["periods"][-1]["period"]
    text = (
        f"True-colour composites of {first} (first period) and {last} (last period)"
        + (f", {v['width_km']:g} km across, grid {v['crs']}" if v else "")
        + ". Orange: land disturbed; red: land newly disturbed within the window; green: "
        "rehabilitated land; blue hatching: protected areas; yellow line: AOI; dashed line: licence. "
        "Scale bar in metres of the map grid; the north arrow shows grid north."
    )
    outside = []
    if v and not v.get("aoi_in_view"):
        outside.append(f"the AOI ({fmt_num(m['aoi_ha'], 0)} ha)")
    if v and v.get("licence_in_view") is False:
        outside.append(f"the licence ({fmt_num(m['licence_ha'], 0)} ha)")
    if outside:
        text += (
            f" The maps show where imagery and footprint are; {' and '.join(outside)} "
            + ("extends" if len(outside) == 1 else "extend")
            + " beyond them, so "
            + ("its outline is" if len(outside) == 1 else "their outlines are")
            + " not drawn."
        )
    if v and not v.get("protected_areas_assessed"):
        text += " Protected areas were not assessed (no layer in this run)."
    elif v and not v.get("protected_areas_within_10km"):
        text += " No protected area lies within 10 km of the AOI."
    elif v and v.get("protected_areas_in_view") == 0:
        text += f" {v['protected_areas_within_10km']} protected area(s) lie within 10 km but outside the maps."
    return text


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
    crs = _crs(res, fp)
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
    carbon = c["methods"].get("carbon", {})
    co2e_note = (
        ""
        if k == n
        else f"; summed over the {k} of {n} periods estimated, the others are not estimated"
    )
    if carbon.get("partial_periods"):
        no_factor = carbon.get("ha_no_carbon_factor")
        co2e_note += (
            "; partial: "
            + (
                f"{fmt_num(no_factor)} ha of newly disturbed cover without a published factor"
                if no_factor
                else "parts without a factor"
            )
            + " and the parts listed under 'Not estimated' are not included"
        )
    co2e_note += (
        ". Range = sum of the periods' 5th and 95th percentiles (wider than a 90 % range of the total)"
        if n > 1 and k
        else ""
    )
    items = [
        (
            "Mine",
            f"{m['name']} ({m['mine_id']}), {m['country']}; {', '.join(m['commodities'])}; {m['status']}",
        ),
        (
            "Location",
            f"latitude {m['centroid_lat']:.4f}, longitude {m['centroid_lon']:.4f} (AOI centre; registry coordinates {m['coordinate_accuracy']})",
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
            f"{fmt_range(s.get('co2e_t_mean_total'), s.get('co2e_t_low_total'), s.get('co2e_t_high_total'))} t CO2e"
            + co2e_note
            if k
            else "not estimated in any period (see 'Not estimated')",
        ),
        (
            "Biodiversity loss (last period)",
            f"{fmt_num(s.get('msa_ha_lost_last'))} MSA·ha (hectares of intact nature lost, equivalently; see 'Terms used')",
        ),
        (
            "Flags",
            f"{sev['high']} high, {sev['medium']} medium, {sev['info']} data-gap (counted per period)",
        ),
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


def awaiting_blocks(awaiting: list[dict[str, Any]]) -> list[Para]:
    """A note on land awaiting confirmation at the window's end (none when there is none); an
    entry with a ``mine`` (a company report's) is named by it."""
    if not awaiting:
        return []
    found = "; ".join(
        f"{a['mine'] + ' ' if a.get('mine') else ''}{a['hectares']:.2f} ha in {a['period']}"
        for a in awaiting
    )
    return [
        Para(
            f"Awaiting confirmation: {found}. This land looked disturbed in its latest clear "
            "view but has not yet held for as many periods as the change rules ask, so it is in "
            "no figure of this report; the next period's imagery confirms it as new disturbance "
            "or clears it (a one-off cloud shadow looks the same).",
            "note",
        )
    ]


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
                fmt_range(p["co2e_t_mean"], p["co2e_t_low"], p["co2e_t_high"])
                + (
                    " *"
                    if imp.get("co2e_complete") is False and p["co2e_t_mean"] is not None
                    else ""
                ),
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
        "Protected area ha",
        "Natural ha cleared since cut-off (to date)",
    )
    return Table(
        cols,
        tuple(rows),
        "Per-period figures. Disturbed = new + persisting (a lower bound: see 'Limits'); MSA·ha, protected and cut-off hectares are the "
        "state at the period's end, CO2e is what the period's clearing released (land-use change only). "
        "* = partial sum: a part had no factor or was not estimated (next table).",
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


_METRIC_NAMES = {
    "overall_accuracy": "overall accuracy",
    "overall_accuracy_area_weighted": "overall accuracy (area-weighted)",
    "new_disturbance_area_error_pct": "new-disturbance area error, %",
}


def accuracy_text(cl: dict[str, Any]) -> str:
    """The classifier's accuracy on one line: overall figures first, then F1 per class, then
    (where the model card gives it) ``bare_disturbed`` with every pixel scored at its period's
    middle scene; the other pixel figures are then marked as on stable pixels."""
    acc = dict(cl["accuracy"])
    if not acc:
        return "not recorded (no accuracy in the run or the model card)"
    f1_mid, iou_mid = (
        acc.pop("bare_disturbed_f1_middle", None),
        acc.pop("bare_disturbed_iou_middle", None),
    )
    has_middle = isinstance(f1_mid, int | float) and isinstance(iou_mid, int | float)
    stable = " on stable pixels" if has_middle else ""
    parts = []
    for key, label in _METRIC_NAMES.items():
        if key in acc:
            v = acc.pop(key)
            pct = key.endswith("_pct")
            parts.append(f"{label} {v:+.1f}" if pct else f"{label}{stable} {v:.3f}")
    per_mine = per_mine_text(acc)
    for k in (*PER_MINE, *REACH):
        acc.pop(k, None)
    if per_mine:
        parts.append(f"new-disturbance area per mine: {per_mine}")
    f1 = {k[:-3]: acc.pop(k) for k in list(acc) if k.endswith("_f1")}
    for k in [k for k in list(acc) if k.endswith(("_precision", "_recall"))]:
        acc.pop(k)  # in the JSON; F1 says enough on one line
    if f1:
        parts.append(f"F1 by class{stable}: " + ", ".join(f"{k} {v:.3f}" for k, v in f1.items()))
    if has_middle:
        parts.append(
            f"bare_disturbed F1 {f1_mid:.3f} and IoU {iou_mid:.3f} with every pixel scored at its "
            "period's middle scene (stable pixels: those whose cover stayed the same through "
            "their period; the middle-scene figures include ground that changed within it)"
        )
    parts += [f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in acc.items()]
    on = cl.get("evaluated_on")
    return "; ".join(parts) + (
        f" (measured on {on}, from the {cl['accuracy_source']})" if on else ""
    )


def imagery_text(im: dict[str, Any]) -> str:
    span = (
        f", {im['first_scene']} to {im['last_scene']}"
        if im.get("first_scene") and im.get("last_scene")
        else ""
    )
    return (
        f"{im['sensor']} from {im['source']}"
        + (f" ({im['collection']})" if im.get("collection") else "")
        + f"; {im['items']} scenes{span}"
    )


def coverage_table(periods: list[dict[str, Any]]) -> Table:
    rows = tuple(
        (
            p["period"],
            f"{p['start']} to {p['end']}",
            "n/a" if p["n_items"] is None else str(p["n_items"]),
            fmt_pct(
                p["clear_fraction"] * 100 if p["clear_fraction"] is not None else None, 0, "n/a"
            ),
        )
        for p in periods
    )
    return Table(
        ("Period", "Dates", "Scenes", "Clear sky (share of AOI)"),
        rows,
        "Imagery per period: scenes composited and the share of the AOI seen cloud-free at least once.",
        (1, 2.4, 0.8, 1.6),
        (2, 3),
        small=True,
    )


def factor_table_rows(tables: list[dict[str, str]]) -> Table:
    return Table(
        ("Factor table", "Version", "What it holds", "Source"),
        tuple(
            (t["name"], t.get("version", "") or "?", t.get("title", "") or "-", t.get("source", ""))
            for t in tables
        ),
        "Factor tables used by this run, as the tables state them (files in geomon/impacts/tables).",
        (2.1, 0.8, 2.4, 3.3),
        small=True,
    )


def glossary_blocks(glossary: list[dict[str, str]]) -> list[Block]:
    return [
        Heading("Terms used", 2, "terms"),
        KeyValues(tuple((g["term"], g["meaning"]) for g in glossary)),
    ]


def methods_blocks(m: dict[str, Any]) -> list[Block]:
    im, cl = m["imagery"], m["classifier"]
    flags = m["flags"]
    blocks: list[Block] = [
        Heading("Methods and limits", 2, "methods"),
        KeyValues(
            (
                ("Imagery", imagery_text(im)),
                (
                    "Classifier",
                    f"{cl['id']}"
                    + (
                        f" (model hash {str(cl['hash'])[:16]}..., full hash under Provenance)"
                        if cl.get("hash")
                        else ""
                    ),
                ),
                ("Model card", str(cl["summary"])),
                ("Accuracy", accuracy_text(cl)),
                (
                    "Flag thresholds",
                    f"cut-off {flags['cutoff']}; natural covers {', '.join(flags['natural_covers'])}; licence tolerance {flags['licence_tolerance_m']:g} m, min {flags['licence_min_ha']:g} ha; "
                    f"near = within {flags['near_m'] / 1000:g} km; expansion > median + {flags['expansion_k']:g} x MAD and > median + {flags['expansion_min_excess_ha_per_year']:g} ha/yr after {flags['expansion_min_history']} periods; data gap < {flags['min_clear_fraction']:.0%} clear",
                ),
                (
                    "Ownership",
                    f"{m['ownership']['approaches']}; majority-parent threshold {fmt_pct(m['ownership']['control_threshold_pct'], 0, 'none')}",
                ),
            )
        ),
        coverage_table(im["periods"]),
        factor_table_rows(m["factor_tables"])
        if m["factor_tables"]
        else Para("Factor tables: none recorded (no impact records in this run).", "warning"),
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
            "Factor tables",
            ", ".join(f"{t['name']}@{t.get('version', '')}" for t in prov.get("factor_tables", []))
            or "none recorded",
        ),
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


def _gap_note(periods: list[dict[str, Any]]) -> str:
    gaps = [p["period"] for p in periods if p["data_gap"]]
    if not gaps:
        return "No period is a data gap."
    return f"Grey-shaded: data gaps (too little clear sky): {', '.join(gaps)}."


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
            Para(map_caption(c), "caption"),
        ]
    blocks += [
        Heading("Change over time", 2, "charts"),
        Figure(
            figs["disturbed"],
            "Hectares of disturbed land at each period: orange was disturbed earlier and persists, red "
            "was newly disturbed in the period; the green line is rehabilitated land. "
            + _gap_note(c["periods"]),
        ),
        Figure(
            figs["co2e"],
            "Tonnes of CO2e released by the land first cleared in each period (land-use change): bar = "
            "mean, whisker = 90 % range (5th to 95th percentile of the Monte Carlo); 'not estimated' where "
            "no factor applies; see the per-period table for partial sums. "
            + _gap_note(c["periods"]),
        ),
        Figure(
            figs["msa"],
            "Biodiversity loss as of each period's end against the baseline, in MSA·ha (mean species "
            "abundance x hectares, GLOBIO): dark = the footprint itself, light = the infrastructure halo "
            "around it. A state, not a flow: read the last bar, do not add the bars up. "
            + _gap_note(c["periods"]),
        ),
        Heading("Per-period figures", 2, "periods"),
        _period_table(c["periods"]),
        *awaiting_blocks(c.get("awaiting_confirmation") or []),
        *_not_estimated_blocks(c["periods"]),
        *_cover_table(c),
        *ownership_blocks(c["ownership"]),
        *flag_blocks(c["flags"]),
        *framework_blocks(c["frameworks"]),
        *methods_blocks(c["methods"]),
        *glossary_blocks(c["methods"]["glossary"]),
        *credit_blocks(c["credits"]),
        *provenance_blocks(c),
    ]
    subtitle = (
        f"Mine id {m['mine_id']}, {m['country']}; {c['window']['start']} to {c['window']['end']}"
    )
    return Document(
        c["title"],
        subtitle,
        tuple(blocks),
        footer=f"geomon site report {m['mine_id']} - provenance {c['provenance']['sha256'][:12]}",
    )
