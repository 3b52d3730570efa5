"""Training samples: labelled pixels from imagery, and the augmentations that make a model hold on
real data (brightness, spectral shape and L1C-like haze), applied to reflectance before features."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from geomon.classify.features import NDVI_STATISTICS, FeatureSet, compute_features, ndvi
from geomon.classify.train import LabelScheme
from geomon.errors import ConfigError
from geomon.imagery._composite import VIEW_PREFIX

__all__ = [
    "DEMO_COVER_LABELS",
    "DEMO_SCHEME",
    "Augment",
    "augment",
    "label_lookup",
    "sample_pixels",
]

#: the model's labels on demo data: (label, contract class, baseline cover)
_DEMO_LABELS: tuple[tuple[str, str, str], ...] = (
    ("forest", "vegetation", "forest"),
    ("shrubland", "vegetation", "shrubland"),
    ("grassland", "vegetation", "grassland"),
    ("cropland", "vegetation", "cropland"),
    ("disturbed", "bare_disturbed", "bare"),
    ("water", "water", "water"),
    ("pond", "water", "water"),
    ("natural_bare", "built_other", "bare"),
    ("built", "built_other", "built"),
)
DEMO_SCHEME = LabelScheme(
    labels=tuple(x[0] for x in _DEMO_LABELS),
    classes=tuple(x[1] for x in _DEMO_LABELS),
    covers=tuple(x[2] for x in _DEMO_LABELS),
)
#: demo ground-truth cover name (``truth/codes.json``) -> label. Natural bare ground (soil, rock,
#: salt crust) is ``built_other`` as docs/contracts.md says: "not vegetation, not disturbance".
DEMO_COVER_LABELS: dict[str, str] = {
    "forest": "forest",
    "shrubland": "shrubland",
    "grassland": "grassland",
    "cropland": "cropland",
    "rehab_vegetated": "grassland",
    "bare_soil": "natural_bare",
    "rock": "natural_bare",
    "salt_crust": "natural_bare",
    "water": "water",
    "tailings_pond": "water",
    "evaporation_pond": "pond",
    "settlement": "built",
    "plant": "built",
    "pit": "disturbed",
    "waste_dump": "disturbed",
    "tailings_beach": "disturbed",
    "haul_road": "disturbed",
    "cleared": "disturbed",
    "rehab_bare": "disturbed",
}


def label_lookup(
    codes: Mapping[int, str], scheme: LabelScheme, names: Mapping[str, str]
) -> np.ndarray:
    """Array ``code -> label index`` (-1 = not a training label) from a truth code table
    (``code -> cover name``) and a ``cover name -> label`` mapping."""
    lut = np.full(256, -1, np.int16)
    for code, name in codes.items():
        label = names.get(name)
        if label is not None:
            lut[code] = scheme.labels.index(label)
    return lut


@dataclass(frozen=True)
class Augment:
    """Random perturbations of training reflectance (one draw per sample)."""

    brightness: tuple[float, float] = (0.85, 1.18)
    """Multiplicative brightness range (illumination, slope, BRDF)."""
    tilt: float = 0.06
    """Spectral-shape jitter: reflectance x (1 + u (wavelength_um - 1)), u in ±tilt."""
    haze_fraction: float = 0.35
    """Share of samples given additive path radiance (L1C top-of-atmosphere look, thin haze)."""
    haze_blue: tuple[float, float] = (0.0, 0.07)
    """Added reflectance at 490 nm."""
    haze_exponent: tuple[float, float] = (1.0, 4.0)
    """Path radiance falls as wavelength^-k (Rayleigh k=4, aerosol k~1)."""


#: band centre wavelengths, micrometres (Sentinel-2A)
WAVELENGTH_UM: dict[str, float] = {
    "blue": 0.492,
    "green": 0.560,
    "red": 0.665,
    "rededge1": 0.704,
    "rededge2": 0.741,
    "rededge3": 0.783,
    "nir": 0.833,
    "nir08": 0.865,
    "swir16": 1.614,
    "swir22": 2.202,
}


def augment(
    bands: Mapping[str, np.ndarray], rng: np.random.Generator, options: Augment
) -> dict[str, np.ndarray]:
    """Perturbed copies of 1-D reflectance samples ``bands`` (name -> ``(n,)``), one draw per
    sample; with ``n=1`` draws, a whole image of any shape gets one draw."""
    return _perturb(bands, rng, options, len(next(iter(bands.values()))))


def _perturb(
    bands: Mapping[str, np.ndarray], rng: np.random.Generator, options: Augment, n: int
) -> dict[str, np.ndarray]:
    bright = rng.uniform(*options.brightness, n).astype(np.float32)
    tilt = rng.uniform(-options.tilt, options.tilt, n).astype(np.float32)
    hazy = rng.random(n) < options.haze_fraction
    level = np.where(hazy, rng.uniform(*options.haze_blue, n), 0.0).astype(np.float32)
    k = rng.uniform(*options.haze_exponent, n).astype(np.float32)
    out = {}
    for name, values in bands.items():
        band = name.removeprefix(VIEW_PREFIX)  # a band's date view is perturbed as the band
        if band not in WAVELENGTH_UM:
            continue
        wl = np.float32(WAVELENGTH_UM[band])
        haze = level * (wl / np.float32(WAVELENGTH_UM["blue"])) ** (-k)
        out[name] = (values * bright * (1 + tilt * (wl - 1)) + haze).astype(np.float32)
    stats = [name for name in NDVI_STATISTICS if name in bands]
    if stats:
        # the period's greatest NDVI moves as the NDVI of its median does (exactly so for one
        # observation, where it is that NDVI; brightness leaves both unchanged)
        shift = ndvi(out["nir"], out["red"]) - ndvi(bands["nir"], bands["red"])
        for name in stats:
            out[name] = np.clip(bands[name] + shift, -1, 1).astype(np.float32)
    return out


def sample_pixels(
    bands: Mapping[str, np.ndarray],
    labels: np.ndarray,
    fset: FeatureSet,
    per_label: int,
    n_labels: int,
    rng: np.random.Generator,
    augment_with: Augment | None = None,
    strata: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw up to ``per_label`` pixels of each label (``labels`` < 0 and NaN pixels skipped);
    return features ``(n, n_features)`` and label indices ``(n,)``.

    With ``strata`` (e.g. the finer truth cover of each pixel), a label's draw is split evenly
    over its strata, so that a rare cover (rock among natural bare ground) is learnt as well as
    a common one (salt crust).

    A feature set with spatial context needs images (``bands`` and ``labels`` of shape
    ``(..., y, x)``): features are computed on each whole image, then sampled. Augmentation then
    perturbs a whole image at once (:data:`CONTEXT_DRAWS` draws per image, each for a random
    share of its drawn pixels), as illumination and haze vary smoothly in space."""
    flat = {b: np.asarray(bands[b]).reshape(-1) for b in fset.inputs}
    lab = np.asarray(labels).reshape(-1)
    ok = lab >= 0
    for values in flat.values():
        ok &= np.isfinite(values)
    strat = None if strata is None else np.asarray(strata).reshape(-1)
    picks = [_draw(np.flatnonzero(ok & (lab == i)), strat, per_label, rng) for i in range(n_labels)]
    idx = np.sort(np.concatenate(picks))
    if fset.context:
        x = _context_samples(bands, idx, fset, rng, augment_with)
        return x, lab[idx].astype(np.int64)
    chosen = {b: v[idx] for b, v in flat.items()}
    if augment_with is not None:
        chosen = augment(chosen, rng, augment_with)
    x = compute_features(chosen, fset).T
    return np.ascontiguousarray(x), lab[idx].astype(np.int64)


