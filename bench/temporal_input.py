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

    python -m bench.temporal_input [--seeds 4,5] [--bands full|reduced] [--model FILE]
"""

from __future__ import annotations

import argparse
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
    seeds: list[int], bands: Literal["full", "reduced"], model_path: str = ""
) -> dict[tuple[str, str], np.ndarray]:
    """Confusion counts ``[map, reference]`` per (variant, group) over the mines of ``seeds``."""
    from bench.change_sweep import ndvi_max_as_ndvi
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

    model = load_model(model_path) if model_path else select_model(shipped_features(bands).bands)
    problem = validation_seed_error(seeds, model)
    if problem:
        raise SystemExit(problem)
    k = len(CLASS_NAMES)
    counts = {(v, g): np.zeros((k, k), np.int64) for v in VARIANTS for g in GROUPS}
    for catalog, mine_ids in demo_mines(seeds, 5, True, "mines"):
        lut = contract_lookup(catalog)
        for mine_id in mine_ids:
            data = load_mine(catalog, mine_id, "year")
            ref = reference_classes(data, lut, middle=True)
            changed = (data.cover == NO_LABEL) & (data.middle != NO_LABEL)
            inputs = (data.imagery, ndvi_max_as_ndvi(data.imagery))
            for variant, composite in zip(VARIANTS, inputs, strict=True):
                pred = classify_dataset(composite, model)["class"].values
                stable = pixel_counts(pred, np.where(changed, NO_LABEL, ref))
                moved = pixel_counts(pred, np.where(changed, ref, NO_LABEL))
                counts[variant, "stable"] += stable
                counts[variant, "changed"] += moved
                counts[variant, "all"] += stable + moved
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="4,5", help="validation demo seeds (default 4,5)")
    parser.add_argument("--bands", choices=("full", "reduced"), default="reduced")
    parser.add_argument("--model", default="", help="model file (default: the shipped one)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    counts = measure(seeds, args.bands, args.model)
    print(f"bare_disturbed F1 / IoU at the middle scene, annual composites, seeds {args.seeds}")
    print(f"{'pixels':10s}" + "".join(f"{v:>22s}" for v in VARIANTS))
    for group in GROUPS:
        cells = [bare_scores(counts[v, group]) for v in VARIANTS]
        print(f"{group:10s}" + "".join(f"{f:>13.4f} / {i:.4f}" for f, i in cells))


if __name__ == "__main__":
    main()
