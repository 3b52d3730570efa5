"""Ownership chains in Global Energy Monitor's text form, parsed into ownership-table rows.

GEM trackers write owners and parents as ``"Owner A [70.0%]; Owner B [30.0%]"``, as ``"unknown"``,
``"--"`` or an empty cell. :func:`parse_gem_ownership` reads one such cell into
:class:`OwnershipEntry` values (name, share or ``None``) and reports every fragment it could not
read fully as an :class:`OwnershipIssue`; nothing is dropped without a note.

Parsing rules:

- fragments are separated by ``;`` outside square brackets; names may hold commas, accents and
  parentheses (``"Taiyuan Iron and Steel (Group) Co., Ltd."``);
- a share is the last ``[...]`` of a fragment: ``[70.0%]``, ``[ 50.0 % ]``, ``[50]`` and ``[50,5%]``
  are read; a fragment without brackets is an owner whose share is not known (GEM omits it often);
- shares that are not exact numbers (``[>50%]``, ``[majority]``), unbalanced or repeated brackets,
  text after the share and shares without a name keep what can be kept and add an issue;
- ``unknown`` (alone or as ``unknown [15.0%]``) is not an owner: it is the part of the mine GEM
  could not attribute, counted in :attr:`ParsedOwnership.unknown_share_pct`;
- shares are rounded to 6 decimals (GEM writes ``7.000000000000001%``); out-of-range values are
  kept as read, for :mod:`geomon.registry.validate` to reject with the row.

How GEM's ``owner`` and ``parent`` columns become rows (:func:`build_ownership_rows`)
-------------------------------------------------------------------------------------
The ownership table has one row per (mine, owner) carrying the owner's ``share_pct`` of the mine,
and a parent per row whose ``parent_share_pct`` is the parent's share **of the owner named on that
row** (the chain layout of the bundled registry, ``aoi/ownership.csv``). A row that names no owner
holds a parent's share **of the mine** directly.

GEM's ``owner`` lists the direct owners; its ``parent`` lists the *ultimate* parents, each with its
share **of the mine** (owners BHP Minerals 85 % / ITOCHU Minerals 8 % / Mitsui Iron Ore 7 % have
parents BHP Group 85 % / ITOCHU Corp 8 % / Mitsui & Co 7 %), without saying which owner each parent
stands behind. So:

- each direct owner gets one row (``level="owner"``) with its ``share_pct`` (``NaN`` when GEM gives
  none) and ``is_operator``;
- **one owner** holding 100 % (or one owner whose parents have no shares, so nothing needs
  converting): the parents are attached to it. The first parent goes on the owner's row, the
  others on extra rows (``level="parent"``) naming the same owner with ``share_pct`` left empty, so
  the owner's share is counted once. A parent's share of the mine equals its share of a 100 %
  owner, so GEM's number is kept as is;
- **several owners** (or one owner with a share other than 100 and parents with shares): the
  parents form a separate level: rows with ``level="parent"``, no ``owner``, ``share_pct`` empty and
  ``parent_share_pct`` = GEM's share of the mine.

On ``level="parent"`` rows ``parent_share_pct`` is always GEM's share of the mine;
:mod:`geomon.esg.ownership` reads it so (dividing by the named owner's share, or as a joint holding
when no owner is named). Where a parent sits on an owner's row, the owner holds 100 % (or no
shares are known), so its share of the mine and of the owner are the same number. A direct
owner's equity is its ``share_pct`` (given on exactly one row), so neither level double-counts the
other, and the part of each level that does not sum to 100 is reported as unknown.

GEM gives no operator. With ``operator=None`` a sole direct owner is marked ``is_operator`` (it
controls the site); with several owners no one is, and operational control stays unknown. A named
``operator`` marks the owner of that name, or adds an owner row with unknown share when it is not
among the owners.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OwnershipEntry",
    "OwnershipIssue",
    "OwnershipRows",
    "ParsedOwnership",
    "build_ownership_rows",
    "format_gem_ownership",
    "parse_gem_ownership",
]

#: Whole-cell values that mean "no owner known" (compared case-insensitively).
UNKNOWN_MARKERS: frozenset[str] = frozenset({"", "unknown", "--", "-", "n/a", "na", "none", "nan"})
_SHARE = re.compile(r"^(?P<num>[+-]?\d+(?:[.,]\d+)?)\s*%?$")
_FRAGMENT = re.compile(r"^(?P<name>[^\[\]]*)\[(?P<share>[^\[\]]*)\](?P<tail>[^\[\]]*)$")
_DECIMALS = 6


@dataclass(frozen=True)
class OwnershipEntry:
    """One owner (or parent) and its share of the mine."""

    name: str
    """Company or person as written, whitespace collapsed."""
    share_pct: float | None
    """Share in percent, or ``None`` when the text gives none (or none that can be read)."""


@dataclass(frozen=True)
class OwnershipIssue:
    """A fragment that could not be read fully, and why."""

    fragment: str
    """The fragment as written."""
    reason: str
    """What was wrong and what was kept."""


@dataclass(frozen=True)
class ParsedOwnership:
    """The owners of one GEM cell."""

    text: str
    """The cell as written (``""`` for a missing cell)."""
    entries: tuple[OwnershipEntry, ...]
    """Named owners in the order written."""
    issues: tuple[OwnershipIssue, ...] = ()
    """Fragments that could not be read fully."""
    unknown_share_pct: float = 0.0
    """Share GEM explicitly attributes to ``unknown`` (``"unknown [15.0%]"``)."""

    @property
    def is_unknown(self) -> bool:
        """True when no owner is named (``unknown``, ``--``, empty)."""
        return not self.entries

    @property
    def known_pct(self) -> float:
        """Sum of the shares given (owners without a share count 0)."""
        return round(sum(e.share_pct for e in self.entries if e.share_pct is not None), _DECIMALS)

    @property
    def missing_shares(self) -> tuple[str, ...]:
        """Names of owners listed without a share."""
        return tuple(e.name for e in self.entries if e.share_pct is None)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _split_fragments(text: str) -> list[str]:
    """Split on ``;`` outside square brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        elif ch == ";" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _clean_name(name: str) -> str:
    return " ".join(name.split())


