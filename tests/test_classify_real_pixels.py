"""The shipped models on real Sentinel-2 pixels (eo-learn's Slovenia patch, L1C, MIT licence).

The models never saw these pixels: they are trained on the synthetic demo only. Forest, grassland
and shrubland must not come out ``bare_disturbed``, nor ``water`` (at most 2 % of the clear pixels
each), nor any class the change rules count as disturbance when it replaces vegetation
(``bare_disturbed``, ``water``, ``built_other``: at most 2 % together). Whole scenes are
classified, so models with spatial context see each pixel's clear neighbours; each scene is a
period of one observation for models with temporal statistics (``single_observation``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from geomon.classify import bundled_models
from geomon.classify.classes import BARE_DISTURBED, CLASS_NAMES
from geomon.classify.features import compute_features, single_observation
from geomon.footprint.change import ChangeOptions

#: band order of REFERENCE_SCENES.npy (eo-learn-slovenia README), as canonical names
L1C_ORDER = (
    "coastal", "blue", "green", "red", "rededge1", "rededge2", "rededge3",
    "nir", "nir08", "wv", "cirrus", "swir16", "swir22",
)  # fmt: skip
LULC = {1: "cultivated", 2: "forest", 3: "grassland", 4: "shrubland", 8: "artificial"}
NATURAL_VEGETATION = (2, 3, 4)
CLEAR_BLUE_TOA = 0.12  # scenes 1-2 are hazy/cloudy: blue TOA >= 0.12 is not a clear view


def _confusion(model_entry: object, data: Path) -> tuple[np.ndarray, int, int]:
    scenes = np.load(data / "REFERENCE_SCENES.npy")
    lulc = np.load(data / "LULC.npy")[..., 0]
    model = model_entry.load()  # type: ignore[attr-defined]
    table = np.zeros((9, len(CLASS_NAMES)), np.int64)
    bare = total = 0
    for scene in scenes:
        bands = {b: scene[..., L1C_ORDER.index(b)] for b in model.features.bands}
        bands = single_observation(bands, model.features)  # one scene: a period of one view
        clear = scene[..., L1C_ORDER.index("blue")] < CLEAR_BLUE_TOA
        # the chain masks clouds before classifying; spatial context reads clear neighbours only
        code = model.predict(compute_features(bands, model.features, clear), clear).code
        np.add.at(table, (lulc[clear], code[clear]), 1)
        natural = clear & np.isin(lulc, NATURAL_VEGETATION)
        bare += int((natural & (code == BARE_DISTURBED)).sum())
        total += int(natural.sum())
    return table, bare, total


@pytest.mark.parametrize("entry", bundled_models(), ids=lambda e: e.model_id)
def test_real_vegetation_is_not_called_disturbed(entry: object, shared_data: Path) -> None:
    table, bare, total = _confusion(entry, shared_data / "eo-learn-slovenia")
    print(f"\n{entry.model_id} on eo-learn-slovenia (L1C, clear pixels of 5 scenes)")  # type: ignore[attr-defined]
    print("LULC \\ class".ljust(14) + "".join(n.rjust(15) for n in CLASS_NAMES))
    for code, name in LULC.items():
        print(name.ljust(14) + "".join(str(v).rjust(15) for v in table[code]))
    print(
        f"natural vegetation called bare_disturbed: {bare} of {total} ({100 * bare / total:.3f} %)"
    )
    water = int(table[list(NATURAL_VEGETATION), CLASS_NAMES.index("water")].sum())
    print(f"natural vegetation called water: {water} of {total} ({100 * water / total:.3f} %)")
    assert total > 20_000  # three clear scenes of ~9,700 vegetated pixels each
    assert bare / total <= 0.02
    # dark, shaded forest (NIR TOA ~0.16) lies outside the demo's training data; a reduced model
    # trained on six demo seeds called 8.2 % of the clear forest water (held back, stop 12), and
    # the change rules count water replacing a vegetated baseline as disturbance
    assert water / total <= 0.02
    # built_other replacing a vegetated baseline counts as disturbance too (ChangeOptions
    # .conversions): all three together stay within the same 2 % (reduced v6: 1.4 %, built_other)
    counted = [CLASS_NAMES.index(c) for c in ("bare_disturbed", *ChangeOptions().conversions)]
    changed = int(table[np.ix_(list(NATURAL_VEGETATION), counted)].sum())
    print(f"natural vegetation called a disturbance class: {changed} of {total} "
          f"({100 * changed / total:.3f} %)")  # fmt: skip
    assert changed / total <= 0.02
