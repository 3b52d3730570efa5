"""Two-stage models against the demo truth on validation seeds: where the first stage's answer
should stand.

Each mine's annual composites are loaded once and classified by the first stage and by the
second (with each prior correction of ``--shifts`` on its ``disturbed`` logit); then, per
threshold, a pixel keeps the first stage's class where it is one of ``--accept`` at that
probability or above, and takes the second stage's elsewhere, as
:class:`~geomon.classify.model.Refinement` does. Printed per shift and threshold: the share of
valid pixels the second stage classifies and ``bare_disturbed`` precision, recall, F1 and IoU,
counted as ``geomon evaluate --demo-seeds`` counts them. Use seeds apart from training (1-3,
8-10, 13-15) and test (101 and up) seeds:

    python -m bench.stage_sweep FIRST.gmodel SECOND.gmodel [--seeds 4,5,6,7,11,12]
        [--shifts=-1,-1.5,-2] [--thresholds 0.5,0.7,0.8,0.9,0.95] [--accept vegetation,water,built_other]

``--accept`` takes ``CLASS=P`` as ``geomon cascade`` does: that class stands at P whatever the
threshold of the row. Stop 19 chose the second stage's correction (-1.5) and the thresholds tried
on the change rules (0.5, 0.7, 0.8) from this table; ``geomon-shared-reduced-v9`` uses 0.5 (its
card: ``git show 50dda5c:models/geomon-shared-reduced-v9.md``). Stop 20 tried ``bare_disturbed``
at 0.9-0.99 with the others at 0.5 (``--accept vegetation,water,built_other,bare_disturbed=0.99
--thresholds 0.5 --shifts=-1.5``, one ``--accept`` per rule; see
``geomon-shared-reduced-v10``'s card: 0.98).
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.label_bias_sweep import bare_disturbed_scores
from geomon.classify import load_model
from geomon.classify.apply import classify_dataset
from geomon.classify.classes import CLASS_NAMES, CLOUD_NODATA
from geomon.classify.demo_data import contract_lookup, load_mine
from geomon.classify.model import Refinement
from geomon.classify.recipes import (
    demo_catalogs,
    pixel_counts,
    reference_classes,
    validation_seed_error,
)
from geomon.classify.train import with_label_bias
from geomon.cli.classify import accepted_classes
from geomon.errors import GeomonError


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--seeds", default="4,5,6,7,11,12")
    parser.add_argument("--shifts", default="-1,-1.5,-2")
    parser.add_argument("--thresholds", default="0,0.5,0.7,0.8,0.9,0.95")
    parser.add_argument(
        "--accept",
        action="append",
        help="classes whose first-stage answer stands, CLASS=P for a class's own threshold; "
        "repeat for several rules (default vegetation,water,built_other)",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    first, base = load_model(args.first), load_model(args.second)
    for model in (first, base):
        problem = validation_seed_error(seeds, model)
        if problem:
            raise SystemExit(problem)
    if first.features != base.features or first.labels != base.labels:
        raise SystemExit("the two stages must read the same features and predict the same labels")
    shifts, taus = _floats(args.shifts), _floats(args.thresholds)
    seconds = [with_label_bias(base, [("disturbed", s)]) for s in shifts]
    try:  # where the first stage's answer stands, per rule and threshold (as the model routes)
        rules = [
            (accept, tau, Refinement(base, classes, tau, own).thresholds)
            for accept in args.accept or ["vegetation,water,built_other"]
            for classes, own in [accepted_classes(accept)]
            for tau in taus
        ]
    except GeomonError as exc:
        raise SystemExit(f"--accept/--thresholds: {exc}") from None
    k = len(CLASS_NAMES)
    counts = np.zeros((len(shifts), len(rules), k, k), np.int64)
    sent = np.zeros(len(rules), np.int64)
    valid_px = 0
    for catalog in demo_catalogs(seeds):
        lut = contract_lookup(catalog)
        for mine_id in catalog.mine_ids:
            data = load_mine(catalog, mine_id, "year", first.reads_date_view)
            ref = reference_classes(data, lut)
            one = classify_dataset(data.imagery, first)
            code, prob = one["class"].values, one["probability"].values
            valid = code != CLOUD_NODATA
            valid_px += int(valid.sum())
            stands = [prob >= rule[code] for *_, rule in rules]
            for j, keep in enumerate(stands):
                sent[j] += int((valid & ~keep).sum())
            for i, second in enumerate(seconds):
                other = classify_dataset(data.imagery, second)["class"].values
                for j, keep in enumerate(stands):
                    counts[i, j] += pixel_counts(np.where(keep, code, other), ref)
    print(f"{first.model_id} then {base.model_id} on demo seeds {args.seeds}, year composites")
    print("shift  threshold  second stage  precision  recall      F1     IoU  accept")
    for i, shift in enumerate(shifts):
        for j, (accept, tau, _) in enumerate(rules):
            p, r, f1, iou = bare_disturbed_scores(counts[i, j])
            print(
                f"{shift:+5.2f}  {tau:9.3f}  {sent[j] / valid_px:11.1%}  {p:9.4f}  {r:6.4f}  "
                f"{f1:6.4f}  {iou:6.4f}  {accept}"
            )


if __name__ == "__main__":
    main()
