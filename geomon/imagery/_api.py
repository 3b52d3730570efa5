"""STAC APIs (Earth Search, Planetary Computer, any STAC API) through pystac-client, with retries.

Search is server-side (area, dates, cloud ceiling) and then re-checked locally by the same filter
as static catalogs; pixels are read by odc-stac. Planetary Computer items are signed with the
``planetary-computer`` package (extra ``geomon[planetary]``), imported only when used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr
from odc.geo.geobox import GeoBox

from geomon.errors import ConfigError, GeomonError, ImagerySourceError
from geomon.imagery._stac import filter_items, load_stac
from geomon.imagery._types import LoadOptions, Query, Scene

__all__ = ["ApiOptions", "StacApiSource", "named_api_source"]

EARTH_SEARCH = "https://earth-search.aws.element84.com/v1"
PLANETARY_COMPUTER = "https://planetarycomputer.microsoft.com/api/stac/v1"
_RETRY_STATUS = (408, 429, 500, 502, 503, 504)


@dataclass(frozen=True)
class ApiOptions:
    """How to talk to a STAC API."""

    collections: tuple[str, ...] = ("sentinel-2-l2a",)
    """Collections to search (one sensor per source)."""
    retries: int = 4
    """Retries per request on connection errors and HTTP 408/429/5xx."""
    backoff: float = 0.5
    """Backoff factor (seconds): waits 0.5, 1, 2, 4... between retries."""
    timeout: float = 30.0
    """Seconds per request."""
    page_size: int = 100
    """Items per page."""
    sign: str | None = None
    """``planetary-computer`` to sign asset URLs with that package; None for public URLs."""


def _retry(options: ApiOptions) -> Any:
    from urllib3.util.retry import Retry

    return Retry(
        total=options.retries,
        backoff_factor=options.backoff,
        status_forcelist=_RETRY_STATUS,
        allowed_methods=None,  # POST /search is idempotent: retry it too
        raise_on_status=False,
    )


def _signer(sign: str | None) -> Callable[[Any], None] | None:
    if sign is None:
        return None
    if sign != "planetary-computer":
        raise ConfigError(f"unknown signer '{sign}'; use 'planetary-computer' or none")
    from geomon._lazy import lazy_import

    return lazy_import("planetary_computer").sign_inplace


class StacApiSource:
    """Any STAC API with item search."""

    def __init__(
        self, url: str, options: ApiOptions | None = None, name: str | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.options = options or ApiOptions()
        self._name = name or f"stac:{self.url}"

    @property
    def name(self) -> str:
        """``earth-search``, ``planetary-computer`` or ``stac:URL``."""
        return self._name

    def _client(self, signer: Callable[[Any], None] | None = None) -> Any:
        from pystac_client import Client
        from pystac_client.stac_api_io import StacApiIO

        if signer is None:
            signer = _signer(self.options.sign)
        io = StacApiIO(max_retries=_retry(self.options), timeout=self.options.timeout)
        return Client.open(self.url, modifier=signer, stac_io=io)

    def _search_kwargs(self, query: Query) -> dict[str, Any]:
        return {
            "collections": list(self.options.collections),
            "intersects": query.aoi.geojson(),
            "datetime": f"{query.start.isoformat()}T00:00:00Z/{query.end.isoformat()}T23:59:59Z",
            "query": {"eo:cloud_cover": {"lte": query.max_cloud}},
            "limit": self.options.page_size,
        }

    def search(self, query: Query) -> list[Scene]:
        """Scenes found by the API, re-checked locally."""
        signer = _signer(self.options.sign)  # a missing extra is not a network failure
        try:
            items = list(self._client(signer).search(**self._search_kwargs(query)).items())
        except Exception as exc:
            if isinstance(exc, GeomonError):  # config and missing extras: never retried
                raise
            raise ImagerySourceError(
                f"STAC API {self.url} failed after {self.options.retries} retries: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
                "check the network or try again later"
            ) from exc
        return filter_items(items, query)

    def load(
        self, scenes: Sequence[Scene], bands: Sequence[str], geobox: GeoBox, options: LoadOptions
    ) -> xr.Dataset:
        """See :class:`ImagerySource`."""
        return load_stac(scenes, bands, geobox, options)


def named_api_source(spec: str) -> StacApiSource:
    """``earth-search[:COLLECTION]`` or ``planetary-computer[:COLLECTION]``."""
    name, _, collection = spec.partition(":")
    if name == "earth-search":
        opts = ApiOptions(collections=(collection or "sentinel-2-l2a",))
        return StacApiSource(EARTH_SEARCH, opts, name=spec)
    if name == "planetary-computer":
        opts = ApiOptions(collections=(collection or "sentinel-2-l2a",), sign="planetary-computer")
        return StacApiSource(PLANETARY_COMPUTER, opts, name=spec)
    raise ConfigError(f"unknown STAC API '{spec}'; use earth-search or planetary-computer")
