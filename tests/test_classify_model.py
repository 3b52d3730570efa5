from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from geomon.classify.classes import BARE_DISTURBED, CLOUD_NODATA, VEGETATION, WATER
from geomon.classify.features import (
    FULL_FEATURES,
    REDUCED_FEATURES,
    ContextFeature,
    FeatureSet,
    compute_features,
)
from geomon.classify.model import PixelModel
from geomon.classify.model_io import (
    FORMAT,
    FORMAT_CONTEXT,
    FORMAT_TEMPORAL,
    file_sha256,
    load_model,
    save_model,
)
from geomon.classify.train import CONTRACT_SCHEME, TrainOptions, fit_pixel_model
from geomon.errors import GeomonError, ModelError

# mean reflectance (blue, red, nir, swir16, swir22) of each contract class 1..4
MEANS = {
    1: (0.03, 0.03, 0.35, 0.17, 0.08),
    2: (0.12, 0.20, 0.26, 0.34, 0.30),
    3: (0.06, 0.04, 0.03, 0.02, 0.01),
    4: (0.10, 0.13, 0.18, 0.21, 0.19),
}


def _spectra(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy spectra per class: features (n*4, n_features) and labels 0..3."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for code, mean in MEANS.items():
        refl = np.asarray(mean, np.float32) * rng.uniform(0.85, 1.15, (n, 1)).astype(np.float32)
        refl += rng.normal(0, 0.008, (n, 5)).astype(np.float32)
        bands = dict(zip(REDUCED_FEATURES.bands, np.clip(refl, 0.001, 1).T, strict=True))
        xs.append(compute_features(bands, REDUCED_FEATURES).T)
        ys.append(np.full(n, code - 1))
    return np.concatenate(xs), np.concatenate(ys)


@pytest.fixture(scope="module")
def model() -> PixelModel:
    x, y = _spectra(300, seed=1)
    return fit_pixel_model(
        x,
        y,
        REDUCED_FEATURES,
        CONTRACT_SCHEME,
        "test-reduced",
        TrainOptions(hidden=(16,), max_iter=40),
    )


def test_model_classifies_held_out_spectra(model: PixelModel) -> None:
    x, y = _spectra(200, seed=2)  # a different seed from training
    stack = x.T.reshape(len(REDUCED_FEATURES), 8, 100)
    pred = model.predict(stack)
    accuracy = (pred.code.ravel() == y + 1).mean()
    assert accuracy > 0.97
    assert pred.probability.min() > 0.25 and pred.probability.max() <= 1.0 + 1e-6


def test_invalid_and_nan_pixels_are_cloud_nodata(model: PixelModel) -> None:
    x, _ = _spectra(5, seed=3)
    stack = x.T.reshape(len(REDUCED_FEATURES), 4, 5).copy()
    stack[:, 0, 0] = np.nan
    valid = np.ones((4, 5), bool)
    valid[3, 4] = False
    pred = model.predict(stack, valid)
    assert pred.code[0, 0] == CLOUD_NODATA and pred.code[3, 4] == CLOUD_NODATA
    assert pred.probability[0, 0] == 0
    assert set(np.unique(pred.code[1:3])) <= {VEGETATION, BARE_DISTURBED, WATER, 4}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_numpy_forward_pass_equals_sklearn() -> None:
    from sklearn.neural_network import MLPClassifier

    x, y = _spectra(100, seed=4)
    opts = TrainOptions(hidden=(8, 6), max_iter=15, clip_quantile=0.0, batch_size=64)
    ours = fit_pixel_model(x, y, REDUCED_FEATURES, CONTRACT_SCHEME, "m", opts)
    scaled = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-6)
    ref = MLPClassifier(
        hidden_layer_sizes=(8, 6),
        alpha=opts.alpha,
        learning_rate_init=opts.learning_rate,
        batch_size=64,
        max_iter=15,
        early_stopping=True,
        random_state=0,
    ).fit(scaled, y)
    np.testing.assert_allclose(ours.predict_proba(x), ref.predict_proba(scaled), atol=2e-4)


def test_save_is_deterministic_and_round_trips(model: PixelModel, tmp_path: Path) -> None:
    a, b = tmp_path / "a.gmodel", tmp_path / "b.gmodel"
    sha_a, sha_b = save_model(model, a), save_model(model, b)
    assert sha_a == sha_b == file_sha256(a)
    assert a.stat().st_size < 20_000
    loaded = load_model(a, sha256=sha_a)
    assert loaded.digest == model.digest
    x, _ = _spectra(10, seed=5)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_training_is_deterministic() -> None:
    x, y = _spectra(60, seed=6)
    opts = TrainOptions(hidden=(8,), max_iter=5)
    first = fit_pixel_model(x, y, REDUCED_FEATURES, CONTRACT_SCHEME, "m", opts)
    second = fit_pixel_model(x, y, REDUCED_FEATURES, CONTRACT_SCHEME, "m", opts)
    assert first.digest == second.digest


