"""Flags per mine and period, each with the evidence behind it.

Every check gives one :class:`Check` per period: ``flagged``, ``clear`` or ``not_assessed`` (with
the reason), so that a report can tell "checked and clear" from "not checked". Evidence holds the
numbers, the polygon ids (``polygon_id`` of the footprint, see :func:`with_polygon_ids`) and the
dates behind each flag.

Checks (:data:`CHECKS`):

- ``cleared_after_cutoff``: natural land newly disturbed in a period that starts after the cut-off
  (default 2020-12-31, the EU Deforestation Regulation date, used here as a flag only);
- ``outside_licence``: disturbed land outside the registry's licence/concession polygon;
- ``protected_area``: disturbed land inside, or within ``near_m`` of, a protected area, Key
  Biodiversity Area or World Heritage site;
- ``expansion_rate``: newly disturbed ha per year far above the mine's own earlier periods
  (above median + k x scaled MAD, and by at least a minimum excess);
- ``data_gap``: a period whose clear-sky coverage is below a minimum, or with no imagery at all.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = [
    "CHECKS",
    "Check",
    "FlagOptions",
    "flagged",
    "normalize_areas",
    "run_checks",
    "with_polygon_ids",
]

EQUAL_AREA_CRS = "EPSG:6933"
CHECKS: tuple[str, ...] = (
    "cleared_after_cutoff",
    "outside_licence",
    "protected_area",
    "expansion_rate",
    "data_gap",
)
DISTURBED = ("new", "persisting")
Status = Literal["flagged", "clear", "not_assessed"]


@dataclass(frozen=True)
class FlagOptions:
    """Thresholds of the checks; every one is written into the report's methods section."""

    cutoff: dt.date = dt.date(2020, 12, 31)
    """Land cleared in periods starting after this date is flagged (EUDR cut-off)."""
    natural_covers: tuple[str, ...] = ("forest", "shrubland", "grassland", "wetland")
    """Baseline covers counted as natural land (``baseline_cover`` of the footprint)."""
    unknown_vegetation_is_natural: bool = True
    """Count vegetation of unknown cover as natural (the cautious reading for a flag)."""
    licence_tolerance_m: float = 30.0
    """Disturbance within this distance outside the licence edge is ignored (boundary accuracy)."""
    licence_min_ha: float = 0.5
    """Flag only when at least this much disturbed land lies outside the licence."""
    near_m: float = 10_000.0
    """"Near" a protected area: within this distance (indirect impacts, Sonter et al. 2017)."""
    expansion_k: float = 3.0
    """Flag when the rate exceeds median + k x 1.4826 x MAD of the mine's earlier periods."""
    expansion_min_history: int = 3
    """Earlier periods needed before the expansion check is made."""
    expansion_min_excess_ha_per_year: float = 5.0
    """And the rate must exceed the median by at least this much."""
    min_clear_fraction: float = 0.5
    """Periods whose clear-sky fraction of the AOI is below this are data gaps."""


