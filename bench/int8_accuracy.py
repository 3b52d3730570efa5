"""Accuracy of a two-stage model with its first stage's integer layers in 8 bits (simulated).

``bench.vnni_layer`` times 8-bit layers (``vpdpbusd``: 2-4x the shipped 16-bit pairs on the first
stage's shapes) and ``bench.int8_flips`` counts the answers they change; this measures what
matters, the accuracy, before anyone writes the kernel. The first stage is simulated in numpy
(:class:`Int8FirstStage`):

- layer 1's inputs: the shipped input steps (:mod:`geomon.classify._quant`) mapped onto
  ``[-127, 127]``;
- layer 2's ReLU'd inputs: scaled onto ``[0, 255]`` by their largest value on calibration pixels;
- each weight row on ``[-127, 127]``, rounded to keep its outputs on the calibration pixels
  (:func:`bench.int8_flips.quantise_rows`); the last layer in float32, as shipped.

Calibration pixels come from demo seeds the model was trained on (``--calibration-seeds``,
default 1), never from the scored ones. Pixels the first stage does not accept take the second
stage's shipped integer answers. ``geomon evaluate``'s own functions then score the result:
:func:`geomon.classify.recipes.evaluate_on_demo` (both pixel reports) and, with ``--footprint``,
the change rules' defaults on every mine (as ``bench.change_sweep``), with the classifier
replaced by this numpy one for the run. ``--control`` runs the shipped integer first stage
through the same numpy path: its figures must equal ``geomon evaluate``'s.

At stop 23 (v10, validation seeds 4-7, 11, 12, annual composites, calibration on seed 1):
``bare_disturbed`` F1 / IoU 0.9583 / 0.9200 on stable pixels and 0.9244 / 0.8594 at the middle
scene, against the control's (and ``geomon evaluate``'s) 0.9580 / 0.9194 and 0.9238 / 0.8583.

    python -m bench.int8_accuracy [--seeds 4,5,6,7,11,12] [--calibration-seeds 1] [--control]
                                  [--footprint]
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr

from bench.int8_flips import (
    _ratio,
    eight_bit_inputs,
    eight_bit_layer1,
    float_tail,
    quantise_rows,
)
from geomon.classify import PixelModel, load_model
from geomon.classify.features import compute_features

DEFAULT_MODEL = "models/geomon-shared-reduced-v10.gmodel"
Predict = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def features(ds: xr.Dataset, model: PixelModel) -> tuple[np.ndarray, np.ndarray]:
    """``model``'s features ``(n_features, n)`` of the composite ``ds`` and which pixels can be
    classified (valid, every feature finite), ``(n,)``."""
    fset = model.features
    bands = {n: np.asarray(ds[n].values, np.float32) for n in fset.inputs}
    if "valid" in ds:
        valid = np.asarray(ds["valid"].values, bool)
    else:
        valid = np.isfinite(bands[fset.inputs[0]])
    x = compute_features(bands, fset, valid).reshape(len(fset), -1)
    return x, valid.reshape(-1) & np.isfinite(x).all(axis=0)


@dataclass(frozen=True)
class Int8FirstStage:
    """A first stage's two integer layers in 8 bits (see the module notes)."""

    model: PixelModel
    """The first stage (no second)."""
    w1: np.ndarray
    """Layer 1's integer weights ``(n_out, n_in)`` on ``[-127, 127]``."""
    deq1: np.ndarray
    bias1: np.ndarray
    scale2: np.ndarray
    """Layer 2's input scale onto ``[0, 255]``."""
    w2: np.ndarray
    deq2: np.ndarray

    @classmethod
    def calibrate(cls, model: PixelModel, x: np.ndarray) -> Int8FirstStage:
        """From the features ``x`` ``(n_features, n)`` of calibration pixels."""
        first = replace(model, refine=None)
        q, (weights, _) = first._quant, first._folded
        if q.n_int != 2 or len(weights) != 3:
            raise SystemExit(f"{first.model_id}: the study is for two integer layers then one")
        steps = eight_bit_inputs(first, x)
        w, bias1 = eight_bit_layer1(first)
        w1, deq1 = quantise_rows(w, 127, steps)
        h1 = np.maximum((w1 @ steps) * deq1[:, None] + bias1[:, None], 0)
        scale2 = _ratio(255, h1.max(axis=1))
        acts = np.minimum(np.rint(h1 * scale2[:, None]), 255)
        w2, deq2 = quantise_rows(
            weights[1].astype(np.float64) * _ratio(1, scale2)[None, :], 127, acts
        )
        return cls(first, w1, deq1, bias1, scale2, w2, deq2)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Unnormalised label probabilities ``(n_labels, n)`` of the features ``x``."""
        biases = self.model._folded[1]
        steps = eight_bit_inputs(self.model, x)
        h1 = np.maximum((self.w1 @ steps) * self.deq1[:, None] + self.bias1[:, None], 0)
        acts = np.minimum(np.rint(h1 * self.scale2[:, None]), 255)
        h2 = np.maximum((self.w2 @ acts) * self.deq2[:, None] + biases[1], 0)
        return float_tail(self.model, h2, 2)


def predictor(model: PixelModel, int8: Int8FirstStage | None) -> Predict:
    """``f(x) -> (code, probability)`` of a two-stage ``model`` for features ``(n_features, n)``:
    its first stage in 8 bits (``int8``) or as shipped (None), the second as shipped."""
    assert model.refine is not None
    first, second, refine = replace(model, refine=None), model.refine.model, model.refine

    def predict(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = first._scores(x, integer=True) if int8 is None else int8.scores(x)
        classes = first._class_matrix @ (scores / scores.sum(axis=0))
        code, prob = classes.argmax(axis=0), classes.max(axis=0).astype(np.float32)
        send = ~refine.accepts(code, prob)
        if send.any():
            s2 = second._scores(np.ascontiguousarray(x[:, send]), integer=True)
            c2 = second._class_matrix @ (s2 / s2.sum(axis=0))
            code[send], prob[send] = c2.argmax(axis=0), c2.max(axis=0)
        return code.astype(np.uint8), prob

    return predict


def classify_numpy(comp: xr.Dataset, model: PixelModel, predict: Predict) -> xr.Dataset:
    """The classes Dataset of ``comp`` (``class``, ``probability`` and the pass-through
    variables of :func:`geomon.classify.classify`) from ``predict``; code 0 and probability 0
    where a pixel cannot be classified."""
    comp = comp.compute()
    x, ok = features(comp, model)
    code = np.zeros(x.shape[1], np.uint8)
    prob = np.zeros(x.shape[1], np.float32)
    if ok.any():
        code[ok], prob[ok] = predict(np.ascontiguousarray(x[:, ok]))
    var = comp[model.features.inputs[0]]
    out = xr.Dataset(
        {"class": (var.dims, code.reshape(var.shape)),
         "probability": (var.dims, prob.reshape(var.shape))},
        coords=comp.coords,
    )  # fmt: skip
    for name in ("clear_count", "low_coverage", "clear_fraction"):
        if name in comp:
            out[name] = comp[name]
    out.attrs = dict(comp.attrs)
    return out


@contextlib.contextmanager
def numpy_classifier(model: PixelModel, predict: Predict) -> Iterator[None]:
    """Within the block, ``geomon evaluate``'s demo functions and ``bench.change_sweep``
    classify with ``predict`` (the names they call are swapped, then put back)."""
    import geomon.classify as gc
    import geomon.classify.recipes as recipes

    def swapped(comp: xr.Dataset, _model: Any) -> xr.Dataset:
        return classify_numpy(comp, model, predict)

    saved = recipes.classify_dataset, gc.classify
    recipes.classify_dataset, gc.classify = swapped, swapped  # type: ignore[assignment]
    try:
        yield
    finally:
        recipes.classify_dataset, gc.classify = saved


def calibration_pixels(model: PixelModel, seeds: list[int], n: int) -> np.ndarray:
    """Up to ``n`` classifiable pixels' features drawn from the annual composites of ``seeds``."""
    from geomon.classify.demo_data import load_mine
    from geomon.classify.recipes import demo_mines

    parts = []
    for catalog, mine_ids in demo_mines(seeds):
        for mine_id in mine_ids:
            x, ok = features(load_mine(catalog, mine_id, "year").imagery, model)
            parts.append(x[:, ok])
    x = np.concatenate(parts, axis=1)
    pick = np.random.default_rng(0).choice(x.shape[1], size=min(n, x.shape[1]), replace=False)
    return np.ascontiguousarray(x[:, np.sort(pick)])


