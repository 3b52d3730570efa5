"""Compiled forward pass of the pixel MLP (numba): clip, layers, ReLU, softmax, class sums and
argmax fused per tile of pixels, with no ``(n_hidden, n)`` intermediates.

The numpy formulation (:meth:`geomon.classify.model.PixelModel._predict_slice`, kept as the
reference) makes a dozen passes over ``(width, 32k)`` arrays per slice. Here each tile of
:data:`TILE` pixels stays in a few kilobytes of scratch: the layers run through register-blocked
kernels (below), and the softmax, class sums and argmaxes run as passes over the tile's pixels
(independent lanes, so LLVM vectorises them without reassociating sums; no fastmath). The model
is data (weights tuple, bounds, label tables), so any feature set and any number and size of
layers run through the same code. :func:`forward_row` is one row of pixels, and
:func:`classify_row` runs it with a two-stage model's second stage (since stop 19); :func:`_forward`
runs that over a window of a feature stack, and :mod:`geomon.classify._fused` over rows whose
features it has just made.

Hidden layers run in integers (since stop 18; :mod:`geomon.classify._quant` gives the scheme):
the features are clipped and mapped onto 16-bit integers, two per int32
(:func:`_quantize_inputs`), each hidden layer sums 16-bit products exactly in int32
(:func:`_rows_kernel_int`), and its ReLU'd outputs are mapped onto the next layer's integers
or, for the last hidden layer, back to float32, from the accumulators in registers. The
last layer (to the labels) and the softmax stay float32 (:func:`_rows_kernel`). The reference in
numpy (:meth:`PixelModel.predict_numpy`) computes the same integers; the tests compare class
codes, covers and probabilities on real and edge-case pixels. Against the float32 model the
class maps agree on all but a few pixels in 10,000 (``tests/test_classify_quant.py``). A model
with 8-bit tables (:func:`geomon.classify._quant.quantize_layers8`) runs the same pass on bytes:
its features go four to an int32 (:func:`_quantize_inputs8`) and its layers through the same
kernel over quads (``vpdpbusd`` where the CPU has AVX-512 VNNI, :data:`VNNI`).

Timings of the integer layers (the reduced model 26 -> 32 -> 16 -> 9 labels, one 128-pixel tile
in cache, one thread, stop 18, Zen 4): quantising the 26 features 4.2 ns per pixel, the layers
8.4 and 4.8 (float32 before: 29.0 and 18.2), the float last layer 4.8, the softmax 6.7 and the
class argmax 0.9; requantising and dequantising as passes over stored sums took 3.0 and 1.1,
done in the layers' registers instead. On a row of 1,024 pixels of the realistic
reference the whole pass went from 55 to 43 ns per pixel (full v8, 32 -> 64 -> 32 -> 9: 212 to
114), fastest of 15 rounds in alternation.

Float layers: :func:`_rows_kernel` is written in LLVM IR through numba's ``intrinsic`` (llvmlite,
no new dependency), because numba loops cannot hold partial sums in registers: the loop
vectoriser only vectorises the innermost loop, the pixels, so the numpy-free formulation stored
and reloaded every partial sum once per block of inputs, and its 4x4 block (16 broadcast
weights) spilled. The kernel keeps 4 output rows x 16 pixels (8 AVX vectors) in registers across
all inputs: per input two vector loads, four broadcast weights, eight multiplies and eight adds,
and each output stored once, ReLU'd in the same step (no separate ReLU pass). Multiply and add
stay separate, in the same order as before (bias, then input 0, 1, ...): the same results bit
for bit. With FMA (``llvm.fma``) the dense layers were about 10 % faster, but the results
changed by float32 rounding, and on the reference block one probability differed from the numpy
path by 1.07e-5 (the tests allow 1e-5; without FMA the largest difference is 8.3e-6, as
before): not taken.

Masked stores: no vectorised loop here updates an array in place under a condition (the ReLU's
``if v < 0: v = 0``, a running maximum or argmax kept in a row), nor loads inside one arm of a
condition. LLVM turns such a loop into AVX masked stores and loads (``vmaskmovps``,
``vpmaskmovd``), which are microcoded and slow on AMD Zen. Numba lowers ``a if c else b`` to
branches, and LLVM merged two such conditionals on one comparison into masked stores, so the
running maxima are ``max()`` (a select), the running argmax is ``k + (j - k) * (v > t)``, and both
go from one scratch row to another (:func:`_first_argmax`). The exp builds its power of two in
registers (:func:`_float_from_bits`), the class argmax keeps its maximum (the probability's
numerator) and the outputs are written by vectorised passes (error_model "numpy": no zero
division check, a branch per pixel, in ``_forward``).

Timings before the integer layers, the realistic reference block (reduced model, 1024 x 1024
pixels, one thread, in-process alternation with the previous version, 12-15 rounds, 2-core VM
shared with other work): 104-118 -> 64-71 ns per pixel fastest of the rounds (medians 120-136 ->
72-86). Of that time the layers took about 40 ns, the softmax and argmaxes about 11, and the clip
about 12: it streamed the 26 feature rows from memory (104 bytes per pixel), which the row-fused
path (:mod:`geomon.classify._fused`) no longer does.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from llvmlite import binding, ir
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

from geomon.classify._quant import QuantLayers

__all__ = [
    "TILE",
    "KernelModel",
    "classify_flush",
    "classify_row",
    "classify_scratch",
    "forward",
    "forward_window",
]

#: pixels per tile: long enough for LLVM's unrolled vector loop (16 AVX2 vectors per row; 32
#: pixels fell back to its scalar remainder), short enough that the scratch stays in L1/L2
TILE = 128


_F32 = ir.FloatType()
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
#: pixels per step of the register-blocked layer kernel: two AVX vectors of eight float32
LANES = 16
_VEC = 8
_V8 = ir.VectorType(_F32, _VEC)
#: output rows per step: ``ROWS * LANES / 8`` = 8 accumulators, 2 inputs, a weight and
#: products in the 16 AVX registers
ROWS = 4
assert TILE % LANES == 0


#: shuffle mask that copies lane 0 to every lane
_SPLAT = ir.Constant(ir.VectorType(_I32, _VEC), [0] * _VEC)


def _array_args(context, builder, signature, args, n):  # type: ignore[no-untyped-def]
    """The first ``n`` arguments of an intrinsic's codegen as numba array structs."""
    return [
        context.make_array(t)(context, builder, v)
        for t, v in zip(signature.args[:n], args[:n], strict=True)
    ]


def _columns(builder, *arrays):  # type: ignore[no-untyped-def]
    """The column count (row stride in elements) of each C-contiguous 2-D array struct."""
    return [cgutils.unpack_tuple(builder, a.shape, 2)[1] for a in arrays]


