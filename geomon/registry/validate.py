"""Validation of a mine registry and its ownership table: every problem, with its row and reason.

:func:`validate_registry` checks a mines GeoDataFrame and an ownership DataFrame against the data
contract (ARCHITECTURE.md, "Data contracts") and returns a :class:`ValidationReport` listing every
problem; :func:`check` raises :class:`~geomon.errors.RegistryValidationError` when there is one.
Importers validate before anything is written, so a failed validation writes nothing.

Rows are numbered from 1 in table order, or by the ``source_row`` column when an importer put one
there (the record number in the imported file, header not counted), so that a message points at
the line to fix: ``row 12 (mine 'foo'): latitude 123.4 out of range -90..90; ...``.

Checks: required columns; CRS present and EPSG:4326; mine ids present and unique; names; ISO 3166-1
alpha-3 countries; known commodities, statuses and coordinate accuracies; latitude/longitude
numeric and in range (with a hint when they look swapped); geometry present, of a supported type
and valid (invalid geometry is repaired only on request: ``shapely.make_valid``, keeping the
polygonal parts, and the repair is reported); ownership rows naming a registered mine, an owner or
a parent, shares numeric within 0..100, owner and parent shares of a mine not summing past 100,
``as_of`` an ISO date.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geomon.errors import RegistryValidationError
from geomon.registry.schema import (
    COMMODITIES,
    COORDINATE_ACCURACIES,
    MINE_COLUMNS,
    OWNERSHIP_COLUMNS,
    STATUSES,
    normalize_commodity,
)

__all__ = [
    "SHARE_SUM_TOLERANCE",
    "Problem",
    "ValidationReport",
    "check",
    "country_iso3",
    "validate_ecozones",
    "validate_folder",
    "validate_registry",
]

#: Percentage points by which shares of one mine may sum past 100 (GEM rounds: 100.1 is seen).
SHARE_SUM_TOLERANCE = 0.5
_POLYGONAL = frozenset({"Polygon", "MultiPolygon"})
_POINTS = frozenset({"Point", "MultiPoint"})
_ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class Problem:
    """One problem of one row (or of the whole table when ``row`` is ``None``)."""

    row: int | None
    """Row number (1-based, or the source file's record number); ``None`` for the whole table."""
    mine_id: str | None
    """The mine concerned, when known."""
    column: str | None
    """The column concerned, when one is."""
    reason: str
    """What is wrong and how to fix it."""
    table: str = ""
    """``""`` for mines (or source rows), ``"ownership"`` for ownership-table rows."""

    def __str__(self) -> str:
        mine = f"mine '{self.mine_id}'" if self.mine_id else ""
        if self.row is None:
            prefix = mine or self.table
            return f"{prefix}: {self.reason}" if prefix else self.reason
        where = f"{self.table} row {self.row}" if self.table else f"row {self.row}"
        return f"{where} ({mine}): {self.reason}" if mine else f"{where}: {self.reason}"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of a validation: problems, repairs, and the (possibly repaired) mines."""

    problems: tuple[Problem, ...]
    """Every problem found; empty when the registry is valid."""
    repaired: tuple[Problem, ...] = ()
    """Geometries repaired on request, one note per row."""
    n_mines: int = 0
    """Rows of the mines table checked."""
    n_ownership: int = 0
    """Rows of the ownership table checked."""
    mines: gpd.GeoDataFrame | None = field(default=None, compare=False, repr=False)
    """The mines checked, with repaired geometries when ``repair=True``."""

    @property
    def ok(self) -> bool:
        """True when there is no problem."""
        return not self.problems

    def raise_for_problems(self, source: str) -> None:
        """Raise :class:`RegistryValidationError` listing the problems, if there are any."""
        if self.problems:
            raise RegistryValidationError(source, [str(p) for p in self.problems])


# --- helpers ------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return bool(value is pd.NA or value is pd.NaT)


def _row_numbers(frame: pd.DataFrame) -> list[int]:
    if "source_row" in frame.columns:
        nums = pd.to_numeric(frame["source_row"], errors="coerce")
        return [int(n) if not math.isnan(n) else i + 1 for i, n in enumerate(nums)]
    return list(range(1, len(frame) + 1))


def _ids(frame: pd.DataFrame) -> list[str | None]:
    if "mine_id" not in frame.columns:
        return [None] * len(frame)
    return [None if _missing(v) else str(v) for v in frame["mine_id"]]


def _number(value: Any) -> float | None:
    """``value`` as a float, ``nan`` when missing, ``None`` when not a number."""
    if _missing(value):
        return math.nan
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None


def _fmt(value: float) -> str:
    return f"{value:g}"


# --- mines --------------------------------------------------------------------------------


class _Rows:
    """Row numbers and ids of a table, and a list to add problems to."""

    def __init__(self, frame: pd.DataFrame, table: str = "") -> None:
        self.numbers = _row_numbers(frame)
        self.ids = _ids(frame)
        self.table = table
        self.problems: list[Problem] = []

    def add(self, i: int | None, column: str | None, reason: str) -> None:
        row = None if i is None else self.numbers[i]
        mine = None if i is None else self.ids[i]
        self.problems.append(Problem(row, mine, column, reason, self.table))


def _check_columns(frame: pd.DataFrame, required: Iterable[str], rows: _Rows, what: str) -> bool:
    missing = [c for c in required if c not in frame.columns]
    for col in missing:
        rows.add(None, col, f"{what} lack required column '{col}'; add it or map it with --map")
    return not missing


def _check_crs(mines: gpd.GeoDataFrame, rows: _Rows) -> bool:
    if mines.crs is None:
        rows.add(
            None,
            "geometry",
            "mines have no CRS; set it (GeoDataFrame.set_crs, or --crs EPSG:4326 on import) "
            "or export the file with its CRS",
        )
        return False
    if mines.crs.to_epsg() != 4326:
        rows.add(
            None, "geometry", f"mines are in {mines.crs.to_string()}; reproject with to_crs(4326)"
        )
        return False
    return True


def _check_ids(mines: pd.DataFrame, rows: _Rows) -> None:
    first: dict[str, int] = {}
    for i, mine_id in enumerate(rows.ids):
        if mine_id is None:
            rows.add(i, "mine_id", "mine_id is empty; give every mine a unique id")
        elif mine_id in first:
            other = rows.numbers[first[mine_id]]
            rows.add(
                i, "mine_id", f"duplicate mine_id '{mine_id}' (also row {other}); make ids unique"
            )
        else:
            first[mine_id] = i


def _check_vocab(mines: pd.DataFrame, rows: _Rows) -> None:
    for i, (name, country, status, acc) in enumerate(
        zip(
            mines["name"],
            mines["country"],
            mines["status"],
            mines["coordinate_accuracy"],
            strict=True,
        )
    ):
        if _missing(name):
            rows.add(i, "name", "name is empty; every mine needs a name")
        if _missing(country):
            rows.add(i, "country", "country is empty; give an ISO 3166-1 alpha-3 code")
        elif str(country) not in _ISO3:
            hint = country_iso3(str(country))
            fix = f"use '{hint}'" if hint else "use an ISO 3166-1 alpha-3 code such as 'AUS'"
            rows.add(i, "country", f"country '{country}' is not an ISO 3166-1 alpha-3 code; {fix}")
        if _missing(status) or str(status) not in STATUSES:
            known = ", ".join(sorted(STATUSES))
            rows.add(i, "status", f"unknown status '{status}'; known: {known}")
        if _missing(acc) or str(acc) not in COORDINATE_ACCURACIES:
            known = ", ".join(sorted(COORDINATE_ACCURACIES))
            rows.add(
                i, "coordinate_accuracy", f"unknown coordinate_accuracy '{acc}'; known: {known}"
            )


def commodity_names(value: Any) -> list[str]:
    """Names of a commodities cell: a list/array, a JSON array in text, or ``;``/``,``/``|`` text."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return [str(v).strip() for v in parsed if str(v).strip()]
        return [v.strip() for v in re.split(r"[;,|]", text) if v.strip()]
    if isinstance(value, (list, tuple)) or hasattr(value, "__array__"):
        return [n for v in list(value) for n in commodity_names(v)]
    if _missing(value):
        return []
    return [str(value)]


def _check_commodities(mines: pd.DataFrame, rows: _Rows) -> None:
    known = ", ".join(sorted(COMMODITIES))
    for i, value in enumerate(mines["commodities"]):
        names = commodity_names(value)
        if not names:
            rows.add(i, "commodities", f"no commodity; give at least one of: {known}")
        for name in names:
            if name in COMMODITIES:
                continue
            canonical = normalize_commodity(name)
            if canonical:
                reason = f"commodity '{name}' is not canonical; use '{canonical}'"
            else:
                reason = f"unknown commodity '{name}'; known: {known}"
            rows.add(i, "commodities", reason)


def _coordinate_reason(lat: float, lon: float) -> str | None:
    """Why ``(lat, lon)`` cannot be a place on Earth, or ``None``."""
    if abs(lat) > 90:
        swap = (
            "; check the lat/lon columns are not swapped"
            if abs(lon) <= 90
            else "; check the coordinates are in degrees (EPSG:4326)"
        )
        return f"latitude {_fmt(lat)} out of range -90..90{swap}"
    if abs(lon) > 180:
        return f"longitude {_fmt(lon)} out of range -180..180; check the coordinates are in degrees"
    return None


def _check_latlon_columns(mines: pd.DataFrame, rows: _Rows, bad: set[int]) -> None:
    if "lat" not in mines.columns or "lon" not in mines.columns:
        return
    for i, (lat_raw, lon_raw) in enumerate(zip(mines["lat"], mines["lon"], strict=True)):
        lat, lon = _number(lat_raw), _number(lon_raw)
        for value, raw, col, what in (
            (lat, lat_raw, "lat", "latitude"),
            (lon, lon_raw, "lon", "longitude"),
        ):
            if value is None:
                rows.add(i, col, f"{what} '{raw}' is not a number; write decimal degrees")
                bad.add(i)
        if lat is None or lon is None:
            continue
        if math.isnan(lat) != math.isnan(lon):
            col, what = ("lat", "latitude") if math.isnan(lat) else ("lon", "longitude")
            rows.add(i, col, f"{what} is empty; give both latitude and longitude")
            bad.add(i)
        if math.isnan(lat) or math.isnan(lon):
            continue
        reason = _coordinate_reason(lat, lon)
        if reason:
            rows.add(i, "lat" if abs(lat) > 90 else "lon", reason)
            bad.add(i)


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry | None:
    """The polygonal part of ``geom`` (a Polygon or MultiPolygon), or ``None``."""
    if geom.geom_type in _POLYGONAL:
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in _POLYGONAL]
    polys = [p for g in parts for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _repair(geom: BaseGeometry) -> BaseGeometry | None:
    return _polygonal_part(shapely.make_valid(geom))


def _geometry_reason(geom: Any, allow_points: bool) -> str | None:
    if geom is None or (isinstance(geom, float) and math.isnan(geom)) or geom.is_empty:
        return "empty geometry; give an AOI polygon, or coordinates and a buffer radius"
    allowed = _POLYGONAL | _POINTS if allow_points else _POLYGONAL
    if geom.geom_type not in allowed:
        if geom.geom_type in _POINTS:
            return "geometry is a point; registry AOIs are polygons: import it with --buffer-m"
        return f"geometry type {geom.geom_type} is not supported; give a polygon or a point"
    minx, miny, maxx, maxy = geom.bounds
    for lat, lon in ((miny, minx), (maxy, maxx)):
        reason = _coordinate_reason(lat, lon)
        if reason:
            return reason
    return None


def _check_geometries(
    mines: gpd.GeoDataFrame, rows: _Rows, bad: set[int], repair: bool, allow_points: bool
) -> tuple[list[Any], list[Problem]]:
    geoms, repaired = list(mines.geometry), []
    for i, geom in enumerate(geoms):
        if i in bad:
            continue
        reason = _geometry_reason(geom, allow_points)
        if reason:
            rows.add(i, "geometry", reason)
            continue
        if geom.is_valid:
            continue
        why = shapely.is_valid_reason(geom)
        if not repair:
            rows.add(
                i, "geometry", f"invalid geometry ({why}); fix it or pass --repair (repair=True)"
            )
            continue
        fixed = _repair(geom)
        if fixed is None or fixed.is_empty:
            rows.add(i, "geometry", f"invalid geometry ({why}) has no area left after repair")
            continue
        geoms[i] = fixed
        note = f"repaired invalid geometry ({why}) with make_valid, kept polygonal parts"
        repaired.append(Problem(rows.numbers[i], rows.ids[i], "geometry", note))
    return geoms, repaired


def _validate_mines(
    mines: gpd.GeoDataFrame, repair: bool, allow_points: bool
) -> tuple[list[Problem], list[Problem], gpd.GeoDataFrame]:
    rows = _Rows(mines)
    if not isinstance(mines, gpd.GeoDataFrame) or "geometry" not in mines.columns:
        rows.add(None, "geometry", "mines have no geometry column; give AOI polygons or points")
        return rows.problems, [], mines
    columns_ok = _check_columns(mines, MINE_COLUMNS, rows, "mines")
    crs_ok = _check_crs(mines, rows)
    if "mine_id" in mines.columns:
        _check_ids(mines, rows)
    if columns_ok:
        _check_vocab(mines, rows)
        _check_commodities(mines, rows)
    bad: set[int] = set()
    _check_latlon_columns(mines, rows, bad)
    out = mines
    repaired: list[Problem] = []
    if crs_ok:
        geoms, repaired = _check_geometries(mines, rows, bad, repair, allow_points)
        if repaired:
            out = mines.copy()
            out[mines.geometry.name] = gpd.GeoSeries(geoms, index=mines.index, crs=mines.crs)
    problems = sorted(rows.problems, key=lambda p: -1 if p.row is None else p.row)
    return problems, repaired, out


# --- ownership ----------------------------------------------------------------------------


def _check_share(rows: _Rows, i: int, column: str, value: Any) -> float:
    number = _number(value)
    if number is None:
        rows.add(i, column, f"{column} '{value}' is not a number; write a percentage 0..100")
        return math.nan
    if not math.isnan(number) and not 0 <= number <= 100:
        rows.add(i, column, f"{column} {_fmt(number)} outside 0..100; write a percentage")
        return math.nan
    return number


def _check_ownership_row(rows: _Rows, i: int, row: pd.Series, mine_ids: set[str] | None) -> None:
    mine_id = rows.ids[i]
    if mine_id is None:
        rows.add(i, "mine_id", "ownership row names no mine; fill mine_id")
    elif mine_ids is not None and mine_id not in mine_ids:
        rows.add(i, "mine_id", f"ownership names mine '{mine_id}', which is not in the registry")
    if _missing(row["owner"]) and _missing(row["parent"]):
        rows.add(i, "owner", "ownership row names neither an owner nor a parent")
    as_of = row["as_of"]
    if not _missing(as_of) and not _ISO_DATE.match(str(as_of).strip()):
        rows.add(i, "as_of", f"as_of '{as_of}' is not an ISO date; write YYYY-MM-DD")


def _over_100(rows: _Rows, frame: pd.DataFrame, keys: list[str], column: str, what: str) -> None:
    """Report each ``keys`` group of ``frame`` whose distinct shares sum past 100."""
    frame = frame[frame["name"].map(lambda v: not _missing(v)) & frame["pct"].notna()]
    frame = frame.drop_duplicates([*keys, "name", "pct"])
    for _, group in frame.groupby(keys, sort=False):
        total = round(float(group["pct"].sum()), 4)
        if total > 100 + SHARE_SUM_TOLERANCE:
            reason = f"{what} sum to {_fmt(total)}%, more than 100; check the shares"
            rows.add(int(group["i"].iloc[-1]), column, reason)


def _check_sums(own: pd.DataFrame, rows: _Rows, shares: list[float], parents: list[float]) -> None:
    """Owners' shares of a mine, and parents' shares of one owner, must not sum past 100.

    Parent rows that name no owner hold shares of the mine; they are summed together.
    """
    owners = own["owner"].map(lambda v: "" if _missing(v) else str(v)).tolist()
    base = {"mine_id": [m or "" for m in rows.ids], "i": range(len(own))}
    by_owner = pd.DataFrame({**base, "name": owners, "pct": shares})
    _over_100(rows, by_owner, ["mine_id"], "share_pct", "owner shares of the mine")
    by_parent = pd.DataFrame(
        {**base, "owner": owners, "name": own["parent"].tolist(), "pct": parents}
    )
    what = "parent shares of one owner (or, with no owner, of the mine)"
    _over_100(rows, by_parent, ["mine_id", "owner"], "parent_share_pct", what)


def _validate_ownership(ownership: pd.DataFrame, mine_ids: set[str] | None) -> list[Problem]:
    rows = _Rows(ownership, table="ownership" if "source_row" not in ownership.columns else "")
    if not _check_columns(ownership, OWNERSHIP_COLUMNS, rows, "ownership rows"):
        return rows.problems
    shares, parents = [], []
    for i, (_, row) in enumerate(ownership.iterrows()):
        _check_ownership_row(rows, i, row, mine_ids)
        shares.append(_check_share(rows, i, "share_pct", row["share_pct"]))
        parents.append(_check_share(rows, i, "parent_share_pct", row["parent_share_pct"]))
    _check_sums(ownership, rows, shares, parents)
    return sorted(rows.problems, key=lambda p: -1 if p.row is None else p.row)


# --- facade -------------------------------------------------------------------------------


def validate_registry(
    mines: gpd.GeoDataFrame,
    ownership: pd.DataFrame | None = None,
    *,
    repair: bool = False,
    allow_points: bool = False,
) -> ValidationReport:
    """Check ``mines`` and ``ownership`` against the registry contract; see the module doc.

    ``repair=True`` repairs invalid geometries (the report's ``mines`` carries them);
    ``allow_points=True`` accepts point geometries (importers check before buffering).
    """
    problems, repaired, checked = _validate_mines(mines, repair, allow_points)
    own = ownership if ownership is not None else pd.DataFrame(columns=list(OWNERSHIP_COLUMNS))
    ids = set(i for i in _ids(mines) if i is not None) if "mine_id" in mines.columns else None
    problems += _validate_ownership(own, ids)
    return ValidationReport(tuple(problems), tuple(repaired), len(mines), len(own), checked)


def check(
    mines: gpd.GeoDataFrame,
    ownership: pd.DataFrame | None = None,
    *,
    source: str = "registry",
    repair: bool = False,
    allow_points: bool = False,
) -> ValidationReport:
    """:func:`validate_registry`, raising :class:`RegistryValidationError` on any problem."""
    report = validate_registry(mines, ownership, repair=repair, allow_points=allow_points)
    report.raise_for_problems(source)
    return report


def _read_folder(folder: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    from geomon.errors import RegistryError
    from geomon.registry.core import _as_list

    parquet, geojson = folder / "mines.parquet", folder / "mines.geojson"
    if not parquet.exists() and not geojson.exists():
        raise RegistryError(
            f"{folder}: no mines.geojson or mines.parquet; is this a registry folder?"
        )
    mines = gpd.read_parquet(parquet) if parquet.exists() else gpd.read_file(geojson)
    if "commodities" in mines.columns:
        mines["commodities"] = mines["commodities"].map(_as_list)
    own_path = folder / "ownership.csv"
    own = (
        pd.read_csv(own_path, dtype={"mine_id": str, "owner": str, "parent": str, "as_of": str})
        if own_path.exists()
        else pd.DataFrame(columns=list(OWNERSHIP_COLUMNS))
    )
    return mines, own


_ECOZONE_FIX = "add a row (mine_id, ecozone, continent, source) to ecozones.csv"


def _known_ecozones() -> tuple[list[str], list[str]]:
    """Ecozones the IPCC carbon tables know, and the continents they are keyed by."""
    from geomon.impacts._tables import FactorTables

    tables = FactorTables.load()
    continents = sorted({str(c) for c in tables["ipcc2019_agb_forest"].frame["continent"]})
    return tables.ecozones(), continents


def validate_ecozones(table: pd.DataFrame, mine_ids: list[str]) -> list[Problem]:
    """Check an ``ecozones.csv`` table: one row per registered mine, each with an ecozone and a
    continent the IPCC carbon tables (geomon/impacts/tables) know. Rows are numbered as the
    file's lines after the header."""
    from geomon.impacts._validate import normalize_continent, normalize_ecozone

    table_name = "ecozones.csv"
    problems: list[Problem] = []
    for col in ("mine_id", "ecozone", "continent"):
        if col not in table.columns:
            reason = f"{table_name} lacks column '{col}'; its columns are mine_id, ecozone, continent, source"
            problems.append(Problem(None, None, col, reason, table_name))
    if problems:
        return problems
    zones, continents = _known_ecozones()
    seen: dict[str, int] = {}
    registered = set(mine_ids)
    for i, row in enumerate(table.itertuples(index=False), start=1):
        mine_id = None if _missing(row.mine_id) else str(row.mine_id).strip()

        def add(column: str, reason: str, mine: str | None = mine_id, n: int = i) -> None:
            problems.append(Problem(n, mine, column, reason, table_name))

        if mine_id is None:
            add("mine_id", "row names no mine; fill mine_id")
            continue
        if mine_id in seen:
            add("mine_id", f"second row for mine '{mine_id}' (also row {seen[mine_id]}); keep one")
        seen.setdefault(mine_id, i)
        if mine_id not in registered:
            add("mine_id", f"mine '{mine_id}' is not in the registry; fix the id or drop the row")
        eco, cont = row.ecozone, row.continent
        if _missing(eco):
            add("ecozone", f"no ecozone; give one of: {', '.join(zones)}")
        elif normalize_ecozone(str(eco)) not in zones:
            add(
                "ecozone",
                f"unknown ecozone '{eco}'; the IPCC carbon tables know: {', '.join(zones)} "
                "(FAO Global Ecological Zones; spaces or underscores)",
            )
        if _missing(cont):
            add("continent", f"no continent; give one of: {', '.join(continents)}")
        elif normalize_continent(str(cont)) not in continents:
            add("continent", f"unknown continent '{cont}'; use one of: {', '.join(continents)}")
    for mine_id in mine_ids:
        if mine_id not in seen:
            reason = f"{table_name} has no row for mine '{mine_id}'; {_ECOZONE_FIX}"
            problems.append(Problem(None, mine_id, "ecozone", reason, table_name))
    return problems


def validate_folder(folder: str | Path, *, repair: bool = False) -> ValidationReport:
    """Validate a registry folder (``mines.parquet`` or ``mines.geojson``, ``ownership.csv``,
    and ``ecozones.csv`` when the folder has one)."""
    path = Path(folder)
    mines, own = _read_folder(path)
    report = validate_registry(mines, own, repair=repair)
    eco_path = path / "ecozones.csv"
    if not eco_path.exists():
        return report
    table = pd.read_csv(eco_path, dtype=str, keep_default_na=False)
    ids = [i for i in _ids(mines) if i is not None] if "mine_id" in mines.columns else []
    extra = validate_ecozones(table, ids)
    return replace(report, problems=report.problems + tuple(extra))


# --- countries ----------------------------------------------------------------------------


def _country_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def country_iso3(name: str) -> str | None:
    """ISO 3166-1 alpha-3 code of a country name or code (``"Türkiye"`` -> ``"TUR"``), or ``None``."""
    text = name.strip()
    if text.upper() in _ISO3:
        return text.upper()
    return _COUNTRY_INDEX.get(_country_key(text))


#: ISO 3166-1 alpha-3 codes and English short names (plus XKX, Kosovo, a user-assigned code
#: most datasets use), then common alternative names. One ``CODE Name`` per line.
_COUNTRY_TABLE = """
AFG Afghanistan|ALA Aland Islands|ALB Albania|DZA Algeria|ASM American Samoa|AND Andorra
AGO Angola|AIA Anguilla|ATA Antarctica|ATG Antigua and Barbuda|ARG Argentina|ARM Armenia
ABW Aruba|AUS Australia|AUT Austria|AZE Azerbaijan|BHS Bahamas|BHR Bahrain|BGD Bangladesh
BRB Barbados|BLR Belarus|BEL Belgium|BLZ Belize|BEN Benin|BMU Bermuda|BTN Bhutan|BOL Bolivia
BES Bonaire, Sint Eustatius and Saba|BIH Bosnia and Herzegovina|BWA Botswana|BVT Bouvet Island
BRA Brazil|IOT British Indian Ocean Territory|BRN Brunei Darussalam|BGR Bulgaria
BFA Burkina Faso|BDI Burundi|CPV Cabo Verde|KHM Cambodia|CMR Cameroon|CAN Canada
CYM Cayman Islands|CAF Central African Republic|TCD Chad|CHL Chile|CHN China
CXR Christmas Island|CCK Cocos (Keeling) Islands|COL Colombia|COM Comoros
COD Democratic Republic of the Congo|COG Republic of the Congo|COK Cook Islands|CRI Costa Rica
CIV Cote d'Ivoire|HRV Croatia|CUB Cuba|CUW Curacao|CYP Cyprus|CZE Czechia|DNK Denmark
DJI Djibouti|DMA Dominica|DOM Dominican Republic|ECU Ecuador|EGY Egypt|SLV El Salvador
GNQ Equatorial Guinea|ERI Eritrea|EST Estonia|SWZ Eswatini|ETH Ethiopia|FLK Falkland Islands
FRO Faroe Islands|FJI Fiji|FIN Finland|FRA France|GUF French Guiana|PYF French Polynesia
ATF French Southern Territories|GAB Gabon|GMB Gambia|GEO Georgia|DEU Germany|GHA Ghana
GIB Gibraltar|GRC Greece|GRL Greenland|GRD Grenada|GLP Guadeloupe|GUM Guam|GTM Guatemala
GGY Guernsey|GIN Guinea|GNB Guinea-Bissau|GUY Guyana|HTI Haiti
HMD Heard Island and McDonald Islands|VAT Holy See|HND Honduras|HKG Hong Kong|HUN Hungary
ISL Iceland|IND India|IDN Indonesia|IRN Iran|IRQ Iraq|IRL Ireland|IMN Isle of Man|ISR Israel
ITA Italy|JAM Jamaica|JPN Japan|JEY Jersey|JOR Jordan|KAZ Kazakhstan|KEN Kenya|KIR Kiribati
PRK North Korea|KOR South Korea|KWT Kuwait|KGZ Kyrgyzstan|LAO Laos|LVA Latvia|LBN Lebanon
LSO Lesotho|LBR Liberia|LBY Libya|LIE Liechtenstein|LTU Lithuania|LUX Luxembourg|MAC Macao
MDG Madagascar|MWI Malawi|MYS Malaysia|MDV Maldives|MLI Mali|MLT Malta|MHL Marshall Islands
MTQ Martinique|MRT Mauritania|MUS Mauritius|MYT Mayotte|MEX Mexico|FSM Micronesia|MDA Moldova
MCO Monaco|MNG Mongolia|MNE Montenegro|MSR Montserrat|MAR Morocco|MOZ Mozambique|MMR Myanmar
NAM Namibia|NRU Nauru|NPL Nepal|NLD Netherlands|NCL New Caledonia|NZL New Zealand
NIC Nicaragua|NER Niger|NGA Nigeria|NIU Niue|NFK Norfolk Island|MKD North Macedonia
MNP Northern Mariana Islands|NOR Norway|OMN Oman|PAK Pakistan|PLW Palau|PSE Palestine
PAN Panama|PNG Papua New Guinea|PRY Paraguay|PER Peru|PHL Philippines|PCN Pitcairn|POL Poland
PRT Portugal|PRI Puerto Rico|QAT Qatar|REU Reunion|ROU Romania|RUS Russia|RWA Rwanda
BLM Saint Barthelemy|SHN Saint Helena, Ascension and Tristan da Cunha|KNA Saint Kitts and Nevis
LCA Saint Lucia|MAF Saint Martin|SPM Saint Pierre and Miquelon
VCT Saint Vincent and the Grenadines|WSM Samoa|SMR San Marino|STP Sao Tome and Principe
SAU Saudi Arabia|SEN Senegal|SRB Serbia|SYC Seychelles|SLE Sierra Leone|SGP Singapore
SXM Sint Maarten|SVK Slovakia|SVN Slovenia|SLB Solomon Islands|SOM Somalia|ZAF South Africa
SGS South Georgia and the South Sandwich Islands|SSD South Sudan|ESP Spain|LKA Sri Lanka
SDN Sudan|SUR Suriname|SJM Svalbard and Jan Mayen|SWE Sweden|CHE Switzerland|SYR Syria
TWN Taiwan|TJK Tajikistan|TZA Tanzania|THA Thailand|TLS Timor-Leste|TGO Togo|TKL Tokelau
TON Tonga|TTO Trinidad and Tobago|TUN Tunisia|TUR Turkiye|TKM Turkmenistan
TCA Turks and Caicos Islands|TUV Tuvalu|UGA Uganda|UKR Ukraine|ARE United Arab Emirates
GBR United Kingdom|USA United States|UMI United States Minor Outlying Islands|URY Uruguay
UZB Uzbekistan|VUT Vanuatu|VEN Venezuela|VNM Vietnam|VGB British Virgin Islands
VIR United States Virgin Islands|WLF Wallis and Futuna|ESH Western Sahara|YEM Yemen|ZMB Zambia
ZWE Zimbabwe|XKX Kosovo
TUR Turkey|RUS Russian Federation|IRN Iran, Islamic Republic of|PRK DPRK|PRK Korea, North
PRK Democratic People's Republic of Korea|PRK Korea, Democratic People's Republic of
KOR Republic of Korea|KOR Korea, Republic of|KOR Korea, South|LAO Lao PDR
LAO Lao People's Democratic Republic|VNM Viet Nam|BOL Bolivia (Plurinational State of)
VEN Venezuela (Bolivarian Republic of)|COG Congo|COG Congo-Brazzaville|COG Congo (Brazzaville)
COD DR Congo|COD DRC|COD Congo, Democratic Republic of the|COD Congo (Kinshasa)
COD Congo-Kinshasa|CIV Ivory Coast|CZE Czech Republic|SWZ Swaziland|CPV Cape Verde
MKD Macedonia|MMR Burma|TLS East Timor|GBR UK|GBR Great Britain|USA USA|USA US
USA United States of America|ARE UAE|TZA United Republic of Tanzania
TZA Tanzania, United Republic of|SYR Syrian Arab Republic|MDA Republic of Moldova
BRN Brunei|VAT Vatican|FSM Micronesia (Federated States of)|PSE State of Palestine
TWN Taiwan, Province of China|HKG Hong Kong SAR|MAC Macau|GMB The Gambia|BHS The Bahamas
KGZ Kyrgyz Republic|SVK Slovak Republic|NLD The Netherlands|BIH Bosnia-Herzegovina
"""


def _parse_country_table(text: str) -> Iterator[tuple[str, str]]:
    for item in text.replace("\n", "|").split("|"):
        item = item.strip()
        if item:
            code, name = item.split(" ", 1)
            yield code, name


_ISO3: frozenset[str] = frozenset(code for code, _ in _parse_country_table(_COUNTRY_TABLE))
_COUNTRY_INDEX: dict[str, str] = {
    _country_key(name): code for code, name in _parse_country_table(_COUNTRY_TABLE)
}
