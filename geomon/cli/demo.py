"""``geomon demo``: run the main job on the embedded demo catalog.

For now: build the registry, generate (or reuse) the demo catalog and summarise it. Later
issues extend it into the full pipeline and reports.
"""

from __future__ import annotations

import time
from pathlib import Path

import click


def _mine_ids(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    return tuple(m.strip() for m in text.split(",") if m.strip())


@click.command()
@click.option(
    "--registry",
    "registry_dir",
    type=click.Path(path_type=Path),
    default=None,
    envvar="GEOMON_REGISTRY",
    help="Registry folder (default: the bundled registry; env GEOMON_REGISTRY).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the generator.")
@click.option("--years", type=int, default=5, show_default=True, help="Years simulated.")
@click.option("--start-year", type=int, default=2019, show_default=True, help="First year.")
@click.option("--dates-per-year", type=int, default=6, show_default=True, help="Dates per year.")
@click.option("--mines", default=None, help="Comma-separated mine ids (default: the demo mines).")
@click.option(
    "--window-m",
    type=int,
    default=4000,
    envvar="GEOMON_DEMO_WINDOW_M",
    hidden=True,
    help="Scene side in metres (tests use small scenes).",
)
@click.option(
    "--root", type=click.Path(path_type=Path), default=None, hidden=True, help="Catalog folder."
)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def demo(
    registry_dir: Path | None,
    seed: int,
    years: int,
    start_year: int,
    dates_per_year: int,
    mines: str | None,
    window_m: int,
    root: Path | None,
    progress: bool,
) -> None:
    """Build the registry, generate (or reuse) the demo catalog and summarise it."""
    from geomon.demo import DEMO_MINES, DemoConfig, build_demo_catalog
    from geomon.demo.summary import format_summary, summarize
    from geomon.registry import load_registry

    reg = load_registry(registry_dir)
    click.echo(f"registry: {len(reg)} mines")
    config = DemoConfig(
        seed=seed,
        mine_ids=_mine_ids(mines) or DEMO_MINES,
        start_year=start_year,
        years=years,
        dates_per_year=dates_per_year,
        window_m=window_m,
    )
    start = time.perf_counter()
    catalog = build_demo_catalog(config, reg, root=root, progress=progress)
    click.echo(f"demo catalog ready in {time.perf_counter() - start:.1f} s")
    for line in format_summary(summarize(catalog)):
        click.echo(line)
