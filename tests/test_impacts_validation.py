"""Bad inputs give one-line errors naming the layer and the fix; factor tables name their sources."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from test_impacts_helpers import box, make_footprint, make_layer, make_mine

from geomon.errors import (
    ConfigError,
    FactorTableError,
    MissingEcozoneError,
    ReferenceLayerError,
)
from geomon.impacts import (
    IMPACT_COLUMNS,
    FactorTables,
    ImpactLayers,
    ImpactParams,
    compute_impacts,
    describe_factor_tables,
    load_layers,
)

FP = make_footprint([{"geometry": box(0, 0, 100, 100)}])


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_layer_without_crs():
    pa = make_layer([(box(0, 0, 10, 10), {})]).set_crs(None, allow_override=True)
    with pytest.raises(ReferenceLayerError) as exc:
        ImpactLayers(protected_areas=pa)
    assert _one_line(exc).startswith("protected_areas layer: no CRS; set it with")


def test_layer_with_wrong_crs():
    pa = make_layer([(box(0, 0, 10, 10), {})]).to_crs(32735).set_crs(4326, allow_override=True)
    with pytest.raises(ReferenceLayerError, match=r"CRS says EPSG:4326 .* set the true CRS"):
        ImpactLayers(protected_areas=pa)


def test_layer_missing_columns():
    pa = make_layer([(box(0, 0, 10, 10), {})]).drop(columns=["IUCN_CAT"])
    with pytest.raises(ReferenceLayerError, match=r"missing column\(s\) IUCN_CAT; .*WDPA"):
        ImpactLayers(protected_areas=pa)
    kba = make_layer([(box(0, 0, 10, 10), {})]).drop(columns=["NAME"])
    with pytest.raises(ReferenceLayerError, match=r"^kba layer: missing column"):
        ImpactLayers(kba=kba)


def test_layer_invalid_geometry_and_repair():
    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    pa = gpd.GeoDataFrame(
        {"WDPAID": [1], "NAME": ["Bowtie"], "IUCN_CAT": ["II"]}, geometry=[bowtie], crs=4326
    )
    with pytest.raises(ReferenceLayerError) as exc:
        ImpactLayers(world_heritage=pa)
    assert "world_heritage layer: 1 invalid geometries" in _one_line(exc)
    assert "make_valid" in str(exc.value)
    fixed = ImpactLayers(world_heritage=pa, repair=True).world_heritage
    assert fixed is not None and fixed.geometry.is_valid.all()


def test_layer_of_points_or_empty_rows():
    pts = gpd.GeoDataFrame(
        {"WDPAID": [1], "NAME": ["P"], "IUCN_CAT": ["II"]}, geometry=[shapely.Point(1, 1)], crs=4326
    )
    with pytest.raises(ReferenceLayerError, match="non-polygon"):
        ImpactLayers(protected_areas=pts)
    empty = pts.set_geometry([None])
    with pytest.raises(ReferenceLayerError, match="without geometry"):
        ImpactLayers(protected_areas=empty)


def test_layer_not_a_geodataframe_and_missing_file(tmp_path: Path):
    with pytest.raises(ReferenceLayerError, match="expected a GeoDataFrame"):
        ImpactLayers(kba="kba.geojson")  # type: ignore[arg-type]
    with pytest.raises(ReferenceLayerError, match="not found; check the path"):
        load_layers(protected_areas=tmp_path / "nope.geojson")


def test_layer_from_file(tmp_path: Path):
    path = tmp_path / "pa.geojson"
    make_layer([(box(0, 0, 100, 100), {})]).to_file(path)
    assert len(load_layers(protected_areas=path).protected_areas) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"ecozone": None}, "ecozones layer: mine 'm1' has no ecozone; add a row"),
        ({"ecozone": float("nan")}, "has no ecozone"),
        ({"continent": ""}, "has no continent"),
        ({"ecozone": "Jungle"}, "unknown ecozone 'Jungle'; use an FAO/IPCC global ecological zone"),
    ],
)
def test_mine_without_ecozone(change, match):
    mine = {**make_mine(), **change}
    with pytest.raises(MissingEcozoneError, match=match):
        compute_impacts(FP, mine)


def test_mine_without_aoi():
    mine = {**make_mine(), "geometry": None}
    with pytest.raises(ReferenceLayerError, match="has no AOI geometry"):
        compute_impacts(FP, mine)


def test_bad_footprints():
    with pytest.raises(ReferenceLayerError, match="footprint of 'm1': no CRS"):
        compute_impacts(FP.set_crs(None, allow_override=True), make_mine())
    with pytest.raises(ReferenceLayerError, match=r"missing column\(s\) first_seen"):
        compute_impacts(FP.drop(columns=["first_seen"]), make_mine())
    with pytest.raises(ReferenceLayerError, match="unknown status gone"):
        compute_impacts(FP.assign(status="gone"), make_mine())
    with pytest.raises(ReferenceLayerError, match="unknown baseline_class forest"):
        compute_impacts(FP.assign(baseline_class="forest"), make_mine())
    with pytest.raises(ReferenceLayerError, match="period label 'summer' not understood"):
        compute_impacts(FP.assign(first_seen="summer"), make_mine())


def test_bad_params():
    with pytest.raises(ConfigError, match="ImpactParams: forest_state must be one of"):
        ImpactParams(forest_state="old")
    with pytest.raises(ConfigError, match="interval"):
        ImpactParams(interval=90)
    with pytest.raises(ConfigError, match="halo_biome 'desert' unknown"):
        compute_impacts(FP, make_mine(), params=ImpactParams(halo_biome="desert", mc_draws=200))


def test_bad_factor_table_override(tmp_path: Path):
    (tmp_path / "globio_msa_land_use.csv").write_text("land_use,msa\nbuilt_up,0.05\n")
    with pytest.raises(FactorTableError, match=r"header line\(s\) # table:, # version:, # source:"):
        FactorTables.load(tmp_path)


def test_bundled_tables_have_versions_and_a_source_per_value():
    tables = FactorTables.load()
    for stem, table in tables.tables.items():
        assert table.version and table.source, stem
        if "source" in table.frame.columns:
            assert (table.frame["source"].str.len() > 0).all(), stem
    labels = tables.labels()
    assert "ipcc2019_agb_forest@1.0.0" in labels and "climate_trace_ore_ef@1.0.0" in labels


def test_records_have_the_contract_columns():
    out = compute_impacts(FP, make_mine(), params=ImpactParams(mc_draws=200, halo=False))
    assert tuple(out.columns) == IMPACT_COLUMNS
    for column in (
        "co2e_t_mean",
        "co2e_t_low",
        "co2e_t_high",
        "msa_ha_lost",
        "ha_in_protected",
        "ha_within_buffer",
        "distance_to_nearest_pa_m",
        "ha_natural_cleared_after_cutoff",
        "edge_density_before",
        "edge_density_after",
        "core_area_ha_before",
        "core_area_ha_after",
        "factor_tables",
    ):
        assert column in out.columns


def test_empty_footprint_gives_no_records():
    out = compute_impacts(FP.iloc[0:0], make_mine())
    assert out.empty and tuple(out.columns) == IMPACT_COLUMNS


def test_describe_factor_tables_reads_sources():
    labels = compute_impacts(FP, make_mine(), params=ImpactParams(mc_draws=200, halo=False))
    described = describe_factor_tables(labels.iloc[0]["factor_tables"])
    names = [d["name"] for d in described]
    assert "ipcc2019_agb_forest" in names and "globio_msa_land_use" in names
    agb = described[names.index("ipcc2019_agb_forest")]
    assert agb["version"] == "1.0.0" and "Table 4.7" in agb["source"]
    assert describe_factor_tables("nope@9") == [
        {"name": "nope", "version": "9", "source": "", "title": ""}
    ]
