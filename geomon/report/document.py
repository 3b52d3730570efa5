"""A report as a list of blocks (headings, text, tables, figures), rendered to HTML and PDF alike.

Both renderers walk the same :class:`Document`, so the HTML and the PDF carry the same content,
and every number in them is formatted here from the report JSON (:mod:`geomon.report.content`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Bullets",
    "Document",
    "Figure",
    "Heading",
    "KeyValues",
    "Para",
    "Table",
    "fmt_num",
    "fmt_pct",
    "fmt_range",
]

NOT_ESTIMATED = "not estimated"


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class Para:
    text: str
    style: str = "body"
    """``body``, ``note`` (small, grey), ``warning`` (boxed) or ``lead``."""


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class KeyValues:
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    widths: tuple[float, ...] = ()
    """Relative column widths (PDF); empty = equal."""
    numeric: tuple[int, ...] = ()
    """Indices of right-aligned (numeric) columns."""
    small: bool = False


@dataclass(frozen=True)
class Figure:
    png: bytes = field(repr=False)
    caption: str
    width: float = 1.0
    """Fraction of the text width."""
    pair: bool = False
    """Set on the first of two figures shown side by side."""


Block = Heading | Para | Bullets | KeyValues | Table | Figure


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    blocks: tuple[Block, ...]
    footer: str = ""


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_num(x: Any, nd: int = 1, missing: str = NOT_ESTIMATED) -> str:
    """``1,234.5``; ``missing`` for None/NaN."""
    if _missing(x):
        return missing
    return f"{float(x):,.{nd}f}"


def fmt_pct(x: Any, nd: int = 2, missing: str = "unknown") -> str:
    """``75%``, ``57.5%``, ``45.6%``: at most ``nd`` decimals, trailing zeros dropped."""
    if _missing(x):
        return missing
    text = f"{float(x):.{nd}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def fmt_range(mean: Any, low: Any, high: Any, nd: int = 0) -> str:
    """``35,231 (16,509 to 52,829)``, or ``not estimated``."""
    if _missing(mean):
        return NOT_ESTIMATED
    if _missing(low) or _missing(high):
        return fmt_num(mean, nd)
    return f"{fmt_num(mean, nd)} ({fmt_num(low, nd)} to {fmt_num(high, nd)})"
