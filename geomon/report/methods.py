"""The methods-and-limits section and the data credits, generated from the actual run."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from geomon.report._notes import generic_note
from geomon.report.inputs import ReportOptions, SiteResults
from geomon.report.model_card import DISTURBED_LAND, classifier_info, per_mine_text

__all__ = ["GLOSSARY", "NOT_ESTIMATED_ALWAYS", "credits", "methods", "scene_dates"]

#: The terms a reader meets in a report, explained once (the "Terms used" section).
GLOSSARY = (
    ("AOI", "area of interest: the polygon around the mine that is mapped and counted"),
    (
        "disturbed / new / persisting",
        "bare ground opened by people (pits, dumps, tailings, cleared land, roads) seen in the "
        "period, with the ponds it rings (tailings and evaporation ponds) and ponds or plant "
        "that replaced other land; 'new' was first seen in this period, 'persisting' was seen "
        "disturbed earlier",
    ),
    (
        "rehabilitated",
        "land that was disturbed and is now persistently vegetated again (seen from space; not a "
        "verified restoration)",
    ),
    ("baseline", "the first period of the window: what the land was before the changes counted"),
    (
        "clear sky / data gap",
        "share of the AOI with at least one cloud-free observation in the period; below the "
        "threshold the period is flagged as a data gap and its figures are weak",
    ),
    (
        "CO2e, 90 % range",
        "tonnes of carbon dioxide released by clearing the vegetation (land-use change), with the "
        "5th to 95th percentile of a Monte Carlo over the published factor uncertainties",
    ),
    (
        "MSA, MSA·ha",
        "mean species abundance (GLOBIO): 1 = intact nature, 0.05 = built-up land; MSA·ha lost = "
        "hectares x the drop in MSA, i.e. hectares of intact nature lost equivalently",
    ),
    (
        "infrastructure halo",
        "the reduced MSA of land near the disturbance (GLOBIO distance bands), counted on top of "
        "the footprint itself",
    ),
    (
        "PA, KBA, WHS, IUCN category",
        "protected area, Key Biodiversity Area, UNESCO World Heritage site; IUCN categories Ia-VI "
        "rank protected areas from strict reserve to sustainable use",
    ),
    (
        "cut-off",
        "2020-12-31, the EU Deforestation Regulation date: natural land cleared after it is flagged",
    ),
    (
        "equity share / operational control",
        "the two GHG Protocol ways to give a site's figures to companies: by the share owned "
        "through the chain, or 100 % to the operator",
    ),
    ("not estimated", "no figure could be made (no factor or no data); never the same as zero"),
)

#: What geomon never estimates from imagery; listed in every report.
NOT_ESTIMATED_ALWAYS = (
    "scope 2 and scope 3 emissions",
    "water use and water quality",
    "species-level biodiversity (IUCN Red List species, critical habitat)",
    "off-site impacts beyond the infrastructure halo (roads, ports, smelters, induced settlement)",
    "ecosystem services",
)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def scene_dates(item_ids: list[str]) -> list[str]:
    """ISO dates of the scenes, from item ids that carry them (``..._YYYYMMDD...``), sorted."""
    dates = {
        f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
        for i in item_ids
        for m in [re.search(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)", i)]
        if m
    }
    return sorted(dates)


def _carbon_gaps(periods: list[dict[str, Any]]) -> dict[str, Any]:
    """Which periods' CO2e is a partial sum, and the ha of new disturbance with no carbon factor."""
    partial = [
        p["period"]
        for p in periods
        if p["impacts"].get("co2e_complete") is False
        and p.get("co2e_t_mean") is not None
        and not (isinstance(p["co2e_t_mean"], float) and p["co2e_t_mean"] != p["co2e_t_mean"])
    ]
    ha = [p["impacts"].get("ha_no_carbon_factor") for p in periods]
    known = [float(h) for h in ha if isinstance(h, int | float) and h == h]
    return {"partial_periods": partial, "ha_no_carbon_factor": sum(known) if known else None}


