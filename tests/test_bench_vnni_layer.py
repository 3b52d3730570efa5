"""The 8-bit layer timing (bench/vnni_layer.py): its kernels' sums are checked against numpy
before they are timed, so a run that prints every shape proves the kernels exact."""

from __future__ import annotations

import numpy as np
import pytest

vnni_layer = pytest.importorskip("bench.vnni_layer")


def test_packed_puts_consecutive_rows_in_one_word_lowest_first() -> None:
    rows = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], np.uint8)
    words = vnni_layer.packed(rows, 4)
    assert words.shape == (1, 2) and words.dtype == np.int32
    assert words[0, 0] == 1 + (3 << 8) + (5 << 16) + (7 << 24)
    pairs = vnni_layer.packed(np.array([[-1, 2], [3, -4]], np.int16), 2)
    assert pairs[0].view(np.int16).tolist() == [-1, 3, 2, -4]


def test_prints_each_shape_with_exact_sums(capsys: pytest.CaptureFixture[str]) -> None:
    vnni_layer.main(["--reps", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("one thread, 1024 pixels")
    shapes = [line.split(":")[0].split() for line in lines[1:]]
    assert shapes == [[str(a), "->", str(b)] for a, b in vnni_layer.SHAPES]
    assert all("plain IR" in line and "pairs" in line for line in lines[1:])
