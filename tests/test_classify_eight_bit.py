"""8-bit integer layers (``geomon quantize``): exact quad kernels on either path, the compiled
pass equal to its numpy reference, the tables' file format and its refusals."""

from __future__ import annotations

import itertools
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from geomon.classify import bundled_model, load_model, save_model
from geomon.classify._quant import (
    EightBit,
    _quads,
    _unpair,
    calibrate8,
    hidden_activations,
    quantize_layers8,
)
from geomon.classify.model import PixelModel
from geomon.classify.model_io import FORMAT_INT8, FORMAT_STAGES
from geomon.classify.recipes import calibration_pixels, quantize_model
from geomon.cli import main
from geomon.errors import ConfigError, ModelError


def _reduced() -> PixelModel:
    """A two-stage shared-band model without a route (v11, the default until stop 37) in 16
    bits."""
    model = bundled_model("geomon-shared-reduced-v11").without_eight_bit()  # shipped in 8 bits
    assert model.refine is not None and model._quant.bits == 16  # two stages
    return model


def _box_pixels(model: PixelModel, n: int, seed: int) -> np.ndarray:
    """Features inside and a little outside each training range."""
    rng = np.random.default_rng(seed)
    lo, hi = model.lower[:, None], model.upper[:, None]
    return (lo + (hi - lo) * rng.uniform(-0.05, 1.05, (len(lo), n))).astype(np.float32)


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("n_quads", [1, 7, 32])
def test_quad_kernels_sum_exactly(plain: bool, n_quads: int) -> None:
    """Unsigned bytes at 255 and weights at +-127 (the largest sums), every block of output
    rows (4, 3, 2, 1 left) and ragged pixel counts: the int64 sums, exactly, on the plain-IR
    path and on the CPU's own (``vpdpbusd`` where it has AVX-512 VNNI)."""
    from geomon.classify._forward import QSUMS, QSUMS_PLAIN, TILE, _dense_int

    rng = np.random.default_rng(n_quads)
    a = rng.integers(0, 256, (4 * n_quads, TILE)).astype(np.uint8)
    a[:, :3] = 255
    src = np.ascontiguousarray(a.T).view(np.int32).T.copy()  # four rows per int32, low byte first
    for n_out, m in itertools.product((1, 2, 3, 4, 5, 7, 9), (1, 17, TILE)):
        w8 = rng.integers(-127, 128, (n_out, 4 * n_quads)).astype(np.int8)
        w8[0] = 127
        w8[-1, ::2] = -127
        dst = np.full((n_out, TILE), -1, np.int32)
        unused = np.zeros(1, np.float32)
        _dense_int(QSUMS_PLAIN if plain else QSUMS, _quads(w8), src, dst, np.zeros((1, 1), np.float32),
                   unused, unused, unused, np.float32(0), n_quads, n_out, m)  # fmt: skip
        want = w8.astype(np.int64) @ a[:, :m].astype(np.int64)
        np.testing.assert_array_equal(dst[:, :m], want)


