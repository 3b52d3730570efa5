"""One mine through the real stages: imagery -> classify -> footprint -> impacts, as SiteResults."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from geomon.pipeline.spec import Pipeline
from geomon.registry import Registry
from geomon.report.inputs import SiteResults

__all__ = ["SiteRun", "coverage_table", "impact_params", "model_info", "run_site"]


@dataclass(frozen=True, eq=False)
class SiteRun:
    """A mine's results and the wall time of each stage."""

    results: SiteResults
    seconds: dict[str, float] = field(default_factory=dict)


def coverage_table(composites: xr.Dataset) -> pd.DataFrame:
    """Per period: clear-sky fraction, low-coverage flag and scene count, from the composites."""
    from geomon.footprint.periods import period_bounds

    kind = str(composites.attrs.get("period", "year"))
    times = pd.to_datetime(composites["time"].values)
    frac = (
        np.asarray(composites["clear_fraction"].values, dtype=float)
        if "clear_fraction" in composites
        else np.full(len(times), np.nan)
    )
    low = (
        np.asarray(composites["low_coverage"].values, dtype=bool)
        if "low_coverage" in composites
        else np.zeros(len(times), bool)
    )
    ids = composites.coords.get("item_ids")
    rows = []
    for i, t in enumerate(times):
        start, end = period_bounds(t, kind)
        label = (
            str(composites["period"].values[i]) if "period" in composites.coords else str(t.year)
        )
        n = (
            len([s for s in str(ids.values[i]).split(",") if s])
            if ids is not None and ids.ndim == 1
            else None
        )
        rows.append(
            {
                "period": label,
                "period_start": start,
                "period_end": end,
                "clear_fraction": frac[i],
                "low_coverage": bool(low[i]),
                "n_items": n,
            }
        )
    return pd.DataFrame(rows)


def model_info(model: Any) -> dict[str, Any]:
    """Id, hash, summary and accuracy of a classifier, for the report: from its model card
    (``models/<id>.md``, read by :mod:`geomon.report.model_card`, the one card parser), else
    from what the model file records."""
    from geomon.report.model_card import card_text, parse_card, rules_phrase

    info = dict(getattr(model, "info", {}) or {})
    card = parse_card(card_text({"id": model.model_id}))
    summary = (
        card["summary"]
        or str(info.get("summary", ""))
        or _training_summary(info.get("training_data"))
    )
    rules = rules_phrase(
        getattr(model, "change_rules", {}) or {},
        getattr(model, "date_view", None),
        getattr(model, "date_view_release", None),
        bool(getattr(model, "date_view_baseline", False)),
    )
    summary = "; ".join(p for p in (summary, rules) if p)
    out: dict[str, Any] = {"id": model.model_id, "hash": model.digest, "summary": summary}
    if card["accuracy"]:
        out.update(
            accuracy=card["accuracy"],
            evaluated_on=card["evaluated_on"],
            accuracy_source="model card",
        )
    else:
        recorded = dict(info.get("accuracy") or info.get("metrics") or {})
        out["accuracy"] = {k: v for k, v in recorded.items() if isinstance(v, int | float)}
    return out


def _training_summary(data: Any) -> str:
    """One line on the training data recorded in the model file, when there is no card."""
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("source", "training data not recorded"))]
    if data.get("samples"):
        parts.append(f"{data['samples']:,} labelled pixels")
    if data.get("seeds"):
        parts.append(f"seeds {', '.join(str(s) for s in data['seeds'])}")
    return "Trained on " + "; ".join(parts) + " (no model card found beside the model)"


def impact_params(p: Pipeline) -> Any:
    from geomon.impacts import ImpactParams

    s = p.impacts
    return ImpactParams(
        forest_state=s.forest_state,
        unknown_vegetation_cover=s.unknown_vegetation_cover,
        soc_ref_t_c_per_ha=s.soc_ref_t_c_per_ha,
        seed=s.seed,
        interval=s.interval,
        cutoff_date=p.flags.cutoff,
        pa_buffers_m=tuple(b * 1000.0 for b in s.pa_buffers_km),
        edge_depth_m=s.edge_depth_m,
    )