#: augmentation draws per image when features have spatial context
CONTEXT_DRAWS = 3


def _context_samples(
    bands: Mapping[str, np.ndarray],
    idx: np.ndarray,
    fset: FeatureSet,
    rng: np.random.Generator,
    augment_with: Augment | None,
) -> np.ndarray:
    """Features ``(len(idx), n_features)`` of flat pixel indices ``idx`` into images ``bands``."""
    shape = np.asarray(bands[fset.bands[0]]).shape
    if len(shape) < 2:
        raise ConfigError("features with spatial context are sampled from images (..., y, x)")
    plane = shape[-2] * shape[-1]
    stacks = {b: np.asarray(bands[b]).reshape(-1, *shape[-2:]) for b in fset.inputs}
    out = np.empty((len(idx), len(fset)), np.float32)
    image = idx // plane
    for t in np.unique(image):
        rows = np.flatnonzero(image == t)
        draws = CONTEXT_DRAWS if augment_with is not None else 1
        group = rng.integers(0, draws, len(rows))
        img = {b: v[t] for b, v in stacks.items()}
        for g in range(draws):
            sel = rows[group == g]
            if not sel.size:
                continue
            bands_g = img if augment_with is None else _perturb(img, rng, augment_with, 1)
            feats = compute_features(bands_g, fset).reshape(len(fset), -1)
            out[sel] = feats[:, idx[sel] - t * plane].T
    return out


def _draw(
    idx: np.ndarray, strata: np.ndarray | None, k: int, rng: np.random.Generator
) -> np.ndarray:
    if strata is None or idx.size <= k:
        return _pick(idx, k, rng)
    groups = [idx[strata[idx] == s] for s in np.unique(strata[idx])]
    share = max(k // len(groups), 1)
    return np.concatenate([_pick(g, share, rng) for g in groups])


def _pick(idx: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    return idx if idx.size <= k else rng.choice(idx, k, replace=False)


def stack_samples(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``(x, y)`` pairs."""
    xs = [p[0] for p in parts if len(p[1])]
    ys = [p[1] for p in parts if len(p[1])]
    return np.concatenate(xs), np.concatenate(ys)
