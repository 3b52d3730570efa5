"""GEM ownership text: parsing, issues, round trip, and ownership-table rows."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomon.registry.ownership import (
    OwnershipEntry,
    build_ownership_rows,
    format_gem_ownership,
    parse_gem_ownership,
)


def _pairs(text: str) -> list[tuple[str, float | None]]:
    return [(e.name, e.share_pct) for e in parse_gem_ownership(text).entries]


def test_two_owners_with_shares() -> None:
    parsed = parse_gem_ownership("Manal SpA [79.0%]; SIDER El Hadjar SpA [21.0%]")
    assert _pairs(parsed.text) == [("Manal SpA", 79.0), ("SIDER El Hadjar SpA", 21.0)]
    assert parsed.known_pct == 100.0
    assert not parsed.issues
    assert not parsed.is_unknown


@pytest.mark.parametrize("text", ["unknown", "Unknown", "--", "", "  ", None, math.nan])
def test_unknown_markers_give_no_owner(text: object) -> None:
    parsed = parse_gem_ownership(text)
    assert parsed.is_unknown
    assert parsed.entries == ()
    assert parsed.issues == ()


def test_names_keep_commas_accents_and_parentheses() -> None:
    text = (
        "Taiyuan Iron and Steel (Group) Co., Ltd. Mining Branch [60.0%]; "
        "Société Nationale Industrielle et Minière SA [39.2%]; "
        "Ozkoyuncu Madencilik AŞ"
    )
    assert _pairs(text) == [
        ("Taiyuan Iron and Steel (Group) Co., Ltd. Mining Branch", 60.0),
        ("Société Nationale Industrielle et Minière SA", 39.2),
        ("Ozkoyuncu Madencilik AŞ", None),
    ]


@pytest.mark.parametrize(
    ("text", "share"),
    [
        ("A [50.0%]", 50.0),
        ("A [ 50.0 % ]", 50.0),
        ("A [50]", 50.0),
        ("A [50,5%]", 50.5),
        ("A [7.000000000000001%]", 7.0),
        ("A", None),
    ],
)
def test_share_spellings(text: str, share: float | None) -> None:
    parsed = parse_gem_ownership(text)
    assert _pairs(text) == [("A", share)]
    assert parsed.issues == ()


def test_inexact_share_is_kept_as_unknown_with_an_issue() -> None:
    parsed = parse_gem_ownership("Big Co [>50%]; Small Co [10.0%]")
    assert _pairs(parsed.text) == [("Big Co", None), ("Small Co", 10.0)]
    (issue,) = parsed.issues
    assert issue.fragment == "Big Co [>50%]"
    assert "'>50%' is not an exact percentage" in issue.reason
    assert parsed.missing_shares == ("Big Co",)


@pytest.mark.parametrize(
    ("text", "names", "reason"),
    [
        ("Broken Co [50%; B [50%]", ["Broken Co"], "unbalanced"),
        ("A [50%] [20%]", ["A"], "unbalanced or repeated"),
        ("[50%]", [], "share without a name"),
        ("A [50%] (indirect)", ["A"], "text after the share ignored"),
        ("A [majority]", ["A"], "'majority' is not an exact percentage"),
    ],
)
def test_unparseable_fragments_are_reported(text: str, names: list[str], reason: str) -> None:
    parsed = parse_gem_ownership(text)
    assert [e.name for e in parsed.entries] == names
    assert any(reason in i.reason for i in parsed.issues), parsed.issues


def test_explicit_unknown_share_is_not_an_owner() -> None:
    parsed = parse_gem_ownership("ArcelorMittal SA [85.0%]; unknown [15.0%]")
    assert _pairs(parsed.text) == [("ArcelorMittal SA", 85.0)]
    assert parsed.unknown_share_pct == 15.0
    assert parsed.known_pct == 85.0


def test_out_of_range_share_is_kept_for_validation() -> None:
    assert _pairs("A [150%]") == [("A", 150.0)]


# --- rows -----------------------------------------------------------------------------------


def test_single_owner_gets_its_parents_attached() -> None:
    built = build_ownership_rows(
        "mfe_boukhdra",
        "Societe des Mines de Fer de l'Est SpA [100.0%]",
        "Manal SpA [79.0%]; SIDER El Hadjar SpA [21.0%]",
        as_of="2024-11-25",
        source="GEM",
    )
    owner = "Societe des Mines de Fer de l'Est SpA"
    got = [
        (
            r["level"],
            r["owner"],
            r["share_pct"],
            r["is_operator"],
            r["parent"],
            r["parent_share_pct"],
        )
        for r in built.rows
    ]
    assert got[0] == ("owner", owner, 100.0, True, "Manal SpA", 79.0)
    assert got[1][:2] == ("parent", owner)
    assert math.isnan(got[1][2])  # the owner's share is counted once
    assert got[1][3:] == (False, "SIDER El Hadjar SpA", 21.0)
    assert {r["as_of"] for r in built.rows} == {"2024-11-25"}


def test_sole_owner_without_shares_keeps_its_parent_on_its_row() -> None:
    built = build_ownership_rows(
        "m",
        "Ministry of Metallurgical Industry (North Korea)",
        "Ministry X",
        as_of=None,
        source="s",
    )
    (row,) = built.rows
    assert row["parent"] == "Ministry X" and math.isnan(row["share_pct"])


def test_several_owners_keep_parents_as_a_separate_level() -> None:
    built = build_ownership_rows(
        "area_c",
        "BHP Minerals Pty Ltd [85.0%]; ITOCHU Minerals [8.0%]; Mitsui Iron Ore [7.0%]",
        "BHP Group Ltd [85.0%]; ITOCHU Corp [8.0%]; Mitsui & Co Ltd [7.000000000000001%]",
        as_of=None,
        source="GEM",
    )
    owners = [r for r in built.rows if r["level"] == "owner"]
    parents = [r for r in built.rows if r["level"] == "parent"]
    assert sum(r["share_pct"] for r in owners) == pytest.approx(100.0)
    assert all(r["parent"] is None for r in owners)
    assert [(r["owner"], r["parent"], r["parent_share_pct"]) for r in parents] == [
        (None, "BHP Group Ltd", 85.0),
        (None, "ITOCHU Corp", 8.0),
        (None, "Mitsui & Co Ltd", 7.0),
    ]
    assert not built.has_operator


def test_partial_sole_owner_with_parent_shares_is_not_attached() -> None:
    built = build_ownership_rows("m", "X Ltd [50%]", "P plc [50%]", as_of=None, source="s")
    assert [(r["owner"], r["parent"]) for r in built.rows] == [("X Ltd", None), (None, "P plc")]


def test_named_operator_is_marked_or_added() -> None:
    built = build_ownership_rows(
        "m", "A [60%]; B [40%]", None, as_of=None, source="s", operator="b"
    )
    assert [(r["owner"], r["is_operator"]) for r in built.rows] == [("A", False), ("B", True)]
    built = build_ownership_rows(
        "m", "A [60%]; B [40%]", None, as_of=None, source="s", operator="C"
    )
    assert [(r["owner"], r["is_operator"]) for r in built.rows][-1] == ("C", True)
    assert math.isnan(built.rows[-1]["share_pct"])


def test_unknown_owner_gives_no_rows() -> None:
    built = build_ownership_rows("m", "unknown", "--", as_of=None, source="s")
    assert built.rows == ()
    assert built.owner.is_unknown


# --- round trip -----------------------------------------------------------------------------

_name_chars = st.characters(
    blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="[];"
)
_names = (
    st.text(_name_chars, min_size=1, max_size=30)
    .map(lambda s: " ".join(s.split()))
    .filter(lambda s: s and s.lower() not in {"unknown", "--", "-", "n/a", "na", "none", "nan"})
)
_shares = st.one_of(st.none(), st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 6)))
_entries = st.lists(st.builds(OwnershipEntry, _names, _shares), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_entries)
def test_format_then_parse_round_trips(entries: list[OwnershipEntry]) -> None:
    parsed = parse_gem_ownership(format_gem_ownership(entries))
    assert parsed.entries == tuple(entries)
    assert parsed.issues == ()