@dataclass(frozen=True)
class Check:
    """The outcome of one check for one mine and period."""

    mine_id: str
    period: str
    period_start: str
    period_end: str
    check: str
    status: Status
    severity: str
    """``high``, ``medium`` or ``info``; empty unless flagged."""
    message: str
    evidence: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def with_polygon_ids(footprint: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``footprint`` with a stable ``polygon_id`` (``mine/period/NNNN``) unless it has one.

    Ids follow a deterministic order (period, status, first seen, cover, then largest first and
    by position), so the same footprint always gets the same ids.
    """
    if "polygon_id" in footprint.columns or footprint.empty:
        return footprint if "polygon_id" in footprint.columns else footprint.assign(polygon_id="")
    fp = footprint.copy()
    cent = fp.geometry.representative_point()
    fp["_x"], fp["_y"] = cent.x.round(1), cent.y.round(1)
    keys = ["mine_id", "period", "status", "first_seen", "baseline_class", "baseline_cover"]
    fp = fp.sort_values([*keys, "area_ha", "_x", "_y"], ascending=[*[True] * 6, False, True, True])
    n = fp.groupby(["mine_id", "period"], sort=False).cumcount()
    fp["polygon_id"] = fp["mine_id"].astype(str) + "/" + fp["period"].astype(str) + "/"
    fp["polygon_id"] += n.map(lambda i: f"{i + 1:04d}")
    return fp.drop(columns=["_x", "_y"]).reset_index(drop=True)


def normalize_areas(areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Protected areas, KBAs and World Heritage sites as ``area_id, name, kind, designation,
    iucn_cat, geometry``; reads the WDPA layout (WDPAID, NAME, DESIG_ENG, IUCN_CAT), the KBA
    layout (SitRecID, IntName) or those columns already."""
    cols = {c.lower(): c for c in areas.columns}

    def pick(*names: str, default: Any = "") -> pd.Series:
        for n in names:
            if n.lower() in cols:
                return (
                    areas[cols[n.lower()]].astype(object).where(areas[cols[n.lower()]].notna(), "")
                )
        return pd.Series([default] * len(areas), index=areas.index, dtype=object)

    out = gpd.GeoDataFrame(
        {
            "area_id": pick("area_id", "WDPAID", "SitRecID", "id").astype(str),
            "name": pick("name", "NAME", "IntName", "ORIG_NAME").astype(str),
            "designation": pick("designation", "DESIG_ENG", "DESIG").astype(str),
            "iucn_cat": pick("iucn_cat", "IUCN_CAT").astype(str),
            "kind": pick("kind").astype(str),
        },
        geometry=areas.geometry.values,
        crs=areas.crs,
    )
    out["area_id"] = [
        i if i not in ("", "None", "nan") else n
        for i, n in zip(out["area_id"], out["name"], strict=True)
    ]
    is_kba = "sitrecid" in cols
    out["kind"] = [
        k
        or (
            "world_heritage"
            if "world heritage" in d.lower()
            else "kba"
            if is_kba or "key biodiversity" in d.lower()
            else "protected_area"
        )
        for k, d in zip(out["kind"], out["designation"], strict=True)
    ]
    return out


@dataclass(frozen=True)
class _Period:
    mine_id: str
    period: str
    start: dt.date
    end: dt.date

    def check(self, name: str, status: Status, severity: str, msg: str, **ev: Any) -> Check:
        return Check(
            self.mine_id,
            self.period,
            self.start.isoformat(),
            self.end.isoformat(),
            name,
            status,
            severity if status == "flagged" else "",
            msg,
            ev,
        )


def _as_date(value: Any) -> dt.date:
    return pd.Timestamp(value).date()


def _periods(
    footprint: gpd.GeoDataFrame, coverage: pd.DataFrame | None, mine_id: str
) -> list[_Period]:
    rows: dict[str, _Period] = {}
    for frame in (coverage, footprint):
        if frame is None or frame.empty:
            continue
        for r in frame[["period", "period_start", "period_end"]].drop_duplicates().itertuples():
            rows.setdefault(
                str(r.period),
                _Period(mine_id, str(r.period), _as_date(r.period_start), _as_date(r.period_end)),
            )
    return sorted(rows.values(), key=lambda p: (p.start, p.period))


def _ha(geoms: gpd.GeoSeries) -> float:
    if geoms.empty:
        return 0.0
    return float(geoms.to_crs(EQUAL_AREA_CRS).area.sum() / 1e4)


def _r(x: float, nd: int = 2) -> float:
    return round(float(x), nd)


def _ids(frame: gpd.GeoDataFrame) -> list[str]:
    return sorted(str(i) for i in frame["polygon_id"])


def _natural(fp: gpd.GeoDataFrame, opts: FlagOptions) -> pd.Series:
    natural = fp["baseline_cover"].isin(opts.natural_covers)
    if opts.unknown_vegetation_is_natural:
        unknown = fp["baseline_cover"].isin(["unknown", ""]) | fp["baseline_cover"].isna()
        natural |= unknown & (fp["baseline_class"] == "vegetation")
    return natural


def _cleared_after_cutoff(p: _Period, fp: gpd.GeoDataFrame, opts: FlagOptions) -> Check:
    name, cutoff = "cleared_after_cutoff", opts.cutoff
    if p.end <= cutoff:
        return p.check(
            name, "clear", "", f"period ends on or before the cut-off {cutoff}", cutoff=str(cutoff)
        )
    new = fp[(fp["status"] == "new")]
    cleared = new[_natural(new, opts)]
    ha = float(cleared["area_ha"].sum())
    if cleared.empty:
        return p.check(
            name, "clear", "", "no natural land newly disturbed", cutoff=str(cutoff), ha=0.0
        )
    by_cover = cleared.groupby("baseline_cover")["area_ha"].sum().round(2).to_dict()
    straddles = p.start <= cutoff
    when = f"in a period that straddles the cut-off {cutoff}" if straddles else f"after {cutoff}"
    return p.check(
        name,
        "flagged",
        "high",
        f"{ha:,.1f} ha of natural land newly disturbed {when}",
        cutoff=str(cutoff),
        ha=_r(ha),
        ha_by_baseline_cover={str(k): float(v) for k, v in sorted(by_cover.items())},
        straddles_cutoff=straddles,
        polygon_ids=_ids(cleared),
    )


def _licence(mine: pd.Series) -> Any:
    lic = mine.get("licence_geometry") if mine is not None else None
    if (
        lic is None
        or (isinstance(lic, float) and math.isnan(lic))
        or getattr(lic, "is_empty", True)
    ):
        return None
    return lic


def _outside_licence(p: _Period, fp: gpd.GeoDataFrame, mine: pd.Series, opts: FlagOptions) -> Check:
    name = "outside_licence"
    lic = _licence(mine)
    if lic is None:
        return p.check(
            name, "not_assessed", "", "the registry has no licence/concession polygon for this mine"
        )
    dist = fp[fp["status"].isin(DISTURBED)]
    allowed = gpd.GeoSeries([lic], crs=4326).to_crs(fp.crs).buffer(opts.licence_tolerance_m).iloc[0]
    outside = dist.geometry.difference(allowed)
    keep = ~outside.is_empty
    out_ha = _ha(outside[keep])
    ev = {
        "ha_outside": _r(out_ha),
        "tolerance_m": opts.licence_tolerance_m,
        "min_ha": opts.licence_min_ha,
        "polygon_ids": _ids(dist[keep]),
    }
    if out_ha < opts.licence_min_ha:
        return p.check(
            name,
            "clear",
            "",
            f"{out_ha:,.2f} ha outside the licence (below {opts.licence_min_ha} ha)",
            **ev,
        )
    return p.check(
        name,
        "flagged",
        "high",
        f"{out_ha:,.1f} ha of disturbed land outside the licence/concession",
        **ev,
    )


def nearby_areas(
    areas: gpd.GeoDataFrame, dist: gpd.GeoDataFrame | gpd.GeoSeries, near_m: float
) -> gpd.GeoDataFrame:
    """Areas whose lon/lat box comes within ~``near_m`` of the footprint: far ones are dropped
    before projecting to the mine's UTM zone, where they would land at infinity."""
    x0, y0, x1, y1 = dist.to_crs(4326).total_bounds
    pad_lat = 2 * near_m / 111_000 + 0.01
    pad_lon = pad_lat / max(math.cos(math.radians(max(abs(y0), abs(y1)))), 0.05)
    ll = areas.to_crs(4326)
    return areas[
        ll.intersects(shapely.box(x0 - pad_lon, y0 - pad_lat, x1 + pad_lon, y1 + pad_lat)).values
    ]


def _area_hits(
    dist: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, opts: FlagOptions
) -> list[dict[str, Any]]:
    union = shapely.union_all(dist.geometry.values)
    hits = []
    for a in nearby_areas(areas, dist, opts.near_m).to_crs(dist.crs).itertuples():
        d = float(shapely.distance(union, a.geometry))
        if d > opts.near_m:
            continue
        inside = gpd.GeoSeries([shapely.intersection(union, a.geometry)], crs=dist.crs)
        touching = dist[dist.geometry.distance(a.geometry) <= opts.near_m]
        hits.append(
            {
                "area_id": a.area_id,
                "name": a.name,
                "kind": a.kind,
                "designation": a.designation,
                "iucn_cat": a.iucn_cat,
                "ha_inside": _r(_ha(inside[~inside.is_empty])),
                "distance_m": _r(d, 0),
                "polygon_ids": _ids(touching),
            }
        )
    return sorted(hits, key=lambda h: (h["distance_m"], -h["ha_inside"], h["area_id"]))


def _protected(
    p: _Period, fp: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None, opts: FlagOptions
) -> Check:
    name = "protected_area"
    if areas is None:
        return p.check(
            name, "not_assessed", "", "no protected-area, KBA or World Heritage layer was given"
        )
    dist = fp[fp["status"].isin(DISTURBED)]
    if dist.empty or areas.empty:
        return p.check(
            name, "clear", "", "no disturbed land, or no area in the layer", near_m=opts.near_m
        )
    hits = _area_hits(dist, areas, opts)
    if not hits:
        return p.check(
            name,
            "clear",
            "",
            f"no protected area, KBA or WHS within {opts.near_m / 1000:g} km",
            near_m=opts.near_m,
        )
    inside = [h for h in hits if h["ha_inside"] > 0]
    whs = [h for h in inside if h["kind"] == "world_heritage"]
    if inside:
        ha = sum(h["ha_inside"] for h in inside)
        what = ", ".join(sorted({h["name"] for h in inside}))
        msg = f"{ha:,.1f} ha disturbed inside {what}" + (
            " (World Heritage: ICMM no-go)" if whs else ""
        )
        return p.check(name, "flagged", "high", msg, near_m=opts.near_m, areas=hits)
    near = hits[0]
    msg = f"disturbed land {near['distance_m'] / 1000:,.1f} km from {near['name']} ({near['kind'].replace('_', ' ')}), within {opts.near_m / 1000:g} km"
    return p.check(name, "flagged", "medium", msg, near_m=opts.near_m, areas=hits)


def _new_rates(fp: gpd.GeoDataFrame, periods: list[_Period]) -> dict[str, float]:
    new = fp[fp["status"] == "new"].groupby("period")["area_ha"].sum()
    out = {}
    for p in periods:
        years = max((p.end - p.start).days + 1, 1) / 365.25
        out[p.period] = float(new.get(p.period, 0.0)) / years
    return out


def _expansion(
    p: _Period, rates: dict[str, float], earlier: list[_Period], opts: FlagOptions
) -> Check:
    name = "expansion_rate"
    rate = rates[p.period]
    history = [rates[q.period] for q in earlier]
    if len(history) < opts.expansion_min_history:
        return p.check(
            name,
            "not_assessed",
            "",
            f"needs {opts.expansion_min_history} earlier periods",
            ha_per_year=_r(rate),
        )
    med = float(np.median(history))
    mad = 1.4826 * float(np.median(np.abs(np.asarray(history) - med)))
    threshold = max(med + opts.expansion_k * mad, med + opts.expansion_min_excess_ha_per_year)
    ev = {
        "ha_per_year": _r(rate),
        "history_median_ha_per_year": _r(med),
        "history_scaled_mad_ha_per_year": _r(mad),
        "threshold_ha_per_year": _r(threshold),
        "k": opts.expansion_k,
        "history_periods": [q.period for q in earlier],
    }
    if rate <= threshold:
        return p.check(name, "clear", "", f"{rate:,.1f} ha/yr, within the mine's own history", **ev)
    ratio = f"{rate / med:,.1f}x the median" if med > 0 else "against a median of 0"
    msg = f"{rate:,.1f} ha/yr newly disturbed, {ratio} of earlier periods (threshold {threshold:,.1f})"
    return p.check(name, "flagged", "medium", msg, **ev)


def _data_gap(p: _Period, coverage: pd.DataFrame | None, opts: FlagOptions) -> Check:
    name = "data_gap"
    if coverage is None:
        return p.check(name, "not_assessed", "", "no clear-sky coverage figures were given")
    rows = coverage[coverage["period"].astype(str) == p.period]
    if rows.empty:
        return p.check(
            name,
            "flagged",
            "info",
            "no imagery for this period",
            min_clear_fraction=opts.min_clear_fraction,
        )
    row = rows.iloc[0]
    frac = float(row.get("clear_fraction", math.nan))
    low = bool(row.get("low_coverage", False)) or (
        not math.isnan(frac) and frac < opts.min_clear_fraction
    )
    ev = {"clear_fraction": _r(frac, 3), "min_clear_fraction": opts.min_clear_fraction}
    if "n_items" in row.index:
        ev["n_items"] = int(row["n_items"])
    if math.isnan(frac) and not low:
        return p.check(name, "not_assessed", "", "clear-sky fraction not recorded", **ev)
    if low:
        return p.check(
            name,
            "flagged",
            "info",
            f"only {frac:.0%} of the AOI clear: figures for this period are weak",
            **ev,
        )
    return p.check(name, "clear", "", f"{frac:.0%} of the AOI clear", **ev)


def run_checks(
    mine: pd.Series,
    footprint: gpd.GeoDataFrame,
    coverage: pd.DataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    options: FlagOptions | None = None,
) -> list[Check]:
    """Every check of :data:`CHECKS` for every period of one mine, in period then check order.

    ``mine`` is the registry row (``licence_geometry`` used when present); ``footprint`` follows
    docs/contracts.md (``polygon_id`` added when absent); ``coverage`` has ``period,
    period_start, period_end, clear_fraction`` (optionally ``low_coverage``, ``n_items``);
    ``areas`` is a protected-area layer (see :func:`normalize_areas`).
    """
    opts = options or FlagOptions()
    mine_id = str(mine["mine_id"])
    fp = with_polygon_ids(footprint)
    norm = normalize_areas(areas) if areas is not None else None
    periods = _periods(fp, coverage, mine_id)
    rates = _new_rates(fp, periods)
    out: list[Check] = []
    for i, p in enumerate(periods):
        pfp = fp[fp["period"].astype(str) == p.period]
        out += [
            _cleared_after_cutoff(p, pfp, opts),
            _outside_licence(p, pfp, mine, opts),
            _protected(p, pfp, norm, opts),
            _expansion(p, rates, periods[:i], opts),
            _data_gap(p, coverage, opts),
        ]
    return out


def flagged(checks: Iterable[Check]) -> list[Check]:
    """Only the checks that raised a flag."""
    return [c for c in checks if c.status == "flagged"]
