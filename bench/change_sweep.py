"""Change-rule options against the demo truth on validation seeds (never the test seeds).

The chain runs once per mine (composites, the shipped classifier); then each combination of
:class:`~geomon.footprint.change.ChangeOptions` (persistence, probability thresholds, tail rule
and the conversions it confirms, mine water) is applied to the same classes and compared with the truth, as ``geomon evaluate --footprint``
does (the truth of each run is read once). Prints, per combination, the total new-disturbance
error, the worst mine's error, the worst false new disturbance as a share of the AOI, at how
many mines it exceeds 0.5 %, how many mines are within 5 % of the truth, the mean per-mine
|error| and the gross error (false + over-counted + missed, ha: the parts that cancel in the
net error; since stop 37); then, for the
default options, each mine's error. Use seeds apart from training (1-3, 8-10, 13-15) and test
(101 and up) seeds, e.g. 4 and 5.

    python -m bench.change_sweep [--seeds 4,5] [--bands full|reduced] [--period year]
                                 [--model FILE[,FILE...]] [--by-period] [--decompose]
                                 [--truth-classes] [--ndvi-max-as-ndvi] [--grid SPEC]
    (candidate models instead of the shipped one; several files share each mine's composites)

``--ndvi-max-as-ndvi`` feeds the models each composite's own NDVI in place of ``ndvi_max`` (the
period's greatest NDVI). Stop 28, v11, the 144 validation runs, default rules: 113 of 144 within
5 % (108 as shipped), worst false new area 0.37 % of an AOI (0.50 %), total -0.2 % (-0.3 %);
ground cleared within a period is then less often called vegetation (see the stop 28 note).

``--route-late-drop DROP`` (two models) adds the first model's classes with the second's where
``ndvi_max - ndvi_max_late`` exceeds DROP. Stop 29, the 144 validation runs, default rules: v11
with a cascade trained with ``--middle-labels --late-ndvi`` at 0.05: 116 of 144 within 5 %, worst
false 0.47 % (v11 alone 108 and 0.50 %; that cascade alone 113 and 0.46 %). Full bands, v8 with
v8's command plus both flags at 0.05: 109 of 144 (v8 103, that model 106), worst false 0.47 %.

``--truth-classes`` runs the grid again with the truth in place of the classifier (each
period's middle-scene truth class where the composite saw the ground): how far the change rules
alone stand from the truth. Stop 27, the 144 validation runs (seeds 4-7, 11, 12, 16-45), default
rules: 129 of 144 within 5 % (123 without ``mine_water_share``), against 108 with the shipped
classifier; the rest is rehabilitated land dug again (vegetation at the baseline, disturbed in
the truth) and ground disturbed in the last period that one clear period cannot confirm.
Stop 32, the rules of stop 31 and ``geomon-s2-full-v9`` (the default since): 129 of 144 with the
truth's classes (worst -20.4 %, weda_bay@21; 11 of the 15 misses are the cloudiest mine, Weda
Bay, 3 Kamoto), 115 with the classifier. Counting re-dug rehabilitated land as new in the truth
(it is vegetation at the baseline) would move these to 130 and 118: not the cause.
Stop 34, after the new-area check counts mine ground (``geomon.footprint.assess``) and
``--truth-classes`` was fixed for date-view models (it had handed the rules the classifier's
``composite_class``): v9 as shipped, its own rules, the 144 runs: 130 of 144 with the truth's
classes (every miss an under-count, the new area the persistence rules cannot confirm in time;
10 of the 14 are Weda Bay, worst weda_bay@21 -20.4 %), 128 with the classifier. The classifier
is 2 mines from what these rules allow.
Stop 35, after both shipped models carry ``tail_min_clear`` 2 (the rules v9's file now carries:
``--grid 'persistence=2;min_probability=0.8;tail_min_clear=2,3;tail_min_probability=0.7;
tail_conversions=water+built_other;mine_water_share=0.5;built_reach_m=30'``), the 144 runs:
**143 of 144 with the truth's classes** (total -0.1 %, worst weda_bay@30 -5.2 %; 130 with 3),
130 with the classifier (128 with 3). With two clear observations enough at the series end, the
rules no longer cap the per-mine figure: the 13 runs between them are the classifier's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
from typing import Any, Literal

import numpy as np

from geomon.errors import ConfigError
from geomon.footprint.assess import FootprintCheck, check_demo_footprint, truth_as_classes
from geomon.footprint.change import ChangeOptions, rules_of

GRID: dict[str, tuple[Any, ...]] = {
    "persistence": (2, 3),
    "min_probability": (0.7, 0.8, 0.9),
    "tail_min_clear": (3, 5),
    "tail_min_probability": (0.0, 0.9, 0.95),
    "tail_conversions": (("water", "built_other"), ("water",), ()),
    "undisturbed_min_probability": (0.0,),
    "mine_water_share": (0.5,),
    "built_reach_m": (0.0,),
}


def ndvi_max_as_ndvi(composite: Any) -> Any:
    """``composite`` with its ``ndvi_max`` (the period's greatest clear NDVI) replaced by the NDVI
    of its own median bands, where it had one: what a period of one observation gives a model
    (``single_observation``). The classifier then no longer hears that ground bare at the middle
    of the period was green earlier in it (``--ndvi-max-as-ndvi``)."""
    from geomon.classify.features import ndvi

    if "ndvi_max" not in composite:
        return composite
    seen = composite["ndvi_max"]
    own = ndvi(composite["nir"].values, composite["red"].values)
    return composite.assign(ndvi_max=seen.copy(data=np.where(seen.notnull(), own, np.nan)))


def baseline_view(classes: Any) -> Any:
    """``classes`` whose change rules read the map's classes (a date view's amendments
    included) in the baseline period and the composite's own (``composite_*``) later: the rules
    then take ground the baseline's view calls bare as disturbed at the baseline
    (``--baseline-view``; ``classes`` unchanged when no date view amended them)."""
    from geomon.classify.apply import COMPOSITE_PREFIX

    out = classes.copy()
    for name in ("class", "probability", "cover"):
        if COMPOSITE_PREFIX + name in classes:
            kept = classes[COMPOSITE_PREFIX + name].copy(deep=True)
            kept[0] = classes[name][0]
            out[COMPOSITE_PREFIX + name] = kept
    return out


def late_drop(composite: Any, drop: float) -> Any:
    """Where the period's greatest NDVI exceeds that of its second half (``ndvi_max -
    ndvi_max_late``) by more than ``drop``: ground green early in the period and low late, as
    ground cleared before its middle is (False where either is NaN)."""
    return (composite["ndvi_max"] - composite["ndvi_max_late"]).fillna(0) > drop


def routed_by_late_drop(first: Any, second: Any, composite: Any, drop: float) -> Any:
    """``first``'s classes, with ``second``'s where :func:`late_drop`."""
    late = late_drop(composite, drop)
    out = first.copy()
    for name in first.data_vars:
        if "time" in first[name].dims:
            out[name] = first[name].where(~late, second[name]).astype(first[name].dtype)
    return out


def _classes(
    seeds: list[int],
    bands: Literal["full", "reduced"],
    period: str,
    model_paths: list[str],
    ndvi_max_from_median: bool = False,
    route: tuple[float, ...] = (),
) -> list[tuple[str, list[tuple[Any, Any, Any, str]]]]:
    """Per model (the shipped one when ``model_paths`` is empty), the classes of every mine run:
    each mine's composites are computed once and classified by every model, as
    ``run_footprint`` does (the models must read the same bands); ``ndvi_max_from_median``:
    through :func:`ndvi_max_as_ndvi` first; ``route`` (two models): a further set of runs per
    drop, the first model's classes with the second's where :func:`routed_by_late_drop` says so."""
    from geomon.classify import classify, load_model, select_model
    from geomon.classify.features import shipped_features
    from geomon.classify.recipes import demo_catalogs, validation_seed_error
    from geomon.footprint.polygons import aoi_mask
    from geomon.footprint.run import RunOptions, run_composite
    from geomon.imagery import Aoi, StaticCatalogSource
    from geomon.registry import load_registry

    run_opts = RunOptions(period=period)
    models = [load_model(p) for p in model_paths] or [select_model(shipped_features(bands).bands)]
    if len({m.features.bands for m in models}) > 1:
        raise SystemExit("the models of one sweep must read the same bands")
    for model in models:
        problem = validation_seed_error(seeds, model)
        if problem:
            raise SystemExit(problem)
    if route and len(models) != 2:
        raise SystemExit(
            "--route-late-drop needs two models: the first, and the one for ground low late"
        )
    registry = load_registry()
    runs: list[list[tuple[Any, Any, Any, str]]] = [[] for _ in range(len(models) + len(route))]
    for catalog in demo_catalogs(seeds):
        cfg = catalog.config
        start, end = dt.date(cfg.start_year, 1, 1), dt.date(cfg.start_year + cfg.years - 1, 12, 31)
        source = StaticCatalogSource(catalog.catalog_path, name="demo")
        for mine_id in catalog.mine_ids:
            aoi = Aoi.from_registry(registry, mine_id)
            comp = run_composite(aoi, start, end, source, run_opts, models[0]).compute()
            crs = str(comp.attrs["crs"])
            shape = (comp.sizes["y"], comp.sizes["x"])
            mask = aoi_mask(aoi.projected(crs), shape, comp.rio.transform())  # one grid, all models
            seen = ndvi_max_as_ndvi(comp) if ndvi_max_from_median else comp
            found = []
            for model in models:
                classes = classify(seen, model).compute()
                found.append(classes if classes.rio.crs is not None else classes.rio.write_crs(crs))
            found += [routed_by_late_drop(found[0], found[1], seen, drop) for drop in route]
            for classes, out in zip(found, runs, strict=True):
                out.append((catalog, classes, mask, f"{mine_id}@{cfg.seed}"))
    names = [p.split("/")[-1] for p in model_paths] or [models[0].model_id]
    names += [f"{names[0]}, {names[1]} where ndvi_max - ndvi_max_late > {d}" for d in route]
    for name, out in zip(names, runs, strict=True):
        print(f"model {name}, seeds {seeds}, {len(out)} mine runs", flush=True)
    return list(zip(names, runs, strict=True))


def _truth_runs(runs: list[tuple[Any, Any, Any, str]]) -> list[tuple[Any, Any, Any, str]]:
    """Each run with :func:`truth_as_classes` in place of the model's classes."""
    from geomon.classify.demo_data import contract_lookup
    from geomon.footprint.assess import truth_codes

    return [
        (cat, truth_as_classes(classes, truth_codes(cat, classes), contract_lookup(cat)), mask, n)
        for cat, classes, mask, n in runs
    ]


