"""The contract classes of ``docs/contracts.md`` (codes, names) shared by classify, footprint and evaluate."""

from __future__ import annotations

__all__ = [
    "BARE_DISTURBED",
    "BUILT_OTHER",
    "CLASS_CODES",
    "CLASS_NAMES",
    "CLOUD_NODATA",
    "COVER_NAMES",
    "MAX_TAIL_CLEAR",
    "RULES_ATTR",
    "VEGETATION",
    "VIEW_ATTR",
    "WATER",
    "class_name",
]

CLOUD_NODATA = 0
VEGETATION = 1
BARE_DISTURBED = 2
WATER = 3
BUILT_OTHER = 4

#: attribute of a classes Dataset holding its model's change rules (JSON; read by
#: :func:`geomon.footprint.change.rules_of`)
RULES_ATTR = "change_rules"
#: attribute of a classes Dataset whose class maps took its model's date view (JSON, the
#: model's ``info["date_view"]``; ``run.json`` records it)
VIEW_ATTR = "date_view"

#: code -> name, in code order
CLASS_NAMES: tuple[str, ...] = (
    "cloud_nodata",
    "vegetation",
    "bare_disturbed",
    "water",
    "built_other",
)
#: name -> code
CLASS_CODES: dict[str, int] = {name: code for code, name in enumerate(CLASS_NAMES)}

#: the finer covers of the footprint's ``baseline_cover`` column
COVER_NAMES: tuple[str, ...] = (
    "forest",
    "shrubland",
    "grassland",
    "cropland",
    "wetland",
    "bare",
    "water",
    "built",
    "unknown",
)


def class_name(code: int) -> str:
    """The contract name of a class code (``cloud_nodata`` for unknown codes)."""
    return CLASS_NAMES[code] if 0 <= code < len(CLASS_NAMES) else CLASS_NAMES[CLOUD_NODATA]


#: the most clear observations per period the change rules' tail rule may ask for, in a model
#: file or a command (``tail_min_clear``; a year of daily scenes has 366)
MAX_TAIL_CLEAR = 366
