"""Registry importers: GEM tracker CSVs, generic CSVs, GeoJSON, GeoPackage and GeoParquet.

:func:`import_registry` reads a file into a :class:`~geomon.registry.core.Registry` and an
:class:`ImportSummary` of everything it could not read cleanly; it writes nothing.
:func:`write_import` saves both (atomically, via ``save_registry``, with ``import_report.json``).
Every row is validated (:mod:`geomon.registry.validate`) before a registry is built, so a bad input
raises :class:`~geomon.errors.RegistryValidationError` listing each row and reason, and nothing
reaches disk.

Stages: read the file into a table of strings (and geometries for vector files) -> rename its
columns to registry columns (the format's defaults, then ``ImportOptions.column_map``) -> build
mines and ownership rows (ids, ISO-3 countries, commodities, statuses, GEM ownership chains) ->
validate -> give points an AOI (a geodesic circle of ``buffer_m``, which is exactly a circle in the
azimuthal-equidistant projection centred on the point) -> registry + summary.

Rows without any coordinates cannot be placed: they are not imported and are listed, each with its
row, under ``not_placed`` in the summary. Nothing is dropped silently.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from geomon.errors import ConfigError, RegistryError
from geomon.registry.core import Registry, save_registry
from geomon.registry.ownership import OwnershipRows, build_ownership_rows
from geomon.registry.schema import (
    COMMODITIES,
    COMMODITY_ALIASES,
    COORDINATE_ACCURACIES,
    MINE_COLUMNS,
    MINE_OPTIONAL_COLUMNS,
    OWNERSHIP_COLUMNS,
    normalize_commodity,
    normalize_status,
    slugify,
)
from geomon.registry.validate import (
    SHARE_SUM_TOLERANCE,
    Problem,
    ValidationReport,
    commodity_names,
    country_iso3,
    validate_registry,
)

__all__ = [
    "FORMATS",
    "ImportOptions",
    "ImportResult",
    "ImportSummary",
    "SummaryEntry",
    "import_registry",
    "parse_column_map",
    "validate_source",
    "write_import",
]

#: Input formats :func:`import_registry` reads.
FORMATS: tuple[str, ...] = ("gem", "csv", "geojson", "gpkg", "parquet")
#: Examples per problem kind in the text summary (the JSON report lists them all).
TEXT_EXAMPLES = 5
_CIRCLE_VERTICES = 64
_GEOD = Geod(ellps="WGS84")

#: GEM tracker column -> registry column.
GEM_COLUMNS: dict[str, str] = {
    "name-(english)": "name",
    "name-(other-language)": "name_other_language",
    "country/area": "country",
    "status": "status",
    "owner": "owner",
    "parent": "parent",
    "coordinate-accuracy": "coordinate_accuracy",
    "subnational-unit": "subnational_unit",
    "start-date": "start_date",
    "url": "url",
    "lat": "lat",
    "lng": "lon",
    "coordinates": "coordinates",
    "region": "gem_region",
}
#: Columns an input may fill besides the required mine columns.
_EXTRA_TARGETS: tuple[str, ...] = (
    "owner",
    "parent",
    "operator",
    "as_of",
    "url",
    "subnational_unit",
    "start_date",
    "name_other_language",
    "coordinates",
    "gem_region",
)
_TARGET_ALIASES: dict[str, str] = {
    "commodity": "commodities",
    "id": "mine_id",
    "latitude": "lat",
    "longitude": "lon",
    "lng": "lon",
}
_LAT_NAMES = ("lat", "latitude", "y")
_LON_NAMES = ("lon", "lng", "long", "longitude", "x")
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")
#: Input columns that feed the ownership table or are normalised, not copied to the mines.
_NOT_MINE_COLUMNS = (
    "owner",
    "parent",
    "operator",
    "as_of",
    "status",
    "coordinate_accuracy",
    "commodities",
)

#: Problem kinds of the summary, in report order, with their descriptions.
SUMMARY_KINDS: dict[str, str] = {
    "not_placed": "rows not imported: no coordinates or geometry",
    "id_collisions": "generated mine ids that collided and got a suffix",
    "approximate_coordinates": "mines with approximate coordinates",
    "status_unknown": "statuses mapped to 'unknown' (original text kept in status_original)",
    "coordinate_accuracy_unknown": "coordinate accuracies not recognised, set to 'unknown'",
    "unknown_owner": "mines whose owner is unknown (no ownership rows)",
    "owner_share_missing": "owners listed without a share",
    "owner_shares_not_100": "mines whose owner shares do not sum to 100 (the rest is unknown)",
    "parent_shares_not_100": "mines whose parent shares do not sum to 100 (the rest is unknown)",
    "ownership_unparsed": "ownership fragments that could not be read fully",
    "operator_unknown": "mines with several owners and no operator named",
    "geometry_repaired": "invalid geometries repaired on request",
}


# --- options and results ------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    """How to read an input file into a registry."""

    buffer_m: float | None = None
    """AOI radius in metres given to point inputs. Required when the input has points: the
    library has no default radius."""
    column_map: tuple[tuple[str, str], ...] = ()
    """``(target, source)`` pairs: registry column <- input column, e.g. ``(("name", "Mine"),)``.
    Targets: the registry columns, ``lat``, ``lon``, ``owner``, ``parent`` (GEM text form),
    ``operator``, ``as_of``."""
    commodity: str | None = None
    """Commodity of every row without one (single-commodity trackers). GEM: inferred from the file
    name when not given."""
    repair: bool = False
    """Repair invalid geometries (make_valid, keep polygonal parts) instead of rejecting them."""
    id_column: str | None = None
    """Input column holding mine ids; ids are generated from name + country when none is given."""
    lat_column: str | None = None
    """Input column holding latitudes (tables; default: lat, latitude or y)."""
    lon_column: str | None = None
    """Input column holding longitudes (tables; default: lon, lng, long, longitude or x)."""
    crs: str | None = None
    """CRS to assume for a vector file that declares none (e.g. ``"EPSG:4326"``)."""
    layer: str | None = None
    """GeoPackage layer (needed when the file has several)."""
    source: str | None = None
    """Source credited on every mine and ownership row (default: from the file)."""
    as_of: str | None = None
    """Date of the ownership records, YYYY-MM-DD (GEM default: the date in the file name)."""

    def __post_init__(self) -> None:
        if self.buffer_m is not None and not (math.isfinite(self.buffer_m) and self.buffer_m > 0):
            raise ConfigError(f"buffer_m must be a positive number of metres, not {self.buffer_m}")
        for pair in self.column_map:
            if len(pair) != 2 or not all(isinstance(p, str) and p.strip() for p in pair):
                raise ConfigError(f"column_map entries are (target, source) pairs, not {pair!r}")


@dataclass(frozen=True)
class SummaryEntry:
    """One kind of import problem: how many, and every instance (row and detail)."""

    kind: str
    """Key of :data:`SUMMARY_KINDS`."""
    description: str
    """What the kind means."""
    items: tuple[str, ...]
    """One line per instance, e.g. ``"row 12 (mine 'x'): owner 'unknown'"``."""

    @property
    def count(self) -> int:
        """Number of instances."""
        return len(self.items)


@dataclass(frozen=True)
class ImportSummary:
    """What an import read, what it imported and what it could not read cleanly."""

    source: str
    """The input file."""
    fmt: str
    """Its format."""
    rows_read: int
    """Data rows in the input."""
    rows_imported: int
    """Mines in the registry (``rows_read`` minus the ``not_placed`` rows)."""
    ownership_rows: int
    """Rows of the ownership table."""
    settings: tuple[tuple[str, str], ...]
    """What was assumed or used: commodity, columns, buffer radius, source, as_of."""
    entries: tuple[SummaryEntry, ...]
    """Problem kinds with at least one instance, in :data:`SUMMARY_KINDS` order."""

    def count(self, kind: str) -> int:
        """Instances of ``kind`` (0 when none)."""
        return sum(e.count for e in self.entries if e.kind == kind)

    def items(self, kind: str) -> tuple[str, ...]:
        """Instances of ``kind``."""
        return tuple(i for e in self.entries if e.kind == kind for i in e.items)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with every instance."""
        return {
            "source": self.source,
            "format": self.fmt,
            "rows_read": self.rows_read,
            "rows_imported": self.rows_imported,
            "ownership_rows": self.ownership_rows,
            "settings": dict(self.settings),
            "problems": {
                e.kind: {"description": e.description, "count": e.count, "items": list(e.items)}
                for e in self.entries
            },
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_text(self, examples: int = TEXT_EXAMPLES) -> str:
        """A readable summary with the first ``examples`` instances of each kind."""
        lines = [
            f"imported {self.rows_imported} of {self.rows_read} rows from {self.source} "
            f"({self.fmt}); {self.ownership_rows} ownership rows"
        ]
        lines += [f"  {key}: {value}" for key, value in self.settings]
        for e in self.entries:
            lines.append(f"  {e.count} {e.description}")
            lines += [f"      {item}" for item in e.items[:examples]]
            if e.count > examples:
                lines.append(f"      ... {e.count - examples} more in import_report.json")
        if not self.entries:
            lines.append("  no problems")
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportResult:
    """A registry read from a file, and the summary of the import."""

    registry: Registry
    """Mines (AOI polygons, EPSG:4326) and ownership rows."""
    summary: ImportSummary
    """What was read and what could not be read cleanly."""


# --- notes --------------------------------------------------------------------------------


class _Notes:
    """Instances of summary kinds, collected while importing."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {k: [] for k in SUMMARY_KINDS}
        self.settings: dict[str, str] = {}

    def add(self, kind: str, row: int, mine_id: str | None, detail: str) -> None:
        where = f"row {row} (mine '{mine_id}')" if mine_id else f"row {row}"
        self.items[kind].append(f"{where}: {detail}")

    def entries(self) -> tuple[SummaryEntry, ...]:
        return tuple(
            SummaryEntry(k, SUMMARY_KINDS[k], tuple(v)) for k, v in self.items.items() if v
        )


@dataclass
class _Staged:
    """An input read and mapped, before validation (mutable while it is being built)."""

    source: str
    fmt: str
    frame: pd.DataFrame
    """Registry-named columns, one row per input row, ``source_row`` numbered from 1."""
    geometry: list[Any] | None = None
    """Geometries (EPSG:4326) of vector inputs; ``None`` for tables (lat/lon columns)."""
    defaults: dict[str, str] = field(default_factory=dict)
    """source, as_of and commodity defaults found in the file."""
    problems: list[Problem] = field(default_factory=list)
    """File-level problems (missing CRS, missing columns)."""
    notes: _Notes = field(default_factory=_Notes)


# --- reading ------------------------------------------------------------------------------


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise RegistryError(f"{path} does not exist; check the path") from exc
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise RegistryError(
            f"{path} is not a readable UTF-8 CSV file ({exc}); re-save it as UTF-8 CSV"
        ) from exc


def _read_vector(path: Path, fmt: str, options: ImportOptions) -> gpd.GeoDataFrame:
    if not path.exists():
        raise RegistryError(f"{path} does not exist; check the path")
    try:
        if fmt == "parquet":
            return gpd.read_parquet(path)
        if fmt == "gpkg":
            return gpd.read_file(path, layer=_gpkg_layer(path, options.layer))
        return gpd.read_file(path)
    except (OSError, ValueError) as exc:
        raise RegistryError(
            f"cannot read {path} as {fmt} ({exc}); check the file and --format"
        ) from exc


def _gpkg_layer(path: Path, layer: str | None) -> str | None:
    import pyogrio

    names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    if layer is not None and layer not in names:
        raise ConfigError(f"{path} has no layer '{layer}'; its layers are: {', '.join(names)}")
    if layer is None and len(names) > 1:
        raise ConfigError(
            f"{path} has several layers ({', '.join(names)}); choose one with --layer"
        )
    return layer


def _column_pairs(
    columns: Iterable[str], renames: dict[str, str], options: ImportOptions
) -> tuple[dict[str, str], list[Problem]]:
    """target -> input column, from the input's own names, format defaults and the mapping."""
    cols = list(columns)
    known = set(MINE_COLUMNS) | set(MINE_OPTIONAL_COLUMNS) | set(_EXTRA_TARGETS)
    pairs = {c: c for c in cols if c in known}
    pairs.update({target: src for src, target in renames.items() if src in cols})
    user = [(_TARGET_ALIASES.get(t.strip(), t.strip()), s) for t, s in options.column_map]
    if options.id_column:
        user.append(("mine_id", options.id_column))
    problems = []
    for target, src in user:
        if src not in cols:
            reason = f"column '{src}' (mapped to {target}) is not in the file; its columns are: {', '.join(cols)}"
            problems.append(Problem(None, None, target, reason))
        else:
            pairs[target] = src
    return pairs, problems


def _find_coordinate_columns(
    cols: list[str], pairs: dict[str, str], options: ImportOptions, required: bool
) -> list[Problem]:
    problems = []
    for target, given, names in (
        ("lat", options.lat_column, _LAT_NAMES),
        ("lon", options.lon_column, _LON_NAMES),
    ):
        if given is not None:
            if given not in cols:
                problems.append(Problem(None, None, target, f"column '{given}' is not in the file"))
            else:
                pairs[target] = given
        elif target not in pairs:
            found = next((c for c in cols if c.strip().lower() in names), None)
            if found is not None:
                pairs[target] = found
    if required and ("lat" not in pairs or "lon" not in pairs):
        problems.append(
            Problem(
                None,
                None,
                "lat",
                "no latitude/longitude columns found; name them lat and lon or pass --map lat=COLUMN --map lon=COLUMN",
            )
        )
    return problems


def _missing_targets(cols: list[str], pairs: dict[str, str]) -> list[Problem]:
    return [
        Problem(
            None,
            None,
            target,
            f"no '{target}' column; map one with --map {target}=COLUMN "
            f"(the file's columns are: {', '.join(cols)})",
        )
        for target in ("name", "country")
        if target not in pairs
    ]


def _apply_pairs(raw: pd.DataFrame, pairs: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame({t: raw[s].tolist() for t, s in pairs.items()}, index=range(len(raw)))
    frame["source_row"] = range(1, len(raw) + 1)
    return frame


def _stage_table(path: Path, fmt: str, options: ImportOptions, renames: dict[str, str]) -> _Staged:
    raw = _read_table(path)
    cols = [str(c) for c in raw.columns]
    pairs, problems = _column_pairs(cols, renames, options)
    problems += _find_coordinate_columns(cols, pairs, options, "coordinates" not in pairs)
    problems += _missing_targets(cols, pairs)
    staged = _Staged(str(path), fmt, _apply_pairs(raw, pairs), problems=problems)
    if "coordinates" in staged.frame.columns:
        staged.frame = _fill_from_coordinates(staged.frame)
        staged.notes.settings["coordinates"] = "used where lat/lon are empty"
    _note_not_imported(staged, cols, pairs)
    staged.notes.settings["columns"] = (
        ", ".join(f"{t}<-{s}" for t, s in pairs.items() if t != s) or "as named"
    )
    return staged


def _fill_from_coordinates(frame: pd.DataFrame) -> pd.DataFrame:
    """GEM: take lat/lon from the ``coordinates`` text (``"lat, lon"``) where they are empty."""
    parts = (
        frame["coordinates"].astype(str).str.split(",", n=1, expand=True).reindex(columns=[0, 1])
    )
    frame = frame.copy()
    for target, col in (("lat", 0), ("lon", 1)):
        fallback = parts[col].fillna("").str.strip()
        current = frame[target] if target in frame.columns else pd.Series("", index=frame.index)
        frame[target] = current.where(current.astype(str).str.strip() != "", fallback)
    return frame.drop(columns=["coordinates"])


def _stage_vector(path: Path, fmt: str, options: ImportOptions) -> _Staged:
    gdf = _read_vector(path, fmt, options)
    if gdf.crs is None and options.crs is None:
        reason = (
            f"{path.name} has no CRS; pass --crs EPSG:XXXX (ImportOptions.crs) if you know it, "
            "or set it in the file (GeoDataFrame.set_crs) and export it again"
        )
        return _Staged(
            str(path), fmt, pd.DataFrame(), problems=[Problem(None, None, "geometry", reason)]
        )
    staged_notes = _Notes()
    if gdf.crs is None:
        gdf = gdf.set_crs(options.crs)
        staged_notes.settings["crs"] = f"{options.crs} (assumed, the file declares none)"
    elif gdf.crs.to_epsg() != 4326:
        staged_notes.settings["crs"] = f"reprojected from {gdf.crs.to_string()} to EPSG:4326"
    implausible = _implausible_coordinates(gdf, path.name)
    if implausible:
        return _Staged(str(path), fmt, pd.DataFrame(), problems=implausible)
    gdf = gdf.to_crs(4326)
    attrs = pd.DataFrame(gdf.drop(columns=[gdf.geometry.name]))
    cols = [str(c) for c in attrs.columns if str(c) not in ("lat", "lon")]
    pairs, problems = _column_pairs(cols, {}, options)
    pairs = {t: s for t, s in pairs.items() if t not in ("lat", "lon", "coordinates")}
    problems += _missing_targets(cols, pairs)
    staged = _Staged(
        str(path),
        fmt,
        _apply_pairs(attrs, pairs),
        list(gdf.geometry),
        problems=problems,
        notes=staged_notes,
    )
    staged.notes.settings["columns"] = (
        ", ".join(f"{t}<-{s}" for t, s in pairs.items() if t != s) or "as named"
    )
    _note_not_imported(staged, cols, pairs)
    return staged


def _note_not_imported(
    staged: _Staged, cols: list[str], pairs: dict[str, str], used: Iterable[str] = ()
) -> None:
    """List the input columns nothing was read from (setting ``not imported``)."""
    taken = set(pairs.values()) | set(used)
    left = [c for c in cols if c not in taken]
    if left:
        staged.notes.settings["not imported"] = ", ".join(left)
    else:
        staged.notes.settings.pop("not imported", None)


#: Degrees of slack around a CRS's published area of use (UTM data often spills into the next zone).
AREA_OF_USE_MARGIN_DEG = 6.0


def _implausible_coordinates(gdf: gpd.GeoDataFrame, name: str) -> list[Problem]:
    """Rows whose coordinates cannot be in the declared projected CRS: every coordinate of the
    file within +-400 (degrees written under a metre CRS), or points outside the CRS's area of
    use (widened by :data:`AREA_OF_USE_MARGIN_DEG`) once reprojected to EPSG:4326."""
    crs = gdf.crs
    if crs is None or not crs.is_projected or gdf.empty:
        return []
    declared = crs.to_string()
    geoms = gdf.geometry
    present = ~(geoms.isna() | geoms.is_empty)
    if not present.any():
        return []
    rows = list(range(1, len(gdf) + 1))
    xy = shapely.get_coordinates(geoms[present].to_numpy())
    if len(xy) and np.all(np.abs(xy) < 400.0):
        first = rows[int(np.flatnonzero(present.to_numpy())[0])]
        minx, miny, maxx, maxy = geoms[present].total_bounds
        reason = (
            f"{name} declares {declared} (metres) but every coordinate is within +-400 "
            f"(x {minx:g}..{maxx:g}, y {miny:g}..{maxy:g}; first row {first}): these look like "
            "degrees; re-declare the CRS as EPSG:4326 (set_crs(4326, allow_override=True)) "
            "and export the file again"
        )
        return [Problem(None, None, "geometry", reason)]
    area = crs.area_of_use
    if area is None:
        return []
    m = AREA_OF_USE_MARGIN_DEG
    lonlat = geoms.to_crs(4326)
    problems = []
    for i, (ok, geom) in enumerate(zip(present, lonlat, strict=True)):
        if not ok:
            continue
        cx, cy = shapely.get_coordinates(geom).mean(axis=0) if geom is not None else (0.0, 0.0)
        finite = bool(np.all(np.isfinite(shapely.get_coordinates(geom))))
        inside = (
            finite
            and area.west - m <= cx <= area.east + m
            and area.south - m <= cy <= area.north + m
        )
        if not inside:
            where = f"({cx:.2f}, {cy:.2f})" if finite else "(not finite)"
            reason = (
                f"coordinates land at lon/lat {where}, outside the area of use of {declared} "
                f"(lon {area.west:g}..{area.east:g}, lat {area.south:g}..{area.north:g}); "
                "the declared CRS is probably wrong: set the true one "
                "(set_crs(..., allow_override=True) or export the file in EPSG:4326)"
            )
            problems.append(Problem(rows[i], None, "geometry", reason))
    return problems


def _infer_commodity(path: Path) -> str | None:
    """The commodity named in a GEM file name (``giomt_iron-ore-mines...`` -> ``iron_ore``)."""
    text = " " + " ".join(re.split(r"[^a-z0-9]+", path.stem.lower())) + " "
    names = {c.replace("_", " "): c for c in COMMODITIES}
    names.update({a: c for a, c in COMMODITY_ALIASES.items() if len(a) > 2})
    for name in sorted(names, key=len, reverse=True):
        if f" {name} " in text:
            return names[name]
    return None


#: GEM quantity columns (thousand tonnes a year) read into the registry, newest first for ore.
GEM_PRODUCTION_COLUMNS: tuple[tuple[str, int], ...] = (
    ("production-2023-(ttpa)", 2023),
    ("production-2022-(ttpa)", 2022),
)
GEM_CAPACITY_COLUMN = "design-capacity-(ttpa)"


def _ttpa_to_mt(value: Any) -> float:
    """GEM thousand tonnes per annum -> million tonnes per year; nan for ``unknown``/empty."""
    number = _float_or_nan(value)
    return number / 1000.0 if math.isfinite(number) and number >= 0 else math.nan


def _gem_quantities(staged: _Staged, raw: pd.DataFrame, path: Path) -> list[str]:
    """Ore production (newest reported year) and design capacity from a GEM tracker, in Mt/yr.

    GEM reports a mine's output of its commodity in thousand tonnes a year; for iron ore that is
    tonnes of ore (product), which is what Climate TRACE's t CO2 / t ore factors multiply. Design
    capacity is kept in its own column and never used as production. Other trackers (e.g. copper,
    reported as metal content) are not ore tonnage: their quantities are not imported.
    """
    commodity = staged.defaults.get("commodity")
    present = [c for c, _ in GEM_PRODUCTION_COLUMNS if c in raw.columns]
    if GEM_CAPACITY_COLUMN in raw.columns:
        present.append(GEM_CAPACITY_COLUMN)
    if commodity != "iron_ore" or not present:
        return []
    ore, year, source = [], [], []
    for _, row in raw.iterrows():
        found = next(
            (
                (_ttpa_to_mt(row[c]), y, c)
                for c, y in GEM_PRODUCTION_COLUMNS
                if c in raw.columns and math.isfinite(_ttpa_to_mt(row[c]))
            ),
            None,
        )
        if found is None:
            ore.append(math.nan)
            year.append(math.nan)
            source.append("")
        else:
            ore.append(found[0])
            year.append(float(found[1]))
            source.append(
                f"Global Energy Monitor (CC BY 4.0), {path.name}, column {found[2]}: "
                "iron ore production, thousand tonnes/yr / 1000"
            )
    staged.frame["ore_mt_per_year"] = ore
    staged.frame["ore_year"] = year
    staged.frame["ore_source"] = source
    if GEM_CAPACITY_COLUMN in raw.columns:
        staged.frame["design_capacity_mt_per_year"] = [
            _ttpa_to_mt(v) for v in raw[GEM_CAPACITY_COLUMN]
        ]
    n = sum(math.isfinite(v) for v in ore)
    staged.notes.settings["ore_mt_per_year"] = (
        f"{n} mines from GEM production (2023, else 2022; ttpa / 1000); design capacity in "
        "design_capacity_mt_per_year, not used as production"
    )
    return present


def _stage_gem(path: Path, options: ImportOptions) -> _Staged:
    staged = _stage_table(path, "gem", options, GEM_COLUMNS)
    date = _DATE_IN_NAME.search(path.name)
    staged.defaults["source"] = f"Global Energy Monitor (CC BY 4.0): {path.name}"
    if date:
        staged.defaults["as_of"] = date.group(1)
    commodity = options.commodity and normalize_commodity(options.commodity)
    commodity = commodity or _infer_commodity(path)
    if commodity:
        staged.defaults["commodity"] = commodity
    if not staged.problems:
        raw = _read_table(path)
        used = _gem_quantities(staged, raw, path)
        cols = [str(c) for c in raw.columns]
        pairs = _column_pairs(cols, GEM_COLUMNS, options)[0]
        _note_not_imported(staged, cols, pairs, used)
    return staged


def _stage(path: Path, fmt: str, options: ImportOptions) -> _Staged:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format '{fmt}'; use one of: {', '.join(FORMATS)}")
    if fmt == "gem":
        return _stage_gem(path, options)
    if fmt == "csv":
        return _stage_table(path, fmt, options, {})
    return _stage_vector(path, fmt, options)


# --- building mines -----------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _column(frame: pd.DataFrame, name: str) -> list[str]:
    if name not in frame.columns:
        return [""] * len(frame)
    return [_text(v) for v in frame[name]]


def _commodity_default(staged: _Staged, options: ImportOptions) -> str | None:
    if options.commodity is None:
        found = staged.defaults.get("commodity")
        if found:
            staged.notes.settings["commodity"] = f"{found} (inferred from the file name)"
        return found
    canonical = normalize_commodity(options.commodity)
    if canonical is None:
        known = ", ".join(sorted(COMMODITIES))
        raise ConfigError(f"unknown commodity '{options.commodity}'; known: {known}")
    staged.notes.settings["commodity"] = canonical
    return canonical


def _commodities(staged: _Staged, options: ImportOptions) -> list[list[str]]:
    default = _commodity_default(staged, options)
    if "commodities" not in staged.frame.columns and default is None:
        reason = (
            "no commodities column and no commodity given; "
            "map one (--map commodities=COLUMN) or pass --commodity NAME"
        )
        staged.problems.append(Problem(None, None, "commodities", reason))
    out = []
    cells = staged.frame["commodities"] if "commodities" in staged.frame.columns else None
    for cell in cells if cells is not None else [""] * len(staged.frame):
        names = commodity_names(cell)
        canon = [normalize_commodity(n) or n for n in names]
        out.append(list(dict.fromkeys(canon)) or ([default] if default else []))
    return out


def _generated_ids(staged: _Staged, names: list[str], countries: list[str]) -> list[str]:
    ids: list[str] = []
    taken: set[str] = set()
    rows = staged.frame["source_row"].tolist()
    for row, name, country in zip(rows, names, countries, strict=True):
        base = slugify(f"{name} {country}")
        mine_id, n = base, 1
        while mine_id in taken:
            n += 1
            mine_id = f"{base}_{n}"
        if mine_id != base:
            staged.notes.add(
                "id_collisions", row, mine_id, f"'{base}' already taken by an earlier row"
            )
        taken.add(mine_id)
        ids.append(mine_id)
    return ids


def _statuses(staged: _Staged, ids: list[str]) -> tuple[list[str], list[str]]:
    original = _column(staged.frame, "status")
    status = [normalize_status(s) for s in original]
    for row, mine_id, raw, st in zip(
        staged.frame["source_row"], ids, original, status, strict=True
    ):
        if st == "unknown":
            staged.notes.add("status_unknown", row, mine_id, f"status '{raw}'")
    return status, original


def _accuracy_value(key: str) -> str:
    if key.startswith("approx"):
        return "approximate"
    return key if key in COORDINATE_ACCURACIES else "unknown"


def _accuracy(staged: _Staged, ids: list[str]) -> list[str]:
    out = []
    for row, mine_id, raw in zip(
        staged.frame["source_row"], ids, _column(staged.frame, "coordinate_accuracy"), strict=True
    ):
        key = raw.lower()
        value = _accuracy_value(key)
        if key and value == "unknown" and key != "unknown":
            staged.notes.add(
                "coordinate_accuracy_unknown", row, mine_id, f"coordinate accuracy '{raw}'"
            )
        if value == "approximate":
            staged.notes.add(
                "approximate_coordinates", row, mine_id, f"coordinate accuracy '{raw}'"
            )
        out.append(value)
    return out


def _mine_ids(staged: _Staged, names: list[str], countries: list[str]) -> list[str]:
    if "mine_id" in staged.frame.columns:
        staged.notes.settings["mine ids"] = "from the input"
        return _column(staged.frame, "mine_id")
    staged.notes.settings["mine ids"] = "generated: slug of name + country"
    return _generated_ids(staged, names, countries)


def _mines_frame(staged: _Staged, options: ImportOptions) -> pd.DataFrame:
    frame = staged.frame
    names = _column(frame, "name")
    countries = [country_iso3(c) or c for c in _column(frame, "country")]
    ids = _mine_ids(staged, names, countries)
    status, original = _statuses(staged, ids)
    source = options.source or staged.defaults.get("source") or Path(staged.source).name
    staged.notes.settings["source"] = source
    mines = pd.DataFrame(
        {
            "mine_id": ids,
            "name": names,
            "country": countries,
            "commodities": _commodities(staged, options),
            "status": status,
            "status_original": original,
            "source": source,
            "coordinate_accuracy": _accuracy(staged, ids),
        },
        index=frame.index,
    )
    keep = [c for c in frame.columns if c not in mines.columns and c not in _NOT_MINE_COLUMNS]
    return pd.concat([mines, frame[keep]], axis=1)


# --- coordinates and geometry -------------------------------------------------------------


def _drop_unplaced(staged: _Staged, mines: pd.DataFrame) -> pd.DataFrame:
    """Rows without any coordinates (or geometry) are listed under not_placed and removed."""
    if staged.geometry is not None:
        empty = [g is None or getattr(g, "is_empty", True) for g in staged.geometry]
        why = "no geometry"
    else:
        empty = [
            not _text(a) and not _text(b) for a, b in zip(mines["lat"], mines["lon"], strict=True)
        ]
        why = "no coordinates (lat/lon empty)"
    for (_, row), gone in zip(mines.iterrows(), empty, strict=True):
        if gone:
            name = row["name"] or "unnamed"
            staged.notes.add(
                "not_placed",
                int(row["source_row"]),
                row["mine_id"],
                f"{why}; '{name}' not imported",
            )
    keep = [not e for e in empty]
    if staged.geometry is not None:
        staged.geometry = [g for g, k in zip(staged.geometry, keep, strict=True) if k]
    return mines[keep].reset_index(drop=True)


def _float_or_nan(value: Any) -> float:
    try:
        return float(_text(value))
    except ValueError:
        return math.nan


def _points_from_latlon(mines: pd.DataFrame) -> list[BaseGeometry | None]:
    out: list[BaseGeometry | None] = []
    for lat_raw, lon_raw in zip(mines["lat"], mines["lon"], strict=True):
        lat, lon = _float_or_nan(lat_raw), _float_or_nan(lon_raw)
        ok = math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
        out.append(shapely.Point(lon, lat) if ok else None)
    return out


def _geodesic_circles(lons: np.ndarray, lats: np.ndarray, radius_m: float) -> np.ndarray:
    """Polygons of the points at ``radius_m`` from each centre (counter-clockwise rings)."""
    n = _CIRCLE_VERTICES
    az = np.linspace(360.0, 0.0, n, endpoint=False)
    lon2, lat2, _ = _GEOD.fwd(
        np.repeat(lons, n),
        np.repeat(lats, n),
        np.tile(az, len(lons)),
        np.full(len(lons) * n, radius_m),
    )
    lon2 = np.asarray(lon2).reshape(-1, n)
    lat2 = np.asarray(lat2).reshape(-1, n)
    lon2 = lons[:, None] + ((lon2 - lons[:, None] + 180.0) % 360.0 - 180.0)  # no antimeridian jump
    return shapely.polygons(np.stack([lon2, lat2], axis=-1))


def _wrap_antimeridian(poly: BaseGeometry) -> BaseGeometry:
    """Split a circle crossing longitude ±180 into parts on either side (a MultiPolygon)."""
    minx, _, maxx, _ = poly.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return poly
    world = shapely.box(-180.0, -90.0, 180.0, 90.0)
    shift = -360.0 if maxx > 180.0 else 360.0
    moved = shapely.transform(poly, lambda xy: xy + np.array([shift, 0.0]))
    return shapely.union_all([poly.intersection(world), moved.intersection(world)])


def _buffer_points(geoms: list[Any], radius_m: float) -> list[Any]:
    """Points (and multipoints) -> geodesic circles of ``radius_m``; polygons unchanged."""
    out = list(geoms)
    idx = [i for i, g in enumerate(geoms) if g is not None and g.geom_type == "Point"]
    if idx:
        xy = shapely.get_coordinates([geoms[i] for i in idx])
        for i, circle in zip(idx, _geodesic_circles(xy[:, 0], xy[:, 1], radius_m), strict=True):
            out[i] = _wrap_antimeridian(circle)
    for i, g in enumerate(geoms):
        if g is not None and g.geom_type == "MultiPoint":
            xy = shapely.get_coordinates(g)
            circles = _geodesic_circles(xy[:, 0], xy[:, 1], radius_m)
            out[i] = shapely.union_all([_wrap_antimeridian(c) for c in circles])
    return out


def _is_point(g: Any) -> bool:
    return g is not None and g.geom_type in ("Point", "MultiPoint")


# --- ownership ----------------------------------------------------------------------------


def _note_ownership(staged: _Staged, row: int, mine_id: str, built: OwnershipRows) -> None:
    notes = staged.notes
    if built.owner.is_unknown:
        notes.add("unknown_owner", row, mine_id, f"owner '{built.owner.text}'")
    for name in built.owner.missing_shares:
        notes.add("owner_share_missing", row, mine_id, f"owner '{name}' has no share")
    for col, parsed in (("owner", built.owner), ("parent", built.parent)):
        for issue in parsed.issues:
            notes.add(
                "ownership_unparsed",
                row,
                mine_id,
                f"{col} fragment '{issue.fragment}': {issue.reason}",
            )
        if parsed.entries and abs(parsed.known_pct - 100) > SHARE_SUM_TOLERANCE:
            gap = max(100 - parsed.known_pct, 0)
            notes.add(
                f"{col}_shares_not_100",
                row,
                mine_id,
                f"{col} shares sum to {parsed.known_pct:g}%; {gap:g}% unknown",
            )
    if len(built.owner.entries) > 1 and not built.has_operator:
        notes.add(
            "operator_unknown",
            row,
            mine_id,
            f"{len(built.owner.entries)} owners, none named operator",
        )


def _ownership_frame(staged: _Staged, mines: pd.DataFrame, options: ImportOptions) -> pd.DataFrame:
    frame = staged.frame.set_index("source_row")
    columns = [*OWNERSHIP_COLUMNS, "level", "source_row"]
    if "owner" not in frame.columns and "parent" not in frame.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    default_as_of = options.as_of or staged.defaults.get("as_of")
    if default_as_of:
        staged.notes.settings["as_of"] = default_as_of
    rows: list[dict[str, Any]] = []
    for mine_id, row, source in zip(
        mines["mine_id"], mines["source_row"], mines["source"], strict=True
    ):
        cells = frame.loc[row]
        as_of = _text(cells.get("as_of")) or default_as_of
        built = build_ownership_rows(
            mine_id,
            cells.get("owner"),
            cells.get("parent"),
            as_of=as_of,
            source=source,
            operator=_text(cells.get("operator")) or None,
        )
        _note_ownership(staged, int(row), mine_id, built)
        rows += [{**r, "source_row": int(row)} for r in built.rows]
    return pd.DataFrame(rows, columns=columns)


# --- facade -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    staged: _Staged
    mines: gpd.GeoDataFrame
    ownership: pd.DataFrame


def _prepare(path: Path, fmt: str, options: ImportOptions) -> _Prepared:
    staged = _stage(path, fmt, options)
    if staged.problems:
        return _Prepared(staged, gpd.GeoDataFrame(), pd.DataFrame())
    mines = _mines_frame(staged, options)
    mines = _drop_unplaced(staged, mines)
    geoms = staged.geometry if staged.geometry is not None else _points_from_latlon(mines)
    if staged.geometry is not None:
        single = [g is not None and g.geom_type == "Point" for g in geoms]
        mines["lat"] = [g.y if p else math.nan for g, p in zip(geoms, single, strict=True)]
        mines["lon"] = [g.x if p else math.nan for g, p in zip(geoms, single, strict=True)]
    gdf = gpd.GeoDataFrame(
        mines, geometry=gpd.GeoSeries(geoms, index=mines.index, crs=4326), crs=4326
    )
    return _Prepared(staged, gdf, _ownership_frame(staged, gdf, options))


def _validate(prepared: _Prepared, options: ImportOptions) -> ValidationReport:
    if prepared.staged.problems:
        return ValidationReport(tuple(prepared.staged.problems))
    return validate_registry(
        prepared.mines, prepared.ownership, repair=options.repair, allow_points=True
    )


def validate_source(
    path: str | Path, fmt: str, options: ImportOptions | None = None
) -> ValidationReport:
    """Read and check an input file as :func:`import_registry` would, without needing a buffer."""
    opts = options or ImportOptions()
    return _validate(_prepare(Path(path), fmt, opts), opts)


def _final_mines(
    mines: gpd.GeoDataFrame, options: ImportOptions, notes: _Notes
) -> gpd.GeoDataFrame:
    geoms = list(mines.geometry)
    points = [_is_point(g) for g in geoms]
    if any(points):
        if options.buffer_m is None:
            raise ConfigError(
                f"{sum(points)} mines are points; give each an AOI radius with buffer_m "
                "(CLI: --buffer-m METRES, e.g. --buffer-m 2000)"
            )
        notes.settings["buffer_m"] = f"{options.buffer_m:g} (AOI radius of point mines)"
    out = mines.copy()
    out["lat"] = [_float_or_nan(v) for v in out["lat"]] if "lat" in out.columns else math.nan
    out["lon"] = [_float_or_nan(v) for v in out["lon"]] if "lon" in out.columns else math.nan
    out["aoi_radius_m"] = [options.buffer_m if p else math.nan for p in points]
    radius = options.buffer_m or 0.0
    out = out.set_geometry(gpd.GeoSeries(_buffer_points(geoms, radius), index=out.index, crs=4326))
    first = [*MINE_COLUMNS, "status_original", "lat", "lon", "aoi_radius_m"]
    rest = [c for c in out.columns if c not in first and c not in ("source_row", "geometry")]
    return out[[*first, *rest, "source_row", "geometry"]].reset_index(drop=True)


def _summary(
    prepared: _Prepared, registry: Registry, rows_read: int, report: ValidationReport
) -> ImportSummary:
    notes = prepared.staged.notes
    for r in report.repaired:
        notes.add("geometry_repaired", r.row or 0, r.mine_id, r.reason)
    return ImportSummary(
        source=prepared.staged.source,
        fmt=prepared.staged.fmt,
        rows_read=rows_read,
        rows_imported=len(registry.mines),
        ownership_rows=len(registry.ownership),
        settings=tuple(notes.settings.items()),
        entries=notes.entries(),
    )


def import_registry(
    path: str | Path, fmt: str, options: ImportOptions | None = None
) -> ImportResult:
    """Read ``path`` (format ``fmt``, one of :data:`FORMATS`) into a validated registry.

    Raises :class:`RegistryValidationError` listing every bad row (nothing is written either
    way: see :func:`write_import`), :class:`ConfigError` for bad options, :class:`RegistryError`
    for an unreadable file.
    """
    opts = options or ImportOptions()
    prepared = _prepare(Path(path), fmt, opts)
    report = _validate(prepared, opts)
    report.raise_for_problems(str(path))
    mines = report.mines if report.mines is not None else prepared.mines
    final = _final_mines(mines, opts, prepared.staged.notes)
    ownership = prepared.ownership.drop(columns=["source_row"]).reset_index(drop=True)
    registry = Registry(final, ownership)
    rows_read = len(prepared.staged.frame)
    return ImportResult(registry, _summary(prepared, registry, rows_read, report))


def write_import(result: ImportResult, folder: str | Path) -> Path:
    """Save an import's registry and ``import_report.json`` to ``folder``, atomically.

    An existing folder is replaced only when it is a registry; anything else is refused.
    """
    target = Path(folder)
    is_registry = (target / "mines.parquet").exists() or (target / "mines.geojson").exists()
    if target.exists() and any(target.iterdir()) and not is_registry:
        raise ConfigError(
            f"{target} exists and is not a registry folder; choose a new --out folder"
        )
    return save_registry(
        result.registry, target, extra={"import_report.json": result.summary.to_json()}
    )


def parse_column_map(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``["name=Mine Name", "lat=Y"]`` -> ``(("name", "Mine Name"), ("lat", "Y"))``."""
    pairs = []
    for item in items:
        target, sep, source = item.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ConfigError(f"--map takes TARGET=SOURCE (e.g. name='Mine Name'), not '{item}'")
        pairs.append((target.strip(), source.strip()))
    return tuple(pairs)
