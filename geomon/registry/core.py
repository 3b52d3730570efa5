"""The :class:`Registry`: mines (GeoDataFrame) plus ownership (DataFrame), loaded and saved as a folder.

A registry folder holds:

- ``mines.geojson`` or ``mines.parquet`` (GeoParquet): one row per mine, EPSG:4326, AOI polygons;
- ``ownership.csv``: one row per (mine, owner), columns of :data:`OWNERSHIP_COLUMNS`;
- optionally ``licences.geojson`` (``mine_id``, ``source``, geometry: permitted concession),
  ``ecozones.csv`` (``mine_id``, ``ecozone``, ``continent``, ``source``) and
  ``protected_areas_sample.geojson`` (WDPA column layout).

Writes are atomic: everything goes to a temporary sibling folder that replaces the target only
once every file is written, so a failed import leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geomon.config import bundled_dir
from geomon.errors import RegistryError, UnknownMineError
from geomon.registry.schema import MINE_COLUMNS, OWNERSHIP_COLUMNS

__all__ = ["Registry", "bundled_registry_dir", "load_registry", "save_registry"]

_LIST_SEP = ";"


def bundled_registry_dir() -> Path:
    """The registry shipped with geomon: ``$GEOMON_AOI_DIR``, else the repository's ``aoi/``
    folder (source tree, editable install), else the copy a wheel installs as
    ``geomon/bundled_aoi``."""
    env = os.environ.get("GEOMON_AOI_DIR")
    path = Path(env) if env else bundled_dir("aoi", "mines.geojson")
    if not (path / "mines.geojson").exists():
        raise RegistryError(
            f"bundled registry not found at {path}; reinstall geomon "
            "or set GEOMON_AOI_DIR to a registry folder"
        )
    return path


@dataclass(frozen=True)
class Registry:
    """Mines and their owners. ``mines`` is indexed by nothing; ``mine_id`` is a column."""

    mines: gpd.GeoDataFrame
    """One row per mine, EPSG:4326, columns of ``MINE_COLUMNS`` and any optional ones."""
    ownership: pd.DataFrame
    """One row per (mine, owner), columns of ``OWNERSHIP_COLUMNS``."""

    def __len__(self) -> int:
        return len(self.mines)

    def __iter__(self) -> Iterator[str]:
        return iter(self.mines["mine_id"].tolist())

    @property
    def ids(self) -> list[str]:
        """Mine ids in registry order."""
        return [str(m) for m in self.mines["mine_id"]]

    def mine(self, mine_id: str) -> pd.Series:
        """The registry row of ``mine_id``; raises :class:`UnknownMineError` with close matches."""
        rows = self.mines[self.mines["mine_id"] == mine_id]
        if rows.empty:
            import difflib

            close = difflib.get_close_matches(mine_id, self.ids, n=3, cutoff=0.5)
            hint = (
                f"; did you mean {', '.join(close)}?" if close else "; see 'geomon registry list'"
            )
            raise UnknownMineError(f"mine '{mine_id}' is not in the registry{hint}")
        return rows.iloc[0]

    def owners(self, mine_id: str) -> pd.DataFrame:
        """Ownership rows of ``mine_id`` (may be empty when owners are unknown)."""
        self.mine(mine_id)
        return self.ownership[self.ownership["mine_id"] == mine_id].reset_index(drop=True)

    def subset(self, mine_ids: list[str]) -> Registry:
        """A registry restricted to ``mine_ids`` (in that order)."""
        for m in mine_ids:
            self.mine(m)
        mines = self.mines.set_index("mine_id").loc[mine_ids].reset_index()
        own = self.ownership[self.ownership["mine_id"].isin(mine_ids)].reset_index(drop=True)
        return Registry(gpd.GeoDataFrame(mines, geometry="geometry", crs=self.mines.crs), own)


def _read_mines(folder: Path) -> gpd.GeoDataFrame:
    parquet, geojson = folder / "mines.parquet", folder / "mines.geojson"
    if parquet.exists():
        mines = gpd.read_parquet(parquet)
    elif geojson.exists():
        mines = gpd.read_file(geojson)
    else:
        raise RegistryError(
            f"{folder}: no mines.geojson or mines.parquet; is this a registry folder?"
        )
    if mines.crs is None:
        raise RegistryError(f"{folder}: mines file has no CRS; write it in EPSG:4326")
    mines = mines.to_crs(4326)
    missing = [c for c in MINE_COLUMNS if c not in mines.columns]
    if missing:
        raise RegistryError(f"{folder}: mines file lacks column(s) {', '.join(missing)}")
    mines["commodities"] = mines["commodities"].map(_as_list)
    return mines


def _as_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v) for v in json.loads(text)]
        return [v.strip() for v in text.split(_LIST_SEP) if v.strip()]
    return [str(v) for v in value]


def _read_ownership(folder: Path) -> pd.DataFrame:
    path = folder / "ownership.csv"
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OWNERSHIP_COLUMNS})
    own = pd.read_csv(path, dtype={"mine_id": str, "owner": str, "parent": str, "source": str})
    missing = [c for c in OWNERSHIP_COLUMNS if c not in own.columns]
    if missing:
        raise RegistryError(f"{path}: lacks column(s) {', '.join(missing)}")
    own["is_operator"] = own["is_operator"].map(_as_bool)
    return own


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "t"}
    return bool(value) if not pd.isna(value) else False


def _join_reference_layers(folder: Path, mines: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    eco = folder / "ecozones.csv"
    if eco.exists():
        table = pd.read_csv(eco, dtype=str)[["mine_id", "ecozone", "continent"]]
        mines = mines.drop(columns=[c for c in ("ecozone", "continent") if c in mines.columns])
        mines = mines.merge(table, on="mine_id", how="left")
    lic = folder / "licences.geojson"
    if lic.exists():
        licences = gpd.read_file(lic).to_crs(4326).set_index("mine_id").geometry
        mines["licence_geometry"] = gpd.GeoSeries(
            mines["mine_id"].map(licences), crs=4326, index=mines.index
        )
    return gpd.GeoDataFrame(mines, geometry="geometry", crs=4326)


def load_registry(folder: str | Path | None = None) -> Registry:
    """Load a registry folder; ``None`` loads the bundled registry."""
    path = Path(folder) if folder is not None else bundled_registry_dir()
    if not path.is_dir():
        raise RegistryError(
            f"registry folder {path} does not exist; pass a folder made by "
            "'geomon registry import' or omit it for the bundled registry"
        )
    mines = _join_reference_layers(path, _read_mines(path))
    return Registry(mines.reset_index(drop=True), _read_ownership(path))


def save_registry(
    registry: Registry, folder: str | Path, extra: dict[str, str] | None = None
) -> Path:
    """Write ``registry`` to ``folder`` atomically (GeoParquet + CSV); ``extra`` adds text files.

    The target is replaced only once everything is written; on any error nothing is left behind.
    """
    target = Path(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        mines = registry.mines.copy()
        mines["commodities"] = mines["commodities"].map(lambda v: _LIST_SEP.join(_as_list(v)))
        mines.to_parquet(tmp / "mines.parquet")
        registry.ownership.to_csv(tmp / "ownership.csv", index=False)
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        if target.exists():
            backup = target.with_name(f".{target.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            target.rename(backup)
            tmp.rename(target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
