"""Land-use-change CO2 of the disturbance (IPCC Tier 1), with a Monte Carlo interval.

Biomass: CO2 = area x AGB x (1 + R) x CF x 44/12, emitted in the period the land is first seen
disturbed (status ``new``); only forest has a shipped factor, other vegetation is "no factor".
Soil: SOC_ref x (1 - F_LU) x 44/12 per ha of former natural vegetation, spread evenly over 20
years from the start of the period the land was first seen disturbed, only where a reference soil
stock is given.

Uncertainty: AGB, the optional soil stock and the optional area error are drawn from lognormal
distributions whose mean and standard deviation equal the published ones. Lognormal rather than a
normal truncated at 0 because the published SDs reach 30 % to over 100 % of the mean (Asia tropical
moist: 93.4 on 67.7): a normal would put a large share of draws below zero and truncating them
would raise the mean above the published one; the moment-matched lognormal keeps mean and SD exact
and stays positive. Each factor is drawn once per iteration and shared by all polygons and periods
of a mine (the same table value applies to all of them). The reported mean is the analytical mean
(the formula with published means), which the draws reproduce in expectation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geomon.impacts._periods import Period
from geomon.impacts._tables import FactorTables
from geomon.impacts.params import ImpactParams

__all__ = ["CarbonModel", "ForestFactor", "build_carbon_model", "carbon_columns", "lognormal"]

CARBON_TABLES = ("ipcc2019_agb_forest", "ipcc2019_root_shoot", "ipcc_carbon_constants")


@dataclass(frozen=True)
class ForestFactor:
    """Biomass factor of forest in one (ecozone, continent, state) cell."""

    agb_mean: float
    """Above-ground biomass, t d.m./ha."""
    agb_sd: float
    """Its standard deviation (NaN when unpublished)."""
    root_shoot: float | None
    """R, or None when the table has none (below-ground part then "no factor")."""
    co2_per_t_dm: float
    """CF x 44/12."""

    @property
    def per_ha_mean(self) -> float:
        """t CO2 per ha cleared, at the published means."""
        return self.agb_mean * (1.0 + (self.root_shoot or 0.0)) * self.co2_per_t_dm


@dataclass(frozen=True, eq=False)
class CarbonModel:
    """Everything the per-period carbon needs for one mine, draws included."""

    forest: ForestFactor | None
    """Forest factor of the mine's cell, None when the table has no such cell."""
    soil_per_ha: float | None
    """Soil CO2 (t/ha) lost over the whole transition, None when no soil stock is given."""
    transition_years: float
    """Years the soil loss is spread over."""
    agb_draws: np.ndarray
    """Multipliers of the AGB mean (mean 1)."""
    area_draws: np.ndarray
    """Multipliers of the area (mean 1)."""
    soil_draws: np.ndarray
    """Multipliers of the soil stock (mean 1)."""
    agb_interval: bool
    """False when the AGB has no published SD (and none is assumed): no biomass interval."""
    soil_interval: bool
    """False when the soil stock has no SD: no soil interval."""
    notes: tuple[str, ...]
    """Notes that apply to every period."""
    interval: float
    """Interval width."""


def lognormal(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    """``n`` lognormal draws with the given mean and SD; constant when the SD is 0 or unknown."""
    if not (sd > 0.0) or math.isnan(sd):
        return np.full(n, mean, dtype=float)
    sigma2 = math.log1p((sd / mean) ** 2)
    return rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2), n)


def _forest_factor(
    tables: FactorTables, ecozone: str, continent: str, state: str, notes: list[str]
) -> ForestFactor | None:
    cell = tables.agb(ecozone, continent, state)
    if cell is None:
        notes.append(
            f"forest biomass: no factor for {state} {ecozone} in {continent} "
            "(IPCC 2019 Table 4.7 cell not shipped)"
        )
        return None
    mean, sd = cell
    r = tables.root_shoot(ecozone, continent, mean)
    if r is None:
        notes.append(
            f"below-ground biomass: no factor (no root-to-shoot ratio for {ecozone} in {continent}); "
            "forest CO2e is above-ground only"
        )
    k = tables.constant("carbon_fraction") * tables.constant("co2_per_c")
    return ForestFactor(mean, sd, r, k)


