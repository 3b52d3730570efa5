"""A folder of GeoTIFFs, one file per band and date (as download tools export them).

Each date becomes an in-memory STAC item whose assets are that date's files, so the folder is
read by the same odc-stac loader as catalogs: any CRS (EPSG:4326 included), any byte order,
tiny files, missing bands. Without an SCL file the spectral fallback mask is used.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pystac
import rasterio
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox
from rasterio.warp import transform_bounds

from geomon.errors import ConfigError
from geomon.imagery._bands import BANDS, S2_BASELINE_04_START, S2_OFFSET_04, canonical_band
from geomon.imagery._stac import StacNative, filter_items, load_stac
from geomon.imagery._types import LoadOptions, Query, Scene

__all__ = ["DEFAULT_PATTERN", "FolderSource", "compile_pattern"]

#: matches ``2019-09-01-00:00_2019-09-01-23:59_Sentinel-2_L2A_B04_(Raw).tiff`` and ``20190901_B04.tif``
DEFAULT_PATTERN = r"(?P<date>\d{4}-?\d{2}-?\d{2}).*[_-](?P<band>B\d{1,2}A?|SCL|[a-z]+\d*)[_.]"
_NICE_RESOLUTIONS = (10.0, 20.0, 30.0, 60.0)


def compile_pattern(pattern: str | None) -> re.Pattern[str]:
    """A regex with groups ``date`` and ``band``, or a template such as
    ``{date}*_{band}_(Raw).tiff`` (``*`` matches anything)."""
    text = pattern or DEFAULT_PATTERN
    if "{date}" in text or "{band}" in text:
        parts = re.split(r"(\{date\}|\{band\}|\*)", text)
        table = {
            "{date}": r"(?P<date>\d{4}-?\d{2}-?\d{2})",
            "{band}": r"(?P<band>[A-Za-z0-9]+)",
            "*": ".*",
        }
        text = "".join(table.get(p, re.escape(p)) for p in parts) + "$"
    try:
        compiled = re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(
            f"bad filename pattern {pattern!r}: {exc}; see 'geomon imagery --help'"
        ) from exc
    if not {"date", "band"} <= set(compiled.groupindex):
        raise ConfigError(
            f"filename pattern {pattern!r} needs both {{date}} and {{band}} (or (?P<date>) and (?P<band>))"
        )
    return compiled


def _parse_date(text: str) -> dt.date:
    return dt.datetime.strptime(text.replace("-", ""), "%Y%m%d").date()


def _metres(res: float, crs: Any, lat: float) -> float:
    metres = res * 111_320.0 * math.cos(math.radians(lat)) if crs.is_geographic else res
    nice = next((n for n in _NICE_RESOLUTIONS if abs(metres - n) / n < 0.05), None)
    return nice or round(metres, 1)


def _asset(path: Path) -> tuple[pystac.Asset, shapely.Polygon, float]:
    with rasterio.open(path) as src:
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        extra = {
            "proj:code": src.crs.to_string(),
            "proj:shape": [src.height, src.width],
            "proj:transform": list(src.transform)[:6],
            "raster:bands": [{"data_type": src.dtypes[0], "nodata": src.nodata}],
        }
        res = _metres(abs(src.transform.a), src.crs, (bounds[1] + bounds[3]) / 2)
    asset = pystac.Asset(str(path), media_type="image/tiff", roles=["data"], extra_fields=extra)
    return asset, shapely.box(*bounds), res


class FolderSource:
    """One GeoTIFF per band and date in ``folder``; names parsed with ``pattern``.

    ``scale``/``offset`` turn stored values into reflectance (default: 1e-4 for integer files,
    1 for float files). ``baseline_offset`` applies Sentinel-2's -0.1 to dates from 2022-01-25
    for exports that did not harmonise values (most tools do)."""

    def __init__(
        self,
        folder: str | Path,
        pattern: str | None = None,
        *,
        scale: float | None = None,
        offset: float = 0.0,
        baseline_offset: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self.pattern = compile_pattern(pattern)
        self.scale, self.offset, self.baseline_offset = scale, offset, baseline_offset
        self._items: list[pystac.Item] | None = None

    @property
    def name(self) -> str:
        """``files:DIR``."""
        return f"files:{self.folder}"

    def _files(self) -> dict[dt.date, dict[str, Path]]:
        if not self.folder.is_dir():
            raise ConfigError(f"no folder {self.folder}; pass files:DIR with an existing folder")
        found: dict[dt.date, dict[str, Path]] = {}
        for path in sorted(self.folder.iterdir()):
            match = self.pattern.search(path.name)
            band = canonical_band(match.group("band")) if match else None
            if match and band and path.suffix.lower() in (".tif", ".tiff"):
                found.setdefault(_parse_date(match.group("date")), {})[band] = path
        return found

    def items(self) -> list[pystac.Item]:
        """One in-memory STAC item per date (read once)."""
        if self._items is None:
            self._items = [self._item(day, files) for day, files in sorted(self._files().items())]
        return self._items

    def _item(self, day: dt.date, files: dict[str, Path]) -> pystac.Item:
        parts = {band: _asset(path) for band, path in files.items()}
        footprint = shapely.union_all([p[1] for p in parts.values()])
        when = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        props = {"platform": "sentinel-2", "geomon:resolution": {b: p[2] for b, p in parts.items()}}
        item = pystac.Item(
            f"files:{day.isoformat()}",
            shapely.geometry.mapping(footprint),
            list(footprint.bounds),
            when,
            props,
        )
        item.stac_extensions = ["https://stac-extensions.github.io/projection/v2.0.0/schema.json"]
        for band, (asset, _, _) in parts.items():
            item.add_asset(band, asset)
        return item

    def _scene(self, scene: Scene) -> Scene:
        item: pystac.Item = scene.native.item
        first = item.assets[scene.bands[0]].extra_fields["raster:bands"][0]["data_type"]
        scale = self.scale or (1e-4 if first.startswith(("uint", "int")) else 1.0)
        late = self.baseline_offset and scene.datetime.date() >= S2_BASELINE_04_START
        offset = self.offset + (S2_OFFSET_04 if late else 0.0)
        resolution = tuple(item.properties["geomon:resolution"].items())
        assets = tuple((b, b) for b in (*BANDS, "scl") if b in item.assets)
        return Scene(
            id=scene.id,
            datetime=scene.datetime,
            sensor="sentinel-2",
            bands=scene.bands,
            resolution=resolution,
            platform="files",
            mask_layer="scl" if "scl" in item.assets else None,
            scale=scale,
            offset=offset,
            scaling_source="files",
            native=StacNative(item, assets),
        )

    def search(self, query: Query) -> list[Scene]:
        """Dates whose files cover the query's area."""
        return [self._scene(s) for s in filter_items(self.items(), query)]

    def load(
        self, scenes: Sequence[Scene], bands: Sequence[str], geobox: GeoBox, options: LoadOptions
    ) -> xr.Dataset:
        """See :class:`ImagerySource`."""
        return load_stac(scenes, bands, geobox, options)
