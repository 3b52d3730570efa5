"""``geomon demo``: run the main job on the embedded demo catalog.

Builds the registry, generates (or reuses) the demo catalog and summarises it, then runs the
shipped ``pipelines/demo.yaml`` on it: footprints, impacts, a site report per demo mine and the
company report of an owner of several of them. Prints disturbed hectares per mine and year, the
impact table, and where the reports are.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

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
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("out/demo"),
    show_default=True,
    help="Folder for the reports.",
)
@click.option(
    "--catalog-only", is_flag=True, help="Stop after the catalog summary (no footprints/reports)."
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
    out: Path,
    catalog_only: bool,
    progress: bool,
) -> None:
    """Generate (or reuse) the demo catalog, then footprints, impacts and reports of the demo
    mines on it."""
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
    if catalog_only:
        return
    _run_demo_pipeline(catalog, reg, registry_dir, out, progress)


def _run_demo_pipeline(
    catalog: Any, reg: Any, registry_dir: Path | None, out: Path, progress: bool
) -> None:
    """``pipelines/demo.yaml`` over the built catalog, then the tables and where reports are."""
    from geomon.imagery import StaticCatalogSource
    from geomon.impacts import format_impacts
    from geomon.pipeline import bundled_pipeline, load_pipeline, run_pipeline

    cfg = catalog.config
    base = load_pipeline(bundled_pipeline("demo"))
    mine_ids = list(catalog.mine_ids)
    owners = [c for c in base.outputs.companies if _holds(reg.ownership, c, mine_ids)]
    pipeline = base.model_copy(
        update={
            "registry": None if registry_dir is None else str(registry_dir),
            "mines": base.mines.model_copy(update={"ids": tuple(mine_ids)}),
            "periods": base.periods.model_copy(
                update={
                    "start": dt.date(cfg.start_year, 1, 1),
                    "end": dt.date(cfg.start_year + cfg.years - 1, 12, 31),
                }
            ),
            "baseline": str(cfg.start_year),
            "outputs": base.outputs.model_copy(update={"companies": tuple(owners)}),
        }
    )
    source = StaticCatalogSource(catalog.catalog_path, name="demo")
    click.echo(f"\npipeline {bundled_pipeline('demo').name}: {len(mine_ids)} mines")
    start = time.perf_counter()
    result = run_pipeline(
        pipeline,
        pipeline_file=str(bundled_pipeline("demo")),
        out_dir=out,
        echo=click.echo,
        source=source,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    if result.hectares is not None and len(result.hectares):
        click.echo("\ndisturbed hectares per mine and year (footprint polygons >= 0.5 ha)")
        for line in _hectare_lines(result.hectares):
            click.echo(line)
    if result.impacts is not None and len(result.impacts):
        click.echo("\nimpacts per mine and year (CO2e: mean [90 % range])")
        click.echo(format_impacts(result.impacts))
    click.echo(f"\nreports ({seconds:.0f} s):")
    for mine_id, files in result.sites.items():
        click.echo(f"  site {mine_id}: {_where(files)}")
    for company, files in result.companies.items():
        click.echo(f"  company {company}: {_where(files)}")
    if result.trends is not None:
        click.echo(f"  trends: {result.trends.resolve()}")


def _holds(ownership: Any, company: str, mine_ids: list[str]) -> bool:
    """True when ``company`` holds (directly or through its chain) one of ``mine_ids``."""
    from geomon.errors import UnknownCompanyError
    from geomon.esg.ownership import company_mines

    try:
        return bool(set(company_mines(ownership, company)) & set(mine_ids))
    except UnknownCompanyError:
        return False


def _where(files: dict[str, Path]) -> str:
    main = files.get("pdf") or files.get("html") or next(iter(files.values()))
    others = ", ".join(sorted(k for k in files if files[k] != main))
    return f"{Path(main).resolve()} (+ {others})" if others else str(Path(main).resolve())


def _pct(value: float) -> str:
    return f"{value:.0%}" if value >= 0.1 else f"{value:.1%}"


def _hectare_lines(table: Any) -> list[str]:
    lines = [
        f"{'mine':<24} {'year':<8} {'disturbed':>10} {'new':>9} {'rehab.':>9} {'clear':>6}"
        f" {'imaged':>7}"
    ]
    for _, r in table.iterrows():
        clear = r["clear_fraction"]
        clear_txt = "n/a" if clear is None or clear != clear else f"{clear:.0%}"
        lines.append(
            f"{r['mine_id']:<24} {r['period']:<8} {r['disturbed']:>10,.1f} {r['new']:>9,.1f}"
            f" {r['rehabilitated']:>9,.1f} {clear_txt:>6} {_pct(r['imaged_fraction']):>7}"
        )
    lines.append(
        "clear = share of the imaged grid with a clear view in the year; imaged = share of the"
        " mine's AOI that the demo scenes cover (figures are for that part)"
    )
    return lines
