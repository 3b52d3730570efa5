"""``geomon demo``: run the main job on the embedded demo catalog."""

from __future__ import annotations

import click


@click.command()
def demo() -> None:
    """Build the registry, generate (or reuse) the demo catalog and summarise it."""
    from geomon.registry import load_registry

    reg = load_registry()
    click.echo(f"registry: {len(reg)} mines")
