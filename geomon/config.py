"""Where geomon keeps generated data, read from the environment once per call (no global state)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["bundled_dir", "cache_dir"]


def cache_dir() -> Path:
    """Cache folder for generated and downloaded data: ``$GEOMON_CACHE``, else ``$XDG_CACHE_HOME/geomon``,
    else ``~/.cache/geomon``. Never inside the repository."""
    env = os.environ.get("GEOMON_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "geomon"


def bundled_dir(name: str, marker: str) -> Path:
    """A folder geomon ships (``aoi``, ``models``, ``pipelines``): the repository's top-level
    ``name/`` when it holds ``marker`` (source tree, editable install), else the copy a wheel
    installs as ``geomon/bundled_<name>`` (pyproject.toml maps one to the other)."""
    package = Path(__file__).resolve().parent
    tree = package.parent / name
    return tree if (tree / marker).exists() else package / f"bundled_{name}"
