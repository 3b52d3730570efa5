"""``geomon train``, ``geomon evaluate`` and ``geomon footprint``: classify and trace mines."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from geomon.classify.classes import MAX_TAIL_CLEAR
from geomon.cli.options import (
    area_options,
    as_date,
    dates_options,
    imagery_only,
    max_cloud_option,
    resolve_aoi,
    scheduler_option,
    source_option,
)
from geomon.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import xarray as xr

    from geomon.classify import PixelModel
    from geomon.footprint import ChangeOptions

__all__ = [
    "COMMANDS",
    "cascade",
    "evaluate",
    "footprint",
    "model_rules",
    "quantize",
    "route",
    "train",
]

_period = click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year"]),
    default="year",
    show_default=True,
    help="Compositing period.",
)
_model = click.option(
    "--model",
    "model_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Model file (default: the shipped model for the bands the source has).",
)


def _seeds(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ConfigError(
            f"seeds '{text}' must be comma-separated integers, e.g. 101,102"
        ) from None


def _load_model(path: Path | None) -> PixelModel | None:
    if path is None:
        return None
    from geomon.classify import load_model

    return load_model(path)


def _composite(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    source: str | None,
    period: str,
    bands: tuple[str, ...] | None = None,
    max_cloud: float = 80.0,
    date_view: bool = False,
) -> xr.Dataset:
    from geomon.imagery import CompositeOptions, LoadOptions, Query, load_composite, open_source

    if start is None or end is None:
        raise ConfigError("give --start and --end (YYYY-MM-DD) with MINE_ID or --aoi")
    aoi = resolve_aoi(mine_id, aoi_file, registry_dir)
    query = Query(aoi, as_date(start), as_date(end), max_cloud=max_cloud)
    opts = CompositeOptions(period, date_view=date_view)  # type: ignore[arg-type]  # click.Choice checked it
    return load_composite(open_source(source), query, LoadOptions(bands=bands), opts)


def _computed(comp: xr.Dataset) -> xr.Dataset:
    """``comp`` computed period by period with a progress bar."""
    from geomon.scheduler import compute_by_period

    return compute_by_period(comp, progress=True, desc="composite")


@click.command()
@area_options
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day.")
@source_option
@max_cloud_option
@scheduler_option
@_period
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Label raster (contract codes 1-4) or vector file with a 'class' column.",
)
@click.option("--demo-seeds", default=None, help="Train on these demo catalog seeds instead.")
@click.option(
    "--bands",
    type=click.Choice(["full", "reduced"]),
    default="full",
    show_default=True,
    help="Feature set: the full Sentinel-2 bands, or blue, red, nir, swir16, swir22.",
)
@click.option(
    "--context/--no-context",
    default=True,
    show_default=True,
    help="Add spatial-context features (local mean/std of indices) to the bands and indices.",
)
@click.option(
    "--temporal/--no-temporal",
    default=True,
    show_default=True,
    help="Add temporal statistics of the period (its greatest NDVI) to the features.",
)
@click.option(
    "--late-ndvi",
    is_flag=True,
    help="Add the greatest NDVI of the period's second half too (ndvi_max_late): ground cleared "
    "before the middle of a period is low there, though the period's greatest NDVI saw it green.",
)
@click.option(
    "--mid-ndvi",
    is_flag=True,
    help="Add the NDVI of the clear observation nearest the period's middle (ndvi_mid, from the "
    "composite's date view): ground cleared within a period is low there, though its median "
    "still looks green.",
)
@click.option(
    "--view-bands",
    is_flag=True,
    help="Add each band's date view (view_<band>: its value in the clear observation nearest "
    "the period's middle) to the features, beside the band's median.",
)
@click.option(
    "--middle-labels",
    is_flag=True,
    help="With --demo-seeds: label composite pixels by their truth at the period's middle scene, "
    "so ground that changed within a period is trained on too (default: only pixels whose truth "
    "is the same in every scene).",
)
@click.option(
    "--per-label",
    type=click.IntRange(1, 100_000),
    default=None,
    help="With --demo-seeds: pixels drawn per label, per mine and per kind of image (single "
    "scenes, each composite period; default: DemoSampling.per_label, 1200).",
)
@click.option(
    "--brightness",
    default=None,
    metavar="LOW,HIGH",
    help="With --demo-seeds: the range of the brightness factor each training image is "
    "multiplied by (illumination, slope; default 0.85,1.18: Augment.brightness).",
)
@click.option(
    "--label-bias",
    "label_bias",
    multiple=True,
    metavar="LABEL=SHIFT",
    help="Add SHIFT to LABEL's output logit after fitting (a prior correction chosen on "
    "validation data), e.g. disturbed=-0.5; repeatable.",
)
@click.option(
    "--max-iter",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Most training epochs (default: TrainOptions.max_iter; early stopping on a 10 % "
    "validation split usually ends sooner).",
)
@click.option(
    "--hidden",
    default=None,
    metavar="W1,W2,...",
    help="Hidden layer widths (default: TrainOptions.hidden); the shipped full model uses 64,32.",
)
@click.option("--model-id", default=None, help="Name stored in the model (default: file stem).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Model file to write.",
)
def train(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    source: str | None,
    max_cloud: float,
    scheduler: str | None,
    period: str,
    labels_path: Path | None,
    demo_seeds: str | None,
    bands: Literal["full", "reduced"],
    context: bool,
    temporal: bool,
    late_ndvi: bool,
    mid_ndvi: bool,
    view_bands: bool,
    middle_labels: bool,
    per_label: int | None,
    brightness: str | None,
    label_bias: tuple[str, ...],
    max_iter: int | None,
    hidden: str | None,
    model_id: str | None,
    out: Path,
) -> None:
    """Train a pixel model from a label raster or labelled polygons plus imagery, or on demo seeds."""
    from geomon.classify import save_model
    from geomon.classify.demo_data import DemoSampling
    from geomon.classify.features import shipped_features
    from geomon.classify.recipes import DemoRecipe, train_on_demo, train_on_reference
    from geomon.classify.samples import Augment
    from geomon.classify.train import CONTRACT_SCHEME, TrainOptions
    from geomon.scheduler import dask_client

    fset = shipped_features(bands)  # the shipped models' features, unless the flags say less
    if not context:
        fset = fset.with_context(())
    if (late_ndvi or mid_ndvi or view_bands) and not temporal:
        raise ConfigError(
            "--late-ndvi, --mid-ndvi and --view-bands are temporal statistics: "
            "leave out --no-temporal"
        )
    if not temporal:
        fset = fset.with_temporal(())
    else:
        extra = [n for n, on in (("ndvi_max_late", late_ndvi), ("ndvi_mid", mid_ndvi)) if on]
        views = [f"view_{b}" for b in fset.bands] if view_bands else []
        fset = fset.with_temporal((*fset.temporal, *extra, *views))
    name = model_id or out.stem
    options = TrainOptions(label_bias=_label_bias(label_bias))
    if max_iter is not None:
        options = replace(options, max_iter=max_iter)
    if hidden is not None:
        options = replace(options, hidden=_hidden(hidden))
    seeds = _seeds(demo_seeds)
    if seeds:
        imagery_only("--demo-seeds", "source", "period", "start", "end", "max_cloud")
    if seeds and labels_path is not None:
        raise ConfigError("give either --labels or --demo-seeds, not both")
    if middle_labels and not seeds:
        raise ConfigError("--middle-labels labels demo composites: give --demo-seeds too")
    if per_label is not None and not seeds:
        raise ConfigError("--per-label draws demo pixels: give --demo-seeds too")
    if brightness is not None and not seeds:
        raise ConfigError("--brightness perturbs demo pixels: give --demo-seeds too")
    augment = Augment() if brightness is None else Augment(brightness=_brightness(brightness))
    with dask_client(scheduler):
        if seeds:
            recipe = DemoRecipe(
                seeds=seeds,
                sampling=DemoSampling(
                    middle_labels=middle_labels,
                    per_label=per_label or DemoSampling.per_label,
                    augment=augment,
                ),
                train=options,
            )
            model = train_on_demo(fset, name, recipe, progress=True)
        elif labels_path is not None:
            options.check_label_bias(CONTRACT_SCHEME.labels)  # before the composite is made
            comp = _composite(
                mine_id, aoi_file, registry_dir, start, end, source, period, fset.bands, max_cloud,
                date_view=fset.reads_date_view,
            )  # fmt: skip
            ref = _reference(comp, labels_path)
            model = train_on_reference(
                _computed(comp), ref, fset, name, options, source=str(labels_path)
            )
        else:
            raise ConfigError(
                "give --labels FILE (with MINE_ID/--aoi and dates) or --demo-seeds 1,2,3,8,9,10,13,14,15"
            )
    sha = save_model(model, out)
    balance = model.info.get("training_data", {}).get("class_balance", {})
    click.echo(f"wrote {out} ({out.stat().st_size} bytes, sha256 {sha})")
    click.echo(f"model {name}: {len(fset)} features, {len(model.labels)} labels, samples {balance}")


def _brightness(text: str) -> tuple[float, float]:
    """``--brightness LOW,HIGH`` as two factors, 0 < LOW <= HIGH."""
    parts = text.split(",")
    try:
        low, high = (float(v) for v in parts)
    except ValueError:
        low = high = math.nan
    if not 0 < low <= high < math.inf:
        raise ConfigError(
            f"--brightness {text!r}: give LOW,HIGH with 0 < LOW <= HIGH, e.g. 0.6,1.18"
        )
    return low, high


def _hidden(text: str) -> tuple[int, ...]:
    parts = text.split(",")
    if not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"--hidden {text!r}: give positive layer widths, e.g. 64,32")
    return tuple(int(p) for p in parts)  # TrainOptions checks each width's range


def _label_bias(
    items: tuple[str, ...], option: str = "--label-bias"
) -> tuple[tuple[str, float], ...]:
    out = []
    for item in items:
        label, _, shift = item.partition("=")  # no "=": an empty shift, which float refuses
        try:
            value = float(shift)
        except ValueError:
            value = math.nan
        if not -100 <= value <= 100:
            raise ConfigError(
                f"{option} {item!r}: give LABEL=SHIFT with a shift within +-100, e.g. disturbed=-0.5"
            )
        out.append((label.strip(), value))
    return tuple(out)


def _reference(comp: xr.Dataset, path: Path) -> np.ndarray:
    import rioxarray  # noqa: F401  (registers .rio)

    from geomon.classify.labels import reference_on_grid

    ds = comp
    transform = ds.rio.transform(recalc=True)
    crs = str(ds.attrs["crs"])
    shape = (ds.sizes["y"], ds.sizes["x"])
    return reference_on_grid(path, crs, transform, shape)


@click.command()
@area_options
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day.")
@source_option
@max_cloud_option
@scheduler_option
@_period
@_model
@click.option(
    "--reference",
    "reference_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Label raster (contract codes 1-4) or labelled points/polygons ('class' column).",
)
@click.option(
    "--demo-seeds", default=None, help="Measure on these demo seeds (never training seeds)."
)
@click.option(
    "--bands",
    type=click.Choice(["full", "reduced"]),
    default=None,
    help="With --demo-seeds and no --model: which shipped model to measure.",
)
@click.option(
    "--footprint/--no-footprint",
    "check_footprint",
    default=False,
    help="With --demo-seeds: also compare new disturbance inside each mine AOI with the truth.",
)
@click.option(
    "--tail-min-probability",
    type=click.FloatRange(0, 1),
    default=None,
    help="With --footprint: the change rules' tail threshold, as geomon footprint's flag "
    "[default: the model's own, else 0.8].",
)
def evaluate(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    source: str | None,
    max_cloud: float,
    scheduler: str | None,
    period: str,
    model_path: Path | None,
    reference_path: Path | None,
    demo_seeds: str | None,
    bands: Literal["full", "reduced"] | None,
    check_footprint: bool,
    tail_min_probability: float | None,
) -> None:
    """Confusion matrix, per-class precision/recall/F1/IoU, overall accuracy and error-adjusted
    areas with 95 % intervals (Olofsson et al. 2014) of a model against a reference. With
    --demo-seeds, two such reports: on the pixels whose truth stays the same through their
    period, then on every pixel at its period's middle scene (as --footprint counts it)."""
    from geomon.classify import classify, select_model
    from geomon.classify.recipes import (
        evaluate_on_demo,
        evaluate_on_reference,
        format_demo_accuracy,
    )
    from geomon.evaluate import format_report
    from geomon.footprint.run import compute_classes
    from geomon.scheduler import dask_client

    model = _load_model(model_path)
    seeds = _seeds(demo_seeds)
    if tail_min_probability is not None and not (seeds and check_footprint):
        raise ConfigError("--tail-min-probability needs --demo-seeds and --footprint")
    if seeds:
        imagery_only("--demo-seeds", "source", "start", "end", "max_cloud")
    checks = ""
    with dask_client(scheduler):
        if seeds:
            chosen = model or _shipped(bands or "full")
            title = (
                f"{chosen.model_id} on demo seeds {','.join(map(str, seeds))}, {period} composites"
            )
            text = format_demo_accuracy(
                evaluate_on_demo(chosen, seeds, period, progress=True), title
            )
            if check_footprint:
                from geomon.footprint import ChangeOptions
                from geomon.footprint.assess import demo_footprint_checks, format_checks

                rules = _change_rules(ChangeOptions(), None, tail_min_probability)
                found = demo_footprint_checks(chosen, seeds, period, progress=True, rules=rules)
                checks = format_checks(found)
        elif reference_path is not None:
            where = (mine_id, aoi_file, registry_dir, start, end, source, period)
            comp = _composite(*where, None, max_cloud)
            reference = _reference(comp, reference_path)  # a bad file fails before the work
            chosen = model or select_model(str(v) for v in comp.data_vars)
            if chosen.reads_date_view:  # (lazy: nothing was read yet)
                comp = _composite(*where, None, max_cloud, date_view=True)
            classes = compute_classes(classify(comp, chosen), progress=True)
            report = evaluate_on_reference(classes, reference)
            title = f"{classes.attrs['model_id']} against {reference_path}, {period} composites"
            text = format_report(report, title)
        else:
            raise ConfigError(
                "give --reference FILE (with MINE_ID/--aoi and dates) or --demo-seeds 101,102"
            )
    click.echo(text)
    if checks:
        click.echo("")
        click.echo(checks)


