"""``geomon registry``: list, show, validate and import mine registries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from geomon.errors import ConfigError, RegistryError, RegistryValidationError
from geomon.registry import load_registry

if TYPE_CHECKING:
    from geomon.registry.importers import ImportOptions

registry_option = click.option(
    "--registry",
    "registry_dir",
    type=click.Path(path_type=Path),
    default=None,
    envvar="GEOMON_REGISTRY",
    help="Registry folder (default: the bundled registry; env GEOMON_REGISTRY).",
)


@click.group()
def registry() -> None:
    """Mines geomon watches, and who owns them."""


@registry.command("list")
@registry_option
@click.option("--commodity", default=None, help="Only mines producing this commodity.")
@click.option("--country", default=None, help="Only mines in this ISO-3 country.")
def list_(registry_dir: Path | None, commodity: str | None, country: str | None) -> None:
    """Print the registry, one mine per line."""
    reg = load_registry(registry_dir)
    mines = reg.mines
    if commodity:
        mines = mines[mines["commodities"].map(lambda cs: commodity in cs)]
    if country:
        mines = mines[mines["country"].str.upper() == country.upper()]
    click.echo(f"{'mine_id':<28} {'country':<7} {'status':<20} commodities / name")
    for row in mines.itertuples():
        click.echo(
            f"{row.mine_id:<28} {row.country:<7} {row.status:<20} "
            f"{','.join(row.commodities)} / {row.name}"
        )
    click.echo(f"{len(mines)} of {len(reg)} mines")


@registry.command()
@registry_option
@click.argument("mine_id")
def show(registry_dir: Path | None, mine_id: str) -> None:
    """Print one mine with its ownership chain."""
    from geomon.registry.report import format_mine

    reg = load_registry(registry_dir)
    click.echo(format_mine(reg, mine_id))


_SUFFIX_FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".parquet": "parquet",
}


def _input_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``validate`` and ``import`` to read an input file."""
    from geomon.registry.importers import FORMATS

    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default=None,
            help="Input format (default: from the file suffix; CSV files need gem or csv).",
        ),
        click.option(
            "--map",
            "mapping",
            multiple=True,
            metavar="TARGET=SOURCE",
            help="Registry column <- input column, e.g. --map name='Mine Name'. Repeatable.",
        ),
        click.option("--commodity", default=None, help="Commodity of rows that name none."),
        click.option("--id-column", default=None, help="Input column holding mine ids."),
        click.option("--crs", default=None, help="CRS to assume when a vector file has none."),
        click.option("--layer", default=None, help="GeoPackage layer."),
        click.option(
            "--repair", is_flag=True, help="Repair invalid geometries instead of rejecting them."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    found = _SUFFIX_FORMATS.get(path.suffix.lower())
    if found is None:
        raise ConfigError(
            f"cannot tell the format of {path.name}; pass --format "
            "(gem for a Global Energy Monitor tracker CSV, csv for a generic CSV)"
        )
    return found


def _import_options(buffer_m: float | None, **kwargs: Any) -> ImportOptions:
    from geomon.registry.importers import ImportOptions, parse_column_map

    return ImportOptions(
        buffer_m=buffer_m,
        column_map=parse_column_map(kwargs["mapping"]),
        commodity=kwargs["commodity"],
        repair=kwargs["repair"],
        id_column=kwargs["id_column"],
        crs=kwargs["crs"],
        layer=kwargs["layer"],
    )


def _fail(source: str, problems: list[str], written: bool) -> NoReturn:
    """Print each problem on its own line, then stop with a one-line error."""
    for problem in problems:
        click.echo(problem)
    tail = "" if written else "; nothing was written"
    raise RegistryError(
        f"{source}: {len(problems)} problem(s), listed above; fix them and run again{tail}"
    )


@registry.command()
@click.argument("path", type=click.Path(path_type=Path, exists=True))
@_input_options
def validate(path: Path, fmt: str | None, **kwargs: Any) -> None:
    """Check a registry folder or an input file; print OK or every problem, one per line."""
    from geomon.registry.importers import validate_source
    from geomon.registry.validate import validate_folder

    if path.is_dir() and fmt is None:
        report = validate_folder(path, repair=kwargs["repair"])
    else:
        report = validate_source(path, _format_of(path, fmt), _import_options(None, **kwargs))
    for note in report.repaired:
        click.echo(f"repairable: {note}")
    if report.problems:
        _fail(str(path), [str(p) for p in report.problems], written=True)
    click.echo(f"OK: {report.n_mines} mines, {report.n_ownership} ownership rows, no problems")


@registry.command("import")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Registry folder to write (replaced atomically if it is a registry).",
)
@click.option(
    "--buffer-m",
    type=float,
    default=None,
    help="AOI radius in metres for point mines (required when the input has points).",
)
@_input_options
def import_(path: Path, out: Path, buffer_m: float | None, fmt: str | None, **kwargs: Any) -> None:
    """Import a GEM tracker, CSV, GeoJSON, GeoPackage or GeoParquet file as a registry folder."""
    from geomon.registry.importers import import_registry, write_import

    options = _import_options(buffer_m, **kwargs)
    try:
        result = import_registry(path, _format_of(path, fmt), options)
    except RegistryValidationError as exc:
        _fail(exc.source, exc.problems, written=False)
    click.echo(result.summary.to_text())
    folder = write_import(result, out)
    click.echo(f"wrote {len(result.registry)} mines to {folder} (summary in import_report.json)")
