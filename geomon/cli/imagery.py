"""``geomon imagery``: see what a source holds over a mine, and write composites."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from geomon.cli.options import (
    area_options,
    as_date,
    dates_options,
    resolve_aoi,
    scheduler_option,
    source_option,
)

if TYPE_CHECKING:
    from geomon.imagery import Query

_max_cloud = click.option(
    "--max-cloud",
    type=click.FloatRange(0, 100),
    default=80.0,
    show_default=True,
    help="Skip scenes cloudier than this (percent).",
)


@click.group()
def imagery() -> None:
    """Satellite imagery over mines: Sentinel-2 and Landsat from STAC, Earth Engine or files."""


def _query(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    start: dt.datetime,
    end: dt.datetime,
    max_cloud: float,
) -> Query:
    from geomon.imagery import Query

    aoi = resolve_aoi(mine_id, aoi_file, registry_dir)
    return Query(aoi, as_date(start), as_date(end), max_cloud=max_cloud)


@imagery.command()
@area_options
@dates_options
@source_option
@_max_cloud
def show(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    start: dt.datetime,
    end: dt.datetime,
    source: str | None,
    max_cloud: float,
) -> None:
    """Print what would be read: items, dates, bands and cloud cover."""
    from geomon.imagery import open_source, plan
    from geomon.imagery._report import format_plan

    query = _query(mine_id, aoi_file, registry_dir, start, end, max_cloud)
    click.echo(format_plan(plan(open_source(source), query)))


@imagery.command("composite")
@area_options
@dates_options
@source_option
@scheduler_option
@_max_cloud
@click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year"]),
    default="quarter",
    show_default=True,
    help="Compositing period.",
)
@click.option("--bands", default=None, help="Comma-separated bands (default: all the source has).")
@click.option(
    "--resolution", type=float, default=None, help="Pixel size in metres (default: native)."
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the COGs and composites.json.",
)
def composite_cmd(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    start: dt.datetime,
    end: dt.datetime,
    source: str | None,
    scheduler: str | None,
    max_cloud: float,
    period: str,
    bands: str | None,
    resolution: float | None,
    out: Path,
) -> None:
    """Write per-period median composites of clear observations as COGs, with a progress bar."""
    from geomon.imagery import CompositeOptions, LoadOptions, load_composite, open_source
    from geomon.imagery._write import write_composites
    from geomon.scheduler import dask_client

    query = _query(mine_id, aoi_file, registry_dir, start, end, max_cloud)
    chosen = tuple(b.strip() for b in bands.split(",")) if bands else None
    options = LoadOptions(bands=chosen, resolution=resolution)
    comp = load_composite(open_source(source), query, options, CompositeOptions(period))  # type: ignore[arg-type]  # click.Choice checked it
    with dask_client(scheduler):
        manifest = write_composites(comp, out, progress=True)
    flagged = [
        p for p, low in zip(comp["period"].values, comp["low_coverage"].values, strict=True) if low
    ]
    click.echo(f"wrote {comp.sizes['time']} {period} composites to {out} ({manifest.name})")
    if flagged:
        click.echo(f"low clear coverage: {', '.join(map(str, flagged))}")
