"""The 8-bit layer study (bench/int8_flips.py): its numpy layer reproduces the shipped integer
path (the control row is 0), its fitted rounding never raises a row's output error, and it
prints a share per variant on a small generated catalog."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_bench_classify_stage import small_catalog_output

from geomon.classify._quant import _fit_rounding

int8_flips = pytest.importorskip("bench.int8_flips")


def test_fitted_rounding_stays_within_a_step_and_never_raises_the_row_error() -> None:
    rng = np.random.default_rng(1)
    target = rng.normal(0, 40, (12, 30)).clip(-127, 127)
    acts = np.floor(rng.gamma(0.6, 40, (30, 500)).clip(0, 255))  # sparse, skewed, like ReLUs
    nearest = np.rint(target)
    fitted = _fit_rounding(target, nearest, acts, 127)
    assert np.all(np.abs(fitted - target) < 1) and np.abs(fitted).max() <= 127
    assert np.array_equal(fitted, np.rint(fitted))
    gram = acts @ acts.T / acts.shape[1]
    before = np.einsum("ri,ij,rj->r", nearest - target, gram, nearest - target)
    after = np.einsum("ri,ij,rj->r", fitted - target, gram, fitted - target)
    assert np.all(after <= before + 1e-9) and after.sum() < 0.9 * before.sum()


def test_prints_the_share_of_changed_classes_per_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = small_catalog_output(
        int8_flips.main, ["--sample", "3000"], "pixels sent to", tmp_path, capsys, monkeypatch
    )
    sent = int(re.search(r": ([\d,]+) pixels sent", lines[0])[1].replace(",", ""))  # type: ignore[index]
    assert sent > 0
    rows = lines[1:9]
    shares = [float(re.search(r"([\d.]+) %$", s)[1]) for s in rows]  # type: ignore[index]
    assert len(shares) == 8 and all(0 <= s <= 100 for s in shares)
    assert shares[0] < 2  # the float model against the shipped integer layers
    assert "control" in rows[1] and shares[1] < 0.1  # the numpy layer is the shipped one
    assert shares[2] > shares[1]  # 8 bits change some answers
    first = next(i for i, s in enumerate(lines) if s.startswith("first stage ("))
    assert "pixels with data drawn at random" in lines[first]
    pairs = [re.search(r"([\d.]+) % / +([\d.]+) %$", s) for s in lines[first + 1 : first + 7]]
    assert all(pairs) and len(pairs) == 6
    classes = [float(m[1]) for m in pairs if m]
    assert classes[0] < 1 and max(classes[2:]) > classes[0]  # float: small; 8 bits: more
    assert (
        "control" in lines[first + 2] and classes[1] < 0.1
    )  # the numpy layer 2 is the shipped one
