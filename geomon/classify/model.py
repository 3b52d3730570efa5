"""The pixel model: a small multi-layer perceptron trained with scikit-learn, run by a compiled
forward pass (:mod:`geomon.classify._forward`) whose hidden layers sum in integers
(:mod:`geomon.classify._quant`: the float32 model's classes on all but a few pixels in 10,000;
:meth:`PixelModel.predict_proba` keeps the float32 model itself).

Why an MLP rather than a random forest or gradient boosting: prediction is two small matrix
products per block (about 1,500 multiply-adds per pixel for the reduced model), where a 50-tree
forest walks 50 trees per pixel (~26 ns per pixel per tree measured here, three quarters of the
chain's time). Its weights are plain arrays, so a model file holds numbers only (see
:mod:`geomon.classify.model_io`), loads without running code, and stays a few kilobytes.
Tree models extrapolate flat, an MLP linearly; inputs are clipped to the training range
(``lower``/``upper``) so that out-of-range reflectance cannot push a pixel into a far class.

A model predicts *labels* (finer covers such as ``forest`` or ``pit``); each label belongs to one
contract class (:mod:`geomon.classify.classes`) and one baseline cover. The contract class of a
pixel is the class with the largest summed label probability.

Two stages (:class:`Refinement`, since stop 19): a small network classifies every pixel, and a
wider one only those the small one is unsure of (its class not accepted, or its probability
below a threshold); the wider one's results replace the small one's there. On the shared bands
a (128, 64) network reached validation ``bare_disturbed`` F1 0.967 where (32, 16) reached 0.934,
at four times the cost per pixel; two stages (``geomon-shared-reduced-v9``) reached 0.959 with
the wide one run on 6.6 % of the validation pixels (7.6 % of the realistic benchmark scene's).
Since stop 20 an accepted class may stand at a probability of its own: the shipped
``geomon-shared-reduced-v10`` is v9's stages with ``bare_disturbed`` standing at 0.98 (v9 sent
every first-stage ``bare_disturbed`` pixel on), validation F1 0.958 with 2.0 % of the pixels
sent. Knowledge distillation into the small network did not help (0.87 regressing the wide
one's logits, 0.930 from its soft labels). Since stop 24 the shipped shared-band model is
``geomon-shared-reduced-v11``: v10 with both stages' hidden layers in 8 bits
(:attr:`PixelModel.eight_bit`, ``geomon quantize``).

Routing (:class:`Route`, since stop 30): a model may hand the pixels where one input exceeds
another by a margin to another model. Stop 29 found the classifier misses ground cleared within
a period; a model trained on middle-scene labels with ``ndvi_max_late`` finds it, but is worse on
ground whose NDVI did not fall late in the period, so only the pixels where ``ndvi_max -
ndvi_max_late > 0.05`` go to it. The first model is widened to the other's features with zero
weights (:func:`widen`)."""

from __future__ import annotations

import hashlib
import json
import reprlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from geomon.classify.classes import CLASS_NAMES, CLOUD_NODATA, COVER_NAMES
from geomon.classify.features import FeatureSet
from geomon.errors import ModelError

if TYPE_CHECKING:
    from geomon.classify._forward import KernelModel
    from geomon.classify._fused import FusedPlan
    from geomon.classify._quant import EightBit, QuantLayers

__all__ = ["PixelModel", "Prediction", "Refinement", "Route", "one_blas_thread", "widen"]


@dataclass(frozen=True)
class Prediction:
    """Per-pixel output of :meth:`PixelModel.predict` (arrays of the input's spatial shape)."""

    code: np.ndarray
    """Contract class code, uint8 (0 = cloud_nodata where the input was invalid)."""
    probability: np.ndarray
    """Probability of the winning contract class, float32 (0 where invalid)."""
    cover: np.ndarray
    """Index into :data:`~geomon.classify.classes.COVER_NAMES` of the most probable label, uint8."""


