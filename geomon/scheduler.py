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
from typing import Any

from geomon.errors import ConfigError

__all__ = ["SCHEDULER_ENV", "SchedulerSpec", "dask_client", "parse_scheduler"]

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
