"""The compiled classification kernels against their numpy references.

The context statistics (window mean and standard deviation) must equal the numpy formulation bit
for bit, so that the shipped models see exactly the features they were measured with; the fused
forward pass of the MLP must give the same class and cover, and the probability to float32
rounding, on real Sentinel-2 pixels and on edge cases (NaN, invalid, ragged tiles, any depth).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from geomon.classify import bundled_models
from geomon.classify.classes import CLOUD_NODATA, COVER_NAMES
from geomon.classify.features import (
    CONTEXT,
    FULL_FEATURES,
    REDUCED_FEATURES,
    ContextFeature,
    FeatureSet,
    compute_features,
    single_observation,
)
from geomon.classify.model import PixelModel


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("shape", [(2, 40, 53), (3, 7), (30, 2), (1, 1), (25, 1), (2, 33, 21)])
@pytest.mark.parametrize("with_valid", [False, True])
def test_compiled_context_equals_numpy_bit_for_bit(
    shape: tuple[int, ...], with_valid: bool
) -> None:
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    extra = (ContextFeature("red", 3, "std"), ContextFeature("nbr", 41, "mean"))
    for fset in (FULL_FEATURES.with_context(CONTEXT), REDUCED_FEATURES.with_context(extra)):
        bands = {b: rng.random(shape).astype(np.float32) * 0.6 for b in fset.bands}
        bands[fset.bands[1]][rng.random(shape) < 0.1] = np.nan
        bands[fset.bands[0]][rng.random(shape) < 0.05] = 0  # zero sums in indices
        bands[fset.bands[2]][rng.random(shape) < 0.02] = np.inf
        valid = rng.random(shape) > 0.2 if with_valid else None
        fast = compute_features(bands, fset, valid)
        ref = compute_features(bands, fset, valid, reference=True)
        assert _same_bits(fast, ref), shape


@pytest.mark.parametrize("entry", bundled_models(), ids=lambda e: e.model_id)
def test_fused_forward_pass_matches_numpy_on_real_pixels(
    entry: object, real_scenes: list[dict[str, np.ndarray]]
) -> None:
    model: PixelModel = entry.load()  # type: ignore[attr-defined]
    codes = n = 0
    for scene in real_scenes:
        bands = single_observation(scene, model.features)
        clear = bands["blue"] < 0.12
        feats = compute_features(bands, model.features, clear)
        assert _same_bits(feats, compute_features(bands, model.features, clear, reference=True))
        fast, ref = model.predict(feats, clear), model.predict_numpy(feats, clear)
        codes += int((fast.code == ref.code).sum())
        n += fast.code.size
        assert (fast.cover == ref.cover).mean() >= 0.9999
        np.testing.assert_allclose(fast.probability, ref.probability, rtol=0, atol=1e-5)
    assert codes / n >= 0.9999


def _random_model(sizes: tuple[int, ...], fset: FeatureSet, seed: int) -> PixelModel:
    rng = np.random.default_rng(seed)
    labels = ("forest", "disturbed", "water", "built", "grassland")
    n = len(fset)
    return PixelModel(
        "random",
        fset,
        labels,
        ("vegetation", "bare_disturbed", "water", "built_other", "vegetation"),
        ("forest", "unknown", "water", "built", "grassland"),
        np.full(n, -0.5, np.float32),
        np.full(n, 0.9, np.float32),
        rng.normal(0, 0.1, n).astype(np.float32),
        rng.uniform(0.1, 0.5, n).astype(np.float32),
        tuple(rng.normal(0, 0.5, (a, b)).astype(np.float32) for a, b in itertools.pairwise(sizes)),
        tuple(rng.normal(0, 0.2, b).astype(np.float32) for b in sizes[1:]),
    )


@pytest.mark.parametrize("hidden", [(), (7,), (33, 5, 12), (150, 6)])  # 150: float after it
def test_fused_forward_pass_edge_cases(hidden: tuple[int, ...]) -> None:
    fset = REDUCED_FEATURES
    model = _random_model((len(fset), *hidden, 5), fset, seed=len(hidden))
    rng = np.random.default_rng(7)
    x = rng.normal(0.2, 0.6, (len(fset), 3, 131)).astype(np.float32)  # ragged last tile
    x[:, 0, 0] = np.nan
    x[4, 1, 7] = np.nan
    x[2, 2, 9] = np.inf  # clipped, not invalid
    valid = rng.random((3, 131)) > 0.1
    for v in (None, valid):
        fast, ref = model.predict(x, v), model.predict_numpy(x, v)
        np.testing.assert_array_equal(fast.code, ref.code)
        np.testing.assert_array_equal(fast.cover, ref.cover)
        np.testing.assert_allclose(fast.probability, ref.probability, rtol=0, atol=1e-5)
        assert fast.code[0, 0] == CLOUD_NODATA and fast.probability[0, 0] == 0
        assert fast.cover[1, 7] == COVER_NAMES.index("unknown")
        assert fast.code[2, 9] != CLOUD_NODATA
    # a pixel's result does not depend on where its tile starts
    shifted = model.predict(x[:, :, 5:])
    whole = model.predict(x)
    assert _same_bits(shifted.probability, whole.probability[:, 5:])
    assert model.predict(x[:, :, :0]).code.shape == (3, 0)


def test_first_argmax_and_relu_equal_numpy() -> None:
    """The vectorised argmax (ties to the first row, as numpy; its maximum beside it) and the
    ReLU of the layer kernel (NaN and -0.0 kept)."""
    from geomon.classify._forward import TILE, _dense, _first_argmax

    rng = np.random.default_rng(3)
    rows = rng.integers(0, 4, (9, TILE)).astype(np.float32)  # many ties
    out = np.empty((2, TILE), np.int32)
    top = np.empty((2, TILE), np.float32)
    for n in (9, 8, 1):  # the last pass lands in row 0 from either scratch row
        _first_argmax(rows, n, np.float32(np.nan), out, top, TILE - 5)
        np.testing.assert_array_equal(out[0, : TILE - 5], np.argmax(rows[:n, : TILE - 5], axis=0))
        np.testing.assert_array_equal(top[0, : TILE - 5], rows[:n, : TILE - 5].max(axis=0))
        _first_argmax(rows, n, np.float32(-1), out, top, TILE)
        np.testing.assert_array_equal(out[0], np.argmax(rows[:n], axis=0))
    x = rng.normal(0, 1, (4, TILE)).astype(np.float32)
    x[0, :3] = (np.nan, -0.0, 0.0)
    y, z = np.empty_like(x), np.empty_like(x)
    one, minus_zero = np.ones((1, 1), np.float32), np.full(1, -0.0, np.float32)  # -0.0 + v is v
    for r in range(4):  # one input per layer: a weight of 0 would turn NaN into every row
        _dense(one, minus_zero, x[r : r + 1], y[r : r + 1], 1, 1, TILE, True)
        _dense(one, minus_zero, x[r : r + 1], z[r : r + 1], 1, 1, TILE, False)
    assert _same_bits(y, np.where(x < 0, np.float32(0), x))
    assert _same_bits(z, x)


@pytest.mark.parametrize("n_in", [0, 1, 6, 26])
def test_layer_kernel_sums_in_order(n_in: int) -> None:
    """Every block of output rows (4, 3, 2, 1 left) and ragged pixel counts: bias, then each
    input's product in turn, in float32, bit for bit."""
    from geomon.classify._forward import TILE, _dense

    rng = np.random.default_rng(n_in)
    src = rng.normal(0, 3, (max(n_in, 1), TILE)).astype(np.float32)
    for n_out, m in itertools.product((1, 2, 3, 4, 5, 6, 7, 9), (1, 17, TILE)):
        w = rng.normal(0, 1, (n_out, n_in)).astype(np.float32)
        b = rng.normal(0, 1, n_out).astype(np.float32)
        dst = np.full((n_out, TILE), np.nan, np.float32)
        _dense(w, b, src, dst, n_in, n_out, m, False)
        want = np.repeat(b[:, None], m, axis=1)
        for i in range(n_in):
            want = want + w[:, i : i + 1] * src[i, :m]  # float32 products and sums
        assert _same_bits(dst[:, :m], want), (n_out, m)


