"""Change-rule options against the demo truth on validation seeds (never the test seeds).

The chain runs once per mine (composites, the shipped classifier); then each combination of
:class:`~geomon.footprint.change.ChangeOptions` (persistence, probability thresholds, tail rule)
is applied to the same classes and compared with the truth, as ``geomon evaluate --footprint``
does. Prints, per combination, the total new-disturbance error, the worst mine's error and the
worst false new disturbance as a share of the AOI; then, for the default options, each mine's
error and how many mines are within 5 % of the truth. Use seeds apart from training (1-3, 8-10)
and test (101, 102) seeds, e.g. 4 and 5.

    python -m bench.change_sweep [--seeds 4,5] [--bands full|reduced] [--period year]
                                 [--model FILE]  (a candidate model instead of the shipped one)
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
from typing import Any

from geomon.footprint.assess import FootprintCheck, check_demo_footprint
from geomon.footprint.change import ChangeOptions

GRID: dict[str, tuple[Any, ...]] = {
    "persistence": (2, 3),
    "min_probability": (0.7, 0.8, 0.9),
    "tail_min_clear": (3, 5),
    "tail_min_probability": (0.0, 0.9, 0.95),
}


def _classes(
    seeds: list[int], bands: str, period: str, model_path: str | None = None
) -> list[tuple[Any, Any, Any, str]]:
    from geomon.classify import FULL_FEATURES, REDUCED_FEATURES, load_model, select_model
    from geomon.classify.recipes import demo_catalogs
    from geomon.footprint.polygons import aoi_mask
    from geomon.footprint.run import RunOptions, run_footprint
    from geomon.imagery import Aoi, StaticCatalogSource
    from geomon.registry import load_registry

    fset = FULL_FEATURES if bands == "full" else REDUCED_FEATURES
    model = load_model(model_path) if model_path else select_model(fset.bands)
    trained = set(model.info.get("training_data", {}).get("seeds", []))
    if trained & set(seeds) or {101, 102} & set(seeds):
        raise SystemExit("use validation seeds: neither training seeds nor the test seeds 101, 102")
    registry = load_registry()
    out = []
    for catalog in demo_catalogs(seeds):
        cfg = catalog.config
        start, end = dt.date(cfg.start_year, 1, 1), dt.date(cfg.start_year + cfg.years - 1, 12, 31)
        source = StaticCatalogSource(catalog.catalog_path, name="demo")
        for mine_id in catalog.mine_ids:
            aoi = Aoi.from_registry(registry, mine_id)
            run = run_footprint(aoi, start, end, source, RunOptions(period=period), model)
            shape = (run.classes.sizes["y"], run.classes.sizes["x"])
            mask = aoi_mask(
                aoi.projected(str(run.classes.rio.crs)), shape, run.classes.rio.transform()
            )
            out.append((catalog, run.classes, mask, f"{mine_id}@{cfg.seed}"))
    print(f"model {model.model_id}, seeds {seeds}, {len(out)} mine runs", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="4,5", help="validation demo seeds (default 4,5)")
    parser.add_argument("--bands", choices=("full", "reduced"), default="full")
    parser.add_argument("--period", default="year")
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    args = parser.parse_args()
    runs = _classes([int(s) for s in args.seeds.split(",")], args.bands, args.period, args.model)
    default = ChangeOptions()
    print(f"{'persist':>8}{'min p':>7}{'tail cc':>8}{'tail p':>8}{'total err':>11}"
          f"{'worst mine':>12}{'worst false/AOI':>17}")  # fmt: skip
    for values in itertools.product(*GRID.values()):
        opts = ChangeOptions(**dict(zip(GRID, values, strict=True)))
        checks: list[FootprintCheck] = [
            check_demo_footprint(cat, classes, mask, name, opts)
            for cat, classes, mask, name in runs
        ]
        new = sum(c.new_ha for c in checks)
        truth = sum(c.truth_new_ha for c in checks)
        worst = max(checks, key=lambda c: abs(c.new_error))
        false = max(c.false_share_of_aoi for c in checks)
        mark = "  (default)" if opts == default else ""
        print(f"{opts.persistence:8d}{opts.min_probability:7.2f}{opts.tail_min_clear:8d}"
              f"{opts.tail_min_probability:8.2f}"
              f"{100 * (new - truth) / truth:10.1f}%{100 * worst.new_error:11.1f}%"
              f"{100 * false:16.2f}%{mark}")  # fmt: skip
    checks = [
        check_demo_footprint(cat, classes, mask, name, default) for cat, classes, mask, name in runs
    ]
    within = [c for c in checks if abs(c.new_error) <= 0.05]
    print(f"default options: {len(within)} of {len(checks)} mines within 5 % of the truth")
    for c in sorted(checks, key=lambda c: -abs(c.new_error)):
        print(
            f"  {c.mine_id:32s}{c.new_ha:10.1f} ha{c.truth_new_ha:10.1f} ha truth{100 * c.new_error:+8.1f}%"
        )


if __name__ == "__main__":
    main()
