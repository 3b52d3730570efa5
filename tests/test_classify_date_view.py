"""The date view: each band's clear observation nearest the period's middle, and the model that
takes ``bare_disturbed`` from it where its composite class is another clear one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from geomon.classify import classify
from geomon.classify.classes import BARE_DISTURBED, VEGETATION
from geomon.classify.features import FULL_FEATURES, compute_features
from geomon.classify.model import PixelModel
from geomon.classify.train import LabelScheme, TrainOptions, fit_pixel_model
from geomon.errors import MissingBandsError, ModelError
from geomon.imagery import BANDS, CompositeOptions, composite
from geomon.imagery._kernels import nearest_clear, nearest_first
from geomon.imagery.testing import surface_reflectance

SCHEME = LabelScheme(
    ("vegetation", "bare", "water"),
    ("vegetation", "bare_disturbed", "water"),
    ("unknown", "bare", "water"),
)


def _reference(
    x: np.ndarray, valid: np.ndarray, order: list[int], nodata: float | None
) -> np.ndarray:
    out = np.full(x.shape[1:], np.nan, np.float32)
    done = np.zeros(x.shape[1:], bool)
    for t in order:
        usable = valid[t] & np.isfinite(x[t]) & ~done
        if nodata is not None:
            usable &= x[t] != nodata
        out[usable] = x[t][usable]
        done |= usable
    return out


@pytest.mark.parametrize("factor", [1, 2])
def test_nearest_clear_takes_the_first_usable_step_from_the_middle_outwards(factor: int) -> None:
    rng = np.random.default_rng(factor)
    x = rng.integers(0, 50, (6, 8, 10)).astype(np.float32)
    x[rng.uniform(size=x.shape) < 0.1] = np.nan
    coarse = rng.uniform(size=(6, 4, 5) if factor == 2 else (6, 8, 10)) < 0.6
    coarse[:, 0, 0] = False  # never clear: NaN
    valid = coarse.repeat(factor, 1).repeat(factor, 2) if factor == 2 else coarse
    order = nearest_first(6)
    assert order == [3, 2, 4, 1, 5, 0]
    got = nearest_clear(x, coarse, np.array(order), nodata=7.0, valid_factor=factor)[0]
    np.testing.assert_array_equal(got, _reference(x, valid, order, 7.0))
    assert np.isnan(got).any() and np.isfinite(got).any()  # both cases are exercised


def _series(spectra: list[np.ndarray], shape: tuple[int, int]) -> xr.Dataset:
    """A contract Dataset of one year: one spectrum (all pixels alike) per date, all clear."""
    times = [np.datetime64(f"2021-{m:02d}-15") for m in range(1, 13, 12 // len(spectra))]
    data = {
        b: (("time", "y", "x"), np.stack([np.full(shape, s[i], np.float32) for s in spectra]))
        for i, b in enumerate(BANDS)
    }
    ds = xr.Dataset(
        data, coords={"time": times, "y": np.arange(shape[0]), "x": np.arange(shape[1])}
    )
    ds["valid"] = (("time", "y", "x"), np.ones((len(spectra), *shape), bool))
    return ds


@pytest.fixture(scope="module")
def model() -> PixelModel:
    landcover, cube = surface_reflectance((64, 64), seed=5)
    bands = {b: cube[i] for i, b in enumerate(BANDS)}
    x = compute_features(bands, FULL_FEATURES).reshape(len(FULL_FEATURES), -1).T
    opts = TrainOptions(hidden=(8,), max_iter=40)
    return fit_pixel_model(x, landcover.ravel(), FULL_FEATURES, SCHEME, "tiny-dv", opts)


def test_ground_bare_at_the_middle_is_bare_with_the_date_view(model: PixelModel) -> None:
    from geomon.imagery.testing import _SPECTRA

    veg, bare = _SPECTRA[0], _SPECTRA[1]
    # bare at the middle date only: the median says vegetation, the date view bare
    middle = _series([veg, veg, veg, bare, veg, veg], (4, 4))
    # bare at the first date only: the date view (the middle date) says vegetation too
    early = _series([bare, veg, veg, veg, veg, veg], (4, 4))
    viewed = replace(model, info={**model.info, "date_view": {"min_probability": 0.5}})
    options = CompositeOptions("year", date_view=True)
    for series, want in ((middle, BARE_DISTURBED), (early, VEGETATION)):
        comp = composite(series, options).compute()
        np.testing.assert_array_equal(comp["view_red"].values[0], series["red"].values[3])
        assert (classify(comp, model)["class"].values == VEGETATION).all()
        out = classify(comp, viewed)
        assert (out["class"].values == want).all()
        assert out.attrs["date_view"] == '{"min_probability": 0.5}'
        # the composite's own classes stay beside the map's, for the change rules
        plain = classify(comp, model)
        for name in ("class", "probability", "cover"):
            np.testing.assert_array_equal(out[f"composite_{name}"].values, plain[name].values)
    # above the view's probability the composite's class stands
    comp = composite(middle, options).compute()
    taken = float(classify(comp, viewed)["probability"].values.max())  # the view's
    above = float(np.nextafter(np.float32(taken), np.float32(2)))
    assert taken < 1.0
    strict = replace(model, info={**model.info, "date_view": {"min_probability": above}})
    assert (classify(comp, strict)["class"].values == VEGETATION).all()
    # without the view bands, a model that reads them says so in one line
    with pytest.raises(MissingBandsError, match="date view") as caught:
        classify(composite(middle, CompositeOptions("year")), viewed)
    assert "\n" not in str(caught.value)


def test_the_date_view_takes_a_map_pixel_back_from_bare_only_with_a_release(
    model: PixelModel,
) -> None:
    from geomon.imagery.testing import _SPECTRA

    veg, bare = _SPECTRA[0], _SPECTRA[1]
    # vegetation at the middle date only: the median says bare_disturbed, the date view not
    series = _series([bare, bare, bare, veg, bare, bare], (4, 4))
    comp = composite(series, CompositeOptions("year", date_view=True)).compute()
    assert (classify(comp, model)["class"].values == BARE_DISTURBED).all()
    adds = replace(model, info={**model.info, "date_view": {"min_probability": 0.5}})
    assert (classify(comp, adds)["class"].values == BARE_DISTURBED).all()
    view = {"min_probability": 0.5, "release_probability": 0.5}
    out = classify(comp, replace(model, info={**model.info, "date_view": view}))
    assert (out["class"].values == VEGETATION).all()
    assert (out["composite_class"].values == BARE_DISTURBED).all()  # what footprints read
    assert out.attrs["date_view"] == '{"min_probability": 0.5, "release_probability": 0.5}'
    # above the view's probability the composite's bare_disturbed stands
    taken = float(out["probability"].values.max())
    above = float(np.nextafter(np.float32(taken), np.float32(2)))
    assert taken < 1.0
    strict = {"min_probability": 0.5, "release_probability": above}
    out = classify(comp, replace(model, info={**model.info, "date_view": strict}))
    assert (out["class"].values == BARE_DISTURBED).all()


def test_model_rules_sets_and_crafted_date_views_are_refused(
    model: PixelModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from geomon.classify.model_io import file_sha256, load_model, save_model
    from geomon.cli import main

    plain = tmp_path / "plain.gmodel"
    save_model(model, plain)
    viewed = tmp_path / "viewed.gmodel"
    args = ["model-rules", str(plain), "--date-view", "0.9", "--tail-min-probability", "0.7"]
    assert main([*args, "--out", str(viewed)]) == 0
    assert "date view {'min_probability': 0.9}" in capsys.readouterr().out
    back = load_model(viewed)
    assert back.date_view == 0.9 and back.change_rules == {"tail_min_probability": 0.7}
    again = tmp_path / "again.gmodel"
    assert main(["model-rules", str(viewed), "--out", str(again)]) == 0
    assert file_sha256(again) == file_sha256(plain)
    released = tmp_path / "released.gmodel"
    assert main([*args, "--date-view-release", "0.95", "--out", str(released)]) == 0
    assert load_model(released).date_view_release == 0.95
    assert load_model(viewed).date_view_release is None
    assert main(["model-rules", str(plain), "--date-view-release", "0.9", "--out", "x"]) != 0
    assert "needs --date-view" in capsys.readouterr().err
    assert not load_model(released).date_view_baseline
    based = tmp_path / "based.gmodel"
    assert main([*args, "--date-view-baseline", "--out", str(based)]) == 0
    assert "'baseline': True" in capsys.readouterr().out
    assert load_model(based).date_view_baseline and load_model(based).date_view == 0.9
    from geomon.classify.card import model_card

    card = model_card(load_model(based), "based.gmodel", "0" * 64, 1, {})
    assert "the change rules read these amended classes in the baseline period" in card
    assert main(["model-rules", str(plain), "--date-view-baseline", "--out", "x"]) != 0
    assert "--date-view-baseline needs --date-view" in capsys.readouterr().err
    crafted = (
        {"min_probability": 2},
        {"min_probability": "x"},
        {"p": 0.9},
        [0.9],
        {"release_probability": 0.9},
        {"min_probability": 0.9, "release_probability": 1.5},
        {"min_probability": 0.9, "release_probability": None},
        {"min_probability": 0.9, "baseline": "yes"},
        {"min_probability": 0.9, "baseline": 1},
    )
    for view in crafted:
        with pytest.raises(ModelError, match="date_view") as caught:
            replace(model, info={**model.info, "date_view": view})
        assert "geomon model-rules" in str(caught.value)


def test_load_composite_gives_every_band_its_date_view(tmp_path: Path) -> None:
    """From a real COG catalog (10 and 20 m bands, SCL mask): with one scene a month, each
    band's date view is that scene's clear value, its monthly median."""
    import datetime as dt

    from geomon.imagery import LoadOptions, Query, StaticCatalogSource, load_composite
    from geomon.imagery._aoi import Aoi
    from geomon.imagery.testing import write_s2_catalog

    dates = [dt.date(2021, m, 10) for m in (3, 4, 5)]
    made = write_s2_catalog(tmp_path / "cat", dates, size_px=48, cloud=[0.0, 0.4, 0.0])
    source = StaticCatalogSource(made.catalog_path, name="test")
    query = Query(Aoi("t", made.aoi_lonlat), dates[0], dates[-1])
    bands = ("red", "nir", "swir16")
    comp = load_composite(
        source, query, LoadOptions(bands=bands), CompositeOptions("month", date_view=True)
    ).compute()
    for b in bands:
        view, median = comp[f"view_{b}"].values, comp[b].values
        np.testing.assert_allclose(view, median, rtol=1e-6, equal_nan=True)
        assert np.isnan(view[1]).any() and np.isfinite(view).any()
    plain = load_composite(source, query, LoadOptions(bands=bands), CompositeOptions("month"))
    assert not [v for v in plain.data_vars if str(v).startswith("view_")]


def test_the_chain_gives_an_automatically_chosen_model_its_date_view(
    model: PixelModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_footprint without a model picks one by the source's bands; when that one reads a
    date view, the composites are made again with it (nothing was read yet)."""
    import datetime as dt
    import json

    from geomon.classify.model_io import save_model
    from geomon.footprint.run import RunOptions, run_footprint
    from geomon.imagery import Aoi, StaticCatalogSource
    from geomon.imagery.testing import write_s2_catalog

    folder = tmp_path / "models"
    folder.mkdir()
    viewed = replace(model, info={**model.info, "date_view": {"min_probability": 0.9}})
    sha = save_model(viewed, folder / "dv.gmodel")
    entry = {"model_id": viewed.model_id, "file": "dv.gmodel", "sha256": sha,
             "bands": list(viewed.features.bands)}  # fmt: skip
    (folder / "index.json").write_text(json.dumps({"models": [entry]}))
    monkeypatch.setenv("GEOMON_MODELS_DIR", str(folder))
    dates = [dt.date(2020, m, 10) for m in (3, 6, 9)] + [dt.date(2021, m, 10) for m in (3, 6, 9)]
    made = write_s2_catalog(tmp_path / "cat", dates, size_px=48)
    source = StaticCatalogSource(made.catalog_path, name="test")
    run = run_footprint(
        Aoi("m", made.aoi_lonlat), dates[0], dt.date(2021, 12, 31), source, RunOptions("year")
    )
    assert run.model_id == viewed.model_id and run.classes.attrs["date_view"]
    assert run.composite is not None and "view_swir22" in run.composite
    # the footprint is the plain model's: the change rules read the composite's classes
    same = run_footprint(
        Aoi("m", made.aoi_lonlat), dates[0], dt.date(2021, 12, 31), source, RunOptions("year"),
        model,
    )  # fmt: skip
    assert len(same.footprint) and same.footprint.equals(run.footprint)
    from geomon.footprint.run import write_outputs

    write_outputs(run, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "run.json").read_text())
    assert summary["date_view"] == {"min_probability": 0.9}


