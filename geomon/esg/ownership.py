"""Ownership chains, and the GHG Protocol roll-ups of a site's figures to its owners.

The ownership table (``Registry.ownership``) has one row per (mine, owner, parent): the owner's
share of the mine (``share_pct``), whether it operates the mine (``is_operator``), and optionally
one parent company with its share of that owner (``parent``, ``parent_share_pct``). A parent cell
may also hold Global Energy Monitor's text form ``"A [70.0%]; B [30.0%]"``.

Two approaches, both reported (GHG Protocol Corporate Standard, ch. 3):

- **equity share**: a holder is attributed ``site figure x its effective share``, the product of
  the shares along the chain (owner share x parent share ...). What no recorded holder accounts
  for is an explicit ``unattributed`` remainder; it is never spread over the known holders.
- **operational control**: 100 % to the operator. A parent holding more than
  ``control_threshold_pct`` of the operator is taken to control it and reports 100 % too (the
  basis says so). No operator recorded, or several, leaves 100 % unattributed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from geomon.errors import UnknownCompanyError

__all__ = [
    "UNATTRIBUTED",
    "Attribution",
    "OwnershipChain",
    "Stake",
    "attribute",
    "companies",
    "company_mines",
    "company_share",
    "ownership_chain",
]

#: Holder name of the remainder no recorded owner accounts for.
UNATTRIBUTED = "unattributed"
_NO_PARENT = {"", "--", "-", "unknown", "none", "n/a", "nan"}
_GEM_PART = re.compile(r"^\s*(?P<name>.+?)\s*\[\s*(?P<pct>[0-9.]+)\s*%\s*\]\s*$")
_EPS = 1e-9

Approach = Literal["equity_share", "operational_control"]


@dataclass(frozen=True)
class Stake:
    """One holder in a mine's ownership chain."""

    holder: str
    """Company name as recorded."""
    level: int
    """1 = holds the mine directly, 2 = holds a level-1 owner, and so on."""
    via: str
    """The company through which it holds the mine ("" at level 1)."""
    share_pct: float | None
    """Share of the entity directly below it (the mine, or ``via``); ``None`` when not recorded."""
    equity_pct: float | None
    """Effective share of the mine (product along the chain); ``None`` when a link is unknown."""
    basis: str
    """The product that gives ``equity_pct``, e.g. ``"90.00% x 57.00%"``."""
    is_operator: bool
    """Recorded as the mine's operator."""
    top: bool
    """No holder above it is recorded: its equity is attributed to it in the roll-up."""


@dataclass(frozen=True)
class Attribution:
    """The part of a site's figures a holder (or the unattributed remainder) reports."""

    holder: str
    approach: Approach
    pct: float
    """Percent of every site figure attributed to ``holder``."""
    basis: str
    """How ``pct`` was computed, e.g. ``"90.00% x 57.00%"``."""


@dataclass(frozen=True)
class OwnershipChain:
    """A mine's holders and how its figures split between them under both approaches."""

    mine_id: str
    stakes: tuple[Stake, ...]
    equity: tuple[Attribution, ...]
    """Top holders plus the unattributed remainder: sums to 100 % when shares do not exceed 100."""
    operational: tuple[Attribution, ...]
    """The operator (100 %), or 100 % unattributed."""
    controllers: tuple[Attribution, ...]
    """Majority parents of the operator that also report 100 % under operational control."""
    notes: tuple[str, ...]
    """Data problems found in the records (conflicting or excess shares, several operators)."""
    as_of: str
    sources: tuple[str, ...]


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _pct(value: object) -> float | None:
    if _is_missing(value):
        return None
    try:
        out = float(str(value).strip().rstrip("%"))
    except ValueError:
        return None
    return None if math.isnan(out) else out


def _fmt(pct: float | None) -> str:
    return "unknown" if pct is None else f"{pct:.2f}%"


