"""Pixel features: surface-reflectance bands, spectral indices (REFERENCE.md formulas),
optionally temporal statistics of the period (composite variables such as ``ndvi_max``, the
period's greatest NDVI) and spatial context (local mean and standard deviation of a feature over
a square window).

Bands and indices are plain numpy over arrays of any shape, so the same code serves training
samples ``(n,)`` and image blocks ``(y, x)``. Context features need the neighbourhood, so a feature
set with context is computed on whole images (or overlapping blocks, see
:mod:`geomon.classify.apply`), its last two axes being ``(y, x)``. A :class:`FeatureSet` names the
bands a model reads, the indices it derives and its context; :func:`feature_set_for` picks the
richest standard set the available bands allow.

Context statistics are exact integer window sums of the feature quantised to 1/4096 (far below
sensor noise), so a pixel's value does not depend on where a block starts: chunked and whole-image
classification agree bit for bit. Pixels outside the image or not valid (NaN) are left out of a
window (normalised convolution: sum(value * valid) / sum(valid)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from geomon.errors import ConfigError, MissingBandsError
from geomon.imagery._indices import normalized_difference

__all__ = [
    "CONTEXT",
    "CONTEXT_V3",
    "FULL_BANDS",
    "FULL_FEATURES",
    "INDEX_BANDS",
    "NDVI_STATISTICS",
    "PERIOD_STATISTICS",
    "REDUCED_BANDS",
    "REDUCED_FEATURES",
    "VIEW_STATISTICS",
    "ContextFeature",
    "FeatureSet",
    "bsi",
    "compute_features",
    "feature_set_for",
    "mndwi",
    "nbr",
    "ndbi",
    "ndvi",
    "normalized_difference",
    "shipped_features",
    "single_observation",
]

#: the Sentinel-2 10 and 20 m bands of the imagery contract
FULL_BANDS: tuple[str, ...] = (
    "blue",
    "green",
    "red",
    "nir",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir08",
    "swir16",
    "swir22",
)
#: the bands Landsat, Sentinel-2 and sparse file exports share
REDUCED_BANDS: tuple[str, ...] = ("blue", "red", "nir", "swir16", "swir22")

Array = np.ndarray


def ndvi(nir: Array, red: Array) -> Array:
    """Normalised difference vegetation index ``(nir - red) / (nir + red)``."""
    return normalized_difference(nir, red)


def mndwi(green: Array, swir16: Array) -> Array:
    """Modified normalised difference water index ``(green - swir16) / (green + swir16)``."""
    return normalized_difference(green, swir16)


def nbr(nir: Array, swir22: Array) -> Array:
    """Normalised burn ratio ``(nir - swir22) / (nir + swir22)``."""
    return normalized_difference(nir, swir22)


def ndbi(swir16: Array, nir: Array) -> Array:
    """Normalised difference built-up index ``(swir16 - nir) / (swir16 + nir)``."""
    return normalized_difference(swir16, nir)


def bsi(blue: Array, red: Array, nir: Array, swir16: Array) -> Array:
    """Bare soil index ``((swir16 + red) - (nir + blue)) / ((swir16 + red) + (nir + blue))``."""
    return normalized_difference(np.add(swir16, red), np.add(nir, blue))


#: index name -> (bands it needs, in argument order; function)
_INDICES: dict[str, tuple[tuple[str, ...], Callable[..., Array]]] = {
    "ndvi": (("nir", "red"), ndvi),
    "mndwi": (("green", "swir16"), mndwi),
    # MNDWI with blue for green: the reduced band set has no green; water stays far above land.
    "mndwi_blue": (("blue", "swir16"), normalized_difference),
    "nbr": (("nir", "swir22"), nbr),
    "bsi": (("blue", "red", "nir", "swir16"), bsi),
    "ndbi": (("swir16", "nir"), ndbi),
    # red-edge NDVI: separates sparse vegetation from bare soil better than NDVI alone
    "ndre": (("nir08", "rededge1"), normalized_difference),
    # normalised difference tillage index (van Deventer et al. 1997, PE&RS 63: 87-93), the
    # SWIR1/SWIR2 contrast of the 2.1-2.4 um clay/carbonate/cellulose absorptions: deeper on fresh
    # rock and mine waste, subdued by weathering coatings, lichen and litter on natural ground
    "ndti": (("swir16", "swir22"), normalized_difference),
}
#: index name -> (bands summed on the plus side, bands summed on the minus side): the indices
#: that are a normalised difference of band sums, computed by one compiled pass (indices not
#: listed here run their numpy function)
_DIFFERENCE_TERMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ndvi": (("nir",), ("red",)),
    "mndwi": (("green",), ("swir16",)),
    "mndwi_blue": (("blue",), ("swir16",)),
    "nbr": (("nir",), ("swir22",)),
    "bsi": (("swir16", "red"), ("nir", "blue")),
    "ndbi": (("swir16",), ("nir",)),
    "ndre": (("nir08",), ("rededge1",)),
    "ndti": (("swir16",), ("swir22",)),
}
#: index name -> the bands it needs
INDEX_BANDS: dict[str, tuple[str, ...]] = {name: spec[0] for name, spec in _INDICES.items()}


def _as_float32(band: Array) -> Array:
    return np.asarray(band, dtype=np.float32)


#: temporal statistic of the period (a composite variable, see ``geomon.imagery.composite``, read
#: as a feature as it is) -> the bands it is computed from, and the value it takes for a period of
#: one observation (a single scene). Tried and dropped on validation seeds: ``ndvi_rise`` =
#: ndvi_max - NDVI of the median (commit 28b496b)
_PERIOD_VARIABLES: dict[str, tuple[tuple[str, ...], Callable[..., Array]]] = {
    # the greatest NDVI of the period's clear observations (for one observation: its NDVI)
    "ndvi_max": (("nir", "red"), ndvi),
    # the same over the period's second half, the whole period's where that half has none
    "ndvi_max_late": (("nir", "red"), ndvi),
    # the NDVI of the clear observation nearest the period's middle (its date view; composites
    # with CompositeOptions(date_view=True)): ground cleared within the period is low there
    "ndvi_mid": (("nir", "red"), ndvi),
    # each band's date view itself (``view_<band>``; for one observation: the band)
    **{f"view_{b}": ((b,), _as_float32) for b in FULL_BANDS},
}
#: the period variables that are an NDVI of some observation (they move with the bands' NDVI when
#: training reflectance is perturbed: ``geomon.classify.samples.augment``)
NDVI_STATISTICS: tuple[str, ...] = ("ndvi_max", "ndvi_max_late", "ndvi_mid")
#: period variables a composite has only with its date view (``CompositeOptions(date_view=True)``)
VIEW_STATISTICS: tuple[str, ...] = ("ndvi_mid", *(f"view_{b}" for b in FULL_BANDS))

_STATS = ("mean", "std")
_MAX_WINDOW = 101


@dataclass(frozen=True)
class ContextFeature:
    """A statistic of a band or index over a ``size`` x ``size`` window centred on the pixel."""

    source: str
    """Band or index name of the same feature set."""
    size: int
    """Window side in pixels (odd, 3..101)."""
    stat: str
    """``mean`` or ``std`` (population standard deviation)."""

    def __post_init__(self) -> None:
        if self.stat not in _STATS or not (3 <= self.size <= _MAX_WINDOW and self.size % 2):
            raise MissingBandsError(
                f"context {self.name!r}: stat must be mean or std and size an odd 3..{_MAX_WINDOW}"
            )

    @property
    def name(self) -> str:
        """Feature name, e.g. ``ndvi_mean21``."""
        return f"{self.source}_{self.stat}{self.size}"


@dataclass(frozen=True)
class FeatureSet:
    """The inputs of a pixel model: bands (reflectance 0..1), then indices, then temporal
    statistics of the period, then context."""

    bands: tuple[str, ...]
    """Bands read from the imagery, in this order."""
    indices: tuple[str, ...]
    """Indices derived from those bands, in this order (names of :data:`INDEX_BANDS`)."""
    context: tuple[ContextFeature, ...] = ()
    """Neighbourhood statistics of bands, indices or temporal statistics, in this order (empty:
    a per-pixel model)."""
    temporal: tuple[str, ...] = ()
    """Temporal statistics of the period: composite variables read as they are (names of
    ``_PERIOD_VARIABLES``; empty: the model reads the period's median only)."""

    def __post_init__(self) -> None:
        names = self.names
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # the fused path would leave one of two equal context rows unwritten
            raise ConfigError(
                f"feature {twice[0]!r} is in the feature set twice; list each feature once"
            )
        sources = self.bands + self.indices + self.temporal
        unknown_ctx = [c.source for c in self.context if c.source not in sources]
        if unknown_ctx:
            raise MissingBandsError(
                f"context needs feature {unknown_ctx[0]!r}; add it to the feature set's bands, "
                "indices or temporal statistics"
            )
        unknown_t = [name for name in self.temporal if name not in _PERIOD_VARIABLES]
        if unknown_t:
            raise MissingBandsError(
                f"unknown temporal statistic {unknown_t[0]!r}; "
                f"use one of {', '.join(_PERIOD_VARIABLES)}"
            )
        unknown = [name for name in self.indices if name not in _INDICES]
        if unknown:
            raise MissingBandsError(
                f"unknown index {unknown[0]!r}; use one of {', '.join(sorted(_INDICES))}"
            )
        for name in self.indices:
            missing = [b for b in INDEX_BANDS[name] if b not in self.bands]
            if missing:
                raise MissingBandsError(
                    f"index {name!r} needs band {missing[0]!r}; add it to the feature set's bands"
                )

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names in the order of :func:`compute_features`' first axis."""
        return self.bands + self.indices + self.temporal + tuple(c.name for c in self.context)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Variables read from the imagery or composite: the bands, then temporal statistics."""
        return self.bands + self.temporal

    @property
    def halo(self) -> int:
        """Pixels of neighbourhood a pixel's features read on each side (0: per-pixel)."""
        return max((c.size // 2 for c in self.context), default=0)

    def with_context(self, context: Iterable[ContextFeature]) -> FeatureSet:
        """This set with ``context`` (replacing any it had)."""
        return FeatureSet(self.bands, self.indices, tuple(context), self.temporal)

    def with_temporal(self, temporal: Iterable[str]) -> FeatureSet:
        """This set with temporal statistics ``temporal`` (replacing any it had)."""
        return FeatureSet(self.bands, self.indices, self.context, tuple(temporal))

    @property
    def reads_date_view(self) -> bool:
        """Whether a temporal statistic of this set is one of the date view's
        (:data:`VIEW_STATISTICS`): composites for it need ``CompositeOptions(date_view=True)``."""
        return any(name in VIEW_STATISTICS for name in self.temporal)

    def __len__(self) -> int:
        return len(self.bands) + len(self.indices) + len(self.temporal) + len(self.context)


#: bands and indices only (per-pixel sets): the shipped models add :data:`CONTEXT` and
#: :data:`PERIOD_STATISTICS`, as ``geomon train`` does by default (:func:`shipped_features`)
FULL_FEATURES = FeatureSet(FULL_BANDS, ("ndvi", "mndwi", "nbr", "bsi", "ndbi", "ndre", "ndti"))
REDUCED_FEATURES = FeatureSet(REDUCED_BANDS, ("ndvi", "mndwi_blue", "nbr", "bsi", "ndbi", "ndti"))

#: spatial context of the shipped v2 and v3 models (bands and indices both sets have): local green cover
#: and its patchiness, the fresh-rock SWIR contrast around the pixel, and edges (roads, dump rims)
CONTEXT_V3: tuple[ContextFeature, ...] = (
    ContextFeature("ndvi", 5, "mean"),
    ContextFeature("ndvi", 21, "mean"),
    ContextFeature("ndvi", 21, "std"),
    ContextFeature("ndti", 5, "mean"),
    ContextFeature("ndti", 21, "mean"),
    ContextFeature("ndti", 5, "std"),
    ContextFeature("bsi", 21, "mean"),
    ContextFeature("swir16", 5, "std"),
)

#: spatial context of the shipped v4 and v5 models: v3's, then the landscape around the pixel at the
#: scale of a mine's workings (61 px = 610 m and 101 px = 1 km windows of green cover, bare soil
#: and fresh-rock SWIR contrast). Sparse green on reshaped dumps (``rehab_bare``) and natural
#: bare soil look alike pixel by pixel; whether the ground around is a mine tells them apart.
#: Validation seeds 4-7, 11, 12 (annual composites, bare_disturbed F1, MLP seeds 0 / 1, best
#: prior correction of each): full model 0.916 / 0.906 (v3 context) -> 0.925 / 0.926 (61 px
#: only) -> 0.936 / 0.933 (61 and 101 px); reduced model 0.873 -> 0.906 / 0.916 -> 0.921 / 0.921.
#: Missed rehab_bare fell from 43 k to 30 k px (full model), natural bare soil called disturbed
#: from 37 k to 22 k px. Tried and dropped on the same seeds: a label of its own for rehab_bare
#: and haul roads (0.905 at best: natural bare soil came out disturbed), 3x3 majority smoothing of
#: the classes (0.903: haul roads vanish), narrower MLPs (16, 16) and (32,) for speed (reduced
#: model 0.845-0.867 against 0.870). Tried and dropped at stop 16 (full model, the same seeds,
#: best prior correction): the window maximum of NDVI over 101 px (the local natural green cover
#: that the truth's rehab_bare threshold is relative to; scipy's maximum_filter) lifted a model
#: without context from 0.873 to 0.942 but added nothing to this context (0.9549 against 0.9547).
CONTEXT: tuple[ContextFeature, ...] = CONTEXT_V3 + tuple(
    ContextFeature(source, size, "mean") for size in (61, 101) for source in ("ndvi", "bsi", "ndti")
)


#: temporal statistics of the shipped v3 to v5 models: the period's greatest NDVI (a field or
#: rehabilitated ground green for part of the period; mine ground stays bare all period)
PERIOD_STATISTICS: tuple[str, ...] = ("ndvi_max",)


def shipped_features(bands: Literal["full", "reduced"]) -> FeatureSet:
    """The features ``geomon train`` gives a model for ``bands`` ``"full"`` or ``"reduced"``
    (those of ``geomon-s2-full-v8`` and ``geomon-shared-reduced-v11``): the bands and indices of
    :data:`FULL_FEATURES` or :data:`REDUCED_FEATURES`, then :data:`PERIOD_STATISTICS` and
    :data:`CONTEXT` (an experiment that trains on the bare sets compares a 17-feature model with
    32-feature ones). The default models (``geomon-s2-full-v15`` since stop 39,
    ``geomon-shared-reduced-v17`` since stop 40) read each band's date view and its NDVI too
    (``--view-bands --mid-ndvi``) and route to a model trained with ``--late-ndvi``, which
    reads ``ndvi_max_late`` too."""
    if bands not in ("full", "reduced"):
        raise ConfigError(f"bands {bands!r}: use 'full' or 'reduced'")
    base = FULL_FEATURES if bands == "full" else REDUCED_FEATURES
    return base.with_context(CONTEXT).with_temporal(PERIOD_STATISTICS)


def feature_set_for(available: Iterable[str]) -> FeatureSet:
    """The richest standard feature set the ``available`` bands allow (full S2, else reduced)."""
    have = set(available)
    for fset in (FULL_FEATURES, REDUCED_FEATURES):
        if have.issuperset(fset.bands):
            return fset
    missing = sorted(set(REDUCED_BANDS) - have)
    raise MissingBandsError(
        f"classification needs at least bands {', '.join(REDUCED_BANDS)}; "
        f"missing {', '.join(missing)}: load them from the source"
    )


def single_observation(bands: Mapping[str, Array], fset: FeatureSet) -> dict[str, Array]:
    """``bands`` plus the period variables of ``fset`` that a period of one observation (a
    single scene) has: each statistic of that observation's values (``ndvi_max`` = its NDVI)."""
    out = dict(bands)
    for name in fset.temporal:
        needs, func = _PERIOD_VARIABLES[name]
        out[name] = func(*(bands[b] for b in needs))
    return out


def compute_features(
    bands: Mapping[str, Array],
    fset: FeatureSet,
    valid: Array | None = None,
    *,
    reference: bool = False,
    out: Array | None = None,
) -> Array:
    """Stack the features of ``fset`` from ``bands`` (name -> array, all one shape: the bands and
    temporal statistics of ``fset.inputs``) as float32.

    The result has shape ``(len(fset),) + shape``; NaN inputs give NaN features. With context,
    the last two axes are ``(y, x)``; pixels not ``valid`` (or NaN) are left out of every window.
    For a single scene, :func:`single_observation` supplies the temporal statistics.
    ``reference``: compute with the numpy formulation the compiled kernels are tested against
    (the same numbers bit for bit, several times slower). ``out``: a C-contiguous float32 array
    of the result's shape to fill and return instead of a new one (a caller's scratch); an
    input that is already its row of ``out`` is not copied.
    """
    missing = [name for name in fset.bands if name not in bands]
    if missing:
        raise MissingBandsError(
            f"feature set needs band {missing[0]!r}; load it or use a model for fewer bands"
        )
    missing = [name for name in fset.temporal if name not in bands]
    if missing:
        raise MissingBandsError(
            f"feature set needs the period statistic {missing[0]!r}: classify composites from "
            "geomon.imagery.load_composite, or a single scene with single_observation()"
        )
    first = np.asarray(bands[fset.bands[0]])
    shape = (len(fset), *first.shape)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous float32 {shape}, not {out.dtype} {out.shape}")
    for i, name in enumerate(fset.bands):
        _fill(out[i], bands[name])
    for j, name in enumerate(fset.indices, start=len(fset.bands)):
        _fill_index(out, j, name, fset.bands, reference)
    for k, name in enumerate(fset.temporal, start=len(fset.bands) + len(fset.indices)):
        _fill(out[k], bands[name])
    if fset.context:
        add = _add_context_reference if reference else _add_context
        add(out, fset, first.shape, valid)
    return out


def _fill(dst: Array, src: Array) -> None:
    """``dst[...] = src``, unless ``src`` is ``dst`` already (a caller that read its inputs
    straight into the rows of ``out``)."""
    same = isinstance(src, np.ndarray) and (src.shape, src.strides, src.dtype) == (
        dst.shape,
        dst.strides,
        dst.dtype,
    )
    if not (same and src.ctypes.data == dst.ctypes.data):
        dst[...] = src


def _fill_index(out: Array, j: int, name: str, bands: tuple[str, ...], reference: bool) -> None:
    """``out[j]`` = index ``name`` of the bands in ``out`` (in ``bands`` order)."""
    if name in _DIFFERENCE_TERMS and not reference:
        from geomon.classify._kernels import normalized_difference_of_sums

        plus, minus = _DIFFERENCE_TERMS[name]
        a = tuple(out[bands.index(b)] for b in plus)
        b = tuple(out[bands.index(b)] for b in minus)
        normalized_difference_of_sums(a, b, out[j])
        return
    needs, func = _INDICES[name]
    out[j] = func(*(out[bands.index(b)] for b in needs))


_QUANTUM = 4096.0
_QMAX = 8.0


def _add_context(out: Array, fset: FeatureSet, shape: tuple[int, ...], valid: Array | None) -> None:
    """Fill ``out``'s context rows: every (source, window) in one compiled pass down the rows
    (:func:`geomon.classify._kernels.shared_window_stats`: each source quantised once, the count
    of valid pixels once per window size for all sources, four loads per pixel and window from
    integral images); a source that is not finite on some valid pixel has a count of its own
    and is redone by :func:`_add_context_per_window`. The numbers are those of
    :func:`_add_context_reference` bit for bit."""
    from geomon.classify._kernels import _fits_int32, shared_window_stats

    if len(shape) < 2:
        raise MissingBandsError("context features need images (..., y, x), not single pixels")
    names = fset.bands + fset.indices + fset.temporal
    bound = int(_QMAX * _QUANTUM)
    sizes = sorted({c.size for c in fset.context})
    if not all(_fits_int32(None, n, _QUANTUM, bound) for n in sizes):
        _add_context_per_window(out, fset, shape, valid)
        return
    sources = list(dict.fromkeys(c.source for c in fset.context))
    mean_idx = np.full((len(sizes), len(sources)), -1, np.int64)
    std_idx = np.full((len(sizes), len(sources)), -1, np.int64)
    for k, ctx in enumerate(fset.context, start=len(names)):
        idx = mean_idx if ctx.stat == "mean" else std_idx
        idx[sizes.index(ctx.size), sources.index(ctx.source)] = k
    planes = (-1, *shape[-2:])
    ok = None
    if valid is not None:
        ok = np.broadcast_to(np.asarray(valid, dtype=bool), shape).reshape(planes)
    bad = shared_window_stats(
        out.reshape((len(out), *planes)),
        ok,
        np.array([names.index(s) for s in sources], np.int64),
        np.asarray((std_idx >= 0).any(axis=0), bool),
        np.array(sizes, np.int64),
        mean_idx,
        std_idx,
        _QUANTUM,
        _QMAX,
    )
    redo = {s for k, s in enumerate(sources) if bad[:, k].any()}
    if redo:
        _add_context_per_window(out, fset, shape, valid, redo)


def _add_context_per_window(
    out: Array,
    fset: FeatureSet,
    shape: tuple[int, ...],
    valid: Array | None,
    only: set[str] | None = None,
) -> None:
    """Fill ``out``'s context rows (of the sources ``only``, default all): per source, quantise
    once; per (source, window), one compiled pass gives every statistic asked of it (the numpy
    formulation, :func:`_add_context_reference`, made about a dozen full-raster passes per
    feature). Each source with its own valid pixels: finite and ``valid``."""
    from geomon.classify._kernels import quantise, window_stats

    names = fset.bands + fset.indices + fset.temporal
    ok_in = None if valid is None else np.broadcast_to(np.asarray(valid, dtype=bool), shape)
    groups: dict[tuple[str, int], dict[str, int]] = {}
    for k, ctx in enumerate(fset.context, start=len(names)):
        if only is None or ctx.source in only:
            groups.setdefault((ctx.source, ctx.size), {})[ctx.stat] = k
    quantised: dict[str, tuple[Array, Array]] = {}
    for (source, size), stats in groups.items():
        if source not in quantised:
            quantised[source] = quantise(out[names.index(source)], ok_in, _QUANTUM, _QMAX)
        q, ok = quantised[source]
        mean = out[stats["mean"]] if "mean" in stats else None
        std = out[stats["std"]] if "std" in stats else None
        window_stats(q, ok, size, _QUANTUM, mean, std, q_bound=int(_QMAX * _QUANTUM))


def _add_context_reference(
    out: Array, fset: FeatureSet, shape: tuple[int, ...], valid: Array | None
) -> None:
    """:func:`_add_context` in numpy and window sums (the reference its kernels are tested against)."""
    if len(shape) < 2:
        raise MissingBandsError("context features need images (..., y, x), not single pixels")
    names = fset.bands + fset.indices + fset.temporal
    sums = _WindowSums(valid)
    for k, ctx in enumerate(fset.context, start=len(names)):
        source = out[names.index(ctx.source)]
        inv = sums.inverse_count(ctx.source, source, ctx.size)  # 1/count, NaN for none
        s1 = sums.total(ctx.source, source, ctx.size, squares=False)
        if ctx.stat == "mean":
            np.multiply(s1, inv, out=out[k], dtype=np.float32, casting="unsafe")
            out[k] /= np.float32(_QUANTUM)
        else:
            s2 = sums.total(ctx.source, source, ctx.size, squares=True)
            mean = s1 * inv.astype(np.float64)
            var = s2 * inv.astype(np.float64) - mean * mean
            out[k] = np.sqrt(np.maximum(var, 0.0, where=~np.isnan(var), out=var)) / _QUANTUM


class _WindowSums:
    """Exact window sums of features quantised to 1/4096, each computed once per block: valid
    pixels per window (shared by features with the same valid pixels), sums and sums of squares.
    Window sums are int32 (they fit: at most 101 x 101 values of |q| <= 8 x 4096), sums of squares
    int64; the kernel accumulates in int64."""

    def __init__(self, valid: Array | None) -> None:
        self.valid = None if valid is None else np.asarray(valid, dtype=bool)
        self.masks: dict[str, Array] = {}
        self.quantised: dict[str, Array] = {}
        self.inverses: list[tuple[Array, int, Array]] = []
        self.sums: dict[tuple[str, int, bool], Array] = {}

    def _mask(self, name: str, values: Array) -> Array:
        if name not in self.masks:
            ok = np.isfinite(values)
            if self.valid is not None:
                ok &= self.valid
            self.masks[name] = ok
            q = np.clip(np.where(ok, values, 0), -_QMAX, _QMAX) * _QUANTUM
            self.quantised[name] = np.rint(q).astype(np.int32)
        return self.masks[name]

    def inverse_count(self, name: str, values: Array, size: int) -> Array:
        """float32 1 / (valid pixels in the window), NaN where there are none."""
        ok = self._mask(name, values)
        for mask, n, inv in self.inverses:
            if n == size and (mask is ok or np.array_equal(mask, ok)):
                return inv
        count = _box_sum(ok.astype(np.int32), size).astype(np.float32)
        with np.errstate(divide="ignore"):
            inv = np.float32(1) / count
        inv[count == 0] = np.nan
        self.inverses.append((ok, size, inv))
        return inv

    def total(self, name: str, values: Array, size: int, *, squares: bool) -> Array:
        key = (name, size, squares)
        if key not in self.sums:
            self._mask(name, values)
            q = self.quantised[name]
            if squares:
                q64 = q.astype(np.int64)
                self.sums[key] = _box_sum(q64 * q64, size)
            else:
                self.sums[key] = _box_sum(q, size)
        return self.sums[key]


def _box_sum(a: Array, size: int) -> Array:
    """Sum over a ``size`` x ``size`` window of the last two axes, zeros outside (integers, in
    ``a``'s dtype; exact where the sums fit it), by the compiled kernel."""
    from geomon.classify._kernels import box_sum

    return box_sum(a, size)