@dataclass(frozen=True, eq=False)
class PixelModel:
    """A trained pixel classifier: feature scaling, MLP layers, and label metadata."""

    model_id: str
    """Stable name, e.g. ``geomon-s2-full-v6``."""
    features: FeatureSet
    """Bands and indices the model reads, in input order."""
    labels: tuple[str, ...]
    """Output labels (finer covers), in output order."""
    label_classes: tuple[str, ...]
    """Contract class name of each label."""
    label_covers: tuple[str, ...]
    """Baseline cover name (``COVER_NAMES``) of each label."""
    lower: np.ndarray
    """Per-feature lower clip bound (training range), float32 ``(n_features,)``."""
    upper: np.ndarray
    """Per-feature upper clip bound, float32 ``(n_features,)``."""
    mean: np.ndarray
    """Per-feature mean for standardisation, float32 ``(n_features,)``."""
    scale: np.ndarray
    """Per-feature standard deviation (>0), float32 ``(n_features,)``."""
    weights: tuple[np.ndarray, ...]
    """Layer weight matrices ``(n_in, n_out)``, float32; ReLU between layers, softmax at the end."""
    biases: tuple[np.ndarray, ...]
    """Layer bias vectors ``(n_out,)``, float32."""
    info: Mapping[str, Any] = field(default_factory=dict)
    """JSON-serialisable training metadata (data, seeds, hyper-parameters, accuracy)."""
    refine: Refinement | None = None
    """A second stage (a two-stage model): where this model's class is not one of
    ``refine.accept`` or its probability is below that class's threshold
    (``refine.thresholds``), the pixel takes the second stage's class, probability and cover. A
    small first stage settles most pixels (clear vegetation, water, settlements) and a wider
    second one decides the rest, so the wide one's accuracy costs a fraction of its time."""
    eight_bit: EightBit | None = None
    """Calibrated 8-bit integer layers (:func:`geomon.classify._quant.calibrate8`; ``geomon
    quantize``): the compiled pass and :meth:`predict_numpy` run this stage's hidden layers in
    8 bits (:func:`~geomon.classify._quant.quantize_layers8`) instead of 16; None: 16 bits."""
    route: Route | None = None
    """Another model for some pixels (since stop 30): where one input exceeds another by more
    than a margin (:class:`Route`), the pixel takes that model's class, probability and cover
    (after its own second stage, if it has one), and this model's answer (and second stage) is
    not used there."""

    def __post_init__(self) -> None:
        _check_model(self)

    @property
    def change_rules(self) -> dict[str, float]:
        """Change rules fitted to this model's probabilities (``info["change_rules"]``, e.g.
        ``{"tail_min_probability": 0.7, "tail_min_clear": 2}``):
        :class:`geomon.footprint.ChangeOptions` takes
        them where a rule is not given (:meth:`~geomon.footprint.ChangeOptions.resolved`);
        {} when the model carries none. ``geomon model-rules`` sets them."""
        return {
            str(k): v if isinstance(v, int) else float(v)  # a count of observations stays whole
            for k, v in dict(self.info.get("change_rules") or {}).items()
        }

    @property
    def date_view(self) -> float | None:
        """The probability from which this model's class of a period's *date view* (the clear
        observation nearest the period's middle, ``view_<band>`` of a composite made with
        ``CompositeOptions(date_view=True)``) replaces a clear composite class with
        ``bare_disturbed`` (``info["date_view"]["min_probability"]``); None: the model does
        not read a date view. ``geomon model-rules --date-view`` sets it."""
        view = self.info.get("date_view")
        return None if not view else float(view["min_probability"])

    @property
    def reads_date_view(self) -> bool:
        """Whether the composites this model classifies need each period's date view
        (``CompositeOptions(date_view=True)``): it classifies the view (:attr:`date_view`) or
        reads a statistic of it (``ndvi_mid``, :data:`~geomon.classify.features.VIEW_STATISTICS`)."""
        return self.date_view is not None or self.features.reads_date_view

    @property
    def date_view_release(self) -> float | None:
        """The probability from which this model's class of a period's date view replaces a
        composite ``bare_disturbed`` with the view's other clear class
        (``info["date_view"]["release_probability"]``); None: the view only adds
        ``bare_disturbed``. ``geomon model-rules --date-view-release`` sets it."""
        view = self.info.get("date_view") or {}
        release = view.get("release_probability")
        return None if release is None else float(release)

    @property
    def date_view_baseline(self) -> bool:
        """Whether the change rules read this model's view-amended classes in the baseline
        period (``info["date_view"]["baseline"]``; later periods, the composite's own):
        ground the baseline's view calls bare is disturbed at the baseline, not new later.
        ``geomon model-rules --date-view-baseline`` sets it."""
        return bool((self.info.get("date_view") or {}).get("baseline", False))

    @property
    def digest(self) -> str:
        """SHA-256 of the model's numbers and metadata (independent of the file container)."""
        h = hashlib.sha256()
        h.update(json.dumps(self.header(), sort_keys=True).encode())
        for arr in self.arrays():
            h.update(np.ascontiguousarray(arr, dtype="<f4").tobytes())
        return h.hexdigest()

    def arrays(self) -> list[np.ndarray]:
        """The model's numbers in file order: bounds, scaling, then each layer's weights and
        biases, then the second stage's in the same order."""
        out = [self.lower, self.upper, self.mean, self.scale]
        for w, b in zip(self.weights, self.biases, strict=True):
            out += [w, b]
        out += self.eight_bit.arrays() if self.eight_bit else []
        out += self.refine.model.arrays() if self.refine else []
        return out + (self.route.model.arrays() if self.route else [])

    def header(self) -> dict[str, Any]:
        """The JSON part of the model (everything but the arrays)."""
        context = [[c.source, c.size, c.stat] for c in self.features.context]
        return {
            "model_id": self.model_id,
            "bands": list(self.features.bands),
            "indices": list(self.features.indices),
            **({"context": context} if context else {}),
            **({"temporal": list(self.features.temporal)} if self.features.temporal else {}),
            "labels": list(self.labels),
            "label_classes": list(self.label_classes),
            "label_covers": list(self.label_covers),
            "n_layers": len(self.weights),
            "info": dict(self.info),
            **({"refine": self.refine.header()} if self.refine else {}),
            **({"int8": self._eight_bit_header()} if self.eight_bit else {}),
            **({"route": self.route.header()} if self.route else {}),
        }

    @property
    def stages(self) -> tuple[PixelModel, ...]:
        """This model, then its second stage if it has one (not a routed model's other model:
        :attr:`parts`)."""
        return (self, self.refine.model) if self.refine else (self,)

    @property
    def parts(self) -> tuple[PixelModel, ...]:
        """Every single-stage network in the model: :attr:`stages`, then the routed model's."""
        return self.stages + (self.route.model.stages if self.route else ())

    def without_eight_bit(self) -> PixelModel:
        """This model with every stage's hidden layers in 16 bits (its float numbers unchanged)."""
        refine = self.refine
        if refine is not None and refine.model.eight_bit is not None:
            refine = replace(refine, model=replace(refine.model, eight_bit=None))
        route = self.route
        if route is not None:
            route = replace(route, model=route.model.without_eight_bit())
        return replace(self, eight_bit=None, refine=refine, route=route)

    def _eight_bit_header(self) -> dict[str, Any]:
        assert self.eight_bit is not None
        return {"n_layers": len(self.eight_bit.weights), "info": dict(self.eight_bit.info)}

    @cached_property
    def _folded(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Layers transposed for feature-major input, standardisation folded into the first."""
        w0 = self.weights[0] / self.scale[:, None]
        b0 = self.biases[0] - (self.mean / self.scale) @ self.weights[0]
        ws = (w0, *self.weights[1:])
        bs = (b0, *self.biases[1:])
        return (
            tuple(np.ascontiguousarray(w.T, np.float32) for w in ws),
            tuple(np.asarray(b, np.float32)[:, None] for b in bs),
        )

    @cached_property
    def _class_matrix(self) -> np.ndarray:
        """0/1 matrix ``(n_classes, n_labels)`` summing label probabilities into contract classes."""
        out = np.zeros((len(CLASS_NAMES), len(self.labels)), dtype=np.float32)
        for i, name in enumerate(self.label_classes):
            out[CLASS_NAMES.index(name), i] = 1
        return out

    @cached_property
    def _label_cover_codes(self) -> np.ndarray:
        return np.array([COVER_NAMES.index(c) for c in self.label_covers], dtype=np.uint8)

    def _scores(self, xfm: np.ndarray, *, integer: bool = False) -> np.ndarray:
        """Unnormalised label probabilities ``(n_labels, n)`` for feature-major ``(n_features,
        n)``: the float32 model, or with ``integer`` the hidden layers as the compiled forward
        pass runs them (:func:`geomon.classify._quant.hidden_activations`)."""
        weights, biases = self._folded
        first = 0
        if integer and self._quant.n_int:
            from geomon.classify._quant import hidden_activations

            h = hidden_activations(self._quant, self.lower, self.upper, xfm)
            first = self._quant.n_int
        else:
            h = np.clip(xfm, self.lower[:, None], self.upper[:, None])
        last = len(weights) - 1
        for i in range(first, len(weights)):
            h = _layer(weights[i], h)
            h += biases[i]
            if i < last:
                np.maximum(h, 0, out=h)
        h -= h.max(axis=0)
        np.exp(h, out=h)
        return h

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Label probabilities ``(n, n_labels)`` for features ``x`` of shape ``(n, n_features)``,
        of the float32 model (scikit-learn's numbers; :meth:`predict` runs the integer layers).
        A two-stage model routes each pixel by its float32 first stage's class probability, so
        a pixel whose probability lies within a few 1e-3 of the threshold may take the other
        stage's numbers than :meth:`predict` gives it (93 of 200,000 test pixels in review)."""
        x = np.asarray(x, dtype=np.float32)
        with one_blas_thread():
            scores = self._scores(np.ascontiguousarray(x.T))
        proba = (scores / scores.sum(axis=0)).T
        routed = self.route.sends(x.T) if self.route is not None else np.zeros(len(x), bool)
        if self.refine is not None:
            classes = proba @ self._class_matrix.T
            code = classes.argmax(axis=1)
            send = ~routed & ~self.refine.accepts(code, classes.max(axis=1))
            if send.any():
                proba[send] = self.refine.model.predict_proba(x[send])
        if self.route is not None and routed.any():
            proba[routed] = self.route.model.predict_proba(x[routed])
        return proba

    @cached_property
    def _kernel_model(self) -> KernelModel:
        """The folded model as the compiled forward pass takes it (layers ``(n_out, n_in)``)."""
        from geomon.classify._forward import KernelModel

        return KernelModel(
            np.ascontiguousarray(self.lower, np.float32),
            np.ascontiguousarray(self.upper, np.float32),
            self._folded[0],
            self._flat_biases,
            np.array([CLASS_NAMES.index(c) for c in self.label_classes], np.intp),
            self._label_cover_codes,
            len(CLASS_NAMES),
            CLOUD_NODATA,
            COVER_NAMES.index("unknown"),
            self._quant,
            self.refine.kernel_rule() if self.refine else (),
            self.route.kernel_rule(self.features) if self.route else (),
        )

    @cached_property
    def _quant(self) -> QuantLayers:
        """The hidden layers in integers, as the compiled forward pass runs them."""
        from geomon.classify._quant import quantize_layers, quantize_layers8

        if self.eight_bit is not None:
            return quantize_layers8(
                self.lower, self.upper, self._folded[0], self._flat_biases, self.eight_bit
            )
        return quantize_layers(self.lower, self.upper, self._folded[0], self._flat_biases)

    @cached_property
    def _flat_biases(self) -> tuple[np.ndarray, ...]:
        """The folded biases as contiguous ``(n_out,)`` vectors (the kernels' layout)."""
        return tuple(np.ascontiguousarray(b[:, 0]) for b in self._folded[1])

    @cached_property
    def fused_plan(self) -> FusedPlan | None:
        """How :func:`geomon.classify._fused.classify_fused` makes this model's features from
        its inputs row by row, or None when it cannot (no context, or an index it does not
        know): blocks then go through :func:`~geomon.classify.features.compute_features` and
        :meth:`predict`."""
        from geomon.classify._fused import fused_plan

        return fused_plan(self.features)

    def predict(
        self,
        features: np.ndarray,
        valid: np.ndarray | None = None,
        *,
        window: tuple[slice, slice] | None = None,
    ) -> Prediction:
        """Classify a feature stack ``(n_features, *shape)``; pixels not ``valid`` or NaN get code 0.
        ``window``: classify only the pixels of these slices (step 1) of the last two axes (a
        block read with a halo: its own pixels), the same results as those pixels of the whole.

        Runs the compiled forward pass (:mod:`geomon.classify._forward`: one pass per tile of
        pixels with no ``(width, n)`` temporaries; its notes give its speed);
        :meth:`predict_numpy` is the reference it is tested against.
        """
        from geomon.classify._forward import forward, forward_window

        shape = features.shape[1:]
        if window is None:
            xfm = np.asarray(features, dtype=np.float32).reshape(len(self.features), -1)
            ok = None if valid is None else np.asarray(valid, bool).reshape(-1)
            code, prob, cover = forward(self._kernel_model, xfm, ok)
            return Prediction(code.reshape(shape), prob.reshape(shape), cover.reshape(shape))
        if len(shape) < 2:
            raise ValueError("a window needs features (n_features, ..., y, x)")
        planes = (-1, *shape[-2:])
        x4 = np.ascontiguousarray(features, dtype=np.float32).reshape(len(features), *planes)
        ok = None
        if valid is not None:
            ok = np.broadcast_to(np.asarray(valid, bool), shape).reshape(planes)
        code, prob, cover = forward_window(self._kernel_model, x4, ok, window)
        out = (*shape[:-2], *code.shape[-2:])
        return Prediction(code.reshape(out), prob.reshape(out), cover.reshape(out))

    def predict_numpy(self, features: np.ndarray, valid: np.ndarray | None = None) -> Prediction:
        """:meth:`predict` in numpy (BLAS products over cache-sized slices): the reference."""
        shape = features.shape[1:]
        xfm = np.asarray(features, dtype=np.float32).reshape(len(self.features), -1)
        n = xfm.shape[1]
        code = np.empty(n, np.uint8)
        prob = np.empty(n, np.float32)
        cover = np.empty(n, np.uint8)
        with one_blas_thread():
            for start in range(0, n, _BLOCK):  # cache-sized slices: 3-4x faster than one product
                part = slice(start, min(start + _BLOCK, n))
                self._predict_slice(xfm[:, part], code[part], prob[part], cover[part])
        if valid is not None:
            bad = ~np.asarray(valid, dtype=bool).reshape(-1)
            code[bad] = CLOUD_NODATA
            prob[bad] = 0
            cover[bad] = COVER_NAMES.index("unknown")
        routed = np.zeros(n, bool)
        if self.route is not None:
            routed = (code != CLOUD_NODATA) & self.route.sends(xfm)
        if self.refine is not None:
            send = (code != CLOUD_NODATA) & ~routed & ~self.refine.accepts(code, prob)
            if send.any():
                second = self.refine.model.predict_numpy(xfm[:, send])
                code[send], prob[send], cover[send] = second.code, second.probability, second.cover
        if self.route is not None and routed.any():
            other = self.route.model.predict_numpy(xfm[:, routed])
            code[routed], prob[routed], cover[routed] = other.code, other.probability, other.cover
        return Prediction(code.reshape(shape), prob.reshape(shape), cover.reshape(shape))

    def _predict_slice(
        self, xfm: np.ndarray, code: np.ndarray, prob: np.ndarray, cover: np.ndarray
    ) -> None:
        scores = self._scores(xfm, integer=True)
        total = scores.sum(axis=0)
        class_scores = _layer(self._class_matrix, scores)
        code[:] = _argmax0(class_scores)
        np.divide(class_scores.max(axis=0), total, out=prob)
        cover[:] = self._label_cover_codes[_argmax0(scores)]
        bad = ~np.isfinite(total) | np.isnan(xfm).any(axis=0)
        code[bad] = CLOUD_NODATA
        prob[bad] = 0
        cover[bad] = COVER_NAMES.index("unknown")


_BLOCK = 32_768


@dataclass(frozen=True, eq=False)
class Refinement:
    """The second stage of a two-stage :class:`PixelModel` and when it decides."""

    model: PixelModel
    """The second stage: the same features and labels, one stage."""
    accept: tuple[str, ...]
    """Contract classes whose first-stage answer stands (at :attr:`min_probability` or above,
    or at the class's own minimum in :attr:`class_min_probability`)."""
    min_probability: float
    """The first stage's probability at or above which an accepted class stands."""
    class_min_probability: Mapping[str, float] | tuple[tuple[str, float], ...] = ()
    """Accepted classes whose first-stage answer stands only at a probability of their own
    instead of :attr:`min_probability` (since stop 20): a class the first stage is mostly
    right about when sure, but not otherwise, stands where it is sure. Given as a mapping or
    pairs; kept as ``(class, probability)`` pairs in the order of :attr:`accept` (immutable:
    :attr:`thresholds` and the compiled model are cached from it)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "accept", tuple(str(c) for c in self.accept))
        object.__setattr__(self, "min_probability", float(self.min_probability))
        given = self.class_min_probability
        pairs = list(given.items()) if isinstance(given, Mapping) else list(given)
        own = {str(c): float(p) for c, p in pairs}
        for names in (list(self.accept), [str(c) for c, _ in pairs]):
            twice = sorted({c for c in names if names.count(c) > 1})
            if twice:
                raise ModelError(f"a second stage names {twice[0]} twice; name each class once")
        order = {c: i for i, c in enumerate(self.accept)}
        ordered = tuple(sorted(own.items(), key=lambda cp: order.get(cp[0], len(order))))
        object.__setattr__(self, "class_min_probability", ordered)
        unknown = [c for c in self.accept if c not in CLASS_NAMES[1:]]
        if not self.accept:
            raise ModelError(
                "a second stage needs at least one class whose first-stage answer stands"
            )
        if unknown or not 0.0 <= self.min_probability <= 1.0:
            raise ModelError(
                f"a second stage needs classes of {', '.join(CLASS_NAMES[1:])} and a minimum "
                f"probability 0..1, not {unknown[:1] or self.min_probability!r}"
            )
        for name, p in ordered:
            if name not in self.accept or not 0.0 <= p <= 1.0:
                raise ModelError(
                    f"a class's own minimum probability needs an accepted class "
                    f"({', '.join(self.accept)}) and a probability 0..1, not {name}={p!r}"
                )
        if self.model.refine is not None:
            raise ModelError(f"model {self.model.model_id!r} has stages of its own; use one stage")
        if self.model.route is not None:
            raise ModelError(
                f"model {self.model.model_id!r} routes pixels; a second stage cannot (join the "
                "stages first, then route with 'geomon route')"
            )

    def _own(self) -> dict[str, float]:
        """:attr:`class_min_probability` as a new dict (in the order of :attr:`accept`)."""
        return dict(cast(tuple[tuple[str, float], ...], self.class_min_probability))

    def header(self) -> dict[str, Any]:
        """The JSON part of the second stage (``class_min_probability`` only when a class has
        one: the files written before it are unchanged, byte for byte)."""
        own = {"class_min_probability": self._own()}
        return {
            "model_id": self.model.model_id,
            "accept": list(self.accept),
            "min_probability": self.min_probability,
            **(own if self.class_min_probability else {}),
            "n_layers": len(self.model.weights),
            "info": dict(self.model.info),
            **({"int8": self.model._eight_bit_header()} if self.model.eight_bit else {}),
        }

    def describe(self) -> str:
        """The rule in words: ``vegetation, water at probability >= 0.5, or bare_disturbed at
        >= 0.99``."""
        own = self._own()
        common = [c for c in self.accept if c not in own]
        parts = [f"{', '.join(common)} at probability >= {self.min_probability}"] if common else []
        parts += [f"{c} at >= {p}" for c, p in own.items()]
        return ", or ".join(parts)

    @cached_property
    def thresholds(self) -> np.ndarray:
        """float32 per contract class code: the first stage's probability from which its answer
        stands (infinite for a class that never stands)."""
        own = self._own()
        out = np.full(len(CLASS_NAMES), np.inf, np.float32)
        for c in self.accept:
            out[CLASS_NAMES.index(c)] = own.get(c, self.min_probability)
        out.setflags(write=False)
        return out

    def accepts(self, code: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """Where the first stage's ``code`` and ``prob`` (float32, as the kernels compare it)
        stand."""
        return np.asarray(prob, np.float32) >= self.thresholds[code]

    def kernel_rule(self) -> tuple[KernelModel, np.ndarray]:
        """``KernelModel.refine`` of the first stage."""
        return self.model._kernel_model, self.thresholds


@dataclass(frozen=True, eq=False)
class Route:
    """Where a :class:`PixelModel` hands pixels to another model (since stop 30): pixels whose
    input :attr:`minuend` exceeds input :attr:`subtrahend` by more than :attr:`margin` (both
    as read, before clipping; float32; a NaN difference routes nothing) take :attr:`model`'s
    answer. The shipped use: ``ndvi_max - ndvi_max_late > 0.05``, ground whose NDVI fell in
    the second half of the period, goes to a model trained on middle-scene labels."""

    model: PixelModel
    """The model for routed pixels: the same features and labels; it may have a second stage,
    not a route of its own."""
    minuend: str
    """The feature from which :attr:`subtrahend` is taken."""
    subtrahend: str
    margin: float
    """Route where ``minuend - subtrahend > margin``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "margin", float(self.margin))
        names = self.model.features.names
        for name in (self.minuend, self.subtrahend):
            if name not in names:
                raise ModelError(
                    f"a route reads {name!r}, which model {self.model.model_id!r} does not have "
                    f"(its features: {', '.join(names)})"
                )
        if self.minuend == self.subtrahend or not np.isfinite(self.margin):
            raise ModelError(
                "a route needs two different features and a finite margin, not "
                f"{self.minuend} - {self.subtrahend} > {self.margin}"
            )
        if self.model.route is not None:
            raise ModelError(f"model {self.model.model_id!r} routes pixels of its own; join "
                             "models without routes")  # fmt: skip

    def header(self) -> dict[str, Any]:
        """The JSON part: the rule, and the model's own header without the features and labels
        (they are the routing model's)."""
        own = {k: v for k, v in self.model.header().items() if k not in _SHARED_HEADER}
        return {"minuend": self.minuend, "subtrahend": self.subtrahend,
                "margin": self.margin, "model": own}  # fmt: skip

    def describe(self) -> str:
        """The rule in words: ``ndvi_max - ndvi_max_late > 0.05``."""
        return f"{self.minuend} - {self.subtrahend} > {self.margin}"

    def sends(self, xfm: np.ndarray) -> np.ndarray:
        """Where feature-major ``xfm`` ``(n_features, n)`` float32 goes to :attr:`model`."""
        names = self.model.features.names
        a = np.asarray(xfm[names.index(self.minuend)], np.float32)
        b = np.asarray(xfm[names.index(self.subtrahend)], np.float32)
        with np.errstate(invalid="ignore"):
            return np.asarray((a - b) > np.float32(self.margin))

    def kernel_rule(self, features: FeatureSet) -> tuple[KernelModel, int, int, np.float32]:
        """``KernelModel.route`` of the routing model (its features ``features``)."""
        names = features.names
        return (self.model._kernel_model, names.index(self.minuend),
                names.index(self.subtrahend), np.float32(self.margin))  # fmt: skip