def _combinations(spec: str) -> list[ChangeOptions]:
    """Every combination of :data:`GRID`, with the values of ``spec`` (``name=v1,v2;name=...``;
    conversion sets as ``water+built_other`` or ``none``) in place of its own; built here, so a
    bad value ends the sweep with a one-line message before the chain runs."""
    grid = dict(GRID)
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        name, _, values = (x.strip() for x in part.partition("="))
        if name not in GRID:
            raise SystemExit(f"--grid: unknown option {name!r}; one of {', '.join(GRID)}")
        if not values:
            raise SystemExit(f"--grid: {name} has no values; write {name}=V1,V2")
        kind = type(GRID[name][0])
        try:
            grid[name] = tuple(
                tuple(c for c in v.strip().split("+") if c != "none")
                if kind is tuple
                else kind(v.strip())
                for v in values.split(",")
            )
        except ValueError:
            raise SystemExit(
                f"--grid: {name}={values} is not a list of {kind.__name__} values"
            ) from None
    try:
        return [
            ChangeOptions(**dict(zip(grid, values, strict=True)))
            for values in itertools.product(*grid.values())
        ]
    except ConfigError as exc:
        raise SystemExit(f"--grid: {exc}") from None


def _short(classes: tuple[str, ...]) -> str:
    """``water+built_other``, ``water``, ``built_other`` or ``none``, as ``--grid`` takes them."""
    return "+".join(classes) or "none"


