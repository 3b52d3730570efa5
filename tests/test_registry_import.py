"""Registry importers (GEM, CSV, GeoJSON, GeoPackage, GeoParquet) and the registry CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from geomon.cli import main
from geomon.errors import ConfigError, RegistryValidationError
from geomon.registry import load_registry
from geomon.registry.importers import (
    ImportOptions,
    import_registry,
    parse_column_map,
    validate_source,
    write_import,
)
from geomon.registry.schema import normalize_status
from geomon.registry.validate import validate_registry

GEM_FILE = "gem-iron-ore/giomt_iron-ore-mines_data-2024-11-25.csv"
GEM_HEADER = [
    "country/area",
    "name-(english)",
    "name-(other-language)",
    "design-capacity-(ttpa)",
    "status",
    "owner",
    "parent",
    "coordinates",
    "coordinate-accuracy",
    "subnational-unit",
    "region",
    "url",
    "start-date",
    "lat",
    "lng",
]
_GEOD = Geod(ellps="WGS84")


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _gem_row(country: str, name: str, status: str, owner: str, parent: str, **kw: str) -> list[str]:
    lat, lon = kw.get("lat", ""), kw.get("lng", "")
    coords = kw.get("coordinates", f"{lat}, {lon}" if lat else "")
    acc = kw.get("accuracy", "exact")
    return [country, name, "", "", status, owner, parent, coords, acc, "", "", "", "", lat, lon]


def _tiny_gem(folder: Path, name: str = "giomt_iron-ore-mines_data-2024-11-25.csv") -> Path:
    rows = [
        _gem_row(
            "Australia",
            "Alpha Mine",
            "operating",
            "Alpha Pty Ltd [100.0%]",
            "Alpha Group [70.0%]; Beta Corp [30.0%]",
            lat="-22.5",
            lng="118.5",
        ),
        _gem_row(
            "Brazil",
            "Beta Mine",
            "mothballed",
            "A SA [60.0%]; B SA [30.0%]",
            "--",
            lat="-20.1",
            lng="-43.9",
            accuracy="approximate",
        ),
        _gem_row("Türkiye", "Gamma Mine", "dormant-ish", "unknown", "--", coordinates="39.5, 38.1"),
        _gem_row("China", "Delta Mine", "proposed", "Big Co [>50%]", "--"),
        _gem_row(
            "Australia", "Alpha Mine", "operating", "C Ltd", "C Holdings", lat="-23", lng="119"
        ),
    ]
    return _write_csv(folder / name, GEM_HEADER, rows)


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- GEM --------------------------------------------------------------------------------------


def test_tiny_gem_file_imports_with_exact_summary(tmp_path: Path) -> None:
    result = import_registry(_tiny_gem(tmp_path), "gem", ImportOptions(buffer_m=1000))
    mines, own, summary = result.registry.mines, result.registry.ownership, result.summary
    assert mines["mine_id"].tolist() == [
        "alpha_mine_aus",
        "beta_mine_bra",
        "gamma_mine_tur",
        "alpha_mine_aus_2",
    ]
    assert mines["country"].tolist() == ["AUS", "BRA", "TUR", "AUS"]
    assert mines["status"].tolist() == ["operating", "care_and_maintenance", "unknown", "operating"]
    assert mines["status_original"].tolist()[2] == "dormant-ish"
    assert all(c == ["iron_ore"] for c in mines["commodities"])
    assert mines.loc[2, ["lat", "lon"]].tolist() == [39.5, 38.1]  # from the coordinates column
    assert (summary.rows_read, summary.rows_imported) == (5, 4)
    assert summary.items("not_placed") == (
        "row 4 (mine 'delta_mine_chn'): no coordinates (lat/lon empty); 'Delta Mine' not imported",
    )
    assert summary.items("id_collisions") == (
        "row 5 (mine 'alpha_mine_aus_2'): 'alpha_mine_aus' already taken by an earlier row",
    )
    assert summary.count("approximate_coordinates") == 1
    assert summary.items("status_unknown") == (
        "row 3 (mine 'gamma_mine_tur'): status 'dormant-ish'",
    )
    assert summary.items("unknown_owner") == ("row 3 (mine 'gamma_mine_tur'): owner 'unknown'",)
    assert summary.items("owner_shares_not_100")[0] == (
        "row 2 (mine 'beta_mine_bra'): owner shares sum to 90%; 10% unknown"
    )
    assert summary.count("owner_share_missing") == 1  # C Ltd (Delta's Big Co is not imported)
    assert summary.count("operator_unknown") == 1
    assert summary.count("ownership_unparsed") == 0  # Delta's '[>50%]' row was not placed
    settings = dict(summary.settings)
    assert settings["commodity"] == "iron_ore (inferred from the file name)"
    assert settings["as_of"] == "2024-11-25"

    alpha = own[own["mine_id"] == "alpha_mine_aus"]
    assert alpha[["owner", "share_pct", "parent", "parent_share_pct"]].values.tolist()[0] == [
        "Alpha Pty Ltd",
        100.0,
        "Alpha Group",
        70.0,
    ]
    assert alpha["is_operator"].tolist() == [True, False]
    beta = own[own["mine_id"] == "beta_mine_bra"]
    assert beta["share_pct"].sum() == 90.0 and not beta["is_operator"].any()
    assert set(own["as_of"]) == {"2024-11-25"}
    assert "gamma_mine_tur" not in set(own["mine_id"])


def test_gem_aoi_is_a_geodesic_circle_of_the_buffer(tmp_path: Path) -> None:
    result = import_registry(_tiny_gem(tmp_path), "gem", ImportOptions(buffer_m=2000))
    geom = result.registry.mines.geometry.iloc[0]
    area = abs(_GEOD.geometry_area_perimeter(geom)[0])
    assert area == pytest.approx(math.pi * 2000**2, rel=0.005)
    assert geom.centroid.distance(shapely.Point(118.5, -22.5)) < 1e-4
    assert result.registry.mines["aoi_radius_m"].tolist() == [2000.0] * 4


def test_gem_partial_owner_share_rows_stay_valid(tmp_path: Path) -> None:
    rows = [
        _gem_row("Chile", "X Mine", "operating", "X SA [50%]", "P plc [50%]", lat="-24", lng="-69")
    ]
    path = _write_csv(tmp_path / "gcmt_copper-mines_2024-01-01.csv", GEM_HEADER, rows)
    own = import_registry(path, "gem", ImportOptions(buffer_m=500)).registry.ownership
    assert own[["owner", "parent"]].fillna("").values.tolist() == [["X SA", ""], ["", "P plc"]]


def test_gem_commodity_must_be_known(tmp_path: Path) -> None:
    path = _tiny_gem(tmp_path, "tracker_2024-11-25.csv")
    with pytest.raises(RegistryValidationError, match="no commodities column"):
        import_registry(path, "gem", ImportOptions(buffer_m=1000))
    result = import_registry(path, "gem", ImportOptions(buffer_m=1000, commodity="Copper"))
    assert all(c == ["copper"] for c in result.registry.mines["commodities"])
    with pytest.raises(ConfigError, match="unknown commodity 'mithril'; known: "):
        import_registry(path, "gem", ImportOptions(buffer_m=1000, commodity="mithril"))


def test_points_need_an_explicit_buffer(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"4 mines are points; .*--buffer-m"):
        import_registry(_tiny_gem(tmp_path), "gem", ImportOptions())
    assert validate_source(_tiny_gem(tmp_path), "gem").ok  # validation needs no buffer
    with pytest.raises(ConfigError, match="positive number of metres"):
        ImportOptions(buffer_m=-5)


def test_real_gem_tracker_imports_all_890_rows(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / GEM_FILE
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    result = import_registry(path, "gem", ImportOptions(buffer_m=2000))
    summary, reg = result.summary, result.registry

    assert summary.rows_read == len(raw) == 890
    assert summary.rows_imported + summary.count("not_placed") == summary.rows_read
    assert summary.rows_imported == len(reg) == 890  # every GEM row has coordinates
    assert reg.mines["mine_id"].is_unique
    assert (
        summary.count("approximate_coordinates")
        == (raw["coordinate-accuracy"] == "approximate").sum()
    )
    assert summary.count("unknown_owner") == (raw["owner"].str.lower() == "unknown").sum() == 19
    unknown_status = sum(normalize_status(s) == "unknown" for s in raw["status"])
    assert summary.count("status_unknown") == unknown_status
    assert (reg.mines["status"] == "unknown").sum() == unknown_status
    assert summary.count("ownership_unparsed") == 0
    assert summary.count("owner_shares_not_100") > 0 and summary.count("parent_shares_not_100") > 0
    assert summary.ownership_rows == len(reg.ownership)
    assert set(reg.ownership["mine_id"]) <= set(reg.mines["mine_id"])
    assert reg.mines["country"].str.fullmatch(r"[A-Z]{3}").all()
    assert reg.mines.geometry.is_valid.all()
    assert set(reg.mines.geom_type) == {"Polygon"}
    assert validate_registry(reg.mines, reg.ownership).ok

    folder = write_import(result, tmp_path / "gem")
    report = json.loads((folder / "import_report.json").read_text(encoding="utf-8"))
    assert report["rows_imported"] == 890
    assert report["problems"]["unknown_owner"]["count"] == 19
    assert len(report["problems"]["approximate_coordinates"]["items"]) == summary.count(
        "approximate_coordinates"
    )
    loaded = load_registry(folder)
    assert len(loaded) == 890 and len(loaded.ownership) == len(reg.ownership)
    assert "... " in summary.to_text() and "imported 890 of 890 rows" in summary.to_text()


# --- generic CSV and vector files ------------------------------------------------------------


def test_generic_csv_with_a_column_map(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "mines.csv",
        ["Code", "Mine Name", "Nation", "Mineral", "Y", "X", "Stage", "Owners"],
        [
            [
                "GB-1",
                "Greenbushes",
                "Australia",
                "Lithium; spodumene",
                "-33.86",
                "116.06",
                "active",
                "Talison [100%]",
            ],
            [
                "KM-2",
                "Kamoto",
                "COD",
                "copper, cobalt",
                "-10.72",
                "25.40",
                "Producing",
                "KCC [75%]; Gecamines [25%]",
            ],
        ],
    )
    column_map = parse_column_map(
        [
            "name=Mine Name",
            "country=Nation",
            "commodity=Mineral",
            "lat=Y",
            "lon=X",
            "status=Stage",
            "owner=Owners",
        ]
    )
    options = ImportOptions(buffer_m=3000, column_map=column_map, id_column="Code")
    reg = import_registry(path, "csv", options).registry
    assert reg.ids == ["GB-1", "KM-2"]
    assert reg.mines["country"].tolist() == ["AUS", "COD"]
    assert reg.mines["commodities"].tolist() == [["lithium"], ["copper", "cobalt"]]
    assert reg.mines["status"].tolist() == ["operating", "operating"]
    assert reg.mines["coordinate_accuracy"].tolist() == ["unknown", "unknown"]
    assert reg.owners("KM-2")["share_pct"].tolist() == [75.0, 25.0]


def test_generic_csv_finds_latitude_longitude_columns(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "m.csv",
        ["name", "country", "commodities", "Latitude", "Longitude"],
        [["Escondida", "Chile", "copper", "-24.27", "-69.07"]],
    )
    reg = import_registry(path, "csv", ImportOptions(buffer_m=5000)).registry
    assert reg.ids == ["escondida_chl"] and len(reg.ownership) == 0
    assert reg.mines.loc[0, "lat"] == -24.27


def test_mapping_to_a_missing_column_is_reported(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "m.csv", ["name", "country", "lat", "lon"], [["A", "CHL", "1", "2"]]
    )
    options = ImportOptions(buffer_m=10, column_map=(("commodities", "Mineral"),))
    with pytest.raises(RegistryValidationError, match=r"column 'Mineral' .* is not in the file"):
        import_registry(path, "csv", options)


def _vector_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["Point Mine", "Pit Polygon"],
            "country": ["CHL", "Australia"],
            "commodities": ["copper", "lithium"],
            "status": ["operating", "construction"],
        },
        geometry=[shapely.Point(-69.07, -24.27), shapely.box(118.0, -21.1, 118.05, -21.05)],
        crs=4326,
    )


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "parquet"])
def test_vector_formats_buffer_points_and_keep_polygons(tmp_path: Path, fmt: str) -> None:
    gdf = _vector_frame()
    path = tmp_path / f"mines.{fmt}"
    if fmt == "parquet":
        gdf.to_parquet(path)
    elif fmt == "gpkg":
        gdf.to_crs(3857).to_file(path)  # reprojected back on import
    else:
        gdf.to_file(path)
    result = import_registry(path, fmt, ImportOptions(buffer_m=1500))
    mines = result.registry.mines
    assert mines.crs.to_epsg() == 4326
    assert mines["country"].tolist() == ["CHL", "AUS"]
    assert mines.geom_type.tolist() == ["Polygon", "Polygon"]
    assert abs(_GEOD.geometry_area_perimeter(mines.geometry[0])[0]) == pytest.approx(
        math.pi * 1500**2, rel=0.005
    )
    assert mines.geometry[1].equals_exact(shapely.box(118.0, -21.1, 118.05, -21.05), 1e-6)
    assert mines["aoi_radius_m"].iloc[0] == 1500 and math.isnan(mines["aoi_radius_m"].iloc[1])
    if fmt == "gpkg":
        assert "reprojected from EPSG:3857" in dict(result.summary.settings)["crs"]


def test_polygons_only_need_no_buffer(tmp_path: Path) -> None:
    gdf = _vector_frame().iloc[[1]]
    gdf.to_file(tmp_path / "p.geojson")
    assert len(import_registry(tmp_path / "p.geojson", "geojson").registry) == 1


def test_missing_crs_is_an_error_with_a_fix_unless_given(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning):
        _vector_frame().set_crs(None, allow_override=True).to_file(path)
    with pytest.raises(RegistryValidationError, match=r"nocrs.gpkg has no CRS; pass --crs"):
        import_registry(path, "gpkg", ImportOptions(buffer_m=100))
    result = import_registry(path, "gpkg", ImportOptions(buffer_m=100, crs="EPSG:4326"))
    assert len(result.registry) == 2


def test_antimeridian_points_split_into_valid_parts(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "fiji.csv",
        ["name", "country", "commodities", "lat", "lon"],
        [["Edge", "Fiji", "gold", "-17.0", "179.999"]],
    )
    geom = import_registry(path, "csv", ImportOptions(buffer_m=2000)).registry.mines.geometry[0]
    assert geom.geom_type == "MultiPolygon" and geom.is_valid
    assert geom.bounds[0] >= -180 and geom.bounds[2] <= 180


def test_write_import_refuses_to_replace_a_non_registry_folder(tmp_path: Path) -> None:
    result = import_registry(_tiny_gem(tmp_path), "gem", ImportOptions(buffer_m=1000))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.txt").write_text("precious")
    with pytest.raises(ConfigError, match="not a registry folder"):
        write_import(result, tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.txt").read_text() == "precious"
    write_import(result, tmp_path / "reg")
    write_import(result, tmp_path / "reg")  # a registry is replaced
    assert len(load_registry(tmp_path / "reg")) == 4


# --- rejections: row, reason, and nothing written ----------------------------------------------

_CSV_HEADER = ["mine_id", "name", "country", "commodities", "lat", "lon", "owner"]


def _csv_case(tmp_path: Path, rows: list[list[str]]) -> tuple[Path, list[str]]:
    return _write_csv(tmp_path / "in.csv", _CSV_HEADER, rows), ["--format", "csv"]


def _bad_input(tmp_path: Path, case: str) -> tuple[Path, list[str]]:
    ok = ["ok", "Ok Mine", "CHL", "copper", "-24", "-69", "A [100%]"]
    if case == "lat_out_of_range":
        return _csv_case(tmp_path, [ok, ["far", "Far", "CHL", "copper", "-124", "-169", ""]])
    if case == "swapped":
        return _csv_case(tmp_path, [ok, ["swap", "Swap", "AUS", "lithium", "118.5", "-22.5", ""]])
    if case == "duplicate_ids":
        return _csv_case(tmp_path, [ok, ["ok", "Other", "PER", "copper", "-15", "-72", ""]])
    if case == "share":
        return _csv_case(tmp_path, [ok, ["big", "Big", "PER", "copper", "-15", "-72", "A [150%]"]])
    if case == "commodity":
        return _csv_case(tmp_path, [ok, ["odd", "Odd", "PER", "unobtainium", "-15", "-72", ""]])
    gdf = _vector_frame()
    if case == "bowtie":
        gdf.loc[1, "geometry"] = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
        gdf.to_file(tmp_path / "in.geojson")
        return tmp_path / "in.geojson", []
    with pytest.warns(UserWarning):
        gdf.set_crs(None, allow_override=True).to_file(tmp_path / "in.gpkg")
    return tmp_path / "in.gpkg", []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "lat_out_of_range",
            "row 2 (mine 'far'): latitude -124 out of range -90..90; check the coordinates are in degrees",
        ),
        (
            "swapped",
            "row 2 (mine 'swap'): latitude 118.5 out of range -90..90; check the lat/lon columns are not swapped",
        ),
        (
            "duplicate_ids",
            "row 2 (mine 'ok'): duplicate mine_id 'ok' (also row 1); make ids unique",
        ),
        ("share", "row 2 (mine 'big'): share_pct 150 outside 0..100"),
        ("commodity", "row 2 (mine 'odd'): unknown commodity 'unobtainium'; known: "),
        ("bowtie", "row 2 (mine 'pit_polygon_aus'): invalid geometry (Self-intersection"),
        ("missing_crs", "in.gpkg has no CRS; pass --crs"),
    ],
)
def test_cli_import_rejects_bad_input_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    path, fmt = _bad_input(src, case)
    before = _tree(tmp_path)
    out = tmp_path / "out"
    code = main(["registry", "import", str(path), *fmt, "--out", str(out), "--buffer-m", "1000"])
    captured = capsys.readouterr()
    assert code == 2
    assert expected in captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "nothing was written" in err[0]
    assert not out.exists()
    assert _tree(tmp_path) == before


def test_cli_repair_on_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _bad_input(tmp_path, "bowtie")
    out = tmp_path / "out"
    code = main(
        ["registry", "import", str(path), "--out", str(out), "--buffer-m", "1000", "--repair"]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "1 invalid geometries repaired on request" in text
    assert "row 2 (mine 'pit_polygon_aus'): repaired invalid geometry (Self-intersection" in text
    reg = load_registry(out)
    assert reg.mines.geometry.is_valid.all()
    assert (
        json.loads((out / "import_report.json").read_text())["problems"]["geometry_repaired"][
            "count"
        ]
        == 1
    )


def test_cli_import_and_validate_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gem = _tiny_gem(tmp_path)
    out = tmp_path / "reg"
    assert (
        main(
            [
                "registry",
                "import",
                str(gem),
                "--format",
                "gem",
                "--out",
                str(out),
                "--buffer-m",
                "800",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "imported 4 of 5 rows" in text and "row 4 (mine 'delta_mine_chn')" in text
    assert sorted(p.name for p in out.iterdir()) == [
        "import_report.json",
        "mines.parquet",
        "ownership.csv",
    ]
    assert main(["registry", "validate", str(out)]) == 0
    assert capsys.readouterr().out.startswith("OK: 4 mines, ")
    assert main(["registry", "validate", str(gem), "--format", "gem"]) == 0
    assert main(["registry", "list", "--registry", str(out)]) == 0
    assert "4 of 4 mines" in capsys.readouterr().out


def test_cli_validate_lists_problems_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, fmt = _bad_input(tmp_path, "swapped")
    code = main(["registry", "validate", str(path), *fmt])
    captured = capsys.readouterr()
    assert code == 2
    assert "row 2 (mine 'swap'): latitude 118.5" in captured.out
    assert captured.err.startswith("error: ") and len(captured.err.strip().splitlines()) == 1


def test_cli_bad_options_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gem = _tiny_gem(tmp_path)
    assert (
        main(["registry", "import", str(gem), "--out", str(tmp_path / "o"), "--buffer-m", "5"]) == 2
    )
    assert "pass --format" in capsys.readouterr().err
    code = main(
        [
            "registry",
            "import",
            str(gem),
            "--format",
            "gem",
            "--out",
            str(tmp_path / "o"),
            "--map",
            "oops",
        ]
    )
    assert code == 2
    assert "TARGET=SOURCE" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