#: header fields a second stage and a routed model take from the model they belong to
_SHARED_HEADER = frozenset(
    {"bands", "indices", "context", "temporal", "labels", "label_classes", "label_covers"}
)


def widen(model: PixelModel, features: FeatureSet, like: PixelModel) -> PixelModel:
    """``model`` (and its second stage) reading ``features``, a superset of its own, with zero
    weights on the features it did not read: the same answers, so that it can route pixels
    to ``like`` (which reads ``features``; the new features' bounds and scaling are its)."""
    if model.features == features:
        return model
    missing = [n for n in model.features.names if n not in features.names]
    if missing or like.features != features:
        raise ModelError(
            f"model {model.model_id!r} reads {missing[0] if missing else 'features'} that "
            f"{like.model_id!r} does not; route only to a model that reads all its features"
        )
    old, new = model.features.names, features.names
    at = [new.index(n) for n in old]

    def spread(values: np.ndarray, fill: np.ndarray, axis: int = 0) -> np.ndarray:
        out = np.array(fill, np.float32, copy=True)
        index: list[Any] = [slice(None)] * out.ndim
        index[axis] = at
        out[tuple(index)] = values
        return out

    def one(stage: PixelModel) -> PixelModel:
        w0 = spread(stage.weights[0], np.zeros((len(new), stage.weights[0].shape[1])))
        eight = stage.eight_bit
        if eight is not None:
            wide = np.zeros((eight.weights[0].shape[0], len(new)), np.float32)
            eight = replace(eight, weights=(spread(eight.weights[0], wide, 1), *eight.weights[1:]))
        return replace(
            stage,
            features=features,
            lower=spread(stage.lower, like.lower),
            upper=spread(stage.upper, like.upper),
            mean=spread(stage.mean, like.mean),
            scale=spread(stage.scale, like.scale),
            weights=(w0, *stage.weights[1:]),
            eight_bit=eight,
            refine=None,
        )

    refine = model.refine
    first = one(model)
    if refine is not None:
        refine = replace(refine, model=one(refine.model))
    return replace(first, refine=refine)


