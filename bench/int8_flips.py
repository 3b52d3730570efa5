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
from geomon.classify._quant import _unpair
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

    def rest(h: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        for k in range(start, len(weights)):
            h = weights[k] @ h + biases[k]
            if k < len(weights) - 1:
                h = np.maximum(h, 0)
        return outcome(np.exp(h - h.max(axis=0)))

    half = x.shape[1] // 2
    fit, held = np.arange(half), np.arange(half, x.shape[1])
    shipped = int(q.bound[1])
    ref_code, ref_sent = outcome(first._scores(x[:, held], integer=True))
    bound = int(q.bound[0])
    clipped = np.clip(x, first.lower[:, None], first.upper[:, None])
    clipped = np.where(np.isnan(clipped), q.centre[:, None], clipped)
    steps = np.rint((clipped - q.centre[:, None]) * q.scale[:, None]).clip(-bound, bound)
    sums = _unpair(q.weights[0], len(steps)).astype(np.int64) @ steps.astype(np.int64)
    g1 = sums.astype(np.int32).astype(np.float32) * q.deq[0][:, None] + q.bias[0][:, None]
    g1 = np.maximum(g1, np.float32(0)).astype(np.float64)

    def eight_bit(w: np.ndarray, acts: np.ndarray, fitted: bool, levels: int = 127) -> np.ndarray:
        """``w @ acts`` on the held-out pixels, ``w``'s rows rounded onto ``levels`` levels."""
        top = np.abs(w).max(axis=1)
        row = np.where(top > 0, levels / np.where(top > 0, top, 1), 0)
        target = w * row[:, None]
        wq = np.rint(target).clip(-levels, levels)
        if fitted:
            wq = _fit_rounding(target, wq, acts[:, fit], levels)
        return (wq @ acts[:, held]) * np.where(row > 0, 1 / np.where(row > 0, row, 1), 0)[:, None]

    def layer2(
        fitted: bool, levels: int = 127, act_levels: int = 255
    ) -> tuple[np.ndarray, np.ndarray]:
        tops = g1[:, fit].max(axis=1)
        if levels != 127:  # the control: the shipped requantisation of the layer's inputs
            tops = np.where(
                q.requant[0] > 0, act_levels / np.where(q.requant[0] > 0, q.requant[0], 1), 0
            )
        scale = np.where(tops > 0, act_levels / np.where(tops > 0, tops, 1), 0)
        acts = np.minimum(np.rint(g1 * scale[:, None]), act_levels)
        step = np.where(scale > 0, 1 / np.where(scale > 0, scale, 1), 0)
        h = eight_bit(weights[1].astype(np.float64) * step[None, :], acts, fitted, levels)
        return rest(np.maximum(h + biases[1], 0), 2)

    def layer1(fitted: bool) -> tuple[np.ndarray, np.ndarray]:
        acts = np.rint(steps * (127 / bound))  # the shipped input steps onto [-127, 127]
        per_step = np.where(q.scale > 0, bound / (127 * np.where(q.scale > 0, q.scale, 1)), 0)
        w = weights[0].astype(np.float64) * per_step[None, :]
        bias = biases[0][:, 0].astype(np.float64) + weights[0] @ q.centre.astype(np.float64)
        h = eight_bit(w, acts, fitted)
        return rest(np.maximum(h + bias[:, None], 0), 1)

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


def _fit_rounding(
    target: np.ndarray, start: np.ndarray, acts: np.ndarray, levels: int, sweeps: int = 2
) -> np.ndarray:
    """Integer weights near ``target`` (``(n_out, n_in)``, in integer steps) whose rows' outputs
    on ``acts`` (``(n_in, n)``) stay closest to the target's: from ``start`` (nearest rounding),
    each weight moves one step towards the other side of its target where that lowers the row's
    mean squared output error ``d G d`` (``d`` the row's rounding error, ``G`` the activations'
    second moments), ``sweeps`` passes (a greedy form of AdaRound, Nagel et al. 2020)."""
    gram = acts @ acts.T / max(acts.shape[1], 1)
    out = start.copy()
    for _ in range(sweeps):
        for r in range(out.shape[0]):
            d = out[r] - target[r]
            gd = gram @ d
            for i in range(out.shape[1]):
                move = 1.0 if d[i] < 0 else -1.0
                if abs(out[r, i] + move) > levels:
                    continue
                if 2 * move * gd[i] + gram[i, i] < 0:  # the error falls
                    out[r, i] += move
                    d[i] += move
                    gd += move * gram[:, i]
    return out


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
    model = load_model(args.model)
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
    # the first integer layer's ReLU'd outputs, as the shipped path computes them
    clipped = np.clip(x, second.lower[:, None], second.upper[:, None])
    clipped = np.where(np.isnan(clipped), q.centre[:, None], clipped)
    bound = int(q.bound[0])
    steps = np.rint((clipped - q.centre[:, None]) * q.scale[:, None]).clip(-bound, bound)
    sums = _unpair(q.weights[0], len(steps)).astype(np.int64) @ steps.astype(np.int64)
    hidden = sums.astype(np.int32).astype(np.float32) * q.deq[0][:, None] + q.bias[0][:, None]
    hidden = np.maximum(hidden, np.float32(0)).astype(np.float64)
    weights, biases = second._folded
    w1, b1 = weights[1].astype(np.float64), biases[1].astype(np.float64)
    interval_top = np.where(q.requant[0] > 0, q.bound[1] / np.where(q.requant[0] > 0, q.requant[0], 1), 0)  # fmt: skip

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
        act_scale = np.where(tops > 0, levels / np.where(tops > 0, tops, 1), 0)
        acts = np.minimum(np.rint(hidden * act_scale[:, None]), levels)
        step = np.where(act_scale > 0, 1 / np.where(act_scale > 0, act_scale, 1), 0)
        w = w1 * step[None, :]
        top = np.abs(w).max(axis=1)
        row = np.where(top > 0, weight_levels / np.where(top > 0, top, 1), 0)
        target = w * row[:, None]
        wq = np.rint(target).clip(-weight_levels, weight_levels)
        if fit is not None:
            wq = _fit_rounding(target, wq, acts[:, fit], weight_levels)
        deq = np.where(row > 0, 1 / np.where(row > 0, row, 1), 0)
        cols = np.arange(acts.shape[1]) if cols is None else cols
        h = np.maximum((wq @ acts[:, cols]) * deq[:, None] + b1, 0)
        for k in range(2, len(weights)):
            h = weights[k] @ h + biases[k]
            if k < len(weights) - 1:
                h = np.maximum(h, 0)
        scores = np.exp(h - h.max(axis=0))
        return float((_classes(second, scores) != reference[cols]).mean())

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