def _accuracy_limits(cl: dict[str, Any]) -> list[str]:
    acc = cl["accuracy"]
    out = []
    for cls in ("bare_disturbed", "vegetation", "water", "built_other"):
        f1 = acc.get(f"{cls}_f1")
        if isinstance(f1, int | float) and f1 < 0.8:
            out.append(
                f"The classifier's '{cls}' class is weak on its test data (F1 {f1:.2f}, precision "
                f"{acc.get(f'{cls}_precision', float('nan')):.2f}, recall "
                f"{acc.get(f'{cls}_recall', float('nan')):.2f}; {cl['evaluated_on'] or 'see the model card'}): "
                "single-period disturbed areas carry that error; change between periods is steadier."
            )
    on = str(cl["evaluated_on"] or "")
    if "demo seeds" in on and any(k.endswith("_f1") for k in acc):
        f1_mid, iou_mid = acc.get("bare_disturbed_f1_middle"), acc.get("bare_disturbed_iou_middle")
        f1 = acc.get("bare_disturbed_f1")
        figures = (
            f"'bare_disturbed' F1 {f1:.3f} on the stable pixels; F1 {f1_mid:.3f} and IoU "
            f"{iou_mid:.3f} with every pixel scored at its period's middle scene, changed ground "
            "included; "
            if all(isinstance(v, int | float) for v in (f1, f1_mid, iou_mid))
            else ""
        )
        out.append(
            "The classifier's per-class accuracy is scored on pixels whose land cover stayed the "
            "same through a period: ground cleared, dug or flooded during a period is left out of "
            f"it and is classified less well ({figures}model card: 'What the pixel accuracy "
            "leaves out')."
        )
    land = [acc.get(k) for k in DISTURBED_LAND]
    if all(isinstance(v, int | float) for v in land):
        found_first, precise_first, found_last, precise_last = land
        out.append(
            "Disturbed hectares are a lower bound: they count the land the imagery shows "
            f"disturbed (new or persisting). Against known truth ({on or 'model card'}) the "
            f"footprint held {found_first:.0f} % of the disturbed land not revegetated in the "
            f"first period and {found_last:.0f} % in the last, at {precise_first:.0f} % and "
            f"{precise_last:.0f} % precision: processing plants and other buildings look like "
            "any built ground, and ground dug before the window that is regrowing is not "
            "recognised as mine land."
        )
    err = acc.get("new_disturbance_area_error_pct")
    if isinstance(err, int | float):
        spread = per_mine_text(acc)
        per_mine = f"per mine: {spread}" if spread else "per mine the error is larger (model card)"
        out.append(
            f"New disturbance measured against known truth differs by {err:+.1f} % in total "
            f"({cl['evaluated_on'] or 'model card'}); {per_mine}."
        )
    return out


def _limits(res: SiteResults, content: dict[str, Any]) -> list[str]:
    out = [
        "Disturbance is what the classifier sees from orbit at 10-30 m: patches under the minimum "
        "mapping unit, and disturbance under canopy, are missed.",
        "Area accuracy follows the classifier's accuracy (see 'Accuracy' above); the figures "
        "carry that error beyond the CO2e range shown.",
        "The infrastructure halo part of MSA·ha lost is the most sensitive figure to "
        "classification errors: every isolated patch brings its own GLOBIO rings (kilometres "
        "wide), so a few misclassified specks far from the pits raise it much more than their "
        "area; read it as an upper bound (on geomon's demo the mapped halo exceeded the true "
        "footprint's by up to 150 MSA·ha in a mine-year, where the footprint part agreed within "
        "9; bench/halo_truth.py).",
        "North arrows on the maps show grid north of the UTM projection (within a few degrees of true north).",
    ]
    imaged = float(res.imagery.get("aoi_imaged_fraction", 1.0) or 1.0)
    if imaged < 0.999:
        aoi_ha = content["mine"].get("aoi_ha")
        of = f" ({aoi_ha * imaged:,.0f} of {aoi_ha:,.0f} ha)" if aoi_ha else ""
        out.append(
            f"The imagery covers {imaged:.0%} of the mine's AOI{of}: every figure in this report "
            "is for that part only; the rest of the AOI was not observed."
        )
    gaps = content["summary"].get("data_gap_periods") or []
    if gaps:
        out.append(f"Periods with too little clear imagery (figures weak): {', '.join(gaps)}.")
    if res.imagery.get("synthetic") or "demo" in str(res.imagery.get("source", "")).lower():
        out.append(
            "DEMO RUN: the imagery is synthetic (geomon.demo), so the figures describe a "
            "simulated landscape, not the real mine."
        )
    if content["mine"].get("licence_ha") is None:
        out.append(
            "No licence/concession polygon: disturbance outside the licence was not assessed."
        )
    return out


