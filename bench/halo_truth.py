"""MSA·ha lost on the mapped footprint against the same chain run on the demo's ground truth.

For each demo mine (catalog seed 42, the `geomon demo` default; never used in training) the chain
runs as `geomon demo` runs it: composites, the shipped classifier, the footprint, impacts. The
same footprint tracer and impact code then run on a *truth* classes dataset: the generator's land
cover at each period's middle scene, mapped to contract classes and covers, on the same grid,
with the same clear-observation counts. The difference between the two rows is what the
classifier's errors do to each figure; the halo part shows how strongly scattered false
detections drive it (each isolated patch carries its own GLOBIO rings).

    python -m bench.halo_truth [--seed 42]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd
import xarray as xr


def _truth_classes(catalog: object, classes: xr.Dataset) -> xr.Dataset:
    """``classes`` with ``class`` and ``cover`` replaced by the truth of each period's middle scene
    (pixels the map saw as cloud or no data stay so, probability 1)."""
    from geomon.classify.classes import COVER_NAMES
    from geomon.classify.demo_data import contract_lookup, cover_codes
    from geomon.classify.samples import DEMO_COVER_LABELS, DEMO_SCHEME
    from geomon.footprint.assess import truth_codes

    cls_lut = contract_lookup(catalog)  # type: ignore[arg-type]
    cover_lut = np.full(256, COVER_NAMES.index("unknown"), np.uint8)
    for value, name in cover_codes(catalog).items():  # type: ignore[arg-type]
        label = DEMO_COVER_LABELS.get(name)
        if label is not None:
            cover_lut[value] = COVER_NAMES.index(
                DEMO_SCHEME.covers[DEMO_SCHEME.labels.index(label)]
            )
    truth = truth_codes(catalog, classes)
    seen = (classes["class"].values > 0) & (cls_lut[truth] != 255)
    code = np.where(seen, cls_lut[truth], 0).astype(np.uint8)
    cover = np.where(seen, cover_lut[truth], classes["cover"].values).astype(np.uint8)
    out = classes.copy()
    out["class"] = (classes["class"].dims, code)
    out["cover"] = (classes["cover"].dims, cover)
    out["probability"] = (classes["probability"].dims, np.where(code > 0, 1.0, 0.0).astype("f4"))
    return out


def run(seed: int) -> pd.DataFrame:
    from geomon.classify.recipes import demo_catalogs
    from geomon.footprint import FootprintOptions, trace_footprint
    from geomon.footprint.run import RunOptions, run_footprint
    from geomon.imagery import Aoi, StaticCatalogSource
    from geomon.impacts import compute_impacts
    from geomon.registry import load_registry

    registry = load_registry()
    (catalog,) = demo_catalogs([seed])
    cfg = catalog.config
    start, end = dt.date(cfg.start_year, 1, 1), dt.date(cfg.start_year + cfg.years - 1, 12, 31)
    source = StaticCatalogSource(catalog.catalog_path, name="demo")
    rows = []
    for mine_id in catalog.mine_ids:
        t0 = time.perf_counter()
        aoi = Aoi.from_registry(registry, mine_id)
        fp_run = run_footprint(aoi, start, end, source, RunOptions(period="year"))
        crs = str(fp_run.classes.rio.crs)
        truth = _truth_classes(catalog, fp_run.classes)
        opts = FootprintOptions(aoi_crs=crs)
        truth_fp = trace_footprint(truth, aoi.projected(crs), mine_id, opts)
        mine = registry.mine(mine_id).to_dict()
        for kind, fp in (("map", fp_run.footprint), ("truth", truth_fp)):
            imp = compute_impacts(fp, mine)
            for _, r in imp.iterrows():
                rows.append(
                    {
                        "mine": mine_id,
                        "period": r["period"],
                        "kind": kind,
                        "disturbed_ha": r["ha_disturbed"],
                        "patches": int(
                            (fp["period"].astype(str) == str(r["period"]))
                            .mul(fp["status"].isin(["new", "persisting"]))
                            .sum()
                        ),
                        "msa_footprint": r["msa_ha_lost_footprint"],
                        "msa_halo": r["msa_ha_lost_halo"],
                    }
                )
        print(f"{mine_id}: {time.perf_counter() - t0:.1f} s", flush=True)
    return pd.DataFrame(rows)


def _table(df: pd.DataFrame) -> None:
    wide = df.pivot_table(
        index=["mine", "period"],
        columns="kind",
        values=["disturbed_ha", "patches", "msa_footprint", "msa_halo"],
    )
    head = (
        f"{'mine':22s}{'period':>7s}{'ha map':>9s}{'truth':>8s}{'polys map':>10s}{'truth':>7s}"
        f"{'fp map':>9s}{'truth':>8s}{'halo map':>10s}{'truth':>8s}"
    )
    print(head)
    for (mine, period), r in wide.iterrows():
        print(
            f"{mine:22s}{period!s:>7s}{r['disturbed_ha', 'map']:9.1f}{r['disturbed_ha', 'truth']:8.1f}"
            f"{r['patches', 'map']:10.0f}{r['patches', 'truth']:7.0f}"
            f"{r['msa_footprint', 'map']:9.1f}{r['msa_footprint', 'truth']:8.1f}"
            f"{r['msa_halo', 'map']:10.1f}{r['msa_halo', 'truth']:8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42, help="demo catalog seed (default 42)")
    args = parser.parse_args()
    df = run(args.seed)
    print(f"\nMSA·ha lost, map against truth, demo seed {args.seed} (annual periods)")
    _table(df)
    sub = df.pivot_table(
        index=["mine", "period"], columns="kind", values=["msa_footprint", "msa_halo"]
    )
    for part in ("msa_footprint", "msa_halo"):
        diff = (sub[part, "map"] - sub[part, "truth"]).abs().sum()
        print(
            f"{part}: sum over mines and periods map {sub[part, 'map'].sum():.1f}, "
            f"truth {sub[part, 'truth'].sum():.1f}, sum |map - truth| {diff:.1f}"
        )


if __name__ == "__main__":
    main()
