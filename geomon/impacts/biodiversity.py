"""Mean species abundance (MSA) lost on the footprint and in the infrastructure halo around it.

Footprint: MSA·ha lost = Σ area x (MSA before - MSA after). GLOBIO has no mining class, so mine land
(pits, dumps, tailings, ponds) gets GLOBIO's built-up value, 0.05. It is a state, not a flux: the
loss of all land disturbed as of the period (``new`` and ``persisting``) against the baseline.

Halo: land in distance band k around the disturbance keeps ``m_k`` of its MSA, so it loses
area x background MSA x (1 - m_k). Bands are measured from the nearest disturbance of *any* mine
(a point near two mines is in the band of the closer one), and land that falls in the same band of
several mines is split equally between them, so that no hectare is counted twice. Halo loss is
reported against the baseline: halo(disturbance now) - halo(disturbance already there at baseline).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from geomon.errors import ConfigError
from geomon.impacts._geo import GrowCache, union
from geomon.impacts._tables import FactorTables
from geomon.impacts.params import ImpactParams

__all__ = [
    "MINE_LAND_USE",
    "MSA_TABLES",
    "attributed_halo_ha",
    "choose_halo_biome",
    "footprint_msa",
    "halo_loss",
]

MSA_TABLES = ("globio_msa_land_use", "cover_classes")
HALO_TABLES = ("globio_infrastructure_halo", "ecozone_halo_biome")
#: GLOBIO land use given to mine land (GLOBIO has no mining class)
MINE_LAND_USE = "built_up"


def _land_use(cover_row_land_use: str, cover_key: str, params: ImpactParams) -> str:
    if cover_key == "forest" and params.forest_state != "primary":
        return "secondary_forest"
    return cover_row_land_use


def footprint_msa(
    rows: pd.DataFrame, tables: FactorTables, params: ImpactParams
) -> tuple[float, float, list[str]]:
    """(MSA·ha lost, ha with no MSA factor, notes) of land disturbed as of this period."""
    disturbed = rows[rows["status"].isin(["new", "persisting"])]
    after = tables.msa(MINE_LAND_USE)
    if after is None:
        raise ConfigError("factor table globio_msa_land_use has no built_up row; restore it")
    lost = no_factor = 0.0
    notes = [f"mine land valued as GLOBIO built-up (MSA {after:g}): GLOBIO has no mining class"]
    grouped = disturbed.groupby(["cover_key", "globio_land_use"], dropna=False)["area_ha"].sum()
    for (key, land_use), ha in grouped.items():
        before = tables.msa(_land_use(str(land_use), str(key), params)) if land_use else None
        if before is None:
            no_factor += float(ha)
            notes.append(f"MSA of {ha:.1f} ha {key}: no factor (no GLOBIO land use for it)")
            continue
        lost += float(ha) * max(before - after, 0.0)
    return lost, no_factor, notes


def choose_halo_biome(
    rows: pd.DataFrame, ecozone: str, tables: FactorTables, params: ImpactParams
) -> str:
    """Halo biome: the params' override, else from the cleared natural cover and the ecozone."""
    known = tables.halo_biomes()
    if params.halo_biome is not None:
        if params.halo_biome not in known:
            raise ConfigError(
                f"ImpactParams.halo_biome '{params.halo_biome}' unknown; use one of {', '.join(known)}"
            )
        return params.halo_biome
    zone = tables.ecozone_row(ecozone) or {}
    natural = rows[rows["cover_key"].isin(["forest", "shrubland", "grassland", "wetland"])]
    if natural.empty:
        return zone.get("default_halo_biome", "crop_grass")
    forest_ha = float(natural.loc[natural["cover_key"] == "forest", "area_ha"].sum())
    if forest_ha * 2 < float(natural["area_ha"].sum()):
        return "crop_grass"
    return "tropical_forest" if zone.get("family") == "tropical" else "temperate_boreal_forest"


def attributed_halo_ha(
    own: BaseGeometry,
    others: Sequence[BaseGeometry],
    bands: Sequence[tuple[float, float, float]],
    cache: GrowCache | None = None,
) -> list[float]:
    """Hectares of each halo band attributed to ``own`` (planar metres CRS), others sharing."""
    geoms = [own, *[g for g in others if not g.is_empty]]
    if own.is_empty:
        return [0.0 for _ in bands]
    cache = cache or GrowCache()

    def buffered(i: int, r: float) -> BaseGeometry:
        return cache.grow(geoms[i], r)

    disturbed = union(geoms)
    out = []
    for inner, outer, _ in bands:
        inside = disturbed if inner <= 0 else union(buffered(i, inner) for i in range(len(geoms)))
        buffers = [buffered(i, outer) for i in range(len(geoms))]
        zone = union(buffers).difference(inside)
        own_piece = zone.intersection(buffers[0])
        claims = [zone.intersection(b) for b in buffers[1:] if b.intersects(own_piece)]
        out.append(_shared_area(own_piece, claims) / 1e4)
    return out


def _shared_area(own: BaseGeometry, claims: Sequence[BaseGeometry]) -> float:
    """Area of ``own`` where each part claimed by n other pieces counts 1/(n+1)."""
    claims = [c for c in claims if not c.is_empty and c.intersection(own).area > 0]
    if not claims:
        return float(own.area)
    claimed = union(claims)
    exclusive = own.difference(claimed).area
    overlap = own.intersection(claimed)
    lines = union([overlap.boundary, *[c.intersection(overlap).boundary for c in claims]])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    shared = 0.0
    for face in faces:
        point = face.representative_point()
        if not overlap.contains(point):
            continue
        n = sum(1 for c in claims if c.contains(point))
        shared += face.area / (1 + n)
    return float(exclusive + shared)


def halo_loss(
    own_now: BaseGeometry,
    others_now: Sequence[BaseGeometry],
    own_base: BaseGeometry,
    others_base: Sequence[BaseGeometry],
    bands: Sequence[tuple[float, float, float]],
    background: float,
    cache: GrowCache | None = None,
) -> float:
    """MSA·ha lost in the halo now, against the halo that was already there at baseline."""
    if not bands:
        return math.nan
    cache = cache or GrowCache()
    now = attributed_halo_ha(own_now, others_now, bands, cache)
    base = attributed_halo_ha(own_base, others_base, bands, cache)
    weights = [1.0 - m for _, _, m in bands]
    loss = sum(w * (a - b) for w, a, b in zip(weights, now, base, strict=True))
    return background * loss
