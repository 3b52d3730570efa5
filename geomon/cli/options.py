"""Click options shared by every command that reads imagery: one syntax everywhere.

``--source`` (``demo | earth-search | planetary-computer | earthengine | stac:PATH_OR_URL |
files:DIR[:PATTERN]``), ``--scheduler``, ``MINE_ID`` or ``--aoi FILE``, ``--start``/``--end``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from geomon.cli.registry import registry_option
from geomon.errors import ConfigError

__all__ = [
    "aoi_mine",
    "area_options",
    "dates_options",
    "imagery_only",
    "max_cloud_option",
    "registry_option",
    "repair_aoi_option",
    "resolve_aoi",
    "scheduler_option",
    "source_option",
    "zone_options",
]

F = TypeVar("F", bound=Callable[..., Any])

_SOURCE_HELP = (
    "Imagery source: demo | earth-search | planetary-computer | earthengine | "
    "stac:PATH_OR_URL | files:DIR[:PATTERN] (env GEOMON_SOURCE; default demo)."
)

source_option = click.option(
    "--source", "source", default=None, envvar="GEOMON_SOURCE", metavar="SOURCE", help=_SOURCE_HELP
)

scheduler_option = click.option(
    "--scheduler",
    "scheduler",
    default=None,
    metavar="ADDRESS",
    help="Where Dask runs: threads (default), local (a process cluster), or a scheduler address "
    "such as tcp://host:8786 (env GEOMON_SCHEDULER).",
)

max_cloud_option = click.option(
    "--max-cloud",
    "max_cloud",
    type=click.FloatRange(0, 100),
    default=80.0,
    show_default=True,
    help="Skip scenes cloudier than this (percent).",
)

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def imagery_only(instead: str, *names: str) -> None:
    """Refuse the imagery options ``names`` (parameter names) given on the command line when
    ``instead`` (an option such as ``--demo-seeds`` or ``--footprint``) replaces the imagery
    they would shape: a silently ignored option would mislead."""
    ctx = click.get_current_context()
    given = [
        name
        for name in names
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    ]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise ConfigError(f"{flag} applies to imagery sources, not {instead}; leave it out")


def dates_options(func: F) -> F:
    """``--start`` and ``--end`` (YYYY-MM-DD, inclusive), passed as ``start``/``end`` datetimes."""
    func = click.option("--end", type=_DATE, required=True, help="Last day, YYYY-MM-DD.")(func)
    return click.option("--start", type=_DATE, required=True, help="First day, YYYY-MM-DD.")(func)


_REPAIR_KEY = "geomon.repair_aoi"


def _remember_repair(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    ctx.meta[_REPAIR_KEY] = value
    return value


repair_aoi_option = click.option(
    "--repair-aoi",
    is_flag=True,
    expose_value=False,
    callback=_remember_repair,
    help="Repair an invalid --aoi polygon (e.g. self-intersecting) instead of failing.",
)


def area_options(func: F) -> F:
    """An optional ``MINE_ID`` argument, ``--aoi FILE`` (with ``--repair-aoi``) and
    ``--registry``; use :func:`resolve_aoi`."""
    func = registry_option(func)
    func = repair_aoi_option(func)
    func = click.option(
        "--aoi",
        "aoi_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="A GeoJSON or GeoPackage polygon to use instead of MINE_ID.",
    )(func)
    return click.argument("mine_id", required=False)(func)


def resolve_aoi(mine_id: str | None, aoi_file: Path | None, registry_dir: Path | None) -> Any:
    """The :class:`geomon.imagery.Aoi` named by exactly one of ``MINE_ID`` and ``--aoi``."""
    from geomon.imagery import Aoi

    if (mine_id is None) == (aoi_file is None):
        raise ConfigError("give either a MINE_ID or --aoi FILE (not both, not neither)")
    if aoi_file is not None:
        ctx = click.get_current_context(silent=True)
        repair = bool(ctx.meta.get(_REPAIR_KEY, False)) if ctx is not None else False
        return Aoi.from_file(aoi_file, repair=repair)
    from geomon.registry import load_registry

    return Aoi.from_registry(load_registry(registry_dir), str(mine_id))


def as_date(value: dt.datetime | dt.date) -> dt.date:
    """A click DateTime value as a date."""
    return value.date() if isinstance(value, dt.datetime) else value


def zone_options(func: F) -> F:
    """``--ecozone`` and ``--continent``: what impacts need of an ``--aoi`` area, which the
    registry cannot supply."""
    func = click.option(
        "--continent",
        default=None,
        help="Continent of an --aoi area (africa, americas, asia, europe, oceania).",
    )(func)
    return click.option(
        "--ecozone",
        default=None,
        help="FAO global ecological zone of an --aoi area, e.g. 'tropical moist' or "
        "'subtropical dry' (the registry's ecozones.csv gives it for registered mines).",
    )(func)


def aoi_mine(
    aoi: Any, aoi_file: Path | None, ecozone: str | None, continent: str | None
) -> dict[str, Any] | None:
    """The registry-like row of an ``--aoi`` area (None for a registered MINE_ID): its
    ecozone and continent from the options, no country, commodities or owners."""
    if aoi_file is None:
        if ecozone or continent:
            raise ConfigError(
                "--ecozone and --continent are for --aoi areas; a registered mine's come from "
                "the registry's ecozones.csv"
            )
        return None
    missing = [name for name, v in (("--ecozone", ecozone), ("--continent", continent)) if not v]
    if missing:
        raise ConfigError(
            f"--aoi {aoi_file} is not in the registry, so its ecological zone and continent are "
            f"unknown; pass {' and '.join(missing)} (e.g. --ecozone 'tropical moist' "
            "--continent africa)"
        )
    return {
        "mine_id": aoi.name,
        "name": aoi.name,
        "country": "",
        "commodities": [],
        "status": "unknown",
        "source": f"--aoi {aoi_file}",
        "coordinate_accuracy": "user AOI",
        "geometry": aoi.geometry,
        "ecozone": ecozone,
        "continent": continent,
    }
