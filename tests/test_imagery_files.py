"""The folder-of-GeoTIFFs source: odd files (EPSG:4326, big-endian, tiny, no SCL, missing bands)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geomon.errors import ConfigError, MissingBandsError
from geomon.imagery import Aoi, LoadOptions, MaskOptions, Query, load, open_source
from geomon.imagery._files import FolderSource, compile_pattern
from geomon.imagery.testing import SyntheticImagery, write_band_folder

DATES = [dt.date(2019, 9, 1), dt.date(2019, 9, 11), dt.date(2019, 9, 21), dt.date(2019, 10, 1)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> SyntheticImagery:
    root = tmp_path_factory.mktemp("files")
    made = write_band_folder(root, DATES, size_px=40, cloud=0.25)
    (root / "2019-09-21-00:00_2019-09-21-23:59_Sentinel-2_L2A_B11_(Raw).tiff").unlink()
    (root / "notes.txt").write_text("not imagery")
    return made


def _query(made: SyntheticImagery) -> Query:
    return Query(
        Aoi("files_site", made.aoi_lonlat.buffer(-0.00005)),
        dt.date(2019, 1, 1),
        dt.date(2019, 12, 31),
    )  # type: ignore[attr-defined]


def test_files_are_big_endian_geographic_and_tiny(folder: SyntheticImagery) -> None:
    path = next(folder.root.glob("*_B04_*"))
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4326 and src.width == 40
    assert path.read_bytes()[:2] == b"MM"  # big-endian TIFF


def test_folder_loads_as_the_contract_in_utm(folder: SyntheticImagery) -> None:
    ds = load(FolderSource(folder.root), _query(folder))
    assert ds.attrs["crs"] == "EPSG:32733" and ds.attrs["resolution"] == 10.0
    assert ds.attrs["mask"] == "spectral"
    # B11 is missing on one date: by default only the bands every date has are loaded
    assert set(ds.data_vars) == {"blue", "green", "red", "nir", "valid"}
    assert ds.sizes["time"] == 4
    red = ds["red"].compute()
    assert red.dtype == np.float32
    assert 0.0 < float(red.where(ds.valid).max()) < 0.3


def test_a_band_missing_on_some_dates_drops_those_dates(folder: SyntheticImagery) -> None:
    ds = load(FolderSource(folder.root), _query(folder), LoadOptions(bands=("red", "swir16")))
    assert ds.sizes["time"] == 3


def test_band_missing_everywhere_is_reported(folder: SyntheticImagery) -> None:
    with pytest.raises(
        MissingBandsError, match=r"required red, swir22; available blue, green, red, nir, swir16"
    ):
        load(FolderSource(folder.root), _query(folder), LoadOptions(bands=("red", "swir22")))


def test_spectral_fallback_needs_visible_and_nir(tmp_path: Path) -> None:
    made = write_band_folder(tmp_path, DATES[:2], bands=("B04", "B08"))
    source = FolderSource(tmp_path)
    with pytest.raises(MissingBandsError, match="spectral fallback needs blue, green, red, nir"):
        load(source, _query(made))
    ds = load(source, _query(made), LoadOptions(mask=MaskOptions(method="none")))
    assert ds.attrs["mask"] == "none" and set(ds.data_vars) == {"red", "nir", "valid"}


def test_templates_and_regexes_name_date_and_band(tmp_path: Path) -> None:
    made = write_band_folder(
        tmp_path, DATES[:1], template="S2_{date}_{band}.tif", bands=("B02", "B03", "B04", "B08")
    )
    source = open_source(f"files:{tmp_path}:S2_{{date}}_{{band}}.tif")
    assert isinstance(source, FolderSource)
    assert [i.id for i in source.items()] == ["files:2019-09-01"]
    assert compile_pattern(r"(?P<date>\d{8})_(?P<band>\w+)\.tif").search("20190901_B04.tif")
    default = FolderSource(tmp_path)  # the default pattern also reads these names
    assert list(default.items()[0].assets) == ["blue", "green", "red", "nir"]
    assert load(source, _query(made)).sizes["time"] == 1


def test_bad_patterns_and_folders_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs both"):
        compile_pattern("{date}.tif")
    with pytest.raises(ConfigError, match="bad filename pattern"):
        compile_pattern("(?P<date>[")
    with pytest.raises(ConfigError, match="no folder"):
        FolderSource(tmp_path / "absent").items()


def test_scale_and_baseline_offset_options(folder: SyntheticImagery) -> None:
    plain = load(FolderSource(folder.root), _query(folder), LoadOptions(bands=("red",)))
    shifted = load(
        FolderSource(folder.root, baseline_offset=True, scale=2e-4),
        _query(folder),
        LoadOptions(bands=("red",)),
    )
    ratio = np.nanmedian((shifted["red"] / plain["red"]).values)
    assert float(ratio) == pytest.approx(2.0, rel=1e-4)