def _layer(w: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``w @ h`` (callers hold :func:`one_blas_thread`)."""
    return w @ h


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run BLAS single-threaded inside a block: a matrix product this thin runs up to 30x slower
    when OpenBLAS's threads compete with Dask's (measured on 2 cores). The limit is process-wide
    while held; it is restored on exit (overlapping blocks may leave it at 1, which only helps a
    Dask process). Training holds it too, so that a fit does not depend on the core count
    (:func:`geomon.classify.train.fit_pixel_model`)."""
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


def _argmax0(a: np.ndarray) -> np.ndarray:
    """``a.argmax(axis=0)`` as uint8 for a few rows; row-wise passes beat numpy's strided argmax."""
    best = a[0].copy()
    idx = np.zeros(a.shape[1], np.uint8)
    for i in range(1, a.shape[0]):
        np.putmask(idx, a[i] > best, i)
        np.maximum(best, a[i], out=best)
    return idx


def _check_model(model: PixelModel) -> None:
    """Raise :class:`ModelError` unless the model's parts fit together."""
    n_feat = len(model.features)
    n_lab = len(model.labels)
    problems: list[str] = []
    if not (len(model.label_classes) == len(model.label_covers) == n_lab) or n_lab < 2:
        problems.append(
            "labels, label_classes and label_covers must have one entry per label (>= 2)"
        )
    problems += [f"unknown class {c!r}" for c in model.label_classes if c not in CLASS_NAMES[1:]]
    problems += [f"unknown cover {c!r}" for c in model.label_covers if c not in COVER_NAMES]
    for name in ("lower", "upper", "mean", "scale"):
        arr = getattr(model, name)
        if arr.shape != (n_feat,) or arr.dtype != np.float32:
            problems.append(f"{name} must be float32 of shape ({n_feat},)")
    if not (model.scale > 0).all():
        problems.append("scale must be positive")
    problems += _check_layers(model.weights, model.biases, n_feat, n_lab)
    if model.eight_bit is not None and not problems:
        from geomon.classify._quant import check_eight_bit

        problems += check_eight_bit(
            model.eight_bit, model._folded[0], model._flat_biases, model.lower, model.upper
        )
    second = model.refine.model if model.refine else None
    if second is not None and not _same_inputs(second, model):
        problems.append(
            f"second stage {second.model_id!r} reads other features or labels (train both "
            "stages with the same feature set and labels)"
        )
    other = model.route.model if model.route else None
    if other is not None and not _same_inputs(other, model):
        problems.append(
            f"routed model {other.model_id!r} reads other features or labels (join models of "
            "the same labels with 'geomon route', which widens the first to the second's features)"
        )
    if problems:
        raise ModelError(f"model {model.model_id!r} is inconsistent: {problems[0]}; retrain it")
    for problem in [
        *_check_change_rules(model.info.get("change_rules")),
        *_check_date_view(model.info.get("date_view")),
    ]:
        raise ModelError(f"model {model.model_id!r}: {problem}; set them with 'geomon model-rules'")


def _check_date_view(view: object) -> list[str]:
    """Why ``view`` (a model's ``info["date_view"]``) cannot be read: [] when absent or an
    object of a ``min_probability`` and an optional ``release_probability``, each from 0 to 1,
    and an optional ``baseline`` (true or false)."""
    if view is None:
        return []
    if (
        not isinstance(view, Mapping)
        or "min_probability" not in view
        or not set(view) <= {"min_probability", "release_probability", "baseline"}
    ):
        return [
            "date_view must be an object such as {'min_probability': 0.9} or "
            "{'min_probability': 0.9, 'release_probability': 0.95, 'baseline': true}"
        ]
    if not isinstance(view.get("baseline", False), bool):
        return [f"date_view baseline {reprlib.repr(view['baseline'])} must be true or false"]
    return [
        problem
        for name in ("min_probability", "release_probability")
        if name in view
        for problem in _probability_problems(f"date_view {name}", view[name])
    ]


def _probability_problems(name: str, value: object) -> list[str]:
    """[] when ``value`` is a number from 0 to 1 (not a bool), else why not."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return []
    return [f"{name} {reprlib.repr(value)} must be a number from 0 to 1"]


def _check_change_rules(rules: object) -> list[str]:
    """Why ``rules`` (a model's ``info["change_rules"]``) cannot be read: [] when absent or fit
    (names of :data:`geomon.footprint.change.MODEL_RULES`: ``tail_min_clear`` a whole number
    from 0, the others numbers from 0 to 1)."""
    from geomon.classify.classes import MAX_TAIL_CLEAR
    from geomon.footprint.change import MODEL_RULES

    if rules is None:
        return []
    if not isinstance(rules, Mapping):
        return ["change_rules must be an object such as {'tail_min_probability': 0.7}"]
    for name, value in rules.items():
        if name not in MODEL_RULES:
            return [
                f"change rule {reprlib.repr(name)} is not one a model carries "
                f"({', '.join(MODEL_RULES)})"
            ]
        if name == "tail_min_clear":  # a count of clear observations, not a probability
            whole = isinstance(value, int) and not isinstance(value, bool)
            if not (whole and 0 <= value <= MAX_TAIL_CLEAR):
                return [
                    f"change rule tail_min_clear {reprlib.repr(value)} must be a whole number "
                    f"from 0 to {MAX_TAIL_CLEAR}"
                ]
            continue
        problems = _probability_problems(f"change rule {name}", value)
        if problems:
            return problems
    return []


def _same_inputs(a: PixelModel, b: PixelModel) -> bool:
    """Whether ``a`` and ``b`` read the same features and give the same labels."""
    return a.features == b.features and (a.labels, a.label_classes, a.label_covers) == (
        b.labels,
        b.label_classes,
        b.label_covers,
    )


def _check_layers(
    weights: tuple[np.ndarray, ...], biases: tuple[np.ndarray, ...], n_in: int, n_out: int
) -> list[str]:
    if not weights or len(weights) != len(biases):
        return ["weights and biases must be non-empty and of equal length"]
    problems: list[str] = []
    width = n_in
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        if w.dtype != np.float32 or b.dtype != np.float32:
            problems.append(f"layer {i} must be float32")
        if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
            problems.append(f"layer {i} has shape {w.shape} after width {width}")
            break
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            problems.append(f"layer {i} holds non-finite numbers")
        width = w.shape[1]
    if not problems and width != n_out:
        problems.append(f"last layer gives {width} outputs for {n_out} labels")
    return problems