@pytest.mark.parametrize("chunked", [False, True])
def test_a_model_of_one_period_statistic_classifies_its_date_view(chunked: bool) -> None:
    """The view's period statistics are computed as for one observation; with exactly one
    (``ndvi_max``, as every shipped model but v9 reads) that is one output, not a tuple."""
    from geomon.classify.features import single_observation
    from geomon.imagery.testing import _SPECTRA

    fset = FULL_FEATURES.with_temporal(("ndvi_max",))
    landcover, cube = surface_reflectance((64, 64), seed=5)
    bands = single_observation({b: cube[i] for i, b in enumerate(BANDS)}, fset)
    x = compute_features(bands, fset).reshape(len(fset), -1).T
    opts = TrainOptions(hidden=(8,), max_iter=40)
    fitted = fit_pixel_model(x, landcover.ravel(), fset, SCHEME, "tiny-ndvi", opts)
    viewed = replace(fitted, info={**fitted.info, "date_view": {"min_probability": 0.5}})
    veg, bare = _SPECTRA[0], _SPECTRA[1]
    comp = composite(_series([veg, veg, veg, bare, veg, veg], (8, 8)), CompositeOptions(
        "year", date_view=True))  # fmt: skip
    comp = comp.chunk({"y": 4, "x": 4}) if chunked else comp.compute()
    assert (classify(comp, fitted)["class"].values == VEGETATION).all()
    assert (classify(comp, viewed)["class"].values == BARE_DISTURBED).all()


