"""Run a pipeline: select mines, run each through the stages, write site and company reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from geomon.errors import ConfigError
from geomon.esg.flags import FlagOptions
from geomon.esg.ownership import company_mines
from geomon.footprint import awaiting_hectares
from geomon.pipeline.spec import Pipeline
from geomon.registry import Registry, load_registry
from geomon.report import (
    Report,
    ReportOptions,
    build_company_report,
    build_site_report,
    write_report,
)

__all__ = ["PipelineOutputs", "report_options", "run_pipeline", "select_mines"]


@dataclass(frozen=True)
class PipelineOutputs:
    """Where a run wrote what, and how long each mine took."""

    sites: dict[str, dict[str, Path]] = field(default_factory=dict)
    companies: dict[str, dict[str, Path]] = field(default_factory=dict)
    trends: Path | None = None
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    impacts: pd.DataFrame | None = None
    """The impact records of every mine and period (``geomon.impacts`` columns)."""
    hectares: pd.DataFrame | None = None
    """Footprint hectares per mine and period: ``mine_id, period, new, persisting,
    rehabilitated, disturbed`` and ``clear_fraction``, ``imaged_fraction``."""


def report_options(p: Pipeline) -> ReportOptions:
    f = p.flags
    flags = FlagOptions(
        cutoff=f.cutoff,
        near_m=f.near_km * 1000.0,
        licence_tolerance_m=f.licence_tolerance_m,
        licence_min_ha=f.licence_min_ha,
        expansion_k=f.expansion_k,
        expansion_min_history=f.expansion_min_history,
        expansion_min_excess_ha_per_year=f.expansion_min_excess_ha_per_year,
        min_clear_fraction=f.min_clear_fraction,
    )
    return ReportOptions(
        flags=flags, control_threshold_pct=p.control_threshold_pct, formats=tuple(p.outputs.formats)
    )


def select_mines(p: Pipeline, registry: Registry, mine: str | None = None) -> list[str]:
    """The mines a pipeline covers (``mine`` overrides the selection)."""
    if mine:
        registry.mine(mine)
        return [mine]
    q = p.mines
    ids = list(q.ids)
    if not ids and p.source == "demo":
        from geomon.demo import DEMO_MINES

        ids = list(DEMO_MINES)
    for m in ids:
        registry.mine(m)
    mines = (
        registry.mines if not ids else registry.mines.set_index("mine_id").loc[ids].reset_index()
    )
    if q.commodity:
        mines = mines[mines["commodities"].map(lambda cs: q.commodity in cs)]
    if q.country:
        mines = mines[mines["country"].str.upper() == q.country]
    if q.owner:
        held = set(company_mines(registry.ownership, q.owner))
        mines = mines[mines["mine_id"].isin(held)]
    out = [str(m) for m in mines["mine_id"]]
    if not out:
        raise ConfigError(
            "mines: no mine matches the query; check ids, commodity, country and owner ('geomon registry list')"
        )
    return out


def _trends(reports: list[Report], path: Path) -> Path:
    cols = [
        "period",
        "start",
        "end",
        "disturbed_ha",
        "new_ha",
        "rehabilitated_ha",
        "clear_fraction",
        "data_gap",
        "co2e_t_mean",
        "co2e_t_low",
        "co2e_t_high",
        "msa_ha_lost",
    ]
    rows = [
        {"mine_id": r.content["mine"]["mine_id"], **{c: p[c] for c in cols}}
        for r in reports
        for p in r.content["periods"]
    ]
    frame = pd.DataFrame(rows, columns=["mine_id", *cols])
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.4f")
    return path


def run_pipeline(
    p: Pipeline,
    mine: str | None = None,
    pipeline_file: str | None = None,
    out_dir: str | Path | None = None,
    echo: Callable[[str], Any] = print,
    source: Any = None,
    progress: bool = False,
    registry: Registry | None = None,
) -> PipelineOutputs:
    """Run ``p`` and write its outputs; ``echo`` receives one line per step. ``source`` (an
    ``ImagerySource``) replaces the pipeline's ``source`` key, e.g. a demo catalog built with
    other settings; ``progress`` shows a bar per mine while its periods are classified;
    ``registry`` replaces the one loaded from the pipeline's ``registry`` folder (whose reference
    layers are still used), e.g. with an ``--aoi`` area added."""
    from geomon.imagery import open_source
    from geomon.pipeline.stages import run_site

    registry = registry if registry is not None else load_registry(p.registry)
    ids = select_mines(p, registry, mine)
    folder = Path(out_dir or p.outputs.dir)
    opts = report_options(p)
    source = source if source is not None else open_source(p.source)
    out = PipelineOutputs()
    reports: list[Report] = []
    impacts: list[pd.DataFrame] = []
    imaged: dict[str, float] = {}
    for n, mine_id in enumerate(ids, 1):
        t0 = time.perf_counter()
        echo(f"[{n}/{len(ids)}] {mine_id}: imagery, classes, footprint, impacts, report ...")
        run = run_site(p, registry, mine_id, source, pipeline_file, progress=progress)
        impacts.append(run.results.impacts)
        imaged[mine_id] = float(run.results.imagery.get("aoi_imaged_fraction", 1.0))
        t1 = time.perf_counter()
        report = build_site_report(run.results, opts)
        reports.append(report)
        if p.outputs.site_reports:
            out.sites[mine_id] = write_report(report, folder / "sites", opts.formats)
        out.seconds[mine_id] = {
            **run.seconds,
            "report": time.perf_counter() - t1,
            "total": time.perf_counter() - t0,
        }
        steps = ", ".join(f"{k} {v:.1f}" for k, v in out.seconds[mine_id].items() if k != "total")
        where = f" -> {out.sites[mine_id].get('pdf', folder)}" if mine_id in out.sites else ""
        echo(f"{mine_id}: {out.seconds[mine_id]['total']:.1f} s ({steps}){where}")
        for label, ha in awaiting_hectares(run.results.footprint).items():
            echo(f"{mine_id}: {ha:.2f} ha awaiting confirmation in {label} "
                 "(disturbed in its latest clear view, not yet persistent: not counted)")  # fmt: skip
    for company in p.outputs.companies:
        report = build_company_report(company, reports, registry.ownership, opts)
        out.companies[company] = write_report(report, folder / "companies", opts.formats)
        echo(
            f"company {report.content['company']}: {len(report.content['mines'])} mines -> {out.companies[company].get('pdf', folder)}"
        )
    trends = None
    if p.outputs.trends:
        trends = _trends(reports, folder / "footprint_trends.csv")
        echo(f"trends -> {trends}")
    records = pd.concat(impacts, ignore_index=True) if impacts else None
    return PipelineOutputs(
        out.sites, out.companies, trends, out.seconds, records, _hectares(reports, imaged)
    )


def _hectares(reports: list[Report], imaged: dict[str, float]) -> pd.DataFrame:
    cols = ["new_ha", "persisting_ha", "rehabilitated_ha", "disturbed_ha", "clear_fraction"]
    rows = [
        {
            "mine_id": r.content["mine"]["mine_id"],
            "period": p["period"],
            **{c.removesuffix("_ha"): p.get(c) for c in cols},
            "imaged_fraction": imaged.get(r.content["mine"]["mine_id"], 1.0),
        }
        for r in reports
        for p in r.content["periods"]
    ]
    return pd.DataFrame(rows)
