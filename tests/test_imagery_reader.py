"""The paste reader: when it applies, what it reads, and that it matches odc-stac exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import odc.stac
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

from geomon.imagery import Aoi, LoadOptions, Query, StaticCatalogSource, plan
from geomon.imagery._reader import paste_offsets, read_block, read_stack, stacked_read
from geomon.imagery._stac import _fill_cfg, _read_odc, _read_pasted, time_groups
from geomon.imagery.testing import write_s2_catalog


def _box(x0: float, y0: float, res: float, w: int, h: int, crs: str = "EPSG:32733") -> GeoBox:
    return GeoBox((h, w), from_origin(x0, y0, res, res), crs)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    dx=st.integers(-500, 500),
    dy=st.integers(-500, 500),
    factor=st.sampled_from([1, 2, 4]),
)
def test_paste_offsets_place_the_asset_exactly(dx: int, dy: int, factor: int) -> None:
    src = _box(500_000 + 10 * dx, 8_000_000 + 10 * dy, 10, 300, 200)
    dst = _box(500_000, 8_000_000, 10 * factor, 50, 50)
    p = paste_offsets(src, dst, "x.tif")
    assert p is not None and p.factor == factor
    # the asset's top-left corner lands where the geoboxes say it does
    x, y = src.affine.c, src.affine.f
    col, row = (x - dst.affine.c) / dst.affine.a, (y - dst.affine.f) / dst.affine.e
    assert (p.col, p.row) == pytest.approx((col, row))


def test_paste_refuses_what_needs_resampling() -> None:
    dst = _box(500_000, 8_000_000, 10, 50, 50)
    assert paste_offsets(_box(500_005, 8_000_000, 10, 9, 9), dst, "x") is None  # half a pixel off
    assert paste_offsets(_box(500_000, 8_000_000, 20, 9, 9), dst, "x") is None  # coarser source
    assert paste_offsets(_box(500_000, 8_000_000, 10, 9, 9, "EPSG:32734"), dst, "x") is None
    assert paste_offsets(_box(500_000, 8_000_000, 3, 9, 9), dst, "x") is None  # 10/3 not integer


def _tif(path: Path, data: np.ndarray, x0: float, y0: float, res: float) -> str:
    profile = {"driver": "COG", "width": data.shape[1], "height": data.shape[0], "count": 1,
               "dtype": data.dtype.name, "crs": "EPSG:32733", "transform": from_origin(x0, y0, res, res),
               "nodata": 0, "blocksize": 256}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return str(path)


def test_read_block_fuses_partial_assets_and_decimates(tmp_path: Path) -> None:
    left = np.full((40, 20), 7, np.uint16)
    right = np.full((40, 40), 9, np.uint16)
    right[:, :10] = 0  # nodata where it overlaps the left asset's last columns
    dst = _box(500_000, 8_000_000, 10, 50, 40)
    a = paste_offsets(
        _box(500_000, 8_000_000, 10, 20, 40),
        dst,
        _tif(tmp_path / "a.tif", left, 500_000, 8_000_000, 10),
    )
    b = paste_offsets(
        _box(500_100, 8_000_000, 10, 40, 40),
        dst,
        _tif(tmp_path / "b.tif", right, 500_100, 8_000_000, 10),
    )
    assert a is not None and b is not None
    block = read_block((a, b), (0, 0, 40, 50), "uint16", 0, ())
    assert block.shape == (1, 40, 50)
    assert (block[0, :, :20] == 7).all() and (block[0, :, 20:] == 9).all()
    coarse = _box(500_000, 8_000_000, 20, 25, 20)
    c = paste_offsets(_box(500_100, 8_000_000, 10, 40, 40), coarse, b.uri)
    assert c is not None and c.factor == 2
    half = read_block((c,), (0, 0, 20, 25), "uint16", 0, ())
    assert (half[0, :, 10:] == 9).all() and (half[0, :, :5] == 0).all()
    # several steps read into one array: the same values as stacking read_block's
    steps = ((a, b), (b,), (a,))
    stack = read_stack(steps, (0, 0, 40, 50), "uint16", 0, ())
    single = np.concatenate([read_block(s, (0, 0, 40, 50), "uint16", 0, ()) for s in steps])
    np.testing.assert_array_equal(stack, single)
    tasks = [(read_block, s, (0, 0, 40, 50), "uint16", 0, ()) for s in steps]
    assert stacked_read(tasks) == (read_stack, steps, (0, 0, 40, 50), "uint16", 0, ())
    assert stacked_read([*tasks, (read_block, steps[0], (0, 0, 9, 9), "uint16", 0, ())]) is None
    assert stacked_read([("other", 1)]) is None


def test_paste_reader_matches_odc_stac(tmp_path: Path) -> None:
    cat = write_s2_catalog(
        tmp_path, [dt.date(2022, 3, 1), dt.date(2022, 3, 11)], cloud=0.3, size_px=96
    )
    assert cat.catalog_path is not None
    source = StaticCatalogSource(cat.catalog_path)
    q = Query(Aoi("m", cat.aoi_lonlat.buffer(-0.0007)), dt.date(2022, 3, 1), dt.date(2022, 3, 31))  # type: ignore[attr-defined]
    p = plan(source, q)
    groups = time_groups(p.scenes, 15.0, True)
    items = [s.native.item for s in p.scenes]
    for factor, keys in ((1, {"red": "red"}), (2, {"red": "red", "scl": "scl"})):
        parsed = list(odc.stac.parse_items(items, cfg=_fill_cfg(items[0], keys)))
        grid = p.grid(factor)
        pasted = _read_pasted(parsed, groups, keys, grid, LoadOptions(chunk=32))
        assert pasted is not None
        reprojected = _read_odc(items, groups, keys, grid, LoadOptions(chunk=32), None)
        for name in keys:
            np.testing.assert_array_equal(pasted[name].values, reprojected[name].values)
    scl_at_10m = _read_pasted(parsed, groups, {"scl": "scl"}, p.grid(1), LoadOptions(chunk=32))
    assert scl_at_10m is None  # 20 m asset under a 10 m grid: odc-stac resamples it
    assert LoadOptions().chunk % 512 == 0  # default chunks hold whole 512-px COG blocks


def test_dataset_pool_is_shared_exclusive_and_bounded(tmp_path: Path) -> None:
    from geomon.imagery._reader import _Pool, close_datasets

    uris = [_tif(tmp_path / f"{k}.tif", np.full((8, 8), k + 1, np.uint16), 500_000, 8_000_000, 10)
            for k in range(3)]  # fmt: skip
    pool = _Pool(2)
    with pool.checkout(uris[0]) as a, pool.checkout(uris[0]) as b:
        assert a is not b  # a dataset serves one reader at a time
    with pool.checkout(uris[0]) as again:
        assert again in (a, b)  # returned datasets are reused, by any thread
    for uri in uris:
        with pool.checkout(uri):
            pass
    assert pool._count == 2 and a.closed + b.closed >= 1  # least recently used closed
    grid = _box(500_000, 8_000_000, 10, 8, 8)
    p = paste_offsets(grid, grid, uris[1])
    assert p is not None
    assert read_stack(((p,),), (0, 0, 8, 8), "uint16", 0, ()).max() == 2
    assert close_datasets() >= 1 and close_datasets() == 0


def test_reader_block_cache_is_megabytes_not_bytes(tmp_path: Path) -> None:
    """rasterio hands an integer GDAL_CACHEMAX to GDALSetCacheMax64, in bytes: geomon's bound must
    be a real cache while it reads (a value of 64 had made it 64 bytes), and what the process is
    left with afterwards must still be one (GDAL's cache is process-wide)."""
    from rasterio.env import get_gdal_config

    from geomon.imagery._reader import capture_env

    uri = _tif(tmp_path / "a.tif", np.ones((64, 64), np.uint16), 500_000, 8_000_000, 10)
    env = capture_env([uri])
    with rasterio.Env(**dict(env)):
        assert int(get_gdal_config("GDAL_CACHEMAX")) >= 16 * 2**20
    paste = paste_offsets(
        _box(500_000, 8_000_000, 10, 64, 64), _box(500_000, 8_000_000, 10, 64, 64), uri
    )
    assert paste is not None
    assert read_block((paste,), (0, 0, 64, 64), "uint16", 0, env).sum() == 64 * 64
    assert int(get_gdal_config("GDAL_CACHEMAX")) >= 16 * 2**20
