"""Each flag raised (or not) on hand-made footprints, with the evidence it carries."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import test_esg_fixtures as fx

from geomon.esg.flags import CHECKS, Check, FlagOptions, run_checks, with_polygon_ids


def _checks(**kw: object) -> dict[tuple[str, str], Check]:
    args = {
        "mine": fx.mine(),
        "footprint": fx.footprint(),
        "coverage": fx.coverage(),
        "areas": fx.areas(),
    }
    args.update(kw)
    return {(c.period, c.check): c for c in run_checks(**args)}  # type: ignore[arg-type]


def test_one_check_per_period_and_kind() -> None:
    checks = _checks()
    assert len(checks) == len(fx.PERIODS) * len(CHECKS)
    assert all(c.status in {"flagged", "clear", "not_assessed"} for c in checks.values())


def test_natural_land_cleared_after_cutoff() -> None:
    checks = _checks()
    assert checks[("2020", "cleared_after_cutoff")].status == "clear"  # ends 2020-12-31
    c21 = checks[("2021", "cleared_after_cutoff")]
    assert (c21.status, c21.severity) == ("flagged", "high")
    assert c21.evidence["ha"] == pytest.approx(11.0, rel=0.01)
    assert c21.evidence["ha_by_baseline_cover"] == {"forest": pytest.approx(11.0, rel=0.01)}
    assert c21.evidence["polygon_ids"] == ["testmine/2021/0001"]
    assert c21.evidence["cutoff"] == "2020-12-31"
    assert checks[("2022", "cleared_after_cutoff")].status == "flagged"  # shrubland is natural
    assert checks[("2023", "cleared_after_cutoff")].status == "clear"  # cropland is not


def test_cutoff_is_configurable() -> None:
    opts = FlagOptions(cutoff=dt.date(2019, 12, 31))
    assert _checks(options=opts)[("2020", "cleared_after_cutoff")].status == "flagged"


def test_disturbance_outside_licence() -> None:
    checks = _checks()
    assert checks[("2021", "outside_licence")].status == "clear"
    c22 = checks[("2022", "outside_licence")]
    assert c22.status == "flagged"
    # the 2022 strip reaches x = 1930 m; licence edge 1700 m + 30 m tolerance -> 200 m x 1 km
    assert c22.evidence["ha_outside"] == pytest.approx(20.0, rel=0.01)
    assert c22.evidence["polygon_ids"] == ["testmine/2022/0001"]
    no_lic = _checks(mine=fx.mine(with_licence=False))
    assert no_lic[("2022", "outside_licence")].status == "not_assessed"


def test_protected_area_near_and_inside() -> None:
    near = _checks()[("2022", "protected_area")]
    assert (near.status, near.severity) == ("flagged", "medium")
    hit = near.evidence["areas"][0]
    assert (hit["area_id"], hit["kind"], hit["iucn_cat"]) == ("555", "protected_area", "II")
    assert hit["distance_m"] == pytest.approx(1070, abs=2)
    assert hit["ha_inside"] == 0
    assert [h["area_id"] for h in near.evidence["areas"]] == ["555"]  # WHS 58 km away is not near
    inside = _checks(areas=fx.areas(inside=True))[("2022", "protected_area")]
    assert (inside.status, inside.severity) == ("flagged", "high")
    assert inside.evidence["areas"][0]["ha_inside"] == pytest.approx(13.0, rel=0.01)  # 1800-1930 m
    far = _checks(options=FlagOptions(near_m=500))[("2022", "protected_area")]
    assert far.status == "clear"
    assert _checks(areas=None)[("2022", "protected_area")].status == "not_assessed"


def test_expansion_rate_against_own_history() -> None:
    checks = _checks()
    assert checks[("2021", "expansion_rate")].status == "not_assessed"  # two earlier periods
    c22 = checks[("2022", "expansion_rate")]
    assert c22.status == "flagged"
    ev = c22.evidence
    # history 10, 12, 11 ha/yr: median 11, MAD 1 -> threshold max(11 + 3 x 1.4826, 11 + 5) = 16
    assert ev["history_median_ha_per_year"] == pytest.approx(11.0, abs=0.2)
    assert ev["threshold_ha_per_year"] == pytest.approx(16.0, abs=0.2)
    assert ev["ha_per_year"] == pytest.approx(60.0 * 365.25 / 365, rel=0.01)
    assert ev["history_periods"] == ["2019", "2020", "2021"]
    assert (
        checks[("2023", "expansion_rate")].status == "clear"
    )  # the spike does not move the median
    lenient = _checks(options=FlagOptions(expansion_k=50.0, expansion_min_excess_ha_per_year=100))
    assert lenient[("2022", "expansion_rate")].status == "clear"


def test_data_gaps() -> None:
    checks = _checks()
    c23 = checks[("2023", "data_gap")]
    assert (c23.status, c23.severity) == ("flagged", "info")
    assert c23.evidence == {"clear_fraction": 0.3, "min_clear_fraction": 0.5, "n_items": 12}
    assert checks[("2022", "data_gap")].status == "clear"
    cov = fx.coverage()
    missing = _checks(coverage=cov[cov["period"] != "2020"])[("2020", "data_gap")]
    assert missing.status == "flagged" and "no imagery" in missing.message
    assert _checks(coverage=None)[("2020", "data_gap")].status == "not_assessed"


def test_polygon_ids_are_stable() -> None:
    fp = fx.footprint()
    ids = with_polygon_ids(fp)["polygon_id"].tolist()
    assert ids == with_polygon_ids(fp.sample(frac=1.0, random_state=1))["polygon_id"].tolist()
    assert len(set(ids)) == len(ids)


def test_checks_are_plain_data() -> None:
    c = _checks()[("2022", "expansion_rate")]
    assert dataclasses.asdict(c)["evidence"]["k"] == 3.0