def _model(p: Pipeline) -> Any:
    """The pipeline's classifier (a bundled id or a file), or None to choose by the bands."""
    if p.classifier.model is None:
        return None
    from geomon.classify.bundled import bundled_models
    from geomon.classify.model_io import load_model

    path = Path(p.classifier.model)
    if path.exists():
        return load_model(path)
    for entry in bundled_models():
        if entry.model_id == p.classifier.model:
            return entry.load()
    from geomon.errors import ConfigError

    raise ConfigError(
        f"classifier.model '{p.classifier.model}' is neither a bundled model id nor a file; see models/index.json"
    )


def _layers(registry_dir: str | None) -> tuple[Any, Any, tuple[str, ...]]:
    """Impact layers, and the same areas as one frame for the flags, with their credits."""
    import geopandas as gpd

    from geomon.impacts import bundled_layers

    layers = bundled_layers(registry_dir)
    parts, credits = [], []
    for kind, frame in (
        ("protected_area", layers.protected_areas),
        ("kba", layers.kba),
        ("world_heritage", layers.world_heritage),
    ):
        if frame is not None and not frame.empty:
            parts.append(frame.to_crs(4326).assign(kind=kind))
            note = frame["SAMPLE_NOTE"].iloc[0] if "SAMPLE_NOTE" in frame.columns else None
            credits.append(
                f"{kind.replace('_', ' ').capitalize()} layer: {note}"
                if note
                else f"{kind.replace('_', ' ').capitalize()} layer: see the registry folder"
            )
    areas = (
        gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
        if parts
        else None
    )
    return layers, areas, tuple(credits)


def _true_colour_bands(comp: xr.Dataset, max_px: int = 700) -> xr.Dataset | None:
    """Red, green and blue of every period, thinned to at most ``max_px`` a side, in memory."""
    if not all(b in comp for b in ("red", "green", "blue")):
        return None
    step = max(1, -(-max(comp.sizes["x"], comp.sizes["y"]) // max_px))
    thin = comp[["red", "green", "blue"]].isel(x=slice(None, None, step), y=slice(None, None, step))
    return thin.compute()


def run_site(
    p: Pipeline,
    registry: Registry,
    mine_id: str,
    source: Any = None,
    pipeline_file: str | None = None,
    progress: bool = False,
) -> SiteRun:
    """Run one mine through every stage with the pipeline's options."""
    import rioxarray  # noqa: F401  - registers the .rio accessor

    from geomon.footprint import FootprintOptions
    from geomon.footprint.run import RunOptions, run_footprint
    from geomon.imagery import Aoi, open_source
    from geomon.impacts import check_mine, compute_impacts

    params = impact_params(p)
    mine = registry.mine(mine_id)
    check_mine(mine.to_dict(), params)  # ecozone/continent before any imagery is read
    layers, areas, credits = _layers(p.registry)  # reference layers too
    src = source or open_source(p.source)
    aoi = Aoi.from_registry(registry, mine_id)
    options = RunOptions(
        period=p.periods.period,
        max_cloud=p.periods.max_cloud,
        footprint=replace(
            FootprintOptions(),
            min_mapping_unit_ha=p.classifier.min_mapping_unit_ha,
            baseline=p.baseline,
        ),
        all_bands=True,  # the report's true-colour maps need red, green and blue
    )
    run = run_footprint(aoi, p.periods.start, p.periods.end, src, options, _model(p), progress)
    comp, model, footprint = run.composite, run.model, run.footprint
    assert comp is not None and model is not None  # run_footprint always sets them
    seconds = {
        "imagery+classify": run.seconds["load+classify"],
        "footprint": run.seconds["footprint"],
    }
    t2 = time.perf_counter()
    impacts = compute_impacts(footprint, mine.to_dict(), layers=layers, params=params)
    seconds["impacts"] = time.perf_counter() - t2
    rgb = _true_colour_bands(comp)
    results = SiteResults(
        mine=mine,
        footprint=footprint,
        impacts=impacts,
        ownership=registry.ownership,
        start=p.periods.start,
        end=p.periods.end,
        coverage=coverage_table(comp),
        composites=rgb,
        areas=areas,
        imagery={
            "sensor": comp.attrs.get("sensor"),
            "source": comp.attrs.get("source", p.source),
            "item_ids": list(comp.attrs.get("item_ids", [])),
            "synthetic": p.source == "demo",
            "aoi_imaged_fraction": float(comp.attrs.get("aoi_imaged_fraction", 1.0)),
        },
        model=model_info(model),
        pipeline={"file": pipeline_file, "parameters": p.model_dump(mode="json")},
        layer_sources=credits,
    )
    return SiteRun(results, seconds)
