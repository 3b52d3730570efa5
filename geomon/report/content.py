"""Every figure of a site report, as plain data (the report JSON); documents are rendered from it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import Geod

from geomon.errors import ReportInputError
from geomon.esg.flags import Check, normalize_areas, run_checks, with_polygon_ids
from geomon.esg.ownership import Attribution, OwnershipChain, ownership_chain
from geomon.report._json import clean, sha256
from geomon.report._notes import split_notes
from geomon.report.frameworks import frameworks
from geomon.report.inputs import ReportOptions, SiteResults
from geomon.report.methods import credits, methods
from geomon.report.site import map_view

__all__ = ["SCHEMA_SITE", "impact_records", "period_table", "site_content"]

SCHEMA_SITE = "geomon.site-report/1"
_GEOD = Geod(ellps="WGS84")
#: impact columns charted and tabled by name (others are carried along in ``impacts``)
CO2E = ("co2e_t_mean", "co2e_t_low", "co2e_t_high")
MSA = "msa_ha_lost"
_NOT_FIGURES = {"mine_id", "period", "period_start", "period_end", "notes", "factor_tables"}


def _geod_ha(geom: Any) -> float | None:
    if geom is None or (isinstance(geom, float) and math.isnan(geom)) or geom.is_empty:
        return None
    return abs(_GEOD.geometry_area_perimeter(geom)[0]) / 1e4


def _mine_info(mine: pd.Series) -> dict[str, Any]:
    c = mine.geometry.centroid
    lic = mine.get("licence_geometry")
    return {
        "mine_id": str(mine["mine_id"]),
        "name": str(mine["name"]),
        "country": str(mine["country"]),
        "commodities": [str(x) for x in mine["commodities"]],
        "status": str(mine.get("status", "unknown")),
        "coordinate_accuracy": str(mine.get("coordinate_accuracy", "unknown")),
        "centroid_lat": c.y,
        "centroid_lon": c.x,
        "aoi_ha": _geod_ha(mine.geometry),
        "licence_ha": _geod_ha(lic) if lic is not None else None,
        "ecozone": mine.get("ecozone") if isinstance(mine.get("ecozone"), str) else None,
        "registry_source": str(mine.get("source", "")),
    }


def _footprint_by_period(fp: gpd.GeoDataFrame) -> pd.DataFrame:
    if fp.empty:
        return pd.DataFrame(columns=["new", "persisting", "rehabilitated"])
    ha = fp.pivot_table(
        index="period", columns="status", values="area_ha", aggfunc="sum", fill_value=0.0
    )
    for col in ("new", "persisting", "rehabilitated"):
        if col not in ha.columns:
            ha[col] = 0.0
    return ha


def _json_dict(text: str) -> dict[str, Any] | None:
    try:
        out = json.loads(text)
    except ValueError:
        return None
    return out if isinstance(out, dict) else None


def impact_records(impacts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Impact figures per period label (numeric columns and dict-valued ones such as by-category ha)."""
    out: dict[str, dict[str, Any]] = {}
    for _, row in impacts.iterrows():
        rec: dict[str, Any] = {}
        for col, val in row.items():
            if col in _NOT_FIGURES:
                continue
            if isinstance(val, str) and val.strip().startswith("{"):
                val = _json_dict(val)
            if isinstance(val, dict):
                rec[str(col)] = {str(k): v for k, v in val.items()}
            elif isinstance(val, bool):
                rec[str(col)] = val
            elif isinstance(val, int | float) or val is None:
                rec[str(col)] = math.nan if val is None else float(val)
        out[str(row["period"])] = rec
    return out


def _notes(impacts: pd.DataFrame) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if "notes" not in impacts.columns:
        return out
    for _, row in impacts.iterrows():
        val = row["notes"]
        items = val if isinstance(val, list | tuple) else split_notes(str(val or ""))
        out[str(row["period"])] = [s.strip() for s in items if str(s).strip() and str(s) != "nan"]
    return out


def _periods(res: SiteResults, checks: list[Check]) -> list[dict[str, Any]]:
    """One record per period: footprint ha by status, coverage, impact figures, not-estimated notes."""
    keys = {(c.period, c.period_start, c.period_end) for c in checks}
    ha = _footprint_by_period(res.footprint)
    imp = impact_records(res.impacts)
    notes = _notes(res.impacts)
    cov = (
        res.coverage.set_index(res.coverage["period"].astype(str))
        if res.coverage is not None
        else None
    )
    gaps = {c.period for c in checks if c.check == "data_gap" and c.status == "flagged"}
    rows = []
    for period, start, end in sorted(keys, key=lambda k: (k[1], k[0])):
        h = (
            ha.loc[period]
            if period in ha.index
            else pd.Series({"new": 0.0, "persisting": 0.0, "rehabilitated": 0.0})
        )
        rec: dict[str, Any] = {
            "period": period,
            "start": start,
            "end": end,
            "new_ha": float(h["new"]),
            "persisting_ha": float(h["persisting"]),
            "disturbed_ha": float(h["new"] + h["persisting"]),
            "rehabilitated_ha": float(h["rehabilitated"]),
            "clear_fraction": float(cov.loc[period, "clear_fraction"])
            if cov is not None and period in cov.index
            else None,
            "n_items": int(cov.loc[period, "n_items"])
            if cov is not None and period in cov.index and "n_items" in cov.columns
            else None,
            "data_gap": period in gaps,
            "impacts": imp.get(period, {}),
            "not_estimated": notes.get(period, [])
            if period in imp
            else ["no impact record for this period"],
        }
        for col in (*CO2E, MSA):
            rec[col] = imp.get(period, {}).get(col, math.nan)
        rows.append(rec)
    return rows


