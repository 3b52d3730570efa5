"""Imagery: one lazy, correct view of Sentinel-2 and Landsat over any mine.

Sources (STAC API, static STAC catalog, a folder of GeoTIFFs, Earth Engine) implement
:class:`ImagerySource` and are injected; :func:`load` returns the imagery contract
(ARCHITECTURE.md "Imagery") and :func:`load_composite` per-period composites
(docs/contracts.md "Composites"). ``open_source`` parses the one source syntax of every command.

Stages: ``_sources``/``_stac``/``_api``/``_files``/``_ee`` (scenes: metadata, scale and offset)
-> ``_facade.plan`` (bands, grid in the AOI's UTM zone, groups by native resolution, mask) ->
``_reader`` (assets already on the grid) or odc-stac (anything to reproject) -> ``_mask`` ->
``_composite`` + ``_kernels`` (numba median) -> ``_write`` (COGs).

Task budget per mine: one read task per (time step, layer, block) for layers that are not
inlined (mask layers; every layer on the odc-stac path) plus one per (period, band, block) for
composites, into which the paste reader's band reads are inlined (a band several variables
read, nir and red for their medians, ``ndvi_max`` and ``ndvi_max_late``, is read by one task per
(period, block) that they all take, as is the stacked clear mask); a few per block for masks,
counts and the 20 m -> 10 m
resampling. With 1024-px blocks a 10 km mine is 1-4 blocks: five
years of Sentinel-2 (~150 usable dates, 11 layers) stay under ~8,000 tasks on the paste path
and ~20,000 on the odc-stac path, well below where the scheduler struggles (~500k).
"""

from geomon.imagery._aoi import Aoi, target_geobox, utm_crs
from geomon.imagery._bands import BANDS, Scaling, item_scaling
from geomon.imagery._composite import TEMPORAL_VARIABLES, composite, period_label, period_starts
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
    "TEMPORAL_VARIABLES",
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
