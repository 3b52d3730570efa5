"""Factor tables: versioned CSV files shipped in ``geomon/impacts/tables`` with a header naming them.

Each file starts with ``# key: value`` lines (at least ``table``, ``version`` and ``source``), then a
CSV with a ``source`` column where values come from a publication. A cell that is not in a table
has no factor: callers report "no factor", never a guess.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from geomon.errors import FactorTableError

__all__ = ["FactorTable", "FactorTables", "describe_factor_tables", "load_table_file"]

_REQUIRED_META = ("table", "version", "source")

#: file stem -> columns the file must have
_FILES: dict[str, tuple[str, ...]] = {
    "ipcc2019_agb_forest": ("ecozone", "continent", "forest_state", "agb_t_dm_ha", "sd_t_dm_ha"),
    "ipcc2019_root_shoot": ("ecozone", "continent", "r_agb_le_125", "r_agb_gt_125"),
    "ipcc_carbon_constants": ("name", "value"),
    "globio_msa_land_use": ("land_use", "msa"),
    "globio_infrastructure_halo": ("halo_biome", "inner_m", "outer_m", "msa_multiplier"),
    "climate_trace_ore_ef": ("scope", "key", "t_co2_per_t_ore", "commodities", "source"),
    "cover_classes": (
        "cover",
        "globio_land_use",
        "carbon_pool",
        "natural_vegetation",
        "natural_land",
    ),
    "ecozone_halo_biome": ("ecozone", "family", "default_halo_biome"),
}


@dataclass(frozen=True, eq=False)
class FactorTable:
    """One factor table: its header metadata and its rows."""

    name: str
    """Table name from the ``# table:`` header line."""
    version: str
    """Table version from the ``# version:`` header line."""
    source: str
    """Publication the values come from (``# source:``)."""
    meta: Mapping[str, str]
    """Every header line, key -> value."""
    frame: pd.DataFrame
    """The rows."""

    @property
    def label(self) -> str:
        """``name@version``, as written into every result that used the table."""
        return f"{self.name}@{self.version}"


def load_table_file(path: str | Path, required: tuple[str, ...] = ()) -> FactorTable:
    """Read one factor table file; raises :class:`FactorTableError` naming the fix."""
    text = Path(path).read_text(encoding="utf-8")
    return _parse(text, str(path), required)


def _parse(text: str, where: str, required: tuple[str, ...]) -> FactorTable:
    meta: dict[str, str] = {}
    lines = text.splitlines()
    body_start = 0
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            body_start = i
            break
        key, _, value = line.lstrip("#").partition(":")
        meta[key.strip()] = value.strip()
    missing = [k for k in _REQUIRED_META if not meta.get(k)]
    if missing:
        raise FactorTableError(
            f"factor table {where}: header line(s) {', '.join('# ' + k + ':' for k in missing)} "
            "missing; start the file with '# table: NAME', '# version: X.Y.Z', '# source: ...'"
        )
    frame = pd.read_csv(
        io.StringIO("\n".join(lines[body_start:])), dtype=str, keep_default_na=False
    )
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise FactorTableError(
            f"factor table {where}: column(s) {', '.join(absent)} missing; "
            f"the file needs columns {', '.join(required)}"
        )
    return FactorTable(meta["table"], meta["version"], meta["source"], dict(meta), frame)


def _number(value: str) -> float:
    """A table cell as float; empty -> NaN."""
    return float(value) if str(value).strip() else math.nan


@functools.cache
def _bundled(stem: str) -> FactorTable:
    ref = resources.files("geomon.impacts").joinpath("tables", f"{stem}.csv")
    return _parse(
        ref.read_text(encoding="utf-8"), f"geomon/impacts/tables/{stem}.csv", _FILES[stem]
    )


