"""Registry review gaps: list-valued commodities, ecozones.csv, implausible CRS, hemispheres,
GEM columns not imported and GEM production as ore tonnage."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geomon.impacts._tables import FactorTables
from geomon.impacts.operational import operational_columns
from geomon.registry import load_registry
from geomon.registry.core import bundled_registry_dir
from geomon.registry.importers import ImportOptions, import_registry, validate_source
from geomon.registry.report import format_latlon, format_mine
from geomon.registry.validate import validate_folder

AOI = Path(__file__).resolve().parents[1] / "aoi"


def test_bundled_mines_geojson_validates_as_an_input_file() -> None:
    report = validate_source(AOI / "mines.geojson", "geojson")
    assert report.ok, [str(p) for p in report.problems]
    assert report.n_mines == 31


def test_geoparquet_with_list_commodities_imports(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {
            "name": ["A", "B"],
            "country": ["CHL", "AUS"],
            "commodities": [["copper", "molybdenum"], ["Rare Earths"]],
            "status": ["operating", "operating"],
        },
        geometry=[shapely.box(-69.1, -24.3, -69.0, -24.2), shapely.box(118, -21.1, 118.05, -21)],
        crs=4326,
    )
    path = tmp_path / "m.parquet"
    gdf.to_parquet(path)
    mines = import_registry(path, "parquet").registry.mines
    assert [list(c) for c in mines["commodities"]] == [["copper", "molybdenum"], ["rare_earths"]]


def _copy_aoi(tmp_path: Path) -> Path:
    folder = tmp_path / "reg"
    shutil.copytree(bundled_registry_dir(), folder)
    return folder


def _rewrite_ecozones(folder: Path, drop: str | None = None, bogus: str | None = None) -> None:
    path = folder / "ecozones.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    out = [r for r in rows if r["mine_id"] != drop]
    for r in out:
        if r["mine_id"] == bogus:
            r["ecozone"] = "tropical_bogus"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(out)


def test_validate_folder_checks_ecozones(tmp_path: Path) -> None:
    folder = _copy_aoi(tmp_path)
    assert validate_folder(folder).ok
    _rewrite_ecozones(folder, drop="kamoto", bogus="bikita")
    problems = [str(p) for p in validate_folder(folder).problems]
    assert len(problems) == 2, problems
    assert any(
        "ecozones.csv row" in p and "'bikita'" in p and "unknown ecozone 'tropical_bogus'" in p
        for p in problems
    )
    assert any("no row for mine 'kamoto'" in p and "add a row" in p for p in problems)


def test_degrees_declared_as_utm_are_rejected(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["A"], "country": ["CHL"], "commodities": ["copper"], "status": ["operating"]},
        geometry=[shapely.Point(-69.07, -24.27)],
        crs=32719,
    )
    gdf.to_file(tmp_path / "deg.gpkg")
    report = validate_source(tmp_path / "deg.gpkg", "gpkg", ImportOptions(buffer_m=1000))
    (problem,) = [str(p) for p in report.problems]
    assert "EPSG:32719" in problem and "look like degrees" in problem and "EPSG:4326" in problem


def test_points_outside_the_crs_area_of_use_are_rejected(tmp_path: Path) -> None:
    ok = gpd.GeoSeries([shapely.Point(-69.07, -24.27)], crs=4326).to_crs(32719).iloc[0]
    gdf = gpd.GeoDataFrame(
        {
            "name": ["A", "B"],
            "country": ["CHL", "CHL"],
            "commodities": ["copper", "copper"],
            "status": ["operating", "operating"],
        },
        geometry=[ok, shapely.Point(2_000_000, 9_000_000)],
        crs=32719,
    )
    gdf.to_file(tmp_path / "far.gpkg")
    report = validate_source(tmp_path / "far.gpkg", "gpkg", ImportOptions(buffer_m=1000))
    (problem,) = [str(p) for p in report.problems]
    assert problem.startswith("row 2:") and "outside the area of use of EPSG:32719" in problem


def test_show_prints_hemispheres() -> None:
    assert format_latlon(-10.715, 25.39) == "10.71500 S, 25.39000 E"
    assert format_latlon(35.2, -115.6, 2) == "35.20 N, 115.60 W"
    text = format_mine(load_registry(), "kamoto")
    assert "S, " in text and "-10.7" not in text


def _gem_file(folder: Path) -> Path:
    header = [
        "country/area", "name-(english)", "design-capacity-(ttpa)", "status", "owner", "parent",
        "coordinate-accuracy", "region", "production-2023-(ttpa)", "production-2022-(ttpa)",
        "total-reserves-(proven-and-probable", "scaling_cap", "lat", "lng",
    ]  # fmt: skip
    rows = [
        ["Australia", "Alpha Mine", "3000", "operating", "A [100%]", "--", "exact", "Oceania",
         "1900", "unknown", "140111", "3000", "-22.5", "118.5"],
        ["Brazil", "Beta Mine", "1000", "operating", "B [100%]", "--", "exact", "Americas",
         "unknown", "800", "", "1000", "-20.1", "-43.9"],
        ["India", "Gamma Mine", "500", "operating", "C [100%]", "--", "exact", "Asia",
         "unknown", "", "", "500", "15.0", "74.0"],
    ]  # fmt: skip
    path = folder / "giomt_iron-ore-mines_data-2024-11-25.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_gem_lists_columns_not_imported_and_reads_production_as_ore(tmp_path: Path) -> None:
    result = import_registry(_gem_file(tmp_path), "gem", ImportOptions(buffer_m=1000))
    settings = dict(result.summary.settings)
    assert settings["not imported"] == "total-reserves-(proven-and-probable, scaling_cap"
    assert "not imported: total-reserves" in result.summary.to_text()
    mines = result.registry.mines.set_index("mine_id")
    assert mines.loc["alpha_mine_aus", "ore_mt_per_year"] == pytest.approx(1.9)
    assert mines.loc["alpha_mine_aus", "ore_year"] == 2023
    assert "production-2023-(ttpa)" in mines.loc["alpha_mine_aus", "ore_source"]
    assert mines.loc["beta_mine_bra", "ore_mt_per_year"] == pytest.approx(0.8)
    assert mines.loc["beta_mine_bra", "ore_year"] == 2022
    assert mines["ore_mt_per_year"].isna().tolist() == [False, False, True]
    assert mines.loc["gamma_mine_ind", "design_capacity_mt_per_year"] == pytest.approx(0.5)
    assert mines.loc["alpha_mine_aus", "gem_region"] == "Oceania"
    assert "continent" not in mines.columns  # GEM's region is not the IPCC continent

    tables = FactorTables.load()
    row = mines.loc["alpha_mine_aus"].to_dict()
    values, notes = operational_columns(row, 1.0, tables)
    assert values["op_co2e_t"] == pytest.approx(1.9e6 * 0.0060)  # REFERENCE.md: Australia mean
    assert "2023" in notes[0] and "Global Energy Monitor" in notes[0]
    values, notes = operational_columns(mines.loc["beta_mine_bra"].to_dict(), 1.0, tables)
    assert values["op_co2e_t"] != values["op_co2e_t"]  # nan: no factor for Brazil
    assert "not estimated" in notes[0] and "BRA" in notes[0]


def test_real_gem_file_imports_production(shared_data: Path) -> None:
    path = shared_data / "gem-iron-ore/giomt_iron-ore-mines_data-2024-11-25.csv"
    result = import_registry(path, "gem", ImportOptions(buffer_m=2000))
    settings = dict(result.summary.settings)
    assert settings["not imported"] == (
        "total-reserves-(proven-and-probable, total-resource-(inferred, scaling_cap"
    )
    mines = result.registry.mines
    assert mines["ore_mt_per_year"].notna().sum() == 362
    assert set(mines["ore_year"].dropna()) == {2022.0, 2023.0}
