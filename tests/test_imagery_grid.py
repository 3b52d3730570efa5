"""AOIs, UTM zones, grids: zone boundaries, the antimeridian, files as AOIs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox
from shapely.geometry import MultiPolygon, Point, box

from geomon.errors import ConfigError
from geomon.imagery import (
    Aoi,
    ImagerySource,
    LoadOptions,
    Query,
    Scene,
    StaticCatalogSource,
    load,
    target_geobox,
    utm_crs,
)
from geomon.imagery._stac import load_stac
from geomon.imagery.testing import write_s2_catalog

DAY = [dt.date(2021, 6, 1)]


class UnionSource:
    """Two static catalogs seen as one: the protocol is all a source needs."""

    def __init__(self, *parts: StaticCatalogSource) -> None:
        self.parts = parts

    @property
    def name(self) -> str:
        return "union"

    def search(self, query: Query) -> list[Scene]:
        found = [s for p in self.parts for s in p.search(query)]
        return sorted(found, key=lambda s: (s.datetime, s.id))

    def load(
        self, scenes: Sequence[Scene], bands: Sequence[str], geobox: GeoBox, options: LoadOptions
    ) -> xr.Dataset:
        return load_stac(scenes, bands, geobox, options)


def test_utm_zone_of_points() -> None:
    assert utm_crs(15.0, -12.0) == "EPSG:32733"
    assert utm_crs(-70.4, -23.5) == "EPSG:32719"
    assert utm_crs(179.99, 10) == "EPSG:32660" and utm_crs(180.0, 10) == "EPSG:32601"


def test_union_source_satisfies_the_protocol() -> None:
    assert isinstance(UnionSource(), ImagerySource)


def test_aoi_across_a_utm_zone_boundary_loads_both_sides(tmp_path: Path) -> None:
    west = write_s2_catalog(
        tmp_path / "w", DAY, lon=17.995, lat=-12.0, crs="EPSG:32733", size_px=64, mine_id="w"
    )
    east = write_s2_catalog(
        tmp_path / "e", DAY, lon=18.005, lat=-12.0, crs="EPSG:32734", size_px=64, mine_id="e"
    )
    aoi = Aoi("straddle", box(17.993, -12.002, 18.007, -11.998))
    source = UnionSource(
        StaticCatalogSource(west.catalog_path), StaticCatalogSource(east.catalog_path)
    )
    ds = load(source, Query(aoi, DAY[0], DAY[0]), LoadOptions(bands=("red",)))
    assert ds.attrs["crs"] == aoi.crs
    assert ds.sizes["time"] == 1  # same solar day: the two tiles fuse into one step
    red = ds["red"].isel(time=0).values
    cols = np.isfinite(red).any(axis=0)
    assert cols[: len(cols) // 4].all() and cols[-len(cols) // 4 :].all()


def test_aoi_across_the_antimeridian(tmp_path: Path) -> None:
    west = write_s2_catalog(tmp_path / "w", DAY, lon=179.997, lat=-17.0, size_px=64, mine_id="w")
    east = write_s2_catalog(tmp_path / "e", DAY, lon=-179.997, lat=-17.0, size_px=64, mine_id="e")
    assert west.crs == "EPSG:32760" and east.crs == "EPSG:32701"
    aoi = Aoi(
        "fiji",
        MultiPolygon(
            [box(179.995, -17.002, 180.0, -16.998), box(-180.0, -17.002, -179.995, -16.998)]
        ),
    )
    assert aoi.crosses_antimeridian
    minx, _, maxx, _ = aoi.projected().bounds
    assert 900 < maxx - minx < 1200  # about 1 km, not the width of the Earth
    geobox = target_geobox(aoi, 10.0)
    assert geobox.shape.x < 200
    source = UnionSource(
        StaticCatalogSource(west.catalog_path), StaticCatalogSource(east.catalog_path)
    )
    ds = load(source, Query(aoi, DAY[0], DAY[0]), LoadOptions(bands=("red",)))
    red = ds["red"].isel(time=0).values
    cols = np.isfinite(red).any(axis=0)
    assert cols[:10].all() and cols[-10:].all()


def test_search_geometry_is_split_at_the_antimeridian() -> None:
    aoi = Aoi("x", box(179.5, 0, 180.5, 1))
    parts = aoi.search_geometry()
    assert parts.geom_type == "MultiPolygon"
    assert parts.bounds == (-180.0, 0.0, 180.0, 1.0)


def test_grid_nests_twenty_metre_pixels() -> None:
    aoi = Aoi("x", box(15.0, -12.0, 15.013, -11.991))
    fine = target_geobox(aoi, 10.0, align=20.0)
    coarse = fine.zoom_out(2)
    assert fine.shape.x == 2 * coarse.shape.x and fine.shape.y == 2 * coarse.shape.y
    assert fine.affine.c % 20 == 0 and fine.affine.f % 20 == 0


def test_aoi_from_file_and_bad_geometries(tmp_path: Path) -> None:
    path = tmp_path / "site.geojson"
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": box(15, -12, 15.01, -11.99).__geo_interface__,
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    aoi = Aoi.from_file(path)
    assert aoi.name == "site" and aoi.crs == "EPSG:32733"
    with pytest.raises(ConfigError, match="polygon"):
        Aoi("pt", Point(15, -12))
    with pytest.raises(ConfigError, match="cannot read AOI file"):
        Aoi.from_file(tmp_path / "missing.geojson")


def test_aoi_from_the_bundled_registry() -> None:
    from geomon.registry import load_registry

    try:
        registry = load_registry()
    except Exception as exc:  # the bundled registry is written by another issue
        pytest.skip(f"bundled registry unavailable: {exc}")
    mine_id = registry.ids[0]
    aoi = Aoi.from_registry(registry, mine_id)
    assert aoi.name == mine_id and aoi.crs.startswith("EPSG:32")


def test_grid_is_cropped_to_the_imaged_part_of_the_aoi(tmp_path: Path) -> None:
    """Scenes that image a quarter of the AOI: the grid covers that part only, the share is
    recorded, and clear-sky coverage is measured over what the source images."""
    from geomon.imagery import CompositeOptions, load_composite

    cat = write_s2_catalog(tmp_path / "c", DAY, lon=15.0, lat=-12.0, size_px=64)
    west, south, east, north = _lonlat_bounds(cat.bounds, cat.crs)
    width, height = east - west, north - south
    aoi = Aoi("big", box(west, south, west + 2 * width, south + 2 * height))
    comp = load_composite(
        StaticCatalogSource(cat.catalog_path),
        Query(aoi, DAY[0], DAY[0]),
        LoadOptions(bands=("red", "nir")),
        CompositeOptions("year"),
    )
    assert 0.2 < comp.attrs["aoi_imaged_fraction"] < 0.3
    assert comp.sizes["x"] <= 66 and comp.sizes["y"] <= 66
    assert float(comp["clear_fraction"].values[0]) > 0.95
    assert not bool(comp["low_coverage"].values[0])
    full = load(
        StaticCatalogSource(cat.catalog_path),
        Query(Aoi("inside", box(west, south, east, north).buffer(-0.0001)), DAY[0], DAY[0]),
        LoadOptions(bands=("red",)),
    )
    assert full.attrs["aoi_imaged_fraction"] == 1.0


def _lonlat_bounds(bounds: Sequence[float], crs: str) -> tuple[float, float, float, float]:
    from pyproj import Transformer

    to = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return tuple(to.transform_bounds(*bounds))  # type: ignore[return-value]
