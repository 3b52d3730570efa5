"""``geomon report site MINE_ID`` and ``geomon report company NAME``: reports over a window."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
    from geomon.scheduler import dask_client

    aoi = resolve_aoi(mine_id, aoi_file, registry_dir)
    row = aoi_mine(aoi, aoi_file, ecozone, continent)
    name = aoi.name
    with _registry_with(row, registry_dir) as registry:
        pipeline = _pipeline("site", start, end, source, period, baseline, registry, ids=[name])
        with dask_client(scheduler):
            outputs = run_pipeline(pipeline, name, None, out, echo=click.echo)  # type: ignore[arg-type]
    for kind, path in sorted(outputs.sites[name].items()):
        click.echo(f"{kind:<20} {path}")


@contextmanager
def _registry_with(row: dict[str, Any] | None, registry_dir: Path | None) -> Iterator[Path | None]:
    """``registry_dir`` itself, or for an ``--aoi`` area a temporary copy of it (reference layers
    included) holding one more mine: the area, with its ecozone and continent and no owners."""
    if row is None:
        yield registry_dir
        return
    import geopandas as gpd
    import pandas as pd

    from geomon.registry import Registry, bundled_registry_dir, load_registry, save_registry

    src = Path(registry_dir) if registry_dir is not None else bundled_registry_dir()
    registry = load_registry(src)
    if row["mine_id"] in registry.ids:
        raise ConfigError(
            f"--aoi file name '{row['mine_id']}' is also a mine id in the registry; rename "
            "the file, or pass the mine id instead of --aoi"
        )
    derived = [c for c in ("licence_geometry",) if c in registry.mines.columns]  # from layers
    new = gpd.GeoDataFrame([row], geometry="geometry", crs=4326)
    mines = pd.concat([registry.mines.drop(columns=derived), new], ignore_index=True)
    with tempfile.TemporaryDirectory(prefix="geomon-aoi-registry-") as tmp:
        target = save_registry(
            Registry(gpd.GeoDataFrame(mines, geometry="geometry", crs=4326), registry.ownership),
            Path(tmp) / "registry",
        )
        for path in src.iterdir():  # reference layers: ecozones, licences, protected areas
            if path.is_file() and not path.name.startswith(("mines.", "ownership.")):
                shutil.copy2(path, target / path.name)
        eco = target / "ecozones.csv"
        if eco.exists():  # it overrides the mines' own ecozone columns: add the area to it
            table = pd.read_csv(eco, dtype=str)
            keys = ("mine_id", "ecozone", "continent", "source")
            extra = pd.DataFrame([{k: row[k] for k in keys}])
            pd.concat([table, extra], ignore_index=True).to_csv(eco, index=False)
        yield target


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
