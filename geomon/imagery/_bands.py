"""Canonical band names, asset aliases per sensor, and the rules that turn DN into reflectance."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BANDS",
    "LANDSAT_ALIASES",
    "S2_ALIASES",
    "S2_NATIVE_RESOLUTION",
    "Scaling",
    "canonical_band",
    "item_scaling",
]

#: the contract's band names, in order
BANDS: tuple[str, ...] = (
    "blue",
    "green",
    "red",
    "nir",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir08",
    "swir16",
    "swir22",
)

#: Sentinel-2 native resolution (m) per canonical band (and the SCL mask band)
S2_NATIVE_RESOLUTION: dict[str, float] = {
    "blue": 10.0,
    "green": 10.0,
    "red": 10.0,
    "nir": 10.0,
    "rededge1": 20.0,
    "rededge2": 20.0,
    "rededge3": 20.0,
    "nir08": 20.0,
    "swir16": 20.0,
    "swir22": 20.0,
    "scl": 20.0,
}

#: canonical name -> asset keys seen in the wild (Earth Search keys, then Planetary Computer's)
S2_ALIASES: dict[str, tuple[str, ...]] = {
    "blue": ("blue", "B02"),
    "green": ("green", "B03"),
    "red": ("red", "B04"),
    "nir": ("nir", "B08"),
    "rededge1": ("rededge1", "B05"),
    "rededge2": ("rededge2", "B06"),
    "rededge3": ("rededge3", "B07"),
    "nir08": ("nir08", "B8A"),
    "swir16": ("swir16", "B11"),
    "swir22": ("swir22", "B12"),
    "scl": ("scl", "SCL"),
}

#: Landsat 8/9 Collection 2 Level-2. Its only NIR band (B5, 0.85-0.88 um) serves as ``nir`` and ``nir08``.
LANDSAT_ALIASES: dict[str, tuple[str, ...]] = {
    "blue": ("blue", "SR_B2"),
    "green": ("green", "SR_B3"),
    "red": ("red", "SR_B4"),
    "nir": ("nir08", "SR_B5", "nir"),
    "nir08": ("nir08", "SR_B5"),
    "swir16": ("swir16", "SR_B6"),
    "swir22": ("swir22", "SR_B7"),
    "qa_pixel": ("qa_pixel", "QA_PIXEL"),
}

_BAND_NUMBER = re.compile(r"^B0?(\d{1,2}A?)$", re.IGNORECASE)

#: first day of Sentinel-2 processing baseline 04.00 (BOA_ADD_OFFSET = -1000)
S2_BASELINE_04_START = dt.date(2022, 1, 25)
S2_SCALE = 1e-4
S2_OFFSET_04 = -0.1
LANDSAT_SCALE = 2.75e-5
LANDSAT_OFFSET = -0.2


@dataclass(frozen=True)
class Scaling:
    """Reflectance = DN * scale + offset, for one item's reflectance bands."""

    scale: float
    """Multiplier applied to the stored digital number."""
    offset: float
    """Added after scaling (Sentinel-2 baseline >= 04.00: -0.1; Landsat C2 L2: -0.2)."""
    source: str
    """Where the numbers came from: ``raster:bands``, ``s2:processing_baseline``, ``date`` or ``landsat-c2``."""


def _normalise_band_number(name: str) -> str:
    match = _BAND_NUMBER.match(name)
    if not match:
        return name
    number = match.group(1).upper()
    return "B8A" if number == "8A" else f"B{int(number):02d}"


def canonical_band(name: str, aliases: Mapping[str, tuple[str, ...]] = S2_ALIASES) -> str | None:
    """The canonical name of an asset or file band name (``B04``, ``b4``, ``red``), or None."""
    low = _normalise_band_number(name.strip()).lower()
    for canon, keys in aliases.items():
        if low == canon or low in (k.lower() for k in keys):
            return canon
    return None


def _raster_scaling(asset: Mapping[str, Any]) -> Scaling | None:
    bands = asset.get("raster:bands") or asset.get("bands") or []
    if not bands or not isinstance(bands[0], Mapping):
        return None
    first = bands[0]
    scale, offset = first.get("scale"), first.get("offset")
    if scale is None and offset is None:
        return None
    return Scaling(float(1.0 if scale is None else scale), float(offset or 0.0), "raster:bands")


def _s2_scaling(properties: Mapping[str, Any], when: dt.date) -> Scaling:
    if properties.get("earthsearch:boa_offset_applied") is True:
        return Scaling(S2_SCALE, 0.0, "earthsearch:boa_offset_applied")
    baseline = properties.get("s2:processing_baseline")
    if baseline is not None:
        offset = S2_OFFSET_04 if float(str(baseline)) >= 4.0 else 0.0
        return Scaling(S2_SCALE, offset, "s2:processing_baseline")
    offset = S2_OFFSET_04 if when >= S2_BASELINE_04_START else 0.0
    return Scaling(S2_SCALE, offset, "date")


def item_scaling(
    sensor: str,
    properties: Mapping[str, Any],
    asset: Mapping[str, Any] | None,
    when: dt.date,
) -> Scaling:
    """Scale and offset of one item: ``raster:bands`` when present, else the sensor's rules."""
    found = _raster_scaling(asset) if asset is not None else None
    if found is not None:
        return found
    if sensor == "landsat":
        return Scaling(LANDSAT_SCALE, LANDSAT_OFFSET, "landsat-c2")
    return _s2_scaling(properties, when)
