"""Impacts of many mines in parallel on Dask.

Two steps. First, serially and cheaply, every mine's disturbed outline per period is collected
(:func:`disturbed_outlines`, EPSG:4326) and each mine gets the outlines of the other mines near
enough to share halo land with it: within twice the widest halo band, since land within one band
width of mine A can be claimed by mine B only if B is within two band widths of A. Then one Dask
task per mine computes its records with those neighbours; each task sees everything that decides
its share, so the shares add up across mines without any task seeing all mines. The reference
layers and factor tables go into the graph once and are shared by every task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import dask
import geopandas as gpd
import pandas as pd
import shapely

from geomon.errors import UnknownMineError
from geomon.impacts._tables import FactorTables
from geomon.impacts._validate import validate_footprint
from geomon.impacts.core import IMPACT_COLUMNS, compute_impacts, disturbed_outlines
from geomon.impacts.params import ImpactLayers, ImpactParams

__all__ = ["compute_impacts_many", "neighbour_outlines"]


def _reach_m(tables: FactorTables) -> float:
    frame = tables["globio_infrastructure_halo"].frame
    widest = max((float(v) for v in frame["outer_m"]), default=0.0)
    return 2.0 * widest + 1_000.0


def _degrees(metres: float, lat: float) -> float:
    """A distance in degrees that covers ``metres`` in every direction at latitude ``lat``."""
    cos = max(math.cos(math.radians(min(abs(lat) + metres / 110_500.0, 89.0))), 1e-3)
    return metres / (111_320.0 * cos)


def neighbour_outlines(
    outlines: gpd.GeoDataFrame, mine_id: str, reach_m: float
) -> gpd.GeoDataFrame:
    """Outlines of the other mines whose disturbance comes within ``reach_m`` of ``mine_id``'s."""
    own = outlines[outlines["mine_id"] == mine_id]
    others = outlines[outlines["mine_id"] != mine_id]
    if own.empty or others.empty:
        return others.iloc[0:0]
    _, miny, _, maxy = own.total_bounds
    lat = (miny + maxy) / 2.0
    zone = shapely.union_all(own.geometry.to_numpy()).buffer(_degrees(reach_m, lat))
    near_ids = set(others.loc[others.intersects(zone), "mine_id"])
    return others[others["mine_id"].isin(near_ids)]


def compute_impacts_many(
    footprints: Mapping[str, gpd.GeoDataFrame],
    mines: gpd.GeoDataFrame,
    *,
    layers: ImpactLayers | None = None,
    params: ImpactParams | None = None,
    scheduler: str | None = "threads",
) -> pd.DataFrame:
    """Impact records of every mine in ``footprints`` (mine_id -> footprint), in parallel.

    ``mines`` is the registry GeoDataFrame (EPSG:4326). ``scheduler`` is any Dask scheduler name
    (``threads``, ``processes``, ``sync``) or None to use the active one (e.g. a distributed Client).
    Records come back sorted by mine and period start.
    """
    params = params or ImpactParams()
    tables = FactorTables.load(params.tables_dir)
    layers = layers or ImpactLayers()
    rows = {str(m): r for m, r in zip(mines["mine_id"], mines.to_dict("records"), strict=True)}
    missing = [m for m in footprints if m not in rows]
    if missing:
        raise UnknownMineError(f"mine '{missing[0]}' has a footprint but is not in the registry")
    outlines = _all_outlines(footprints)
    reach = _reach_m(tables)
    shared_layers = dask.delayed(layers, traverse=False)
    shared_tables = dask.delayed(tables, traverse=False)
    tasks = [
        dask.delayed(_one, pure=True, traverse=False)(
            footprints[m],
            rows[m],
            shared_layers,
            params,
            neighbour_outlines(outlines, m, reach),
            shared_tables,
            dask_key_name=f"impacts-{m}",
        )
        for m in footprints
    ]
    results = [r for r in (dask.compute(*tasks, scheduler=scheduler) if tasks else []) if len(r)]
    if not results:
        return pd.DataFrame(columns=list(IMPACT_COLUMNS))
    out = pd.concat(results, ignore_index=True)
    return out.sort_values(["mine_id", "period_start", "period"], ignore_index=True)


def _one(
    footprint: gpd.GeoDataFrame,
    mine: dict,
    layers: ImpactLayers,
    params: ImpactParams,
    neighbours: gpd.GeoDataFrame,
    tables: FactorTables,
) -> pd.DataFrame:
    return compute_impacts(
        footprint, mine, layers=layers, params=params, neighbours=neighbours, tables=tables
    )


def _all_outlines(footprints: Mapping[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frames = [
        disturbed_outlines(validate_footprint(fp, m))
        for m, fp in footprints.items()
        if not fp.empty
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return gpd.GeoDataFrame({"mine_id": [], "period": [], "kind": []}, geometry=[], crs=4326)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
