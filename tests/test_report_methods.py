"""The methods, limits, maps caption and terms of a report, generated from the run."""

from __future__ import annotations

import html as html_lib
from pathlib import Path

import pandas as pd
import pytest
import test_report_site as ts
from pypdf import PdfReader

from geomon.report import build_site_report, write_report
from geomon.report.content import _factor_tables
from geomon.report.document import fmt_pct
from geomon.report.methods import GLOSSARY, scene_dates
from geomon.report.model_card import PER_MINE, classifier_info, parse_card
from geomon.report.site import accuracy_text

CARD = """# Model card: m1

- bands: blue, green, red, nir
- indices: ndvi, nbr (formulas in `x.py`)

## Training data

- source: demo catalog (synthetic)
- samples: 1200

## Hyper-parameters

```json
{"estimator": "sklearn.ensemble.RandomForestClassifier"}
```

## Measured accuracy

```text
m1 on demo seeds 7, year composites
class           precision    recall        F1       IoU
vegetation         0.9900    0.9800    0.9850    0.9700
bare_disturbed     0.5000    0.7000    0.5833    0.4100
overall accuracy 0.9300 (sample)
overall accuracy 0.9200 ± 0.0010 (area-weighted, 95 %)
mine                        AOI ha    new ha  truth ha    error  false ha  false/AOI
kamoto@7                   1600.00     97.00    100.00    -3.0%      1.00      0.06%
weda_bay@7                 1600.00     54.00     50.00     8.0%      0.20      0.01%
murrin_murrin@7            1600.00     50.50     50.00     1.0%      0.30      0.02%
total                     12800.00    789.84    806.94    -2.1%     43.69      0.34%
```
"""


def test_factor_tables_are_parsed_with_their_sources() -> None:
    imp = pd.DataFrame(
        {
            "factor_tables": [
                "ipcc2019_agb_forest@1.0.0; globio_msa_land_use@1.0.0",
                "globio_msa_land_use@1.0.0; no_such_table@2.0",
            ]
        }
    )
    tables = _factor_tables(imp)
    assert [(t["name"], t["version"]) for t in tables] == [
        ("globio_msa_land_use", "1.0.0"),
        ("ipcc2019_agb_forest", "1.0.0"),
        ("no_such_table", "2.0"),
    ]
    assert "IPCC" in tables[1]["source"] and tables[1]["title"]
    assert tables[2]["source"].startswith("source unknown")
    # a version the bundled table does not have is not credited with that table's source
    other = _factor_tables(pd.DataFrame({"factor_tables": ["ipcc2019_agb_forest@9.9.9"]}))
    assert other[0]["source"].startswith("source unknown")


