"""``geomon impacts MINE_ID --start --end --out DIR``: emissions and biodiversity records of a mine."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import click
import geopandas as gpd
import pandas as pd

from geomon.cli.options import (
    aoi_mine,
    area_options,
    as_date,
    dates_options,
    imagery_only,
    max_cloud_option,
    resolve_aoi,
    scheduler_option,
    source_option,
    zone_options,
)
from geomon.errors import ConfigError

_COVERS = ["forest", "shrubland", "grassland", "wetland", "cropland"]


@click.command()
@area_options
@zone_options
@dates_options
@source_option
@max_cloud_option
@scheduler_option
@click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year"]),
    default="year",
    show_default=True,
    help="Compositing period of the footprint.",
)
@click.option(
    "--footprint",
    "footprint_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Use a footprint written by 'geomon footprint' (GeoParquet or GeoJSON) instead of "
    "computing it from imagery.",
)
@click.option(
    "--protected-areas",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Protected areas in WDPA's column layout (default: the bundled sample, not WDPA).",
)
@click.option(
    "--kba",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Key Biodiversity Areas (NAME, polygons).",
)
@click.option(
    "--world-heritage",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="World Heritage sites (NAME, polygons).",
)
@click.option(
    "--buffer-km",
    type=float,
    multiple=True,
    help="Buffer around protected areas in km; repeat for several (default 10).",
)
@click.option(
    "--soc-ref",
    type=float,
    default=None,
    help="Reference soil organic carbon stock, t C/ha (default: soil not estimated).",
)
@click.option(
    "--unknown-vegetation",
    type=click.Choice(_COVERS),
    default=None,
    help="Cover to assume for vegetation of unknown cover (default: no factor).",
)
@click.option(
    "--area-ci",
    type=float,
    default=None,
    help="Relative half-width of the area's 95 % CI from 'geomon evaluate' (e.g. 0.04).",
)
@click.option("--seed", type=int, default=None, help="Monte Carlo seed (default fixed).")
@click.option(
    "--edge-depth-m",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Edge depth (m) for fragmentation core area (default 100; Haddad et al. 2015 use 500).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for impacts_MINE_ID.json and impacts_MINE_ID.csv.",
)
def impacts(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    ecozone: str | None,
    continent: str | None,
    start: dt.datetime,
    end: dt.datetime,
    source: str | None,
    max_cloud: float,
    scheduler: str | None,
    period: str,
    footprint_file: Path | None,
    protected_areas: Path | None,
    kba: Path | None,
    world_heritage: Path | None,
    buffer_km: tuple[float, ...],
    soc_ref: float | None,
    unknown_vegetation: str | None,
    area_ci: float | None,
    seed: int | None,
    edge_depth_m: float | None,
    out: Path,
) -> None:
    """Write the impact records of MINE_ID (or of the --aoi polygon, with --ecozone and
    --continent) per period (CO2e with its 90 % range, operational emissions, MSA·ha lost,
    protected areas, fragmentation, cut-off flag) as JSON and CSV."""
    from geomon.impacts import (
        ImpactParams,
        bundled_layers,
        check_mine,
        compute_impacts,
        load_layers,
    )
    from geomon.impacts._format import format_impacts

    first, last = as_date(start), as_date(end)
    if last < first:
        raise ConfigError(f"--end {last} is before --start {first}; swap them")
    if footprint_file is not None:  # the file's periods and area replace the imagery
        imagery_only("--footprint", "source", "max_cloud", "scheduler", "period")
    aoi = resolve_aoi(mine_id, aoi_file, registry_dir)
    row = aoi_mine(aoi, aoi_file, ecozone, continent)  # an --aoi area: not in the registry
    if row is None:
        from geomon.registry import load_registry

        row = load_registry(registry_dir).mine(aoi.name).to_dict()
    name = aoi.name
    extra: dict[str, Any] = {}
    if buffer_km:
        extra["pa_buffers_m"] = tuple(b * 1000.0 for b in buffer_km)
    if seed is not None:
        extra["seed"] = seed
    if edge_depth_m is not None:
        extra["edge_depth_m"] = edge_depth_m
    params = ImpactParams(
        soc_ref_t_c_per_ha=soc_ref,
        unknown_vegetation_cover=unknown_vegetation,
        area_ci95_rel=area_ci,
        **extra,
    )
    check_mine(row, params)  # ecozone and continent before any imagery is read
    layers = (
        load_layers(protected_areas, kba, world_heritage)
        if protected_areas or kba or world_heritage
        else bundled_layers(registry_dir)
    )
    if footprint_file is not None:
        footprint = _read_footprint(footprint_file, name)
    else:
        footprint = _footprint_from_imagery(aoi, first, last, source, scheduler, period, max_cloud)
    records = compute_impacts(footprint, row, layers=layers, params=params)
    records = _within(records, first, last)
    json_path, csv_path = write_impacts(records, out, name, params.to_json())
    click.echo(format_impacts(records))
    click.echo(f"wrote {json_path} and {csv_path}")


def _read_footprint(path: Path, mine_id: str) -> gpd.GeoDataFrame:
    if not path.exists():
        raise ConfigError(f"footprint file {path} not found; write one with 'geomon footprint'")
    frame = (
        gpd.read_parquet(path)
        if path.suffix in (".parquet", ".geoparquet")
        else gpd.read_file(path)
    )
    if "mine_id" in frame.columns:
        frame = frame[frame["mine_id"].astype(str) == mine_id]
    return frame


def _footprint_from_imagery(
    aoi: Any,
    start: dt.date,
    end: dt.date,
    source: str | None,
    scheduler: str | None,
    period: str,
    max_cloud: float = 80.0,
) -> gpd.GeoDataFrame:
    """Imagery -> composites -> classes -> footprint (geomon.footprint.run), default options."""
    from geomon.footprint.run import RunOptions, run_footprint
    from geomon.imagery import open_source
    from geomon.scheduler import dask_client

    with dask_client(scheduler):
        run = run_footprint(
            aoi,
            start,
            end,
            open_source(source),
            RunOptions(period=period, max_cloud=max_cloud),
            progress=True,
        )
    return run.footprint


def _within(records: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Records of periods that overlap [first, last]."""
    if records.empty:
        return records
    keep = (records["period_end"] >= first.isoformat()) & (
        records["period_start"] <= last.isoformat()
    )
    return records[keep].reset_index(drop=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def write_impacts(
    records: pd.DataFrame, out: Path, mine_id: str, params_json: str
) -> tuple[Path, Path]:
    """``impacts_MINE_ID.json`` (records, NaN as null, the parameters and factor tables) and
    ``impacts_MINE_ID.csv``, each written atomically."""
    from geomon.impacts import FactorTables

    out.mkdir(parents=True, exist_ok=True)
    tables = FactorTables.load(json.loads(params_json).get("tables_dir"))
    doc = {
        "mine_id": mine_id,
        "params": json.loads(params_json),
        "factor_tables": [
            {"name": t.name, "version": t.version, "source": t.source}
            for t in sorted(tables.tables.values(), key=lambda t: t.name)
        ],
        "records": [
            {k: _jsonable(v) for k, v in row.items()} for row in records.to_dict("records")
        ],
    }
    json_path, csv_path = out / f"impacts_{mine_id}.json", out / f"impacts_{mine_id}.csv"
    _atomic_write(json_path, json.dumps(doc, indent=2, sort_keys=False) + "\n")
    _atomic_write(csv_path, records.to_csv(index=False))
    return json_path, csv_path


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
