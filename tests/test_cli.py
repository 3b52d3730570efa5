from __future__ import annotations

import pytest

from geomon.cli import main


def test_versions_lists_core_libraries(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versions"]) == 0
    out = capsys.readouterr().out
    for name in (
        "geomon",
        "GDAL",
        "rasterio",
        "xarray",
        "dask",
        "geopandas",
        "shapely",
        "pyproj",
        "scikit-learn",
        "earthengine-api",
    ):
        assert name in out


def test_geomon_error_is_one_line_not_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["registry", "show", "no_such_mine"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: mine 'no_such_mine' is not in the registry")
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
