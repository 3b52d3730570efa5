"""Impacts review gaps: projected reference layers, edge depth from the CLI and pipelines, and the
ecozone check before any imagery is read."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from test_impacts_helpers import box, local, make_footprint

from geomon.cli import main
from geomon.errors import MissingEcozoneError, ReferenceLayerError
from geomon.impacts import check_mine
from geomon.impacts._validate import validate_layer
from geomon.pipeline import parse_pipeline
from geomon.pipeline.stages import impact_params, run_site
from geomon.registry import load_registry
from geomon.registry.core import bundled_registry_dir


def _sample() -> gpd.GeoDataFrame:
    return gpd.read_file(bundled_registry_dir() / "protected_areas_sample.geojson")


def test_projected_protected_areas_are_reprojected_not_called_invalid() -> None:
    sample = _sample()
    representable = sample[sample["NAME"] != "Danau Matano"]
    layer = validate_layer(representable.to_crs(32735), "protected_areas")
    assert layer.crs.to_epsg() == 4326
    assert layer.geometry.geom_equals_exact(representable.geometry, 1e-4).all()


def test_features_a_crs_cannot_hold_are_named_as_such() -> None:
    with pytest.raises(ReferenceLayerError) as info:
        validate_layer(_sample().to_crs(32735), "protected_areas")
    text = str(info.value)
    assert "non-finite coordinates" in text and "Danau Matano" in text
    assert "EPSG:4326" in text and "make_valid" not in text


@pytest.fixture
def footprint_file(tmp_path: Path) -> Path:
    mine = load_registry().mine("kamoto")
    rows = [{"geometry": box(0, 0, 300, 300), "period": "2021"}]
    path = tmp_path / "footprint.parquet"
    make_footprint(rows, "kamoto", crs=local(mine["lon"], mine["lat"])).to_parquet(path)
    return path


def test_cli_edge_depth(tmp_path: Path, footprint_file: Path) -> None:
    out = tmp_path / "out"
    argv = ["impacts", "kamoto", "--start", "2021-01-01", "--end", "2021-12-31"]
    argv += ["--footprint", str(footprint_file), "--out", str(out), "--edge-depth-m", "250"]
    assert main(argv) == 0
    doc = json.loads((out / "impacts_kamoto.json").read_text())
    assert doc["params"]["edge_depth_m"] == 250.0


def test_pipeline_edge_depth() -> None:
    periods = {"start": "2019-01-01", "end": "2020-12-31"}
    p = parse_pipeline({"periods": periods, "impacts": {"edge_depth_m": 500}})
    assert impact_params(p).edge_depth_m == 500.0
    assert impact_params(parse_pipeline({"periods": periods})).edge_depth_m == 100.0


def _registry_without_ecozone(tmp_path: Path, mine_id: str) -> Path:
    folder = tmp_path / "reg"
    shutil.copytree(bundled_registry_dir(), folder)
    path = folder / "ecozones.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["mine_id"] != mine_id)
    return folder


class _NoImagery:
    """A source that fails the test if anything reads from it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"imagery was read ({name}) before the ecozone check")


def test_missing_ecozone_is_reported_before_imagery(tmp_path: Path, capsys: Any) -> None:
    folder = _registry_without_ecozone(tmp_path, "kamoto")
    mine = load_registry(folder).mine("kamoto").to_dict()
    with pytest.raises(MissingEcozoneError):
        check_mine(mine)
    argv = ["impacts", "kamoto", "--registry", str(folder), "--start", "2021-01-01"]
    argv += ["--end", "2021-12-31", "--source", str(tmp_path / "no-such-catalog.json")]
    argv += ["--out", str(tmp_path / "out")]
    assert main(argv) != 0
    assert "has no ecozone" in capsys.readouterr().err

    p = parse_pipeline(
        {"periods": {"start": "2019-01-01", "end": "2020-12-31"}, "registry": str(folder)}
    )
    with pytest.raises(MissingEcozoneError):
        run_site(p, load_registry(folder), "kamoto", source=_NoImagery())
