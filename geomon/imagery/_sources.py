"""One source syntax for every command, and the built-in sources behind it.

``demo | earth-search | planetary-computer | earthengine | stac:PATH_OR_URL | files:DIR[:PATTERN]``
"""

from __future__ import annotations

from pathlib import Path

from geomon.errors import ConfigError
from geomon.imagery._stac import StaticCatalogSource
from geomon.imagery._types import ImagerySource

__all__ = ["DEFAULT_SOURCE", "SOURCE_SYNTAX", "open_source"]

DEFAULT_SOURCE = "demo"
SOURCE_SYNTAX = "demo | earth-search | planetary-computer | earthengine | stac:PATH_OR_URL | files:DIR[:PATTERN]"


def _demo_source() -> ImagerySource:
    import importlib

    demo = importlib.import_module("geomon.demo")
    built = demo.build_demo_catalog(demo.DemoConfig())
    return StaticCatalogSource(built.catalog_path, name="demo")


def _stac_source(target: str) -> ImagerySource:
    if target.startswith(("http://", "https://")):
        from geomon.imagery._api import StacApiSource

        return StacApiSource(target, name=f"stac:{target}")
    return StaticCatalogSource(Path(target).expanduser(), name=f"stac:{target}")


def _files_source(rest: str) -> ImagerySource:
    from geomon.imagery._files import FolderSource

    folder, _, pattern = rest.partition(":")
    return FolderSource(Path(folder).expanduser(), pattern or None)


def open_source(spec: str | None = None) -> ImagerySource:
    """The source named by ``spec`` (default ``demo``); see ``SOURCE_SYNTAX``."""
    spec = (spec or DEFAULT_SOURCE).strip()
    if spec == "demo":
        return _demo_source()
    if spec.split(":")[0] in ("earth-search", "planetary-computer"):
        from geomon.imagery._api import named_api_source

        return named_api_source(spec)
    if spec.split(":")[0] == "earthengine":
        from geomon.imagery._ee import EarthEngineSource

        return EarthEngineSource.named(spec)
    kind, sep, rest = spec.partition(":")
    if sep and rest and kind == "stac":
        return _stac_source(rest)
    if sep and rest and kind == "files":
        return _files_source(rest)
    raise ConfigError(f"unknown imagery source '{spec}'; use one of: {SOURCE_SYNTAX}")