def test_training_does_not_depend_on_the_blas_thread_count() -> None:
    """The caller's BLAS threads do not change the fit (a card's reproduce command writes the same
    file on any machine). With OpenBLAS's threads this fit's weights differed between one and two
    threads (checked without the single-thread limit in ``fit_pixel_model``)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from geomon.classify.features import CONTEXT, PERIOD_STATISTICS

    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    if not blas or max(p["num_threads"] for p in blas) < 2:
        pytest.skip("BLAS runs one thread here: nothing to compare")
    fset = FULL_FEATURES.with_context(CONTEXT).with_temporal(PERIOD_STATISTICS)
    rng = np.random.default_rng(0)
    y = rng.integers(0, len(CONTRACT_SCHEME.labels), 30_000)
    x = (rng.normal(size=(len(y), len(fset))) + 0.3 * y[:, None]).astype(np.float32)
    opts = TrainOptions(max_iter=2)
    fits = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            fits.append(fit_pixel_model(x, y, fset, CONTRACT_SCHEME, "m", opts))
    assert fits[0].digest == fits[1].digest


class _Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.mkdir, (self.target,))  # type: ignore[return-value]


def test_pickle_file_is_refused_without_running_code(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    bad = tmp_path / "model.gmodel"
    bad.write_bytes(pickle.dumps(_Payload(str(target))))
    with pytest.raises(ModelError, match="never loads pickle"):
        load_model(bad)
    assert not target.exists()


def test_object_array_inside_model_zip_is_refused(model: PixelModel, tmp_path: Path) -> None:
    good = tmp_path / "good.gmodel"
    save_model(model, good)
    target = tmp_path / "pwned"
    buf = io.BytesIO()
    np.save(buf, np.array([_Payload(str(target))], dtype=object), allow_pickle=True)
    bad = tmp_path / "bad.gmodel"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            data = buf.getvalue() if name == "arrays/mean.npy" else src.read(name)
            dst.writestr(name, data)
    with pytest.raises(ModelError, match="not a plain numeric array"):
        load_model(bad)
    assert not target.exists()


def test_extra_entry_and_wrong_format_are_refused(model: PixelModel, tmp_path: Path) -> None:
    good = tmp_path / "good.gmodel"
    save_model(model, good)
    extra = tmp_path / "extra.gmodel"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(extra, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("payload.pkl", pickle.dumps({"a": 1}))
    with pytest.raises(ModelError, match=r"payload\.pkl"):
        load_model(extra)
    other = _with_format(good, tmp_path / "other.gmodel", "skops")
    with pytest.raises(GeomonError, match="not in format"):
        load_model(other)
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(good, sha256="0" * 64)


def test_arrays_larger_than_the_total_cap_are_refused_before_reading(
    model: PixelModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entries' declared sizes are summed before any array is read (a crafted two-stage file
    may announce 72 entries of 64 MiB each)."""
    from geomon.classify import model_io

    path = tmp_path / "m.gmodel"
    save_model(model, path)
    with zipfile.ZipFile(path) as zf:
        total = sum(i.file_size for i in zf.infolist() if i.filename.endswith(".npy"))
    monkeypatch.setattr(model_io, "_MAX_TOTAL_BYTES", total)
    assert load_model(path).digest == model.digest  # at the cap: loads
    monkeypatch.setattr(model_io, "_MAX_TOTAL_BYTES", total - 1)
    read = []
    monkeypatch.setattr(model_io, "_read_array", lambda *a: read.append(a))
    with pytest.raises(ModelError, match="larger than 0 MiB together"):
        load_model(path)
    assert not read


def test_card_writer_records_the_file_hash_in_card_and_index(
    model: PixelModel, tmp_path: Path
) -> None:
    from geomon.classify.card import main

    sha = save_model(model, tmp_path / "m.gmodel")
    index = {"models": [{"model_id": "test-reduced", "file": "m.gmodel", "sha256": "old",
                         "bands": [], "card": "m.md"}]}  # fmt: skip
    (tmp_path / "index.json").write_text(json.dumps(index))
    (tmp_path / "out.txt").write_text("overall accuracy 0.99\n")
    main(
        [
            "test-reduced",
            "--models",
            str(tmp_path),
            "--measured",
            f"x <= 2 %={tmp_path / 'out.txt'}",
        ]
    )
    entry = json.loads((tmp_path / "index.json").read_text())["models"][0]
    assert entry["sha256"] == sha and entry["bands"] == list(REDUCED_FEATURES.bands)
    card = (tmp_path / "m.md").read_text()
    assert sha in card and "### x <= 2 %" in card and "overall accuracy 0.99" in card
    import sklearn

    # the library versions the fit depends on are in the file and the card
    assert model.info["software"]["scikit-learn"] == sklearn.__version__
    assert f"scikit-learn {sklearn.__version__}" in card and "numpy" in card


