"""Would 8-bit integer layers keep the second stage's answers? A study for the AVX-512 VNNI lever.

The second stage of a two-stage model is bound by its multiply-adds (``vpdpwssd``: two 16-bit
products per 32-bit lane). ``vpdpbusd`` takes four 8-bit products per lane (unsigned
activations times signed weights), so an 8-bit hidden layer would run in half the
instructions. Before anyone writes that kernel: how many of the pixels the second stage decides
would change class if its second integer layer (the widest: 128 inputs x 64 outputs in
``geomon-shared-reduced-v8-second``) ran in 8 bits after training, as the 16-bit scheme of
:mod:`geomon.classify._quant` does now?

On the footprint benchmark's reference composite (as ``bench.classify_stage``), the pixels the
first stage sends on are classified by the shipped integer path (the reference) and by numpy
variants of it that change only that layer, with its ReLU'd float inputs requantised onto
``[0, 255]`` (by each unit's interval bound, as the 16-bit scheme bounds them, or by its largest
value over these same pixels) and each weight row rounded onto ``[-127, 127]``, or only one of the
two in 8 bits (the other at the shipped scheme's levels); then, scored on half the pixels, the
activations scaled on the other half and the weights rounded to the nearest, against rounded
to keep each row's outputs on that other half (:func:`_fit_rounding`). A control row runs the
layer here at the shipped levels: it must give about 0 (the numpy steps are float64 where the
kernel's are float32). Prints the share of those pixels whose contract class changes; the float32 model's
own share shows the 16-bit scheme's.

Then the first stage, on pixels with data drawn at random (``--sample`` per chunk): its layer 2
(32 -> 16 in v10's first stage) or its layer 1 (the features themselves on 8 bits) in 8 bits,
rounded to the nearest or fitted, and the share of pixels whose class or whose routing to the
second stage changes (a held-out half).

At stop 23 (v10): second stage 585,235 sent pixels, float 0.20 %, control 0.00 %, 8 bits by
interval bound 3.34 %, by largest value 1.32 % (in-sample), held-out nearest 3.39 %, fitted
0.67 %; first stage (1.6 M pixels), float 0.04 %, control 0.00 %, layer 2 nearest 0.82 % / fitted 0.36 % of
classes (routing 0.24 / 0.19 %), layer 1 nearest 0.90 % / fitted 0.60 % (routing 0.50 / 0.35 %).

    python -m bench.int8_flips [--model FILE] [--sample N]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.classify_stage import DEFAULT_MODEL, reference_blocks, sent
from geomon.classify import PixelModel, load_model
from geomon.classify._fused import classify_fused
from geomon.classify._quant import (
    _ratio,
    hidden_activations,
    input_steps,
    quantise_rows,
)
from geomon.classify.features import compute_features


def _features(
    model: PixelModel, size: int, chunk: int, per_chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``(n_features, n)`` of the reference composite's pixels that ``model``'s first
    stage sends on, and of up to ``per_chunk`` pixels with data per chunk drawn at random."""
    assert model.refine is not None
    plan = model.fused_plan
    if plan is None:
        raise SystemExit(f"model {model.model_id} has no row-fused path (no spatial context)")
    fset = model.features
    _, blocks = reference_blocks(model, size, chunk)
    first = replace(model, refine=None)._kernel_model
    rng = np.random.default_rng(0)
    sent_parts, sample_parts = [], []
    for stack, valid, (ys, xs) in blocks:
        out = classify_fused(first, plan, stack, valid, (ys, xs))
        if out is None:
            raise SystemExit("a chunk has a non-finite input; report this as a bug")
        code, prob, _ = out
        send = sent(model.refine, code, prob)
        feats = compute_features(dict(zip(fset.inputs, stack, strict=True)), fset, valid)
        own = feats[:, :, ys, xs]
        sent_parts.append(own[:, send])
        with_data = np.flatnonzero(code.ravel() > 0)
        pick = rng.choice(with_data, size=min(per_chunk, with_data.size), replace=False)
        sample_parts.append(own.reshape(len(own), -1)[:, np.sort(pick)])
    return (
        np.ascontiguousarray(np.concatenate(sent_parts, axis=1)),
        np.ascontiguousarray(np.concatenate(sample_parts, axis=1)),
    )


def layer1_outputs(model: PixelModel, x: np.ndarray) -> np.ndarray:
    """float64 ``(n_out, n)``: the ReLU'd outputs of ``model``'s first integer layer for
    features ``x``, as the shipped path computes them (:func:`hidden_activations`)."""
    q = model._quant._replace(n_int=1)
    return hidden_activations(q, model.lower, model.upper, x).astype(np.float64)