def test_model_card_gives_summary_and_accuracy() -> None:
    card = parse_card(CARD)
    assert card["accuracy"]["overall_accuracy"] == pytest.approx(0.93)
    assert card["accuracy"]["overall_accuracy_area_weighted"] == pytest.approx(0.92)
    assert card["accuracy"]["bare_disturbed_f1"] == pytest.approx(0.5833)
    assert card["accuracy"]["new_disturbance_area_error_pct"] == pytest.approx(-2.1)
    spread = {k: card["accuracy"][k] for k in PER_MINE}
    assert spread == {"mines_evaluated": 3, "mines_within_5pct": 2,
                      "mine_error_median_abs_pct": 3.0, "mine_error_max_abs_pct": 8.0}  # fmt: skip
    # the block's own summary line (from unrounded errors) wins over the rounded rows
    summary = "mines within 5 % of the truth: 1 of 3; median |error| 3.1 %; largest false/AOI"
    lined = parse_card(CARD.replace("murrin_murrin@7", f"{summary} 0.06 %\nmurrin_murrin@7"))
    assert lined["accuracy"]["mines_within_5pct"] == 1
    assert lined["accuracy"]["mine_error_median_abs_pct"] == 3.1
    text = accuracy_text(classifier_info({"id": "m1", "card": CARD}))
    assert "per mine: 2 of 3 within 5 %, median |error| 3.0 %, largest 8.0 %" in text
    from geomon.report.methods import _accuracy_limits

    limits = _accuracy_limits(classifier_info({"id": "m1", "card": CARD}))
    assert any("-2.1 % in total" in x and "; per mine: 2 of 3 within 5 %" in x for x in limits)
    assert any("stayed the same through a period" in x for x in limits)  # demo-seed F1: stable px
    assert "perfect classes" not in text  # a card without the rules' reach lines
    # with them (geomon evaluate --footprint since stop 40) the report says what no classifier
    # could change, and how near the chain comes to what the rules can reach
    reach = (
        "the rules' reach (the truth's own classes through the same rules: a perfect "
        "classifier): 2 of 3 mines within 5 % of the truth, 1.0 ha of the truly new area beyond "
        "it (seen clear too seldom at the series end to confirm, or first seen after its onset)\n"
        "mines within 5 % of the area the rules can reach (the classifier's part): 3 of 3\n"
    )
    reached = CARD.replace("total  ", reach + "total  ")
    assert parse_card(reached)["accuracy"]["mines_within_5pct_by_the_rules"] == 2
    assert parse_card(reached)["accuracy"]["mines_within_5pct_of_the_rules_reach"] == 3
    text = accuracy_text(classifier_info({"id": "m1", "card": reached}))
    assert (
        "per mine: 2 of 3 within 5 %, median |error| 3.0 %, largest 8.0 % (with perfect classes "
        "the change rules alone put 2 of 3 within 5 %: new ground seen clear too seldom cannot "
        "be confirmed; 3 of 3 are within 5 % of what the rules can reach)"
    ) in text
    assert "mines_within_5pct_by_the_rules" not in text  # not repeated as a raw figure
    # lines for another number of mines than the block's rows are not this block's
    assert (
        "mines_within_5pct_by_the_rules"
        not in parse_card(CARD.replace("total  ", reach.replace("of 3", "of 4") + "total  "))[
            "accuracy"
        ]
    )
    assert card["evaluated_on"] == "demo seeds 7, year composites"
    assert "random forest" in card["summary"] and "1,200 labelled pixels" in card["summary"]
    assert "4 bands + 2 spectral indices" in card["summary"]
    # run values win; a raw Markdown summary is replaced by the card's
    info = classifier_info({"id": "m1", "card": CARD, "summary": "- file: `m1.gmodel`"})
    assert info["summary"] == card["summary"] and info["accuracy_source"] == "model card"
    given = classifier_info({"id": "m1", "card": CARD, "accuracy": {"overall_accuracy": 0.5}})
    assert given["accuracy"] == {"overall_accuracy": 0.5} and given["accuracy_source"] == "run"
    none = classifier_info({"id": "no-such-model"})
    assert none["accuracy"] == {} and none["summary"] == "no model card supplied"


