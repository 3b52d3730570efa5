"""The classifier's pixel accuracy with its temporal input as computed and as one observation.

Every shipped model reads ``ndvi_max``, the greatest NDVI of the period's clear observations. On
ground cleared during a period it still says "green", and ground bare at the middle of the period
is called vegetation more often. This runs a model over the annual composites of validation demo
seeds twice, with ``ndvi_max`` as the composite holds it and with the composite's own NDVI in its
place (:func:`bench.change_sweep.ndvi_max_as_ndvi`: what a period of one observation gives a
model), and prints ``bare_disturbed`` F1 and IoU against each pixel's middle-scene truth: on the
pixels whose truth is the same in every scene of the period (``stable``, ``geomon evaluate``'s
stable-pixel reference), on the others (``changed``: their truth changed within the period, or
one of its scenes did not cover them), and on both (``all``, as ``geomon evaluate``'s second
report). The footprint side of
the same comparison is ``python -m bench.change_sweep --ndvi-max-as-ndvi``.

Stop 28, ``geomon-shared-reduced-v11``, seeds 4 and 5 (bare F1, as computed / one observation):
stable 0.9472 / 0.9472, changed 0.8467 / 0.8756, all 0.9135 / 0.9229 (IoU 0.8407 / 0.8569).

Stop 29, validation seeds 4-7, 11, 12, ``--as-computed`` (bare F1 stable / changed / all):
v11 0.9588 / 0.8477 / 0.9248; v10's recipe retrained under today's libraries 0.9554 / 0.8378 /
0.9195; the same with ``--middle-labels --late-ndvi`` on both stages 0.9505 / 0.8933 / 0.9327;
``--route-late-drop 0.05`` of v11 and that model 0.9588 / 0.8871 / 0.9365. Full bands: v8
0.9676 / 0.8643 / 0.9356; v8's command with both flags 0.9561 / 0.9104 / 0.9417; routed at 0.05
0.9673 / 0.9084 / 0.9487 (IoU at the middle scene 0.9024).

    python -m bench.temporal_input [--seeds 4,5] [--bands full|reduced] [--model FILE[,FILE]]
        [--as-computed]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from geomon.classify.classes import BARE_DISTURBED, CLASS_NAMES

GROUPS = ("stable", "changed", "all")
VARIANTS = ("as computed", "one observation")


def bare_scores(counts: np.ndarray) -> tuple[float, float]:
    """``bare_disturbed`` F1 and IoU from ``counts[map, reference]`` over the contract codes,
    leaving out code 0 (cloud_nodata) as ``geomon evaluate`` does (NaN where there is nothing to
    score)."""
    from geomon.evaluate import assess

    scored = counts[1:, 1:]
    if not scored.any():  # assess refuses an empty matrix
        return float("nan"), float("nan")
    score = assess(scored, CLASS_NAMES[1:]).score(CLASS_NAMES[BARE_DISTURBED])
    return score["f1"], score["iou"]


def measure(
    seeds: list[int],
    bands: Literal["full", "reduced"],
    model_paths: Sequence[str] = (),
    one_observation: bool = True,
    route: Sequence[float] = (),
) -> dict[tuple[str, str], np.ndarray]:
    """Confusion counts ``[map, reference]`` per (column, group) over the mines of ``seeds``:
    a column per model (the shipped one without ``model_paths``; each mine's composites are
    shared), as computed and, with ``one_observation``, with ``ndvi_max`` as one observation;
    with two models and ``route``, a column per drop: the first model's classes with the
    second's where ``ndvi_max - ndvi_max_late`` exceeds it (``change_sweep --route-late-drop``)."""
    from bench.change_sweep import late_drop, ndvi_max_as_ndvi
    from geomon.classify import load_model, select_model
    from geomon.classify.apply import classify_dataset
    from geomon.classify.demo_data import NO_LABEL, contract_lookup, load_mine
    from geomon.classify.features import shipped_features
    from geomon.classify.recipes import (
        demo_mines,
        pixel_counts,
        reference_classes,
        validation_seed_error,
    )

    models = (
        {Path(p).name: load_model(p) for p in model_paths}
        if model_paths
        else {"shipped": select_model(shipped_features(bands).bands)}
    )
    for model in models.values():
        problem = validation_seed_error(seeds, model)
        if problem:
            raise SystemExit(problem)
    variants = VARIANTS if one_observation else VARIANTS[:1]
    k = len(CLASS_NAMES)
    counts: dict[tuple[str, str], np.ndarray] = {}
    for catalog, mine_ids in demo_mines(seeds, 5, True, "mines"):
        lut = contract_lookup(catalog)
        for mine_id in mine_ids:
            view = any(m.reads_date_view for m in models.values())
            data = load_mine(catalog, mine_id, "year", view)
            ref = reference_classes(data, lut, middle=True)
            changed = (data.cover == NO_LABEL) & (data.middle != NO_LABEL)
            inputs = [data.imagery, *([ndvi_max_as_ndvi(data.imagery)] if one_observation else [])]
            for variant, composite in zip(variants, inputs, strict=True):
                preds = {
                    (variant if len(models) == 1 else f"{name}, {variant}"): classify_dataset(
                        composite, model
                    )["class"].values
                    for name, model in models.items()
                }
                if route:
                    first, second = list(preds.values())[:2]
                    for drop in route:
                        routed = np.where(late_drop(data.imagery, drop).values, second, first)
                        preds[f"routed at {drop}, {variant}"] = routed
                for column, pred in preds.items():
                    stable = pixel_counts(pred, np.where(changed, NO_LABEL, ref))
                    moved = pixel_counts(pred, np.where(changed, ref, NO_LABEL))
                    for group, add in zip(GROUPS, (stable, moved, stable + moved), strict=True):
                        counts.setdefault((column, group), np.zeros((k, k), np.int64))
                        counts[column, group] += add
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="4,5", help="validation demo seeds (default 4,5)")
    parser.add_argument("--bands", choices=("full", "reduced"), default="reduced")
    parser.add_argument(
        "--model",
        default="",
        help="model file(s), comma-separated (default: the shipped one); they share each "
        "mine's composites",
    )
    parser.add_argument(
        "--route-late-drop",
        default="",
        metavar="DROP[,DROP]",
        help="with two models: also the first's classes with the second's where ndvi_max - "
        "ndvi_max_late > DROP, per DROP",
    )
    parser.add_argument(
        "--as-computed",
        action="store_true",
        help="only the temporal input as computed (not also as one observation)",
    )
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    paths = [p for p in args.model.split(",") if p]
    drops = [float(d) for d in args.route_late_drop.split(",") if d]
    if drops and len(paths) != 2:
        raise SystemExit("--route-late-drop needs two models (--model FIRST,SECOND)")
    counts = measure(seeds, args.bands, paths, not args.as_computed, drops)
    columns = list(dict.fromkeys(column for column, _ in counts))
    print(f"bare_disturbed F1 / IoU at the middle scene, annual composites, seeds {args.seeds}")
    for column in columns:
        cells = "   ".join(
            f"{group} {f:.4f} / {i:.4f}"
            for group in GROUPS
            for f, i in [bare_scores(counts[column, group])]
        )
        print(f"{column:40s} {cells}")


if __name__ == "__main__":
    main()