def period_table(content: dict[str, Any]) -> pd.DataFrame:
    """The per-period records of a report as a DataFrame (for notebooks and tests)."""
    return pd.DataFrame(
        [{k: v for k, v in p.items() if k != "impacts"} for p in content["periods"]]
    )


def _by_cover(fp: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    if fp.empty:
        return []
    g = fp.groupby(["period", "status", "baseline_class", "baseline_cover"], dropna=False)[
        "area_ha"
    ].sum()
    return [
        {
            "period": str(p),
            "status": str(s),
            "baseline_class": str(c),
            "baseline_cover": str(v),
            "ha": float(ha),
        }
        for (p, s, c, v), ha in g.items()
    ]


def _sum_estimated(periods: list[dict[str, Any]], col: str) -> tuple[float, int]:
    vals = [p[col] for p in periods if p[col] is not None and not math.isnan(p[col])]
    return (float(sum(vals)) if vals else math.nan), len(vals)


def _summary(periods: list[dict[str, Any]]) -> dict[str, Any]:
    if not periods:
        return {}
    first, last = periods[0], periods[-1]
    co2e = {c: _sum_estimated(periods, c)[0] for c in CO2E}
    return {
        "first_period": first["period"],
        "last_period": last["period"],
        "disturbed_ha_first": first["disturbed_ha"],
        "disturbed_ha_last": last["disturbed_ha"],
        "new_ha_total": sum(p["new_ha"] for p in periods),
        "rehabilitated_ha_last": last["rehabilitated_ha"],
        **{f"{c}_total": v for c, v in co2e.items()},
        "co2e_periods_estimated": _sum_estimated(periods, "co2e_t_mean")[1],
        "msa_ha_lost_last": last[MSA],
        "periods": len(periods),
        "data_gap_periods": [p["period"] for p in periods if p["data_gap"]],
    }


def _attributed(a: Attribution, summary: dict[str, Any]) -> dict[str, Any]:
    f = a.pct / 100.0
    figures = (
        "disturbed_ha_last",
        "new_ha_total",
        "co2e_t_mean_total",
        "co2e_t_low_total",
        "co2e_t_high_total",
        "msa_ha_lost_last",
    )
    return {
        **dataclasses.asdict(a),
        "figures": {
            k: summary.get(k, math.nan) * f if summary.get(k) is not None else math.nan
            for k in figures
        },
    }


def _ownership(chain: OwnershipChain, summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "stakes": [dataclasses.asdict(s) for s in chain.stakes],
        "equity_share": [_attributed(a, summary) for a in chain.equity],
        "operational_control": [_attributed(a, summary) for a in chain.operational],
        "controllers": [_attributed(a, summary) for a in chain.controllers],
        "notes": list(chain.notes),
        "as_of": chain.as_of,
        "sources": list(chain.sources),
    }


def _frame_sha(frame: pd.DataFrame | None) -> str | None:
    if frame is None:
        return None
    h = hashlib.sha256()
    df = pd.DataFrame(frame).copy()
    if isinstance(frame, gpd.GeoDataFrame):
        df["geometry"] = [
            g.wkb_hex if g is not None else ""
            for g in shapely.set_precision(frame.geometry.values, 0.001)
        ]
    h.update(df.astype(str).to_csv(index=False).encode())
    return h.hexdigest()


def _item_ids(res: SiteResults) -> list[str]:
    ids = res.imagery.get("item_ids")
    if ids is None and res.composites is not None:
        ids = res.composites.attrs.get("item_ids")
    if isinstance(ids, str):
        ids = [i for i in ids.replace(",", " ").split() if i]
    return sorted({str(i) for i in ids or []})


def _tables_dir(impacts: pd.DataFrame) -> str | None:
    """``tables_dir`` of the run's ImpactParams (``impact_params`` JSON), when one was set."""
    if "impact_params" not in impacts.columns:
        return None
    for val in impacts["impact_params"]:
        params = _json_dict(val) if isinstance(val, str) else None
        if params and params.get("tables_dir"):
            return str(params["tables_dir"])
    return None


def _factor_tables(impacts: pd.DataFrame) -> list[dict[str, str]]:
    """Every factor table the impact records name (``name@version; ...``), with its version,
    title and source as the table itself states them (:func:`geomon.impacts.describe_factor_tables`).
    A table geomon cannot find keeps its name and version, and says that its source is unknown."""
    from geomon.impacts import describe_factor_tables

    if "factor_tables" not in impacts.columns:
        return []
    labels: set[str] = set()
    for val in impacts["factor_tables"]:
        if isinstance(val, str):
            labels.update(s.strip() for s in val.split(";") if s.strip())
        elif isinstance(val, list | tuple):
            labels.update(str(s).strip() for s in val if str(s).strip())
    if not labels:
        return []
    try:
        described = describe_factor_tables("; ".join(sorted(labels)), _tables_dir(impacts))
    except (OSError, ValueError):  # a tables_dir that is gone: name and version still count
        described = [
            {"name": n, "version": v, "source": "", "title": ""}
            for n, _, v in (lbl.partition("@") for lbl in sorted(labels))
        ]
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for t in described:
        seen[(t["name"], t["version"])] = {
            "name": t["name"],
            "version": t["version"],
            "title": t.get("title", ""),
            "source": t.get("source") or "source unknown: table not found in this installation",
        }
    return [seen[k] for k in sorted(seen)]


def provenance(res: SiteResults, opts: ReportOptions, versions: dict[str, str]) -> dict[str, Any]:
    """Inputs, model, factor tables, versions and parameters, with a hash over all of them."""
    prov: dict[str, Any] = {
        "imagery": {
            "sensor": res.imagery.get(
                "sensor", res.composites.attrs.get("sensor") if res.composites is not None else None
            ),
            "source": res.imagery.get("source"),
            "collection": res.imagery.get("collection"),
            "item_ids": _item_ids(res),
        },
        "inputs_sha256": {
            "footprint": _frame_sha(res.footprint),
            "impacts": _frame_sha(res.impacts),
            "ownership": _frame_sha(res.ownership[res.ownership["mine_id"] == res.mine["mine_id"]]),
            "coverage": _frame_sha(res.coverage),
            "protected_areas": _frame_sha(res.areas),
        },
        "model": {"id": res.model.get("id"), "hash": res.model.get("hash")},
        "factor_tables": _factor_tables(res.impacts),
        "versions": versions,
        "pipeline": clean(res.pipeline),
        "options": clean(dataclasses.asdict(opts)),
        "window": {"start": res.start.isoformat(), "end": res.end.isoformat()},
    }
    prov["sha256"] = sha256(prov)
    return prov


def _validate(res: SiteResults) -> None:
    need = {
        "mine_id",
        "period",
        "period_start",
        "period_end",
        "status",
        "baseline_class",
        "baseline_cover",
        "area_ha",
    }
    missing = sorted(need - set(res.footprint.columns))
    if missing:
        raise ReportInputError(
            f"footprint lacks column(s) {', '.join(missing)}; pass the frame geomon.footprint returns"
        )
    if not res.footprint.empty and res.footprint.crs is None:
        raise ReportInputError("footprint has no CRS; set it (the mine's UTM CRS) before reporting")
    if not res.impacts.empty and "period" not in res.impacts.columns:
        raise ReportInputError(
            "impact records lack a 'period' column; pass the frame geomon.impacts returns"
        )


def awaiting_confirmation(footprint: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """``[{"period", "hectares"}]``: land the footprint's latest period saw disturbed but has not
    confirmed yet (:func:`geomon.footprint.awaiting_hectares`)."""
    from geomon.footprint import awaiting_hectares

    return [{"period": k, "hectares": v} for k, v in awaiting_hectares(footprint).items()]


def site_content(res: SiteResults, opts: ReportOptions, versions: dict[str, str]) -> dict[str, Any]:
    """All figures of a site report as plain data (see docs: the report JSON)."""
    _validate(res)
    fp = with_polygon_ids(res.footprint)
    areas = normalize_areas(res.areas) if res.areas is not None else None
    checks = run_checks(res.mine, fp, res.coverage, areas, opts.flags)
    periods = _periods(res, checks)
    summary = _summary(periods)
    chain = ownership_chain(res.ownership, str(res.mine["mine_id"]), opts.control_threshold_pct)
    prov = provenance(res, opts, versions)
    content: dict[str, Any] = {
        "schema": SCHEMA_SITE,
        "kind": "site",
        "title": f"Site report: {res.mine['name']}",
        "window": {"start": res.start.isoformat(), "end": res.end.isoformat()},
        "mine": _mine_info(res.mine),
        "summary": summary,
        "periods": periods,
        "by_cover": _by_cover(fp),
        "awaiting_confirmation": awaiting_confirmation(res.footprint),
        "ownership": _ownership(chain, summary),
        "flags": [dataclasses.asdict(c) for c in checks],
        "provenance": prov,
    }
    content["maps"] = map_view(res)
    content["frameworks"] = frameworks(
        content,
        has_areas=areas is not None,
        layer_kinds=set(areas["kind"].astype(str)) if areas is not None else None,
    )
    content["methods"] = methods(res, content, opts)
    content["credits"] = credits(res, content)
    return clean(content)