def test_model_card_gives_the_middle_scene_figures_when_its_block_has_them() -> None:
    # geomon evaluate --demo-seeds since stop 22: a second report scores every pixel at its
    # period's middle scene; a card whose block has it gives the report those figures too
    second = (
        "\nm1 on demo seeds 7, year composites: every pixel seen clear, at its period's middle "
        "scene (as the footprint check counts it)\n"
        "class           precision    recall        F1       IoU\n"
        "vegetation         0.9800    0.9700    0.9750    0.9500\n"
        "bare_disturbed     0.4000    0.6000    0.4800    0.3158\n"
        "overall accuracy 0.9100 (sample)\n"
    )
    at = CARD.index("mine                        AOI ha")
    card_text = CARD[:at] + second + CARD[at:]
    acc = parse_card(card_text)["accuracy"]
    assert acc["bare_disturbed_f1"] == pytest.approx(0.5833)  # the first report's, as before
    assert acc["bare_disturbed_f1_middle"] == pytest.approx(0.48)
    assert acc["bare_disturbed_iou_middle"] == pytest.approx(0.3158)
    assert acc["overall_accuracy"] == pytest.approx(0.93)
    info = classifier_info({"id": "m1", "card": card_text})
    text = accuracy_text(info)
    # with both reports, every stable-pixel figure says so
    assert "overall accuracy on stable pixels 0.930; " in text
    assert "F1 by class on stable pixels: vegetation 0.985, bare_disturbed 0.583" in text
    assert "bare_disturbed F1 0.480 and IoU 0.316 with every pixel scored at its period's " in text
    assert "_middle" not in text
    from geomon.report.methods import _accuracy_limits

    limits = " ".join(_accuracy_limits(info))
    assert (
        "less well ('bare_disturbed' F1 0.583 on the stable pixels; F1 0.480 and IoU 0.316 with "
        "every pixel scored at its period's middle scene, changed ground included; model card"
    ) in limits
    # a stable row that cannot be read (nan: no stable reference of that class) is not taken
    # from the second report
    nan_row = card_text.replace(
        "bare_disturbed     0.5000    0.7000    0.5833    0.4100", "bare_disturbed nan nan nan nan"
    )
    acc = parse_card(nan_row)["accuracy"]
    assert "bare_disturbed_f1" not in acc and acc["bare_disturbed_f1_middle"] == pytest.approx(0.48)
    # a card without the second report (written before stop 22) says nothing of it
    assert "bare_disturbed_f1_middle" not in parse_card(CARD)["accuracy"]
    old = classifier_info({"id": "m1", "card": CARD})
    assert "middle scene" not in accuracy_text(old) + " ".join(_accuracy_limits(old))
    assert "stable pixels" not in accuracy_text(old)


def test_scene_dates_from_item_ids() -> None:
    ids = ["S2DEMO_x_20210102", "S2B_MSIL2A_20190615T083601_N0212", "LC08_xyz"]
    assert scene_dates(ids) == ["2019-06-15", "2021-01-02"]


def test_fmt_pct_drops_silly_zeros() -> None:
    assert fmt_pct(75.0) == "75%"
    assert fmt_pct(45.6) == "45.6%"
    assert fmt_pct(57.123) == "57.12%"
    assert fmt_pct(None) == "unknown"


@pytest.fixture(scope="module")
def weak_model_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, str]:
    res = ts._results(model={"id": "m1", "hash": "ab" * 32, "card": CARD})
    paths = write_report(build_site_report(res), tmp_path_factory.mktemp("methods"))
    content = ts._json(paths)
    html = html_lib.unescape(Path(paths["html"]).read_text(encoding="utf-8"))
    pdf = " ".join(
        " ".join((p.extract_text() or "").split()) for p in PdfReader(paths["pdf"]).pages
    )
    return content, html, pdf


def test_methods_section_is_generated_from_the_run(weak_model_report: tuple) -> None:
    c, html, pdf = weak_model_report
    m = c["methods"]
    assert m["classifier"]["accuracy"]["overall_accuracy"] == pytest.approx(0.93)
    assert any("'bare_disturbed' class is weak" in lim for lim in m["limits"])
    assert m["imagery"]["first_scene"] == "2019-06-15"
    for doc in (html, pdf):
        assert "overall accuracy 0.930" in doc
        assert "F1 by class: vegetation 0.985, bare_disturbed 0.583" in doc
        for t in m["factor_tables"]:  # each table, its version and its source
            assert t["name"] in doc and " ".join(t["source"].split())[:60] in doc
        assert "Clear sky (share of AOI)" in doc
        for p in m["imagery"]["periods"]:
            assert f"{p['start']} to {p['end']}" in doc
        assert "Terms used" in doc and "mean species abundance (GLOBIO)" in doc
    assert [g["term"] for g in m["glossary"]] == [t for t, _ in GLOSSARY]


