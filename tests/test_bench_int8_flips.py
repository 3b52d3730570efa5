"""The 8-bit layer study (bench/int8_flips.py) runs on a small generated catalog and prints a
share per variant; the float model's share is the 16-bit scheme's small own error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

int8_flips = pytest.importorskip("bench.int8_flips")


def test_prints_the_share_of_changed_classes_per_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEOMON_CACHE", str(tmp_path))
    int8_flips.main(["--size", "384", "--chunk", "128"])
    lines = capsys.readouterr().out.splitlines()
    head = next(i for i, s in enumerate(lines) if "pixels sent to" in s)
    sent = int(re.search(r": ([\d,]+) pixels sent", lines[head])[1].replace(",", ""))  # type: ignore[index]
    assert sent > 0
    shares = [float(re.search(r"([\d.]+) %$", s)[1]) for s in lines[head + 1 : head + 8]]  # type: ignore[index]
    assert len(shares) == 7 and all(0 <= s <= 100 for s in shares)
    assert shares[0] < 2  # the float model against the shipped 16-bit layers
