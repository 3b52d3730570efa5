"""``geomon report site MINE_ID`` and ``geomon report company NAME``: reports over a window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from geomon.cli.options import as_date, dates_options, scheduler_option, source_option
from geomon.cli.registry import registry_option

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
@click.argument("mine_id")
@dates_options
@source_option
@_period
@_baseline
@registry_option
@scheduler_option
@_out
def site(
    mine_id: str,
    start: dt.datetime,
    end: dt.datetime,
    source: str | None,
    period: str,
    baseline: str | None,
    registry_dir: Path | None,
    scheduler: str | None,
    out: Path,
) -> None:
    """Write the site report of MINE_ID over --start..--end into --out."""
    from geomon.pipeline import run_pipeline
    from geomon.scheduler import dask_client

    pipeline = _pipeline("site", start, end, source, period, baseline, registry_dir, ids=[mine_id])
    with dask_client(scheduler):
        outputs = run_pipeline(pipeline, mine_id, None, out, echo=click.echo)  # type: ignore[arg-type]
    for kind, path in sorted(outputs.sites[mine_id].items()):
        click.echo(f"{kind:<20} {path}")


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
