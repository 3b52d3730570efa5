"""Build (or reuse) the demo catalog: sites -> landscapes -> scenes -> COGs -> STAC.

The catalog is generated into a temporary sibling folder and renamed into place only once it is
complete (the ``.complete`` marker holding the config fingerprint is written last), so an
interrupted run never leaves half a catalog; a complete catalog with the same fingerprint is reused.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from affine import Affine

from geomon.config import cache_dir
from geomon.demo.catalog import (
    ItemRecord,
    asset_path,
    item_id,
    truth_path,
    write_catalog,
)
from geomon.demo.cog import write_cog
from geomon.demo.landscape import Landscape, make_landscape
from geomon.demo.options import DemoConfig
from geomon.demo.scene import Acquisition, acquisitions, synthesize
from geomon.demo.sites import Site, make_site, mine_fingerprint
from geomon.demo.spectra import codes_json
from geomon.errors import ConfigError, NoImageryError

if TYPE_CHECKING:
    import pystac

    from geomon.registry import Registry

__all__ = ["DemoCatalog", "build_demo_catalog", "default_root"]

_MARKER = ".complete"


@dataclass(frozen=True)
class DemoCatalog:
    """A generated demo catalog on disk."""

    root: Path
    """Folder holding catalog.json, the COGs, truth/ and demo.json."""
    catalog_path: Path
    """The root ``catalog.json``."""
    mine_ids: tuple[str, ...]
    item_ids: dict[str, tuple[str, ...]]
    """Item ids per mine, in date order."""
    config: DemoConfig

    def mine_of(self, item: str) -> str:
        """The mine id of ``item``."""
        for mine, ids in self.item_ids.items():
            if item in ids:
                return mine
        raise NoImageryError(
            f"item '{item}' is not in the demo catalog at {self.root}; list "
            "DemoCatalog.item_ids for the ids it has"
        )

    def truth_path(self, item: str) -> Path:
        """The ground-truth raster of ``item`` (band 1 land cover, band 2 sky; truth/codes.json)."""
        return truth_path(self.root, self.mine_of(item), item)

    def item_path(self, item: str) -> Path:
        """The STAC item JSON of ``item``."""
        return self.root / self.mine_of(item) / item / f"{item}.json"

    def open(self) -> pystac.Catalog:
        """The catalog, read with pystac."""
        import pystac

        return pystac.Catalog.from_file(str(self.catalog_path))


def default_root(fingerprint: str) -> Path:
    """``<cache>/demo/<fingerprint>``."""
    return cache_dir() / "demo" / fingerprint


def _load(root: Path, config: DemoConfig) -> DemoCatalog:
    doc = json.loads((root / "demo.json").read_text(encoding="utf-8"))
    item_ids = {m: tuple(i["id"] for i in v["items"]) for m, v in doc["mines"].items()}
    return DemoCatalog(root, root / "catalog.json", tuple(item_ids), item_ids, config)


def _complete(root: Path, fingerprint: str) -> bool:
    marker = root / _MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == fingerprint


def _check_replaceable(target: Path) -> None:
    ours = (target / _MARKER).exists() or (target / "demo.json").exists()
    if target.exists() and any(target.iterdir()) and not ours:
        raise ConfigError(
            f"{target} exists and is not a demo catalog; pass an empty or new folder as root"
        )


def _scene_files(ls: Landscape, acq: Acquisition, config: DemoConfig, root: Path) -> ItemRecord:
    """Synthesise one scene and write its COGs and truth raster (runs in a worker thread)."""
    site = ls.site
    scene = synthesize(ls, acq, config)
    iid = item_id(site.mine_id, acq)
    t10 = site.transform
    t20 = t10 @ Affine.scale(2.0)
    for name, dn in scene.dn10.items():
        write_cog(asset_path(root, site.mine_id, iid, name), dn, t10, site.epsg, nodata=0)
    for name, dn in scene.dn20.items():
        write_cog(asset_path(root, site.mine_id, iid, name), dn, t20, site.epsg, nodata=0)
    write_cog(
        asset_path(root, site.mine_id, iid, "scl"),
        scene.scl,
        t20,
        site.epsg,
        nodata=0,
        resampling="nearest",
    )
    write_cog(
        truth_path(root, site.mine_id, iid),
        scene.truth,
        t10,
        site.epsg,
        nodata=None,
        resampling="nearest",
    )
    return ItemRecord(site.mine_id, iid, acq, scene.cloud_cover, scene.nodata_percent)


def _generate(
    sites: list[Site], config: DemoConfig, root: Path, progress: bool, workers: int
) -> list[ItemRecord]:
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="geomon-demo") as pool:
        landscapes = list(pool.map(lambda s: make_landscape(s, config.seed, config.years), sites))
        jobs = [(ls, acq) for ls in landscapes for acq in acquisitions(ls.site, config)]
        futures: list[Future[ItemRecord]] = [
            pool.submit(_scene_files, ls, acq, config, root) for ls, acq in jobs
        ]
        try:
            with tqdm(total=len(jobs), disable=not progress, unit="scene", desc="demo") as bar:
                for fut in as_completed(futures):
                    fut.result()
                    bar.update(1)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        return [f.result() for f in futures]


def _publish(tmp: Path, target: Path) -> None:
    backup = target.with_name(f".{target.name}.old")
    if target.exists():
        shutil.rmtree(backup, ignore_errors=True)
        target.rename(backup)
    tmp.rename(target)
    shutil.rmtree(backup, ignore_errors=True)


def build_demo_catalog(
    config: DemoConfig | None = None,
    registry: Registry | None = None,
    *,
    root: str | Path | None = None,
    progress: bool = False,
    workers: int = 2,
) -> DemoCatalog:
    """Generate the demo catalog of ``config`` (or reuse it when already complete).

    ``registry`` defaults to the bundled one; ``root`` defaults to
    ``<cache>/demo/<fingerprint of config, generator version and the mines' registry rows>``.
    ``progress`` shows a tqdm bar; ``workers`` threads synthesise and write scenes.
    """
    from geomon.registry import load_registry

    config = config or DemoConfig()
    reg = registry if registry is not None else load_registry()
    rows = [reg.mine(m) for m in config.mine_ids]
    fingerprint = config.fingerprint([mine_fingerprint(r) for r in rows])
    target = Path(root) if root is not None else default_root(fingerprint)
    if _complete(target, fingerprint):
        return _load(target, config)
    _check_replaceable(target)
    sites = [make_site(r, config.window_m) for r in rows]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        records = _generate(sites, config, tmp, progress, max(1, workers))
        (tmp / "truth").mkdir(exist_ok=True)
        (tmp / "truth" / "codes.json").write_text(codes_json(), encoding="utf-8")
        write_catalog(tmp, sites, records, config, fingerprint)
        (tmp / _MARKER).write_text(fingerprint + "\n", encoding="utf-8")
        if _complete(target, fingerprint):  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            _publish(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _load(target, config)