def _parents(row: pd.Series) -> list[tuple[str, float | None]]:
    """(parent, share) pairs of one ownership row; GEM text ``"A [70%]; B [30%]"`` is parsed."""
    text = "" if _is_missing(row.get("parent")) else str(row.get("parent")).strip()
    if text.lower() in _NO_PARENT:
        return []
    share = _pct(row.get("parent_share_pct"))
    parts = [p for p in text.split(";") if p.strip()]
    parsed = [_GEM_PART.match(p) for p in parts]
    if share is None and parsed and all(parsed):
        return [(m.group("name"), float(m.group("pct"))) for m in parsed if m]
    return [(text, share)]


@dataclass(frozen=True)
class _Tables:
    """Edges of one mine's chain: holder -> share of the mine, and entity -> its holders."""

    direct: dict[str, float | None]
    above: dict[str, dict[str, float | None]]
    joint: dict[str, float | None]
    """GEM parents of several owners jointly: parent -> its share of the mine."""
    operators: tuple[str, ...]
    notes: tuple[str, ...]


def _first_share(values: Iterable[float | None], who: str, notes: list[str]) -> float | None:
    known = sorted({v for v in values if v is not None})
    if len(known) > 1:
        listed = ", ".join(_fmt(v) for v in known)
        notes.append(f"{who}: conflicting shares {listed}; using {_fmt(known[0])}")
    return known[0] if known else None


def _name(value: object) -> str:
    text = "" if _is_missing(value) else str(value).strip()
    return "" if text.lower() in _NO_PARENT else text


def _is_gem_parent_row(row: pd.Series) -> bool:
    return str(row.get("level", "")).strip().lower() == "parent"


def _collect(
    rows: pd.DataFrame,
) -> tuple[
    dict[str, list[float | None]],
    dict[str, dict[str, list[float | None]]],
    dict[str, list[float | None]],
    list[str],
]:
    direct: dict[str, list[float | None]] = {}
    above: dict[str, dict[str, list[float | None]]] = {}
    gem: dict[str, list[float | None]] = {}  # "owner\tparent" -> parent's share of the mine
    operators: list[str] = []
    for _, row in rows.iterrows():
        owner = _name(row["owner"])
        if _is_gem_parent_row(row):
            gem.setdefault(f"{owner}\t{_name(row['parent'])}", []).append(
                _pct(row["parent_share_pct"])
            )
            continue
        if not owner:
            continue
        direct.setdefault(owner, []).append(_pct(row.get("share_pct")))
        if bool(row.get("is_operator")) and owner not in operators:
            operators.append(owner)
        for parent, share in _parents(row):
            above.setdefault(owner, {}).setdefault(parent, []).append(share)
    return direct, above, gem, operators


def _tables(rows: pd.DataFrame) -> _Tables:
    """Edges of the chain. Rows with ``level == "parent"`` (the registry's GEM layout) give a
    parent's share *of the mine*; it becomes a share of the owner named on the row, or a joint
    holding of all direct owners when the row names none."""
    notes: list[str] = []
    direct_raw, above_raw, gem_raw, operators = _collect(rows)
    direct = {o: _first_share(v, o, notes) for o, v in direct_raw.items()}
    above = {
        child: {p: _first_share(v, f"{p} in {child}", notes) for p, v in parents.items()}
        for child, parents in above_raw.items()
    }
    joint: dict[str, float | None] = {}
    for key, values in sorted(gem_raw.items()):
        owner, parent = key.split("\t")
        of_mine = _first_share(values, f"{parent} (parent)", notes)
        if not owner or owner not in direct:
            joint[parent] = of_mine
            continue
        base = direct[owner]
        share = None if of_mine is None or not base else of_mine / base * 100.0
        above.setdefault(owner, {})[parent] = share
    return _Tables(direct, above, joint, tuple(operators), tuple(notes))


