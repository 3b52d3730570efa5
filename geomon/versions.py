"""``geomon versions``: the versions of geomon and the libraries its numbers depend on."""

from __future__ import annotations

import importlib.metadata as md
import platform

from geomon._lazy import is_available
from geomon._version import __version__

_PACKAGES = (
    "rasterio",
    "xarray",
    "rioxarray",
    "dask",
    "distributed",
    "geopandas",
    "shapely",
    "pyproj",
    "scikit-learn",
    "numpy",
    "pandas",
    "pystac",
    "pystac-client",
    "odc-stac",
)


def versions() -> dict[str, str]:
    """Return an ordered mapping of component name to version string."""
    out: dict[str, str] = {"geomon": __version__, "python": platform.python_version()}
    try:
        import rasterio

        out["GDAL"] = str(rasterio.__gdal_version__)
        out["PROJ"] = (
            str(rasterio.__proj_version__) if hasattr(rasterio, "__proj_version__") else "?"
        )
    except ImportError:  # pragma: no cover - rasterio is a hard dependency
        out["GDAL"] = "not installed"
    for name in _PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    if is_available("ee"):
        out["earthengine-api"] = md.version("earthengine-api") + " (importable)"
    else:
        out["earthengine-api"] = "not importable (pip install 'geomon[earthengine]')"
    return out


def format_versions() -> str:
    """The versions as aligned ``name: version`` lines."""
    items = versions()
    width = max(len(k) for k in items)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in items.items())
