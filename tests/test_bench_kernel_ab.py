"""The in-process A/B of classification kernels (bench/kernel_ab.py): every model runs, the
reference's ratio to itself is 1, a two-stage model reports what its first stage sends on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from geomon.classify import REDUCED_FEATURES, select_model
from geomon.classify.features import FULL_BANDS
from geomon.classify.model_io import save_model

kernel_ab = pytest.importorskip("bench.kernel_ab")


def test_kernel_ab_prints_each_model_against_the_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = select_model(REDUCED_FEATURES.bands)  # two stages
    two, one, full = tmp_path / "two.gmodel", tmp_path / "one.gmodel", tmp_path / "full.gmodel"
    save_model(shipped, two)
    save_model(replace(shipped, model_id="first-alone", refine=None), one)
    save_model(select_model(FULL_BANDS), full)
    monkeypatch.setattr(kernel_ab, "SIDE", 256)  # a small block: the tool, not the timing
    kernel_ab.main([str(two), str(one), "--rounds", "1", "--blocks", "1"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("1 realistic blocks of 256 px")
    assert shipped.model_id in out[1] and "first stage sends" in out[1]
    assert "first-alone" in out[2] and "paired ratio to first-alone: 1.000" in out[2]
    assert "sends" not in out[2]
    with pytest.raises(SystemExit, match="same inputs"):
        kernel_ab.main([str(full), str(one), "--rounds", "1", "--blocks", "1"])