def test_maps_caption_says_what_is_drawn_and_what_is_not(weak_model_report: tuple) -> None:
    c, html, pdf = weak_model_report
    v = c["maps"]
    assert v["crs"].startswith("EPSG:") and v["width_km"] > 0
    assert v["protected_areas_assessed"] is True
    for doc in (html, pdf):
        assert f"{v['width_km']:g} km across" in doc
        assert "north arrow shows grid north" in doc


def _status(c: dict) -> dict[tuple[str, str], dict]:
    return {(r["framework"], r["disclosure"]): r for r in c["frameworks"]}


def test_frameworks_say_what_was_not_assessed() -> None:
    from geomon.report.frameworks import frameworks

    base = build_site_report(ts._results(areas=None)).content
    rows = _status(base)
    icmm = rows[("ICMM Mining Principles", "No mining in World Heritage sites")]
    assert icmm["status"] == "not supported" and "not assessed" in icmm["missing"]
    # protected areas only (no KBA, no World Heritage layer): partly, saying which are missing
    c = dict(base)
    c["periods"] = [
        {**p, "impacts": {**p["impacts"], "ha_in_kba": None, "ha_in_world_heritage": None}}
        for p in base["periods"]
    ]
    only_pa = {
        (r["framework"], r["disclosure"]): r for r in frameworks(c, True, {"protected_area"})
    }
    gri = only_pa[("GRI 101: Biodiversity 2024", "101-5 Locations with biodiversity impacts")]
    assert gri["status"] == "partly"
    assert "Key Biodiversity Areas" in gri["missing"] and "World Heritage" in gri["missing"]
    assert only_pa[("ICMM Mining Principles", "No mining in World Heritage sites")]["status"] == (
        "not supported"
    )
    full = {
        (r["framework"], r["disclosure"]): r
        for r in frameworks(c, True, {"protected_area", "kba", "world_heritage"})
    }
    assert full[("GRI 101: Biodiversity 2024", "101-5 Locations with biodiversity impacts")][
        "status"
    ] == ("supported")
    assert full[("ICMM Mining Principles", "No mining in World Heritage sites")]["status"] == (
        "flag only"
    )


def test_partial_co2e_is_not_called_supported() -> None:
    import test_esg_fixtures as fx

    key = ("GHG Protocol (land sector)", "Land-use-change emissions of clearing")
    imp = fx.impacts()
    imp["co2e_complete"] = True
    complete = build_site_report(ts._results(impacts=imp)).content
    assert _status(complete)[key]["status"] == "supported"
    imp["co2e_complete"] = imp["co2e_t_mean"].isna() | (imp["period"] != "2021")
    c = build_site_report(ts._results(impacts=imp)).content
    assert _status(c)[key]["status"] == "partly" and "partial sums" in _status(c)[key]["missing"]
    row = next(r for r in c["periods"] if r["period"] == "2021")
    assert row["co2e_t_mean"] is not None  # a partial sum is shown, and marked in the table
    doc = " ".join(
        str(cell)
        for b in build_site_report(ts._results(impacts=imp)).document.blocks
        if hasattr(b, "rows")
        for r in b.rows
        for cell in r
    )
    assert " *" in doc


def test_partial_imagery_coverage_is_stated(tmp_path: Path) -> None:
    imagery = {"sensor": "sentinel-2-l2a", "source": "stac", "aoi_imaged_fraction": 0.25}
    res = ts._results(imagery=imagery)
    paths = write_report(build_site_report(res), tmp_path)
    content = ts._json(paths)
    assert content["methods"]["imagery"]["aoi_imaged_fraction"] == 0.25
    limit = next(lim for lim in content["methods"]["limits"] if "imagery covers 25%" in lim)
    assert "that part only" in limit
    html = html_lib.unescape(Path(paths["html"]).read_text(encoding="utf-8"))
    assert "The imagery covers 25% of the mine's AOI" in html
    full = ts._json(write_report(build_site_report(ts._results()), tmp_path / "full"))
    assert not any("imagery covers" in lim for lim in full["methods"]["limits"])


