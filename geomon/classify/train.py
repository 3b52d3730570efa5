"""Fit a :class:`~geomon.classify.model.PixelModel` with scikit-learn from labelled feature samples."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from geomon.classify.classes import CLASS_NAMES
from geomon.classify.features import FeatureSet
from geomon.classify.model import PixelModel, one_blas_thread
from geomon.errors import ConfigError, ModelError

__all__ = [
    "CONTRACT_SCHEME",
    "LabelScheme",
    "TrainOptions",
    "balanced_sample",
    "fit_pixel_model",
    "with_label_bias",
]


@dataclass(frozen=True)
class LabelScheme:
    """The labels a model predicts, each with its contract class and baseline cover."""

    labels: tuple[str, ...]
    classes: tuple[str, ...]
    covers: tuple[str, ...]

    def __post_init__(self) -> None:
        if not len(self.labels) == len(self.classes) == len(self.covers) or len(self.labels) < 2:
            raise ConfigError("a label scheme needs >= 2 labels, each with one class and one cover")


#: one label per contract class (for label rasters of contract codes 1..4)
CONTRACT_SCHEME = LabelScheme(
    labels=CLASS_NAMES[1:],
    classes=CLASS_NAMES[1:],
    covers=("unknown", "bare", "water", "unknown"),
)


#: widest hidden layer :class:`TrainOptions` accepts (the shipped models use 16 to 64)
MAX_WIDTH = 4096


@dataclass(frozen=True)
class TrainOptions:
    """Hyper-parameters of the MLP (scikit-learn ``MLPClassifier``) and its input scaling."""

    hidden: tuple[int, ...] = (32, 16)
    """Hidden layer widths; prediction costs about ``2 * sum(w_i * w_{i+1})`` flops per pixel.
    The full model ``geomon-s2-full-v8`` (shipped; the default until stop 32, then the first
    model of ``geomon-s2-full-v9``'s route, the default until stop 37) is trained with
    ``(64, 32)`` (``geomon train --hidden 64,32``): on validation seeds 4-7, 11, 12 (its 32 features, best prior correction)
    bare_disturbed F1 was 0.955 with (32, 16), 0.960 with (64, 16), 0.962 with (48, 24), and
    0.968 / 0.969 with (64, 32) (MLP seeds 0 / 1); classifying a composite cost 116, 172, 154
    and 206 ns per pixel (one thread). The shared-band model's features on the same seeds (stop
    19, best prior correction): 0.934 (32, 16), 0.943 (48, 24), 0.953 (64, 32), 0.948 (128, 16),
    0.964 (128, 32), 0.967 (128, 64); predicting a feature stack cost 45, 58, 78, -, 122 and 182
    ns per pixel. The shipped shared-band model (``geomon-shared-reduced-v10``, and v11, its
    8-bit form, since stop 24) is therefore two
    stages (:class:`~geomon.classify.model.Refinement`): (32, 16) for every pixel, (128, 64)
    for those it is unsure of."""
    alpha: float = 1e-4
    """L2 penalty."""
    learning_rate: float = 2e-3
    """Adam's initial learning rate."""
    batch_size: int = 512
    max_iter: int = 200
    """Epochs at most; early stopping on a 10 % validation split should end training sooner. The
    cap was 60 until stop 13, and every shipped model up to v6 reached it (early stopping never
    ended their training): on nine demo seeds, with 150, early stopping ended at 89 epochs and
    validation bare_disturbed F1 rose from 0.950 to 0.955 (full model, best prior correction)."""
    clip_quantile: float = 0.001
    """Feature clip bounds are the training data's ``q`` and ``1 - q`` quantiles."""
    seed: int = 0
    """Seed of weight initialisation and batch shuffling (the same data gives the same model)."""
    label_bias: tuple[tuple[str, float], ...] = ()
    """``(label, shift)`` pairs added to those labels' output logits after fitting: a prior
    correction (Saerens et al. 2002, Neural Computation 14: 21-41). Training draws labels about
    evenly, while a landscape holds far less of some (disturbed ground is ~5 % of a demo AOI),
    so the fitted model over-calls them; the shift is chosen on validation data, never on
    training or test data."""

    def __post_init__(self) -> None:
        if not self.hidden or not all(1 <= w <= MAX_WIDTH for w in self.hidden):
            raise ConfigError(
                f"hidden layer widths {self.hidden} must each be 1..{MAX_WIDTH}, e.g. (64, 32)"
            )

    def check_label_bias(self, labels: Sequence[str]) -> None:
        """Raise a one-line :class:`ConfigError` when :attr:`label_bias` names a label not in
        ``labels`` (callers check before sampling, so a typo is reported at once)."""
        unknown = [label for label, _ in self.label_bias if label not in labels]
        if unknown:
            raise ConfigError(
                f"label_bias names label {unknown[0]!r}; use one of {', '.join(labels)}"
            )

    def params(self) -> dict[str, Any]:
        """The options as a JSON-ready dict for the model card."""
        return {
            "estimator": "sklearn.neural_network.MLPClassifier",
            "hidden_layer_sizes": list(self.hidden),
            "activation": "relu",
            "solver": "adam",
            "alpha": self.alpha,
            "learning_rate_init": self.learning_rate,
            "batch_size": self.batch_size,
            "max_iter": self.max_iter,
            "early_stopping": True,
            "clip_quantile": self.clip_quantile,
            "random_state": self.seed,
            **({"label_bias": dict(self.label_bias)} if self.label_bias else {}),
        }


