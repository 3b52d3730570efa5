"""The demo catalog generator: files, STAC, baselines, truth, SCL, determinism, caching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate

from geomon.config import cache_dir
from geomon.demo import BAND_NAMES, Cover, DemoCatalog, DemoConfig, Sky, build_demo_catalog
from geomon.demo.cog import overview_count, write_cog
from geomon.demo.spectra import COVER_INFO
from geomon.demo.testing import sample_registry
from geomon.errors import ConfigError, NoImageryError
from geomon.registry import Registry

MINES = ("kamoto", "salar_de_atacama_sqm")
# 2021-2022 straddles the baseline change of 2022-01-25; 100 x 100 px scenes keep it fast.
TINY = DemoConfig(
    mine_ids=MINES, start_year=2021, years=2, dates_per_year=2, window_m=1000, cloud_probability=0.0
)
CLOUDY = DemoConfig(
    mine_ids=MINES,
    start_year=2021,
    years=2,
    dates_per_year=3,
    window_m=1200,
    cloud_probability=1.0,
    cirrus_probability=0.8,
    seed=7,
)
EXTENSIONS = {
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/sentinel-2/v1.0.0/schema.json",
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return sample_registry(MINES)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> DemoCatalog:
    return build_demo_catalog(TINY, registry, root=tmp_path_factory.mktemp("demo") / "tiny")


@pytest.fixture(scope="module")
def cloudy(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> DemoCatalog:
    return build_demo_catalog(CLOUDY, registry, root=tmp_path_factory.mktemp("demo") / "cloudy")


def _items(cat: DemoCatalog) -> list[pystac.Item]:
    return sorted(cat.open().get_items(recursive=True), key=lambda i: i.id)


def _read(path: Path | str, band: int = 1) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(band)


def _reflectance(item: pystac.Item, asset: str) -> np.ndarray:
    a = item.assets[asset]
    rb = a.extra_fields["raster:bands"][0]
    dn = _read(a.get_absolute_href()).astype(np.float64)
    return np.where(dn == 0, np.nan, dn * rb["scale"] + rb["offset"])


def _truth(cat: DemoCatalog, item_id: str) -> np.ndarray:
    with rasterio.open(cat.truth_path(item_id)) as src:
        return src.read()


def test_every_asset_and_truth_raster_is_a_valid_cog(tiny: DemoCatalog) -> None:
    paths = [Path(a.get_absolute_href()) for it in _items(tiny) for a in it.assets.values()]
    paths += [tiny.truth_path(i) for ids in tiny.item_ids.values() for i in ids]
    assert len(paths) == 8 * 12
    for path in paths:
        valid, errors, _ = cog_validate(str(path), quiet=True)
        assert valid, (path, errors)
    with rasterio.open(paths[0]) as src:  # blue, 10 m, 100 px: too small for overviews
        assert src.profile["tiled"] and src.res == (10.0, 10.0) and src.crs.to_epsg() == 32735


def test_default_sized_bands_get_internal_overviews(tmp_path: Path) -> None:
    assert (overview_count(400, 400), overview_count(200, 200), overview_count(100, 100)) == (
        2,
        1,
        0,
    )
    path = tmp_path / "b.tif"
    data = np.arange(400 * 400, dtype=np.uint16).reshape(400, 400) % 5000 + 1
    write_cog(path, data, Affine(10, 0, 300000, 0, -10, 8800000), 32735, nodata=0)
    assert cog_validate(str(path), quiet=True)[0]
    with rasterio.open(path) as src:
        assert src.overviews(1) == [2, 4] and src.block_shapes == [(256, 256)]
        assert np.array_equal(src.read(1), data)


def test_stac_layout_and_fields_follow_the_convention(tiny: DemoCatalog) -> None:
    root = tiny.root
    catalog = tiny.open()
    (collection,) = list(catalog.get_children())
    assert collection.id == "sentinel-2-l2a-demo"
    items = _items(tiny)
    assert [i.id for i in items] == sorted(i for ids in tiny.item_ids.values() for i in ids)
    for item in items:
        mine = item.properties["geomon:mine_id"]
        assert item.id.startswith(f"S2DEMO_{mine}_")
        assert Path(item.get_self_href()) == root / mine / item.id / f"{item.id}.json"
        assert set(item.stac_extensions) >= EXTENSIONS
        p = item.properties
        assert p["constellation"] == "sentinel-2" and p["platform"] in {
            "sentinel-2a",
            "sentinel-2b",
        }
        assert p["proj:code"].startswith("EPSG:327") and p["geomon:synthetic"] is True
        assert p["earthsearch:boa_offset_applied"] is False and 0 <= p["eo:cloud_cover"] <= 100
        assert set(item.assets) == {*BAND_NAMES, "scl"}
        raw = json.loads(Path(item.get_self_href()).read_text())
        assert raw["properties"]["proj:epsg"] == int(p["proj:code"][5:])
        for key, asset in item.assets.items():
            assert asset.media_type == "image/tiff; application=geotiff; profile=cloud-optimized"
            assert asset.roles == ["data"] and raw["assets"][key]["href"] == f"./{key}.tif"
            rb = asset.extra_fields["raster:bands"][0]
            shape = asset.extra_fields["proj:shape"]
            assert shape == ([100, 100] if rb.get("spatial_resolution") == 10 else [50, 50])
            if key == "scl":
                assert rb == {"data_type": "uint8", "nodata": 0, "spatial_resolution": 20}
            else:
                assert rb["data_type"] == "uint16" and rb["nodata"] == 0 and rb["scale"] == 0.0001
                assert asset.extra_fields["eo:bands"][0]["name"].startswith("B")


def test_baseline_04_offset_is_declared_and_decodes_continuously(tiny: DemoCatalog) -> None:
    for mine, ids in tiny.item_ids.items():
        items = [i for i in _items(tiny) if i.id in ids]
        old = [i for i in items if i.datetime.date().isoformat() < "2022-01-25"]
        new = [i for i in items if i.datetime.date().isoformat() >= "2022-01-25"]
        assert old and new, mine
        for item in old + new:
            is_new = item.properties["s2:processing_baseline"] == "04.00"
            assert is_new == (item in new)
            offset = item.assets["red"].extra_fields["raster:bands"][0]["offset"]
            assert offset == (-0.1 if is_new else 0.0)
        a, b = old[-1], new[-1]
        plant = (_truth(tiny, a.id)[0] == Cover.PLANT) & (_truth(tiny, b.id)[0] == Cover.PLANT)
        assert plant.sum() > 20
        for band in ("red", "nir"):
            dn_a = _read(a.assets[band].get_absolute_href())[plant].mean()
            dn_b = _read(b.assets[band].get_absolute_href())[plant].mean()
            assert dn_b - dn_a > 800  # raw DN jump by the 1000 offset...
            ra, rb = _reflectance(a, band)[plant].mean(), _reflectance(b, band)[plant].mean()
            assert abs(rb - ra) < 0.02  # ...but reflectance does not


def test_truth_rasters_sit_beside_not_inside_the_assets(tiny: DemoCatalog) -> None:
    codes = json.loads((tiny.root / "truth" / "codes.json").read_text())
    assert {c["code"] for c in codes["land_cover"]} == {int(c) for c in Cover}
    assert {c["code"] for c in codes["sky"]} == {int(s) for s in Sky}
    for item in _items(tiny):
        truth = tiny.truth_path(item.id)
        href = Path(item.get_self_href()).parent / item.properties["geomon:truth_href"]
        assert href.resolve() == truth.resolve() and truth.exists()
        assert all("truth" not in a.href for a in item.assets.values())
        with rasterio.open(truth) as src:
            assert src.count == 2 and src.dtypes == ("uint8", "uint8") and src.res == (10.0, 10.0)
            assert set(np.unique(src.read(1))) <= {int(c) for c in Cover}
    with pytest.raises(NoImageryError, match="not in the demo catalog"):
        tiny.truth_path("S2DEMO_nowhere_20200101")


def test_landscapes_show_the_mine_and_their_biome(tiny: DemoCatalog) -> None:
    kamoto = _items(tiny)[0]
    assert kamoto.properties["geomon:mine_id"] == "kamoto"
    truth = _truth(tiny, kamoto.id)[0]
    clear = _truth(tiny, kamoto.id)[1] == Sky.CLEAR
    red, nir = _reflectance(kamoto, "red"), _reflectance(kamoto, "nir")
    ndvi = (nir - red) / (nir + red)
    veg = np.isin(truth, [Cover.FOREST, Cover.SHRUBLAND, Cover.GRASSLAND]) & clear
    pit = (truth == Cover.PIT) & clear
    assert veg.sum() > 100 and pit.sum() > 20
    assert np.nanmedian(ndvi[veg]) > np.nanmedian(ndvi[pit]) + 0.15
    salar = [i for i in _items(tiny) if i.properties["geomon:mine_id"] == "salar_de_atacama_sqm"]
    salar_truth = _truth(tiny, salar[-1].id)[0]
    assert (salar_truth == Cover.SALT_CRUST).mean() > 0.3
    assert (salar_truth == Cover.EVAPORATION_POND).sum() > 50


def test_scl_agrees_with_true_sky_for_most_pixels_but_not_all(cloudy: DemoCatalog) -> None:
    agree, missed, false_alarm, cloudy_px = [], 0, 0, 0
    for ids in cloudy.item_ids.values():
        for item_id in ids:
            sky = _truth(cloudy, item_id)[1]
            scl = _read(cloudy.root / cloudy.mine_of(item_id) / item_id / "scl.tif")
            scl10 = np.repeat(np.repeat(scl, 2, axis=0), 2, axis=1)
            valid = sky != Sky.NODATA
            bad_truth = np.isin(sky, [Sky.CLOUD, Sky.SHADOW, Sky.CIRRUS]) & valid
            bad_scl = np.isin(scl10, [3, 8, 9, 10]) & valid
            agree.append((bad_truth == bad_scl)[valid].mean())
            missed += int((bad_truth & ~bad_scl).sum())
            false_alarm += int((bad_scl & ~bad_truth).sum())
            cloudy_px += int(bad_truth.sum())
    assert cloudy_px > 1000  # the cloudy config does have clouds
    assert 0.8 < float(np.mean(agree)) < 0.995
    assert missed > 0 and false_alarm > 0  # imperfect, like Sen2Cor


def test_same_seed_same_bytes_other_seed_other_scenes(
    tiny: DemoCatalog, registry: Registry, tmp_path: Path
) -> None:
    again = build_demo_catalog(TINY, registry, root=tmp_path / "again", workers=1)
    files = sorted(p.relative_to(tiny.root) for p in tiny.root.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again.root) for p in again.root.rglob("*") if p.is_file())
    for rel in files:
        assert (tiny.root / rel).read_bytes() == (again.root / rel).read_bytes(), rel
    other_cfg = DemoConfig(**{**TINY.to_dict(), "mine_ids": MINES[:1], "seed": 43})
    other = build_demo_catalog(other_cfg, registry, root=tmp_path / "other")
    first = tiny.item_ids["kamoto"][0]
    assert first not in other.item_ids["kamoto"] or not np.array_equal(
        _read(tiny.root / "kamoto" / first / "red.tif"),
        _read(other.root / "kamoto" / first / "red.tif"),
    )
    a = _read(tiny.truth_path(first))
    b = _read(other.truth_path(other.item_ids["kamoto"][0]))
    assert not np.array_equal(a, b)


def test_complete_catalog_is_reused_and_nothing_half_built_is_left(
    tiny: DemoCatalog, registry: Registry
) -> None:
    marker = tiny.root / ".complete"
    stamp = marker.stat().st_mtime_ns
    again = build_demo_catalog(TINY, registry, root=tiny.root)
    assert again == tiny and marker.stat().st_mtime_ns == stamp
    leftovers = [p.name for p in tiny.root.parent.iterdir() if ".tmp-" in p.name]
    assert leftovers == []


def test_default_root_is_in_the_cache_and_foreign_folders_are_refused(
    registry: Registry, tmp_path: Path
) -> None:
    cfg = DemoConfig(mine_ids=MINES[:1], years=1, dates_per_year=1, window_m=600)
    cat = build_demo_catalog(cfg, registry)
    assert cat.root.parent == cache_dir() / "demo" and (cat.root / ".complete").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a demo catalog"):
        build_demo_catalog(cfg, registry, root=foreign)


@pytest.mark.parametrize(
    ("field", "value"),
    [("window_m", 1010), ("years", 0), ("dates_per_year", 0), ("cloud_probability", 1.5)],
)
def test_invalid_config_is_a_config_error(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        DemoConfig(**{field: value})  # type: ignore[arg-type]


def test_cover_codes_map_to_contract_classes() -> None:
    natural_bare = {c for c, i in COVER_INFO.items() if i.group == "natural_bare"}
    assert natural_bare == {Cover.BARE_SOIL, Cover.ROCK, Cover.SALT_CRUST}
    assert not any(COVER_INFO[c].disturbed for c in natural_bare)
    assert {COVER_INFO[c].contract_class for c in natural_bare} == {"built_other"}  # contracts.md
    assert (
        COVER_INFO[Cover.PIT].contract_class == "bare_disturbed" and COVER_INFO[Cover.PIT].disturbed
    )
