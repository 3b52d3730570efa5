"""Earth Engine source, offline: ee's own test mode builds and serialises the expressions, and a
local backend answers computeValue/computePixels from generated pixels. ee.Initialize is never
called for real (it would hang for ~40 s without network)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from shapely.geometry import box

from geomon.imagery import Aoi, LoadOptions, Query, load, load_composite, open_source
from geomon.imagery._ee import COLLECTIONS, EarthEngineSource, LiveEe

ee = pytest.importorskip(
    "ee", reason="earthengine-api not installed (pip install 'geomon[earthengine]')"
)

T0 = dt.datetime(2023, 5, 2, 10, 20, tzinfo=dt.UTC)


@pytest.fixture
def ee_offline() -> Iterator[Any]:
    from ee import apitestcase

    case = apitestcase.ApiTestCase("setUp")
    case.setUp()  # ee.Initialize against a local algorithm list: no credentials, no network
    yield ee
    case.tearDown()


@dataclass
class LocalEe:
    """Answers the two Earth Engine calls from generated pixels; records the requests."""

    rows: list[list[Any]]
    cloudy: set[str] = field(default_factory=set)
    values: list[str] = field(default_factory=list)
    pixels: list[dict[str, Any]] = field(default_factory=list)

    def compute_value(self, expression: Any) -> Any:
        self.values.append(ee.serializer.toJSON(expression))
        return self.rows

    def compute_pixels(self, params: dict[str, Any]) -> np.ndarray:
        self.pixels.append(params)
        text = ee.serializer.toJSON(params["expression"])
        images = re.findall(r"COPERNICUS/S2_SR_HARMONIZED/(\w+)|LANDSAT/LC09/C02/T1_L2/(\w+)", text)
        grid, bands = params["grid"], params["bandIds"]
        h, w = grid["dimensions"]["height"], grid["dimensions"]["width"]
        a = grid["affineTransform"]
        cols = a["translateX"] + a["scaleX"] * (np.arange(w) + 0.5)
        out = np.zeros((h, w), dtype=[(b, "<u2") for b in bands])
        cloudy = any(i in self.cloudy for pair in images for i in pair if i)
        for k, band in enumerate(bands):
            if band in ("scl", "qa_pixel"):
                clear = 4 if band == "scl" else 1 << 6
                out[band] = (
                    np.where((cols[None, :] // 100) % 2 == 0, 9 if band == "scl" else 1 << 3, clear)
                    if cloudy
                    else clear
                )
            else:
                out[band] = 1000 + 100 * k + (cols[None, :] // 10 % 10).astype(np.uint16)
        return out


def _rows(prefix: str = "") -> list[list[Any]]:
    ms = T0.timestamp() * 1000
    day = 86_400_000
    return [
        [f"{prefix}20230502T102021_T33LXC", ms, 5.0],
        [f"{prefix}20230502T102021_T33LYC", ms + 1000, 7.0],  # same pass, next tile
        [f"{prefix}20230512T102021_T33LXC", ms + 10 * day, 40.0],
    ]


def _query() -> Query:
    return Query(
        Aoi("ee_site", box(15.0, -12.01, 15.02, -12.0)),
        dt.date(2023, 5, 1),
        dt.date(2023, 5, 31),
        60,
    )


def test_search_builds_the_expected_expression(ee_offline: Any) -> None:
    backend = LocalEe(_rows())
    scenes = EarthEngineSource(backend=backend).search(_query())
    assert [s.id.split("/")[-1][:8] for s in scenes] == ["20230502", "20230502", "20230512"]
    assert scenes[0].datetime == T0 and scenes[2].cloud_cover == 40.0
    text = backend.values[0]
    assert "COPERNICUS/S2_SR_HARMONIZED" in text and "CLOUDY_PIXEL_PERCENTAGE" in text
    assert "2023-06-01" in text  # end date is inclusive
    json.loads(text)


def test_load_fetches_each_day_and_chunk_on_the_output_grid(ee_offline: Any) -> None:
    backend = LocalEe(_rows(), cloudy={"20230512T102021_T33LXC"})
    source = EarthEngineSource(backend=backend)
    ds = load(source, _query(), LoadOptions(bands=("red", "nir", "swir16"), chunk=128))
    assert ds.sizes["time"] == 2  # two tiles of one pass are mosaicked into one step
    assert "," in str(ds["item_ids"].values[0])
    assert ds.attrs["crs"] == "EPSG:32733" and ds.attrs["mask"] == "scl"
    values = ds.compute()
    assert backend.pixels[0]["expression"] is not None
    grids = {(p["grid"]["dimensions"]["width"], p["grid"]["crsCode"]) for p in backend.pixels}
    assert all(crs == "EPSG:32733" and w <= 128 for w, crs in grids)
    red = values["red"].isel(time=0).values
    x = values["x"].values
    expected = (1000 + (x // 10 % 10)) * 1e-4  # red is the first band requested at 10 m
    np.testing.assert_allclose(red, np.broadcast_to(expected, red.shape), rtol=1e-6)
    assert (
        values["valid"].isel(time=0).all()
        and 0.3 < float(values["valid"].isel(time=1).mean()) < 0.7
    )


def test_chunking_does_not_change_values(ee_offline: Any) -> None:
    small = load(
        EarthEngineSource(backend=LocalEe(_rows())), _query(), LoadOptions(bands=("red",), chunk=64)
    )
    big = load(
        EarthEngineSource(backend=LocalEe(_rows())),
        _query(),
        LoadOptions(bands=("red",), chunk=4096),
    )
    np.testing.assert_array_equal(small["red"].values, big["red"].values)


def test_landsat_collection_scaling(ee_offline: Any) -> None:
    rows = [[r[0].replace("T33LXC", "181069"), r[1], r[2]] for r in _rows()[:1]]
    ds = load(
        EarthEngineSource(COLLECTIONS["landsat"], backend=LocalEe(rows)),
        _query(),
        LoadOptions(bands=("red",)),
    )
    assert ds.attrs["resolution"] == 30.0 and ds.attrs["mask"] == "qa_pixel"
    assert float(ds["red"].isel(time=0, x=0, y=0)) == pytest.approx(1000 * 2.75e-5 - 0.2, abs=3e-4)


def test_composites_from_earth_engine(ee_offline: Any) -> None:
    comp = load_composite(
        EarthEngineSource(backend=LocalEe(_rows())), _query(), LoadOptions(bands=("red", "swir16"))
    )
    assert list(comp["period"].values) == ["2023-05"] and int(comp["clear_count"].max()) == 2


def test_named_sources_do_not_initialise_earth_engine() -> None:
    source = open_source("earthengine:landsat")
    assert isinstance(source, EarthEngineSource) and isinstance(source.backend, LiveEe)
    assert source.name == "earthengine:LANDSAT/LC09/C02/T1_L2"
    assert not ee.data.is_initialized()


@pytest.mark.network
def test_earth_engine_live() -> None:  # pragma: no cover - needs credentials and network
    ds = load(open_source("earthengine"), _query(), LoadOptions(bands=("red",)))
    assert ds.sizes["time"] >= 1


def test_missing_credentials_give_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Earth Engine is initialised before any ee object is built, and a failed initialisation
    says how to authenticate (the real ee.Initialize is replaced: it would hang offline)."""
    from geomon.cli import main

    calls: list[Any] = []

    def no_credentials(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs)
        raise ee.EEException("Please authorize access to your Earth Engine account.")

    monkeypatch.setattr(ee, "Initialize", no_credentials)
    monkeypatch.setenv("EARTHENGINE_PROJECT", "my-project")
    assert not ee.data.is_initialized()
    args = ["imagery", "show", "greenbushes", "--start", "2023-05-01", "--end", "2023-05-31"]
    assert main([*args, "--source", "earthengine"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not initialized" not in err
    assert "cannot initialise Earth Engine" in err and "earthengine authenticate" in err
    assert calls == [{"project": "my-project"}]