@dataclass(frozen=True, eq=False)
class FactorTables:
    """Every table the impact stage uses, loaded once."""

    tables: Mapping[str, FactorTable]
    """File stem -> table."""

    @classmethod
    def load(cls, folder: str | Path | None = None) -> FactorTables:
        """The bundled tables; files named like the bundled ones in ``folder`` replace them."""
        loaded: dict[str, FactorTable] = {}
        for stem, required in _FILES.items():
            override = Path(folder) / f"{stem}.csv" if folder else None
            if override is not None and override.exists():
                loaded[stem] = load_table_file(override, required)
            else:
                loaded[stem] = _bundled(stem)
        return cls(dict(loaded))

    def __getitem__(self, stem: str) -> FactorTable:
        return self.tables[stem]

    def labels(self, stems: list[str] | tuple[str, ...] | None = None) -> str:
        """``name@version`` of the given tables (all when None), sorted, joined by ``; ``."""
        chosen = stems if stems is not None else list(self.tables)
        return "; ".join(sorted(self.tables[s].label for s in set(chosen)))

    # -- lookups -----------------------------------------------------------------------------

    def constant(self, name: str) -> float:
        """A value of ``ipcc_carbon_constants``."""
        frame = self["ipcc_carbon_constants"].frame
        rows = frame[frame["name"] == name]
        if rows.empty:
            raise FactorTableError(
                f"factor table ipcc_carbon_constants has no row '{name}'; add it or use the bundled table"
            )
        return float(rows.iloc[0]["value"])

    def agb(self, ecozone: str, continent: str, state: str) -> tuple[float, float] | None:
        """(mean, SD) AGB in t d.m./ha, SD NaN when unpublished; None when there is no factor."""
        frame = self["ipcc2019_agb_forest"].frame
        hit = frame[
            (frame["ecozone"] == ecozone)
            & (frame["continent"] == continent)
            & (frame["forest_state"] == state)
        ]
        if hit.empty:
            return None
        row = hit.iloc[0]
        return _number(row["agb_t_dm_ha"]), _number(row["sd_t_dm_ha"])

    def root_shoot(self, ecozone: str, continent: str, agb_mean: float) -> float | None:
        """R for the cell and AGB class, or None when the table has no ratio."""
        frame = self["ipcc2019_root_shoot"].frame
        hit = frame[(frame["ecozone"] == ecozone) & (frame["continent"] == continent)]
        if hit.empty:
            return None
        column = "r_agb_le_125" if agb_mean <= 125.0 else "r_agb_gt_125"
        value = _number(hit.iloc[0][column])
        return None if math.isnan(value) else value

    def msa(self, land_use: str) -> float | None:
        """GLOBIO MSA of a land use, None when the table has none."""
        frame = self["globio_msa_land_use"].frame
        hit = frame[frame["land_use"] == land_use]
        return None if hit.empty else float(hit.iloc[0]["msa"])

    def cover(self, key: str) -> Mapping[str, str]:
        """The ``cover_classes`` row of a cover key."""
        frame = self["cover_classes"].frame
        hit = frame[frame["cover"] == key]
        if hit.empty:
            known = ", ".join(frame["cover"])
            raise FactorTableError(
                f"cover '{key}' is not in table cover_classes; use one of: {known}"
            )
        return {str(k): str(v) for k, v in hit.iloc[0].items()}

    def halo_bands(self, biome: str) -> list[tuple[float, float, float]]:
        """(inner_m, outer_m, multiplier) of a halo biome, inner to outer; empty when unknown."""
        frame = self["globio_infrastructure_halo"].frame
        hit = frame[frame["halo_biome"] == biome]
        bands = [
            (float(r.inner_m), float(r.outer_m), float(r.msa_multiplier))
            for r in hit.itertuples(index=False)
        ]
        return sorted(bands)

    def halo_biomes(self) -> list[str]:
        """Halo biomes the table knows."""
        return sorted(set(self["globio_infrastructure_halo"].frame["halo_biome"]))

    def ecozone_row(self, ecozone: str) -> Mapping[str, str] | None:
        """The ``ecozone_halo_biome`` row of a canonical ecozone, None when unknown."""
        frame = self["ecozone_halo_biome"].frame
        hit = frame[frame["ecozone"] == ecozone]
        return None if hit.empty else {str(k): str(v) for k, v in hit.iloc[0].items()}

    def ecozones(self) -> list[str]:
        """Canonical ecozone names."""
        return list(self["ecozone_halo_biome"].frame["ecozone"])


def describe_factor_tables(labels: str, folder: str | Path | None = None) -> list[dict[str, str]]:
    """``[{"name", "version", "source", "title"}]`` for a ``factor_tables`` value of the impact
    records (``"name@version; ..."``), sources read from the tables themselves (bundled, or
    ``folder`` as in ImpactParams.tables_dir). A table not found keeps an empty source."""
    by_name = {t.name: t for t in FactorTables.load(folder).tables.values()}
    out = []
    for label in (x.strip() for x in str(labels).split(";")):
        if not label:
            continue
        name, _, version = label.partition("@")
        table = by_name.get(name)
        known = table is not None and table.version == version
        out.append(
            {
                "name": name,
                "version": version,
                "source": table.source if known and table else "",
                "title": table.meta.get("title", "") if known and table else "",
            }
        )
    return out