def _sweep(
    runs: list[tuple[Any, Any, Any, str]], truths: list[Any], combinations: list[ChangeOptions]
) -> None:
    """Print the grid for one model's mine runs, then each mine under the default options
    (``truths``: each run's :func:`~geomon.footprint.assess.truth_disturbed`); the defaults
    are the model's where it carries change rules of its own."""
    default = ChangeOptions().resolved(rules_of(runs[0][1]) if runs else None)
    print(f"{'persist':>8}{'min p':>7}{'tail cc':>8}{'tail p':>8}{'tail conversions':>18}{'undist p':>9}{'mine w':>7}{'reach m':>8}{'total err':>11}"
          f"{'worst mine':>12}{'worst false/AOI':>17}{'false > 0.5 %':>15}{'within 5 %':>16}"
          f"{'mean |err|':>11}{'gross ha':>10}")  # fmt: skip
    for opts in combinations:
        checks: list[FootprintCheck] = [
            check_demo_footprint(cat, classes, mask, name, opts, truth)
            for (cat, classes, mask, name), truth in zip(runs, truths, strict=True)
        ]
        new = sum(c.new_ha for c in checks)
        truth_ha = sum(c.truth_new_ha for c in checks)
        worst = max(checks, key=lambda c: abs(c.new_error))
        false = max(c.false_share_of_aoi for c in checks)
        n_false = sum(c.false_share_of_aoi > 0.005 for c in checks)
        n_within = sum(abs(c.new_error) <= 0.05 for c in checks)
        mean_abs = float(np.mean([abs(c.new_error) for c in checks if c.truth_new_ha]))
        gross = sum(c.gross_error_ha for c in checks)
        mark = "  (default)" if opts == default else ""
        print(f"{opts.persistence:8d}{opts.min_probability:7.2f}{opts.tail_min_clear:8d}"
              f"{opts.tail_min_probability:8.2f}{_short(opts.tail_conversions):>18s}"
              f"{opts.undisturbed_min_probability:9.2f}{opts.mine_water_share:7.2f}"
              f"{opts.built_reach_m:8.0f}"
              f"{100 * (new - truth_ha) / truth_ha:10.1f}%{100 * worst.new_error:11.1f}%"
              f"{100 * false:16.2f}%{n_false:15d}{n_within:9d} of {len(checks)}"
              f"{100 * mean_abs:10.2f}%{gross:10.2f}{mark}",
              flush=True)  # fmt: skip
    checks = [
        check_demo_footprint(cat, classes, mask, name, default, truth)
        for (cat, classes, mask, name), truth in zip(runs, truths, strict=True)
    ]
    within = [c for c in checks if abs(c.new_error) <= 0.05]
    print(f"default options: {len(within)} of {len(checks)} mines within 5 % of the truth")
    for c in sorted(checks, key=lambda c: -abs(c.new_error)):
        print(f"  {c.mine_id:32s}{c.new_ha:10.1f} ha{c.truth_new_ha:10.1f} ha truth"
              f"{100 * c.new_error:+8.1f}%   false {100 * c.false_share_of_aoi:.2f} % of the AOI")  # fmt: skip


