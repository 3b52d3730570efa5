"""What a report is made from: one mine's stage results (:class:`SiteResults`) and the options."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import xarray as xr

from geomon.esg.flags import FlagOptions

__all__ = ["ReportOptions", "SiteResults"]


@dataclass(frozen=True, eq=False)
class SiteResults:
    """One mine's results over a window, as the stages return them (docs/contracts.md)."""

    mine: pd.Series
    """The registry row (``mine_id``, ``name``, ``country``, ``commodities``, ``geometry`` ...)."""
    footprint: gpd.GeoDataFrame
    """Footprint contract frame, all periods of the window."""
    impacts: pd.DataFrame
    """Impact records, one per period (may be empty: every impact figure is then not estimated)."""
    ownership: pd.DataFrame
    """Ownership rows (the whole table or this mine's; the mine's rows are selected)."""
    start: dt.date
    end: dt.date
    coverage: pd.DataFrame | None = None
    """Per period: ``period, period_start, period_end, clear_fraction`` (+ ``n_items``)."""
    composites: xr.Dataset | None = None
    """Composites (``time, y, x``, bands ``red, green, blue``) for the true-colour maps."""
    areas: gpd.GeoDataFrame | None = None
    """Protected areas / KBAs / World Heritage sites near the mine (any layout of
    :func:`geomon.esg.normalize_areas`); ``None`` means not assessed."""
    imagery: dict[str, Any] = field(default_factory=dict)
    """Provenance of the imagery: ``sensor``, ``source``, ``collection``, ``item_ids``."""
    model: dict[str, Any] = field(default_factory=dict)
    """The classifier: ``id``, ``hash``, ``summary``, ``accuracy`` (metric -> value), ``card``."""
    pipeline: dict[str, Any] = field(default_factory=dict)
    """The pipeline file and parameters that produced the results (``file``, ``parameters``)."""
    layer_sources: tuple[str, ...] = ()
    """Sources of the protected-area layers, credited in the report."""


@dataclass(frozen=True)
class ReportOptions:
    """How a report is built and what it writes."""

    flags: FlagOptions = field(default_factory=FlagOptions)
    """Thresholds of the flags."""
    control_threshold_pct: float | None = 50.0
    """A parent holding more than this of the operator reports 100 % under operational control."""
    formats: tuple[str, ...] = ("json", "html", "pdf", "geojson", "geoparquet")
    """Files to write."""
    dpi: int = 110
    """Resolution of maps and charts."""