def test_pipeline_reads_the_shipped_card_through_the_one_parser():
    from geomon.classify import select_model
    from geomon.classify.features import FULL_BANDS
    from geomon.pipeline.stages import model_info

    model = select_model(FULL_BANDS)
    info = model_info(model)
    assert info["accuracy_source"] == "model card"
    assert 0 < info["accuracy"]["bare_disturbed_f1"] <= 1
    assert "`" not in info["summary"] and not info["summary"].startswith("- ")
    assert classifier_info(info)["accuracy_source"] == "model card"


def test_model_card_summary_counts_spatial_context() -> None:
    text = CARD.replace(
        "- indices:", "- spatial context: ndvi_mean5, ndti_std21 (window)\n- indices:", 1
    )
    summary = parse_card(text)["summary"]
    assert "Pixel and neighbourhood" in summary and "+ 2 spatial-context features" in summary
    text = text.replace(
        "- indices:", "- temporal statistics of the period: ndvi_max (x)\n- indices:"
    )
    assert "+ 1 temporal statistic of the period" in parse_card(text)["summary"]


def test_model_card_summary_names_two_stages() -> None:
    """A two-stage model's card (the shipped shared-band model's) is summarised with both
    networks' hidden layers; a one-stage card says nothing of stages."""
    from geomon.classify import REDUCED_FEATURES, select_model
    from geomon.pipeline.stages import model_info

    info = model_info(select_model(REDUCED_FEATURES.bands))
    assert "two stages: hidden layers (64, 32) on every pixel, (128, 64) where" in info["summary"]
    assert "stages" not in parse_card(CARD)["summary"]


def test_model_card_gives_how_much_disturbed_land_the_footprint_holds() -> None:
    """A card whose evaluation has the footprint-against-the-truth line (``geomon evaluate
    --footprint`` since stop 28) makes the report say the disturbed hectares are a lower bound,
    with the measured figures; a card without it says nothing of it."""
    from geomon.report.methods import _accuracy_limits

    line = (
        "disturbed land the footprint holds: first period 68.6 % of the truly disturbed land "
        "(precision 99.4 %), last period 83.8 % (precision 98.6 %)\n"
    )
    card_text = CARD.replace("```\n", line + "```\n").replace("```json\n" + line, "```json\n")
    acc = parse_card(card_text)["accuracy"]
    assert acc["disturbed_found_first_pct"] == pytest.approx(68.6)
    assert acc["disturbed_precision_first_pct"] == pytest.approx(99.4)
    assert acc["disturbed_found_last_pct"] == pytest.approx(83.8)
    assert acc["disturbed_precision_last_pct"] == pytest.approx(98.6)
    limits = " ".join(_accuracy_limits(classifier_info({"id": "m1", "card": card_text})))
    assert "Disturbed hectares are a lower bound" in limits
    assert "held 69 % of the disturbed land not revegetated in the first period and 84 % in the " \
        "last, at 99 % and 99 % precision" in limits  # fmt: skip
    assert "lower bound" not in " ".join(
        _accuracy_limits(classifier_info({"id": "m1", "card": CARD}))
    )


@pytest.mark.parametrize("card", sorted(Path(__file__).parent.parent.glob("models/*.md")))
def test_shipped_model_cards_give_reports_their_accuracy(card: Path) -> None:
    """Each shipped card's first evaluation block is a whole ``geomon evaluate --demo-seeds``
    report: reports read the classifier's accuracy, what it was measured on and the footprint
    check from it (a block with the footprint table alone left reports without F1)."""
    parsed = parse_card(card.read_text(encoding="utf-8"))
    acc = parsed["accuracy"]
    assert "demo seeds" in parsed["evaluated_on"]
    for key in ("overall_accuracy", "bare_disturbed_f1", "bare_disturbed_f1_middle",
                "new_disturbance_area_error_pct", *PER_MINE):  # fmt: skip
        assert isinstance(acc.get(key), int | float), key