def _without_rules(info: Mapping[str, Any]) -> dict[str, Any]:
    """A model's ``info`` without the rules fitted to its own probabilities (``change_rules``,
    ``date_view``): a joined model's probabilities are not its parts', so it carries none until
    set anew ('geomon model-rules')."""
    return {k: v for k, v in info.items() if k not in ("change_rules", "date_view")}


def _change_rules(
    rules: ChangeOptions, built_reach_m: float | None, tail_min_probability: float | None
) -> ChangeOptions:
    """``rules`` with the flags given (None: not given) in place of their defaults."""
    if built_reach_m is not None:
        rules = replace(rules, built_reach_m=built_reach_m)
    if tail_min_probability is not None:
        rules = replace(rules, tail_min_probability=tail_min_probability)
    return rules


def _shipped(bands: Literal["full", "reduced"]) -> PixelModel:
    from geomon.classify import select_model
    from geomon.classify.features import shipped_features

    return select_model(shipped_features(bands).bands)


@click.command()
@area_options
@dates_options
@source_option
@max_cloud_option
@scheduler_option
@_period
@_model
@click.option(
    "--persistence",
    type=click.IntRange(1, 12),
    default=2,
    show_default=True,
    help="Consecutive clear periods a change must hold.",
)
@click.option(
    "--built-reach-m",
    type=click.FloatRange(0, 100_000, max_open=True),
    default=None,
    help="New built_other counts only within this many metres of ground some period shows "
    "bare_disturbed; 0 counts it anywhere. [default: 30]",
)
@click.option(
    "--tail-min-probability",
    type=click.FloatRange(0, 1),
    default=None,
    help="Probability a detection at the series end needs to be confirmed before it persists; "
    "below the persistence rule's (0.8) it confirms the run that reaches the end at that "
    "probability; 0 uses the persistence rule's. [default: the model's own (geomon "
    "model-rules), else 0.8]",
)
@click.option(
    "--tail-min-clear",
    type=click.IntRange(0, MAX_TAIL_CLEAR),
    default=None,
    metavar="N",
    help="Clear observations each period of a detection at the series end needs for it to be "
    "confirmed early; 0 always waits for the next period. [default: the model's own (geomon "
    "model-rules), else 3]",
)
@click.option(
    "--mmu-ha",
    type=click.FloatRange(0),
    default=0.5,
    show_default=True,
    help="Minimum mapping unit, hectares.",
)
@click.option("--baseline", default=None, help="Baseline period label or date (default: first).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for footprint_<period>.parquet/.geojson and classes_<period>.tif.",
)
def footprint(
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    start: dt.datetime,
    end: dt.datetime,
    source: str | None,
    max_cloud: float,
    scheduler: str | None,
    period: str,
    model_path: Path | None,
    persistence: int,
    built_reach_m: float | None,
    tail_min_probability: float | None,
    tail_min_clear: int | None,
    mmu_ha: float,
    baseline: str | None,
    out: Path,
) -> None:
    """Trace the footprint of MINE_ID (or of the --aoi polygon) per period: GeoParquet + GeoJSON
    polygons and a class COG each."""
    from geomon.footprint import (
        ChangeOptions,
        FootprintOptions,
        awaiting_hectares,
        disturbed_area,
    )
    from geomon.footprint.run import RunOptions, run_footprint, write_outputs
    from geomon.imagery import open_source
    from geomon.scheduler import dask_client

    aoi = resolve_aoi(mine_id, aoi_file, registry_dir)
    rules = _change_rules(
        ChangeOptions(persistence=persistence, tail_min_clear=tail_min_clear),
        built_reach_m,
        tail_min_probability,
    )
    fp_opts = FootprintOptions(rules, mmu_ha, baseline)
    options = RunOptions(period=period, max_cloud=max_cloud, footprint=fp_opts)
    with dask_client(scheduler):
        run = run_footprint(
            aoi,
            as_date(start),
            as_date(end),
            open_source(source),
            options,
            _load_model(model_path),
            progress=True,
        )
    write_outputs(run, out, progress=True)
    click.echo(f"{aoi.name}: model {run.model_id}; wrote {out}")
    if len(run.footprint):
        click.echo(disturbed_area(run.footprint).round(2).to_string())
    else:
        click.echo("no disturbance above the minimum mapping unit")
    for label, ha in awaiting_hectares(run.footprint).items():
        click.echo(f"awaiting confirmation in {label}: {ha:.2f} ha disturbed in its latest "
                   "clear view, not yet persistent (not counted above; the next period "
                   "confirms or clears it)")  # fmt: skip


