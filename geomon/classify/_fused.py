"""Features and forward pass fused row by row (numba): a block read with its halo is classified
without its feature stack.

:func:`geomon.classify.features.compute_features` then :meth:`PixelModel.predict` write every
feature of every pixel of the block (with its halo) to a stack and read it back: the reduced
model's 26 features of a 1124 px block are 131 MB per worker, so each pixel moved about 270
bytes through memory (its bands pasted, its indices and window statistics written, all 26 read
back by the model), and two workers waited on memory bandwidth (the classify stage took 100 ns
of CPU per pixel in one thread, 135 in two, on the realistic reference). Here, per output row,
the per-pixel features (bands, indices, temporal statistics) and the window statistics go into a
row buffer of a few tens of kilobytes that the forward pass (:func:`~geomon.classify._forward.
forward_row`) reads at once; the window sums come from integral rows kept in ring buffers, built
from the source features of the row ``radius`` below, computed there and then. Only the inputs
(bands and temporal statistics, the block's pasted copy) and the outputs go through memory (and,
for a two-stage model, the features of the pixels queued for its second stage: a batch of 1,024).

The arithmetic is that of the two-step path, operation for operation (bands and temporal
statistics copied, indices by :func:`~geomon.classify._kernels._normalized_difference_flat`'s
formula, quantisation, integral rows and statistics by the kernels of
:func:`~geomon.classify._kernels.shared_window_stats`, the same forward pass): the results are the
same bit for bit, which the tests check. The two-step path gives a source that is not finite on
some valid pixel a valid count of its own; this path declines (and the caller runs the two-step
path) as soon as any source is not finite on a valid pixel of the rows its windows read, in any
column: more often than the numbers would differ, never less. It is not built for windows whose
sums would not fit int32 (:func:`fused_plan` gives None).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numba
import numpy as np

from geomon.classify._forward import (
    KernelModel,
    classify_flush,
    classify_row,
    classify_scratch,
    window_outputs,
)
from geomon.classify._kernels import (
    _add_integral_row,
    _fits_int32,
    _stats_of_row,
    _zero_ring_row,
)
from geomon.classify.features import (
    _DIFFERENCE_TERMS,
    _QMAX,
    _QUANTUM,
    FeatureSet,
)

__all__ = ["FusedPlan", "classify_fused", "fused_plan"]

#: per-pixel feature kinds: copied from an input row, or a normalised difference of input sums
_COPY = -1


class FusedPlan:
    """How :func:`classify_fused` makes a feature set's features from its inputs (or why it
    cannot: :attr:`reason`)."""

    def __init__(self, fset: FeatureSet) -> None:
        self.reason = ""
        inputs = fset.inputs
        per_pixel = fset.bands + fset.indices + fset.temporal
        n_pp = len(per_pixel)
        # per-pixel feature k: input rows a1, a2 (plus side), b1, b2 (minus side), terms bits
        # (1: two on the plus side, 2: two on the minus side), or terms _COPY: input a1
        self.spec = np.zeros((n_pp, 5), np.int64)
        for k, name in enumerate(per_pixel):
            if name in inputs:
                self.spec[k] = (inputs.index(name), 0, 0, 0, _COPY)
            elif name in _DIFFERENCE_TERMS:
                plus, minus = _DIFFERENCE_TERMS[name]
                a = [inputs.index(b) for b in plus]
                b = [inputs.index(x) for x in minus]
                terms = (len(a) == 2) | ((len(b) == 2) << 1)
                self.spec[k] = (a[0], a[-1], b[0], b[-1], terms)
            else:
                self.reason = f"index {name!r} is not a normalised difference of band sums"
        sizes = sorted({c.size for c in fset.context})
        if not fset.context:
            self.reason = self.reason or "no context features"
        bound = int(_QMAX * _QUANTUM)
        if not all(_fits_int32(None, n, _QUANTUM, bound) for n in sizes):
            self.reason = self.reason or "window sums beyond int32"
        sources = list(dict.fromkeys(c.source for c in fset.context))
        self.sources = np.array([per_pixel.index(s) for s in sources], np.int64)
        self.sizes = np.array(sizes, np.int64)
        self.mean_idx = np.full((len(sizes), len(sources)), -1, np.int64)
        self.std_idx = np.full((len(sizes), len(sources)), -1, np.int64)
        for k, ctx in enumerate(fset.context, start=n_pp):
            idx = self.mean_idx if ctx.stat == "mean" else self.std_idx
            idx[sizes.index(ctx.size), sources.index(ctx.source)] = k
        self.squares = np.asarray((self.std_idx >= 0).any(axis=0), np.bool_)
        self.n_features = len(fset)
        self.n_inputs = len(inputs)


def fused_plan(fset: FeatureSet) -> FusedPlan | None:
    """The plan of ``fset``, or None when :func:`classify_fused` cannot make its features."""
    plan = FusedPlan(fset)
    return None if plan.reason else plan


def classify_fused(
    model: KernelModel,
    plan: FusedPlan,
    inputs: np.ndarray,
    valid: np.ndarray | None,
    window: tuple[slice, slice],
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(code, probability, cover)`` ``(planes, window y, window x)`` of the pixels of
    ``window`` (two slices, step 1) of ``inputs`` (C-contiguous float32 ``(n_inputs, planes, y,
    x)``: the feature set's bands then temporal statistics), ``valid`` ``(planes, y, x)`` or None;
    the results of :func:`~geomon.classify.features.compute_features` then
    :meth:`~geomon.classify.model.PixelModel.predict` with that window. None where a context
    source is not finite on a valid pixel of the rows the window's statistics read (any column):
    the caller runs the two-step path, which gives such a source a valid count of its own."""
    ok, (y0, y1, x0, x1), (code, prob, cover) = window_outputs(inputs, valid, window, "input")
    if len(inputs) != plan.n_inputs:
        raise ValueError(f"inputs has {len(inputs)} rows for {plan.n_inputs} model inputs")
    if not code.size:
        return code, prob, cover
    bad = _fused_planes(
        inputs, ok, y0, y1, x0, x1, plan.spec, plan.sources, plan.squares, plan.sizes,
        plan.mean_idx, plan.std_idx, plan.n_features, _QUANTUM, _QMAX, 1.0 / _QUANTUM, model,
        code, prob, cover,
    )  # fmt: skip
    return None if bad else (code, prob, cover)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _per_pixel_row(inputs, t, y, x0, x1, spec, k, out):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """``out[x0:x1]`` = per-pixel feature ``k`` of columns ``x0:x1`` of row ``y`` of plane ``t``
    (see :class:`FusedPlan`): the input, or ``(A - B) / (A + B)`` (0 where ``A + B`` is 0) as
    :func:`~geomon.classify._kernels._normalized_difference_flat` computes it."""
    dst = out[x0:x1]  # offsets by slicing: every index a loop counter (see _window_row)
    a1 = inputs[spec[k, 0], t, y, x0:x1]
    terms = spec[k, 4]
    if terms == _COPY:
        for x in range(dst.shape[0]):
            dst[x] = a1[x]
        return
    a2 = inputs[spec[k, 1], t, y, x0:x1]
    b1 = inputs[spec[k, 2], t, y, x0:x1]
    b2 = inputs[spec[k, 3], t, y, x0:x1]
    for x in range(dst.shape[0]):
        a = a1[x] + a2[x] if terms & 1 else a1[x]
        b = b1[x] + b2[x] if terms & 2 else b1[x]
        total = a + b
        dst[x] = (a - b) / total if total != 0 else np.float32(0)