def eight_bit_inputs(model: PixelModel, x: np.ndarray) -> np.ndarray:
    """The shipped first-layer input steps of ``x`` (:func:`input_steps`) onto ``[-127, 127]``."""
    q = model._quant
    steps = input_steps(q, model.lower, model.upper, x)
    return np.rint(steps * (127 / int(q.bound[0])))


def eight_bit_layer1(model: PixelModel) -> tuple[np.ndarray, np.ndarray]:
    """Layer 1's float weights per step of :func:`eight_bit_inputs` ``(n_out, n_in)`` and its
    bias with the input centres folded in."""
    q, (weights, biases) = model._quant, model._folded
    per_step = _ratio(int(q.bound[0]), 127 * q.scale)
    w = weights[0].astype(np.float64) * per_step[None, :]
    return w, biases[0][:, 0] + weights[0].astype(np.float64) @ q.centre.astype(np.float64)


def float_tail(model: PixelModel, h: np.ndarray, start: int) -> np.ndarray:
    """Unnormalised label probabilities from ``h``, the inputs of ``model``'s layer ``start``:
    its float32 layers from there on (ReLU between them), then the exp of the softmax."""
    weights, biases = model._folded
    for k in range(start, len(weights)):
        h = weights[k] @ h + biases[k]
        if k < len(weights) - 1:
            h = np.maximum(h, 0)
    return np.asarray(np.exp(h - h.max(axis=0)))