def _by_period(runs: list[tuple[Any, Any, Any, str]], truths: list[Any]) -> None:
    """Under the default options: where the new-disturbance error sits in time. Per period (the
    first is the baseline), the truly new area by the period the truth first shows it, the area
    marked new there, and the truly new area never marked (by the truth's period); then the
    missed area whose first clear view came at or after the truth's onset (the chain calls it
    persisting: it had no clear baseline)."""
    from geomon.footprint.assess import new_by_period

    parts = [
        (name, new_by_period(cat, classes, mask, truth=truth))
        for (cat, classes, mask, name), truth in zip(runs, truths, strict=True)
    ]
    print("new disturbance by period (default options): truth / marked new / missed, ha")
    total_t = np.sum([p.truth_ha for _, p in parts], axis=0)
    total_n = np.sum([p.new_ha for _, p in parts], axis=0)
    total_m = np.sum([p.missed_ha for _, p in parts], axis=0)
    total_u = sum(p.unseen_baseline_ha for _, p in parts)
    rows = [(name, p.truth_ha, p.new_ha, p.missed_ha, p.unseen_baseline_ha) for name, p in parts]
    for name, t, n, m, unseen in [*rows, ("total", total_t, total_n, total_m, total_u)]:
        cells = "  ".join(f"t{i} {t[i]:6.1f} /{n[i]:6.1f} /{m[i]:5.1f}" for i in range(1, len(t)))
        print(f"  {name:28s}{cells}  unseen baseline {unseen:5.1f}")
    errors = "  ".join(
        f"t{i} {100 * (total_n[i] - total_t[i]) / total_t[i]:+.1f} %"
        for i in range(1, len(total_t))
        if total_t[i]
    )
    print(f"  marked new against the truth, by period: {errors}")