def _parse_share(raw: str) -> float | None:
    match = _SHARE.match(raw.strip())
    if not match:
        return None
    return round(float(match["num"].replace(",", ".")), _DECIMALS)


def _parse_fragment(fragment: str) -> tuple[OwnershipEntry | None, OwnershipIssue | None]:
    """One ``Name [share%]`` fragment: the entry (if any) and the issue (if any)."""
    if "[" not in fragment and "]" not in fragment:
        return OwnershipEntry(_clean_name(fragment), None), None
    match = _FRAGMENT.match(fragment)
    if not match:
        name = _clean_name(re.split(r"[\[\]]", fragment, maxsplit=1)[0])
        reason = "unbalanced or repeated brackets; share not read"
        entry = OwnershipEntry(name, None) if name else None
        return entry, OwnershipIssue(fragment, reason + ("" if name else ", no name either"))
    name, raw_share, tail = _clean_name(match["name"]), match["share"], match["tail"].strip()
    if not name:
        return None, OwnershipIssue(fragment, "share without a name; fragment ignored")
    share = _parse_share(raw_share)
    entry = OwnershipEntry(name, share)
    if share is None:
        reason = f"share '{raw_share.strip()}' is not an exact percentage; recorded as unknown"
        return entry, OwnershipIssue(fragment, reason)
    if tail:
        return entry, OwnershipIssue(fragment, f"text after the share ignored: '{tail}'")
    return entry, None


def parse_gem_ownership(text: Any) -> ParsedOwnership:
    """Parse one GEM owner or parent cell (``"A [70.0%]; B [30.0%]"``, ``"unknown"``, ``"--"``)."""
    raw = "" if _is_missing(text) else str(text)
    if raw.strip().lower() in UNKNOWN_MARKERS:
        return ParsedOwnership(raw, ())
    entries: list[OwnershipEntry] = []
    issues: list[OwnershipIssue] = []
    unknown_pct = 0.0
    for fragment in _split_fragments(raw):
        entry, issue = _parse_fragment(fragment)
        if issue is not None:
            issues.append(issue)
        if entry is None:
            continue
        if entry.name.lower() in UNKNOWN_MARKERS:
            unknown_pct += entry.share_pct or 0.0
        else:
            entries.append(entry)
    return ParsedOwnership(raw, tuple(entries), tuple(issues), round(unknown_pct, _DECIMALS))


