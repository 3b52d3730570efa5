"""Integer hidden layers of the pixel MLP: the model's float32 weights turned into 16-bit integers
once, at load, and the hidden layers summed exactly in 32-bit integers.

Why: the dense layers were the largest part of classification (the reduced model's 1,488
multiply-adds per pixel; the float32 kernel ran at the machine's float throughput, two 8-lane
multiplies and two adds per cycle). Pairs of 16-bit products summed into 32-bit lanes (x86
``vpmaddwd``, or ``vpdpwssd`` with AVX-512 VNNI, which LLVM picks from plain integer IR; other
CPUs get their own instructions for the same IR) do twice to three times the work per
instruction, and integer sums are exact: any machine and any summation order give the same
numbers, bit for bit, which the numpy reference here reproduces.

The scheme (``Q_k`` the bound of layer ``k``'s inputs and weights, the largest with ``n *
Q_k**2 < 2**31``, ``n`` the layer's inputs rounded up to even (pairs), at most 32767, so that no
sum can overflow):

- inputs of the first layer: each feature, clipped to its training range ``[lower, upper]``
  (as the float model clips it), mapped onto ``[-Q, Q]``: ``q = rint((x - centre) * scale)``
  with ``centre`` the range's middle and ``scale = Q / half-range`` (float32 arithmetic);
- weights: each output row of the layer (its input scales folded in, in float64) scaled so that
  its largest weight is ``Q``, rounded to integers; the row's scale is undone after the sum:
  ``h = float32(sum) * deq + bias`` (float32, ``bias`` with the input centres folded in);
- hidden activations (after ReLU) mapped onto ``[0, Q]`` of the next layer by the largest value
  the unit can take over the box of its inputs (interval arithmetic, so no clamping in range;
  the rounding of the float steps is clamped); a unit that cannot be positive is 0;
- the last layer (to the labels) stays float32, on the dequantised activations of the last
  integer layer, and the softmax after it; so does any layer from the first with more than
  :data:`MAX_INT_INPUTS` inputs on (a user's wide network keeps its float32 precision).

Resolution: inputs to 1/Q of their half-range (Q = 9088 for 26 inputs: 1.1e-4), weights to 1/Q
of their row's largest, activations to 1/Q of their bound. The class maps equal the float
model's on all but a few pixels in 10,000 (see the tests and the model cards).

8 bits (since stop 24; :func:`quantize_layers8`, ``geomon quantize``): a model may carry
calibrated tables (:class:`EightBit`, fitted by :func:`calibrate8` on pixels of its training
imagery, stored in its file) with which its hidden layers run on bytes: features on ``[-127,
127]`` (stored ``+127``, unsigned), later layers' inputs on ``[0, 255]`` by the largest value
seen in calibration (larger values clamp), weight rows on ``[-127, 127]`` rounded to keep each
row's outputs on the calibration pixels (a greedy AdaRound, :func:`_fit_rounding`). The kernel
then sums four byte products per int32 lane (``vpdpbusd`` on AVX-512 VNNI): the reduced model's
classify kernel took 8-15 % less time at stop 24 (``bench.kernel_ab``; the second stage's
forward pass 116 against 178 ns per pixel, the first stage's 41 against 45: its float last layer,
softmax and input quantisation now outweigh its integer layers). An interval bound, as the
16-bit scheme uses, would leave a byte's 255 levels mostly unused, hence the calibration; and
the classes then differ from the float model's on a few pixels in 1,000 rather than 10,000, so
an 8-bit model is a model of its own, measured on its own test seeds (its card).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "MAX_INT_INPUTS",
    "EightBit",
    "QuantLayers",
    "calibrate8",
    "check_eight_bit",
    "hidden_activations",
    "input_steps",
    "int_layer_count",
    "quantise_rows",
    "quantize_layers",
    "quantize_layers8",
]

_INT32_MAX = 2**31 - 1
_INT16_MAX = 32767
#: the widest input of a layer run in integers: its bound is then at least 4095 (12 bits); a
#: layer with more inputs (``geomon train --hidden`` allows 4096) and every layer after it run
#: in float32, whose precision a bound of a few hundred levels would not keep
MAX_INT_INPUTS = 128


class QuantLayers(NamedTuple):
    """The integer hidden layers of a model (all its layers but the last)."""

    n_int: int
    """The leading hidden layers run in integers (0: none, the arrays are dummies; a model
    without hidden layers, or whose first layer has more than :data:`MAX_INT_INPUTS` inputs)."""
    centre: np.ndarray
    """float32 ``(n_features,)``: the middle of each feature's clip range."""
    scale: np.ndarray
    """float32 ``(n_features,)``: first-layer input scale, ``bound[0] / half-range`` (0 for a
    feature whose range is one value)."""
    bound: np.ndarray
    """int64 ``(max(n_int, 1),)``: the bound ``Q`` of each integer layer's inputs and weights
    (8 bits: 127 for the first layer's steps and every weight, 255 for later layers' inputs)."""
    weights: tuple[np.ndarray, ...]
    """int32 ``(n_out, ceil(n_in / 2))`` per layer: weight pairs (inputs ``2i`` in the low 16
    bits, ``2i + 1`` in the high), as the kernel broadcasts them; 8 bits: ``(n_out, ceil(n_in /
    4))`` quads of signed bytes (input ``4i + k`` in byte ``k``)."""
    deq: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer: the factor from a row's integer sum to its value."""
    bias: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer: the bias with the input centres folded in."""
    requant: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer: the scale of its (ReLU'd) outputs onto the next integer
    layer's ``[0, Q]`` (zeros for the last integer layer: its outputs stay float)."""
    bits: int = 16
    """16: the scheme above; 8: :func:`quantize_layers8` (weights and inputs in bytes, four per
    int32, from a model's calibrated :class:`EightBit` tables)."""


