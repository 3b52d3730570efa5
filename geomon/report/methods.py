"""The methods-and-limits section and the data credits, generated from the actual run."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from geomon.report._notes import generic_note
from geomon.report.inputs import ReportOptions, SiteResults

__all__ = ["NOT_ESTIMATED_ALWAYS", "credits", "methods"]

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


def _accuracy(model: dict[str, Any]) -> dict[str, Any]:
    acc = model.get("accuracy") or {}
    return (
        {str(k): v for k, v in sorted(acc.items())} if isinstance(acc, dict) else {"accuracy": acc}
    )


def _limits(res: SiteResults, content: dict[str, Any]) -> list[str]:
    out = [
        "Disturbance is what the classifier sees from orbit at 10-30 m: patches under the minimum "
        "mapping unit, and disturbance under canopy, are missed.",
        "Area accuracy follows the classifier's accuracy (see 'Accuracy' above); the figures "
        "carry that error beyond the CO2e range shown.",
        "North arrows on the maps show grid north of the UTM projection (within a few degrees of true north).",
    ]
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
    return {
        "imagery": {
            "sensor": prov["imagery"]["sensor"] or "not recorded",
            "source": prov["imagery"]["source"] or "not recorded",
            "collection": prov["imagery"]["collection"],
            "items": len(prov["imagery"]["item_ids"]),
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
        "classifier": {
            "id": res.model.get("id") or "not recorded",
            "hash": res.model.get("hash"),
            "summary": res.model.get("summary") or "no model card supplied",
            "accuracy": _accuracy(res.model),
        },
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
        "limits": _limits(res, content),
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
