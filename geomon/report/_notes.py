"""Notes of the impact records: split them, and drop their per-period hectares to group them."""

from __future__ import annotations

import re

__all__ = ["generic_note", "split_notes"]


def split_notes(text: str) -> list[str]:
    """Split ``"a; b (c; d); e"`` on the semicolons outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth <= 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [s.strip() for s in parts if s.strip()]


def generic_note(note: str) -> str:
    """A note without its per-period hectares (``biomass of 1.6 ha cropland`` -> ``biomass of cropland``)."""
    return re.sub(r"\b[\d.,]+ ha ", "", note)