def _walk(
    tables: _Tables, holder: str, share: float | None, below: Stake | None, level: int
) -> list[Stake]:
    parents = tables.above.get(holder, {}) if level < 8 else {}
    if below is None:
        equity, basis, via = share, _fmt(share), ""
    else:
        eq = below.equity_pct
        equity = eq * share / 100.0 if eq is not None and share is not None else None
        basis, via = f"{below.basis} x {_fmt(share)}", below.holder
    stake = Stake(
        holder=holder,
        level=level,
        via=via,
        share_pct=share,
        equity_pct=equity,
        basis=basis,
        is_operator=level == 1 and holder in tables.operators,
        top=not parents and not tables.joint,
    )
    out = [stake]
    for parent, pshare in sorted(parents.items()):
        out.extend(_walk(tables, parent, pshare, stake, level + 1))
    return out


_JOINTLY = "the direct owners jointly"


def _joint_stakes(tables: _Tables) -> list[Stake]:
    return [
        Stake(
            p,
            2,
            _JOINTLY,
            None,
            share,
            f"{_fmt(share)} of the mine (parent, as GEM gives it)",
            False,
            True,
        )
        for p, share in tables.joint.items()
    ]


def _gap_above(stakes: list[Stake], s: Stake, notes: list[str]) -> str | None:
    """Why part of ``s``'s equity is unattributed: its recorded holders do not sum to 100 %."""
    known = [p.share_pct for p in stakes if p.via == s.holder and p.level == s.level + 1]
    gap = 100.0 - sum(v for v in known if v is not None)
    if gap < -_EPS:
        notes.append(f"holders of {s.holder} sum to {100 - gap:.2f}% (> 100%); nothing is rescaled")
    if gap <= _EPS or s.equity_pct is None:
        return None
    what = "with unrecorded shares" if any(v is None for v in known) else "not recorded"
    return f"holders of {s.holder} {what}: {s.basis} x {gap:.2f}%"


def _why_unattributed(stakes: list[Stake], tables: _Tables, notes: list[str]) -> list[str]:
    level1 = [s for s in stakes if s.level == 1]
    known1 = sum(s.share_pct for s in level1 if s.share_pct is not None)
    missing = [s.holder for s in level1 if s.share_pct is None]
    why: list[str] = []
    if tables.joint:
        joint = sum(v for v in tables.joint.values() if v is not None)
        why.append(f"parents recorded for {joint:.2f}% of the mine (100% - {joint:.2f}%)")
    else:
        why += [g for s in stakes if not s.top for g in [_gap_above(stakes, s, notes)] if g]
    if missing:
        why.append(f"owners with unrecorded shares ({', '.join(missing)})")
    if not missing and 100.0 - known1 > _EPS and level1:
        why.append(f"owners not recorded: 100% - {known1:.2f}%")
    if known1 - 100.0 > _EPS:
        notes.append(f"owners' shares sum to {known1:.2f}% (> 100%); nothing is rescaled")
    return why or ["no ownership records"]


def _equity(stakes: list[Stake], tables: _Tables, notes: list[str]) -> list[Attribution]:
    """Top holders' equity, plus 100 % minus their sum as the unattributed remainder."""
    out = [
        Attribution(s.holder, "equity_share", s.equity_pct, s.basis)
        for s in stakes
        if s.top and s.equity_pct is not None
    ]
    remainder = 100.0 - sum(a.pct for a in out)
    if remainder > _EPS:
        why = "; ".join(_why_unattributed(stakes, tables, notes))
        out.append(Attribution(UNATTRIBUTED, "equity_share", remainder, why))
    else:
        _why_unattributed(stakes, tables, notes)  # records excess-share notes
    return out


def _operational(
    stakes: list[Stake], tables: _Tables, threshold: float | None, notes: list[str]
) -> tuple[list[Attribution], list[Attribution]]:
    ops = tables.operators
    if len(ops) != 1:
        why = (
            "no operator recorded"
            if not ops
            else f"{len(ops)} operators recorded: {', '.join(ops)}"
        )
        if ops:
            notes.append(f"{why}; operational control left unattributed")
        return [Attribution(UNATTRIBUTED, "operational_control", 100.0, why)], []
    op = ops[0]
    main = [Attribution(op, "operational_control", 100.0, "operator")]
    controllers: list[Attribution] = []
    if threshold is None:
        return main, controllers
    for s in stakes:
        if s.level == 2 and s.via == op and s.share_pct is not None and s.share_pct > threshold:
            basis = f"holds {s.share_pct:.2f}% of operator {op} (> {threshold:.0f}%)"
            controllers.append(Attribution(s.holder, "operational_control", 100.0, basis))
    return main, controllers