def _decompose(runs: list[tuple[Any, Any, Any, str]], truths: list[Any]) -> None:
    """Under the default options: each run's new-disturbance error split into its parts (ha):
    false (marked new, never truly disturbed), over@base (marked new, truly disturbed at the
    baseline already), missed by the period the truth first shows it; then, over all runs, the
    over@base pixels by (truth cover at the baseline, the chain's baseline class) and the
    missed pixels of the last period by (the chain's class there, its probability), and the
    false pixels by (the truth's cover in the period the chain first marks them new, the
    chain's class there, whether they lie within 2 px of land the mine ever truly disturbs)."""
    import collections

    from scipy import ndimage

    from geomon.classify.classes import CLASS_NAMES
    from geomon.classify.demo_data import cover_codes
    from geomon.footprint import rule_inputs
    from geomon.footprint.assess import _against_truth, truth_codes

    over_by: collections.defaultdict[tuple[str, str], float] = collections.defaultdict(float)  # ha
    last_by: collections.defaultdict[tuple[str, str], float] = collections.defaultdict(float)
    false_by: collections.defaultdict[tuple[str, str], float] = collections.defaultdict(float)
    total = np.zeros(3)
    print("error parts under the default options, ha: truly new / false / over@base / missed by "
          "the truth's onset period")  # fmt: skip
    for (cat, classes, mask, name), truth in zip(runs, truths, strict=True):
        classes = rule_inputs(classes)  # the classes the rules read (not a date view's map)
        result, new_t, truth, truth_new, px = _against_truth(cat, classes, mask, None, truth)
        new = new_t.any(axis=0)
        ever = truth.any(axis=0)
        onset = np.where(ever, truth.argmax(axis=0), -1)
        over = new & ever & ~truth_new
        missed = truth_new & ~new
        n = truth.shape[0]
        miss_by = [float((missed & (onset == t)).sum()) * px for t in range(1, n)]
        parts = np.array([truth_new.sum(), (new & ~ever).sum(), over.sum()]) * px
        total += parts
        print(f"  {name:28s}{parts[0]:8.1f}{parts[1]:7.1f}{parts[2]:7.1f}   "
              + " ".join(f"t{t} {m:5.1f}" for t, m in enumerate(miss_by, start=1)))  # fmt: skip
        cover = cover_codes(cat)
        codes = truth_codes(cat, classes)
        codes0 = codes[0]
        base = result.baseline_class
        false = new & ~ever
        first = new_t.argmax(axis=0)[false]
        near = ndimage.binary_dilation(ever, iterations=2)[false]
        yy, xx = np.nonzero(false)
        chain = classes["class"].values[first, yy, xx]
        for c, k, edge in zip(codes[first, yy, xx], chain, near, strict=True):
            where = "edge" if edge else "away"
            false_by[f"{cover.get(int(c), str(c))} ({where})", CLASS_NAMES[int(k)]] += px
        for c, b in zip(codes0[over], base[over], strict=True):
            over_by[cover.get(int(c), str(c)), CLASS_NAMES[int(b)]] += px
        last = missed & (onset == n - 1)
        code = classes["class"].values[-1][last]
        prob = classes["probability"].values[-1][last]
        for c, p in zip(code, prob, strict=True):
            band = "p < 0.8" if p < 0.8 else "p < 0.9" if p < 0.9 else "p >= 0.9"
            last_by[CLASS_NAMES[int(c)], band] += px
    print(f"  {'total':28s}{total[0]:8.1f}{total[1]:7.1f}{total[2]:7.1f}")
    print("  over@base by (truth cover at the baseline, chain's baseline class), ha:")
    for (c, b), ha in _largest(over_by):
        print(f"    {c:20s}{b:16s}{ha:8.1f}")
    print("  missed in the last period by (chain's class there, its probability), ha:")
    for (c, band), ha in _largest(last_by):
        print(f"    {c:16s}{band:10s}{ha:8.1f}")
    print("  false by (truth cover where first marked new, within 2 px of mine land or not; "
          "chain's class there), ha:")  # fmt: skip
    for (c, k), ha in _largest(false_by):
        print(f"    {c:28s}{k:16s}{ha:8.1f}")


