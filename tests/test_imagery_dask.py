"""Dask: laziness, bounded graphs, GDAL settings captured at build time, and identical results
under the threaded scheduler and a LocalCluster of processes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
import rasterio
import xarray as xr

from geomon.errors import ConfigError
from geomon.imagery import Aoi, LoadOptions, Query, StaticCatalogSource, load, load_composite
from geomon.imagery.testing import SyntheticImagery, write_s2_catalog
from geomon.scheduler import SCHEDULER_ENV, SchedulerSpec, dask_client, parse_scheduler

DATES = [dt.date(2022, 1, d) for d in (5, 15, 25)] + [dt.date(2022, 2, 4)]


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> SyntheticImagery:
    return write_s2_catalog(tmp_path_factory.mktemp("dask"), DATES, cloud=0.2, size_px=128)


def _query(cat: SyntheticImagery) -> Query:
    return Query(Aoi("d", cat.aoi_lonlat.buffer(-0.001)), dt.date(2022, 1, 1), dt.date(2022, 2, 28))  # type: ignore[attr-defined]


def _contains_key(obj: Any, key: str, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if isinstance(obj, str):
        return obj == key
    if isinstance(obj, dict):
        return key in obj or any(_contains_key(v, key, depth + 1) for v in obj.values())
    if isinstance(obj, tuple | list):
        return any(_contains_key(v, key, depth + 1) for v in obj)
    return any(_contains_key(v, key, depth + 1) for v in getattr(obj, "args", ()) or ())


def test_gdal_settings_are_captured_when_the_graph_is_built(cat: SyntheticImagery) -> None:
    with rasterio.Env(GDAL_HTTP_MAX_RETRY="7"):
        ds = load(StaticCatalogSource(cat.catalog_path), _query(cat), LoadOptions(bands=("red",)))
    graph = dict(ds.__dask_graph__())
    carrying = [k for k, task in graph.items() if _contains_key(task, "GDAL_HTTP_MAX_RETRY")]
    assert carrying, "read tasks must carry the rasterio env of graph-build time"


def test_task_count_stays_within_budget(cat: SyntheticImagery) -> None:
    """Budget per mine: 3 tasks per (time step x layer x block) read, plus 3 per (period x band x
    block) composite (documented in geomon.imagery)."""
    q = _query(cat)
    comp = load_composite(StaticCatalogSource(cat.catalog_path), q, LoadOptions(chunk=64))
    steps, layers, periods, bands = len(DATES), 11, comp.sizes["time"], 10
    blocks = int(np.prod(comp["red"].data.numblocks[1:]))
    budget = 3 * steps * layers * blocks + 3 * periods * bands * blocks
    assert len(comp.__dask_graph__()) <= budget


def test_block_edges_fall_on_the_sources_cog_blocks(cat: SyntheticImagery) -> None:
    ds = load(StaticCatalogSource(cat.catalog_path), _query(cat), LoadOptions(chunk=64))
    x0 = float(ds.odc.geobox.affine.c)
    origin = cat.bounds[0]  # the scenes' pixel-grid corner (their COG blocks start there)
    edges = x0 + 10 * np.cumsum(ds["red"].data.chunks[2][:-1])
    assert all(((e - origin) / 10) % 64 == 0 for e in edges)
    assert max(ds["red"].data.chunks[2]) <= 64
    assert ds["swir16"].data.chunks[1:] == ds["red"].data.chunks[1:]  # 20 m blocks nest


def test_threaded_and_process_cluster_results_are_identical(cat: SyntheticImagery) -> None:
    source, q = StaticCatalogSource(cat.catalog_path), _query(cat)
    opts = LoadOptions(bands=("red", "nir", "swir16"), chunk=64)
    with dask_client("threads"):
        threaded = load_composite(source, q, opts).compute()
    with dask_client("local", workers=2) as client:
        assert client is not None and len(client.scheduler_info()["workers"]) == 2
        distributed = load_composite(source, q, opts).compute()
    xr.testing.assert_identical(threaded, distributed)


def test_scheduler_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert parse_scheduler().kind == "threads"
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://10.0.0.5:8786")
    assert parse_scheduler().address == "tcp://10.0.0.5:8786"
    assert parse_scheduler("scheduler.local:8786").address == "tcp://scheduler.local:8786"
    assert parse_scheduler("processes").kind == "local"
    with pytest.raises(ConfigError, match="not an address"):
        parse_scheduler("bogus")


def test_unreachable_scheduler_is_a_config_error() -> None:
    with (
        pytest.raises(ConfigError, match="cannot reach the Dask scheduler"),
        dask_client(SchedulerSpec("address", "tcp://127.0.0.1:9", timeout=1.0)),
    ):
        pass


def test_composite_reads_each_band_once_per_period_and_block(
    cat: SyntheticImagery, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nir and red (read by their medians and by ndvi_max) are read once per period and block
    straight into one array, like the other bands, and the clear mask is stacked once per
    period and block for all the variables that read it (no per-consumer stacking copies)."""
    import dask

    from geomon.imagery import _composite, _reader

    reads: list[int] = []
    stacks: list[int] = []
    read_stack, stack = _reader.read_stack, _composite._stack

    def counted_read(steps: Any, *args: Any) -> Any:
        reads.append(len(steps))
        return read_stack(steps, *args)

    def counted_stack(blocks: Any) -> Any:
        if not isinstance(blocks, np.ndarray) and len(blocks) > 1:
            stacks.append(len(blocks))
        return stack(blocks)

    monkeypatch.setattr(_reader, "read_stack", counted_read)
    monkeypatch.setattr(_composite, "_stack", counted_stack)
    opts = LoadOptions(bands=("red", "nir", "swir16"), chunk=64)
    comp = load_composite(StaticCatalogSource(cat.catalog_path), _query(cat), opts)
    blocks = int(np.prod(comp["red"].data.numblocks[1:]))
    with dask.config.set(scheduler="threads", num_workers=2):
        comp.compute()
    assert sorted(reads) == sorted([3, 1] * 3 * blocks)  # 3 bands; January 3 steps, February 1
    assert stacks == [3] * blocks  # January's masks, once per block
