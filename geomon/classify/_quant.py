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
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = [
    "MAX_INT_INPUTS",
    "QuantLayers",
    "hidden_activations",
    "input_steps",
    "quantize_layers",
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
    """int64 ``(max(n_int, 1),)``: the bound ``Q`` of each integer layer's inputs and weights."""
    weights: tuple[np.ndarray, ...]
    """int32 ``(n_out, ceil(n_in / 2))`` per layer: weight pairs (inputs ``2i`` in the low 16
    bits, ``2i + 1`` in the high), as the kernel broadcasts them."""
    deq: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer: the factor from a row's integer sum to its value."""
    bias: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer: the bias with the input centres folded in."""
    requant: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer: the scale of its (ReLU'd) outputs onto the next integer
    layer's ``[0, Q]`` (zeros for the last integer layer: its outputs stay float)."""


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


def quantize_layers(
    lower: np.ndarray,
    upper: np.ndarray,
    weights: tuple[np.ndarray, ...],
    biases: tuple[np.ndarray, ...],
) -> QuantLayers:
    """The integer form of the hidden layers of folded float32 layers ``weights`` (``(n_out,
    n_in)``) and ``biases`` (``(n_out,)``) over inputs clipped to ``[lower, upper]``."""
    # the leading hidden layers narrow enough for a fine bound; the rest run in float32
    n_int = 0
    while n_int < len(weights) - 1 and weights[n_int].shape[1] <= MAX_INT_INPUTS:
        n_int += 1
    n_feat = len(lower)
    lo = np.asarray(lower, np.float64)
    hi = np.asarray(upper, np.float64)
    centre = ((lo + hi) / 2).astype(np.float32)
    if n_int == 0:
        dummy = (np.zeros((1, 1), np.int32),)
        zeros = (np.zeros(1, np.float32),)
        return QuantLayers(
            0, centre, np.zeros(n_feat, np.float32), np.ones(1, np.int64), dummy, zeros, zeros,
            zeros,
        )  # fmt: skip
    bounds = [_bound(w.shape[1]) for w in weights[:n_int]]
    half = (hi - centre.astype(np.float64)).clip(min=0)
    q0 = bounds[0]
    in_scale = np.where(half > 0, q0 / np.where(half > 0, half, 1), 0).astype(np.float32)
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


def _unpair(w: np.ndarray, n_in: int) -> np.ndarray:
    return np.ascontiguousarray(w).view(np.int16).reshape(w.shape[0], -1)[:, :n_in]


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
    out = np.empty((0, h.shape[1]), np.float32)
    for k in range(q.n_int):
        wq = _unpair(q.weights[k], h.shape[0]).astype(np.int64)
        total = (wq @ h).astype(np.int32).astype(np.float32)
        g = np.maximum(total * q.deq[k][:, None] + q.bias[k][:, None], np.float32(0))
        if k + 1 < q.n_int:
            top = int(q.bound[k + 1])
            h = np.minimum(np.rint(g * q.requant[k][:, None]), np.float32(top)).astype(np.int64)
        else:
            out = g.astype(np.float32)
    return out