@pytest.mark.parametrize("size", [1, 5, 21, 41])
def test_window_stats_int32_path_equals_int64_path(size: int) -> None:
    """The int32 window statistics (count and sum fit) against the general int64 kernel."""
    from geomon.classify._kernels import _fits_int32, quantise, window_stats

    rng = np.random.default_rng(size)
    values = rng.normal(0, 3, (2, 37, 45)).astype(np.float32)
    values[rng.random(values.shape) < 0.2] = np.nan
    q, ok = quantise(values, None, 4096.0, 8.0)
    assert _fits_int32(q, size, 4096.0, 32768)
    assert not _fits_int32(q, size, 4096.0, 2**40)
    fast = [np.empty(values.shape, np.float32) for _ in range(2)]
    slow = [np.empty(values.shape, np.float32) for _ in range(2)]
    window_stats(q, ok, size, 4096.0, *fast, q_bound=32768)
    window_stats(q, ok, size, 4096.0, *slow, q_bound=2**40)  # too large for int32: int64 path
    for a, b in zip(fast, slow, strict=True):
        assert _same_bits(a, b)


@pytest.mark.parametrize(("w", "r"), [(40, 2), (40, 10), (9, 4), (7, 4), (1, 0), (3, 5)])
def test_window_row_makes_only_the_columns_asked(w: int, r: int) -> None:
    """A window row of any column span (a block's own columns within its halo) equals the
    direct sums over the clipped windows; columns outside the span are left alone."""
    from geomon.classify._kernels import _window_row

    rng = np.random.default_rng(w * 100 + r)
    rows = rng.integers(-1000, 1000, (2, w)).astype(np.int32)
    sa = np.concatenate([[0], np.cumsum(rows[0])]).astype(np.int32)
    sb = sa + np.concatenate([[0], np.cumsum(rows[1])]).astype(np.int32)
    want = np.array([rows[1, max(x - r, 0) : x + r + 1].sum() for x in range(w)], np.int32)
    for x0, x1 in itertools.combinations_with_replacement(range(w + 1), 2):
        out = np.full(w + 1, -7, np.int32)
        _window_row(sa, sb, r, w, x0, x1, out)
        assert (out[: x1 - x0] == want[x0:x1]).all(), (x0, x1)
        assert (out[x1 - x0 :] == -7).all(), (x0, x1)