def _broadcast(builder, value, undef):  # type: ignore[no-untyped-def]
    """A vector of ``undef``'s type with ``value`` in every lane."""
    lane0 = builder.insert_element(undef, value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(lane0, undef, _SPLAT)


def _vector_at(builder, base, offset, vtype):  # type: ignore[no-untyped-def]
    """A pointer to the ``vtype`` vector at element ``offset`` of ``base``."""
    return builder.bitcast(builder.gep(base, [offset]), vtype.as_pointer())


def _rows_kernel(n_rows: int, n_vec: int = LANES // _VEC):  # type: ignore[no-untyped-def]
    """Intrinsic ``kernel(w, b, src, dst, n_in, j, n_steps, relu)``: output rows ``[j, j +
    n_rows)`` of a layer, ``dst[j + r, p] = b[j + r] + w[j + r, 0] * src[0, p] + w[j + r, 1] *
    src[1, p] + ...`` in float32, in that order, for the first ``n_steps * n_vec * 8`` pixels;
    ReLU'd (``0 if v < 0 else v``: NaN and -0.0 kept) when ``relu``. ``w`` ``(n_out, n_in)``,
    ``b`` ``(n_out,)``, ``src`` and ``dst`` ``(rows, width)`` scratch, all C-contiguous float32.

    Per step of ``n_vec`` vectors of pixels the ``n_rows x n_vec`` vector accumulators stay in
    registers across all ``n_in`` inputs (stack slots in the entry block, which LLVM's mem2reg
    promotes): each input costs ``n_vec`` vector loads and ``n_rows`` broadcast weights, each
    output one store. Each accumulator is a chain of dependent adds (no reassociation), one add
    per input: a block needs about a dozen accumulators to keep the adder busy, so blocks of
    few rows take more pixels per step (:data:`_FLOAT_VECS`).
    Separate multiply and add, no FMA (see the module notes). No bounds checks: ``j + n_rows <=
    n_out``, ``n_in`` rows of ``src`` and ``n_steps * LANES`` pixels within the buffers are the
    caller's (:func:`_dense`)."""

    @intrinsic
    def kernel(typingctx, w, b, src, dst, n_in, j, n_steps, relu):  # type: ignore[no-untyped-def]
        arrays = (w, b, src, dst)
        if not all(
            isinstance(a, types.Array) and a.dtype == types.float32 and a.layout == "C"
            for a in arrays
        ) or (w.ndim, b.ndim, src.ndim, dst.ndim) != (2, 1, 2, 2):
            return None
        sig = types.void(w, b, src, dst, types.intp, types.intp, types.intp, types.boolean)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            wa, ba, sa, da = _array_args(context, builder, signature, args, 4)
            n_in_v, j_v, n_steps_v, relu_v = args[4:]
            w_cols, s_cols, d_cols = _columns(builder, wa, sa, da)
            undef = ir.Constant(_V8, ir.Undefined)
            zero = ir.Constant(_V8, [0.0] * _VEC)

            def broadcast(value):  # type: ignore[no-untyped-def]
                return _broadcast(builder, value, undef)

            def vector_at(base, offset):  # type: ignore[no-untyped-def]
                return _vector_at(builder, base, offset, _V8)

            # accumulators as stack slots in the entry block: mem2reg makes them registers
            acc = [[cgutils.alloca_once(builder, _V8) for _ in range(n_vec)] for _ in range(n_rows)]
            rows = [builder.add(j_v, ir.Constant(_I64, r)) for r in range(n_rows)]
            w_rows = [builder.gep(wa.data, [builder.mul(jr, w_cols)]) for jr in rows]
            bias = [broadcast(builder.load(builder.gep(ba.data, [jr]))) for jr in rows]
            with cgutils.for_range(builder, n_steps_v) as step:
                p0 = builder.mul(step.index, ir.Constant(_I64, n_vec * _VEC))
                for r in range(n_rows):
                    for h in range(n_vec):
                        builder.store(bias[r], acc[r][h])
                with cgutils.for_range(builder, n_in_v) as inner:
                    i = inner.index
                    at = builder.add(builder.mul(i, s_cols), p0)
                    xs = [
                        builder.load(
                            vector_at(sa.data, builder.add(at, ir.Constant(_I64, _VEC * h))),
                            align=4,
                        )
                        for h in range(n_vec)
                    ]
                    for r in range(n_rows):
                        wi = broadcast(builder.load(builder.gep(w_rows[r], [i])))
                        for h in range(n_vec):
                            total = builder.fadd(builder.load(acc[r][h]), builder.fmul(wi, xs[h]))
                            builder.store(total, acc[r][h])
                for r in range(n_rows):
                    at = builder.add(builder.mul(rows[r], d_cols), p0)
                    for h in range(n_vec):
                        v = builder.load(acc[r][h])
                        clipped = builder.select(builder.fcmp_ordered("<", v, zero), zero, v)
                        builder.store(
                            builder.select(relu_v, clipped, v),  # a scalar condition: no mask
                            vector_at(da.data, builder.add(at, ir.Constant(_I64, _VEC * h))),
                            align=4,
                        )
            return context.get_dummy_value()

        return sig, codegen

    return kernel


#: vectors of pixels per step of the float kernel of a block of 1-4 rows: 12-16 accumulators
#: (AVX-512VL has 32 vector registers). With two vectors for every block, the reduced model's
#: last layer (16 -> 9 labels: blocks of 4, 4 and 1 rows) waited on its chains of adds: 4.1 ns
#: per pixel, where the multiplies and adds alone take about 1 (stop 21)
_FLOAT_VECS = (16, 8, 4, 4)
_KERNELS = tuple(_rows_kernel(r, _FLOAT_VECS[r - 1]) for r in range(1, ROWS + 1))
_K1, _K2, _K3, _K4 = _KERNELS
_STEP = tuple(v * _VEC for v in _FLOAT_VECS)
assert all(TILE % step == 0 for step in _STEP)
_STEP1, _STEP2, _STEP3, _STEP4 = _STEP


@numba.njit(nogil=True, cache=True)
def _dense(w, b, src, dst, n_in, n_out, m, relu):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``dst[:n_out, :m] = w @ src[:n_in, :m] + b`` (ReLU'd when ``relu``), ``w`` ``(n_out,
    n_in)``; ``src`` and ``dst`` C-contiguous ``(rows, TILE)`` scratch. Blocks of :data:`ROWS`
    output rows, then one block of the remaining rows, each through its register-blocked kernel
    (:func:`_rows_kernel`) over whole steps of its pixels (:data:`_FLOAT_VECS`): the pixels of
    the last step beyond ``m`` compute on stale scratch, and nobody reads them."""
    j = 0
    while j + ROWS <= n_out:
        _K4(w, b, src, dst, n_in, j, (m + _STEP4 - 1) // _STEP4, relu)
        j += ROWS
    left = n_out - j
    if left == 3:
        _K3(w, b, src, dst, n_in, j, (m + _STEP3 - 1) // _STEP3, relu)
    elif left == 2:
        _K2(w, b, src, dst, n_in, j, (m + _STEP2 - 1) // _STEP2, relu)
    elif left == 1:
        _K1(w, b, src, dst, n_in, j, (m + _STEP1 - 1) // _STEP1, relu)


_I16 = ir.IntType(16)
_V8I32 = ir.VectorType(_I32, _VEC)
_V16I16 = ir.VectorType(_I16, 2 * _VEC)
_V16I32 = ir.VectorType(_I32, 2 * _VEC)


#: vectors of pixels per step of the integer kernel: 4 rows x 4 vectors = 16 accumulators. Against
#: 2 vectors (stop 21, fastest of 5 in each of 3 alternated rounds): the second stage's (128, 64)
#: layers 47 -> 42 and 87-93 -> 76 ns per pixel, the first stage's 13 pairs -> 32 rows 11.6-11.9
#: -> 10.5-11.8 and 16 -> 16 rows 5.6-5.7 -> 6.0-6.4 (its float epilogue has more to hold)
_INT_VECS = 4
_INT_STEP = _INT_VECS * _VEC
assert TILE % _INT_STEP == 0


def _rows_kernel_int(n_rows: int, out: str = "sum", unit: str = "pairs"):  # type: ignore[no-untyped-def]
    """Intrinsic ``kernel(w, src, dst, deq, bias, req, top, n_pairs, j, n_steps)``: output rows
    ``[j, j + n_rows)`` of an integer layer (:mod:`geomon.classify._quant`), the sums ``s[j + r,
    p] = sum over pairs i of w16[j + r, 2i] * x16[2i, p] + w16[j + r, 2i + 1] * x16[2i + 1, p]``
    in int32, for the first ``n_steps * _INT_STEP`` pixels. ``w`` ``(n_out, n_pairs)`` and ``src``
    ``(n_pairs, width)`` hold int16 pairs in int32 (low half: the even input); all arrays
    C-contiguous. What goes to ``dst`` (``out``):

    - ``"sum"``: the sums, int32 rows ``(n_out, width)`` (the tests' view of the kernel);
    - ``"float"``: ``g = max(float32(s) * deq + bias, 0)``, float32 rows (the last hidden layer);
    - ``"pairs"``: ``rint(min(g * req, top))`` as int16, rows ``2k`` and ``2k + 1`` paired in
      int32 row ``k`` of ``dst`` (``j`` even; an odd last row pairs with 0): the next integer
      layer's input. ``deq``, ``bias``, ``req``: float32 ``(n_out,)``; ``top``: float32.

    Both conversions run on the accumulators in registers, each float32 step on its own (no
    FMA), in the order of :func:`geomon.classify._quant.hidden_activations` (the reference):
    a pass over stored sums cost 4 ns per pixel more on the reduced model.

    :func:`_rows_kernel`'s register blocking (4 rows x 32 pixels in 16 vector accumulators) with
    plain integer IR per pair: sign-extend both vectors' 16-bit halves, multiply, add the even
    and odd products, add to the accumulator. LLVM matches that to ``vpmaddwd`` + ``vpaddd``,
    or to one ``vpdpwssd`` where AVX-512 VNNI is there (checked on this machine's Zen 4), and
    to what other CPUs have for it: no CPU-specific intrinsic, the same integers everywhere.
    The sums cannot overflow: the layer's bound keeps ``n_in * Q**2`` below 2**31.

    ``unit`` ``"quads"`` or ``"quads_vnni"`` (8-bit layers, :func:`geomon.classify._quant.
    quantize_layers8`): ``w`` holds four signed bytes per int32 (inputs ``4i .. 4i + 3``, the
    lowest in the low byte) and ``src`` four unsigned bytes, ``n_pairs`` counts quads, and
    ``"pairs"`` output becomes ``"quads"``: ``rint(min(g * req, top))`` (``top`` at most 255) in
    byte ``r`` of int32 row ``k`` for rows ``4k + r`` (``j`` a multiple of 4; missing rows 0).
    ``"quads_vnni"`` sums each quad with ``vpdpbusd`` (``llvm.x86.avx512.vpdpbusd.256``: only on
    CPUs with AVX-512 VNNI and VL, :data:`VNNI`; LLVM does not match plain IR to it); ``"quads"``
    splits each lane's quad into two 16-bit pairs, bytes (0, 2) and (1, 3) (a mask and a
    shift; the weights' signed bytes by two shifts), and sums each pair as ``"pairs"`` does,
    which LLVM matches to two ``vpmaddwd`` (any CPU): the same integers, as a byte times a
    signed byte fits in int16. Until stop 30 it widened every byte to int32 and multiplied
    lane by lane: on an AVX2-only EPYC (no AVX-512) the 8-bit reduced model then took 431 ns
    per pixel against 84 for its 16-bit layers; the pairs take 77 (1,000,000 random pixels,
    one thread)."""
    quads = unit != "pairs"
    n_vec = _INT_VECS
    even = ir.Constant(ir.VectorType(_I32, _VEC), list(range(0, 2 * _VEC, 2)))
    odd = ir.Constant(ir.VectorType(_I32, _VEC), list(range(1, 2 * _VEC, 2)))
    interleave = ir.Constant(
        ir.VectorType(_I32, 2 * _VEC), [k for i in range(_VEC) for k in (i, i + _VEC)]
    )
    v8i16 = ir.VectorType(_I16, _VEC)
    out_dtype = types.float32 if out == "float" else types.int32

    @intrinsic
    def kernel(typingctx, w, src, dst, deq, bias, req, top, n_pairs, j, n_steps):  # type: ignore[no-untyped-def]
        ints = (w, src)
        if not all(
            isinstance(a, types.Array) and a.dtype == types.int32 and a.layout == "C"
            and a.ndim == 2
            for a in ints
        ) or not (
            isinstance(dst, types.Array) and dst.dtype == out_dtype and dst.layout == "C"
            and dst.ndim == 2
        ) or not all(
            isinstance(a, types.Array) and a.dtype == types.float32 and a.ndim == 1
            for a in (deq, bias, req)
        ) or top != types.float32:  # fmt: skip
            return None
        sig = types.void(w, src, dst, deq, bias, req, top, types.intp, types.intp, types.intp)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            wa, sa, da, qa, ba, ra = _array_args(context, builder, signature, args, 6)
            top_v, n_in_v, j_v, n_steps_v = args[6:]
            w_cols, s_cols, d_cols = _columns(builder, wa, sa, da)
            undef = ir.Constant(_V8I32, ir.Undefined)
            undef_f = ir.Constant(_V8, ir.Undefined)
            undef16 = ir.Constant(_V16I32, ir.Undefined)
            zero = ir.Constant(_V8I32, [0] * _VEC)
            zero_f = ir.Constant(_V8, [0.0] * _VEC)
            zero16 = ir.Constant(v8i16, [0] * _VEC)
            low_bytes = ir.Constant(_V8I32, [0x00FF00FF] * _VEC)
            eight32 = ir.Constant(_V8I32, [8] * _VEC)
            eight16 = ir.Constant(_V16I16, [8] * 2 * _VEC)
            if unit == "quads_vnni":
                dot = cgutils.get_or_insert_function(
                    builder.module,
                    ir.FunctionType(_V8I32, [_V8I32, _V8I32, _V8I32]),
                    "llvm.x86.avx512.vpdpbusd.256",
                )

            def broadcast(value, vec=undef):  # type: ignore[no-untyped-def]
                return _broadcast(builder, value, vec)

            def vector_at(base, offset, vtype=_V8I32):  # type: ignore[no-untyped-def]
                return _vector_at(builder, base, offset, vtype)

            def wide(v):  # type: ignore[no-untyped-def]
                return builder.sext(builder.bitcast(v, _V16I16), _V16I32)

            def row_value(array, row):  # type: ignore[no-untyped-def]
                return broadcast(builder.load(builder.gep(array.data, [row])), undef_f)

            def relu(deq_r, bias_r, total):  # type: ignore[no-untyped-def]
                """``max(float32(total) * deq + bias, 0)`` (as ``max()`` selects it)."""
                v = builder.fadd(builder.fmul(builder.sitofp(total, _V8), deq_r), bias_r)
                return builder.select(builder.fcmp_ordered(">", v, zero_f), v, zero_f)

            def scaled(g, req_r):  # type: ignore[no-untyped-def]
                """``rint(min(g * req, top))`` as int32 (int16 for pairs; as ``min()`` selects
                it)."""
                v = builder.fmul(g, req_r)
                v = builder.select(builder.fcmp_ordered("<", v, tops), v, tops)
                v = builder.fptosi(builder.call(rint, [v]), _V8I32)
                return v if quads else builder.trunc(v, v8i16)

            acc = [
                [cgutils.alloca_once(builder, _V8I32) for _ in range(n_vec)] for _ in range(n_rows)
            ]
            rows = [builder.add(j_v, ir.Constant(_I64, r)) for r in range(n_rows)]
            w_rows = [builder.gep(wa.data, [builder.mul(jr, w_cols)]) for jr in rows]
            if out != "sum":
                deqs = [row_value(qa, jr) for jr in rows]
                biases = [row_value(ba, jr) for jr in rows]
                reqs = [row_value(ra, jr) for jr in rows]
                tops = broadcast(top_v, undef_f)
                rint = cgutils.get_or_insert_function(
                    builder.module, ir.FunctionType(_V8, [_V8]), "llvm.rint.v8f32"
                )
            with cgutils.for_range(builder, n_steps_v) as step:
                p0 = builder.mul(step.index, ir.Constant(_I64, _INT_STEP))
                for r in range(n_rows):
                    for h in range(n_vec):
                        builder.store(zero, acc[r][h])
                with cgutils.for_range(builder, n_in_v) as inner:
                    i = inner.index
                    at = builder.add(builder.mul(i, s_cols), p0)
                    raw = [
                        builder.load(
                            vector_at(sa.data, builder.add(at, ir.Constant(_I64, _VEC * h))),
                            align=4,
                        )
                        for h in range(n_vec)
                    ]
                    xs = raw if quads else [wide(v) for v in raw]
                    if unit == "quads":  # bytes (0, 2) and (1, 3) of each lane as int16 pairs
                        xq = [
                            (
                                wide(builder.and_(v, low_bytes)),
                                wide(builder.and_(builder.lshr(v, eight32), low_bytes)),
                            )
                            for v in raw
                        ]
                    for r in range(n_rows):
                        wr = broadcast(builder.load(builder.gep(w_rows[r], [i])))
                        if unit == "quads":  # the signed bytes (0, 2) and (1, 3) as int16 pairs
                            w16 = builder.bitcast(wr, _V16I16)
                            w_even = builder.sext(
                                builder.ashr(builder.shl(w16, eight16), eight16), _V16I32
                            )
                            w_odd = builder.sext(builder.ashr(w16, eight16), _V16I32)
                        for h in range(n_vec):
                            total = builder.load(acc[r][h])
                            if unit == "quads_vnni":
                                total = builder.call(dot, [total, xs[h], wr])
                            elif quads:
                                # two 16-bit pair products per lane (vpmaddwd on AVX2): exact,
                                # as each product of a byte and a signed byte fits in int16
                                for xv, wv in zip(xq[h], (w_even, w_odd), strict=True):
                                    prod = builder.mul(xv, wv)
                                    pair = builder.add(
                                        builder.shuffle_vector(prod, undef16, even),
                                        builder.shuffle_vector(prod, undef16, odd),
                                    )
                                    total = builder.add(total, pair)
                            else:
                                prod = builder.mul(xs[h], wide(wr))
                                pair = builder.add(
                                    builder.shuffle_vector(prod, undef16, even),
                                    builder.shuffle_vector(prod, undef16, odd),
                                )
                                total = builder.add(total, pair)
                            builder.store(total, acc[r][h])
                if out == "sum":
                    for r in range(n_rows):
                        at = builder.add(builder.mul(rows[r], d_cols), p0)
                        for h in range(n_vec):
                            builder.store(
                                builder.load(acc[r][h]),
                                vector_at(da.data, builder.add(at, ir.Constant(_I64, _VEC * h))),
                                align=4,
                            )
                else:
                    values = [
                        [relu(deqs[r], biases[r], builder.load(acc[r][h])) for h in range(n_vec)]
                        for r in range(n_rows)
                    ]
                    if out == "float":
                        for r in range(n_rows):
                            at = builder.add(builder.mul(rows[r], d_cols), p0)
                            for h in range(n_vec):
                                offset = builder.add(at, ir.Constant(_I64, _VEC * h))
                                builder.store(
                                    values[r][h], vector_at(da.data, offset, _V8), align=4
                                )
                    elif quads:
                        quad_row = builder.udiv(rows[0], ir.Constant(_I64, 4))
                        at = builder.add(builder.mul(quad_row, d_cols), p0)
                        for h in range(n_vec):
                            packed = scaled(values[0][h], reqs[0])
                            for r in range(1, n_rows):
                                byte = builder.shl(
                                    scaled(values[r][h], reqs[r]),
                                    ir.Constant(_V8I32, [8 * r] * _VEC),
                                )
                                packed = builder.or_(packed, byte)
                            offset = builder.add(at, ir.Constant(_I64, _VEC * h))
                            builder.store(packed, vector_at(da.data, offset), align=4)
                    else:
                        for r in range(0, n_rows, 2):
                            pair_row = builder.udiv(rows[r], ir.Constant(_I64, 2))
                            at = builder.add(builder.mul(pair_row, d_cols), p0)
                            for h in range(n_vec):
                                low = scaled(values[r][h], reqs[r])
                                high = (
                                    zero16
                                    if r + 1 == n_rows
                                    else scaled(values[r + 1][h], reqs[r + 1])
                                )
                                both = builder.shuffle_vector(low, high, interleave)
                                offset = builder.add(at, ir.Constant(_I64, _VEC * h))
                                builder.store(
                                    builder.bitcast(both, _V8I32),
                                    vector_at(da.data, offset),
                                    align=4,
                                )
            return context.get_dummy_value()

        return sig, codegen

    return kernel


_SUM_KERNELS = tuple(_rows_kernel_int(r, "sum") for r in range(1, ROWS + 1))
_PAIR_KERNELS = tuple(_rows_kernel_int(r, "pairs") for r in range(1, ROWS + 1))
_FLOAT_KERNELS = tuple(_rows_kernel_int(r, "float") for r in range(1, ROWS + 1))


def _target_has_vnni() -> bool:
    """Whether numba compiles for a CPU with AVX-512 VNNI and VL: the host's features, unless
    ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` name another target (e.g. ``generic`` for a
    cache shared between machines), whose features then decide (LLVM aborts the process on an
    intrinsic its target lacks)."""
    from numba.core import config

    name = getattr(config, "CPU_NAME", None)
    features = getattr(config, "CPU_FEATURES", None)
    if name is None and features is None:
        host = binding.get_host_cpu_features()
        return bool(host.get("avx512vnni") and host.get("avx512vl"))
    named = set((features or "").split(","))
    return {"+avx512vnni", "+avx512vl"} <= named


#: the CPU sums 8-bit quads with ``vpdpbusd`` on 256-bit vectors (AVX-512 VNNI and VL; Zen 4,
#: Ice Lake and later Xeons): else the 8-bit layers run the plain-IR quads, the same integers
VNNI = _target_has_vnni()
_QUAD_UNIT = "quads_vnni" if VNNI else "quads"
_QSUM_KERNELS = tuple(_rows_kernel_int(r, "sum", _QUAD_UNIT) for r in range(1, ROWS + 1))
_QUAD_KERNELS = tuple(_rows_kernel_int(r, "pairs", _QUAD_UNIT) for r in range(1, ROWS + 1))
_QFLOAT_KERNELS = tuple(_rows_kernel_int(r, "float", _QUAD_UNIT) for r in range(1, ROWS + 1))
#: the plain-IR sums on every CPU (the tests check them where the CPU has VNNI too)
_QSUM_PLAIN_KERNELS = tuple(_rows_kernel_int(r, "sum", "quads") for r in range(1, ROWS + 1))


#: what an integer layer writes (:func:`_rows_kernel_int`): its int32 sums, the next integer
#: layer's input pairs, or ReLU'd float32 rows; then the same of an 8-bit layer (input quads,
#: the next layer's quads), and the plain-IR 8-bit sums
SUMS, PAIRS, FLOATS, QSUMS, QUADS, QFLOATS, QSUMS_PLAIN = 0, 1, 2, 3, 4, 5, 6


@numba.njit(nogil=True, cache=True)
def _dense_int(mode, w, src, dst, out, deq, bias, req, top, n_pairs, n_out, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """An integer layer over ``n_pairs`` input pairs and the first ``m`` pixels, through the
    kernel of ``mode``: :data:`SUMS` or :data:`PAIRS` into int32 ``dst``, :data:`FLOATS` into
    float32 ``out`` (``deq``, ``bias``, ``req``, ``top``: :func:`_rows_kernel_int`'s, unused for
    sums); an 8-bit layer's the same over ``n_pairs`` input quads: :data:`QSUMS` (or
    :data:`QSUMS_PLAIN`, the plain-IR kernel) or :data:`QUADS` into ``dst``, :data:`QFLOATS`
    into ``out``. Blocks of :data:`ROWS` output rows, then one block of the rest, as
    :func:`_dense`."""
    steps = (m + _INT_STEP - 1) // _INT_STEP
    j = 0
    while j < n_out:
        r = min(ROWS, n_out - j)
        if mode == FLOATS:
            _float_rows(r, out, w, src, deq, bias, req, top, n_pairs, j, steps)
        elif mode == PAIRS:
            _pair_rows(r, dst, w, src, deq, bias, req, top, n_pairs, j, steps)
        elif mode == SUMS:
            _sum_rows(r, dst, w, src, deq, bias, req, top, n_pairs, j, steps)
        elif mode == QFLOATS:
            _qfloat_rows(r, out, w, src, deq, bias, req, top, n_pairs, j, steps)
        elif mode == QUADS:
            _quad_rows(r, dst, w, src, deq, bias, req, top, n_pairs, j, steps)
        elif mode == QSUMS:
            _qsum_rows(r, dst, w, src, deq, bias, req, top, n_pairs, j, steps)
        else:
            _qsum_plain_rows(r, dst, w, src, deq, bias, req, top, n_pairs, j, steps)
        j += r


def _rows_dispatch(kernels):  # type: ignore[no-untyped-def]
    """A compiled ``f(r, dst, w, src, deq, bias, req, top, n_pairs, j, steps)`` calling the
    ``r``-row kernel of ``kernels`` (1-4 rows)."""
    k1, k2, k3, k4 = kernels

    @numba.njit(nogil=True)
    def rows(r, dst, w, src, deq, bias, req, top, n_pairs, j, steps):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        if r == 4:
            k4(w, src, dst, deq, bias, req, top, n_pairs, j, steps)
        elif r == 3:
            k3(w, src, dst, deq, bias, req, top, n_pairs, j, steps)
        elif r == 2:
            k2(w, src, dst, deq, bias, req, top, n_pairs, j, steps)
        else:
            k1(w, src, dst, deq, bias, req, top, n_pairs, j, steps)

    return rows


_sum_rows = _rows_dispatch(_SUM_KERNELS)
_pair_rows = _rows_dispatch(_PAIR_KERNELS)
_float_rows = _rows_dispatch(_FLOAT_KERNELS)
_qsum_rows = _rows_dispatch(_QSUM_KERNELS)
_quad_rows = _rows_dispatch(_QUAD_KERNELS)
_qfloat_rows = _rows_dispatch(_QFLOAT_KERNELS)
_qsum_plain_rows = _rows_dispatch(_QSUM_PLAIN_KERNELS)


class KernelModel(NamedTuple):
    """A model as :func:`forward` takes it (see :attr:`PixelModel._kernel_model`)."""

    lower: np.ndarray
    """float32 ``(n_features,)`` clip bounds."""
    upper: np.ndarray
    weights: tuple[np.ndarray, ...]
    """float32 ``(n_out, n_in)`` per layer, standardisation folded into the first."""
    biases: tuple[np.ndarray, ...]
    """float32 ``(n_out,)`` per layer."""
    label_class: np.ndarray
    """intp class code of each label."""
    label_cover: np.ndarray
    """uint8 cover index of each label."""
    n_classes: int
    nodata_code: int
    unknown_cover: int
    quant: QuantLayers
    """The hidden layers in integers (:mod:`geomon.classify._quant`); the float ``weights`` and
    ``biases`` past ``quant.n_int`` (the last layer) run in float32."""
    refine: tuple = ()
    """``()``, or for a two-stage model ``(second stage's KernelModel, thresholds)``:
    ``thresholds`` float32 ``(n_classes,)``; a pixel this model gives a probability below its
    class's threshold (infinite for a class that never stands) takes the second stage's results
    (:func:`classify_row`); no-data pixels stay no data."""
    route: tuple = ()
    """``()``, or for a model that routes pixels to another (since stop 30) ``(other
    KernelModel, i, j, margin)``: a pixel whose features ``i`` minus ``j`` (float32, as read)
    exceed ``margin`` (float32) takes the other model's results, its second stage included,
    and is not sent to this model's second stage; no-data pixels stay no data."""


def forward(
    model: KernelModel, x: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(code uint8, probability float32, cover uint8)`` ``(n,)`` of feature-major ``x``
    ``(n_features, n)``; pixels with a NaN feature or not ``valid`` ``(n,)`` are no data."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[1]
    ok = None if valid is None else np.ascontiguousarray(valid, np.bool_)
    if ok is not None and (ok.ndim != 1 or ok.size != n):
        raise ValueError(f"valid has shape {ok.shape} for {n} feature pixels")
    code, prob, cover = forward_window(
        model,
        x.reshape(len(x), 1, 1, n),
        None if ok is None else ok.reshape(1, 1, n),
        (slice(0, 1), slice(0, n)),
    )
    return code.reshape(n), prob.reshape(n), cover.reshape(n)


def forward_window(
    model: KernelModel,
    x: np.ndarray,
    valid: np.ndarray | None,
    window: tuple[slice, slice],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`forward` of the pixels of ``window`` (two slices, step 1, of the last two axes)
    of feature-major ``x`` ``(n_features, planes, y, x)`` C-contiguous float32 (``valid``:
    ``(planes, y, x)``), as ``(planes, window y, window x)`` arrays: a block read with a halo
    for its context features classifies its own pixels only. Each pixel's results do not depend
    on where its tile starts, so they are those of the whole array's."""
    ok, (y0, y1, x0, x1), (code, prob, cover) = window_outputs(x, valid, window, "feature")
    if code.size:
        _forward(x, ok, y0, y1, x0, x1, model, code, prob, cover)
    return code, prob, cover


def window_outputs(
    x: np.ndarray, valid: np.ndarray | None, window: tuple[slice, slice], what: str
) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Check a kernel's ``x`` (C-contiguous float32 ``(rows, planes, y, x)``: ``what`` rows),
    ``valid`` and ``window``; return ``valid`` as the kernels take it (empty for all valid), the
    window's ``(y0, y1, x0, x1)`` and new code, probability and cover arrays ``(planes, window
    y, window x)``."""
    if x.ndim != 4 or x.dtype != np.float32 or not x.flags.c_contiguous:
        raise ValueError(
            f"{what} rows must be C-contiguous float32 (n, planes, y, x), not {x.shape}"
        )
    planes, h, w = x.shape[1:]
    ys, xs = (range(*window[0].indices(h)), range(*window[1].indices(w)))
    if ys.step != 1 or xs.step != 1:
        raise ValueError("window slices must have step 1")
    if valid is None:
        ok = np.empty((0, 0, 0), np.bool_)
    else:
        ok = np.ascontiguousarray(valid, np.bool_)
        if ok.shape != x.shape[1:]:
            raise ValueError(f"valid has shape {ok.shape} for {what} pixels {x.shape[1:]}")
    shape = (planes, len(ys), len(xs))
    outputs = (np.empty(shape, np.uint8), np.empty(shape, np.float32), np.empty(shape, np.uint8))
    return ok, (ys.start, ys.start + len(ys), xs.start, xs.start + len(xs)), outputs


_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_EXP_MIN = np.float32(-87.0)


@intrinsic
def _float_from_bits(typingctx, bits):  # type: ignore[no-untyped-def]
    """The float32 whose bits are the low 32 bits of the integer ``bits`` (a bitcast, in
    registers; a store to an int32 scratch row read through a float32 view cost a pass)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        low = context.cast(builder, args[0], signature.args[0], types.int32)
        return builder.bitcast(low, _F32)

    return types.float32(bits), codegen


@numba.njit(nogil=True, cache=True)
def _exp_nonpositive(d, top, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``d[:m] = exp(d[:m] - top[:m])`` for ``d <= top`` in float32, in one loop LLVM
    vectorises (a libm call per value was a third of the pass): Cephes ``expf`` (Cody-Waite
    reduction by ln 2, degree-7 polynomial, within 2 ulp) times the power of two built from its
    exponent bits (:func:`_float_from_bits`). Values below -87 give exp(-87) ~ 1.6e-38
    (negligible beside the top label's 1)."""
    for p in range(m):
        x = max(d[p] - top[p], _EXP_MIN)
        n = np.floor(x * _LOG2E + np.float32(0.5))
        r = x - n * _LN2_HI - n * _LN2_LO
        y = np.float32(1.9875691500e-4) * r + np.float32(1.3981999507e-3)
        y = y * r + np.float32(8.3334519073e-3)
        y = y * r + np.float32(4.1665795894e-2)
        y = y * r + np.float32(1.6666665459e-1)
        y = y * r + np.float32(5.0000001201e-1)
        y = y * (r * r) + r + np.float32(1)
        d[p] = y * _float_from_bits((np.int32(n) + np.int32(127)) << np.int32(23))  # type: ignore[call-arg]  # an intrinsic: numba passes typingctx


@numba.njit(nogil=True, cache=True)
def _softmax_tile(scores, n_lab, label_class, cls, work, best, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Over ``m`` pixels of ``scores`` ``(n_lab, TILE)`` (overwritten by exp(score - max)): label
    probabilities summed by class into ``cls`` ``(n_classes, TILE)``, the first most probable
    label into ``best[0]`` (``best`` int32 ``(2, TILE)`` scratch), the total into ``work[0]``
    (``work`` ``(4, TILE)`` scratch). Every pass runs over the tile's pixels, vectorised; the
    running maxima go from one scratch row to the other (see the module notes on masked
    stores), two labels per pass."""
    top, other = work[0], work[1]
    for p in range(m):
        top[p] = scores[0, p]
    j = 1
    while j < n_lab:
        row = scores[j]
        if j + 1 < n_lab:
            nxt = scores[j + 1]
            for p in range(m):
                other[p] = max(max(top[p], row[p]), nxt[p])
            j += 2
        else:
            for p in range(m):
                other[p] = max(top[p], row[p])
            j += 1
        top, other = other, top
    for j in range(n_lab):
        _exp_nonpositive(scores[j], top, m)
    for c in range(cls.shape[0]):
        for p in range(m):
            cls[c, p] = 0
    total = work[0]
    for p in range(m):
        total[p] = 0
    # sums and the label argmax (from -1: exps are >= 0) in one pass per label
    a, b = 2, 3
    for p in range(m):
        work[a, p] = -1
        best[0, p] = 0
    for j in range(n_lab):
        row = scores[j]
        into = cls[label_class[j]]
        t0, t1, k0, k1 = work[a], work[b], best[a - 2], best[b - 2]
        for p in range(m):
            e = row[p]
            total[p] += e
            into[p] += e
            t = t0[p]
            k = k0[p]
            t1[p] = max(t, e)  # e if e > t else t, a select
            k1[p] = k + (j - k) * (e > t)
        a, b = b, a
    if a == 3:  # the last pass wrote row 1
        for p in range(m):
            best[0, p] = best[1, p]


@numba.njit(nogil=True, cache=True)
def _first_argmax(rows, n, floor, out, top, m):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``out[p]`` = the first ``j < n`` with the largest ``rows[j, p]`` (numpy's argmax) and
    ``top[0, p]`` its value, for ``p < m`` (``out`` int32 ``(2, TILE)``, ``top`` float32
    ``(2, TILE)`` scratch). Rows compare with ``>`` from ``floor`` (0 if none is above it), or
    from row 0 when ``floor`` is NaN: the comparisons of the vectorised passes of earlier
    versions, NaN included. Row by row over the pixels, vectorised: each pass reads the running
    maximum and index from one scratch row and writes them to the other (a row updated in place
    under a condition compiles to masked stores: see the module notes)."""
    start = 0 if floor == floor else 1
    a, b = 0, 1
    if (n - start) % 2:  # the last pass writes row 0
        a, b = 1, 0
    t0, k0 = top[a], out[a]
    if start == 0:
        for p in range(m):
            t0[p] = floor
            k0[p] = 0
    else:
        for p in range(m):
            t0[p] = rows[0, p]
            k0[p] = 0
    for j in range(start, n):
        row = rows[j]
        t0, k0, t1, k1 = top[a], out[a], top[b], out[b]
        for p in range(m):
            v = row[p]
            t = t0[p]
            k = k0[p]
            t1[p] = max(t, v)  # v if v > t else t, a select
            k1[p] = k + (j - k) * (v > t)
        a, b = b, a


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _forward(x, valid, y0, y1, x0, x1, model, code, prob, cover):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Classify the pixels ``[y0:y1, x0:x1]`` of each plane of feature-major ``x``
    ``(n_features, planes, y, x)`` float32 into ``code``, ``prob`` and ``cover`` ``(planes,
    y1 - y0, x1 - x0)``, row by row (:func:`classify_row`) with ``model`` (a
    :class:`KernelModel`). Pixels with a NaN feature or not ``valid`` (``(planes, y, x)`` bool,
    or empty for all valid) get the no-data code, 0 and the unknown cover."""
    scratch = classify_scratch(x.shape[0], model)
    check_valid = valid.shape[0] == x.shape[1]
    for pl in range(x.shape[1]):
        for y in range(y0, y1):
            vrow = valid[pl, y, x0:x1] if check_valid else valid[0, 0, :0]
            classify_row(
                x, pl, y, x0, x1 - x0, vrow, check_valid, model,
                code, prob, cover, pl, y - y0, scratch,
            )  # fmt: skip
    classify_flush(model, code, prob, cover, scratch)


@numba.njit(nogil=True, cache=True)
def forward_scratch(n_feat, model):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The scratch of :func:`forward_row` for a :class:`KernelModel` of ``n_feat`` inputs: two float layer buffers (zeroed: lanes past a ragged tile stay
    finite), the integer layers' input pairs and sums, class sums, work rows, label and class
    argmaxes, and the no-data flags of a tile."""
    width = n_feat
    weights, n_classes = model.weights, model.n_classes
    for w in weights:
        width = max(width, w.shape[0])
    return (
        np.zeros((width, TILE), np.float32),
        np.zeros((width, TILE), np.float32),
        np.zeros(((width + 1) // 2, TILE), np.int32),
        np.zeros(((width + 1) // 2, TILE), np.int32),
        np.empty((n_classes, TILE), np.float32),
        np.empty((4, TILE), np.float32),
        np.empty((2, TILE), np.int32),
        np.empty((2, TILE), np.int32),
        np.empty(TILE, np.bool_),
    )


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _quantize_inputs(x, pl, y, at, m, lower, upper, quant, pairs, bad):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The first integer layer's input pairs of pixels ``x[:, pl, y, at:at + m]``: each
    feature clipped to ``[lower, upper]`` (NaN: the range's middle, and the pixel flagged in
    ``bad``), ``rint((v - centre) * scale)`` within the bound, two features per int32."""
    n_feat = x.shape[0]
    centre, scale = quant.centre, quant.scale
    top = np.float32(quant.bound[0])
    for r in range((n_feat + 1) // 2):
        i = 2 * r
        j = min(i + 1, n_feat - 1)  # an odd last feature pairs with a zero
        lo0, hi0, c0, s0 = lower[i], upper[i], centre[i], scale[i]
        lo1, hi1, c1, s1 = lower[j], upper[j], centre[j], scale[j]
        s1 = s1 if j > i else np.float32(0)
        src0 = x[i, pl, y, at : at + m]  # offsets by slicing
        src1 = x[j, pl, y, at : at + m]
        dst = pairs[r]
        for p in range(m):
            v0 = src0[p]
            v1 = src1[p]
            bad[p] |= (v0 != v0) | (v1 != v1)
            a0 = c0 if v0 != v0 else min(max(v0, lo0), hi0)
            a1 = c1 if v1 != v1 else min(max(v1, lo1), hi1)
            q0 = np.int32(np.rint(min(max((a0 - c0) * s0, -top), top)))
            q1 = np.int32(np.rint(min(max((a1 - c1) * s1, -top), top)))
            dst[p] = (q0 & 0xFFFF) | (q1 << 16)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _quantize_inputs8(x, pl, y, at, m, lower, upper, quant, quads, bad):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """:func:`_quantize_inputs` for an 8-bit first layer: each step (bound 127) plus 127 as an
    unsigned byte, four features per int32, the lowest in the low byte (past the last feature,
    its copy at scale 0: byte 127, under weights 0)."""
    n_feat = x.shape[0]
    centre, scale = quant.centre, quant.scale
    top = np.float32(quant.bound[0])
    off = np.int32(127)
    for r in range((n_feat + 3) // 4):
        i0 = 4 * r
        i1, i2, i3 = min(i0 + 1, n_feat - 1), min(i0 + 2, n_feat - 1), min(i0 + 3, n_feat - 1)
        lo0, hi0, c0, s0 = lower[i0], upper[i0], centre[i0], scale[i0]
        lo1, hi1, c1, s1 = lower[i1], upper[i1], centre[i1], scale[i1]
        lo2, hi2, c2, s2 = lower[i2], upper[i2], centre[i2], scale[i2]
        lo3, hi3, c3, s3 = lower[i3], upper[i3], centre[i3], scale[i3]
        s1 = s1 if i1 > i0 else np.float32(0)
        s2 = s2 if i2 > i1 else np.float32(0)
        s3 = s3 if i3 > i2 else np.float32(0)
        src0 = x[i0, pl, y, at : at + m]  # offsets by slicing
        src1 = x[i1, pl, y, at : at + m]
        src2 = x[i2, pl, y, at : at + m]
        src3 = x[i3, pl, y, at : at + m]
        dst = quads[r]
        for p in range(m):
            v0, v1, v2, v3 = src0[p], src1[p], src2[p], src3[p]
            bad[p] |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3)
            a0 = c0 if v0 != v0 else min(max(v0, lo0), hi0)
            a1 = c1 if v1 != v1 else min(max(v1, lo1), hi1)
            a2 = c2 if v2 != v2 else min(max(v2, lo2), hi2)
            a3 = c3 if v3 != v3 else min(max(v3, lo3), hi3)
            q0 = np.int32(np.rint(min(max((a0 - c0) * s0, -top), top))) + off
            q1 = np.int32(np.rint(min(max((a1 - c1) * s1, -top), top))) + off
            q2 = np.int32(np.rint(min(max((a2 - c2) * s2, -top), top))) + off
            q3 = np.int32(np.rint(min(max((a3 - c3) * s3, -top), top))) + off
            dst[p] = q0 | (q1 << 8) | (q2 << 16) | (q3 << 24)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def forward_row(x, pl, y, x0, n, vrow, check_valid, model, crow, prow, vcov, scratch):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Classify the ``n`` pixels ``x[:, pl, y, x0:x0 + n]`` of feature-major ``x`` (C-contiguous
    float32 ``(n_features, planes, y, x)``) with ``model`` (a :class:`KernelModel`) into the rows
    ``crow``, ``prow`` and ``vcov``, in tiles of :data:`TILE` pixels; ``vrow``: their valid flags
    (when ``check_valid``). ``scratch``: :func:`forward_scratch` of the model. The hidden layers
    run in integers (``model.quant``), the last in float32."""
    lower, upper, weights, biases = model.lower, model.upper, model.weights, model.biases
    label_class, label_cover, quant = model.label_class, model.label_cover, model.quant
    nodata_code, unknown_cover = model.nodata_code, model.unknown_cover
    buf_a, buf_b, pairs, acc, cls, work, best, win, bad = scratch
    n_feat = x.shape[0]
    n_layers = len(weights)
    n_int = quant.n_int
    nodata = np.int32(nodata_code)
    zero = np.float32(0)
    for start in range(0, n, TILE):
        m = min(TILE, n - start)
        for p in range(m):
            bad[p] = check_valid and not vrow[start + p]
        n_in = n_feat
        if n_int > 0:
            eight = quant.bits == 8
            if eight:
                _quantize_inputs8(x, pl, y, x0 + start, m, lower, upper, quant, pairs, bad)
            else:
                _quantize_inputs(x, pl, y, x0 + start, m, lower, upper, quant, pairs, bad)
            src_pairs, dst_pairs = pairs, acc  # acc: the other pair buffer
            for k in range(n_int):
                w, n_out = quant.weights[k], quant.weights[k].shape[0]
                deq, bias = quant.deq[k], quant.bias[k]
                n_pairs = (n_in + 3) // 4 if eight else (n_in + 1) // 2
                if k + 1 < n_int:
                    top = np.float32(quant.bound[k + 1])
                    req = quant.requant[k]
                    _dense_int(
                        QUADS if eight else PAIRS,
                        w,
                        src_pairs,
                        dst_pairs,
                        buf_a,
                        deq,
                        bias,
                        req,
                        top,
                        n_pairs,
                        n_out,
                        m,
                    )
                    src_pairs, dst_pairs = dst_pairs, src_pairs
                else:
                    top = np.float32(0)
                    _dense_int(
                        QFLOATS if eight else FLOATS,
                        w,
                        src_pairs,
                        dst_pairs,
                        buf_a,
                        deq,
                        bias,
                        deq,
                        top,
                        n_pairs,
                        n_out,
                        m,
                    )
                n_in = n_out
        else:
            for i in range(n_feat):
                lo = lower[i]
                hi = upper[i]
                row = buf_a[i]
                src = x[i, pl, y, x0 + start : x0 + start + m]  # offsets by slicing
                for p in range(m):
                    v = src[p]
                    bad[p] |= v != v
                    row[p] = min(max(v, lo), hi)
        for k in range(n_int, n_layers):  # buf_a -> buf_b (ReLU'd but the last), swapped
            w = weights[k]
            _dense(w, biases[k], buf_a, buf_b, n_in, w.shape[0], m, k < n_layers - 1)
            n_in = w.shape[0]
            buf_a, buf_b = buf_b, buf_a
        _softmax_tile(buf_a, n_in, label_class, cls, work, best, m)
        _first_argmax(cls, cls.shape[0], np.float32(np.nan), win, work[2:], m)
        total, top_p, kw, kb = work[0], work[2], win[0], best[0]
        c_out, p_out, v_out = crow[start:], prow[start:], vcov[start:]
        for p in range(m):
            no = bad[p]
            k = kw[p]
            r = top_p[p] / total[p]
            c_out[p] = k + (nodata - k) * no
            p_out[p] = zero if no else r
        for p in range(m):
            v_out[p] = unknown_cover if bad[p] else label_cover[kb[p]]


@numba.njit(nogil=True, cache=True, error_model="numpy")
def classify_row(x, pl, y, x0, n, vrow, check_valid, model, code, prob, cover, t, r, scratch):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """:func:`forward_row` of the ``n`` pixels ``x[:, pl, y, x0:x0 + n]`` with ``model`` into
    row ``r`` of plane ``t`` of ``code``, ``prob`` and ``cover`` ``(planes, rows, n)``; for a
    two-stage model (``model.refine``) the pixels the first stage did not settle are queued
    for the second (:func:`_refine_row`), which runs on full batches and at
    :func:`classify_flush` (call it after the last row: until then the queued pixels hold the
    first stage's results). ``scratch``: :func:`classify_scratch` of the model."""
    c, p, k = code[t, r], prob[t, r], cover[t, r]
    nodata = model.nodata_code
    forward_row(x, pl, y, x0, n, vrow, check_valid, model, c, p, k, scratch[0])
    # the second stage's queue first: a full route queue runs mid-row, and the routed pixels'
    # results must not be read as the first stage's (they are not queued for the second stage)
    _refine_row(x, pl, y, x0, n, nodata, model.refine, model.route, code, prob, cover, t, r,
                scratch[1])  # fmt: skip
    _route_row(x, pl, y, x0, n, nodata, model.route, code, prob, cover, t, r, scratch[2])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def classify_flush(model, code, prob, cover, scratch):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Run the second stage and the routed model on the pixels :func:`classify_row` queued
    (nothing for one stage without a route)."""
    _refine_flush(model.refine, code, prob, cover, scratch[1])
    _route_flush(model.route, code, prob, cover, scratch[2])


#: pixels the second stage of a two-stage model classifies at a time: the pixels each row sends
#: are few and scattered (a few tens in a 1,024-pixel row of the realistic reference), and run one
#: row at a time its tiles were mostly empty lanes (the second stage then cost 460 ns per pixel it
#: classified instead of 212)
BATCH = 8 * TILE

#: columns of a row whose send flags the second stage's queue makes in one pass
#: (:func:`_refine_row`; a multiple of 8: read eight at a time as a uint64)
SPAN = 256


@numba.njit(nogil=True, cache=True)
def classify_scratch(n_feat, model):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The scratch of :func:`classify_row` for a model of ``n_feat`` inputs."""
    return (
        forward_scratch(n_feat, model),
        _refine_scratch(n_feat, model.refine),
        _route_scratch(n_feat, model.route),
    )


def _refine_scratch(n_feat, refine):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The second stage's scratch: its :func:`forward_scratch`, the queued pixels' features
    ``(n_feat, 1, 1, BATCH)``, their places ``(3, BATCH)`` (plane, row, column), their three
    outputs, the queue's length, a row's columns to queue and the send flags of :data:`SPAN`
    columns (uint64 words; ``()`` for one stage)."""
    raise NotImplementedError("compiled only: see the overload")


def _refine_row(x, pl, y, x0, n, nodata, refine, route, code, prob, cover, t, r, rs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The second stage of :func:`classify_row`: the pixels of row ``r`` of plane ``t`` whose
    first-stage probability is below its class's threshold (``refine[1][code]``; no-data pixels
    and pixels ``route`` sends elsewhere excepted) are queued, with their features; a full
    queue runs."""
    raise NotImplementedError("compiled only: see the overload")


def _route_scratch(n_feat, route):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The routed model's scratch: its :func:`forward_scratch` and :func:`_refine_scratch`, then the queue as in
    :func:`_refine_scratch` with outputs ``(1, 1, BATCH)`` (``()`` without a route)."""
    raise NotImplementedError("compiled only: see the overload")


def _route_row(x, pl, y, x0, n, nodata, route, code, prob, cover, t, r, rs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Queue the pixels of row ``r`` of plane ``t`` that ``route`` sends to its model (no-data
    pixels excepted), with their features; a full queue runs."""
    raise NotImplementedError("compiled only: see the overload")


def _route_flush(route, code, prob, cover, rs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Run the routed model (both its stages) on the queued pixels and write its results."""
    raise NotImplementedError("compiled only: see the overload")


def _refine_flush(refine, code, prob, cover, rs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Run the second stage on the queued pixels and write its results to their places."""
    raise NotImplementedError("compiled only: see the overload")


def _one_stage(refine) -> bool:  # type: ignore[no-untyped-def]
    return isinstance(refine, types.BaseTuple) and len(refine) == 0


@overload(_refine_scratch, jit_options={"nogil": True})
def _refine_scratch_impl(n_feat, refine):  # type: ignore[no-untyped-def]
    if _one_stage(refine):
        return lambda n_feat, refine: ()

    def impl(n_feat, refine):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        return (
            forward_scratch(n_feat, refine[0]),
            np.empty((n_feat, 1, 1, BATCH), np.float32),
            np.empty((3, BATCH), np.int64),
            np.empty(BATCH, np.uint8),
            np.empty(BATCH, np.float32),
            np.empty(BATCH, np.uint8),
            np.zeros(1, np.int64),
            np.empty(BATCH, np.int64),
            np.zeros(SPAN // 8, np.uint64),
        )

    return impl


@overload(_refine_flush, jit_options={"nogil": True, "error_model": "numpy"})
def _refine_flush_impl(refine, code, prob, cover, rs):  # type: ignore[no-untyped-def]
    if _one_stage(refine):
        return lambda refine, code, prob, cover, rs: None

    def impl(refine, code, prob, cover, rs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        second = refine[0]
        sb, gx, where, gcode, gprob, gcov, queued = rs[:7]
        m = queued[0]
        if m == 0:
            return
        forward_row(gx, 0, 0, 0, m, gcode[:0] != 0, False, second, gcode, gprob, gcov, sb)
        for j in range(m):
            t, r, c = where[0, j], where[1, j], where[2, j]
            code[t, r, c] = gcode[j]
            prob[t, r, c] = gprob[j]
            cover[t, r, c] = gcov[j]
        queued[0] = 0

    return impl


@overload(_refine_row, jit_options={"nogil": True, "error_model": "numpy"})
def _refine_row_impl(x, pl, y, x0, n, nodata, refine, route, code, prob, cover, t, r, rs):  # type: ignore[no-untyped-def]
    if _one_stage(refine):
        return lambda x, pl, y, x0, n, nodata, refine, route, code, prob, cover, t, r, rs: None

    def impl(x, pl, y, x0, n, nodata, refine, route, code, prob, cover, t, r, rs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        stands = refine[1]
        gx, where, queued, sent, words = rs[1], rs[2], rs[6], rs[7], rs[8]
        flags = words.view(np.uint8)
        crow, prow = code[t, r], prob[t, r]
        p = 0
        while p < n:
            if queued[0] == BATCH:  # the one place a full queue runs (and at the flush)
                _refine_flush(refine, code, prob, cover, rs)
            # which of the next SPAN columns go on, in one vectorised pass (a NaN probability
            # goes on, as before)
            span = min(SPAN, n - p)
            cs, ps = crow[p : p + span], prow[p : p + span]
            for q in range(span):
                c = cs[q]
                flags[q] = (c != nodata) & (not ps[q] >= stands[c])
            _unflag_routed(route, x, pl, y, x0 + p, span, flags)
            p += _enqueue(x, pl, y, x0, n, p, span, t, r, gx, where, queued, sent, words)

    return impl


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _enqueue(x, pl, y, x0, n, p, span, t, r, gx, where, queued, sent, words):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Queue the columns ``p + q`` (``q < span``) of row ``y`` of plane ``pl`` of ``x`` whose
    flag (``words`` as bytes, one per column) is set, as many as the queue ``gx`` has room
    for: their features and places (plane ``t``, row ``r``, column). Returns the columns
    consumed. Eight columns at a time where none of the eight is flagged, else one by one
    without a branch per pixel: each column is written, and kept where it is flagged."""
    flags = words.view(np.uint8)
    for q in range(span, (span + 7) // 8 * 8):
        flags[q] = 0
    j0 = queued[0]
    room = BATCH - j0
    k = 0
    q = 0
    while q < span and k < room:
        if q % 8 == 0 and words[q >> 3] == 0:
            q += 8
            continue
        sent[k] = p + q
        k += flags[q]
        q += 1
    for i in range(gx.shape[0]):  # one feature row at a time: a gather along the row
        src = x[i, pl, y, x0 : x0 + n]
        dst = gx[i, 0, 0, j0 : j0 + k]
        for j in range(k):
            dst[j] = src[sent[j]]
    for j in range(k):
        where[0, j0 + j] = t
        where[1, j0 + j] = r
        where[2, j0 + j] = sent[j]
    queued[0] = j0 + k
    return min(q, span)


def _unflag_routed(route, x, pl, y, at, span, flags):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """Clear the flags of the columns ``at + q`` that ``route`` sends to its model."""
    raise NotImplementedError("compiled only: see the overload")


@overload(_unflag_routed, jit_options={"nogil": True, "error_model": "numpy"})
def _unflag_routed_impl(route, x, pl, y, at, span, flags):  # type: ignore[no-untyped-def]
    if _one_stage(route):
        return lambda route, x, pl, y, at, span, flags: None

    def impl(route, x, pl, y, at, span, flags):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        a, b, margin = (
            x[route[1], pl, y, at : at + span],
            x[route[2], pl, y, at : at + span],
            route[3],
        )
        for q in range(span):
            flags[q] &= not (a[q] - b[q] > margin)

    return impl


@overload(_route_scratch, jit_options={"nogil": True})
def _route_scratch_impl(n_feat, route):  # type: ignore[no-untyped-def]
    if _one_stage(route):
        return lambda n_feat, route: ()

    def impl(n_feat, route):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        return (
            (forward_scratch(n_feat, route[0]), _refine_scratch(n_feat, route[0].refine)),
            np.empty((n_feat, 1, 1, BATCH), np.float32),
            np.empty((3, BATCH), np.int64),
            np.empty((1, 1, BATCH), np.uint8),
            np.empty((1, 1, BATCH), np.float32),
            np.empty((1, 1, BATCH), np.uint8),
            np.zeros(1, np.int64),
            np.empty(BATCH, np.int64),
            np.zeros(SPAN // 8, np.uint64),
        )

    return impl


@overload(_route_flush, jit_options={"nogil": True, "error_model": "numpy"})
def _route_flush_impl(route, code, prob, cover, rs):  # type: ignore[no-untyped-def]
    if _one_stage(route):
        return lambda route, code, prob, cover, rs: None

    def impl(route, code, prob, cover, rs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        other = route[0]
        sc, gx, where, gcode, gprob, gcov, queued = rs[:7]
        m = queued[0]
        if m == 0:
            return
        # classify_row and classify_flush of the other model, written out: numba does not
        # link a function that calls itself for another model's type
        c1, p1, k1 = gcode[0, 0], gprob[0, 0], gcov[0, 0]
        forward_row(gx, 0, 0, 0, m, c1[:0] != 0, False, other, c1, p1, k1, sc[0])
        nodata = other.nodata_code
        _refine_row(gx, 0, 0, 0, m, nodata, other.refine, (), gcode, gprob, gcov, 0, 0, sc[1])
        _refine_flush(other.refine, gcode, gprob, gcov, sc[1])
        for j in range(m):
            t, r, c = where[0, j], where[1, j], where[2, j]
            code[t, r, c] = c1[j]
            prob[t, r, c] = p1[j]
            cover[t, r, c] = k1[j]
        queued[0] = 0

    return impl


@overload(_route_row, jit_options={"nogil": True, "error_model": "numpy"})
def _route_row_impl(x, pl, y, x0, n, nodata, route, code, prob, cover, t, r, rs):  # type: ignore[no-untyped-def]
    if _one_stage(route):
        return lambda x, pl, y, x0, n, nodata, route, code, prob, cover, t, r, rs: None

    def impl(x, pl, y, x0, n, nodata, route, code, prob, cover, t, r, rs):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        gx, where, queued, sent, words = rs[1], rs[2], rs[6], rs[7], rs[8]
        flags = words.view(np.uint8)
        crow = code[t, r]
        i, j, margin = route[1], route[2], route[3]
        p = 0
        while p < n:
            if queued[0] == BATCH:
                _route_flush(route, code, prob, cover, rs)
            span = min(SPAN, n - p)
            cs = crow[p : p + span]
            a, b = x[i, pl, y, x0 + p : x0 + p + span], x[j, pl, y, x0 + p : x0 + p + span]
            for q in range(span):
                flags[q] = (cs[q] != nodata) & (a[q] - b[q] > margin)
            p += _enqueue(x, pl, y, x0, n, p, span, t, r, gx, where, queued, sent, words)

    return impl