def test_context_spec_round_trips_and_per_pixel_files_stay_version_1(
    model: PixelModel, tmp_path: Path
) -> None:
    fset = REDUCED_FEATURES.with_context([ContextFeature("ndvi", 5, "mean")])
    ctx, path, loaded = _tiny_round_trip(fset, 8, tmp_path / "ctx.gmodel")
    assert loaded.features == fset and loaded.features.halo == 2
    assert loaded.digest == ctx.digest
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("model.json"))["format"] == FORMAT_CONTEXT
    plain = tmp_path / "plain.gmodel"
    save_model(model, plain)
    with zipfile.ZipFile(plain) as zf:
        header = json.loads(zf.read("model.json"))
    assert header["format"] == FORMAT and "context" not in header  # v1 files load as before
    assert load_model(plain).features.context == ()
    mixed = _with_format(path, tmp_path / "mixed.gmodel", FORMAT)
    with pytest.raises(ModelError, match="spatial context"):
        load_model(mixed)


def test_temporal_statistics_round_trip_as_version_3(tmp_path: Path) -> None:
    fset = REDUCED_FEATURES.with_temporal(["ndvi_max"]).with_context(
        [ContextFeature("ndvi_max", 5, "mean")]
    )
    tmp, path, loaded = _tiny_round_trip(fset, 9, tmp_path / "t.gmodel")
    assert loaded.features == fset and loaded.digest == tmp.digest
    assert loaded.features.names[-2:] == ("ndvi_max", "ndvi_max_mean5")
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("model.json"))["format"] == FORMAT_TEMPORAL
    for older in (FORMAT, FORMAT_CONTEXT):  # an older tag cannot carry temporal statistics
        with pytest.raises(ModelError, match="temporal"):
            load_model(_with_format(path, tmp_path / f"{older[-1]}.gmodel", older))


def _tiny_round_trip(
    fset: FeatureSet, seed: int, path: Path
) -> tuple[PixelModel, Path, PixelModel]:
    """A few-epoch model of ``fset`` (spectra, then uniform values for the features past the
    per-pixel ones), saved to ``path`` and loaded again: (fitted, path, loaded)."""
    rng = np.random.default_rng(seed)
    spectra = _spectra(50, seed=7)[0]
    x = np.hstack([spectra, rng.uniform(-1, 1, (200, len(fset) - spectra.shape[1]))])
    y = np.repeat(np.arange(4), 50)
    fitted = fit_pixel_model(
        x, y, fset, CONTRACT_SCHEME, path.stem, TrainOptions(hidden=(6,), max_iter=5)
    )
    save_model(fitted, path)
    return fitted, path, load_model(path)


