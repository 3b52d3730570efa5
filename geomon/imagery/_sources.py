"""One source syntax for every command, and the built-in sources behind it.

``demo | earth-search | planetary-computer | earthengine | stac:PATH_OR_URL | files:DIR[:PATTERN]``
"""

from __future__ import annotations

import json
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
    # the first run builds the catalog (minutes); later runs find it cached and show nothing
    built = demo.build_demo_catalog(demo.DemoConfig(), progress=True)
    return StaticCatalogSource(built.catalog_path, name="demo")


def _check_stac_file(path: Path) -> None:
    """A one-line error when a static catalog file is not STAC JSON (e.g. a CSV)."""
    target = path / "catalog.json" if path.is_dir() else path
    if not target.is_file():
        return  # the source says what is missing when it is read
    try:
        with target.open("rb") as handle:
            doc = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"{target} is not a STAC JSON file ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "pass a STAC catalog.json, its folder, or files:DIR for a folder of GeoTIFFs"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read STAC catalog {target}: {exc.strerror or exc}") from None
    if not isinstance(doc, dict) or doc.get("type") not in ("Catalog", "Collection", "Feature"):
        raise ConfigError(
            f"{target} is JSON but not a STAC catalog, collection or item; point at catalog.json"
        )


def _stac_source(target: str) -> ImagerySource:
    if target.startswith(("http://", "https://")):
        from geomon.imagery._api import StacApiSource

        return StacApiSource(target, name=f"stac:{target}")
    path = Path(target).expanduser()
    _check_stac_file(path)
    return StaticCatalogSource(path, name=f"stac:{target}")


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
