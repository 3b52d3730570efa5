"""Where Dask graphs run: the local threaded scheduler, a local process cluster, or an existing
cluster at an address (``--scheduler ADDRESS`` / ``$GEOMON_SCHEDULER``).

geomon writes no scheduler of its own. GDAL/rasterio settings need no help to reach workers:
imagery graphs capture them when they are built and restore them in every read task.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from geomon.errors import ConfigError

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "SCHEDULER_ENV",
    "SchedulerSpec",
    "compute_by_period",
    "dask_client",
    "parse_scheduler",
]

SCHEDULER_ENV = "GEOMON_SCHEDULER"
_LOCAL_NAMES = ("threads", "sync", "local", "processes")


@dataclass(frozen=True)
class SchedulerSpec:
    """A parsed ``--scheduler`` value."""

    kind: str
    """``threads`` (default), ``sync`` (one thread, for debugging), ``local`` (a LocalCluster of
    processes started here) or ``address`` (an existing cluster)."""
    address: str | None = None
    """The scheduler address for ``address`` (``tcp://host:8786``)."""
    workers: int | None = None
    """Threads (``threads``) or worker processes (``local``); None: the number of cores."""
    timeout: float = 10.0
    """Seconds to wait for an existing scheduler to answer."""


def parse_scheduler(value: str | None = None, workers: int | None = None) -> SchedulerSpec:
    """``value``, else ``$GEOMON_SCHEDULER``, else ``threads``."""
    text = (value or os.environ.get(SCHEDULER_ENV) or "threads").strip()
    if text in _LOCAL_NAMES:
        kind = "local" if text == "processes" else text
        return SchedulerSpec(kind, None, workers)
    if "://" in text or ":" in text:
        return SchedulerSpec("address", text if "://" in text else f"tcp://{text}", workers)
    raise ConfigError(
        f"scheduler '{text}' is not an address (tcp://host:8786) nor one of {', '.join(_LOCAL_NAMES)}"
    )


@contextlib.contextmanager
def dask_client(
    value: str | SchedulerSpec | None = None, workers: int | None = None
) -> Iterator[Any]:
    """Run the enclosed computations on the chosen scheduler; yields the distributed Client, or
    None for the threaded and synchronous schedulers. Clusters started here are closed on exit."""
    spec = value if isinstance(value, SchedulerSpec) else parse_scheduler(value, workers)
    if spec.kind in ("threads", "sync"):
        import dask

        with dask.config.set(scheduler=spec.kind, num_workers=spec.workers):
            yield None
        return
    with _distributed(spec) as client:
        yield client


@contextlib.contextmanager
def _distributed(spec: SchedulerSpec) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if spec.kind == "local":
        n = spec.workers or os.cpu_count() or 1
        with (
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(spec.address, timeout=f"{spec.timeout}s")
    except OSError as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {spec.address}: {exc}; start it or fix --scheduler"
        ) from exc
    with client:
        yield client


def compute_by_period(ds: xr.Dataset, progress: bool = False, desc: str = "compute") -> xr.Dataset:
    """Compute a lazy Dataset over periods (composites, classes) into arrays allocated once for
    all periods; ``progress``: a bar of periods labelled ``desc``.

    On a scheduler that shares this process's memory (threads, sync), one period at a time with
    a progress bar: each period's chunks are stored into the arrays by the tasks that compute
    them (``dask.array.store``, all variables of a period in one graph, so the classifier runs
    once per chunk). On a cluster of other processes, all periods are computed in one graph and
    copied in (a store there would write into the workers' copies). Computing each period and
    concatenating them (as before) copied every array twice, in one thread at the end: 0.5-0.7 s
    more per 16.7 Mpx period on the reference input (``bench.bench_footprint --reference``), and
    twice the memory at the peak. Where a period's graph would recompute tasks another needs (a
    chunk over several periods, or a lazy variable or coordinate not over periods), everything
    is computed in one graph too."""
    import dask
    import dask.array as da
    import dask.local
    import dask.threaded
    import numpy as np
    from dask.base import get_scheduler
    from tqdm import tqdm

    n = ds.sizes["time"]
    # every lazy variable over periods (the class rasters or composite bands, and the per-period
    # coverage figures, which share the imagery's tasks): one store per period computes them
    # together
    lazy = {
        name: var
        for name, var in ds.data_vars.items()
        if isinstance(var.data, da.Array) and var.ndim and var.dims[0] == "time"
    }
    out = {name: np.empty(var.shape, var.dtype) for name, var in lazy.items()}
    steps = tqdm(range(n), desc=desc, unit="period", disable=not progress, leave=False)
    arrays = [var.data for var in lazy.values()]
    rest = ds.drop_vars(list(lazy))
    shared = get_scheduler(collections=arrays) in (dask.threaded.get, dask.local.get_sync)
    by_period = (
        shared
        and all(max(a.chunks[0], default=1) == 1 for a in arrays)
        and not any(isinstance(v.data, da.Array) for v in rest.variables.values())
    )
    if by_period:
        for t in steps:
            period = [a[t : t + 1] for a in arrays]
            da.store(period, [out[name][t : t + 1] for name in lazy], lock=False)
    else:
        # one graph for all periods (and the rest): computing them one by one, a period's graph
        # sometimes named a task of the previous one that the scheduler was releasing
        # (distributed 2026.8: "KeyError" in update_graph, about one run in three of the test)
        values, rest = dask.compute(arrays, rest)
        for name, value in zip(lazy, values, strict=True):
            out[name][...] = value
        steps.update(n)
        steps.close()
    rest = rest.compute()  # in memory already unless by period (its variables are not lazy then)
    filled = rest.assign({name: var.copy(data=out[name]) for name, var in lazy.items()})
    return filled[list(ds.data_vars)]