@pytest.mark.parametrize("sizes", [(26, 32, 16, 9), (7, 5, 3, 4), (33, 9, 6, 2)])
def test_eight_bit_kernels_equal_the_reference_bit_for_bit(sizes: tuple[int, ...]) -> None:
    """The quads and float outputs of the 8-bit kernel (widths not a multiple of 4: zero
    weights in the last quad) against :func:`hidden_activations`, inputs inside and outside the
    clip range, at a ragged pixel count."""
    from geomon.classify._forward import QFLOATS, QUADS, TILE, _dense_int

    rng = np.random.default_rng(sum(sizes))
    n = sizes[0]
    lower = rng.uniform(-2, 0, n).astype(np.float32)
    upper = (lower + rng.uniform(0.01, 3, n)).astype(np.float32)
    weights = tuple(rng.normal(0, 1, (b, a)).astype(np.float32)
                    for a, b in itertools.pairwise(sizes))  # fmt: skip
    biases = tuple(rng.normal(0, 0.5, b).astype(np.float32) for b in sizes[1:])
    calib = (lower[:, None] + (upper - lower)[:, None] * rng.random((n, 3000))).astype(np.float32)
    q = quantize_layers8(lower, upper, weights, biases,
                         calibrate8(lower, upper, weights, biases, calib))  # fmt: skip
    assert q.bits == 8 and q.n_int == 2 and list(q.bound) == [127, 255]
    m = TILE - 11
    x = (lower[:, None] - 0.5 + (upper - lower + 1)[:, None] * rng.random((n, m))).astype(
        np.float32
    )
    steps = np.rint((np.clip(x, lower[:, None], upper[:, None]) - q.centre[:, None])
                    * q.scale[:, None]).clip(-127, 127) + 127  # fmt: skip
    padded = np.zeros((4 * -(-n // 4), TILE), np.uint8)
    padded[:n, :m] = steps
    src = np.ascontiguousarray(padded.T).view(np.int32).T.copy()
    mid = np.zeros((-(-sizes[1] // 4), TILE), np.int32)
    out = np.zeros((sizes[2], TILE), np.float32)
    _dense_int(QUADS, q.weights[0], src, mid, out, q.deq[0], q.bias[0], q.requant[0],
               np.float32(255), len(src), sizes[1], m)  # fmt: skip
    _dense_int(QFLOATS, q.weights[1], mid, src, out, q.deq[1], q.bias[1], q.deq[1],
               np.float32(0), len(mid), sizes[2], m)  # fmt: skip
    assert out[:, :m].tobytes() == hidden_activations(q, lower, upper, x).tobytes()
    unpacked = np.ascontiguousarray(mid[:, :m].T).view(np.uint8).T
    assert (unpacked[sizes[1] :] == 0).all()
    w0 = _unpair(q.weights[0], n, 8)
    assert np.abs(w0).max() == 127 and (np.abs(w0).max(axis=1) == 127).all()


def test_eight_bit_model_predicts_as_its_numpy_reference() -> None:
    """The shipped shared-band model's first stage in 8 bits: the compiled pass (its 8-bit
    input quads too) gives the numpy reference's classes and covers, NaN pixels no data."""
    model = _reduced()
    m8 = quantize_model(model, _box_pixels(model, 60_000, 1), "test pixels")
    assert m8._quant.bits == 8 and m8.refine is not None and m8.refine.model._quant.bits == 8
    x = _box_pixels(model, 20_000, 2)
    x[3, :5] = np.nan
    x[0, 5:9] = np.inf
    _same_as_reference(m8, x, slice(0, 5), slice(5, 9))


def _same_as_reference(model: PixelModel, x: np.ndarray, nan: slice, inf: slice) -> None:
    """The compiled pass gives the numpy reference's classes and covers (probabilities within
    1e-5) on features ``x``; the ``nan`` pixels are no data, the ``inf`` ones are not."""
    fast, ref = model.predict(x), model.predict_numpy(x)
    np.testing.assert_array_equal(fast.code, ref.code)
    np.testing.assert_array_equal(fast.cover, ref.cover)
    np.testing.assert_allclose(fast.probability, ref.probability, atol=1e-5)
    assert (fast.code[nan] == 0).all() and (fast.code[inf] != 0).all()


def test_eight_bit_keeps_the_16_bit_classes_on_pixels_it_was_not_calibrated_on(
    real_scenes: list[dict[str, np.ndarray]],
) -> None:
    """Calibrated on half the clear pixels of the real Sentinel-2 scenes, the 8-bit first stage
    gives the 16-bit model's contract class on at least 99 % of the other half (0.4-0.6 % of
    pixels changed in bench.int8_flips)."""
    from geomon.classify.features import compute_features, single_observation

    model = _reduced()
    first = replace(model, refine=None)
    parts = []
    for scene in real_scenes:
        bands = single_observation(scene, model.features)
        clear = bands["blue"] < 0.12
        x = compute_features(bands, model.features, clear).reshape(len(model.features), -1)
        parts.append(x[:, clear.reshape(-1) & np.isfinite(x).all(axis=0)])
    x = np.concatenate(parts, axis=1)
    fit, held = x[:, ::2], np.ascontiguousarray(x[:, 1::2])
    m8 = replace(quantize_model(model, np.ascontiguousarray(fit), "half"), refine=None)
    same = (m8.predict(held).code == first.predict(held).code).mean()
    assert same >= 0.99


def test_tables_round_trip_as_version_5(tmp_path: Path) -> None:
    model = _reduced()
    m8 = quantize_model(model, _box_pixels(model, 60_000, 3), "test pixels")
    path = tmp_path / "m8.gmodel"
    save_model(m8, path)
    back = load_model(path)
    assert back.digest == m8.digest != model.digest
    assert back.eight_bit is not None and back.eight_bit.info["source"] == "test pixels"
    assert back.refine is not None and m8.refine is not None
    for stage, saved in ((back, m8), (back.refine.model, m8.refine.model)):
        assert stage.eight_bit is not None and saved.eight_bit is not None
        for a, b in zip(stage.eight_bit.arrays(), saved.eight_bit.arrays(), strict=True):
            np.testing.assert_array_equal(a, b)
    assert "sends on" in back.refine.model.eight_bit.info["source"]  # type: ignore[union-attr]
    # a second stage alone in 8 bits is format 5 too
    second_only = replace(model, refine=replace(model.refine, model=m8.refine.model))  # type: ignore[arg-type]
    save_model(second_only, tmp_path / "second.gmodel")
    again = load_model(tmp_path / "second.gmodel")
    assert again.eight_bit is None and again.refine is not None
    assert again.refine.model.eight_bit is not None and again.digest == second_only.digest
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("model.json"))["format"] == FORMAT_INT8
    x = _box_pixels(model, 2000, 4)
    np.testing.assert_array_equal(back.predict(x).code, m8.predict(x).code)
    plain = tmp_path / "plain.gmodel"
    save_model(model, plain)
    with zipfile.ZipFile(plain) as zf:
        assert json.loads(zf.read("model.json"))["format"] == FORMAT_STAGES


def _rewrite(src: Path, dst: Path, header_edit=None, arrays=None) -> Path:  # type: ignore[no-untyped-def]
    """``src`` with its header edited and some arrays replaced (name -> array, None: dropped)."""
    import io

    with zipfile.ZipFile(src) as zf, zipfile.ZipFile(dst, "w") as out:
        for name in zf.namelist():
            data = zf.read(name)
            if name == "model.json" and header_edit:
                header = json.loads(data)
                header_edit(header)
                data = json.dumps(header).encode()
            elif arrays and name in arrays:
                if arrays[name] is None:
                    continue
                buf = io.BytesIO()
                np.lib.format.write_array(buf, arrays[name].astype("<f4"), allow_pickle=False)
                data = buf.getvalue()
            out.writestr(name, data)
    return dst


def test_crafted_tables_are_refused(tmp_path: Path) -> None:
    model = _reduced()
    m8 = quantize_model(model, _box_pixels(model, 60_000, 5), "test pixels")
    good = tmp_path / "m8.gmodel"
    save_model(m8, good)
    w0 = m8.eight_bit.weights[0].copy()  # type: ignore[union-attr]
    big, half = w0.copy(), w0.copy()
    big[0, 0] = 128
    half[0, 0] = 0.5
    cases = {
        "old format": (
            {"header_edit": lambda h: h.update(format=FORMAT_STAGES)},
            "geomon quantize",
        ),
        "128": ({"arrays": {"arrays/int8/w0.npy": big}}, "[-127, 127]"),
        "fraction": ({"arrays": {"arrays/int8/w0.npy": half}}, "[-127, 127]"),
        "missing": ({"arrays": {"arrays/int8/s1.npy": None}}, "missing entry"),
        "shape": ({"arrays": {"arrays/int8/w1.npy": w0}}, "8-bit layer 1"),
        "extra key": ({"header_edit": lambda h: h["int8"].update(code="x")}, "nothing else"),
        "second's extra key": (
            {"header_edit": lambda h: h["refine"]["int8"].update(code="x")},
            "nothing else",
        ),
        "another network": (
            {"arrays": {"arrays/int8/w0.npy": np.full_like(w0, 127.0)}},
            "not the model's float weights",
        ),
        "huge deq": (
            {"arrays": {"arrays/int8/d0.npy": np.full(w0.shape[0], 3e38, np.float32)}},
            "not the model's float weights",
        ),
        "huge shift": (
            {"arrays": {"arrays/int8/c0.npy": np.full(w0.shape[0], 3.4e38, np.float32)}},
            "beyond 1e30",
        ),
        "second's 128": (
            {"arrays": {"arrays/refine/int8/w1.npy": np.full((64, 128), 128.0)}},
            "[-127, 127]",
        ),
    }
    for name, (edit, message) in cases.items():
        bad = _rewrite(good, tmp_path / f"{name}.gmodel", **edit)
        with pytest.raises(ModelError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_model(bad)


def test_calibration_refuses_seeds_the_model_was_not_trained_on() -> None:
    model = _reduced()
    with pytest.raises(ConfigError, match=r"calibrate on demo seeds .* not 4"):
        calibration_pixels(model, [1, 4], 1000)
    with pytest.raises(ConfigError, match="not 101"):
        calibration_pixels(model, [101], 1000)


def test_a_model_without_integer_layers_cannot_go_to_8_bits() -> None:
    model = _reduced()
    one = replace(model, refine=None, weights=(model.weights[0] @ model.weights[1] @ model.weights[2],),
                  biases=(model.biases[2],))  # fmt: skip
    with pytest.raises(ConfigError, match="no integer layers"):
        quantize_model(one, _box_pixels(model, 2000, 6), "x")
    with pytest.raises(ConfigError, match="at least 1000"):
        quantize_model(model, _box_pixels(model, 10, 6), "x")


def test_eight_bit_tables_must_fit_the_model() -> None:
    model = _reduced()
    e = calibrate8(model.lower, model.upper, model._folded[0], model._flat_biases,
                   _box_pixels(model, 2000, 7))  # fmt: skip
    with pytest.raises(ModelError, match="2 integer layers"):
        replace(model, eight_bit=EightBit(e.weights[:1], e.deq[:1], (), e.shift[:1]))


def test_quantize_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Train on one generated scene, calibrate 8 bits on its imagery, evaluate on another."""
    from test_classify_cli import _scene

    cat_a, aoi_a, labels_a = _scene(tmp_path / "a", seed=0)
    cat_b, aoi_b, labels_b = _scene(tmp_path / "b", seed=3)
    common = ["--start", "2021-01-01", "--end", "2021-12-31", "--period", "year"]
    model, m8 = tmp_path / "user.gmodel", tmp_path / "user8.gmodel"
    assert main(["train", "--aoi", str(aoi_a), *common, "--source", f"stac:{cat_a}",
                 "--labels", str(labels_a), "--hidden", "12,6", "--out", str(model)]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["quantize", str(model), "--aoi", str(aoi_a), *common, "--source",
                 f"stac:{cat_a}", "--out", str(m8)]) == 0  # fmt: skip
    calibrated = capsys.readouterr()
    assert "in 8 bits, calibrated on" in calibrated.out
    assert "composite:" in calibrated.err  # the progress bar of the calibration imagery
    assert load_model(m8).eight_bit is not None
    assert main(["evaluate", "--aoi", str(aoi_b), *common, "--source", f"stac:{cat_b}",
                 "--model", str(m8), "--reference", str(labels_b)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.startswith("bare_disturbed") and "." in row)
    assert float(line.split()[3]) > 0.95
    again = tmp_path / "again.gmodel"
    for argv, message in (
        (["quantize", str(m8), "--demo-seeds", "1", "--out", str(again)], "already in 8 bits"),
        (["quantize", str(model), "--out", str(again)], "give the imagery to calibrate on"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and not again.exists()


def test_card_says_which_stages_run_in_8_bits() -> None:
    from geomon.classify.card import model_card

    model = _reduced()
    m8 = quantize_model(model, _box_pixels(model, 60_000, 8), "test pixels")
    card = model_card(m8, "m8.gmodel", "0" * 64, 1, {})
    assert "## 8-bit layers" in card and FORMAT_INT8 in card
    rows = [line for line in card.splitlines() if line.startswith("| first stage")
            or line.startswith("| second stage")]  # fmt: skip
    assert len(rows) == 2 and all("2 in 8 bits" in r for r in rows)
    assert "## 8-bit layers" not in model_card(model, "m.gmodel", "0" * 64, 1, {})


def test_bias_shift_brings_the_8_bit_units_back_to_the_float_mean() -> None:
    """Where a first-layer unit passes its ReLU in the float model, the 8-bit unit's mean
    output on the calibration pixels is the float one's (within float32 steps); without the
    calibrated shift it is further off for most units."""
    model = replace(_reduced(), refine=None)
    x = _box_pixels(model, 20_000, 9)
    weights, biases = model._folded[0], model._flat_biases
    e = calibrate8(model.lower, model.upper, weights, biases, x)
    exact = np.clip(x, model.lower[:, None], model.upper[:, None]).astype(np.float64)
    z = weights[0].astype(np.float64) @ exact + biases[0].astype(np.float64)[:, None]
    live = z > 0

    def error(tables: EightBit) -> np.ndarray:
        q = quantize_layers8(model.lower, model.upper, weights, biases, tables)._replace(n_int=1)
        h = hidden_activations(q, model.lower, model.upper, x).astype(np.float64)
        return np.abs(np.where(live, z - h, 0).sum(axis=1) / live.sum(axis=1))

    unshifted = EightBit(e.weights, e.deq, e.act_scale, tuple(np.zeros_like(c) for c in e.shift))
    with_shift, without = error(e), error(unshifted)
    assert with_shift.max() < 2e-3
    assert (with_shift < without).mean() > 0.5 and without.max() > 3 * with_shift.max()


def test_a_second_stage_without_integer_layers_is_kept_as_it_is() -> None:
    model = _reduced()
    assert model.refine is not None
    s = model.refine.model
    flat = replace(s, weights=(s.weights[0] @ s.weights[1] @ s.weights[2],), biases=(s.biases[2],))
    two = replace(model, refine=replace(model.refine, model=flat))
    m8 = quantize_model(two, _box_pixels(model, 60_000, 10), "test pixels")
    assert m8.eight_bit is not None and m8.refine is not None
    assert m8.refine.model.eight_bit is None and m8.refine.model.digest == flat.digest


def test_a_generic_cpu_target_runs_the_plain_quads(tmp_path: Path) -> None:
    """With numba told to compile for a generic CPU (``NUMBA_CPU_NAME``, as for a cache shared
    between machines), the 8-bit layers take the plain-IR path: the vpdpbusd intrinsic on a
    target without it made LLVM abort the process, 16-bit models included (stop 24 review)."""
    import os
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from geomon.classify import bundled_models\n"
        "from geomon.classify._forward import VNNI\n"
        "m = next(e for e in bundled_models() if 'reduced' in e.model_id).load()\n"
        "x = (m.lower[:, None] + (m.upper - m.lower)[:, None]"
        " * np.random.default_rng(0).random((len(m.lower), 3000))).astype(np.float32)\n"
        "a, b = m.predict(x), m.predict_numpy(x)\n"
        "print(VNNI, m._quant.bits, (a.code == b.code).mean())\n"
    )
    env = {**os.environ, "NUMBA_CPU_NAME": "generic", "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    vnni, bits, same = done.stdout.split()
    assert vnni == "False" and bits == "8" and float(same) >= 0.999


@pytest.mark.parametrize(("indices", "hidden"), [((), (7, 5)), (("ndvi", "nbr"), (13, 6))])
def test_odd_feature_counts_and_nan_through_the_compiled_8_bit_pass(
    indices: tuple[str, ...], hidden: tuple[int, int]
) -> None:
    """5 and 7 features (a last quad of 1 and 3), odd widths, NaN and infinite inputs: the
    compiled pass (its input packing too) gives the numpy reference's classes and covers."""
    from geomon.classify.features import FeatureSet

    fset = FeatureSet(("blue", "red", "nir", "swir16", "swir22"), indices)
    n = len(fset)
    rng = np.random.default_rng(n)
    sizes = (n, *hidden, 3)
    model = PixelModel(
        model_id="odd", features=fset, labels=("a", "b", "c"),
        label_classes=("vegetation", "bare_disturbed", "water"),
        label_covers=("forest", "bare", "water"),
        lower=np.zeros(n, np.float32), upper=np.ones(n, np.float32),
        mean=np.full(n, 0.5, np.float32), scale=np.full(n, 0.3, np.float32),
        weights=tuple(rng.normal(0, 1, (a, b)).astype(np.float32)
                      for a, b in itertools.pairwise(sizes)),
        biases=tuple(rng.normal(0, 0.3, b).astype(np.float32) for b in sizes[1:]),
    )  # fmt: skip
    m8 = quantize_model(model, rng.uniform(0, 1, (n, 5000)).astype(np.float32), "random")
    assert m8._quant.bits == 8 and m8._quant.n_int == 2
    x = rng.uniform(-0.2, 1.2, (n, 3000)).astype(np.float32)
    x[n - 1, :7] = np.nan  # the last feature: alone in its quad, or third of three
    x[0, 7:12] = np.inf
    _same_as_reference(m8, x, slice(0, 7), slice(7, 12))


def test_a_unit_whose_weights_decayed_to_nothing_is_stored_as_a_zero_row() -> None:
    """Training can leave a dead unit with weights of about 1e-39: its 8-bit step would be a
    float32 subnormal, too imprecise to stand for its weights, and check_eight_bit refused the
    model (stop 28, a retrained second stage). Such a row is stored as zeros; the tables pass."""
    from geomon.classify._quant import check_eight_bit

    model = replace(_reduced(), refine=None)
    weights = [w.copy() for w in model._folded[0]]
    weights[1][0] = np.float32(1e-39) * np.sign(weights[1][0])  # the second layer's first row
    weights = tuple(weights)
    biases = model._flat_biases
    x = _box_pixels(model, 5_000, 3)
    e = calibrate8(model.lower, model.upper, weights, biases, x)
    assert e.deq[1][0] == 0 and not e.weights[1][0].any()
    assert e.deq[1][1:].min() > np.finfo(np.float32).tiny
    assert check_eight_bit(e, weights, biases, model.lower, model.upper) == []
