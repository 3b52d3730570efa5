"""The models shipped in ``models/``: listed in ``models/index.json`` with their SHA-256."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from geomon.classify.model import PixelModel
from geomon.classify.model_io import load_model
from geomon.config import bundled_dir
from geomon.errors import MissingBandsError, ModelError

__all__ = ["BundledModel", "bundled_model", "bundled_models", "models_dir", "select_model"]

INDEX = "index.json"


def models_dir() -> Path:
    """The shipped models folder: ``$GEOMON_MODELS_DIR``, else the repository's ``models/``
    (source tree, editable install), else the copy a wheel installs as ``geomon/bundled_models``."""
    env = os.environ.get("GEOMON_MODELS_DIR")
    return Path(env) if env else bundled_dir("models", INDEX)


@dataclass(frozen=True)
class BundledModel:
    """One entry of ``models/index.json``, most capable first."""

    model_id: str
    file: str
    """File name inside the models folder."""
    sha256: str
    bands: tuple[str, ...]
    """Bands the model needs."""

    def load(self, folder: Path | None = None) -> PixelModel:
        """Load and verify the model file."""
        return load_model((folder or models_dir()) / self.file, sha256=self.sha256)


def bundled_models(folder: Path | None = None) -> list[BundledModel]:
    """The models listed in ``folder/index.json`` (default :func:`models_dir`)."""
    path = (folder or models_dir()) / INDEX
    if not path.is_file():
        raise ModelError(
            f"no model index at {path}; install geomon from its source tree or set GEOMON_MODELS_DIR"
        )
    entries = json.loads(path.read_text())["models"]
    return [BundledModel(e["model_id"], e["file"], e["sha256"], tuple(e["bands"])) for e in entries]


def bundled_model(model_id: str, folder: Path | None = None) -> PixelModel:
    """The listed model ``model_id`` (e.g. a former default kept for comparison), verified."""
    entries = bundled_models(folder)
    for entry in entries:
        if entry.model_id == model_id:
            return entry.load(folder)
    raise ModelError(
        f"no bundled model {model_id!r}; the bundled ones: {', '.join(e.model_id for e in entries)}"
    )


def select_model(available: Iterable[str], folder: Path | None = None) -> PixelModel:
    """The first listed model whose bands are all ``available`` (full Sentinel-2 before reduced)."""
    have = set(available)
    entries = bundled_models(folder)
    for entry in entries:
        if have.issuperset(entry.bands):
            return entry.load(folder)
    fewest = min(entries, key=lambda e: len(e.bands))
    missing = sorted(set(fewest.bands) - have)
    raise MissingBandsError(
        f"no shipped model fits bands {', '.join(sorted(have)) or 'none'}; "
        f"the smallest needs {', '.join(fewest.bands)} (missing {', '.join(missing)})"
    )
