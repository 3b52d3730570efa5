"""``geomon report site MINE_ID`` and ``geomon report company NAME``: reports over a window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from geomon.cli.options import (
    aoi_mine,
    area_options,
    as_date,
    dates_options,
    resolve_aoi,
    scheduler_option,
    source_option,
    zone_options,
)
from geomon.cli.registry import registry_option
from geomon.errors import ConfigError

_out = click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the HTML, PDF, JSON and footprint files.",
)
_period = click.option(
    "--period",
    type=click.Choice(["year", "quarter", "month"]),
    default="year",
    show_default=True,
    help="Compositing period.",
)
_baseline = click.option(
    "--baseline", default=None, help="Baseline period label or date (default: the first period)."
)


def _pipeline(
    kind: str,
    start: dt.datetime,
    end: dt.datetime,
    source: str | None,
    period: str,
    baseline: str | None,
    registry_dir: Path | None,
    **mines: object,
) -> object:
    from geomon.pipeline import parse_pipeline

    data = {
        "name": f"report {kind}",
        "source": source or "demo",
        "registry": str(registry_dir) if registry_dir else None,
        "mines": {k: v for k, v in mines.items() if v},
        "periods": {"start": as_date(start), "end": as_date(end), "period": period},
        "baseline": baseline,
    }
    return parse_pipeline(data, "command line")


@click.group()
def report() -> None:
    """Site and company reports (HTML, PDF, JSON, GeoJSON, GeoParquet)."""


@report.command("site")
@area_options
@zone_options
@dates_options
@source_option
@_period
@_baseline
@scheduler_option
@_out
def site(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    ecozone: str | None,
    continent: str | None,
    start: dt.datetime,
    end: dt.datetime,
    source: str | None,
    period: str,
    baseline: str | None,
    scheduler: str | None,
    out: Path,
) -> None:
    """Write the site report of MINE_ID (or of the --aoi polygon, with --ecozone and
    --continent; it has no owners) over --start..--end into --out."""
    from geomon.pipeline import run_pipeline
    from geomon.registry import load_registry
    from geomon.scheduler import dask_client

    aoi = resolve_aoi(mine_id, aoi_file, registry_dir)
    row = aoi_mine(aoi, aoi_file, ecozone, continent)
    name = aoi.name
    registry = load_registry(registry_dir)
    if row is not None:
        registry = _with_area(registry, row)
    pipeline = _pipeline("site", start, end, source, period, baseline, registry_dir, ids=[name])
    with dask_client(scheduler):
        outputs = run_pipeline(
            pipeline,  # type: ignore[arg-type]
            name,
            None,
            out,
            echo=click.echo,
            registry=registry,
        )
    for kind, path in sorted(outputs.sites[name].items()):
        click.echo(f"{kind:<20} {path}")


def _with_area(registry: Any, row: dict[str, Any]) -> Any:
    """``registry`` with one more mine, in memory: the ``--aoi`` area, with its ecozone and
    continent and no owners (reference layers still come from the registry folder)."""
    import geopandas as gpd
    import pandas as pd

    from geomon.registry import Registry

    if row["mine_id"] in registry.ids:
        raise ConfigError(
            f"--aoi file name '{row['mine_id']}' is also a mine id in the registry; rename "
            "the file, or pass the mine id instead of --aoi"
        )
    new = gpd.GeoDataFrame([row], geometry="geometry", crs=4326)
    mines = pd.concat([registry.mines, new], ignore_index=True)
    return Registry(gpd.GeoDataFrame(mines, geometry="geometry", crs=4326), registry.ownership)


@report.command("company")
@click.argument("name")
@dates_options
@source_option
@_period
@_baseline
@registry_option
@scheduler_option
@_out
@click.option("--no-site-reports", is_flag=True, help="Write only the company report.")
def company(
    name: str,
    start: dt.datetime,
    end: dt.datetime,
    source: str | None,
    period: str,
    baseline: str | None,
    registry_dir: Path | None,
    scheduler: str | None,
    out: Path,
    no_site_reports: bool,
) -> None:
    """Write the company report of NAME (and a site report per mine it holds) into --out."""
    from geomon.pipeline import parse_pipeline, run_pipeline
    from geomon.scheduler import dask_client

    base = _pipeline("company", start, end, source, period, baseline, registry_dir, owner=name)
    data = base.model_dump(mode="json")  # type: ignore[attr-defined]
    data["outputs"] = {"companies": [name], "site_reports": not no_site_reports}
    pipeline = parse_pipeline(data, "command line")
    with dask_client(scheduler):
        outputs = run_pipeline(pipeline, None, None, out, echo=click.echo)
    for kind, path in sorted(outputs.companies[name].items()):
        click.echo(f"{kind:<20} {path}")
