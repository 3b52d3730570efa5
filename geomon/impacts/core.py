"""The impact records of one mine: carbon, operational emissions, MSA, protected areas,
fragmentation and the cut-off flag, one record per footprint period."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from pyproj import CRS, Proj
from shapely.geometry.base import BaseGeometry

from geomon._version import __version__
from geomon.impacts import biodiversity, carbon, operational
from geomon.impacts._covers import resolve_covers
from geomon.impacts._geo import GrowCache, local_crs, to_crs, union
from geomon.impacts._periods import Period, first_seen_bounds, periods_of
from geomon.impacts._tables import FactorTables
from geomon.impacts._validate import validate_footprint, validate_mine
from geomon.impacts.fragmentation import fragmentation
from geomon.impacts.params import ImpactLayers, ImpactParams
from geomon.impacts.protected import SPECS, layer_columns

__all__ = ["IMPACT_COLUMNS", "check_mine", "compute_impacts", "disturbed_outlines"]

#: Columns of an impact record, in order (docs/contracts.md "Impacts", refined).
IMPACT_COLUMNS: tuple[str, ...] = (
    "mine_id",
    "period",
    "period_start",
    "period_end",
    "ha_disturbed",
    "ha_new",
    "ha_rehabilitated",
    "co2e_t_mean",
    "co2e_t_low",
    "co2e_t_high",
    "co2e_biomass_t_mean",
    "co2e_biomass_t_low",
    "co2e_biomass_t_high",
    "co2e_soil_t_mean",
    "co2e_soil_t_low",
    "co2e_soil_t_high",
    "co2e_complete",
    "ha_no_carbon_factor",
    "op_co2e_t",
    "op_factor_t_co2_per_t_ore",
    "op_factor_source",
    "msa_ha_lost",
    "msa_ha_lost_footprint",
    "msa_ha_lost_halo",
    "ha_no_msa_factor",
    "halo_biome",
    "ha_in_protected",
    "ha_in_protected_by_iucn",
    "protected_areas_hit",
    "distance_to_nearest_pa_m",
    "ha_within_buffer",
    "ha_within_buffer_m",
    "ha_within_buffers",
    "ha_in_kba",
    "kba_hit",
    "distance_to_nearest_kba_m",
    "ha_in_world_heritage",
    "world_heritage_hit",
    "distance_to_nearest_world_heritage_m",
    "ha_natural_cleared_after_cutoff",
    "edge_density_before",
    "edge_density_after",
    "core_area_ha_before",
    "core_area_ha_after",
    "edge_depth_m",
    "factor_tables",
    "notes",
    "impact_params",
    "geomon_version",
)

_DISTURBED = ("new", "persisting")


@dataclass(frozen=True, eq=False)
class _Mine:
    """One mine's inputs, prepared once for all its periods.

    Geometry work happens in ``src``: the footprint's own (conformal, e.g. UTM) CRS, where the
    polygons of different periods share exact pixel-corner coordinates so their unions have no
    zero-width cracks; ``scale`` is that projection's scale factor at the mine, used to turn its
    planar lengths and areas into true ones. Unions move to ``local`` (azimuthal equidistant on
    the mine) for buffers and distances.
    """

    mine: Mapping[str, Any]
    rows: gpd.GeoDataFrame  # footprint in ``src`` with covers, first-seen dates, ``at_baseline``
    src: CRS
    scale: float
    local: CRS
    window: BaseGeometry  # the mine AOI in ``src``
    tables: FactorTables
    params: ImpactParams
    layers: ImpactLayers
    carbon: carbon.CarbonModel
    halo_biome: str
    neighbours: gpd.GeoDataFrame | None
    non_natural_before: BaseGeometry  # in ``src``
    cache: GrowCache

    def to_local(self, geoms: Any) -> BaseGeometry:
        """Union of ``geoms`` (in ``src``), moved to the local CRS."""
        return to_crs(union(geoms), self.src, self.local)


def _at_baseline(frame: pd.DataFrame) -> pd.Series:
    """Rows of land already disturbed at baseline: bare_disturbed then, or not new and first seen
    in the footprint's first period (the baseline). Needs ``first_seen_start``."""
    first = pd.to_datetime(frame["period_start"]).min()
    early = pd.to_datetime(frame["first_seen_start"]) <= first
    return (frame["baseline_class"] == "bare_disturbed") | ((frame["status"] != "new") & early)


