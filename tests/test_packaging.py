"""The wheel: every subpackage listed in pyproject.toml, and the registry, models and pipelines in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_subpackage_is_listed():
    listed = set(_setuptools()["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "geomon").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_bundled_folders_map_to_the_repository_folders():
    dirs = _setuptools()["package-dir"]
    assert dirs == {
        "geomon.bundled_aoi": "aoi",
        "geomon.bundled_models": "models",
        "geomon.bundled_pipelines": "pipelines",
    }
    for folder in dirs.values():
        assert (ROOT / folder).is_dir()


@pytest.mark.slow
def test_wheel_holds_registry_models_and_pipelines(tmp_path):
    """Builds the wheel offline with the dev environment's setuptools, from a copy of the
    source (an in-tree build would leave build/ behind, whose stale files later wheels take)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("geomon", "aoi", "models", "pipelines"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    args = ["wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)]
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = out.glob("geomon-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    index = (ROOT / "models" / "index.json").read_text()
    for want in (
        "geomon/bundled_aoi/mines.geojson",
        "geomon/bundled_aoi/ownership.csv",
        "geomon/bundled_models/index.json",
        "geomon/bundled_pipelines/demo.yaml",
        "geomon/impacts/tables/globio_msa_land_use.csv",
        "geomon/report/templates/report.html.j2",
    ):
        assert want in names, want
    for model_file in (p.name for p in (ROOT / "models").glob("*.gmodel")):
        assert f"geomon/bundled_models/{model_file}" in names and model_file in index