def build_carbon_model(
    tables: FactorTables,
    ecozone: str,
    continent: str,
    params: ImpactParams,
    soc_ref: float | None = None,
) -> CarbonModel:
    """Factors and Monte Carlo draws of one mine (``soc_ref`` overrides the params' soil stock)."""
    notes: list[str] = []
    forest = _forest_factor(tables, ecozone, continent, params.forest_state, notes)
    soc = soc_ref if soc_ref is not None else params.soc_ref_t_c_per_ha
    soil_per_ha = None
    if soc is not None:
        loss = soc * (1.0 - tables.constant("f_lu_mining")) * tables.constant("co2_per_c")
        soil_per_ha = loss
    else:
        notes.append("soil carbon: not estimated (no reference soil stock given)")
    rng_agb, rng_area, rng_soil = (
        np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(3)
    )
    n = params.mc_draws
    agb_rel = _agb_rel_sd(forest, ecozone, continent, params, notes)
    area_rel = (params.area_ci95_rel or 0.0) / 1.959963984540054
    soil_rel = (params.soc_ref_sd_t_c_per_ha or 0.0) / soc if soc else 0.0
    soil_interval = soc is None or params.soc_ref_sd_t_c_per_ha is not None
    if not soil_interval:
        notes.append(
            "soil carbon: no SD given for the reference stock, so no soil interval "
            "(set soc_ref_sd_t_c_per_ha)"
        )
    return CarbonModel(
        forest=forest,
        soil_per_ha=soil_per_ha,
        transition_years=tables.constant("soc_transition_years"),
        agb_draws=lognormal(rng_agb, 1.0, agb_rel, n),
        area_draws=lognormal(rng_area, 1.0, area_rel, n),
        soil_draws=lognormal(rng_soil, 1.0, soil_rel, n),
        agb_interval=forest is None or not math.isnan(agb_rel),
        soil_interval=soil_interval,
        notes=tuple(notes),
        interval=params.interval,
    )


def _agb_rel_sd(
    forest: ForestFactor | None,
    ecozone: str,
    continent: str,
    params: ImpactParams,
    notes: list[str],
) -> float:
    """Relative SD of the AGB cell: published, else the params' assumption, else NaN (no
    interval: a zero-width range would pass a point off as a range)."""
    if forest is None:
        return math.nan
    if not math.isnan(forest.agb_sd):
        return forest.agb_sd / forest.agb_mean
    cell = f"{params.forest_state} {ecozone} in {continent}"
    assumed = params.agb_rel_sd_when_unpublished
    if assumed is not None:
        notes.append(f"AGB of {cell} has no published SD: assumed {assumed:.0%} of the mean")
        return assumed
    notes.append(
        f"AGB of {cell} has no published SD, so no CO2e interval "
        "(set agb_rel_sd_when_unpublished to assume one)"
    )
    return math.nan


def _bounds(draws: np.ndarray, interval: float) -> tuple[float, float]:
    tail = (1.0 - interval) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)


def _soil_fraction(start: pd.Series, period: Period, years: float) -> np.ndarray:
    """Share of each row's soil loss that falls in ``period`` (linear over ``years``)."""
    p0 = pd.Timestamp(period.start)
    p1 = pd.Timestamp(period.end) + pd.Timedelta(days=1)
    s0 = pd.to_datetime(start)
    s1 = s0 + pd.Timedelta(days=years * 365.25)
    lo = s0.where(s0 > p0, p0)
    hi = s1.where(s1 < p1, p1)
    overlap = (hi - lo).dt.days.clip(lower=0) / 365.25
    return (overlap / years).to_numpy(dtype=float)


