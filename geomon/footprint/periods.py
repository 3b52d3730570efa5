"""Period labels of the footprint contract: ``2021``, ``2021Q3``, ``2021-07``."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from geomon.errors import ConfigError

__all__ = ["period_bounds", "period_label"]

_KINDS = ("year", "quarter", "month")


def _check(kind: str) -> None:
    if kind not in _KINDS:
        raise ConfigError(f"period '{kind}' is not one of {', '.join(_KINDS)}; set attrs['period']")


def period_label(start: dt.date | pd.Timestamp, kind: str) -> str:
    """Label of the period starting at ``start``: ``2021`` (year), ``2021Q3``, ``2021-07``."""
    _check(kind)
    ts = pd.Timestamp(start)
    if kind == "year":
        return f"{ts.year}"
    if kind == "quarter":
        return f"{ts.year}Q{(ts.month - 1) // 3 + 1}"
    return f"{ts.year}-{ts.month:02d}"


def period_bounds(start: dt.date | pd.Timestamp, kind: str) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the period that contains ``start``."""
    _check(kind)
    freq = {"year": "Y", "quarter": "Q", "month": "M"}[kind]
    period = pd.Timestamp(start).to_period(freq)
    return period.start_time.date(), period.end_time.date()