def test_ndvi_mid_is_the_date_views_ndvi_and_a_model_that_reads_it_gets_the_view(
    tmp_path: Path,
) -> None:
    """``ndvi_mid``, a period statistic of composites with their date view: the NDVI of the
    clear observation nearest the period's middle. A model that reads it has its composites
    made with the view by the chain, and is refused a composite without it in one line."""
    import datetime as dt

    from geomon.classify.features import ndvi, single_observation
    from geomon.footprint.run import RunOptions, run_composite
    from geomon.imagery import Aoi, StaticCatalogSource
    from geomon.imagery.testing import _SPECTRA, write_s2_catalog

    veg, bare = _SPECTRA[0], _SPECTRA[1]
    series = _series([veg, veg, veg, bare, veg, veg], (4, 4))
    comp = composite(series, CompositeOptions("year", date_view=True)).compute()
    mid = comp["ndvi_mid"].values
    np.testing.assert_array_equal(mid, ndvi(comp["view_nir"].values, comp["view_red"].values))
    np.testing.assert_allclose(mid[0], ndvi(series["nir"].values[3], series["red"].values[3]))
    assert mid.max() < comp["ndvi_max"].values.min()  # bare at the middle, green in the median
    plain = composite(series, CompositeOptions("year"))
    assert "ndvi_mid" not in plain
    fset = FULL_FEATURES.with_temporal(("ndvi_max", "ndvi_mid"))
    landcover, cube = surface_reflectance((64, 64), seed=5)
    bands = single_observation({b: cube[i] for i, b in enumerate(BANDS)}, fset)
    np.testing.assert_array_equal(bands["ndvi_mid"], bands["ndvi_max"])  # one observation
    x = compute_features(bands, fset).reshape(len(fset), -1).T
    opts = TrainOptions(hidden=(8,), max_iter=40)
    fitted = fit_pixel_model(x, landcover.ravel(), fset, SCHEME, "tiny-mid", opts)
    assert fitted.reads_date_view and fitted.date_view is None
    from geomon.classify.card import model_card

    card = model_card(fitted, "tiny.gmodel", "0" * 64, 1, {})
    assert "`CompositeOptions(date_view=True)`" in card  # the card says the reader needs the view
    medians = FULL_FEATURES.with_temporal(("ndvi_max",))  # period statistics, none of the view
    x = compute_features(bands, medians).reshape(len(medians), -1).T
    plain_model = fit_pixel_model(x, landcover.ravel(), medians, SCHEME, "tiny-max", opts)
    plain_card = model_card(plain_model, "m.gmodel", "0" * 64, 1, {})
    assert "temporal statistics of the period: ndvi_max " in plain_card
    assert "date_view=True" not in plain_card
    assert classify(comp, fitted)["class"].values.shape == (1, 4, 4)
    with pytest.raises(MissingBandsError, match="ndvi_mid") as caught:
        classify(plain.compute(), fitted)
    assert "\n" not in str(caught.value)
    dates = [dt.date(2021, m, 10) for m in (3, 6, 9)]
    made = write_s2_catalog(tmp_path / "cat", dates, size_px=32)
    source = StaticCatalogSource(made.catalog_path, name="test")
    aoi = Aoi("m", made.aoi_lonlat)
    end = dt.date(2021, 12, 31)
    assert "ndvi_mid" in run_composite(aoi, dates[0], end, source, RunOptions("year"), fitted)
    assert "ndvi_mid" not in run_composite(aoi, dates[0], end, source, RunOptions("year"))


def test_a_report_names_the_date_view_and_release_the_model_file_carries() -> None:
    from geomon.report.model_card import rules_phrase

    assert rules_phrase({}) == ""
    adds = rules_phrase({"tail_min_probability": 0.7}, 0.9)
    assert "probability 0.9 or more" in adds and "tail_min_probability 0.7" in adds
    assert "other clear class" not in adds
    both = rules_phrase({}, 0.9, 0.95)
    assert "other clear class where it says so at 0.95 or more" in both
    assert "baseline" not in both
    based = rules_phrase({"tail_min_clear": 2}, 0.9, 0.95, baseline=True)
    assert "and these in the baseline period" in based and "tail_min_clear 2" in based