def _largest(hectares: dict[tuple[str, str], float]) -> list[tuple[tuple[str, str], float]]:
    """The eight largest entries, largest first."""
    return sorted(hectares.items(), key=lambda item: -item[1])[:8]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="4,5", help="validation demo seeds (default 4,5)")
    parser.add_argument("--bands", choices=("full", "reduced"), default="full")
    parser.add_argument("--period", default="year")
    parser.add_argument(
        "--model",
        default="",
        help="model file(s), comma-separated (default: the shipped one); several files share "
        "each mine's composites (e.g. one model with several prior corrections)",
    )
    parser.add_argument(
        "--by-period",
        action="store_true",
        help="also print where the new-disturbance error sits in time (default options)",
    )
    parser.add_argument(
        "--decompose",
        action="store_true",
        help="also split each run's error into false, over-counted-at-baseline and missed area, "
        "and say what the over-counted and last-period missed ground was (default options)",
    )
    parser.add_argument(
        "--truth-classes",
        action="store_true",
        help="also run the grid on each period's middle-scene truth class where the composite "
        "saw the ground (probability 1): the change rules' ceiling with a perfect classifier",
    )
    parser.add_argument(
        "--ndvi-max-as-ndvi",
        action="store_true",
        help="feed the models the NDVI of each composite's medians in place of the period's "
        "greatest NDVI (what one observation gives them)",
    )
    parser.add_argument(
        "--route-late-drop",
        default="",
        metavar="DROP[,DROP]",
        help="with two models: also the first's classes with the second's where ndvi_max - "
        "ndvi_max_late > DROP (ground green early in the period and low late), per DROP",
    )
    parser.add_argument(
        "--baseline-view",
        action="store_true",
        help="the change rules read a date-view model's map classes in the baseline period "
        "and the composite's own later (bench/date_view.py, stop 34's sixth try)",
    )
    parser.add_argument(
        "--grid",
        default="",
        help="values to try instead of the built-in grid's, e.g. "
        "'persistence=2;tail_conversions=water+built_other,water,none'",
    )
    args = parser.parse_args(argv)
    combinations = _combinations(args.grid)
    paths = [p for p in args.model.split(",") if p]
    drops = tuple(float(d) for d in args.route_late_drop.split(",") if d)
    seeds = [int(s) for s in args.seeds.split(",")]
    from geomon.footprint.assess import truth_disturbed

    truths: list[Any] = []
    for name, runs in _classes(seeds, args.bands, args.period, paths, args.ndvi_max_as_ndvi, drops):
        print(f"== {name}")
        if args.baseline_view:
            runs = [(cat, baseline_view(cl), mask, mine) for cat, cl, mask, mine in runs]
        # the truth of a run is read once: every model and combination shares its grid
        truths = truths or [truth_disturbed(cat, classes) for cat, classes, _, _ in runs]
        _sweep(runs, truths, combinations)
        if args.by_period:
            _by_period(runs, truths)
        if args.decompose:
            _decompose(runs, truths)
        if args.truth_classes:
            print(f"== {name}'s runs with the truth's middle-scene classes")
            _sweep(_truth_runs(runs), truths, combinations)


if __name__ == "__main__":
    main()
