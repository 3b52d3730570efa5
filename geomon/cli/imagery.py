"""``geomon imagery``: see what a source holds over a mine, and write composites."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from geomon.cli.options import (
    area_options,
    as_date,
    dates_options,
    max_cloud_option,
    resolve_aoi,
    scheduler_option,
    source_option,
)

if TYPE_CHECKING:
    from geomon.imagery import LoadOptions, Query

_mask = click.option(
    "--mask",
    type=click.Choice(["auto", "scl", "qa_pixel", "spectral", "none"]),
    default="auto",
    show_default=True,
    help="Cloud mask: the provider's (SCL, QA_PIXEL) when present, else the spectral fallback.",
)
_bands = click.option("--bands", default=None, help="Comma-separated bands (default: all).")
_resolution = click.option(
    "--resolution", type=float, default=None, help="Pixel size in metres (default: native)."
)


@click.group()
def imagery() -> None:
    """Satellite imagery over mines: Sentinel-2 and Landsat from STAC, Earth Engine or files."""


def _query(kw: dict[str, Any]) -> Query:
    from geomon.imagery import Query

    aoi = resolve_aoi(kw["mine_id"], kw["aoi_file"], kw["registry_dir"])
    return Query(aoi, as_date(kw["start"]), as_date(kw["end"]), max_cloud=kw["max_cloud"])


def _options(kw: dict[str, Any]) -> LoadOptions:
    from geomon.imagery import LoadOptions, MaskOptions

    bands = tuple(b.strip() for b in kw["bands"].split(",")) if kw["bands"] else None
    mask = MaskOptions(method=kw["mask"])
    return LoadOptions(bands=bands, resolution=kw["resolution"], mask=mask)


@imagery.command()
@area_options
@dates_options
@source_option
@max_cloud_option
@_mask
@_bands
@_resolution
def show(**kw: Any) -> None:
    """Print what would be read: items, dates, bands and cloud cover."""
    from geomon.imagery import open_source, plan
    from geomon.imagery._report import format_plan

    click.echo(format_plan(plan(open_source(kw["source"]), _query(kw), _options(kw))))


@imagery.command("composite")
@area_options
@dates_options
@source_option
@scheduler_option
@max_cloud_option
@_mask
@_bands
@_resolution
@click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year"]),
    default="quarter",
    show_default=True,
    help="Compositing period.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the COGs and composites.json.",
)
def composite_cmd(**kw: Any) -> None:
    """Write per-period median composites of clear observations as COGs, with a progress bar."""
    from geomon.imagery import CompositeOptions, load_composite, open_source
    from geomon.imagery._write import write_composites
    from geomon.scheduler import dask_client

    source = open_source(kw["source"])
    comp = load_composite(source, _query(kw), _options(kw), CompositeOptions(kw["period"]))
    with dask_client(kw["scheduler"]):
        manifest = write_composites(comp, kw["out"], progress=True)
    low = [
        str(p) for p, f in zip(comp["period"].values, comp["low_coverage"].values, strict=True) if f
    ]
    click.echo(
        f"wrote {comp.sizes['time']} {kw['period']} composites to {kw['out']} ({manifest.name})"
    )
    if low:
        click.echo(f"low clear coverage: {', '.join(low)}")
