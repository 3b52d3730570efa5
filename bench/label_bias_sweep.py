"""Prior correction of one label's output logit against the demo truth on validation seeds.

Each mine's composites are loaded once; the model is applied with each shift of the label's
output bias (``TrainOptions.label_bias``) and ``bare_disturbed`` precision, recall, F1 and IoU
are printed per shift, counted as ``geomon evaluate --demo-seeds`` counts them. Use seeds apart
from training (1-3, 8-10, 13-15) and test (101 and up) seeds. Train the model without a shift first:

    geomon train --demo-seeds 1,2,3,8,9,10,13,14,15 --bands full --hidden 64,32 --out /tmp/full.gmodel
    python -m bench.label_bias_sweep /tmp/full.gmodel [--seeds 4,5,6,7,11,12]
        [--shifts 0,-0.5,-1,-1.5] [--label disturbed] [--period year] [--by-cover]

``--by-cover`` adds, per shift, the truth covers (per mine) of the missed and of the false
``bare_disturbed`` pixels, most first: where the errors are (stop 16's diagnosis of v7 and v8).
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from geomon.classify import load_model
from geomon.classify.apply import classify_dataset
from geomon.classify.classes import BARE_DISTURBED, CLASS_NAMES, CLOUD_NODATA
from geomon.classify.demo_data import NO_LABEL, contract_lookup, cover_codes, load_mine
from geomon.classify.recipes import (
    demo_catalogs,
    pixel_counts,
    reference_classes,
    validation_seed_error,
)
from geomon.classify.train import with_label_bias


def bare_disturbed_scores(count: np.ndarray) -> tuple[float, float, float, float]:
    """``bare_disturbed`` precision, recall, F1 and IoU of confusion counts (rows = map)."""
    tp = count[BARE_DISTURBED, BARE_DISTURBED]
    mapped, truth = count[BARE_DISTURBED].sum(), count[:, BARE_DISTURBED].sum()
    p, r = tp / mapped, tp / truth
    return float(p), float(r), float(2 * p * r / (p + r)), float(tp / (mapped + truth - tp))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--seeds", default="4,5,6,7,11,12")
    parser.add_argument("--shifts", default="0,-0.5,-1,-1.5")
    parser.add_argument("--label", default="disturbed")
    parser.add_argument("--period", default="year")
    parser.add_argument(
        "--by-cover", action="store_true", help="also the truth covers of missed and false pixels"
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    base = load_model(args.model)
    problem = validation_seed_error(seeds, base)
    if problem:
        raise SystemExit(problem)
    shifts = [float(s) for s in args.shifts.split(",")]
    models = [with_label_bias(base, [(args.label, s)]) for s in shifts]
    k = len(CLASS_NAMES)
    counts = [np.zeros((k, k), np.int64) for _ in shifts]
    missed: list[Counter[str]] = [Counter() for _ in shifts]
    false: list[Counter[str]] = [Counter() for _ in shifts]
    for catalog in demo_catalogs(seeds):
        lut = contract_lookup(catalog)
        names = cover_codes(catalog)
        for mine_id in catalog.mine_ids:
            data = load_mine(catalog, mine_id, args.period, base.reads_date_view)
            ref = reference_classes(data, lut)
            for i, (model, count) in enumerate(zip(models, counts, strict=True)):
                pred = classify_dataset(data.imagery, model)["class"].values
                count += pixel_counts(pred, ref)
                if args.by_cover:
                    keep = (ref != NO_LABEL) & (pred != CLOUD_NODATA)
                    is_map, is_ref = pred == BARE_DISTURBED, ref == BARE_DISTURBED
                    for tally, sel in ((missed[i], is_ref & ~is_map), (false[i], is_map & ~is_ref)):
                        codes, n = np.unique(data.cover[keep & sel], return_counts=True)
                        for code, c in zip(codes, n, strict=True):
                            tally[f"{mine_id}:{names.get(int(code), code)}"] += int(c)
    print(
        f"{base.model_id} on demo seeds {args.seeds}, {args.period} composites, {args.label} shift"
    )
    for i, (shift, count) in enumerate(zip(shifts, counts, strict=True)):
        p, r, f1, iou = bare_disturbed_scores(count)
        print(f"shift {shift:+.2f}: bare_disturbed precision {p:.4f} recall {r:.4f} "
              f"F1 {f1:.4f} IoU {iou:.4f}")  # fmt: skip
        if args.by_cover:
            for what, tally in (("missed", missed[i]), ("false", false[i])):
                top = ", ".join(f"{name} {n}" for name, n in tally.most_common(6))
                print(f"  {what} {sum(tally.values())} px: {top}")


if __name__ == "__main__":
    main()