def _format_pct(pct: float) -> str:
    text = f"{pct:.{_DECIMALS}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def format_gem_ownership(entries: Iterable[OwnershipEntry]) -> str:
    """GEM text of ``entries`` (``"A [70.0%]; B"``); ``"unknown"`` when there are none."""
    parts = [
        e.name if e.share_pct is None else f"{e.name} [{_format_pct(e.share_pct)}%]"
        for e in entries
    ]
    return "; ".join(parts) if parts else "unknown"


@dataclass(frozen=True)
class OwnershipRows:
    """Ownership-table rows of one mine, with the parsed cells they came from."""

    rows: tuple[dict[str, Any], ...]
    """Rows with the contract's ownership columns plus ``level``."""
    owner: ParsedOwnership
    """The parsed ``owner`` cell."""
    parent: ParsedOwnership
    """The parsed ``parent`` cell."""

    @property
    def has_operator(self) -> bool:
        """True when some row is marked as operator."""
        return any(r["is_operator"] for r in self.rows)


def _row(mine_id: str, as_of: str | None, source: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "mine_id": mine_id,
        "owner": None,
        "share_pct": math.nan,
        "is_operator": False,
        "parent": None,
        "parent_share_pct": math.nan,
        "as_of": as_of,
        "source": source,
        "level": "owner",
    }
    row.update(values)
    return row


def _pct(value: float | None) -> float:
    return math.nan if value is None else value


def _owner_rows(
    mine_id: str, owners: ParsedOwnership, operator: str | None, as_of: str | None, source: str
) -> list[dict[str, Any]]:
    sole = len(owners.entries) == 1 and operator is None
    op_key = operator.strip().casefold() if operator else None
    rows = [
        _row(
            mine_id,
            as_of,
            source,
            owner=e.name,
            share_pct=_pct(e.share_pct),
            is_operator=sole or e.name.casefold() == op_key,
        )
        for e in owners.entries
    ]
    if operator and operator.strip() and not any(r["is_operator"] for r in rows):
        rows.append(_row(mine_id, as_of, source, owner=operator.strip(), is_operator=True))
    return rows


def _attach_to_sole_owner(owners: ParsedOwnership, parents: ParsedOwnership) -> bool:
    """Parents can hang under the sole owner when their share of the mine is their share of it."""
    if len(owners.entries) != 1 or not parents.entries:
        return False
    share = owners.entries[0].share_pct
    no_parent_shares = all(p.share_pct is None for p in parents.entries)
    return (share is not None and abs(share - 100.0) < 1e-6) or no_parent_shares


def build_ownership_rows(
    mine_id: str,
    owner_text: Any,
    parent_text: Any = None,
    *,
    as_of: str | None,
    source: str,
    operator: str | None = None,
) -> OwnershipRows:
    """Ownership rows of one mine from GEM ``owner`` and ``parent`` cells (see the module doc)."""
    owners = parse_gem_ownership(owner_text)
    parents = parse_gem_ownership(parent_text)
    rows = _owner_rows(mine_id, owners, operator, as_of, source)
    extra = list(parents.entries)
    attached = _attach_to_sole_owner(owners, parents)
    if attached:
        first = extra.pop(0)
        rows[0].update(parent=first.name, parent_share_pct=_pct(first.share_pct))
    owner = owners.entries[0].name if attached else None
    rows += [
        _row(
            mine_id,
            as_of,
            source,
            owner=owner,
            parent=p.name,
            parent_share_pct=_pct(p.share_pct),
            level="parent",
        )
        for p in extra
    ]
    return OwnershipRows(tuple(rows), owners, parents)