def _sources_digest() -> str:
    """SHA-256 of the modules whose compiled functions :func:`_fused_planes` calls.

    Numba keys a cached function on its own file and bytecode only: after an edit to
    ``_forward.py`` or ``_kernels.py`` (or a checkout that changes only them), a cached
    ``_fused_planes`` would go on running the old code while ``predict`` and
    ``compute_features`` recompiled, and the two paths would silently disagree (seen in review
    at stop 18). The digest is a closure variable of the compiled function, which numba hashes
    into its cache key."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("_forward.py", "_kernels.py", "_quant.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()


def _compile_planes(digest: str):  # type: ignore[no-untyped-def]
    """:func:`_fused_planes`, cached under ``digest`` (see :func:`_sources_digest`)."""

    @numba.njit(nogil=True, cache=True, error_model="numpy")
    def _fused_planes(  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
        inputs, valid, y0, y1, x0, x1, spec, sources, squares, sizes, mean_idx, std_idx, n_feat,
        quantum, qmax, inv_scale, model, code, prob, cover,
    ):  # fmt: skip
        """Every plane of :func:`classify_fused`. Returns 0, or at the first row that has one,
        the count of valid but not finite source pixels in the rows built so far (the caller
        then declines: the outputs are incomplete)."""
        if len(digest) == 0:  # the digest in the cache key (a constant: folded away)
            return np.int64(-1)
        n_pp = spec.shape[0]
        planes, h, w = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        n_src = sources.shape[0]
        r_max = 0
        for g in range(sizes.shape[0]):
            r_max = max(r_max, sizes[g] // 2)
        ring = 2 * r_max + 3
        s1 = np.empty((n_src, ring, w + 1), np.int32)
        s2 = np.empty((n_src, ring, w + 1), np.int64)
        cnt = np.empty((ring, w + 1), np.int32)
        q = np.empty(w, np.int32)
        src_rows = np.empty((n_src, 1, 1, w), np.float32)  # the sources of the row being added
        identity = np.arange(n_src)
        rc = np.empty(w, np.int32)
        r1 = np.empty(w, np.int32)
        r2 = np.zeros(w, np.int64)
        feats = np.empty((n_feat, 1, 1, w), np.float32)  # one output row's features
        no_valid = np.empty(0, np.bool_)
        check_valid = valid.shape[0] == planes
        scratch = classify_scratch(n_feat, model)
        bad = np.zeros(n_src, np.int64)
        for t in range(planes):
            # integral rows from the first row a window of row y0 reads: row i of the ring
            # holds the sums over rows first .. i - 1 (the differences are those from row 0)
            first = max(y0 - r_max, 0)
            _zero_ring_row(first, cnt, s1, s2, squares)
            built = first
            for y in range(y0, y1):
                need = min(y + r_max + 1, h)
                while built < need:
                    vrow = valid[t, built] if check_valid else no_valid
                    for k in range(n_src):
                        _per_pixel_row(inputs, t, built, 0, w, spec, sources[k], src_rows[k, 0, 0])
                    _add_integral_row(
                        built, vrow, check_valid, src_rows, 0, 0, identity, quantum, qmax, q,
                        cnt, s1, s2, squares, bad,
                    )  # fmt: skip
                    built += 1
                if bad.sum():
                    return bad.sum()
                _stats_of_row(
                    y, h, sizes, mean_idx, std_idx, cnt, s1, s2, inv_scale, feats, 0, 0, x0, x1,
                    rc, r1, r2,
                )  # fmt: skip
                for k in range(n_pp):
                    _per_pixel_row(inputs, t, y, x0, x1, spec, k, feats[k, 0, 0])
                vrow = valid[t, y, x0:x1] if check_valid else no_valid
                classify_row(
                    feats, 0, 0, x0, x1 - x0, vrow, check_valid, model,
                    code, prob, cover, t, y - y0, scratch,
                )  # fmt: skip
        classify_flush(model, code, prob, cover, scratch)
        return np.int64(0)

    return _fused_planes


_fused_planes = _compile_planes(_sources_digest())
