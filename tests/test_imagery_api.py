"""The STAC API path: pystac-client against a tiny STAC API served on 127.0.0.1, with retries."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pystac
import pytest

from geomon._lazy import is_available
from geomon.errors import ImagerySourceError, MissingDependencyError
from geomon.imagery import Aoi, LoadOptions, Query, StaticCatalogSource, load, open_source, search
from geomon.imagery._api import ApiOptions, StacApiSource, named_api_source
from geomon.imagery.testing import SyntheticImagery, write_s2_catalog

DATES = [dt.date(2022, 3, 1), dt.date(2022, 3, 11), dt.date(2022, 3, 21)]
CONFORMS = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
]


class TinyStacApi(ThreadingHTTPServer):
    """Serves a landing page and POST /search over a list of items; fails the first requests."""

    def __init__(self, items: list[dict[str, Any]], failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.items, self.failures, self.requests, self.bodies = items, failures, 0, []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: TinyStacApi

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _failing(self) -> bool:
        self.server.requests += 1
        if self.server.requests <= self.server.failures:
            self._reply(503, {"code": "unavailable"})
            return True
        return False

    def do_GET(self) -> None:
        if self._failing():
            return
        url = self.server.url
        links = [
            {"rel": "self", "href": url, "type": "application/json"},
            {"rel": "root", "href": url, "type": "application/json"},
            {
                "rel": "search",
                "href": f"{url}/search",
                "method": "POST",
                "type": "application/geo+json",
            },
        ]
        self._reply(
            200,
            {
                "type": "Catalog",
                "id": "tiny",
                "description": "tiny",
                "stac_version": "1.0.0",
                "conformsTo": CONFORMS,
                "links": links,
            },
        )

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.bodies.append(body)
        if self._failing():
            return
        items = [i for i in self.server.items if i["collection"] in body.get("collections", [])]
        self._reply(200, {"type": "FeatureCollection", "features": items, "links": []})


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> SyntheticImagery:
    return write_s2_catalog(tmp_path_factory.mktemp("api"), DATES, cloud=0.1, size_px=64)


def _api_items(cat: SyntheticImagery) -> list[dict[str, Any]]:
    items = StaticCatalogSource(cat.catalog_path).items()
    out = []
    for item in items:
        d = item.to_dict(include_self_link=False, transform_hrefs=False)
        d["links"], d["collection"] = [], "sentinel-2-l2a"
        out.append(d)
    return out


@pytest.fixture
def api(cat: SyntheticImagery, request: pytest.FixtureRequest) -> Iterator[TinyStacApi]:
    server = TinyStacApi(_api_items(cat), failures=getattr(request, "param", 0))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _query(cat: SyntheticImagery) -> Query:
    return Query(
        Aoi("api_site", cat.aoi_lonlat.buffer(-0.001)),
        dt.date(2022, 3, 1),
        dt.date(2022, 3, 15),
        max_cloud=50,
    )  # type: ignore[attr-defined]


def test_search_sends_area_dates_and_cloud_and_filters_locally(
    api: TinyStacApi, cat: SyntheticImagery
) -> None:
    scenes = search(StacApiSource(api.url, ApiOptions(backoff=0.01)), _query(cat))
    assert [s.id for s in scenes] == cat.item_ids[
        :2
    ]  # the server returned 3; dates re-checked here
    body = api.bodies[-1]
    assert body["collections"] == ["sentinel-2-l2a"]
    assert body["datetime"] == "2022-03-01T00:00:00Z/2022-03-15T23:59:59Z"
    assert body["query"] == {"eo:cloud_cover": {"lte": 50}}
    assert body["intersects"]["type"] == "Polygon"


@pytest.mark.parametrize("api", [3], indirect=True)
def test_transient_errors_are_retried(api: TinyStacApi, cat: SyntheticImagery) -> None:
    ds = load(
        StacApiSource(api.url, ApiOptions(backoff=0.01)), _query(cat), LoadOptions(bands=("red",))
    )
    assert api.requests > 3
    assert ds.sizes["time"] == 2 and np.isfinite(ds["red"].values).any()


@pytest.mark.parametrize("api", [100], indirect=True)
def test_persistent_errors_say_what_to_do(api: TinyStacApi, cat: SyntheticImagery) -> None:
    source = StacApiSource(api.url, ApiOptions(retries=2, backoff=0.01))
    with pytest.raises(ImagerySourceError, match=r"failed after 2 retries.*try again later"):
        search(source, _query(cat))
    assert api.requests == 3


def test_stac_url_source_syntax(api: TinyStacApi) -> None:
    source = open_source(f"stac:{api.url}")
    assert isinstance(source, StacApiSource) and source.url == api.url


def test_named_api_sources() -> None:
    es = named_api_source("earth-search")
    assert es.url.startswith("https://earth-search") and es.options.collections == (
        "sentinel-2-l2a",
    )
    pc = named_api_source("planetary-computer:landsat-c2-l2")
    assert pc.options.sign == "planetary-computer" and pc.options.collections == ("landsat-c2-l2",)


@pytest.mark.skipif(is_available("planetary_computer"), reason="planetary-computer is installed")
def test_planetary_computer_needs_its_extra(api: TinyStacApi) -> None:
    source = StacApiSource(api.url, ApiOptions(sign="planetary-computer"))
    with pytest.raises(MissingDependencyError, match=r"geomon\[planetary\]"):
        source._client()


@pytest.mark.skipif(is_available("planetary_computer"), reason="planetary-computer is installed")
@pytest.mark.parametrize("api", [100], indirect=True)
def test_missing_extra_is_not_retried_nor_called_a_network_failure(
    api: TinyStacApi, cat: SyntheticImagery
) -> None:
    source = StacApiSource(api.url, ApiOptions(sign="planetary-computer", backoff=0.01))
    with pytest.raises(MissingDependencyError, match=r"pip install 'geomon\[planetary\]'"):
        search(source, _query(cat))
    assert api.requests == 0  # no request made, so none retried


@pytest.mark.skipif(is_available("planetary_computer"), reason="planetary-computer is installed")
def test_missing_extra_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from geomon.cli import main

    args = ["imagery", "show", "greenbushes", "--start", "2023-01-01", "--end", "2023-01-31"]
    assert main([*args, "--source", "planetary-computer"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'geomon[planetary]'" in err
    assert "retries" not in err and "network" not in err


@pytest.mark.network
def test_earth_search_live() -> None:  # pragma: no cover - needs internet
    from shapely.geometry import box

    q = Query(
        Aoi("greenbushes", box(116.05, -33.87, 116.08, -33.85)),
        dt.date(2023, 1, 1),
        dt.date(2023, 1, 31),
        30,
    )
    ds = load(open_source("earth-search"), q, LoadOptions(bands=("red", "nir")))
    assert ds.attrs["crs"] == "EPSG:32750" and float(ds["red"].isel(time=0).mean()) < 0.5


def _greenbushes(start: dt.date, end: dt.date) -> Query:
    """A small window over a bundled mine (Greenbushes, Western Australia)."""
    from geomon.registry import load_registry

    aoi = Aoi.from_registry(load_registry(), "greenbushes")
    small = aoi.geometry.centroid.buffer(0.005)  # ~1 km square: a small load
    return Query(Aoi("greenbushes", small), start, end, 30)


@pytest.mark.network
def test_planetary_computer_sentinel2_live() -> None:  # pragma: no cover - needs internet
    pytest.importorskip("planetary_computer", reason="pip install 'geomon[planetary]'")
    q = _greenbushes(dt.date(2023, 1, 1), dt.date(2023, 1, 31))
    source = open_source("planetary-computer")
    scenes = search(source, q)
    assert scenes and all(s.sensor == "sentinel-2" for s in scenes)
    ds = load(source, q, LoadOptions(bands=("red", "nir")))
    assert ds.attrs["crs"] == "EPSG:32750" and ds.sizes["time"] >= 1
    red = ds["red"].isel(time=0).values
    assert np.isfinite(red).any() and float(np.nanmean(red)) < 0.5


@pytest.mark.network
def test_planetary_computer_landsat_live() -> None:  # pragma: no cover - needs internet
    pytest.importorskip("planetary_computer", reason="pip install 'geomon[planetary]'")
    q = _greenbushes(dt.date(2023, 1, 1), dt.date(2023, 2, 28))
    source = open_source("planetary-computer:landsat-c2-l2")
    scenes = search(source, q)
    assert scenes and all(s.sensor == "landsat" for s in scenes)
    ds = load(source, q, LoadOptions(bands=("red", "nir08"), resolution=30.0))
    assert ds.attrs["crs"] == "EPSG:32750" and ds.sizes["time"] >= 1
    red = ds["red"].isel(time=0).values
    assert np.isfinite(red).any() and float(np.nanmean(red)) < 0.5


def test_items_round_trip_as_pystac(cat: SyntheticImagery) -> None:
    assert all(isinstance(pystac.Item.from_dict(d), pystac.Item) for d in _api_items(cat))