def ownership_chain(
    ownership: pd.DataFrame, mine_id: str, control_threshold_pct: float | None = 50.0
) -> OwnershipChain:
    """The ownership chain of ``mine_id`` and its equity-share and operational-control splits."""
    rows = ownership[ownership["mine_id"] == mine_id]
    tables = _tables(rows)
    notes = list(tables.notes)
    stakes: list[Stake] = []
    for owner, share in tables.direct.items():
        stakes.extend(_walk(tables, owner, share, None, 1))
    stakes += _joint_stakes(tables)
    equity = _equity(stakes, tables, notes)
    operational, controllers = _operational(stakes, tables, control_threshold_pct, notes)
    as_of = sorted({str(v) for v in rows.get("as_of", pd.Series(dtype=object)).dropna()})
    sources = sorted({str(v) for v in rows.get("source", pd.Series(dtype=object)).dropna()})
    return OwnershipChain(
        mine_id=mine_id,
        stakes=tuple(stakes),
        equity=tuple(equity),
        operational=tuple(operational),
        controllers=tuple(controllers),
        notes=tuple(notes),
        as_of=", ".join(as_of),
        sources=tuple(sources),
    )


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


def _held_by(row: pd.Series) -> list[str]:
    return [_name(row["owner"]), *(p for p, _ in _parents(row))]


def companies(ownership: pd.DataFrame) -> list[str]:
    """Every owner and parent named in ``ownership`` (sorted, as spelt)."""
    names: set[str] = set()
    for _, row in ownership.iterrows():
        names.update(n for n in _held_by(row) if n)
    return sorted(names)


def _resolve(ownership: pd.DataFrame, company: str) -> str:
    known = companies(ownership)
    for name in known:
        if _norm(name) == _norm(company):
            return name
    import difflib

    close = difflib.get_close_matches(company, known, n=3, cutoff=0.5)
    hint = (
        f"; did you mean {', '.join(close)}?" if close else "; see 'geomon registry show MINE_ID'"
    )
    raise UnknownCompanyError(f"company '{company}' owns no mine in the ownership table{hint}")


def company_mines(ownership: pd.DataFrame, company: str) -> list[str]:
    """Mines in which ``company`` holds a stake at any level of the chain (sorted)."""
    name = _norm(_resolve(ownership, company))
    mines = set()
    for _, row in ownership.iterrows():
        if any(_norm(h) == name for h in _held_by(row)):
            mines.add(str(row["mine_id"]))
    return sorted(mines)


def company_share(
    chain: OwnershipChain, company: str
) -> tuple[Attribution | None, Attribution | None]:
    """``company``'s (equity share, operational control) attribution of ``chain``'s mine.

    Equity adds every path by which the company holds the mine; ``None`` when it holds none,
    and an equity attribution with ``pct`` NaN when a share along its path is not recorded.
    """
    name = _norm(company)
    paths = [s for s in chain.stakes if _norm(s.holder) == name]
    equity: Attribution | None = None
    if paths:
        known = [s.equity_pct for s in paths if s.equity_pct is not None]
        pct = sum(known) if len(known) == len(paths) else math.nan
        basis = "; ".join(
            f"level {s.level}{f' via {s.via}' if s.via else ''}: {_fmt(s.equity_pct)}"
            for s in paths
        )
        equity = Attribution(paths[0].holder, "equity_share", pct, basis)
    control = [a for a in (*chain.operational, *chain.controllers) if _norm(a.holder) == name]
    return equity, (control[0] if control else None)


def attribute(figures: pd.DataFrame, share: Attribution | None) -> pd.DataFrame:
    """Numeric columns of ``figures`` times ``share.pct`` / 100 (NaN stays NaN; no share -> 0)."""
    out = figures.copy()
    factor = 0.0 if share is None else share.pct / 100.0
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col] * factor
    return out
