"""``geomon registry``: list, show, validate and import mine registries."""

from __future__ import annotations

from pathlib import Path

import click

from geomon.registry import load_registry

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
    click.echo(f"{'mine_id':<28} {'country':<7} {'status':<12} commodities / name")
    for row in mines.itertuples():
        click.echo(
            f"{row.mine_id:<28} {row.country:<7} {row.status:<12} "
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