def _bound(n_in: int) -> int:
    """The largest ``Q <= 32767`` with ``n_pairs * 2 * Q**2 <= 2**31 - 1``."""
    n = 2 * math.ceil(max(n_in, 1) / 2)
    return min(_INT16_MAX, math.isqrt(_INT32_MAX // n))


def _pairs(w: np.ndarray) -> np.ndarray:
    """int16 ``(n_out, n_in)`` -> int32 ``(n_out, ceil(n_in / 2))`` of adjacent pairs."""
    n_out, n_in = w.shape
    padded = np.zeros((n_out, 2 * math.ceil(n_in / 2)), np.int16)
    padded[:, :n_in] = w
    return np.ascontiguousarray(padded).view(np.int32).copy()


def int_layer_count(weights: tuple[np.ndarray, ...]) -> int:
    """How many leading layers of folded ``weights`` (``(n_out, n_in)``) run in integers: the
    hidden layers narrow enough for a fine bound (at most :data:`MAX_INT_INPUTS` inputs); the
    rest run in float32."""
    n_int = 0
    while n_int < len(weights) - 1 and weights[n_int].shape[1] <= MAX_INT_INPUTS:
        n_int += 1
    return n_int


def quantize_layers(
    lower: np.ndarray,
    upper: np.ndarray,
    weights: tuple[np.ndarray, ...],
    biases: tuple[np.ndarray, ...],
) -> QuantLayers:
    """The integer form of the hidden layers of folded float32 layers ``weights`` (``(n_out,
    n_in)``) and ``biases`` (``(n_out,)``) over inputs clipped to ``[lower, upper]``."""
    n_int = int_layer_count(weights)
    n_feat = len(lower)
    bounds = [_bound(w.shape[1]) for w in weights[:n_int]]
    q0 = bounds[0] if n_int else 0
    centre, in_scale = _input_map(lower, upper, q0)
    if n_int == 0:
        dummy = (np.zeros((1, 1), np.int32),)
        zeros = (np.zeros(1, np.float32),)
        return QuantLayers(
            0, centre, np.zeros(n_feat, np.float32), np.ones(1, np.int64), dummy, zeros, zeros,
            zeros,
        )  # fmt: skip
    # the value one input step stands for, per input of the layer (float64 from the float32
    # scales the kernel multiplies by), and the offset of a zero step
    step = np.where(in_scale > 0, 1 / np.where(in_scale > 0, in_scale, 1).astype(np.float64), 0)
    offset = centre.astype(np.float64)
    in_lo = np.full(n_feat, -float(q0))
    in_hi = np.full(n_feat, float(q0))
    out_w: list[np.ndarray] = []
    out_deq: list[np.ndarray] = []
    out_bias: list[np.ndarray] = []
    out_req: list[np.ndarray] = []
    for k in range(n_int):
        w = np.asarray(weights[k], np.float64) * step[None, :]  # per integer input step
        b = np.asarray(biases[k], np.float64) + np.asarray(weights[k], np.float64) @ offset
        q = bounds[k]
        top = np.abs(w).max(axis=1)
        row_scale = np.where(top > 0, q / np.where(top > 0, top, 1), 0)
        wq = np.rint(w * row_scale[:, None]).clip(-q, q).astype(np.int16)
        deq = np.where(row_scale > 0, 1 / np.where(row_scale > 0, row_scale, 1), 0)
        deq32, bias32 = deq.astype(np.float32), b.astype(np.float32)
        out_w.append(_pairs(wq))
        out_deq.append(deq32)
        out_bias.append(bias32)
        # the largest value of each unit over the box of its integer inputs, from the integers
        # and float32 factors the kernel uses (float64 here: at least the float32 result)
        wide = wq.astype(np.float64)
        most = np.maximum(wide * in_lo[None, :], wide * in_hi[None, :]).sum(axis=1)
        unit_top = most * deq32.astype(np.float64) + bias32.astype(np.float64)
        if k + 1 < n_int:
            q_next = bounds[k + 1]
            req = np.where(unit_top > 0, q_next / np.where(unit_top > 0, unit_top, 1), 0)
            req32 = req.astype(np.float32)
            out_req.append(req32)
            step = np.where(req32 > 0, 1 / np.where(req32 > 0, req32, 1).astype(np.float64), 0)
            offset = np.zeros(len(req32))
            in_lo = np.zeros(len(req32))
            in_hi = np.full(len(req32), float(q_next))
        else:
            out_req.append(np.zeros(len(deq32), np.float32))
    return QuantLayers(
        n_int,
        centre,
        in_scale,
        np.array(bounds, np.int64),
        tuple(out_w),
        tuple(out_deq),
        tuple(out_bias),
        tuple(out_req),
    )


def _unpair(w: np.ndarray, n_in: int, bits: int = 16) -> np.ndarray:
    """The integer weights ``(n_out, n_in)`` of packed pairs (or quads, ``bits`` 8)."""
    dtype = np.int8 if bits == 8 else np.int16
    return np.ascontiguousarray(w).view(dtype).reshape(w.shape[0], -1)[:, :n_in]


def input_steps(
    q: QuantLayers, lower: np.ndarray, upper: np.ndarray, xfm: np.ndarray
) -> np.ndarray:
    """The first integer layer's inputs, int64 ``(n_features, n)``: feature-major ``xfm``
    clipped to ``[lower, upper]`` (NaN at the range's middle), centred and scaled onto
    ``[-bound, bound]`` in float32, as the compiled pass quantises them."""
    x = np.clip(np.asarray(xfm, np.float32), lower[:, None], upper[:, None])
    x = np.where(np.isnan(x), q.centre[:, None], x)
    bound = int(q.bound[0])
    return np.rint((x - q.centre[:, None]) * q.scale[:, None]).clip(-bound, bound).astype(np.int64)


def hidden_activations(
    q: QuantLayers, lower: np.ndarray, upper: np.ndarray, xfm: np.ndarray
) -> np.ndarray:
    """The reference of the compiled integer layers: the float32 ReLU'd outputs ``(n_out, n)``
    of the last integer layer for feature-major ``xfm`` ``(n_features, n)`` (NaN inputs count
    as the range's middle, and the compiled pass marks those pixels no data; infinities are
    clipped to the range's ends), exact integer sums in int64 and the kernel's float32 steps in
    its order."""
    h = input_steps(q, lower, upper, xfm)
    if q.bits == 8:  # unsigned bytes: the steps from 0 (see quantize_layers8)
        h += _OFFSET8
    out = np.empty((0, h.shape[1]), np.float32)
    for k in range(q.n_int):
        wq = _unpair(q.weights[k], h.shape[0], q.bits).astype(np.int64)
        total = (wq @ h).astype(np.int32).astype(np.float32)
        g = np.maximum(total * q.deq[k][:, None] + q.bias[k][:, None], np.float32(0))
        if k + 1 < q.n_int:
            top = int(q.bound[k + 1])
            h = np.minimum(np.rint(g * q.requant[k][:, None]), np.float32(top)).astype(np.int64)
        else:
            out = g.astype(np.float32)
    return out


# --- 8-bit layers -------------------------------------------------------------------------

#: 8-bit weights and first-layer input steps lie on ``[-127, 127]``; the first layer's inputs
#: are stored as unsigned bytes, ``step + 127`` (``vpdpbusd`` multiplies unsigned by signed
#: bytes), and the sums' offset ``127 * sum(w)`` is taken off in the bias
_LEVELS8 = 127
_OFFSET8 = 127
#: later layers' inputs (ReLU'd, non-negative) on ``[0, 255]``
_ACT8 = 255


@dataclass(frozen=True, eq=False)
class EightBit:
    """A model's calibrated 8-bit integer layers (:func:`calibrate8`), stored in its file
    (format ``geomon-pixel-model/5``): what cannot be derived from the float32 model at load,
    because it was fitted to the activations of calibration pixels."""

    weights: tuple[np.ndarray, ...]
    """float32 ``(n_out, n_in)`` per integer layer: integers on ``[-127, 127]``, each a step of
    the layer's inputs (the first layer's: :func:`input_steps` at bound 127; later layers':
    ``act_scale``) times the row's ``deq``."""
    deq: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer: the value of one step of a row's integer sum."""
    act_scale: tuple[np.ndarray, ...]
    """float32 ``(n_in,)`` per layer after the first: its ReLU'd inputs' scale onto ``[0,
    255]`` (255 over the largest value seen in calibration; larger values are clamped)."""
    shift: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer: added to its bias, the mean by which the 8-bit layer's
    pre-activations fell short of the float model's on the calibration pixels where the float
    unit is active (empirical bias correction, after Nagel et al. 2019)."""
    info: Mapping[str, Any] = field(default_factory=dict)
    """JSON-serialisable calibration metadata (pixels, seeds, rounding)."""

    def arrays(self) -> list[np.ndarray]:
        """File order: each layer's weights, deq and shift, then each later layer's input
        scale."""
        out: list[np.ndarray] = []
        for w, d, c in zip(self.weights, self.deq, self.shift, strict=True):
            out += [w, d, c]
        return out + list(self.act_scale)


def check_eight_bit(
    e: EightBit,
    weights: tuple[np.ndarray, ...],
    biases: tuple[np.ndarray, ...],
    lower: np.ndarray,
    upper: np.ndarray,
) -> list[str]:
    """Problems of tables ``e`` for folded float ``weights`` (``(n_out, n_in)``) and ``biases``
    over inputs clipped to ``[lower, upper]``, or none: shapes, integers on [-127, 127], every
    weight within one step of the float weight it stands for (so a file's tables cannot
    describe another network), and finite float32 factors and biases."""
    problems = _check_tables(e, weights)
    if problems:
        return problems
    centre, scale = _input_map(lower, upper, _LEVELS8)
    act_scale = None
    with np.errstate(all="ignore"):
        for k in range(len(e.weights)):
            w, _ = _per_step(weights, centre, scale, k, act_scale, biases)
            target = w * _ratio(1.0, e.deq[k].astype(np.float64))[:, None]
            if not (np.abs(e.weights[k] - target) <= 1.001).all():
                return [f"8-bit layer {k}'s weights are not the model's float weights in steps "
                        "of its deq"]  # fmt: skip
            act_scale = e.act_scale[k] if k + 1 < len(e.weights) else None
        q = quantize_layers8(lower, upper, weights, biases, e)
        for k, (w, d, b) in enumerate(zip(e.weights, e.deq, q.bias, strict=True)):
            # the largest pre-activation any input can give, far inside float32's range
            most = np.abs(b.astype(np.float64)) + d * np.abs(w.astype(np.float64)).sum(axis=1) * 255
            if not (np.isfinite(most).all() and (most < 1e30).all()):
                return [f"8-bit layer {k} gives non-finite biases or sums beyond 1e30"]
    return []


def _check_tables(e: EightBit, weights: tuple[np.ndarray, ...]) -> list[str]:
    n_int = int_layer_count(weights)
    n = len(e.weights)
    if n == 0 or n != n_int or len(e.deq) != n or len(e.shift) != n or len(e.act_scale) != n - 1:
        return [f"8-bit tables must have {n_int} integer layers (weights, deq, shift) and "
                f"{max(n_int - 1, 0)} input scales"]  # fmt: skip
    for k in range(n):
        w, d, c = e.weights[k], e.deq[k], e.shift[k]
        if w.shape != weights[k].shape or d.shape != (w.shape[0],) or c.shape != d.shape:
            return [f"8-bit layer {k} has shape {w.shape} for a layer of {weights[k].shape}"]
        if not np.isfinite(c).all():
            return [f"8-bit layer {k}'s shift must be finite"]
        if not (np.isfinite(w).all() and (np.rint(w) == w).all() and (np.abs(w) <= 127).all()):
            return [f"8-bit layer {k} must hold integers on [-127, 127]"]
        if not (np.isfinite(d).all() and (d >= 0).all()):
            return [f"8-bit layer {k}'s deq must be finite and >= 0"]
        if k and (
            e.act_scale[k - 1].shape != (w.shape[1],)
            or not (np.isfinite(e.act_scale[k - 1]).all() and (e.act_scale[k - 1] >= 0).all())
        ):
            return [f"8-bit layer {k}'s input scale must be finite, >= 0, one per input"]
    return []


def _quads(w: np.ndarray) -> np.ndarray:
    """int8 ``(n_out, n_in)`` -> int32 ``(n_out, ceil(n_in / 4))`` of four adjacent weights."""
    n_out, n_in = w.shape
    padded = np.zeros((n_out, 4 * math.ceil(n_in / 4)), np.int8)
    padded[:, :n_in] = w
    return np.ascontiguousarray(padded).view(np.int32).copy()


def _ratio(a: float | np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` where ``b > 0``, else 0 (a unit or row that is never positive)."""
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0)


def _input_map(lower: np.ndarray, upper: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """The first integer layer's input centres (the clip ranges' middles) and scales onto
    ``[-bound, bound]`` (0 for a feature whose range is one value), float32, as both schemes
    map the features."""
    lo = np.asarray(lower, np.float64)
    hi = np.asarray(upper, np.float64)
    centre = ((lo + hi) / 2).astype(np.float32)
    half = (hi - centre.astype(np.float64)).clip(min=0)
    return centre, _ratio(bound, half).astype(np.float32)


def _per_step(weights: tuple[np.ndarray, ...], centre: np.ndarray, scale: np.ndarray, k: int,
              act_scale: np.ndarray | None, biases: tuple[np.ndarray, ...]
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Layer ``k``'s float64 weights per step of its integer inputs and its bias (the first
    layer's with the input centres folded in)."""
    w = np.asarray(weights[k], np.float64)
    b = np.asarray(biases[k], np.float64)
    if k == 0:
        step = _ratio(1.0, scale.astype(np.float64))
        return w * step[None, :], b + w @ centre.astype(np.float64)
    assert act_scale is not None
    return w * _ratio(1.0, act_scale.astype(np.float64))[None, :], b


def quantize_layers8(
    lower: np.ndarray,
    upper: np.ndarray,
    weights: tuple[np.ndarray, ...],
    biases: tuple[np.ndarray, ...],
    tables: EightBit,
) -> QuantLayers:
    """The 8-bit integer form of folded float32 layers from calibrated ``tables``.

    First-layer inputs: each feature clipped to ``[lower, upper]`` and mapped onto ``[-127,
    127]`` as in the 16-bit scheme (bound 127), stored as ``step + 127`` in an unsigned byte;
    the sum's offset ``127 * sum(w)`` is folded into the bias: ``h = float32(s) * deq + (bias -
    deq * 127 * sum(w))`` (``bias`` with the input centres folded in), with ``s`` exact in
    int32 (at most ``n_in * 254 * 127``) and ``float32(s)`` exact (below 2**24 for up to 520
    inputs). Later layers' inputs: the ReLU'd outputs times ``act_scale``, rounded, clamped to
    255 (``requant``, ``top`` 255). Every layer's bias is the float model's plus the calibrated
    ``shift``. The kernel sums four byte products per int32 lane
    (:func:`geomon.classify._forward._rows_kernel_int`, ``vpdpbusd`` where the CPU has it)."""
    n_int = len(tables.weights)
    centre, scale = _input_map(lower, upper, _LEVELS8)
    out_w: list[np.ndarray] = []
    out_bias: list[np.ndarray] = []
    out_req: list[np.ndarray] = []
    for k in range(n_int):
        wq = tables.weights[k].astype(np.int64)
        deq32 = tables.deq[k].astype(np.float32)
        b = np.asarray(biases[k], np.float64) + tables.shift[k].astype(np.float64)
        if k == 0:
            b = b + np.asarray(weights[0], np.float64) @ centre.astype(np.float64)
            b = b - deq32.astype(np.float64) * _OFFSET8 * wq.sum(axis=1)
        out_w.append(_quads(wq.astype(np.int8)))
        out_bias.append(b.astype(np.float32))
        last = k + 1 == n_int
        out_req.append(np.zeros(len(deq32), np.float32) if last else
                       tables.act_scale[k].astype(np.float32))  # fmt: skip
    bounds = np.array([_LEVELS8] + [_ACT8] * (n_int - 1), np.int64)
    return QuantLayers(
        n_int, centre, scale, bounds, tuple(out_w), tuple(t.astype(np.float32) for t in tables.deq),
        tuple(out_bias), tuple(out_req), 8,
    )  # fmt: skip


def quantise_rows(
    w: np.ndarray, levels: int, fit: np.ndarray | None = None, sweeps: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """``w``'s rows scaled so that each's largest is ``levels`` and rounded (to the nearest,
    or with ``fit``, activations ``(n_in, n)``, by :func:`_fit_rounding`), and the value of
    each row's step."""
    row = _ratio(levels, np.abs(w).max(axis=1))
    target = w * row[:, None]
    wq = np.rint(target).clip(-levels, levels)
    if fit is not None:
        wq = _fit_rounding(target, wq, fit, levels, sweeps)
    return wq, _ratio(1, row)


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


def calibrate8(
    lower: np.ndarray,
    upper: np.ndarray,
    weights: tuple[np.ndarray, ...],
    biases: tuple[np.ndarray, ...],
    x: np.ndarray,
    *,
    sweeps: int = 2,
    info: Mapping[str, Any] | None = None,
) -> EightBit:
    """8-bit tables of folded float32 layers from the features ``x`` ``(n_features, n)`` of
    calibration pixels (never test pixels): layer by layer, each row's weights per input step
    scaled so that its largest is 127 and rounded to fit its outputs on these pixels
    (:func:`_fit_rounding`); its bias shifted by the mean of the float model's pre-activations
    less the 8-bit layer's (the layers before it in 8 bits), over the pixels where the float
    unit is active (where its error goes on); and each later layer's input scale
    set by the largest value its input takes on them."""
    n_int = int_layer_count(weights)
    if n_int == 0:
        raise ValueError("the model has no integer layers to put in 8 bits")
    centre, scale = _input_map(lower, upper, _LEVELS8)
    q = QuantLayers(n_int, centre, scale, np.array([_LEVELS8], np.int64), (), (), (), (), 8)
    acts = input_steps(q, lower, upper, x).astype(np.float64)
    exact = np.clip(x, lower[:, None], upper[:, None]).astype(np.float64)  # the float path
    tw: list[np.ndarray] = []
    td: list[np.ndarray] = []
    tc: list[np.ndarray] = []
    ts: list[np.ndarray] = []
    act_scale = None
    for k in range(n_int):
        w, b = _per_step(weights, centre, scale, k, act_scale, biases)
        wq, deq = quantise_rows(w, _LEVELS8, acts, sweeps)
        # a row whose step is below float32's smallest normal number (a unit whose weights
        # training decayed to about 1e-39) would keep too few bits of it in the file to stand for
        # its weights (check_eight_bit refuses it): it is stored as a zero row, which moves its
        # pre-activation by less than 1e-34
        tiny = deq < np.finfo(np.float32).tiny
        if tiny.any():
            wq[tiny] = 0
            deq = np.where(tiny, 0.0, deq)
        deq32 = deq.astype(np.float32)
        z = (wq @ acts) * deq32.astype(np.float64)[:, None] + b[:, None]
        z_exact = (
            np.asarray(weights[k], np.float64) @ exact + np.asarray(biases[k], np.float64)[:, None]
        )
        live = z_exact > 0  # where the float unit passes its ReLU: its error goes on
        shift = _ratio(
            (np.where(live, z_exact - z, 0)).sum(axis=1), live.sum(axis=1).astype(np.float64)
        )
        shift = shift.astype(np.float32)
        tw.append(wq.astype(np.float32))
        td.append(deq32)
        tc.append(shift)
        exact = np.maximum(z_exact, 0)
        if k + 1 < n_int:
            h = np.maximum(z + shift.astype(np.float64)[:, None], 0)
            act_scale = _ratio(_ACT8, h.max(axis=1)).astype(np.float32)
            ts.append(act_scale)
            acts = np.minimum(np.rint(h * act_scale.astype(np.float64)[:, None]), _ACT8)
    return EightBit(tuple(tw), tuple(td), tuple(ts), tuple(tc), dict(info or {}))
