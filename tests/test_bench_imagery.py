"""The benchmarks' header (bench/imagery.py): it names the CPU the kernels are compiled for."""

from __future__ import annotations

import pytest

imagery = pytest.importorskip("bench.imagery")


def test_compile_target_says_what_the_classifier_kernels_use() -> None:
    from geomon.classify._forward import VNNI

    text = imagery.compile_target()
    assert ("VNNI yes" in text) == VNNI
    assert text.endswith(f"AVX-512 VNNI {'yes' if VNNI else 'no'})")
