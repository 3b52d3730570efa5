"""Canonical JSON: NaN -> null, rounded floats, sorted keys; the same data always gives the same bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["canonical", "clean", "dumps", "sha256"]

_DECIMALS = 4


def clean(value: Any) -> Any:
    """``value`` as plain JSON types: NaN/inf -> ``None``, floats rounded, dates ISO, tuples -> lists."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [clean(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    if isinstance(value, np.ndarray):
        return [clean(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return None if not math.isfinite(f) else round(f, _DECIMALS) + 0.0
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def dumps(value: Any, indent: int | None = 2) -> str:
    """Deterministic JSON text of ``value`` (cleaned, keys sorted)."""
    return json.dumps(
        clean(value), indent=indent, sort_keys=True, ensure_ascii=False, allow_nan=False
    )


def canonical(value: Any) -> bytes:
    """Compact canonical bytes of ``value`` for hashing."""
    return dumps(value, indent=None).encode("utf-8")


def sha256(value: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical(value)).hexdigest()