def main(argv: list[str] | None = None) -> None:
    from geomon.classify.recipes import evaluate_on_demo, format_demo_accuracy, training_seeds

    parser = argparse.ArgumentParser(prog="python -m bench.int8_accuracy", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="two-stage model file")
    parser.add_argument("--seeds", default="4,5,6,7,11,12", help="validation demo seeds")
    parser.add_argument("--calibration-seeds", default="1", help="training demo seeds")
    parser.add_argument("--calibration-pixels", type=int, default=400_000)
    parser.add_argument("--control", action="store_true", help="the shipped first stage")
    parser.add_argument("--footprint", action="store_true", help="also the change rules per mine")
    args = parser.parse_args(argv)
    model = load_model(args.model)
    if model.refine is None:
        raise SystemExit(f"model {model.model_id} has one stage; give a two-stage model")
    seeds = [int(s) for s in args.seeds.split(",")]
    calibration = [int(s) for s in args.calibration_seeds.split(",")]
    if not set(calibration) <= training_seeds(model):
        raise SystemExit("calibrate on seeds the model was trained on (never on scored ones)")
    int8 = None
    if not args.control:
        x = calibration_pixels(model, calibration, args.calibration_pixels)
        print(f"calibration: {x.shape[1]:,} pixels of demo seeds {calibration}", flush=True)
        int8 = Int8FirstStage.calibrate(model, x)
    kind = "shipped first stage (numpy control)" if args.control else "first stage in 8 bits"
    with numpy_classifier(model, predictor(model, int8)):
        accuracy = evaluate_on_demo(model, seeds, "year")
        print(format_demo_accuracy(accuracy, f"{model.model_id}, {kind}, on demo seeds "
                                             f"{args.seeds}, year composites"))  # fmt: skip
        if args.footprint:
            from bench import change_sweep

            grid = ("persistence=2;min_probability=0.8;tail_min_clear=3;"
                    "tail_min_probability=0.9;tail_conversions=water")  # fmt: skip
            change_sweep.main(["--bands", "reduced", "--seeds", args.seeds, "--grid", grid,
                               "--model", args.model])  # fmt: skip


if __name__ == "__main__":
    main()
