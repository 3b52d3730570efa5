"""The real stages through a pipeline, on a small demo catalog made for the test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geomon.pipeline import parse_pipeline, run_pipeline
from geomon.pipeline.stages import coverage_table


def test_coverage_table_from_composites() -> None:
    times = pd.to_datetime(["2019-01-01", "2020-01-01"])
    ds = xr.Dataset(
        {
            "clear_fraction": ("time", np.array([0.9, 0.2], "float32")),
            "low_coverage": ("time", [False, True]),
        },
        coords={
            "time": times,
            "period": ("time", ["2019", "2020"]),
            "item_ids": ("time", ["a,b,c", "d"]),
        },
        attrs={"period": "year"},
    )
    cov = coverage_table(ds)
    assert cov["period"].tolist() == ["2019", "2020"]
    assert cov["n_items"].tolist() == [3, 1]
    assert cov["low_coverage"].tolist() == [False, True]
    assert str(cov["period_end"].iloc[1]) == "2020-12-31"
    assert cov["clear_fraction"].iloc[0] == pytest.approx(0.9)


def _models_shipped() -> bool:
    from geomon.classify.bundled import models_dir

    return (models_dir() / "index.json").is_file()


@pytest.mark.slow
@pytest.mark.skipif(
    not _models_shipped(), reason="no classifier in models/ yet (models/index.json)"
)
def test_site_and_company_reports_from_the_real_stages(tmp_path: Path) -> None:
    from geomon.demo import DemoConfig, build_demo_catalog

    demo = build_demo_catalog(
        DemoConfig(mine_ids=("kamoto",), years=2, dates_per_year=2, window_m=1500),
        root=tmp_path / "demo",
    )
    p = parse_pipeline(
        {
            "source": f"stac:{demo.catalog_path}",
            "mines": {"ids": ["kamoto"]},
            "periods": {"start": "2019-01-01", "end": "2020-12-31"},
            "outputs": {"companies": ["Glencore plc"], "trends": True},
        }
    )
    out = run_pipeline(p, out_dir=tmp_path / "reports", echo=lambda _: None)
    site = json.loads(out.sites["kamoto"]["json"].read_text())
    assert [q["period"] for q in site["periods"]] == ["2019", "2020"]
    assert site["provenance"]["model"]["hash"]
    assert site["provenance"]["imagery"]["item_ids"]
    assert all(q["clear_fraction"] is not None for q in site["periods"])
    company = json.loads(out.companies["Glencore plc"]["json"].read_text())
    (row,) = company["mines"]
    assert row["equity_pct"] == pytest.approx(75.0) and row["operational_pct"] == 100.0
    assert out.trends is not None and out.trends.exists()
