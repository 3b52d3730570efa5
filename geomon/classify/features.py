"""Per-pixel features: surface-reflectance bands plus spectral indices (REFERENCE.md formulas).

Everything here is plain numpy over arrays of any shape, so the same code serves training samples
``(n,)`` and image blocks ``(y, x)``. A :class:`FeatureSet` names the bands a model reads and the
indices it derives; :func:`feature_set_for` picks the richest set the available bands allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from geomon.errors import MissingBandsError

__all__ = [
    "FULL_BANDS",
    "FULL_FEATURES",
    "INDEX_BANDS",
    "REDUCED_BANDS",
    "REDUCED_FEATURES",
    "FeatureSet",
    "bsi",
    "compute_features",
    "feature_set_for",
    "mndwi",
    "nbr",
    "ndbi",
    "ndvi",
    "normalized_difference",
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


def normalized_difference(a: Array, b: Array) -> Array:
    """``(a - b) / (a + b)`` as float32; 0 where the sum is 0, NaN where an input is NaN."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    total = a + b
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / total
    return np.where(total == 0, np.float32(0), out).astype(np.float32, copy=False)


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
#: index name -> the bands it needs
INDEX_BANDS: dict[str, tuple[str, ...]] = {name: spec[0] for name, spec in _INDICES.items()}


@dataclass(frozen=True)
class FeatureSet:
    """The inputs of a pixel model: bands (reflectance 0..1) followed by indices."""

    bands: tuple[str, ...]
    """Bands read from the imagery, in this order."""
    indices: tuple[str, ...]
    """Indices derived from those bands, in this order (names of :data:`INDEX_BANDS`)."""

    def __post_init__(self) -> None:
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
        return self.bands + self.indices

    def __len__(self) -> int:
        return len(self.bands) + len(self.indices)


FULL_FEATURES = FeatureSet(FULL_BANDS, ("ndvi", "mndwi", "nbr", "bsi", "ndbi", "ndre", "ndti"))
REDUCED_FEATURES = FeatureSet(REDUCED_BANDS, ("ndvi", "mndwi_blue", "nbr", "bsi", "ndbi", "ndti"))


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


def compute_features(bands: Mapping[str, Array], fset: FeatureSet) -> Array:
    """Stack the features of ``fset`` from ``bands`` (name -> array, all one shape) as float32.

    The result has shape ``(len(fset),) + shape``; NaN inputs give NaN features.
    """
    missing = [name for name in fset.bands if name not in bands]
    if missing:
        raise MissingBandsError(
            f"feature set needs band {missing[0]!r}; load it or use a model for fewer bands"
        )
    first = np.asarray(bands[fset.bands[0]])
    out = np.empty((len(fset), *first.shape), dtype=np.float32)
    for i, name in enumerate(fset.bands):
        out[i] = bands[name]
    for j, name in enumerate(fset.indices, start=len(fset.bands)):
        needs, func = _INDICES[name]
        out[j] = func(*(out[fset.bands.index(b)] for b in needs))
    return out
