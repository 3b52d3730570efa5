"""The chain for one mine: imagery composites -> classes -> footprint, and the files it writes."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from geomon.classify import PixelModel, classify, select_model
from geomon.classify.classes import CLASS_NAMES
from geomon.footprint import (
    AWAITING,
    FootprintOptions,
    check_baseline,
    disturbed_area,
    trace_footprint,
)
from geomon.footprint.change import view_of
from geomon.footprint.periods import period_label

if TYPE_CHECKING:
    from geomon.imagery import Aoi, ImagerySource

__all__ = [
    "FootprintRun",
    "RunOptions",
    "compute_classes",
    "run_composite",
    "run_footprint",
    "write_outputs",
]


@dataclass(frozen=True)
class RunOptions:
    """How the chain runs for one mine."""

    period: str = "year"
    """Compositing period: ``year``, ``quarter`` or ``month``."""
    max_cloud: float = 80.0
    """Skip scenes cloudier than this (percent)."""
    footprint: FootprintOptions = field(default_factory=FootprintOptions)
    """Change and polygon options."""
    chunk: int = 1024
    """Spatial chunk side (pixels) of the imagery graph."""
    all_bands: bool = False
    """Load every band of the source (a report draws true colour from them), not only the
    model's."""


@dataclass(frozen=True)
class FootprintRun:
    """What one mine's chain produced."""

    mine_id: str
    footprint: gpd.GeoDataFrame
    """The footprint contract frame, all periods."""
    classes: xr.Dataset
    """The computed classes (in memory)."""
    model_id: str
    model_digest: str
    seconds: dict[str, float]
    """Wall time per step: ``load+classify``, ``footprint``."""
    composite: xr.Dataset | None = None
    """The composite the classes came from (lazy: computing it reads the imagery again)."""
    model: PixelModel | None = None
    """The model that classified it."""
    footprint_options: FootprintOptions | None = None
    """The rules the footprint was traced with (change confirmation, minimum mapping unit,
    baseline): ``run.json`` records them beside the hectares they produced."""


@contextmanager
def _timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start


def compute_classes(classes: xr.Dataset, progress: bool = False) -> xr.Dataset:
    """Compute a lazy classes Dataset (:func:`geomon.scheduler.compute_by_period`, the bar
    labelled ``classify``)."""
    from geomon.scheduler import compute_by_period

    return compute_by_period(classes, progress, "classify")


def run_composite(
    aoi: Aoi,
    start: dt.date,
    end: dt.date,
    source: ImagerySource,
    options: RunOptions,
    model: PixelModel | None = None,
) -> xr.Dataset:
    """The (lazy) composites :func:`run_footprint` classifies: the period's composites of the
    bands ``model`` reads (all bands without a model or with ``options.all_bands``)."""
    from geomon.imagery import CompositeOptions, LoadOptions, Query, load_composite

    query = Query(aoi, start, end, max_cloud=options.max_cloud)
    bands = model.features.bands if model is not None and not options.all_bands else None
    load_opts = LoadOptions(bands=bands, chunk=options.chunk)
    view = model is not None and model.reads_date_view
    comp_opts = CompositeOptions(options.period, date_view=view)  # type: ignore[arg-type]
    return load_composite(source, query, load_opts, comp_opts)


def run_footprint(
    aoi: Aoi,
    start: dt.date,
    end: dt.date,
    source: ImagerySource,
    options: RunOptions | None = None,
    model: PixelModel | None = None,
    progress: bool = False,
) -> FootprintRun:
    """Composite, classify and trace the footprint of ``aoi`` between ``start`` and ``end``."""
    options = options or RunOptions()
    check_baseline(options.footprint.baseline, start, end, options.period)
    seconds: dict[str, float] = {}
    comp = run_composite(aoi, start, end, source, options, model)
    chosen = model or select_model(str(v) for v in comp.data_vars)
    if model is None and chosen.reads_date_view:  # (lazy: nothing was read yet)
        every_band = replace(options, all_bands=True)  # the bands it had, and the date view
        comp = run_composite(aoi, start, end, source, every_band, chosen)
    lazy = classify(comp, chosen)
    with _timed(seconds, "load+classify"):
        classes = compute_classes(lazy, progress)
    crs = str(classes.rio.crs) if classes.rio.crs is not None else str(comp.attrs["crs"])
    if classes.rio.crs is None:
        classes = classes.rio.write_crs(crs)
    # the rules left to the model take its own (recorded so in run.json)
    fp_options = replace(
        options.footprint, change=options.footprint.change.resolved(chosen.change_rules)
    )
    with _timed(seconds, "footprint"):
        fp = trace_footprint(classes, aoi.projected(crs), aoi.name, _in_crs(fp_options, crs))
    return FootprintRun(
        aoi.name, fp, classes, chosen.model_id, chosen.digest, seconds, comp, chosen, fp_options
    )


