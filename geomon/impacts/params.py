"""Options of the impact stage (:class:`ImpactParams`) and its reference layers (:class:`ImpactLayers`)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd

from geomon.errors import ConfigError, ReferenceLayerError
from geomon.impacts._validate import validate_layer

__all__ = ["ImpactLayers", "ImpactParams", "load_layers"]

_FOREST_STATES = ("primary", "secondary_gt20", "secondary_le20")
_COVERS = ("forest", "shrubland", "grassland", "wetland", "cropland")


@dataclass(frozen=True)
class ImpactParams:
    """How impacts are computed. Hashable, so Dask can tokenize it; every field has a default."""

    forest_state: str = "primary"
    """Forest state cleared forest is assumed to be in: ``primary`` (default; IPCC Table 4.7 gives
    primary values for every zone), ``secondary_gt20`` or ``secondary_le20`` (only tropical
    rainforest has secondary values; other zones then report "no factor"). Secondary states also
    lower the MSA before clearing to GLOBIO's secondary forest (0.5)."""

    unknown_vegetation_cover: str | None = None
    """Cover assumed where the footprint says ``vegetation`` but ``baseline_cover`` is ``unknown``
    (one of forest, shrubland, grassland, wetland, cropland). None (default): that land's carbon
    and MSA are "no factor" and the result says so."""

    soc_ref_t_c_per_ha: float | None = None
    """Reference soil organic carbon stock (t C/ha, 0-30 cm) of the mine's soils under native
    vegetation. None (default, geomon ships none): soil carbon is "not estimated". A value in the
    mine record's ``soc_ref_t_c_per_ha`` column takes precedence."""

    soc_ref_sd_t_c_per_ha: float | None = None
    """Standard deviation of ``soc_ref_t_c_per_ha``; None = no soil uncertainty propagated."""

    agb_rel_sd_when_unpublished: float | None = None
    """Relative SD assumed for AGB cells whose SD the IPCC table does not publish (e.g. 0.3, the
    lowest relative SD the shipped table does publish). None (default): such cells get a mean but
    no interval (low/high NaN), since a zero-width range would pass a point off as a range."""

    area_ci95_rel: float | None = None
    """Relative half-width of the 95 % confidence interval of the disturbed area, as printed by
    ``geomon evaluate`` (e.g. 0.04 for +/-4 %). None: area uncertainty not propagated."""

    mc_draws: int = 10_000
    """Monte Carlo draws for the CO2e interval."""

    seed: int = 20201231
    """Seed of the Monte Carlo generator: the same inputs and seed give identical intervals."""

    interval: float = 0.90
    """Width of the reported interval (0.90 -> 5th and 95th percentiles)."""

    cutoff_date: date = date(2020, 12, 31)
    """Natural cover first disturbed in a period ending after this date counts as cleared after
    the cut-off (EU Deforestation Regulation date, used here as a flag only)."""

    pa_buffers_m: tuple[float, ...] = (10_000.0,)
    """Buffers around protected areas (m): hectares of footprint within each are reported; the first
    fills ``ha_within_buffer``. Default 10 km (indirect mining impacts, Sonter et al. 2017)."""

    nearest_search_m: float = 500_000.0
    """How far (m) the nearest protected area, KBA or World Heritage site is searched for; farther
    gives NaN with a note (500 km: beyond that the mine's local projection, and the meaning of
    "nearest", no longer hold)."""

    pa_statuses: tuple[str, ...] = ("Designated", "Inscribed", "Established")
    """WDPA ``STATUS`` values counted as protected (when the layer has a STATUS column);
    "Proposed" and "Not Reported" areas are left out, as in WDPA's own statistics."""

    halo: bool = True
    """Count the GLOBIO infrastructure halo around the disturbance in ``msa_ha_lost``."""

    halo_biome: str | None = None
    """Halo biome (tropical_forest, crop_grass, temperate_boreal_forest). None: from the cleared
    natural cover and the ecozone (table geomon_ecozone_halo_biome)."""

    halo_background_msa: float = 1.0
    """MSA of the land around the mine before the halo applies. 1.0 (default) assumes natural land
    and gives the upper bound; lower it where the surroundings are farmed."""

    edge_depth_m: float = 100.0
    """Edge depth (m) for core area. Haddad et al. (2015) use 500 m for forest at landscape scale;
    bundled AOIs are 2-10 km across, where a 500 m depth leaves little core even before mining and
    hides the before/after contrast, so the default is 100 m. Set 500 for landscape-size windows."""

    repair_layers: bool = False
    """Repair invalid reference-layer geometries with shapely.make_valid instead of failing."""

    tables_dir: str | None = None
    """Folder with factor tables replacing the bundled ones of the same file name (None: bundled)."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ConfigError(f"ImpactParams: {problems[0]}")

    def _problems(self) -> list[str]:
        out: list[str] = []
        if self.forest_state not in _FOREST_STATES:
            out.append(f"forest_state must be one of {', '.join(_FOREST_STATES)}")
        if self.unknown_vegetation_cover not in (None, *_COVERS):
            out.append(f"unknown_vegetation_cover must be None or one of {', '.join(_COVERS)}")
        if self.mc_draws < 100:
            out.append("mc_draws must be at least 100")
        if not 0.0 < self.interval < 1.0:
            out.append("interval must be between 0 and 1, e.g. 0.90")
        for name in (
            "soc_ref_t_c_per_ha",
            "soc_ref_sd_t_c_per_ha",
            "area_ci95_rel",
            "agb_rel_sd_when_unpublished",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                out.append(f"{name} must be >= 0")
        if any(b <= 0 for b in self.pa_buffers_m) or not self.pa_buffers_m:
            out.append("pa_buffers_m needs at least one positive distance in metres")
        if self.nearest_search_m < max(self.pa_buffers_m, default=0.0):
            out.append("nearest_search_m must be at least the largest of pa_buffers_m")
        if self.edge_depth_m <= 0:
            out.append("edge_depth_m must be > 0")
        if not 0.0 <= self.halo_background_msa <= 1.0:
            out.append("halo_background_msa must be between 0 and 1")
        return out

    def to_json(self) -> str:
        """Every field as sorted JSON (dates as ISO strings): the parameters of the provenance."""
        values = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self._items()}
        return json.dumps(values, sort_keys=True)

    def _items(self) -> list[tuple[str, Any]]:
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]


@dataclass(frozen=True, eq=False)
class ImpactLayers:
    """Reference layers in WDPA's column layout; each is checked (and moved to EPSG:4326) on creation.

    Compared and hashed by identity: build it once and share it between mines.
    """

    protected_areas: gpd.GeoDataFrame | None = None
    """Protected areas (WDPAID, NAME, IUCN_CAT, optional STATUS, polygons)."""
    kba: gpd.GeoDataFrame | None = None
    """Key Biodiversity Areas (NAME, polygons)."""
    world_heritage: gpd.GeoDataFrame | None = None
    """World Heritage sites (NAME, polygons)."""
    repair: bool = field(default=False, repr=False)
    """Repair invalid geometries instead of failing."""

    def __post_init__(self) -> None:
        for kind in ("protected_areas", "kba", "world_heritage"):
            layer = getattr(self, kind)
            if layer is not None:
                object.__setattr__(self, kind, validate_layer(layer, kind, repair=self.repair))


def load_layers(
    protected_areas: str | Path | None = None,
    kba: str | Path | None = None,
    world_heritage: str | Path | None = None,
    *,
    repair: bool = False,
) -> ImpactLayers:
    """Read and check reference layers from files (GeoJSON, GeoPackage, Shapefile, GeoParquet)."""
    return ImpactLayers(
        protected_areas=_read(protected_areas, "protected_areas"),
        kba=_read(kba, "kba"),
        world_heritage=_read(world_heritage, "world_heritage"),
        repair=repair,
    )


def _read(path: str | Path | None, kind: str) -> gpd.GeoDataFrame | None:
    if path is None:
        return None
    path = Path(path)
    if not path.exists():
        raise ReferenceLayerError(f"{kind} layer: file {path} not found; check the path")
    if path.suffix in (".parquet", ".geoparquet"):
        return gpd.read_parquet(path)
    return gpd.read_file(path)