def methods(res: SiteResults, content: dict[str, Any], opts: ReportOptions) -> dict[str, Any]:
    """What was done in this run, with which data, and what it does not cover."""
    prov = content["provenance"]
    periods = content["periods"]
    not_est = _unique([generic_note(n) for p in periods for n in p["not_estimated"]])
    classifier = classifier_info(res.model)
    dates = scene_dates(prov["imagery"]["item_ids"])
    return {
        "imagery": {
            "sensor": prov["imagery"]["sensor"] or "not recorded",
            "source": prov["imagery"]["source"] or "not recorded",
            "collection": prov["imagery"]["collection"],
            "items": len(prov["imagery"]["item_ids"]),
            "aoi_imaged_fraction": float(res.imagery.get("aoi_imaged_fraction", 1.0) or 1.0),
            "first_scene": dates[0] if dates else None,
            "last_scene": dates[-1] if dates else None,
            "periods": [
                {
                    "period": p["period"],
                    "start": p["start"],
                    "end": p["end"],
                    "clear_fraction": p["clear_fraction"],
                    "n_items": p["n_items"],
                }
                for p in periods
            ],
        },
        "classifier": classifier,
        "carbon": _carbon_gaps(periods),
        "factor_tables": prov["factor_tables"],
        "flags": {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(opts.flags).items()
        },
        "ownership": {
            "approaches": "GHG Protocol equity share (product of shares along the chain) and "
            "operational control (100 % to the operator)",
            "control_threshold_pct": opts.control_threshold_pct,
            "as_of": content["ownership"]["as_of"],
        },
        "not_estimated": not_est,
        "never_estimated": list(NOT_ESTIMATED_ALWAYS),
        "limits": [*_accuracy_limits(classifier), *_limits(res, content)],
        "glossary": [{"term": t, "meaning": m} for t, m in GLOSSARY],
    }


def _years(item_ids: list[str]) -> str:
    years = sorted({m.group(1) for i in item_ids for m in [re.search(r"_(\d{4})\d{4}", i)] if m})
    if not years:
        return ""
    return years[0] if len(years) == 1 else f"{years[0]}-{years[-1]}"


def credits(res: SiteResults, content: dict[str, Any]) -> list[str]:
    """Attributions the data licences require, for this run's data."""
    out: list[str] = []
    sources = " ".join([*content["ownership"]["sources"], str(content["mine"]["registry_source"])])
    if re.search(r"\bGEM\b|Global Energy Monitor", sources):
        out.append(
            "Ownership and mine data derived from Global Energy Monitor trackers (CC BY 4.0): "
            'credit "Global Energy Monitor".'
        )
    if content["ownership"]["sources"]:
        out.append("Ownership sources: " + "; ".join(content["ownership"]["sources"]))
    sensor = str(content["provenance"]["imagery"]["sensor"] or "").lower()
    source = str(content["provenance"]["imagery"]["source"] or "").lower()
    if "demo" in source or res.imagery.get("synthetic"):
        out.append(
            "Imagery: synthetic scenes generated by geomon.demo in the Sentinel-2 L2A layout; not observations."
        )
    elif "sentinel" in sensor:
        yrs = _years(content["provenance"]["imagery"]["item_ids"])
        out.append(f"Contains modified Copernicus Sentinel data {yrs}".rstrip() + ".")
    elif "landsat" in sensor:
        out.append("Landsat imagery courtesy of the U.S. Geological Survey.")
    out.extend(res.layer_sources)
    names = " ".join(t["name"] for t in content["provenance"]["factor_tables"])
    if "ipcc" in names:
        out.append(
            "Carbon factors: IPCC 2006 Guidelines for National Greenhouse Gas Inventories, 2019 Refinement, Vol. 4."
        )
    if "globio" in names:
        out.append(
            "Biodiversity factors: GLOBIO model (Alkemade et al. 2009; Schipper et al. 2020)."
        )
    if "climate_trace" in names:
        out.append("Operational emission factors: Climate TRACE, mineral extraction (2025).")
    return _unique(out)