def balanced_sample(
    y: np.ndarray, per_label: int, rng: np.random.Generator, n_labels: int
) -> np.ndarray:
    """Indices of at most ``per_label`` samples of each label ``0..n_labels-1`` (sorted)."""
    picks = []
    for label in range(n_labels):
        idx = np.flatnonzero(y == label)
        if idx.size > per_label:
            idx = rng.choice(idx, per_label, replace=False)
        picks.append(idx)
    return np.sort(np.concatenate(picks))


def fit_pixel_model(
    x: np.ndarray,
    y: np.ndarray,
    features: FeatureSet,
    scheme: LabelScheme,
    model_id: str,
    options: TrainOptions | None = None,
    info: Mapping[str, Any] | None = None,
) -> PixelModel:
    """Train on features ``x`` ``(n, n_features)`` and label indices ``y`` ``(n,)``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    options = options or TrainOptions()
    options.check_label_bias(scheme.labels)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    _check_training_data(x, y, features, scheme)
    q = options.clip_quantile
    lower = np.quantile(x, q, axis=0).astype(np.float32)
    upper = np.quantile(x, 1 - q, axis=0).astype(np.float32)
    clipped = np.clip(x, lower, upper)
    mean = clipped.mean(axis=0).astype(np.float32)
    scale = np.maximum(clipped.std(axis=0), 1e-6).astype(np.float32)
    mlp = MLPClassifier(
        hidden_layer_sizes=options.hidden,
        alpha=options.alpha,
        learning_rate_init=options.learning_rate,
        batch_size=min(options.batch_size, len(x)),
        max_iter=options.max_iter,
        early_stopping=True,
        random_state=options.seed,
    )
    # One BLAS thread: the fit depends on how OpenBLAS splits its products between threads (the
    # same samples and random_state, full v7: 81 epochs with one thread, 86 with two), so a card's
    # reproduce command wrote another file on a machine with another core count. One thread is
    # no slower here (the fit alone: 168 s against 181 s with two threads on 2 cores).
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit((clipped - mean) / scale, y)
    weights = [np.asarray(w, np.float32) for w in mlp.coefs_]
    biases = [np.asarray(b, np.float32) for b in mlp.intercepts_]
    if weights[-1].shape[1] == 1:  # binary: sklearn's logistic output is softmax over (0, z)
        weights[-1] = np.hstack([np.zeros_like(weights[-1]), weights[-1]])
        biases[-1] = np.concatenate([np.zeros_like(biases[-1]), biases[-1]])
    meta = {
        "hyper_parameters": options.params(),
        "epochs": int(mlp.n_iter_),
        # the fit depends on them: at stop 29, v10's commands under scikit-learn 1.9.1 and numpy
        # 2.4.6 gave other weights (54 epochs, not 108) from the same samples
        "software": _software(),
        **dict(info or {}),
    }
    fitted = PixelModel(
        model_id=model_id,
        features=features,
        labels=scheme.labels,
        label_classes=scheme.classes,
        label_covers=scheme.covers,
        lower=lower,
        upper=upper,
        mean=mean,
        scale=scale,
        weights=tuple(weights),
        biases=tuple(biases),
        info=meta,
    )
    return with_label_bias(fitted, options.label_bias)


def _software() -> dict[str, str]:
    """Versions of the libraries a fit's numbers depend on."""
    import scipy
    import sklearn

    return {
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "scipy": scipy.__version__,
    }


def with_label_bias(model: PixelModel, label_bias: Iterable[tuple[str, float]]) -> PixelModel:
    """``model`` with each ``(label, shift)``'s shift added to that label's output logit (the
    prior correction of :attr:`TrainOptions.label_bias`). A two-stage model is refused: shift
    a stage before joining the stages (``geomon cascade --second-label-bias``)."""
    if model.refine is not None or model.route is not None:
        raise ModelError(
            f"model {model.model_id!r} has two stages or a route; shift one stage's model file "
            "before joining them (geomon cascade --second-label-bias for the second)"
        )
    last = model.biases[-1].copy()
    for label, shift in label_bias:
        last[model.labels.index(label)] += np.float32(shift)
    return replace(model, biases=(*model.biases[:-1], last))


def _check_training_data(
    x: np.ndarray, y: np.ndarray, features: FeatureSet, scheme: LabelScheme
) -> None:
    if x.ndim != 2 or x.shape[1] != len(features) or y.shape != (x.shape[0],):
        raise ModelError(
            f"training data must be (n, {len(features)}) features and (n,) labels; got {x.shape}, {y.shape}"
        )
    if not np.isfinite(x).all():
        raise ModelError("training features hold NaN or inf; drop invalid pixels before training")
    present = set(np.unique(y).tolist())
    missing: Sequence[str] = [
        scheme.labels[i] for i in range(len(scheme.labels)) if i not in present
    ]
    if missing or not present <= set(range(len(scheme.labels))):
        raise ModelError(
            f"training data lack label {missing[0] if missing else '?'!r}; add samples of every label"
        )
