"""What a demo catalog holds, read back through pystac and rasterio (as a user's tools would)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pystac

from geomon.demo.build import DemoCatalog

__all__ = ["BandSummary", "DemoSummary", "MineSummary", "format_summary", "summarize"]


@dataclass(frozen=True)
class MineSummary:
    """The items of one mine."""

    mine_id: str
    items: int
    first: dt.date
    last: dt.date
    baselines: tuple[str, ...]
    epsg: int
    mean_cloud_cover: float


@dataclass(frozen=True)
class BandSummary:
    """One asset of the first item, as rasterio opens it."""

    asset: str
    band: str
    resolution_m: float
    shape: tuple[int, int]
    dtype: str
    offset: float


@dataclass(frozen=True)
class DemoSummary:
    """Mines, items, bands and size of a demo catalog."""

    catalog_path: Path
    mines: tuple[MineSummary, ...]
    bands: tuple[BandSummary, ...]
    items: int
    files: int
    size_bytes: int


def _mines(items: list[pystac.Item]) -> tuple[MineSummary, ...]:
    groups: dict[str, list[pystac.Item]] = defaultdict(list)
    for it in items:
        groups[str(it.properties["geomon:mine_id"])].append(it)
    out = []
    for mine, its in groups.items():
        dates = sorted(i.datetime.date() for i in its if i.datetime)
        props = [i.properties for i in its]
        out.append(
            MineSummary(
                mine_id=mine,
                items=len(its),
                first=dates[0],
                last=dates[-1],
                baselines=tuple(sorted({str(p["s2:processing_baseline"]) for p in props})),
                epsg=int(str(props[0]["proj:code"]).split(":")[-1]),  # pystac migrates proj:epsg
                mean_cloud_cover=sum(float(p["eo:cloud_cover"]) for p in props) / len(props),
            )
        )
    return tuple(out)


def _bands(item: pystac.Item) -> tuple[BandSummary, ...]:
    import rasterio

    out = []
    for key, asset in item.assets.items():
        with rasterio.open(asset.get_absolute_href()) as src:
            eo = asset.extra_fields.get("eo:bands") or [{"name": "SCL"}]
            rb = asset.extra_fields.get("raster:bands") or [{}]
            out.append(
                BandSummary(
                    asset=key,
                    band=str(eo[0]["name"]),
                    resolution_m=float(src.res[0]),
                    shape=(src.height, src.width),
                    dtype=str(src.dtypes[0]),
                    offset=float(rb[0].get("offset", 0.0)),
                )
            )
    return tuple(out)


def summarize(catalog: DemoCatalog) -> DemoSummary:
    """Open ``catalog`` with pystac, each asset of its first item with rasterio, and sum sizes."""
    items = sorted(catalog.open().get_items(recursive=True), key=lambda i: i.id)
    files = [p for p in catalog.root.rglob("*") if p.is_file()]
    return DemoSummary(
        catalog_path=catalog.catalog_path,
        mines=_mines(items),
        bands=_bands(items[0]) if items else (),
        items=len(items),
        files=len(files),
        size_bytes=sum(p.stat().st_size for p in files),
    )


def format_summary(s: DemoSummary) -> list[str]:
    """Human-readable lines of ``s``."""
    lines = [f"catalog: {s.catalog_path}", f"mines: {len(s.mines)}, items: {s.items}"]
    for m in s.mines:
        lines.append(
            f"  {m.mine_id:<24} {m.items:>3} items  {m.first} .. {m.last}  EPSG:{m.epsg}  "
            f"baselines {', '.join(m.baselines)}  mean cloud {m.mean_cloud_cover:.0f}%"
        )
    lines.append("bands (first item, read with rasterio):")
    for b in s.bands:
        lines.append(
            f"  {b.asset:<9} {b.band:<4} {b.resolution_m:>4.0f} m  {b.shape[1]}x{b.shape[0]} px  {b.dtype}"
        )
    lines.append(f"size on disk: {s.size_bytes / 1e6:.1f} MB in {s.files} files")
    return lines
