"""The demo's static STAC catalog, written the way Earth Search v1 describes Sentinel-2 L2A.

See docs/demo-catalog.md for the convention this module writes and ``geomon.imagery`` reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pystac
from pyproj import Transformer
from pystac.extensions.eo import EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension
from pystac.extensions.view import ViewExtension

from geomon.demo.cog import COG_MEDIA_TYPE
from geomon.demo.options import GENERATOR_VERSION, DemoConfig
from geomon.demo.scene import Acquisition
from geomon.demo.sites import Site
from geomon.demo.spectra import BANDS, Band

__all__ = [
    "COLLECTION_ID",
    "S2_EXTENSION",
    "ItemRecord",
    "asset_path",
    "item_id",
    "truth_path",
    "write_catalog",
]

COLLECTION_ID = "sentinel-2-l2a-demo"
S2_EXTENSION = "https://stac-extensions.github.io/sentinel-2/v1.0.0/schema.json"
EXTENSIONS = [
    EOExtension.get_schema_uri(),
    ProjectionExtension.get_schema_uri(),
    RasterExtension.get_schema_uri(),
    ViewExtension.get_schema_uri(),
    S2_EXTENSION,
]


@dataclass(frozen=True)
class ItemRecord:
    """What the generator learned about one written scene."""

    mine_id: str
    item_id: str
    acquisition: Acquisition
    cloud_cover: float
    nodata_percent: float


def item_id(mine_id: str, acq: Acquisition) -> str:
    """``S2DEMO_<mine_id>_<YYYYMMDD>``."""
    return f"S2DEMO_{mine_id}_{acq.item_suffix}"


def asset_path(root: Path, mine_id: str, item: str, asset: str) -> Path:
    """Where the COG of ``asset`` of ``item`` lives."""
    return root / mine_id / item / f"{asset}.tif"


def truth_path(root: Path, mine_id: str, item: str) -> Path:
    """Where the ground-truth raster of ``item`` lives (not a STAC asset)."""
    return root / "truth" / mine_id / f"{item}_truth.tif"


def _footprint(site: Site) -> tuple[dict[str, Any], list[float]]:
    left, bottom, right, top = site.footprint_utm
    tr = Transformer.from_crs(site.epsg, 4326, always_xy=True)
    xs = [left, right, right, left, left]
    ys = [bottom, bottom, top, top, bottom]
    lon, lat = tr.transform(xs, ys)
    ring = [[round(x, 7), round(y, 7)] for x, y in zip(lon, lat, strict=True)]
    bbox = [min(lon), min(lat), max(lon), max(lat)]
    return {"type": "Polygon", "coordinates": [ring]}, [round(v, 7) for v in bbox]


def _asset(site: Site, band: Band | None, href: Path, offset: float) -> pystac.Asset:
    res = band.resolution_m if band else 20
    size = site.size * 10 // res
    t = site.transform
    fields: dict[str, Any] = {
        "proj:shape": [size, size],
        "proj:transform": [float(res), 0.0, t.c, 0.0, -float(res), t.f, 0.0, 0.0, 1.0],
        "gsd": res,
    }
    if band is None:
        fields["raster:bands"] = [{"data_type": "uint8", "nodata": 0, "spatial_resolution": 20}]
        title = "Scene classification map (SCL)"
    else:
        fields["eo:bands"] = [
            {
                "name": band.code,
                "common_name": band.common_name,
                "center_wavelength": band.center_um,
                "full_width_half_max": band.fwhm_um,
            }
        ]
        fields["raster:bands"] = [
            {
                "data_type": "uint16",
                "nodata": 0,
                "scale": 0.0001,
                "offset": offset,
                "spatial_resolution": res,
            }
        ]
        title = f"{band.common_name.capitalize()} ({band.code}) - {res}m"
    return pystac.Asset(
        href=str(href), media_type=COG_MEDIA_TYPE, title=title, roles=["data"], extra_fields=fields
    )


def _item(root: Path, site: Site, rec: ItemRecord) -> pystac.Item:
    acq = rec.acquisition
    geometry, bbox = _footprint(site)
    offset = -0.1 if acq.boa_offset else 0.0
    props: dict[str, Any] = {
        "platform": acq.platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "gsd": 10,
        "eo:cloud_cover": rec.cloud_cover,
        "s2:processing_baseline": acq.baseline,
        "s2:nodata_pixel_percentage": rec.nodata_percent,
        "earthsearch:boa_offset_applied": False,
        "proj:code": f"EPSG:{site.epsg}",
        "proj:epsg": site.epsg,
        "view:sun_elevation": round(acq.sun_elevation, 3),
        "view:sun_azimuth": round(acq.sun_azimuth, 3),
        "geomon:mine_id": site.mine_id,
        "geomon:synthetic": True,
        "geomon:generator_version": GENERATOR_VERSION,
        "geomon:truth_href": f"../../truth/{site.mine_id}/{rec.item_id}_truth.tif",
    }
    item = pystac.Item(
        id=rec.item_id,
        geometry=geometry,
        bbox=bbox,
        datetime=acq.when,
        properties=props,
        stac_extensions=list(EXTENSIONS),
        collection=COLLECTION_ID,
    )
    for band in BANDS:
        item.add_asset(
            band.name,
            _asset(site, band, asset_path(root, site.mine_id, rec.item_id, band.name), offset),
        )
    item.add_asset("scl", _asset(site, None, asset_path(root, site.mine_id, rec.item_id, "scl"), 0))
    item.set_self_href(str(root / site.mine_id / rec.item_id / f"{rec.item_id}.json"))
    item.make_asset_hrefs_relative()
    return item


def _collection(items: list[pystac.Item]) -> pystac.Collection:
    bboxes = [it.bbox for it in items if it.bbox]
    union = [
        min(b[0] for b in bboxes),
        min(b[1] for b in bboxes),
        max(b[2] for b in bboxes),
        max(b[3] for b in bboxes),
    ]
    times = sorted(it.datetime for it in items if it.datetime)
    return pystac.Collection(
        id=COLLECTION_ID,
        description=(
            "Synthetic Sentinel-2 L2A time series over critical-mineral mines, generated by "
            "geomon.demo (not real imagery). Mirrors Earth Search v1 sentinel-2-l2a items."
        ),
        extent=pystac.Extent(
            pystac.SpatialExtent([union]), pystac.TemporalExtent([[times[0], times[-1]]])
        ),
        title="geomon demo: synthetic Sentinel-2 L2A",
        license="Apache-2.0",
        summaries=pystac.Summaries(
            {
                "platform": sorted({str(it.properties["platform"]) for it in items}),
                "constellation": ["sentinel-2"],
                "instruments": ["msi"],
                "gsd": [10, 20],
            }
        ),
    )


def write_catalog(
    root: Path, sites: list[Site], records: list[ItemRecord], config: DemoConfig, fingerprint: str
) -> Path:
    """Write catalog.json, the collection, every item and demo.json under ``root``."""
    by_id = {s.mine_id: s for s in sites}
    items = [_item(root, by_id[r.mine_id], r) for r in records]
    catalog = pystac.Catalog(
        id="geomon-demo",
        description="geomon's embedded demo catalog (synthetic Sentinel-2 L2A over mines).",
        title="geomon demo catalog",
    )
    collection = _collection(items)
    catalog.add_child(collection)
    catalog.set_self_href(str(root / "catalog.json"))
    collection.set_self_href(str(root / COLLECTION_ID / "collection.json"))
    for it in items:
        href = it.get_self_href()
        collection.add_item(it)
        it.set_self_href(href)
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    _write_summary(root, sites, records, config, fingerprint)
    return root / "catalog.json"


def _write_summary(
    root: Path, sites: list[Site], records: list[ItemRecord], config: DemoConfig, fingerprint: str
) -> None:
    mines: dict[str, Any] = {}
    for site in sites:
        recs = [r for r in records if r.mine_id == site.mine_id]
        mines[site.mine_id] = {
            "name": site.name,
            "epsg": site.epsg,
            "biome": site.biome.name,
            "style": site.style,
            "size_px": site.size,
            "items": [
                {
                    "id": r.item_id,
                    "datetime": r.acquisition.when.isoformat(),
                    "platform": r.acquisition.platform,
                    "processing_baseline": r.acquisition.baseline,
                    "cloud_cover": r.cloud_cover,
                }
                for r in recs
            ],
        }
    doc = {
        "generator": "geomon.demo",
        "generator_version": GENERATOR_VERSION,
        "fingerprint": fingerprint,
        "config": config.to_dict(),
        "collection": COLLECTION_ID,
        "bands": [{"asset": b.name, "band": b.code, "resolution_m": b.resolution_m} for b in BANDS]
        + [{"asset": "scl", "band": "SCL", "resolution_m": 20}],
        "mines": mines,
    }
    (root / "demo.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
