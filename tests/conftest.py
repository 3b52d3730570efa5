"""Shared fixtures. Tests never touch the network; generated data goes to tmp folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


#: band order of eo-learn-slovenia's REFERENCE_SCENES.npy (Sentinel-2 L1C, 13 bands)
L1C_ORDER = (
    "coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3",
    "nir", "nir08", "wv", "cirrus", "swir16", "swir22",
)  # fmt: skip


@pytest.fixture
def real_scenes(shared_data: Path) -> list[dict[str, Any]]:
    """The eo-learn-slovenia reference scenes as band name -> TOA reflectance (skips without
    ../shared/data)."""
    import numpy as np

    scenes = np.load(shared_data / "eo-learn-slovenia" / "REFERENCE_SCENES.npy")
    return [{b: scene[..., L1C_ORDER.index(b)] for b in L1C_ORDER} for scene in scenes]
