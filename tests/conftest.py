"""Shared fixtures. Tests never touch the network; generated data goes to tmp folders."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test session gets its own geomon cache unless one is set explicitly (CI sets one)."""
    import os

    if "GEOMON_CACHE" not in os.environ:
        monkeypatch.setenv("GEOMON_CACHE", str(tmp_path_factory.getbasetemp() / "geomon-cache"))


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder; skips the test cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real third-party data not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA
