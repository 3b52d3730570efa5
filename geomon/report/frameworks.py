"""Which disclosures of the reporting frameworks a report's figures support, and which they do not.

Each row names a framework and disclosure, a status (``supported``, ``partly``, ``not supported``,
``flag only``), the figures of this report that speak to it, and what is missing. The status
follows from what the run actually produced (a protected-area layer, estimated CO2e, a licence
polygon ...), never from what geomon could do in principle.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["BATTERY_COMMODITIES", "area_kinds", "framework_row", "frameworks"]

#: Commodities under the EU Batteries Regulation's supply-chain due diligence (Art. 48, Annex X).
BATTERY_COMMODITIES = ("cobalt", "graphite", "lithium", "nickel")


def framework_row(
    framework: str, disclosure: str, status: str, figures: str, missing: str
) -> dict[str, str]:
    return {
        "framework": framework,
        "disclosure": disclosure,
        "status": status,
        "figures": figures,
        "missing": missing,
    }


def _estimated(periods: list[dict[str, Any]], col: str) -> bool:
    return any(p.get(col) is not None and not math.isnan(p[col]) for p in periods)


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not math.isnan(x)


def _flag_status(flags: list[dict[str, Any]], check: str) -> str:
    states = {f["status"] for f in flags if f["check"] == check}
    if "flagged" in states:
        return "flagged"
    return "not_assessed" if states <= {"not_assessed"} else "clear"


def _layers_missing(kinds: frozenset[str]) -> str:
    """What the run had no layer for, said plainly ('' when all three were assessed)."""
    names = {
        "protected_area": "protected areas",
        "kba": "Key Biodiversity Areas",
        "world_heritage": "World Heritage sites",
    }
    absent = [v for k, v in names.items() if k not in kinds]
    return f"not assessed: {', '.join(absent)} (no layer in this run)" if absent else ""


def _biodiversity(
    c: dict[str, Any], has_areas: bool, kinds: frozenset[str]
) -> list[dict[str, str]]:
    pa = "supported" if has_areas else "not supported"
    if has_areas and {"kba", "world_heritage"} - kinds:
        pa = "partly"
    pa_missing = _layers_missing(kinds) if has_areas else "no protected-area/KBA layer in this run"
    msa = _estimated(c["periods"], "msa_ha_lost")
    return [
        framework_row(
            "GRI 101: Biodiversity 2024",
            "101-5 Locations with biodiversity impacts",
            pa,
            "site location, AOI and footprint ha; ha inside and distance to protected areas/KBAs (flags)",
            pa_missing or "-",
        ),
        framework_row(
            "GRI 101: Biodiversity 2024",
            "101-6 Direct drivers: land-use change",
            "supported",
            "ha converted per period by baseline cover (natural vs modified), ha cleared after the cut-off",
            "ecosystem typology is the classifier's cover classes, not IUCN GET ecosystem types",
        ),
        framework_row(
            "GRI 101: Biodiversity 2024",
            "101-7 Changes to the state of biodiversity",
            "partly" if msa else "not supported",
            "MSA-ha lost (GLOBIO) as a condition proxy; cover before/after"
            if msa
            else "none (MSA not estimated)",
            "no field-measured ecosystem condition; species and ecosystem-services disclosures (101-8) not covered",
        ),
        framework_row(
            "GRI 101 / GRI 304 (2016)",
            "304-1 Sites in or adjacent to protected areas",
            pa,
            "protected-area check with distances and ha inside",
            pa_missing or "-",
        ),
        framework_row(
            "GRI 304 (2016)",
            "304-3 Habitats protected or restored",
            "partly",
            "ha rehabilitated (persistently re-vegetated after disturbance)",
            "revegetation seen from space is not verified restoration; success not assessed",
        ),
        framework_row(
            "GRI 304 (2016)", "304-4 IUCN Red List species", "not supported", "-", "no species data"
        ),
        framework_row(
            "GRI 14: Mining Sector 2024",
            "Biodiversity topic: site-level GRI 101 disclosures",
            "partly",
            "the GRI 101 figures above, per site",
            "management disclosures need company information",
        ),
    ]


def _climate(c: dict[str, Any]) -> list[dict[str, str]]:
    luc = _estimated(c["periods"], "co2e_t_mean")
    partial = luc and any(
        p.get("impacts", {}).get("co2e_complete") is False and _finite(p.get("co2e_t_mean"))
        for p in c["periods"]
    )
    ops = any(_finite(p.get("impacts", {}).get("op_co2e_t")) for p in c["periods"])
    return [
        framework_row(
            "GRI 305: Emissions 2016",
            "305-1/2/3 Scope 1, 2, 3 GHG emissions",
            "partly" if ops else "not supported",
            "operational (ore) emissions where a verified factor exists" if ops else "-",
            "scope 2 and 3 not estimated; no verified per-tonne factors for lithium, nickel, cobalt, graphite, rare earths",
        ),
        framework_row(
            "GHG Protocol (land sector)",
            "Land-use-change emissions of clearing",
            ("partly" if partial else "supported") if luc else "not supported",
            "CO2e of land cleared per period with a 90 % range" if luc else "-",
            (
                "partial sums: some cleared covers or pools have no factor (see 'Not estimated'); "
                if partial
                else ""
            )
            + "reported beside, not inside, scope 1; factors are IPCC tier 1"
            if luc
            else "no carbon factor for the cleared covers",
        ),
    ]


def _others(c: dict[str, Any], has_areas: bool, kinds: frozenset[str]) -> list[dict[str, str]]:
    flags = c["flags"]
    has_whs = has_areas and "world_heritage" in kinds
    whs = _flag_status(flags, "protected_area") if has_whs else "not_assessed"
    lic = c["mine"].get("licence_ha") is not None
    commodities = set(c["mine"]["commodities"]) & set(BATTERY_COMMODITIES)
    rows = [
        framework_row(
            "ESRS E4 (CSRD)",
            "E4-5 sites in or near biodiversity-sensitive areas",
            ("supported" if "kba" in kinds else "partly") if has_areas else "not supported",
            "protected-area/KBA check: number of areas, ha inside, distance",
            _layers_missing(kinds) if has_areas else "no protected-area layer in this run",
        ),
        framework_row(
            "ESRS E4 (CSRD)",
            "E4-5 land-use change over 1 and 5 years",
            "supported",
            "disturbed and new ha per period over the window",
            "conversion is land cover, not land use",
        ),
        framework_row(
            "TNFD",
            "C1.0 Total spatial footprint",
            "supported" if lic else "partly",
            "disturbed + rehabilitated ha" + (" + licence (controlled) ha" if lic else ""),
            "" if lic else "controlled area unknown: no licence polygon",
        ),
        framework_row(
            "TNFD",
            "C1.1 Extent of land-use change",
            "supported",
            "ha by baseline cover per period",
            "-",
        ),
        framework_row(
            "IFC Performance Standard 6",
            "Natural vs modified habitat converted",
            "partly",
            "ha of natural cover (forest, shrubland, grassland, wetland) converted",
            "critical-habitat determination and no-net-loss accounting need field surveys and offsets",
        ),
        framework_row(
            "ICMM Mining Principles",
            "No mining in World Heritage sites",
            "flag only" if has_whs else "not supported",
            f"protected-area check result: {whs}" if has_whs else "-",
            "-" if has_whs else "no World Heritage layer in this run: not assessed",
        ),
        framework_row(
            "EU Deforestation Regulation",
            "Cut-off 2020-12-31 (mining out of scope)",
            "flag only",
            f"cleared-after-cut-off flag: {_flag_status(flags, 'cleared_after_cutoff')}",
            "used as a flag only; EUDR does not regulate mining",
        ),
    ]
    if commodities:
        rows.append(
            framework_row(
                "EU Batteries Regulation",
                "Supply-chain due diligence (" + ", ".join(sorted(commodities)) + ")",
                "partly",
                "site figures and flags can inform the risk assessment",
                "the figures are not a due-diligence assessment",
            )
        )
    return rows


def area_kinds(content: dict[str, Any], layer_kinds: set[str] | None = None) -> frozenset[str]:
    """Kinds of area layer the run assessed: those of the layer given to the report, and those
    the impact records measured (a finite ``ha_in_kba`` / ``ha_in_world_heritage``)."""
    kinds = set(layer_kinds or ())
    for p in content["periods"]:
        imp = p.get("impacts", {})
        if _finite(imp.get("ha_in_protected")) or isinstance(imp.get("ha_in_protected"), dict):
            kinds.add("protected_area")
        if _finite(imp.get("ha_in_kba")):
            kinds.add("kba")
        if _finite(imp.get("ha_in_world_heritage")):
            kinds.add("world_heritage")
    return frozenset(kinds)


def frameworks(
    content: dict[str, Any], has_areas: bool, layer_kinds: set[str] | None = None
) -> list[dict[str, str]]:
    """The framework rows for a site report's content; ``layer_kinds`` are the ``kind`` values
    of the area layer given (protected_area, kba, world_heritage)."""
    kinds = area_kinds(content, layer_kinds)
    return [
        *_biodiversity(content, has_areas, kinds),
        *_climate(content),
        *_others(content, has_areas, kinds),
    ]
