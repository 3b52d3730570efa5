"""A plain-text table of impact records, for the terminal (``geomon impacts``, ``geomon demo``)."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["format_impacts"]

_HEADER = (
    f"{'mine_id':<24} {'period':<8} {'disturbed ha':>12} {'CO2e t mean [90% range]':>30} "
    f"{'MSA·ha lost':>11} {'of it halo':>10} {'ha in PA':>9}"
)


def _num(value: float, digits: int = 1) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _co2e(row: pd.Series) -> str:
    mean = row["co2e_t_mean"]
    if math.isnan(mean):
        return "not estimated"
    if math.isnan(row["co2e_t_low"]):
        text = f"{mean:,.0f} [no range]"
    else:
        text = f"{mean:,.0f} [{row['co2e_t_low']:,.0f}-{row['co2e_t_high']:,.0f}]"
    return text if bool(row["co2e_complete"]) else text + " *"


def format_impacts(records: pd.DataFrame) -> str:
    """One line per (mine, period); ``*`` marks CO2e that leaves out a part (see ``notes``)."""
    lines = [_HEADER]
    for _, row in records.iterrows():
        lines.append(
            f"{row['mine_id']:<24} {row['period']:<8} {_num(row['ha_disturbed']):>12} "
            f"{_co2e(row):>30} {_num(row['msa_ha_lost']):>11} "
            f"{_num(row['msa_ha_lost_halo']):>10} {_num(row['ha_in_protected']):>9}"
        )
    partial = (~records["co2e_complete"].astype(bool)).any() if len(records) else False
    if partial:
        lines.append(
            "* partial: a part (soil without a reference stock, vegetation with no published "
            "factor) is not estimated; 'no range': no published SD; see the notes column"
        )
    if len(records) and records["msa_ha_lost_halo"].abs().gt(0).any():
        lines.append(
            "halo: GLOBIO infrastructure rings around the footprint against the baseline's (may be "
            "negative); each isolated patch brings its own rings, so misclassified specks raise it"
        )
    tables = sorted({t for v in records.get("factor_tables", []) for t in str(v).split("; ") if t})
    if tables:
        lines.append("factor tables: " + ", ".join(tables))
    return "\n".join(lines)