@click.command()
@click.argument("first", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("second", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--accept",
    default="vegetation,water,built_other",
    show_default=True,
    help="Classes whose FIRST-stage answer stands (comma-separated contract classes); "
    "CLASS=P gives a class its own minimum probability instead of --min-probability "
    "(the shipped shared-band model: vegetation,water,built_other,bare_disturbed=0.98).",
)
@click.option(
    "--min-probability",
    type=click.FloatRange(0.0, 1.0),
    default=0.5,
    show_default=True,
    help="The FIRST stage's probability from which an accepted class stands (the shipped "
    "shared-band model's, chosen on validation seeds).",
)
@click.option(
    "--second-label-bias",
    "label_bias",
    multiple=True,
    metavar="LABEL=SHIFT",
    help="Add SHIFT to LABEL's output logit of the SECOND stage (a prior correction chosen on "
    "validation data); repeatable.",
)
@click.option("--model-id", default=None, help="Name stored in the model (default: file stem).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def cascade(
    first: Path,
    second: Path,
    accept: str,
    min_probability: float,
    label_bias: tuple[str, ...],
    model_id: str | None,
    out: Path,
) -> None:
    """Join two models of the same features into a two-stage model: FIRST classifies every
    pixel; where its class is not accepted or its probability is below --min-probability (or
    the class's own, --accept CLASS=P), SECOND (e.g. a wider network) decides. A stage that
    reads a subset of the other's features is widened to them with zero weights (the same
    answers)."""
    from geomon.classify import load_model
    from geomon.classify.model import Refinement, widen
    from geomon.classify.model_io import save_model
    from geomon.classify.train import with_label_bias

    a, b = load_model(first), load_model(second)
    if a.refine is not None or b.refine is not None:
        raise ConfigError("both models must have one stage; give the single-stage model files")
    # the stage that reads fewer features reads the other's, with zero weights on the rest
    if set(b.features.names) < set(a.features.names):
        b = widen(b, a.features, a)
    elif set(a.features.names) < set(b.features.names):
        a = widen(a, b.features, b)
    shifts = _label_bias(label_bias, "--second-label-bias")
    unknown = [label for label, _ in shifts if label not in b.labels]
    if unknown:
        raise ConfigError(
            f"--second-label-bias names label {unknown[0]!r}; use one of {', '.join(b.labels)}"
        )
    if shifts:
        params = dict(b.info.get("hyper_parameters", {}))
        total = dict(params.get("label_bias", {}))
        for label, shift in shifts:  # the shifts add to any the model was trained with
            total[label] = total.get(label, 0.0) + shift
        params["label_bias"] = total
        b = replace(with_label_bias(b, shifts), info={**b.info, "hyper_parameters": params})
    classes, own = accepted_classes(accept)
    name = model_id or out.stem
    info = {**_without_rules(a.info), "stages": {"first": a.model_id, "second": b.model_id}}
    rule = Refinement(b, classes, min_probability, own)
    model = replace(a, model_id=name, info=info, refine=rule)
    sha = save_model(model, out)
    click.echo(f"wrote {out} ({out.stat().st_size} bytes, sha256 {sha})")
    click.echo(
        f"model {name}: {a.model_id}, then {b.model_id} unless the class is {rule.describe()}"
    )


@click.command()
@click.argument("model_file", type=click.Path(dir_okay=False, path_type=Path))
@area_options
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day.")
@source_option
@max_cloud_option
@_period
@click.option(
    "--demo-seeds",
    default=None,
    help="Calibrate on these demo seeds (seeds the model was trained on) instead of imagery.",
)
@click.option(
    "--pixels",
    type=click.IntRange(1000, 2_000_000),
    default=400_000,
    show_default=True,
    help="Calibration pixels drawn at random from the imagery (2,000,000 take about 3 GB).",
)
@click.option("--model-id", default=None, help="Name stored in the model (default: file stem).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def quantize(
    model_file: Path,
    mine_id: str | None,
    aoi_file: Path | None,
    registry_dir: Path | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    source: str | None,
    max_cloud: float,
    period: str,
    demo_seeds: str | None,
    pixels: int,
    model_id: str | None,
    out: Path,
) -> None:
    """Run MODEL_FILE's hidden layers in 8 bits: calibrate them on imagery the
    model was trained on (MINE_ID or --aoi with dates, or --demo-seeds) and write the model
    with its 8-bit tables. Its classes can differ from the 16-bit model's on a few pixels in
    1,000: measure it with 'geomon evaluate' before use."""
    from geomon.classify import load_model
    from geomon.classify.model_io import save_model
    from geomon.classify.recipes import (
        calibration_pixels,
        classifiable_features,
        quantize_model,
        sample_pixels,
    )

    model = load_model(model_file)
    if model.route is not None:
        raise ConfigError(
            f"{model_file} routes pixels to another model; quantize each model before "
            "joining them with 'geomon route'"
        )
    if model.without_eight_bit().digest != model.digest:
        raise ConfigError(f"{model_file} is already in 8 bits; give the 16-bit model file")
    seeds = _seeds(demo_seeds)
    if seeds:
        imagery_only("--demo-seeds", "source", "period", "start", "end", "max_cloud")
        if mine_id or aoi_file:
            raise ConfigError("give either --demo-seeds or MINE_ID/--aoi with dates, not both")
        x = calibration_pixels(model, seeds, pixels, progress=True)
        where = f"demo seeds {','.join(map(str, seeds))}, annual composites"
    else:
        if not (mine_id or aoi_file):
            raise ConfigError(
                "give the imagery to calibrate on: MINE_ID or --aoi with --start and --end, "
                "or --demo-seeds the model was trained on"
            )
        comp = _computed(_composite(mine_id, aoi_file, registry_dir, start, end, source, period,
                                    model.features.bands, max_cloud,
                                    date_view=model.reads_date_view))  # fmt: skip
        x = sample_pixels(classifiable_features(comp, model), pixels)
        where = f"{mine_id or aoi_file} {start:%Y-%m-%d}..{end:%Y-%m-%d}, {period}"
    name = model_id or out.stem
    quantized = quantize_model(replace(model, model_id=name), x, where)
    sha = save_model(quantized, out)
    click.echo(f"wrote {out} ({out.stat().st_size} bytes, sha256 {sha})")
    done = [
        f"{s.eight_bit.info['pixels']} pixels" if s.eight_bit
        else "16 bits (too few pixels sent to it)" if s._quant.n_int
        else "float32 (no integer layers)"
        for s in quantized.stages
    ]  # fmt: skip
    click.echo(f"model {name}: {model.model_id} in 8 bits, calibrated on {where}: "
               f"{'; second stage on '.join(done)}")  # fmt: skip


@click.command("route")
@click.argument("first", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("other", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--where",
    "rule",
    required=True,
    metavar="'A - B > MARGIN'",
    help="Pixels where feature A exceeds feature B by more than MARGIN (as read, before "
    "clipping) take OTHER's answer, e.g. 'ndvi_max - ndvi_max_late > 0.05' (ground whose "
    "NDVI fell in the second half of the period; geomon-s2-full-v9's rule).",
)
@click.option("--model-id", default=None, help="Name stored in the model (default: file stem).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def route(first: Path, other: Path, rule: str, model_id: str | None, out: Path) -> None:
    """Join two models (each of one or two stages) into one that routes pixels: FIRST
    classifies every pixel but those --where sends to OTHER. OTHER must read every feature
    FIRST reads (FIRST is widened to OTHER's features with zero weights on the rest: the same
    answers) and give the same labels."""
    from geomon.classify import load_model
    from geomon.classify.model import Route, widen
    from geomon.classify.model_io import save_model

    minuend, subtrahend, margin = route_rule(rule)
    a, b = load_model(first), load_model(other)
    if a.route is not None or b.route is not None:
        raise ConfigError("give two models that route nothing of their own")
    routing = Route(b, minuend, subtrahend, margin)  # refuses a feature OTHER does not read
    name = model_id or out.stem
    info = {**_without_rules(a.info), "route": {"first": a.model_id, "other": b.model_id}}
    wide = replace(widen(a, b.features, b), model_id=name, info=info)
    model = replace(wide, route=routing)  # refuses other labels
    sha = save_model(model, out)
    click.echo(f"wrote {out} ({out.stat().st_size} bytes, sha256 {sha})")
    click.echo(f"model {name}: {a.model_id}, and {b.model_id} where {minuend} - {subtrahend} "
               f"> {margin}")  # fmt: skip


def route_rule(text: str) -> tuple[str, str, float]:
    """``--where``'s ``A - B > MARGIN`` as ``(A, B, MARGIN)``."""
    import re

    match = re.fullmatch(r"\s*(\w+)\s*-\s*(\w+)\s*>\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*", text)
    try:
        margin = float(match[3]) if match else float("nan")
    except ValueError:
        margin = float("nan")
    if match is None or not math.isfinite(margin):
        raise ConfigError(
            f"--where {text!r}: give 'FEATURE - FEATURE > MARGIN', e.g. "
            "'ndvi_max - ndvi_max_late > 0.05'"
        )
    return match[1], match[2], margin


def accepted_classes(text: str) -> tuple[tuple[str, ...], dict[str, float]]:
    """``--accept``'s classes, and those given a minimum probability of their own (``CLASS=P``)."""
    classes: list[str] = []
    own: dict[str, float] = {}
    for entry in (e.strip() for e in text.split(",") if e.strip()):
        name, eq, value = (x.strip() for x in entry.partition("="))
        if not name:
            raise ConfigError(f"--accept {entry!r}: give a class name, e.g. bare_disturbed=0.98")
        if name in classes:
            raise ConfigError(f"--accept names {name} twice; name each class once")
        classes.append(name)
        if eq:
            try:
                own[name] = float(value)
            except ValueError:
                raise ConfigError(
                    f"--accept {entry!r}: give a probability 0..1 after '=', "
                    "e.g. bare_disturbed=0.99"
                ) from None
    if not classes:
        raise ConfigError("--accept names no class; give e.g. vegetation,water,built_other")
    return tuple(classes), own


@click.command("model-rules")
@click.argument("model_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--tail-min-probability",
    type=click.FloatRange(0, 1),
    default=None,
    help="The tail threshold this model's footprints use where no run sets one (see geomon "
    "footprint's flag); omitted: none (0.8 applies).",
)
@click.option(
    "--tail-min-clear",
    type=click.IntRange(0, MAX_TAIL_CLEAR),
    default=None,
    metavar="N",
    help="The clear observations each period of a run at the series end needs for the tail "
    "rule to confirm it early; 0 never confirms early; omitted: none (3 applies).",
)
@click.option(
    "--date-view",
    "date_view",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="P",
    help="Also classify each period's date view (the clear observation nearest its middle) and "
    "take bare_disturbed from it at probability P or more where the composite says another "
    "clear class; omitted: no date view.",
)
@click.option(
    "--date-view-release",
    "release",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="Q",
    help="With --date-view: also take the view's other clear class at probability Q or more "
    "where the composite says bare_disturbed (the class maps only); omitted: the view only adds "
    "bare_disturbed.",
)
@click.option(
    "--date-view-baseline",
    "view_baseline",
    is_flag=True,
    default=False,
    help="With --date-view: the change rules read the view-amended classes in the baseline "
    "period (later periods, the composite's own), so ground the baseline's view calls bare is "
    "disturbed at the baseline, not new later; omitted: they read the composite's throughout.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def model_rules(
    model_file: Path,
    tail_min_probability: float | None,
    tail_min_clear: int | None,
    date_view: float | None,
    release: float | None,
    view_baseline: bool,
    out: Path,
) -> None:
    """Write MODEL_FILE with the rules it carries set to those given (the others removed):
    settings fitted to its own probabilities on validation data, which the chain uses with
    this model unless a run gives its own. Its weights are unchanged; its file hash and
    digest change."""
    from geomon.classify import load_model
    from geomon.classify.model_io import save_model

    if release is not None and date_view is None:
        raise click.UsageError("--date-view-release needs --date-view (the view it reads)")
    if view_baseline and date_view is None:
        raise click.UsageError("--date-view-baseline needs --date-view (the view it reads)")
    model = load_model(model_file)
    rules: dict[str, float] = {
        k: v
        for k, v in (("tail_min_probability", tail_min_probability),
                     ("tail_min_clear", tail_min_clear))
        if v is not None
    }  # fmt: skip
    view: dict[str, float | bool] = {} if date_view is None else {"min_probability": date_view}
    view.update({} if release is None else {"release_probability": release})
    view.update({"baseline": True} if view_baseline else {})
    info = _without_rules(model.info)
    info.update({"change_rules": rules} if rules else {})
    info.update({"date_view": view} if view else {})
    sha = save_model(replace(model, info=info), out)
    click.echo(f"wrote {out} ({out.stat().st_size} bytes, sha256 {sha})")
    click.echo(f"model {model.model_id}: change rules {rules or 'none (the defaults)'}; "
               f"date view {view or 'none'}")  # fmt: skip


COMMANDS = (train, evaluate, footprint, cascade, route, quantize, model_rules)
