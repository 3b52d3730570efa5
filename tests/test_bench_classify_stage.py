"""The classify-stage breakdown (bench/classify_stage.py): its chunks with their halo are the
image's own pixels, and the tool prints every line on a small generated catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from geomon.classify import REDUCED_FEATURES, select_model
from geomon.classify.model import Refinement
from geomon.classify.model_io import save_model

classify_stage = pytest.importorskip("bench.classify_stage")


def test_blocks_carry_each_chunk_and_its_halo_within_the_image() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((1, 1, 70, 55), dtype=np.float32)  # (inputs, planes, y, x)
    valid = rng.random((1, 70, 55)) > 0.5
    blocks = classify_stage._blocks([image[0], valid], halo=6, chunk=32)
    origins = [(by, bx) for by in (0, 32, 64) for bx in (0, 32)]  # row by row
    assert len(blocks) == len(origins)
    covered = np.zeros((70, 55), int)
    for (stack, v, (ys, xs)), (by, bx) in zip(blocks, origins, strict=True):
        assert stack.flags.c_contiguous
        y0, x0 = max(by - 6, 0), max(bx - 6, 0)  # the halo, none beyond the edge
        y1, x1 = min(by + 32 + 6, 70), min(bx + 32 + 6, 55)
        np.testing.assert_array_equal(stack[0], image[0, :, y0:y1, x0:x1])
        np.testing.assert_array_equal(v, valid[:, y0:y1, x0:x1])
        assert (ys.start + y0, xs.start + x0) == (by, bx)
        assert (ys.stop + y0, xs.stop + x0) == (min(by + 32, 70), min(bx + 32, 55))
        covered[by : ys.stop + y0, bx : xs.stop + x0] += 1
    assert (covered == 1).all()


def small_catalog_output(
    main: Callable[[list[str]], None],
    args: list[str],
    first: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> list[str]:
    """A bench tool's printed lines from the one that holds ``first`` on, run with ``args`` on a
    small generated catalog (384 px scenes, 128 px chunks) in a cache of its own."""
    monkeypatch.setenv("GEOMON_CACHE", str(tmp_path))
    main([*args, "--size", "384", "--chunk", "128"])
    lines = capsys.readouterr().out.splitlines()
    return lines[next(i for i, s in enumerate(lines) if first in s) :]


def test_prints_every_line_on_a_small_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = small_catalog_output(
        classify_stage.main, ["--reps", "1"], "classify stage", tmp_path, capsys, monkeypatch
    )
    assert out[0].startswith("classify stage, geomon-shared-reduced-v11")
    names = ("kernel, 1 thread", "kernel, 2 threads", "halo copies", "stage, sync",
             "stage, 2 threads")  # fmt: skip
    for name, line in zip(names, out[1:6], strict=True):
        assert line.strip().startswith(name) and "median" in line
    assert out[6].strip().startswith("first stage sends")


def test_a_first_stage_whose_answers_all_stand_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEOMON_CACHE", str(tmp_path))
    shipped = select_model(REDUCED_FEATURES.bands)
    assert shipped.refine is not None
    classes = ("vegetation", "bare_disturbed", "water", "built_other")
    keep = replace(shipped, refine=Refinement(shipped.refine.model, classes, 0.0))
    path = tmp_path / "keep.gmodel"
    save_model(keep, path)
    args = ["--reps", "1", "--size", "384", "--chunk", "128"]
    classify_stage.main([*args, "--model", str(path)])
    classify_stage.main(args)  # the shipped rule
    lines = [s for s in capsys.readouterr().out.splitlines() if "first stage sends" in s]
    assert lines[0].strip().startswith("first stage sends 0.0 % of the pixels with data on")
    assert not lines[1].strip().startswith("first stage sends 0.0 %")