def test_compute_features_into_a_callers_buffer() -> None:
    fset = REDUCED_FEATURES.with_context(CONTEXT)
    rng = np.random.default_rng(5)
    bands = {b: rng.random((1, 30, 31)).astype(np.float32) for b in fset.inputs}
    out = np.full((len(fset), 1, 30, 31), np.nan, np.float32)
    got = compute_features(bands, fset, None, out=out)
    assert got is out
    assert _same_bits(out, compute_features(bands, fset, None))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        compute_features(bands, fset, None, out=out[:-1])


@pytest.mark.parametrize(
    ("shape", "sizes"),
    [((2, 40, 53), (3, 5, 21, 41)), ((1, 7, 3), (3, 5, 101)), ((1, 130, 97), (5, 21, 61, 101))],
)
@pytest.mark.parametrize("with_valid", [False, True])
def test_shared_window_stats_equal_the_per_window_kernels(
    shape: tuple[int, ...], sizes: tuple[int, ...], with_valid: bool
) -> None:
    """One pass for every (source, window) from integral images against :func:`window_stats`
    per window, on its int32 and its int64 path, bit for bit (windows wider than the image and
    images narrower than a window included)."""
    from geomon.classify._kernels import quantise, shared_window_stats, window_stats

    rng = np.random.default_rng(sum(shape))
    n_src = 3
    squares = np.array([True, False, True])
    mean_idx = np.full((len(sizes), n_src), -1, np.int64)
    std_idx = np.full((len(sizes), n_src), -1, np.int64)
    k = n_src
    for g in range(len(sizes)):
        for s in range(n_src):
            if g % 2 or s != 1:  # some windows of a source without a mean
                mean_idx[g, s], k = k, k + 1
            if squares[s]:
                std_idx[g, s], k = k, k + 1
    feats = np.full((k, *shape), np.nan, np.float32)
    feats[:n_src] = rng.normal(0, 3, (n_src, *shape))  # beyond +-8: clipped
    valid = rng.random(shape) > 0.2 if with_valid else None
    if valid is not None:
        feats[:n_src, ~valid] = np.nan  # not finite where not valid: one count for all sources
    bad = shared_window_stats(
        feats, valid, np.arange(n_src), squares, np.array(sizes), mean_idx, std_idx, 4096.0, 8.0
    )
    assert not bad.any()
    for (g, size), s in itertools.product(enumerate(sizes), range(n_src)):
        q, ok = quantise(feats[s], valid, 4096.0, 8.0)
        for bound in (32768, 2**40):  # int32, then int64 window sums
            mean, std = np.empty(shape, np.float32), np.empty(shape, np.float32)
            window_stats(q, ok, size, 4096.0, mean, std, q_bound=bound)
            if mean_idx[g, s] >= 0:
                assert _same_bits(feats[mean_idx[g, s]], mean), (size, s, bound)
            if std_idx[g, s] >= 0:
                assert _same_bits(feats[std_idx[g, s]], std), (size, s, bound)