def _baseline_footprint(frame: pd.DataFrame) -> pd.DataFrame:
    """The baseline period's own disturbed rows (at baseline): the same for every later period.
    Taking each period's rows first seen at baseline instead made the baseline grow as small
    fragments, dropped by the mapping unit earlier, joined later patches (on the demo's salar its
    0-300 m halo ring grew from 453 to 647 ha in a year, turning the halo part negative)."""
    start = pd.to_datetime(frame["period_start"])
    return frame[(start == start.min()) & _at_baseline(frame)]


def disturbed_outlines(footprint: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Per (mine, period): the disturbed outline (``kind`` = ``now``: new and persisting land) and
    the part already disturbed at baseline (``kind`` = ``base``), EPSG:4326. What neighbouring mines
    need of each other for the halo."""
    fp = footprint[footprint["status"].isin(_DISTURBED)]
    fp = fp.join(first_seen_bounds(fp)) if len(fp) else fp
    parts = []
    if len(fp):
        parts.append(
            fp.dissolve(by=["mine_id", "period"])
            .reset_index()[["mine_id", "period", "geometry"]]
            .assign(kind="now")
        )
        base = _baseline_footprint(fp)
        if len(base):
            outline = base.dissolve(by="mine_id").reset_index()[["mine_id", "geometry"]]
            periods = fp[["mine_id", "period"]].drop_duplicates()
            every = periods.merge(outline, on="mine_id")
            parts.append(
                gpd.GeoDataFrame(every, geometry="geometry", crs=fp.crs).assign(kind="base")
            )
    if not parts:
        return gpd.GeoDataFrame(
            {"mine_id": [], "period": [], "kind": []}, geometry=[], crs=footprint.crs
        ).to_crs(4326)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=footprint.crs).to_crs(4326)


def _working_crs(crs: Any, lon: float, lat: float, local: CRS) -> tuple[CRS, float]:
    """The footprint's CRS and its scale factor when it is projected and conformal at the mine,
    else the local CRS (scale 1)."""
    crs = CRS.from_user_input(crs)
    if crs.is_projected:
        factors = Proj(crs).get_factors(lon, lat)
        if abs(factors.meridional_scale - factors.parallel_scale) < 1e-6:
            return crs, float(factors.meridional_scale)
    return local, 1.0


def _prepare(
    footprint: gpd.GeoDataFrame,
    mine: Mapping[str, Any],
    layers: ImpactLayers,
    params: ImpactParams,
    neighbours: gpd.GeoDataFrame | None,
    tables: FactorTables,
) -> _Mine:
    ecozone, continent = validate_mine(mine, tables.ecozones())
    fp = validate_footprint(footprint, str(mine["mine_id"]))
    centre = mine["geometry"].centroid
    local = local_crs(centre.x, centre.y)
    src, scale = _working_crs(fp.crs, centre.x, centre.y, local)
    rows = resolve_covers(fp, tables, params).to_crs(src)
    rows = rows.join(first_seen_bounds(rows))
    rows["at_baseline"] = _at_baseline(rows) if len(rows) else pd.Series(dtype=bool)
    soc = mine.get("soc_ref_t_c_per_ha")
    soc_value = None if soc is None or (isinstance(soc, float) and math.isnan(soc)) else float(soc)
    model = carbon.build_carbon_model(tables, ecozone, continent, params, soc_value)
    before = union(rows.loc[~rows["natural_land"] | rows["at_baseline"], "geometry"])
    return _Mine(
        mine=mine,
        rows=rows,
        src=src,
        scale=scale,
        local=local,
        window=to_crs(mine["geometry"], 4326, src),
        tables=tables,
        params=params,
        layers=layers,
        carbon=model,
        halo_biome=biodiversity.choose_halo_biome(rows, ecozone, tables, params),
        neighbours=None if neighbours is None else neighbours.to_crs(local),
        non_natural_before=before,
        cache=GrowCache(),
    )


def _neighbour_geoms(ctx: _Mine, period: str, kind: str) -> list[BaseGeometry]:
    if ctx.neighbours is None or ctx.neighbours.empty:
        return []
    nb = ctx.neighbours
    hit = nb[(nb["period"].astype(str) == period) & (nb["kind"] == kind)]
    return [g for g in hit.geometry if g is not None and not g.is_empty]


def _halo(ctx: _Mine, rows: pd.DataFrame, period: Period) -> tuple[float, str]:
    """MSA·ha lost in the halo of this period's disturbance, and its note."""
    if not ctx.params.halo:
        return 0.0, "halo: not counted (ImpactParams.halo is False)"
    bands = ctx.tables.halo_bands(ctx.halo_biome)
    if not bands:
        return math.nan, f"halo: no factor (no GLOBIO bands for biome {ctx.halo_biome})"
    now = rows[rows["status"].isin(_DISTURBED)]
    disturbed = ctx.rows[ctx.rows["status"].isin(_DISTURBED)]
    base = _baseline_footprint(disturbed) if len(disturbed) else disturbed
    halo = biodiversity.halo_loss(
        ctx.to_local(now.geometry),
        _neighbour_geoms(ctx, period.label, "now"),
        ctx.to_local(base.geometry),
        _neighbour_geoms(ctx, period.label, "base"),
        bands,
        ctx.params.halo_background_msa,
        ctx.cache,
    )
    note = (
        f"halo: GLOBIO {ctx.halo_biome} bands to {bands[-1][1]:g} m, background MSA "
        f"{ctx.params.halo_background_msa:g}, water inside the rings not excluded (upper bound)"
    )
    return halo, note


def _biodiversity(ctx: _Mine, rows: pd.DataFrame, period: Period) -> tuple[dict, list[str]]:
    lost, no_factor, notes = biodiversity.footprint_msa(rows, ctx.tables, ctx.params)
    halo, note = _halo(ctx, rows, period)
    notes.append(note)
    if halo < 0:
        notes.append(
            "halo part negative: new disturbance filled land already in the baseline halo, whose "
            "loss now counts in the footprint part at its pre-halo MSA (the total is right)"
        )
    return {
        "msa_ha_lost": lost + halo,
        "msa_ha_lost_footprint": lost,
        "msa_ha_lost_halo": halo,
        "ha_no_msa_factor": no_factor,
        "halo_biome": ctx.halo_biome if ctx.params.halo else "",
    }, notes


def _protected(ctx: _Mine, rows: pd.DataFrame) -> tuple[dict, list[str]]:
    disturbed = ctx.to_local(rows.loc[rows["status"].isin(_DISTURBED), "geometry"])
    out: dict = {}
    notes: list[str] = []
    for spec in SPECS:
        cols, more = layer_columns(
            spec,
            getattr(ctx.layers, spec.kind),
            disturbed,
            ctx.local,
            ctx.params,
        )
        out.update(cols)
        notes.extend(more)
    return out, notes


def _fragmentation(ctx: _Mine, rows: pd.DataFrame) -> dict:
    """Before (baseline) and after (end of period), computed in ``src`` and scaled to true size."""
    depth, k = ctx.params.edge_depth_m, ctx.scale
    before = fragmentation(ctx.window, ctx.non_natural_before, depth * k)
    after = fragmentation(ctx.window, union([ctx.non_natural_before, *rows.geometry]), depth * k)
    return {
        "edge_density_before": before.edge_density_m_per_ha * k,
        "edge_density_after": after.edge_density_m_per_ha * k,
        "core_area_ha_before": before.core_area_ha / k**2,
        "core_area_ha_after": after.core_area_ha / k**2,
        "edge_depth_m": depth,
    }


def _cutoff(ctx: _Mine, rows: pd.DataFrame) -> tuple[dict, list[str]]:
    cutoff = pd.Timestamp(ctx.params.cutoff_date)
    natural = rows[rows["natural_vegetation"]]
    after = natural[pd.to_datetime(natural["first_seen_end"]) > cutoff]
    notes = []
    straddle = after[pd.to_datetime(after["first_seen_start"]) <= cutoff]
    if not straddle.empty:
        notes.append(
            f"cut-off: {straddle['area_ha'].sum():.1f} ha first seen in a period spanning "
            f"{ctx.params.cutoff_date.isoformat()}, counted as after it"
        )
    unknown = after[after["cover_key"] == "vegetation_unknown"]
    if not unknown.empty:
        notes.append(
            f"cut-off: includes {unknown['area_ha'].sum():.1f} ha of vegetation of unknown cover"
        )
    return {"ha_natural_cleared_after_cutoff": float(after["area_ha"].sum())}, notes


def _record(ctx: _Mine, period: Period) -> dict[str, Any]:
    rows = ctx.rows[ctx.rows["period"].astype(str) == period.label]
    record: dict[str, Any] = {
        "mine_id": str(ctx.mine["mine_id"]),
        "period": period.label,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "ha_disturbed": float(rows.loc[rows["status"].isin(_DISTURBED), "area_ha"].sum()),
        "ha_new": float(rows.loc[rows["status"] == "new", "area_ha"].sum()),
        "ha_rehabilitated": float(rows.loc[rows["status"] == "rehabilitated", "area_ha"].sum()),
    }
    notes: list[str] = []
    for part, more in (
        carbon.carbon_columns(rows, period, ctx.carbon),
        operational.operational_columns(ctx.mine, period.years, ctx.tables),
        _biodiversity(ctx, rows, period),
        _protected(ctx, rows),
        _cutoff(ctx, rows),
    ):
        record.update(part)
        notes.extend(more)
    record.update(_fragmentation(ctx, rows))
    record["factor_tables"] = ctx.tables.labels(_tables_used(ctx))
    record["notes"] = "; ".join(dict.fromkeys(notes))
    record["impact_params"] = ctx.params.to_json()
    record["geomon_version"] = __version__
    return record


def _tables_used(ctx: _Mine) -> list[str]:
    used = [
        *carbon.CARBON_TABLES,
        *operational.OPERATIONAL_TABLES,
        *biodiversity.MSA_TABLES,
        "ecozone_halo_biome",
    ]
    if ctx.params.halo:
        used.append("globio_infrastructure_halo")
    return used


def check_mine(
    mine: Mapping[str, Any],
    params: ImpactParams | None = None,
    tables: FactorTables | None = None,
) -> tuple[str, str]:
    """Check, before any imagery is read, that ``mine`` can get impacts: its ecozone and continent
    are known to the factor tables and it has an AOI. Returns (ecozone, continent); raises
    :class:`~geomon.errors.MissingEcozoneError` or :class:`~geomon.errors.ReferenceLayerError`
    with the fix (the same checks :func:`compute_impacts` makes, without the cost of a footprint)."""
    params = params or ImpactParams()
    tables = tables or FactorTables.load(params.tables_dir)
    return validate_mine(mine, tables.ecozones())


def compute_impacts(
    footprint: gpd.GeoDataFrame,
    mine: Mapping[str, Any],
    *,
    layers: ImpactLayers | None = None,
    params: ImpactParams | None = None,
    neighbours: gpd.GeoDataFrame | None = None,
    tables: FactorTables | None = None,
) -> pd.DataFrame:
    """Impact records of one mine, one row per footprint period (columns :data:`IMPACT_COLUMNS`).

    ``footprint`` follows docs/contracts.md; ``mine`` is its registry row (AOI geometry in
    EPSG:4326, ``ecozone``, ``continent``, ``country``, ``commodities``, optional
    ``ore_mt_per_year`` and ``soc_ref_t_c_per_ha``). ``neighbours`` are other mines' outlines from
    :func:`disturbed_outlines`, so halo rings shared with them are split, not double counted.
    """
    params = params or ImpactParams()
    tables = tables or FactorTables.load(params.tables_dir)
    ctx = _prepare(footprint, mine, layers or ImpactLayers(), params, neighbours, tables)
    records = [_record(ctx, p) for p in periods_of(ctx.rows)]
    return pd.DataFrame.from_records(records, columns=list(IMPACT_COLUMNS))
