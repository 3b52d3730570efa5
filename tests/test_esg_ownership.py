"""Equity-share and operational-control roll-ups, checked against hand-computed figures."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from geomon.errors import UnknownCompanyError
from geomon.esg import (
    UNATTRIBUTED,
    attribute,
    company_mines,
    company_share,
    ownership_chain,
)

COLUMNS = [
    "mine_id",
    "owner",
    "share_pct",
    "is_operator",
    "parent",
    "parent_share_pct",
    "as_of",
    "source",
]


def _table(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.fixture
def ownership() -> pd.DataFrame:
    # wb: Strand Minerals 80 % (operator), held 57 % by Tsingshan and 30 % by Eramet (13 % of Strand
    # unrecorded); Antam 10 %; 10 % of the mine unrecorded. m2: Eramet 100 %, GEM text parents.
    return _table(
        [
            ("wb", "Strand Minerals", 80.0, True, "Tsingshan", 57.0, "2024-06-30", "GEM"),
            ("wb", "Strand Minerals", 80.0, True, "Eramet", 30.0, "2024-06-30", "GEM"),
            ("wb", "PT Antam", 10.0, False, None, None, "2024-06-30", "GEM"),
            ("m2", "Eramet", 100.0, True, "--", None, "2024-06-30", "GEM"),
            (
                "m3",
                "Holdco",
                60.0,
                False,
                "Eramet [40.0%]; Someone Else [60.0%]",
                None,
                "2024",
                "GEM",
            ),
            ("m3", "Otherco", None, True, None, None, "2024", "GEM"),
        ]
    )


def _by_holder(attrs: tuple[object, ...]) -> dict[str, float]:
    return {a.holder: a.pct for a in attrs}  # type: ignore[attr-defined]


def test_two_level_chain_with_unknown_remainder(ownership: pd.DataFrame) -> None:
    chain = ownership_chain(ownership, "wb")
    eq = _by_holder(chain.equity)
    # Tsingshan 80 x 57 % = 45.6; Eramet 80 x 30 % = 24.0; Antam 10;
    # unattributed = 80 x 13 % (Strand's unrecorded holders) + 10 (mine's unrecorded owners) = 20.4
    assert eq == pytest.approx(
        {"Tsingshan": 45.6, "Eramet": 24.0, "PT Antam": 10.0, UNATTRIBUTED: 20.4}
    )
    assert sum(eq.values()) == pytest.approx(100.0)
    assert "Strand Minerals" not in eq  # an intermediate holder is not counted twice
    remainder = next(a for a in chain.equity if a.holder == UNATTRIBUTED)
    assert "holders of Strand Minerals not recorded: 80.00% x 13.00%" in remainder.basis
    assert "owners not recorded: 100% - 90.00%" in remainder.basis
    tsingshan = next(s for s in chain.stakes if s.holder == "Tsingshan")
    assert (tsingshan.level, tsingshan.via, tsingshan.basis) == (
        2,
        "Strand Minerals",
        "80.00% x 57.00%",
    )


def test_figures_attributed_through_the_chain(ownership: pd.DataFrame) -> None:
    chain = ownership_chain(ownership, "wb")
    figures = pd.DataFrame(
        {"period": ["2023"], "disturbed_ha": [1000.0], "co2e_t_mean": [math.nan]}
    )
    parts = {a.holder: attribute(figures, a) for a in chain.equity}
    assert parts["Tsingshan"]["disturbed_ha"].iloc[0] == pytest.approx(456.0)
    assert parts["Eramet"]["disturbed_ha"].iloc[0] == pytest.approx(240.0)
    assert parts["PT Antam"]["disturbed_ha"].iloc[0] == pytest.approx(100.0)
    assert parts[UNATTRIBUTED]["disturbed_ha"].iloc[0] == pytest.approx(204.0)
    assert math.isnan(parts["Tsingshan"]["co2e_t_mean"].iloc[0])  # not estimated stays so
    assert parts["Tsingshan"]["period"].iloc[0] == "2023"


def test_operational_control_to_operator_and_majority_parent(ownership: pd.DataFrame) -> None:
    chain = ownership_chain(ownership, "wb")
    assert _by_holder(chain.operational) == {"Strand Minerals": 100.0}
    assert _by_holder(chain.controllers) == {"Tsingshan": 100.0}  # 57 % > 50 %
    assert ownership_chain(ownership, "wb", control_threshold_pct=None).controllers == ()
    equity, control = company_share(chain, "eramet")
    assert equity is not None and equity.pct == pytest.approx(24.0)
    assert control is None


def test_gem_text_parents_and_unrecorded_owner_share(ownership: pd.DataFrame) -> None:
    chain = ownership_chain(ownership, "m3")
    eq = _by_holder(chain.equity)
    # Holdco 60 % held 40/60 by Eramet / Someone Else; Otherco's share is not recorded.
    assert eq == pytest.approx({"Eramet": 24.0, "Someone Else": 36.0, UNATTRIBUTED: 40.0})
    assert "owners with unrecorded shares (Otherco)" in chain.equity[-1].basis
    equity, control = company_share(chain, "Otherco")
    assert equity is not None and math.isnan(equity.pct)
    assert control is not None and control.pct == 100.0


def test_no_records_and_several_operators_leave_everything_unattributed() -> None:
    empty = ownership_chain(_table([]), "x")
    assert _by_holder(empty.equity) == {UNATTRIBUTED: 100.0}
    assert _by_holder(empty.operational) == {UNATTRIBUTED: 100.0}
    two = _table(
        [
            ("y", "A", 50.0, True, None, None, "2024", "s"),
            ("y", "B", 50.0, True, None, None, "2024", "s"),
        ]
    )
    chain = ownership_chain(two, "y")
    assert _by_holder(chain.operational) == {UNATTRIBUTED: 100.0}
    assert any("2 operators" in n for n in chain.notes)


def test_excess_shares_are_noted_not_rescaled() -> None:
    rows = _table(
        [
            ("z", "A", 70.0, True, None, None, "2024", "s"),
            ("z", "B", 40.0, False, None, None, "2024", "s"),
        ]
    )
    chain = ownership_chain(rows, "z")
    assert _by_holder(chain.equity) == {"A": 70.0, "B": 40.0}
    assert any("110.00%" in n for n in chain.notes)


def test_company_mines_at_any_level(ownership: pd.DataFrame) -> None:
    assert company_mines(ownership, "Eramet") == ["m2", "m3", "wb"]
    with pytest.raises(UnknownCompanyError, match="did you mean Eramet"):
        company_mines(ownership, "Erammet")


def _gem(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*COLUMNS, "level"])


def test_registry_gem_layout_parent_shares_are_of_the_mine() -> None:
    # The registry's GEM layout: level="parent" rows give the parent's share OF THE MINE.
    # Strand 90 % (sole owner, operator); Tsingshan 45 % and Eramet 30 % of the mine through it.
    rows = _gem(
        [
            ("wb", "Strand", 90.0, True, None, None, "2024", "GEM", "owner"),
            ("wb", "Strand", None, False, "Tsingshan", 45.0, "2024", "GEM", "parent"),
            ("wb", "Strand", None, False, "Eramet", 30.0, "2024", "GEM", "parent"),
        ]
    )
    chain = ownership_chain(rows, "wb")
    # 100 - 45 - 30 = 25 unattributed: 10 % of the mine unrecorded + 90 % x (1 - 75/90) of Strand
    assert _by_holder(chain.equity) == pytest.approx(
        {"Tsingshan": 45.0, "Eramet": 30.0, UNATTRIBUTED: 25.0}
    )
    tsingshan = next(s for s in chain.stakes if s.holder == "Tsingshan")
    assert tsingshan.share_pct == pytest.approx(50.0)  # of Strand: 45 / 90
    assert "holders of Strand not recorded" in chain.equity[-1].basis
    assert _by_holder(chain.controllers) == {}  # 50 % of the operator is not > 50 %


def test_registry_gem_layout_joint_parents() -> None:
    rows = _gem(
        [
            ("j", "A", 60.0, False, None, None, "2024", "GEM", "owner"),
            ("j", "B", 40.0, False, None, None, "2024", "GEM", "owner"),
            ("j", None, None, False, "P", 70.0, "2024", "GEM", "parent"),
            ("j", None, None, False, "Q", 20.0, "2024", "GEM", "parent"),
        ]
    )
    chain = ownership_chain(rows, "j")
    assert _by_holder(chain.equity) == pytest.approx({"P": 70.0, "Q": 20.0, UNATTRIBUTED: 10.0})
    assert "parents recorded for 90.00% of the mine" in chain.equity[-1].basis
    assert _by_holder(chain.operational) == {UNATTRIBUTED: 100.0}
    assert company_mines(rows, "q") == ["j"]
    equity, _ = company_share(chain, "A")
    assert equity is not None and equity.pct == pytest.approx(
        60.0
    )  # direct equity is still reported
