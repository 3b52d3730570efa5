"""Imagery: one lazy, correct view of Sentinel-2 and Landsat over any mine.

Sources (STAC API, static STAC catalog, a folder of GeoTIFFs, Earth Engine) implement
:class:`ImagerySource`; :func:`load` returns the imagery contract (ARCHITECTURE.md "Imagery") and
:func:`load_composite` per-period composites (docs/contracts.md "Composites").
"""

from geomon.imagery._aoi import Aoi, target_geobox, utm_crs
from geomon.imagery._bands import BANDS, Scaling, item_scaling
from geomon.imagery._composite import composite, period_label, period_starts
from geomon.imagery._facade import Plan, load, load_composite, plan, search
from geomon.imagery._mask import mask_agreement, qa_pixel_clear, scl_clear, spectral_clear
from geomon.imagery._sources import DEFAULT_SOURCE, SOURCE_SYNTAX, open_source
from geomon.imagery._stac import StaticCatalogSource
from geomon.imagery._types import (
    CompositeOptions,
    ImagerySource,
    LoadOptions,
    MaskOptions,
    Query,
    Scene,
)

__all__ = [
    "BANDS",
    "DEFAULT_SOURCE",
    "SOURCE_SYNTAX",
    "Aoi",
    "CompositeOptions",
    "ImagerySource",
    "LoadOptions",
    "MaskOptions",
    "Plan",
    "Query",
    "Scaling",
    "Scene",
    "StaticCatalogSource",
    "composite",
    "item_scaling",
    "load",
    "load_composite",
    "mask_agreement",
    "open_source",
    "period_label",
    "period_starts",
    "plan",
    "qa_pixel_clear",
    "scl_clear",
    "search",
    "spectral_clear",
    "target_geobox",
    "utm_crs",
]
