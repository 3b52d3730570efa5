"""Routed models: pixels whose ``ndvi_max - ndvi_max_late`` exceeds a margin take another
model's answer (stop 30).

The compiled paths (two-step and row-fused) against each other bit for bit, against the numpy
reference and each model run alone, the widened first model against itself, the float32
probabilities, the model file (round trip and refusals), ``geomon route`` and ``geomon
quantize``'s refusal."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_classify_stages import _rewrite  # a model file with its header edited

from geomon.classify import bundled_model, load_model
from geomon.classify._fused import classify_fused
from geomon.classify.classes import CLOUD_NODATA
from geomon.classify.features import REDUCED_FEATURES, FeatureSet, compute_features
from geomon.classify.model import PixelModel, Refinement, Route, widen
from geomon.classify.model_io import FORMAT_INT8, FORMAT_ROUTE, save_model
from geomon.classify.train import with_label_bias
from geomon.cli import main
from geomon.errors import ModelError

#: a two-stage 8-bit model without a route (the default shared-band model until stop 37; its
#: successor routes already)
TWO_STAGE = "geomon-shared-reduced-v11"
SHIPPED = bundled_model(TWO_STAGE).features
#: that model's features and ``ndvi_max_late``
LATE = FeatureSet(
    SHIPPED.bands, SHIPPED.indices, SHIPPED.context, (*SHIPPED.temporal, "ndvi_max_late")
)
MARGIN = 0.05


def _grown(stage: PixelModel, seed: int) -> PixelModel:
    """One stage reading :data:`LATE`: ``stage``'s numbers with a random first-layer row for
    ``ndvi_max_late`` (16 bits)."""
    rng = np.random.default_rng(seed)
    at = LATE.names.index("ndvi_max_late")
    row = rng.normal(0, 2.0, (1, stage.weights[0].shape[1])).astype(np.float32)

    def put(v: np.ndarray, value: float) -> np.ndarray:
        return np.insert(v, at, np.float32(value)).astype(np.float32)

    return replace(
        stage.without_eight_bit(),
        features=LATE,
        lower=put(stage.lower, -0.5),
        upper=put(stage.upper, 1.0),
        mean=put(stage.mean, 0.4),
        scale=put(stage.scale, 0.25),
        weights=(np.insert(stage.weights[0], at, row, axis=0), *stage.weights[1:]),
        refine=None,
    )


@pytest.fixture(scope="module")
def models() -> tuple[PixelModel, PixelModel, PixelModel]:
    """``(first, other, routed)``: the shipped reduced model (two stages, 8 bits), a two-stage
    model reading ``ndvi_max_late`` that calls more ground disturbed, and the first routing
    pixels to the other where ``ndvi_max - ndvi_max_late > 0.05``."""
    first = bundled_model(TWO_STAGE)
    assert first.refine is not None and first.eight_bit is not None
    plain = first.without_eight_bit()
    assert plain.refine is not None
    shift = [("disturbed", 2.0)]
    one = _grown(with_label_bias(replace(plain, refine=None), shift), 1)
    two = _grown(with_label_bias(plain.refine.model, shift), 2)
    other = replace(one, model_id="late", refine=replace(first.refine, model=two))
    routed = replace(
        widen(first, LATE, other),
        model_id="routed",
        route=Route(other, "ndvi_max", "ndvi_max_late", MARGIN),
    )
    return first, other, routed


def _features(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """:data:`LATE` features over the model's range, ``ndvi_max_late`` around ``ndvi_max``
    (about half of the pixels 0.05 lower or more), a few NaN, a few pixels not valid."""
    first = bundled_model(TWO_STAGE)
    rng = np.random.default_rng(seed)
    lo, hi = first.lower[:, None], first.upper[:, None]
    base = (lo + (hi - lo) * rng.uniform(-0.05, 1.05, (len(lo), n))).astype(np.float32)
    at = LATE.names.index("ndvi_max_late")
    late = base[LATE.names.index("ndvi_max")] - rng.normal(MARGIN, 0.1, n)
    x = np.insert(base, at, late.astype(np.float32), axis=0)
    x[rng.integers(0, len(x), 20), rng.integers(0, n, 20)] = np.nan
    x[at, :5] = np.nan  # no late NaN-only routing: NaN is no data
    valid = rng.uniform(size=n) > 0.02
    return x, valid


def _drop_late(x: np.ndarray) -> np.ndarray:
    return np.delete(x, LATE.names.index("ndvi_max_late"), axis=0)


def test_routed_pixels_take_the_other_models_answer(
    models: tuple[PixelModel, PixelModel, PixelModel],
) -> None:
    first, other, routed = models
    x, valid = _features(8000, seed=0)
    got = routed.predict(x, valid)
    send = routed.route.sends(x) if routed.route else None
    assert send is not None and 0.3 < send.mean() < 0.7
    one = first.predict(_drop_late(x), valid)
    alone = other.predict(x, valid)
    late_nan = np.isnan(x[LATE.names.index("ndvi_max_late")])
    assert (got.code[late_nan] == CLOUD_NODATA).all()  # first reads it too, widened
    stay = ~send & ~late_nan
    for mine, want in ((stay, one), (send, alone)):
        np.testing.assert_array_equal(got.code[mine], want.code[mine])
        np.testing.assert_array_equal(got.probability[mine], want.probability[mine])
        np.testing.assert_array_equal(got.cover[mine], want.cover[mine])
    assert (one.code[send] != alone.code[send]).mean() > 0.05  # the route changes answers
    nodata = (one.code == CLOUD_NODATA) | ~valid
    assert nodata.sum() > 0 and (got.code[nodata] == CLOUD_NODATA).all()
    # the numpy reference: the same rule, last bits of the probabilities aside
    ref = routed.predict_numpy(x, valid)
    same = ref.code == got.code
    assert same.mean() >= 0.999
    np.testing.assert_allclose(ref.probability[same], got.probability[same], rtol=0, atol=1e-5)


def test_widening_keeps_the_answers(models: tuple[PixelModel, PixelModel, PixelModel]) -> None:
    first, other, routed = models
    wide = replace(routed, route=None)
    x, valid = _features(20_000, seed=1)
    x[LATE.names.index("ndvi_max_late")] = np.nan_to_num(x[LATE.names.index("ndvi_max_late")])
    a, b = first.predict(_drop_late(x), valid), wide.predict(x, valid)
    # the folded first-layer biases sum one more (zero) term: the last bit may differ
    assert (a.code == b.code).mean() >= 0.9999
    np.testing.assert_allclose(a.probability, b.probability, rtol=0, atol=1e-4)
    assert widen(first, first.features, other) is first
    with pytest.raises(ModelError, match="reads all its features"):
        widen(other, SHIPPED, first)


def test_row_fused_equals_two_step_bit_for_bit(
    models: tuple[PixelModel, PixelModel, PixelModel],
) -> None:
    """A block of two planes, a window off the edges, margins that route some pixels or nearly
    all (the route's queue fills and runs several times within a row and a block)."""
    _, other, routed = models
    rng = np.random.default_rng(3)
    shape = (2, 70, 130)
    refl = np.repeat(np.repeat(rng.uniform(0.01, 0.4, (5, 2, 7, 13)), 10, 2), 10, 3)
    refl = (refl * rng.uniform(0.95, 1.05, (5, *shape))).astype(np.float32)
    values = dict(zip(REDUCED_FEATURES.bands, refl, strict=True))
    ndvi = (values["nir"] - values["red"]) / (values["nir"] + values["red"])
    values["ndvi_max"] = ndvi.astype(np.float32)
    values["ndvi_max_late"] = (ndvi - rng.uniform(-0.1, 0.2, shape)).astype(np.float32)
    valid = np.ones(shape, bool)
    valid[0, 20:40, 30:60] = False
    window = (slice(5, 66), slice(10, 125))
    for margin in (MARGIN, -1.0):
        model = replace(routed, route=Route(other, "ndvi_max", "ndvi_max_late", margin))
        inputs = np.stack([values[n] for n in model.features.inputs])
        inputs[:, ~valid] = np.nan
        plan = model.fused_plan
        assert plan is not None
        got = classify_fused(model._kernel_model, plan, np.ascontiguousarray(inputs), valid, window)
        assert got is not None
        feats = compute_features(
            dict(zip(model.features.inputs, inputs, strict=True)), model.features, valid
        )
        want = model.predict(feats, valid, window=window)
        for a, b in zip(got, (want.code, want.probability, want.cover), strict=True):
            np.testing.assert_array_equal(a, b)
        alone = other.predict(feats, valid, window=window)
        sent = model.route.sends(feats[:, :, window[0], window[1]]) if model.route else None
        assert sent is not None and sent.any()
        sent &= want.code != CLOUD_NODATA
        np.testing.assert_array_equal(want.code[sent], alone.code[sent])
        if margin < 0:
            assert sent.sum() > 4 * 1024  # the queue filled and ran within the block


def test_float_probabilities_come_from_the_model_that_decides(
    models: tuple[PixelModel, PixelModel, PixelModel],
) -> None:
    first, other, routed = models
    x, _ = _features(3000, seed=4)
    x = np.nan_to_num(x, nan=0.0)
    send = routed.route.sends(x) if routed.route else None
    assert send is not None
    p = routed.predict_proba(x.T)
    np.testing.assert_allclose(p[send], other.predict_proba(x.T)[send], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        p[~send], first.predict_proba(_drop_late(x).T)[~send], rtol=1e-4, atol=1e-5
    )


def test_file_round_trip_and_refusals(
    models: tuple[PixelModel, PixelModel, PixelModel], tmp_path: Path
) -> None:
    first, _, routed = models
    path = tmp_path / "routed.gmodel"
    sha = save_model(routed, path)
    assert save_model(routed, tmp_path / "again.gmodel") == sha
    back = load_model(path)
    assert back.digest == routed.digest and back.route is not None
    assert back.route.describe() == "ndvi_max - ndvi_max_late > 0.05"
    assert back.route.model.refine is not None and back.eight_bit is not None
    with zipfile.ZipFile(path) as zf:
        header = json.loads(zf.read("model.json"))
        assert header["format"] == FORMAT_ROUTE
        assert {"arrays/route/w0.npy", "arrays/route/refine/w0.npy"} <= set(zf.namelist())
    x, valid = _features(2000, seed=2)
    np.testing.assert_array_equal(back.predict(x, valid).code, routed.predict(x, valid).code)

    def as_int8(h: dict) -> None:  # type: ignore[type-arg]
        h["format"] = FORMAT_INT8

    def no_route(h: dict) -> None:  # type: ignore[type-arg]
        del h["route"]

    def extra(h: dict) -> None:  # type: ignore[type-arg]
        h["route"]["when"] = "always"

    def own_features(h: dict) -> None:  # type: ignore[type-arg]
        h["route"]["model"]["bands"] = ["blue"]

    def nested(h: dict) -> None:  # type: ignore[type-arg]
        h["route"]["model"]["route"] = json.loads(json.dumps(h["route"]))

    def unknown(h: dict) -> None:  # type: ignore[type-arg]
        h["route"]["subtrahend"] = "ndvi_min"

    def margin(h: dict) -> None:  # type: ignore[type-arg]
        h["route"]["margin"] = "0.05"

    cases = [
        (_rewrite(path, tmp_path / "a.gmodel", as_int8), "routes pixels"),
        (_rewrite(path, tmp_path / "b.gmodel", no_route), "routes pixels"),
        (_rewrite(path, tmp_path / "c.gmodel", extra), "nothing else"),
        (_rewrite(path, tmp_path / "d.gmodel", own_features), "nothing else"),
        (_rewrite(path, tmp_path / "e.gmodel", nested), "nothing else"),
        (_rewrite(path, tmp_path / "f.gmodel", unknown), "does not have"),
        (_rewrite(path, tmp_path / "g.gmodel", margin), "nothing else"),
        (
            _rewrite(path, tmp_path / "h.gmodel", lambda h: None, drop="arrays/route/b1.npy"),
            "entry",
        ),
    ]
    for bad, words in cases:
        with pytest.raises(ModelError, match=words):
            load_model(bad)
    # a route inside a file of format 5 (older geomon would run the first model alone)
    one = tmp_path / "one.gmodel"
    save_model(first, one)

    def add_route(h: dict) -> None:  # type: ignore[type-arg]
        h["route"] = header["route"]

    with pytest.raises(ModelError, match="routes pixels"):
        load_model(_rewrite(one, tmp_path / "i.gmodel", add_route))


def test_a_route_must_fit(models: tuple[PixelModel, PixelModel, PixelModel]) -> None:
    first, other, routed = models
    with pytest.raises(ModelError, match="other features or labels"):
        replace(first, route=Route(other, "ndvi_max", "ndvi_max_late", MARGIN))
    with pytest.raises(ModelError, match="does not have"):
        Route(other, "ndvi_max", "ndvi_min", MARGIN)
    with pytest.raises(ModelError, match="two different features"):
        Route(other, "ndvi_max", "ndvi_max", MARGIN)
    with pytest.raises(ModelError, match="finite margin"):
        Route(other, "ndvi_max", "ndvi_max_late", float("nan"))
    with pytest.raises(ModelError, match="routes pixels of its own"):
        Route(routed, "ndvi_max", "ndvi_max_late", MARGIN)
    assert {m.model_id for m in routed.parts} >= {"late", "routed"} and len(routed.parts) == 4
    one = replace(routed, refine=None)
    with pytest.raises(ModelError, match="a second stage cannot"):
        Refinement(one, ("water",), 0.5)
    with pytest.raises(ModelError, match="two stages or a route"):
        with_label_bias(one, [("disturbed", 1.0)])


def test_route_command(
    models: tuple[PixelModel, PixelModel, PixelModel],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, other, routed = models
    a, b, out = tmp_path / "a.gmodel", tmp_path / "b.gmodel", tmp_path / "ab.gmodel"
    # rules fitted to the first model's probabilities do not pass to the joined model's
    save_model(
        replace(first, info={**first.info, "change_rules": {"tail_min_probability": 0.6}}), a
    )
    save_model(other, b)
    rule = "ndvi_max - ndvi_max_late > 0.05"
    assert main(["route", str(a), str(b), "--where", rule, "--out", str(out)]) == 0
    assert "where ndvi_max - ndvi_max_late > 0.05" in capsys.readouterr().out
    made = load_model(out)
    assert made.route is not None and made.route.model.digest == other.digest
    assert made.change_rules == {}
    assert made.info["route"] == {"first": first.model_id, "other": "late"}
    x, valid = _features(2000, seed=5)
    np.testing.assert_array_equal(made.predict(x, valid).code, routed.predict(x, valid).code)
    bad_out = tmp_path / "x.gmodel"
    for args, words in (
        ([str(a), str(b), "--where", "ndvi_max > 0.05"], "give 'FEATURE - FEATURE > MARGIN'"),
        ([str(a), str(b), "--where", "ndvi_max - ndvi_max_late > 1e999"], "give 'FEATURE"),
        ([str(a), str(b), "--where", "ndvi_max - ndvi_min > 0"], "reads 'ndvi_min'"),
        ([str(b), str(a), "--where", rule], "reads 'ndvi_max_late'"),
        ([str(out), str(b), "--where", rule], "route nothing of their own"),
    ):
        assert main(["route", *args, "--out", str(bad_out)]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*x.gmodel*"))
    # quantize calibrates unrouted models only
    assert main(["quantize", str(out), "--demo-seeds", "1", "--out", str(bad_out)]) == 2
    assert "quantize each model before" in capsys.readouterr().err
    assert not bad_out.exists()


def test_card_describes_the_route(models: tuple[PixelModel, PixelModel, PixelModel]) -> None:
    from geomon.classify.card import model_card
    from geomon.report.model_card import parse_card

    *_, routed = models
    text = model_card(routed, "r.gmodel", "0" * 64, 1, {}, chosen=False)
    assert "## Routing" in text and "Where ndvi_max - ndvi_max_late > 0.05" in text
    assert "not chosen automatically" in text and "routed first stage" in text
    summary = parse_card(text)["summary"]
    assert "where ndvi_max - ndvi_max_late > 0.05, another model decides" in summary
    assert "(32, 16) then (128, 64)" in summary
