"""A small stand-in registry of the four demo mines, for tests and for trying the demo on a
registry folder of one's own. Coordinates and AOIs are approximate (a few km); the bundled
registry (``aoi/``) holds the real ones."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from geomon.demo.options import DEMO_MINES
from geomon.registry import Registry
from geomon.registry.schema import OWNERSHIP_COLUMNS

__all__ = ["SAMPLE_MINES", "sample_registry"]

#: mine_id -> (name, country, lon, lat, AOI radius m, commodities, mine_type, ecozone)
SAMPLE_MINES: dict[str, tuple[str, str, float, float, float, list[str], str, str]] = {
    "kamoto": (
        "Kamoto (KOV) copper-cobalt mine",
        "COD",
        25.40,
        -10.72,
        1700.0,
        ["copper", "cobalt"],
        "open_pit",
        "tropical dry forest",
    ),
    "murrin_murrin": (
        "Murrin Murrin nickel-cobalt operation",
        "AUS",
        121.89,
        -28.77,
        1500.0,
        ["nickel", "cobalt"],
        "open_pit_laterite",
        "subtropical desert",
    ),
    "salar_de_atacama_sqm": (
        "Salar de Atacama (SQM) lithium brine operation",
        "CHL",
        -68.40,
        -23.62,
        2500.0,
        ["lithium", "potash"],
        "brine",
        "subtropical desert",
    ),
    "weda_bay": (
        "Weda Bay nickel mine",
        "IDN",
        127.95,
        0.48,
        1500.0,
        ["nickel"],
        "open_pit_laterite",
        "tropical rainforest",
    ),
}


def sample_registry(mine_ids: tuple[str, ...] = DEMO_MINES) -> Registry:
    """A :class:`Registry` of ``mine_ids`` (a subset of :data:`SAMPLE_MINES`) with round AOIs."""
    rows, geoms = [], []
    for mid in mine_ids:
        name, country, lon, lat, radius, commodities, mine_type, eco = SAMPLE_MINES[mid]
        utm = gpd.GeoSeries([Point(lon, lat)], crs=4326).estimate_utm_crs()
        aoi = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(utm).buffer(radius).to_crs(4326)
        geoms.append(aoi.iloc[0])
        rows.append(
            {
                "mine_id": mid,
                "name": name,
                "country": country,
                "commodities": commodities,
                "status": "operating",
                "source": "geomon demo sample (approximate)",
                "coordinate_accuracy": "approximate",
                "mine_type": mine_type,
                "ecozone": eco,
            }
        )
    mines = gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)
    own = pd.DataFrame({c: pd.Series(dtype=object) for c in OWNERSHIP_COLUMNS})
    return Registry(mines, own)