def carbon_columns(
    rows: pd.DataFrame, period: Period, model: CarbonModel
) -> tuple[dict, list[str]]:
    """CO2e columns of one period from its footprint rows (with cover columns and first-seen dates)."""
    notes = list(model.notes)
    new = rows[rows["status"] == "new"]
    biomass, biomass_mean, no_factor = _biomass(new, model, notes)
    soil, soil_mean, soil_complete = _soil(rows, period, model, notes)
    out: dict = {"ha_no_carbon_factor": no_factor}
    biomass_known = model.agb_interval or not biomass_mean
    soil_known = model.soil_interval or not soil_mean
    out.update(_triple("co2e_biomass_t", biomass_mean, biomass, model.interval, biomass_known))
    out.update(_triple("co2e_soil_t", soil_mean, soil, model.interval, soil_known))
    parts = [d for d in (biomass, soil) if d is not None]
    total = sum(parts[1:], parts[0]) if parts else None
    total_mean = (biomass_mean if biomass is not None else 0.0) + (
        soil_mean if soil is not None else 0.0
    )
    known = (biomass is None or biomass_known) and (soil is None or soil_known)
    out.update(_triple("co2e_t", total_mean, total, model.interval, known))
    complete = (
        no_factor == 0.0
        and soil_complete
        and (model.forest is None or model.forest.root_shoot is not None or biomass_mean == 0.0)
    )
    out["co2e_complete"] = bool(complete)
    rehab = float(rows.loc[rows["status"] == "rehabilitated", "area_ha"].sum())
    if rehab >= 0.05:
        notes.append(
            f"removals on {rehab:.1f} ha rehabilitated: not estimated (no growth factor shipped), "
            "never netted against emissions"
        )
    return out, notes


def _triple(
    prefix: str, mean: float, draws: np.ndarray | None, interval: float, known: bool = True
) -> dict:
    """mean/low/high columns; NaN bounds when the draws carry no uncertainty (``known`` False)."""
    if draws is None:
        return {f"{prefix}_mean": math.nan, f"{prefix}_low": math.nan, f"{prefix}_high": math.nan}
    if not known:
        return {f"{prefix}_mean": mean, f"{prefix}_low": math.nan, f"{prefix}_high": math.nan}
    low, high = _bounds(draws, interval)
    return {f"{prefix}_mean": mean, f"{prefix}_low": low, f"{prefix}_high": high}


def _biomass(
    new: pd.DataFrame, model: CarbonModel, notes: list[str]
) -> tuple[np.ndarray | None, float, float]:
    """(draws, mean, ha with no factor) of the biomass CO2 of land first disturbed this period."""
    by_pool = new.groupby("carbon_pool")["area_ha"].sum()
    forest_ha = float(by_pool.get("forest", 0.0))
    no_factor = 0.0
    for key, ha in (
        new[new["carbon_pool"].isin(["nonforest", "unknown"])]
        .groupby("cover_key")["area_ha"]
        .sum()
        .items()
    ):
        notes.append(
            f"biomass of {ha:.1f} ha {key}: no factor (no published non-forest factor shipped)"
        )
        no_factor += float(ha)
    estimable = forest_ha if model.forest is not None else 0.0
    if model.forest is None and forest_ha > 0:
        no_factor += forest_ha
    if no_factor > 0 and estimable == 0:
        return None, math.nan, no_factor
    if estimable == 0:
        return np.zeros_like(model.area_draws), 0.0, no_factor
    per_ha = model.forest.per_ha_mean if model.forest else 0.0
    draws = estimable * per_ha * model.agb_draws * model.area_draws
    return draws, estimable * per_ha, no_factor


def _soil(
    rows: pd.DataFrame, period: Period, model: CarbonModel, notes: list[str]
) -> tuple[np.ndarray | None, float, bool]:
    """(draws, mean, complete) of the soil CO2 falling in ``period``; draws None when no soil
    stock is given. SOC_ref is the stock under native vegetation, so it applies to land whose
    baseline was natural vegetation; cropland (already below SOC_ref) is "no factor"."""
    if model.soil_per_ha is None:
        return None, math.nan, False
    crop = float(rows.loc[rows["cover_key"] == "cropland", "area_ha"].sum())
    if crop > 0:
        notes.append(
            f"soil of {crop:.1f} ha cropland: no factor (no cropland stock change factor shipped)"
        )
    soiled = rows[rows["natural_vegetation"]]
    if soiled.empty:
        return np.zeros_like(model.area_draws), 0.0, crop == 0
    share = _soil_fraction(soiled["first_seen_start"], period, model.transition_years)
    mean = float((soiled["area_ha"].to_numpy() * share).sum() * model.soil_per_ha)
    return mean * model.soil_draws * model.area_draws, mean, crop == 0
