"""The embedded demo: realistic synthetic Sentinel-2 L2A time series over the bundled mines.

Imagery cannot be downloaded everywhere, so geomon generates a static STAC catalog of COGs that
looks like Earth Search's Sentinel-2 L2A (docs/demo-catalog.md), with a ground-truth raster of
land cover and sky state beside every scene for measuring accuracy.

>>> from geomon.demo import DemoConfig, build_demo_catalog
>>> demo = build_demo_catalog(DemoConfig(years=2))  # doctest: +SKIP
>>> demo.open().get_all_items()  # doctest: +SKIP

Stages, each a private module: :mod:`~geomon.demo.sites` (grid, biome, style) ->
:mod:`~geomon.demo.landscape` and :mod:`~geomon.demo.mineplan` (land cover through time) ->
:mod:`~geomon.demo.scene` and :mod:`~geomon.demo.sky` (reflectance, clouds, SCL) ->
:mod:`~geomon.demo.cog` and :mod:`~geomon.demo.catalog` (files). Spectra and codes:
:mod:`~geomon.demo.spectra`.
"""

from geomon.demo.build import DemoCatalog, build_demo_catalog
from geomon.demo.options import DEMO_MINES, GENERATOR_VERSION, DemoConfig
from geomon.demo.spectra import BAND_NAMES, COVER_INFO, Cover, Sky

__all__ = [
    "BAND_NAMES",
    "COVER_INFO",
    "DEMO_MINES",
    "GENERATOR_VERSION",
    "Cover",
    "DemoCatalog",
    "DemoConfig",
    "Sky",
    "build_demo_catalog",
]
