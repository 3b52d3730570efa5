"""The kernel breakdown (bench/classify_parts.py): its copied loops compute what the shipped
paths compute (the features of a row, the first stage's classes), and every part is printed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from geomon.classify import REDUCED_FEATURES, select_model
from geomon.classify.features import compute_features

parts = pytest.importorskip("bench.classify_parts")
kernel_ab = pytest.importorskip("bench.kernel_ab")


def test_parts_match_the_shipped_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_ab, "SIDE", 160)  # a small block: the tool, not the timing
    model = select_model(REDUCED_FEATURES.bands)
    plan, halo = model.fused_plan, model.features.halo
    assert plan is not None
    inputs = kernel_ab._inputs(model, 1)
    bands = {name: inputs[i, 0] for i, name in enumerate(model.features.inputs)}
    want = compute_features(bands, model.features)
    side = inputs.shape[-1] - 2 * halo
    every = parts.SOURCES | parts.INTEGRAL | parts.STATS | parts.PER_PIXEL
    got = parts._feature_parts(
        inputs, halo, halo + side, halo, halo + side, plan.spec, plan.sources, plan.squares,
        plan.sizes, plan.mean_idx, plan.std_idx, plan.n_features, every,
    )  # fmt: skip
    np.testing.assert_array_equal(got, want[:, halo + side - 1, halo : halo + side])
    first = replace(model, refine=None, route=None)
    x = np.ascontiguousarray(want[:, None, halo : halo + 3, halo : halo + side])
    kernel = first._kernel_model
    names = parts._network_names(kernel)
    codes = parts._network_parts(x, kernel, parts.forward_scratch(x.shape[0], kernel), len(names))
    expect = first.predict_numpy(x[:, 0, -1:, :]).code
    tail = expect.reshape(-1)[-len(codes) :]
    np.testing.assert_array_equal(codes, tail)


def test_main_prints_every_part(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kernel_ab, "SIDE", 128)
    parts.main(["--rounds", "1", "--rows", "32"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "classify kernel parts, geomon-shared-reduced-v11: a realistic block of 128 px"
    )
    names = [line.split("fastest")[0].strip() for line in out[1:]]
    assert names[:5] == [
        "features: window sources' rows",
        "+ their integral rows",
        "+ window statistics",
        "features: per-pixel, output rows",
        "features: all",
    ]
    assert "+ 8-bit layer 1 (26 -> 32)" in names and "+ argmax" in names
    assert names[-2:] == ["kernel, first stage alone", "kernel, whole model"]
    assert all(float(line.split()[-1]) > 0 for line in out[1:])
