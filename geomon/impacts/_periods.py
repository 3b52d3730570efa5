"""Period labels (``2021``, ``2021Q3``, ``2021-07``) and the footprint rows of each period."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import geopandas as gpd
import pandas as pd

from geomon.errors import ReferenceLayerError

__all__ = ["Period", "label_bounds", "periods_of", "years_between"]

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A period of the footprint."""

    label: str
    """Period label."""
    start: date
    """First day."""
    end: date
    """Last day (inclusive)."""

    @property
    def years(self) -> float:
        """Length in years (365.25 days)."""
        return years_between(self.start, self.end + timedelta(days=1))


def years_between(a: date, b: date) -> float:
    """Years from ``a`` to ``b`` (365.25-day years)."""
    return (b - a).days / 365.25


def label_bounds(label: str) -> tuple[date, date]:
    """(first day, last day) of a period label."""
    text = str(label).strip()
    if m := _YEAR.match(text):
        year = int(m.group(1))
        return date(year, 1, 1), date(year, 12, 31)
    if m := _QUARTER.match(text):
        year, quarter = int(m.group(1)), int(m.group(2))
        return _span(year, 3 * quarter - 2, 3)
    if m := _MONTH.match(text):
        return _span(int(m.group(1)), int(m.group(2)), 1)
    raise ReferenceLayerError(
        f"footprint: period label '{label}' not understood; use YYYY, YYYYQn or YYYY-MM"
    )


def _span(year: int, month: int, months: int) -> tuple[date, date]:
    start = date(year, month, 1)
    end_month = month + months
    nxt = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def _as_date(value: object) -> date:
    return pd.Timestamp(value).date()


def periods_of(footprint: gpd.GeoDataFrame) -> list[Period]:
    """The footprint's periods in time order."""
    if footprint.empty:
        return []
    rows = footprint[["period", "period_start", "period_end"]].drop_duplicates("period")
    periods = [
        Period(str(r.period), _as_date(r.period_start), _as_date(r.period_end))
        for r in rows.itertuples(index=False)
    ]
    return sorted(periods, key=lambda p: (p.start, p.label))


def first_seen_bounds(footprint: gpd.GeoDataFrame) -> pd.DataFrame:
    """``first_seen_start`` and ``first_seen_end`` columns for every row (from the footprint's own
    periods where the label is one of them, else parsed from the label)."""
    known = {p.label: (p.start, p.end) for p in periods_of(footprint)}
    bounds = [known.get(str(s)) or label_bounds(str(s)) for s in footprint["first_seen"]]
    return pd.DataFrame(
        {
            "first_seen_start": [b[0] for b in bounds],
            "first_seen_end": [b[1] for b in bounds],
        },
        index=footprint.index,
    )
