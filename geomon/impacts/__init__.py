"""Impacts of each mine's disturbance: land-use-change CO2e with a range, operational emissions
where a published factor exists, MSA·ha lost (footprint and halo), protected-area overlap,
fragmentation and the EU cut-off flag. Every figure names the factor tables it used.

Public surface: :func:`compute_impacts` (one mine), :func:`compute_impacts_many` (many mines on
Dask), :class:`ImpactParams`, :class:`ImpactLayers` / :func:`load_layers` /
:func:`bundled_layers`, :class:`FactorTables`, :func:`describe_factor_tables`, :func:`disturbed_outlines`, :func:`format_impacts`,
:data:`IMPACT_COLUMNS`.
"""

from __future__ import annotations

from pathlib import Path

from geomon.impacts._format import format_impacts
from geomon.impacts._tables import FactorTable, FactorTables, describe_factor_tables
from geomon.impacts.core import IMPACT_COLUMNS, check_mine, compute_impacts, disturbed_outlines
from geomon.impacts.many import compute_impacts_many
from geomon.impacts.params import ImpactLayers, ImpactParams, load_layers

__all__ = [
    "IMPACT_COLUMNS",
    "FactorTable",
    "FactorTables",
    "ImpactLayers",
    "ImpactParams",
    "bundled_layers",
    "check_mine",
    "compute_impacts",
    "compute_impacts_many",
    "describe_factor_tables",
    "disturbed_outlines",
    "format_impacts",
    "load_layers",
]


def bundled_layers(registry_dir: str | Path | None = None, *, repair: bool = False) -> ImpactLayers:
    """Reference layers shipped with a registry folder (default: the bundled ``aoi/``): its
    ``protected_areas_sample.geojson`` (a sample in WDPA's layout, not WDPA itself), and
    ``kba.geojson`` / ``world_heritage.geojson`` when present."""
    from geomon.registry import bundled_registry_dir

    folder = Path(registry_dir) if registry_dir else bundled_registry_dir()

    def existing(name: str) -> Path | None:
        path = folder / name
        return path if path.exists() else None

    return load_layers(
        existing("protected_areas_sample.geojson"),
        existing("kba.geojson"),
        existing("world_heritage.geojson"),
        repair=repair,
    )