def test_shared_window_stats_report_a_source_not_finite_on_a_valid_pixel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A source with a NaN where ``valid`` holds has a count of its own: the shared pass
    reports it and compute_features redoes that source per window (and everything per window
    when the sums would not fit int32): the reference numbers either way."""
    from geomon.classify import _kernels

    fset = REDUCED_FEATURES.with_context(CONTEXT)
    rng = np.random.default_rng(11)
    shape = (2, 47, 61)
    bands = {b: rng.random(shape).astype(np.float32) * 0.6 for b in fset.inputs}
    bands["red"][0, 5, 7] = np.nan  # ndvi and bsi: not finite on a valid pixel; ndti finite
    valid = np.ones(shape, bool)
    ref = compute_features(bands, fset, valid, reference=True)
    assert _same_bits(compute_features(bands, fset, valid), ref)
    names = fset.bands + fset.indices + fset.temporal
    sources = np.array([names.index(s) for s in ("ndvi", "ndti")])
    out = compute_features(bands, fset, valid)
    bad = _kernels.shared_window_stats(
        out.reshape(len(out), *shape), valid, sources, np.array([False, False]),
        np.array([5]), np.array([[len(fset) - 2, len(fset) - 1]]), np.full((1, 2), -1),
        4096.0, 8.0,
    )  # fmt: skip
    assert bad.tolist() == [[1, 0], [0, 0]]
    monkeypatch.setattr(_kernels, "_fits_int32", lambda *_: False)
    assert _same_bits(compute_features(bands, fset, valid), ref)


def test_predict_in_a_window_equals_that_window_of_the_whole() -> None:
    """A block read with a halo classifies only its own pixels (``window``): the same codes,
    probabilities and covers bit for bit as those pixels of the whole (ragged tiles, NaN,
    invalid pixels, several planes)."""
    fset = REDUCED_FEATURES
    model = _random_model((len(fset), 9, 5), fset, seed=4)
    rng = np.random.default_rng(8)
    x = rng.normal(0.2, 0.6, (len(fset), 2, 21, 300)).astype(np.float32)
    x[3, 1, 4, 10] = np.nan
    valid = rng.random((2, 21, 300)) > 0.1
    for v, window in itertools.product(
        (None, valid), ((slice(0, 21), slice(0, 300)), (slice(3, 17), slice(50, 277)))
    ):
        whole = model.predict(x, v)
        part = model.predict(x, v, window=window)
        for name in ("code", "probability", "cover"):
            a, b = getattr(part, name), getattr(whole, name)
            assert _same_bits(a, np.ascontiguousarray(b[:, window[0], window[1]])), name
    with pytest.raises(ValueError, match="step 1"):
        model.predict(x, None, window=(slice(0, 21, 2), slice(None)))
