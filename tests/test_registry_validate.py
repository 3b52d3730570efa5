"""validate_registry / check: every contract check, with the row and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geomon.errors import RegistryValidationError
from geomon.registry import Registry, save_registry
from geomon.registry.schema import OWNERSHIP_COLUMNS
from geomon.registry.validate import (
    ValidationReport,
    check,
    country_iso3,
    validate_folder,
    validate_registry,
)

BOWTIE = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])


def _mines(**overrides: list[Any]) -> gpd.GeoDataFrame:
    data: dict[str, list[Any]] = {
        "mine_id": ["alpha", "beta", "gamma"],
        "name": ["Alpha Mine", "Beta Mine", "Gamma Mine"],
        "country": ["AUS", "CHL", "COD"],
        "commodities": [["lithium"], ["copper", "molybdenum"], ["cobalt", "copper"]],
        "status": ["operating", "construction", "operating"],
        "source": ["test"] * 3,
        "coordinate_accuracy": ["exact", "approximate", "exact"],
        "geometry": [
            shapely.box(118.0, -22.0, 118.1, -21.9),
            shapely.box(-69.1, -24.3, -69.0, -24.2),
            shapely.box(26.0, -10.6, 26.1, -10.5),
        ],
    }
    data.update(overrides)
    return gpd.GeoDataFrame(data, geometry="geometry", crs=4326)


def _ownership(rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    base = {c: None for c in OWNERSHIP_COLUMNS} | {"is_operator": False, "source": "test"}
    default = [
        {"mine_id": "alpha", "owner": "A Ltd", "share_pct": 60.0, "is_operator": True},
        {"mine_id": "alpha", "owner": "B Ltd", "share_pct": 30.0},
        {"mine_id": "beta", "owner": "C SA", "share_pct": 100.0, "as_of": "2024-11-25"},
    ]
    chosen = default if rows is None else rows
    return pd.DataFrame([base | r for r in chosen], columns=list(OWNERSHIP_COLUMNS))


def _reasons(report: ValidationReport) -> list[str]:
    return [str(p) for p in report.problems]


def _only(report: ValidationReport) -> str:
    assert len(report.problems) == 1, _reasons(report)
    return str(report.problems[0])


def test_valid_registry_passes_and_shares_below_100_are_fine() -> None:
    report = validate_registry(_mines(), _ownership())
    assert report.ok, _reasons(report)
    assert (report.n_mines, report.n_ownership) == (3, 3)
    check(_mines(), _ownership())  # does not raise


def test_self_intersecting_polygon_is_rejected_with_row_and_reason() -> None:
    mines = _mines(geometry=[BOWTIE, *_mines().geometry[1:]])
    msg = _only(validate_registry(mines, _ownership()))
    assert msg.startswith("row 1 (mine 'alpha'): invalid geometry (Self-intersection")
    assert "--repair" in msg


def test_repair_only_when_asked_keeps_polygonal_parts() -> None:
    mines = _mines(geometry=[BOWTIE, *_mines().geometry[1:]])
    report = validate_registry(mines, _ownership(), repair=True)
    assert report.ok, _reasons(report)
    (note,) = report.repaired
    assert note.row == 1 and note.mine_id == "alpha" and "make_valid" in note.reason
    assert report.mines is not None
    fixed = report.mines.geometry.iloc[0]
    assert fixed.is_valid and fixed.geom_type in ("Polygon", "MultiPolygon")
    assert fixed.area == pytest.approx(0.5)
    assert mines.geometry.iloc[0].equals(BOWTIE)  # the input is not modified


def test_latitude_out_of_range_suggests_a_swap() -> None:
    mines = _mines(geometry=[shapely.Point(45.0, 123.4), *_mines().geometry[1:]])
    mines["lat"], mines["lon"] = [123.4, -24.25, -10.55], [45.0, -69.05, 26.05]
    report = validate_registry(mines, _ownership(), allow_points=True)
    assert _only(report) == (
        "row 1 (mine 'alpha'): latitude 123.4 out of range -90..90; "
        "check the lat/lon columns are not swapped"
    )


def test_polygon_out_of_range_is_reported_from_its_bounds() -> None:
    mines = _mines(geometry=[shapely.box(10, 95, 11, 96), *_mines().geometry[1:]])
    assert "latitude 95 out of range" in _only(validate_registry(mines, _ownership()))


def test_longitude_out_of_range_and_non_numeric_coordinates() -> None:
    mines = _mines()
    mines["lat"], mines["lon"] = ["-22", "abc", "-10.5"], [200.0, -69.0, None]
    reasons = _reasons(validate_registry(mines, _ownership()))
    assert "row 1 (mine 'alpha'): longitude 200 out of range -180..180" in reasons[0]
    assert "row 2 (mine 'beta'): latitude 'abc' is not a number" in reasons[1]
    assert "row 3 (mine 'gamma'): longitude is empty" in reasons[2]


def test_missing_crs() -> None:
    mines = _mines().set_crs(None, allow_override=True)
    msg = _only(validate_registry(mines, _ownership()))
    assert "mines have no CRS" in msg and "set_crs" in msg


def test_wrong_crs_says_to_reproject() -> None:
    msg = _only(validate_registry(_mines().to_crs(3857), _ownership()))
    assert "EPSG:3857" in msg and "to_crs(4326)" in msg


def test_duplicate_ids() -> None:
    msg = _only(validate_registry(_mines(mine_id=["alpha", "beta", "alpha"]), _ownership()))
    assert msg == ("row 3 (mine 'alpha'): duplicate mine_id 'alpha' (also row 1); make ids unique")


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("share_pct", 120.0, "share_pct 120 outside 0..100"),
        ("share_pct", -5.0, "share_pct -5 outside 0..100"),
        ("share_pct", "lots", "share_pct 'lots' is not a number"),
        ("parent_share_pct", 250.0, "parent_share_pct 250 outside 0..100"),
    ],
)
def test_shares_outside_0_100(column: str, value: object, expected: str) -> None:
    rows = [{"mine_id": "alpha", "owner": "A Ltd", "parent": "P plc", column: value}]
    msg = _only(validate_registry(_mines(), _ownership(rows)))
    assert msg.startswith("ownership row 1 (mine 'alpha'): ")
    assert expected in msg


def test_owner_shares_summing_past_100() -> None:
    rows = [
        {"mine_id": "alpha", "owner": "A Ltd", "share_pct": 70.0},
        {"mine_id": "alpha", "owner": "B Ltd", "share_pct": 60.0},
    ]
    msg = _only(validate_registry(_mines(), _ownership(rows)))
    assert msg.startswith("ownership row 2 (mine 'alpha'): owner shares of the mine sum to 130%")


def test_gem_rounding_and_repeated_owner_rows_are_not_over_100() -> None:
    rows = [
        {
            "mine_id": "alpha",
            "owner": "A Ltd",
            "share_pct": 100.0,
            "parent": "P",
            "parent_share_pct": 50.05,
        },
        {
            "mine_id": "alpha",
            "owner": "A Ltd",
            "share_pct": 100.0,
            "parent": "Q",
            "parent_share_pct": 50.05,
        },
    ]
    assert validate_registry(_mines(), _ownership(rows)).ok


def test_unknown_commodity_names_the_known_ones() -> None:
    mines = _mines(commodities=[["lithium"], ["unobtainium"], ["iron"]])
    reasons = _reasons(validate_registry(mines, _ownership()))
    assert reasons[0].startswith("row 2 (mine 'beta'): unknown commodity 'unobtainium'; known: ")
    assert "lithium" in reasons[0] and "rare_earths" in reasons[0]
    assert reasons[1] == "row 3 (mine 'gamma'): commodity 'iron' is not canonical; use 'iron_ore'"


def test_missing_required_columns() -> None:
    mines = _mines().drop(columns=["country", "status"])
    reasons = _reasons(validate_registry(mines, _ownership().drop(columns=["as_of"])))
    assert "mines lack required column 'country'" in reasons[0]
    assert "mines lack required column 'status'" in reasons[1]
    assert "ownership rows lack required column 'as_of'" in reasons[2]


def test_empty_geometry_and_points_in_a_registry() -> None:
    geoms = [shapely.Polygon(), shapely.Point(-69.0, -24.0), _mines().geometry[2]]
    reasons = _reasons(validate_registry(_mines(geometry=geoms), _ownership()))
    assert reasons[0].startswith("row 1 (mine 'alpha'): empty geometry")
    assert reasons[1].startswith("row 2 (mine 'beta'): geometry is a point")
    assert validate_registry(_mines(geometry=geoms), allow_points=True).problems[0].row == 1


def test_vocabularies_and_countries() -> None:
    mines = _mines(country=["AUS", "Chile", "ZZZ"], status=["operating", "digging", "closed"])
    reasons = _reasons(validate_registry(mines, _ownership()))
    assert (
        "row 2 (mine 'beta'): country 'Chile' is not an ISO 3166-1 alpha-3 code; use 'CHL'"
        in reasons
    )
    assert any("country 'ZZZ'" in r for r in reasons)
    assert any(r.startswith("row 2 (mine 'beta'): unknown status 'digging'") for r in reasons)


def test_ownership_rows_must_name_a_registered_mine_and_an_owner() -> None:
    rows = [
        {"mine_id": "nowhere", "owner": "A Ltd", "share_pct": 10.0},
        {"mine_id": "alpha", "owner": None, "parent": None},
        {"mine_id": "alpha", "owner": "B", "as_of": "25/11/2024"},
    ]
    reasons = _reasons(validate_registry(_mines(), _ownership(rows)))
    assert reasons == [
        "ownership row 1 (mine 'nowhere'): ownership names mine 'nowhere', which is not in the registry",
        "ownership row 2 (mine 'alpha'): ownership row names neither an owner nor a parent",
        "ownership row 3 (mine 'alpha'): as_of '25/11/2024' is not an ISO date; write YYYY-MM-DD",
    ]


def test_check_raises_with_every_problem_and_a_one_line_message() -> None:
    mines = _mines(mine_id=["alpha", "beta", "beta"], commodities=[["x"], ["copper"], ["cobalt"]])
    with pytest.raises(RegistryValidationError) as info:
        check(mines, _ownership(), source="mines.csv")
    assert len(info.value.problems) == 2
    assert str(info.value).startswith("mines.csv: row 1 (mine 'alpha'): unknown commodity 'x'")
    assert str(info.value).endswith("(and 1 more)")
    assert "\n" not in str(info.value)


def test_source_row_numbers_the_messages() -> None:
    mines = _mines(mine_id=["a", "b", "b"])
    mines["source_row"] = [4, 7, 9]
    assert _only(validate_registry(mines, _ownership([]))).startswith("row 9 (mine 'b')")


def test_validate_folder_reads_a_saved_registry(tmp_path: Path) -> None:
    folder = save_registry(Registry(_mines(), _ownership()), tmp_path / "reg")
    assert validate_folder(folder).ok
    bad = _ownership([{"mine_id": "alpha", "owner": "A", "share_pct": 101.0}])
    folder = save_registry(Registry(_mines(), bad), tmp_path / "bad")
    assert "share_pct 101 outside 0..100" in _only(validate_folder(folder))


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Türkiye", "TUR"),
        ("North Korea", "PRK"),
        ("Republic of the Congo", "COG"),
        ("DRC", "COD"),
        ("Côte d'Ivoire", "CIV"),
        ("chl", "CHL"),
        ("Atlantis", None),
    ],
)
def test_country_iso3(name: str, code: str | None) -> None:
    assert country_iso3(name) == code


def test_bundled_registry_is_valid() -> None:
    from geomon.errors import RegistryError
    from geomon.registry.core import bundled_registry_dir

    try:
        folder = bundled_registry_dir()
    except RegistryError:
        pytest.skip("bundled registry (aoi/) not present yet")
    report = validate_folder(folder)
    assert report.ok, _reasons(report)