def _in_crs(options: FootprintOptions, crs: str) -> FootprintOptions:
    return replace(options, aoi_crs=crs)


def _labels(classes: xr.Dataset) -> list[str]:
    if "period" in classes.coords:
        return [str(p) for p in classes["period"].values]
    kind = str(classes.attrs.get("period", "year"))
    return [period_label(t, kind) for t in classes["time"].values]


def write_class_cog(classes: xr.Dataset, index: int, path: Path) -> Path:
    """Write period ``index``'s class codes (band 1) and probability x 100 (band 2) as a COG."""
    import rasterio

    code = np.asarray(classes["class"].isel(time=index).values, np.uint8)
    prob = np.asarray(classes["probability"].isel(time=index).values)
    prob100 = np.clip(np.round(prob * 100), 0, 100).astype(np.uint8)
    profile = {
        "driver": "COG",
        "width": code.shape[1],
        "height": code.shape[0],
        "count": 2,
        "dtype": "uint8",
        "crs": classes.rio.crs,
        "transform": classes.rio.transform(),
        "compress": "deflate",
        "blocksize": 256 if max(code.shape) <= 2048 else 512,
    }
    tmp = path.with_name(path.name + ".tmp")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(code, 1)
        dst.write(prob100, 2)
        dst.set_band_description(
            1, "class: " + ", ".join(f"{i} {n}" for i, n in enumerate(CLASS_NAMES))
        )
        dst.set_band_description(2, "probability of the class, percent")
    tmp.replace(path)
    return path


def write_outputs(run: FootprintRun, out_dir: Path, progress: bool = False) -> list[Path]:
    """Per period: ``footprint_<period>.parquet`` (GeoParquet), ``.geojson`` (EPSG:4326) and
    ``classes_<period>.tif`` (COG); plus ``footprint.parquet`` (all periods) and ``run.json``.

    All files are written into a staging folder inside ``out_dir`` and moved in only when every
    one is written: a failure leaves ``out_dir`` as it was (and removes it if this call made it)."""
    import shutil
    import tempfile

    from tqdm import tqdm

    made = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".geomon-staging-", dir=out_dir))
    try:
        labels = _labels(run.classes)
        staged: list[Path] = []
        for i, label in enumerate(tqdm(labels, desc="write", unit="period", disable=not progress)):
            part = run.footprint[run.footprint["period"] == label]
            staged.append(_write_frame(part, stage / f"footprint_{label}.parquet"))
            staged.append(_write_geojson(part, stage / f"footprint_{label}.geojson"))
            staged.append(write_class_cog(run.classes, i, stage / f"classes_{label}.tif"))
        staged.append(_write_frame(run.footprint, stage / "footprint.parquet"))
        staged.append(_write_summary(run, stage / "run.json"))
        written = []
        for path in staged:
            final = out_dir / path.name
            path.replace(final)
            written.append(final)
        return written
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if made and not any(out_dir.iterdir()):
            out_dir.rmdir()


def _write_frame(frame: gpd.GeoDataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    out = frame.to_crs("EPSG:4326")
    for col in ("period_start", "period_end"):
        out[col] = out[col].astype(str)
    out.to_file(tmp, driver="GeoJSON")
    tmp.replace(path)
    return path


def _rules(options: FootprintOptions | None) -> dict[str, Any] | None:
    """The footprint options as JSON values (the AOI's CRS left out: it is the grid's)."""
    if options is None:
        return None
    from dataclasses import asdict

    doc = asdict(options)
    doc.pop("aoi_crs", None)
    return doc


def _write_summary(run: FootprintRun, path: Path) -> Path:
    table = disturbed_area(run.footprint) if len(run.footprint) else None
    doc: dict[str, Any] = {
        "mine_id": run.mine_id,
        "model_id": run.model_id,
        "model_digest": run.model_digest,
        "item_ids": run.classes.attrs.get("item_ids", []),
        "source": run.classes.attrs.get("source", ""),
        "seconds": run.seconds,
        "footprint_rules": _rules(run.footprint_options),
        # the class COGs take the model's date view (if any); the footprint reads the composite's
        "date_view": view_of(run.classes),
        "hectares": {} if table is None else table.round(4).to_dict(orient="index"),
        "awaiting_confirmation_ha": {
            k: round(v, 4) for k, v in run.footprint.attrs.get(AWAITING, {}).items()
        },
    }
    path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return path