def _first_stage(model: PixelModel, x: np.ndarray) -> list[tuple[str, float, float]]:
    """For the first stage on the pixels ``x``: each variant's share of pixels whose class
    changes and whose routing (sent on or not) changes against the shipped integer path, on a
    held-out half (scales and fitted roundings from the other half). Layer 2 (ReLU'd inputs,
    scaled by their largest value) or layer 1 (the features clipped and centred as shipped,
    onto ``[-127, 127]``) in 8 bits, the rest in float."""
    assert model.refine is not None
    thresholds = model.refine.thresholds
    first = replace(model, refine=None)
    q, (weights, biases) = first._quant, first._folded

    def outcome(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        classes = first._class_matrix @ (scores / scores.sum(axis=0))
        code = classes.argmax(axis=0)
        return code, classes.max(axis=0) < thresholds[code]

    half = x.shape[1] // 2
    fit, held = np.arange(half), np.arange(half, x.shape[1])
    shipped = int(q.bound[1])
    ref_code, ref_sent = outcome(first._scores(x[:, held], integer=True))
    g1 = layer1_outputs(first, x)

    def eight_bit(w: np.ndarray, acts: np.ndarray, fitted: bool, levels: int = 127) -> np.ndarray:
        """``w @ acts`` on the held-out pixels, ``w``'s rows rounded onto ``levels`` levels."""
        wq, deq = quantise_rows(w, levels, acts[:, fit] if fitted else None)
        return (wq @ acts[:, held]) * deq[:, None]

    def layer2(
        fitted: bool, levels: int = 127, act_levels: int = 255
    ) -> tuple[np.ndarray, np.ndarray]:
        tops = g1[:, fit].max(axis=1)
        if levels != 127:  # the control: the shipped requantisation of the layer's inputs
            tops = _ratio(act_levels, q.requant[0])
        scale = _ratio(act_levels, tops)
        acts = np.minimum(np.rint(g1 * scale[:, None]), act_levels)
        h = eight_bit(
            weights[1].astype(np.float64) * _ratio(1, scale)[None, :], acts, fitted, levels
        )
        return outcome(float_tail(first, np.maximum(h + biases[1], 0), 2))

    def layer1(fitted: bool) -> tuple[np.ndarray, np.ndarray]:
        w, bias = eight_bit_layer1(first)
        h = eight_bit(w, eight_bit_inputs(first, x), fitted)
        return outcome(float_tail(first, np.maximum(h + bias[:, None], 0), 1))

    rows = []
    for name, (code, send) in (
        ("float32 model (the shipped scheme's own error)", outcome(first._scores(x[:, held]))),
        (f"control: layer 2 here at the shipped {shipped} levels", layer2(False, shipped, shipped)),
        ("layer 2 in 8 bits, rounded nearest", layer2(False)),
        ("  the same, each row's rounding fitted on the other half", layer2(True)),
        ("layer 1 in 8 bits (features and weights), rounded nearest", layer1(False)),
        ("  the same, each row's rounding fitted on the other half", layer1(True)),
    ):
        rows.append((name, float((code != ref_code).mean()), float((send != ref_sent).mean())))
    return rows


def _classes(model: PixelModel, scores: np.ndarray) -> np.ndarray:
    return (model._class_matrix @ (scores / scores.sum(axis=0))).argmax(axis=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.int8_flips", description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="two-stage model file")
    parser.add_argument(
        "--sample",
        type=int,
        default=100_000,
        help="pixels with data drawn per chunk for the first stage (default 100000)",
    )
    parser.add_argument("--size", type=int, default=4096, help=argparse.SUPPRESS)  # tests
    parser.add_argument("--chunk", type=int, default=1024, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    model = load_model(args.model).without_eight_bit()  # 8 bits against the 16-bit layers
    if model.refine is None:
        raise SystemExit(f"model {model.model_id} has one stage; give a two-stage model")
    second = model.refine.model
    q = second._quant
    if q.n_int < 2:
        raise SystemExit(f"{second.model_id} has fewer than two integer layers")
    x, sample = _features(model, args.size, args.chunk, args.sample)
    if not x.shape[1]:
        raise SystemExit("the first stage sends no pixel of this composite on")
    reference = _classes(second, second._scores(x, integer=True))
    hidden = layer1_outputs(second, x)  # the first integer layer's ReLU'd outputs
    weights, biases = second._folded
    w1, b1 = weights[1].astype(np.float64), biases[1].astype(np.float64)
    interval_top = _ratio(q.bound[1], q.requant[0])

    def changed(
        tops: np.ndarray,
        levels: int,
        weight_levels: int,
        fit: np.ndarray | None = None,
        cols: np.ndarray | None = None,
    ) -> float:
        """Share of the pixels (``cols``: of those columns) whose class changes with that
        layer's activations on ``[0, levels]`` (scaled by ``tops``) and each weight row on
        ``[-weight_levels, weight_levels]``: rounded to the nearest, or, with ``fit`` (columns),
        each row's rounding chosen to keep its outputs on those pixels (:func:`_fit_rounding`)."""
        act_scale = _ratio(levels, tops)
        acts = np.minimum(np.rint(hidden * act_scale[:, None]), levels)
        w = w1 * _ratio(1, act_scale)[None, :]
        wq, deq = quantise_rows(w, weight_levels, None if fit is None else acts[:, fit])
        cols = np.arange(acts.shape[1]) if cols is None else cols
        h = np.maximum((wq @ acts[:, cols]) * deq[:, None] + b1, 0)
        return float((_classes(second, float_tail(second, h, 2)) != reference[cols]).mean())

    observed_top = hidden.max(axis=1)
    float_changed = float((_classes(second, second._scores(x)) != reference).mean())
    n_in, n_out = w1.shape[1], w1.shape[0]
    shipped = int(q.bound[1])  # the levels of layer 2's activations and weights as shipped
    print(f"{model.model_id}: {x.shape[1]:,} pixels sent to {second.model_id}; share whose "
          f"class changes against the shipped integer layers")  # fmt: skip
    rows = [
        ("float32 model (the shipped scheme's own error)", float_changed),
        (f"control: layer 2 ({n_in} -> {n_out}) here at the shipped {shipped} levels",
         changed(interval_top, shipped, shipped)),
        ("layer 2 in 8 bits, activations by interval bound", changed(interval_top, 255, 127)),
        ("  the same, activations by their largest value here", changed(observed_top, 255, 127)),
        (f"  8-bit activations only (weights at {shipped} levels)",
         changed(observed_top, 255, shipped)),
        (f"  8-bit weights only (activations at {shipped} levels)",
         changed(observed_top, shipped, 127)),
    ]  # fmt: skip
    # scaled and rounding fitted on half the pixels (drawn at random), scored on the other half
    order = np.random.default_rng(0).permutation(x.shape[1])
    fit, held = order[: len(order) // 2], order[len(order) // 2 :]
    fit_top = hidden[:, fit].max(axis=1)
    rows += [
        ("  on a held-out half, scaled on the other: rounded nearest",
         changed(fit_top, 255, 127, cols=held)),
        ("  the same, each row's rounding fitted on the other half",
         changed(fit_top, 255, 127, fit=fit, cols=held)),
    ]  # fmt: skip
    for name, share in rows:
        print(f"  {name:60s}{100 * share:7.2f} %")
    print(f"first stage ({model.model_id} without its second): {sample.shape[1]:,} pixels with "
          "data drawn at random; on a held-out half, share whose class / routing changes")  # fmt: skip
    for name, share, routing in _first_stage(model, sample):
        print(f"  {name:60s}{100 * share:7.2f} % / {100 * routing:5.2f} %")


if __name__ == "__main__":
    main()