def _with_format(src_path: Path, dst_path: Path, fmt: str) -> Path:
    """A copy of a model file whose header claims format ``fmt``."""
    with zipfile.ZipFile(src_path) as src, zipfile.ZipFile(dst_path, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "model.json":
                header = json.loads(data)
                header["format"] = fmt
                data = json.dumps(header).encode()
            dst.writestr(name, data)
    return dst_path


def test_label_bias_shifts_one_output_logit_and_is_recorded() -> None:
    x, y = _spectra(60, seed=3)
    fset = REDUCED_FEATURES
    opts = TrainOptions(hidden=(6,), max_iter=5)
    plain = fit_pixel_model(x, y, fset, CONTRACT_SCHEME, "p", opts)
    shifted_opts = TrainOptions(hidden=(6,), max_iter=5, label_bias=(("bare_disturbed", -0.5),))
    shifted = fit_pixel_model(x, y, fset, CONTRACT_SCHEME, "s", shifted_opts)
    diff = shifted.biases[-1] - plain.biases[-1]
    np.testing.assert_allclose(diff, [0, -0.5, 0, 0], atol=1e-6)
    assert shifted.info["hyper_parameters"]["label_bias"] == {"bare_disturbed": -0.5}
    with pytest.raises(GeomonError, match="label_bias"):
        fit_pixel_model(x, y, fset, CONTRACT_SCHEME, "u", TrainOptions(label_bias=(("pit", 1.0),)))


def test_unknown_label_bias_is_refused_before_any_sampling() -> None:
    import xarray as xr

    from geomon.classify.recipes import DemoRecipe, train_on_demo, train_on_reference

    typo = TrainOptions(label_bias=(("disturbd", -0.5),))
    # no catalogs and an empty composite: only a check made before sampling can raise this
    with pytest.raises(GeomonError, match="label_bias names label 'disturbd'"):
        train_on_demo(REDUCED_FEATURES, "t", DemoRecipe(seeds=(), train=typo))
    with pytest.raises(GeomonError, match="label_bias names label 'disturbd'"):
        train_on_reference(xr.Dataset(), np.zeros((2, 2), np.uint8), REDUCED_FEATURES, "t", typo)


def test_shipped_features_are_the_bundled_models_features() -> None:
    from geomon.classify import select_model
    from geomon.classify.features import (
        FULL_BANDS,
        FULL_FEATURES,
        REDUCED_BANDS,
        shipped_features,
    )

    # the default models (geomon-s2-full-v15, geomon-shared-reduced-v16) route ground whose NDVI
    # fell late in the period to a model that also reads the period's late greatest NDVI; both
    # also read each band's date view and its NDVI
    for bands, name in ((FULL_BANDS, "full"), (REDUCED_BANDS, "reduced")):
        more = ("ndvi_mid", *(f"view_{b}" for b in bands))
        chosen = select_model(bands).features
        assert chosen.temporal == ("ndvi_max", "ndvi_max_late", *more)
        assert chosen.with_temporal(("ndvi_max",)) == shipped_features(name)  # type: ignore[arg-type]
    assert len(shipped_features("full")) == len(FULL_FEATURES) + 15
    with pytest.raises(GeomonError, match="'full' or 'reduced'"):
        shipped_features("landsat")  # type: ignore[arg-type]
    with pytest.raises(GeomonError, match=r"1\.\.4096"):
        TrainOptions(hidden=(64, 0))


def test_change_rules_round_trip_and_crafted_rules_are_refused(
    model: PixelModel, tmp_path: Path
) -> None:
    """A model's own change rules (``info["change_rules"]``) survive a save and load; rules
    no footprint reads, or out of range, are refused when the file loads, in one line."""
    from dataclasses import replace

    assert model.change_rules == {}
    rules = {"tail_min_probability": 0.7, "tail_min_clear": 2}
    carried = replace(model, info={**model.info, "change_rules": rules})
    assert carried.digest != model.digest  # the rules are part of what the digest vouches for
    path = tmp_path / "rules.gmodel"
    save_model(carried, path)
    back = load_model(path).change_rules
    assert back == rules and isinstance(back["tail_min_clear"], int)
    for rules, match in (
        ({"min_mapping_unit_ha": 5}, "not one a model carries"),
        ({"tail_min_probability": 1.5}, "from 0 to 1"),
        ({"tail_min_probability": "0.7"}, "from 0 to 1"),
        ({"tail_min_clear": 2.5}, "whole number from 0"),
        ({"tail_min_clear": True}, "whole number from 0"),
        ({"tail_min_clear": -1}, "whole number from 0"),
        ({"tail_min_clear": 10**6}, "whole number from 0"),
        ([0.7], "must be an object"),
    ):
        bad = tmp_path / "bad.gmodel"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w") as dst:
            for name in src.namelist():
                data = src.read(name)
                if name == "model.json":
                    header = json.loads(data)
                    header["info"]["change_rules"] = rules
                    data = json.dumps(header).encode()
                dst.writestr(name, data)
        with pytest.raises(ModelError, match=match) as caught:
            load_model(bad)
        assert "\n" not in str(caught.value) and "geomon model-rules" in str(caught.value)


def test_card_and_report_name_the_change_rules_the_model_file_carries(
    model: PixelModel,
) -> None:
    """The card lists the rules; the report's summary names those of the loaded file (a copy
    with other rules keeps the model id, so the card cannot say which it ran with)."""
    from dataclasses import replace

    from geomon.classify.card import model_card
    from geomon.pipeline.stages import model_info

    plain = model_card(model, "m.gmodel", "0" * 64, 1, {})
    assert "change rules" not in plain and "change rules" not in model_info(model)["summary"]
    carried = replace(model, info={**model.info, "change_rules": {"tail_min_probability": 0.7}})
    assert '`{"tail_min_probability": 0.7}`' in model_card(carried, "m.gmodel", "0" * 64, 1, {})
    assert "own change rules (tail_min_probability 0.7)" in model_info(carried)["summary"]
    viewed = replace(carried, info={**carried.info, "date_view": {"min_probability": 0.9}})
    assert "- date view: " in model_card(viewed, "m.gmodel", "0" * 64, 1, {})
    assert (
        "maps bare_disturbed where it says so at probability 0.9" in model_info(viewed)["summary"]
    )
