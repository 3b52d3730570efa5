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

    python -m bench.int8_flips [--model FILE]
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


def _sent_features(model: PixelModel, size: int, chunk: int) -> np.ndarray:
    """Features ``(n_features, n)`` of the reference composite's pixels that ``model``'s first
    stage sends on."""
    assert model.refine is not None
    plan = model.fused_plan
    if plan is None:
        raise SystemExit(f"model {model.model_id} has no row-fused path (no spatial context)")
    fset = model.features
    _, blocks = reference_blocks(model, size, chunk)
    first = replace(model, refine=None)._kernel_model
    parts = []
    for stack, valid, (ys, xs) in blocks:
        out = classify_fused(first, plan, stack, valid, (ys, xs))
        if out is None:
            raise SystemExit("a chunk has a non-finite input; report this as a bug")
        code, prob, _ = out
        send = sent(model.refine, code, prob)
        feats = compute_features(dict(zip(fset.inputs, stack, strict=True)), fset, valid)
        parts.append(feats[:, :, ys, xs][:, send])
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


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
    x = _sent_features(model, args.size, args.chunk)
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


if __name__ == "__main__":
    main()
