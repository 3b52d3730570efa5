"""Footprint against the demo's ground truth: new-disturbance area and false alarms.

Truth per period is the land cover of the period's middle scene (the median composite shows
about that state); where that scene has no data (outside its swath), the cover of the period's
scene nearest to it in time that has. A pixel is truly disturbed when the generator marks its
cover as made by the mine (``truth/codes.json`` ``disturbed``) and, for the new-area check, not
vegetated (mine ground, below). Only pixels inside the mine's AOI count.

Stop 34 (written and committed before it is built or run): the new-area check counts *mine
ground*, the disturbed covers that are not vegetated (:func:`_mine_ground_codes`, what the
disturbed-land table already counts), in place of every disturbed cover. Mine land revegetated
by the baseline (``rehab_vegetated``, contract class ``vegetation``) is then not disturbed at the
baseline: where it is dug again it is truly new, as the chain maps it (the footprint holds no
revegetated land, and clearing it again is new disturbance for the emissions and habitat an
auditor reports); land that is only ever revegetated mine land is not disturbed, so new area
marked there is false. No model, rule or threshold is chosen with this: the figures under both
definitions are reported (the 144 validation runs; test seeds 237-246, already read, v9 as
shipped) and the notes say which one each figure uses. Measured, old count -> mine ground:
validation 124 -> 128 of 144 mines within 5 %, total -0.2 -> -0.7 %, largest false 0.26 ->
0.27 % of an AOI; test seeds 237-246 32 -> 35 of 40, +0.2 -> -0.4 %, 0.30 -> 0.31 %
(``geomon-s2-full-v9``'s card).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from geomon.evaluate import DISTURBED_SUMMARY
from geomon.footprint import _grid, pixel_metres, rule_inputs
from geomon.footprint.change import (
    NEW,
    PERSISTING,
    ChangeOptions,
    ChangeResult,
    rules_of,
    track_change,
)
from geomon.imagery._kernels import nearest_first

__all__ = [
    "FootprintCheck",
    "NewByPeriod",
    "check_demo_footprint",
    "first_known",
    "format_checks",
    "gap_codes",
    "middle_scene",
    "nearest_first",
    "new_by_period",
    "truly_new",
    "truth_as_classes",
    "truth_codes",
    "truth_disturbed",
]

T = TypeVar("T")


@dataclass(frozen=True)
class FootprintCheck:
    """How one mine's footprint compares with the truth (hectares, pixel-counted in the AOI)."""

    mine_id: str
    aoi_ha: float
    new_ha: float
    """Area the chain marks ``new`` in some period after the baseline."""
    truth_new_ha: float
    """Area of mine ground after the baseline period that was not mine ground at it (land
    revegetated by the baseline and dug again is new)."""
    false_new_ha: float
    """Area marked new that was never mine ground (clouds, shadows, misclassification, or
    revegetated mine land that stayed so)."""
    missed_new_ha: float
    """Truly new area the chain did not mark new."""
    disturbed_ha: tuple[float, ...] = ()
    """Per period, the chain's footprint (``new`` or ``persisting``): the "disturbed ha" of the
    reports."""
    truth_disturbed_ha: tuple[float, ...] = ()
    """Per period, the area truly disturbed and not revegetated (pixels seen clear in some
    period)."""
    found_ha: tuple[float, ...] = ()
    """Per period, the area in both: truly disturbed land not revegetated the footprint holds."""
    true_footprint_ha: tuple[float, ...] = ()
    """Per period, the footprint's area the mine truly disturbed, revegetated or not (land
    regrowing that the rules do not yet confirm rehabilitated is mine land all the same)."""
    reach_new_ha: float | None = None
    """Truly new area the same change rules mark new when fed the truth's own classes where the
    composite saw the ground clear (:func:`truth_as_classes`): what a perfect classifier would
    let them find. The truly new ground beyond it was seen clear too seldom at the series end
    for the persistence rule (``tail_min_clear``), or first seen clear only after the truth's
    onset (no baseline view: ``persisting``). None when not computed."""

    @property
    def reach_error(self) -> float:
        """(reach - truth) / truth: the rules' own error on this mine with perfect classes."""
        if self.reach_new_ha is None or not self.truth_new_ha:
            return float("nan")
        return (self.reach_new_ha - self.truth_new_ha) / self.truth_new_ha

    @property
    def new_error(self) -> float:
        """(new - truth) / truth."""
        return (
            (self.new_ha - self.truth_new_ha) / self.truth_new_ha
            if self.truth_new_ha
            else float("nan")
        )

    @property
    def over_new_ha(self) -> float:
        """Area marked new that was mine ground at the baseline already (over-counted): neither
        false nor truly new."""
        return self.new_ha - (self.truth_new_ha - self.missed_new_ha) - self.false_new_ha

    @property
    def gross_error_ha(self) -> float:
        """False + over-counted + missed area: the error before over- and under-counts cancel
        in :attr:`new_error`."""
        return self.false_new_ha + self.over_new_ha + self.missed_new_ha

    @property
    def false_share_of_aoi(self) -> float:
        return self.false_new_ha / self.aoi_ha if self.aoi_ha else float("nan")


def _code_lookup(root: str, field: str, value: object) -> np.ndarray:
    """bool lookup of 256 truth codes: those whose ``truth/codes.json`` entry has ``field`` equal
    to ``value``."""
    from pathlib import Path

    doc = json.loads((Path(root) / "truth" / "codes.json").read_text(encoding="utf-8"))
    lut = np.zeros(256, bool)
    for entry in doc["land_cover"]:
        lut[int(entry["code"])] = entry.get(field) == value
    return lut


def _disturbed_codes(root: str) -> np.ndarray:
    return _code_lookup(root, "disturbed", True)


def truth_codes(catalog: object, classes: xr.Dataset) -> np.ndarray:
    """uint8 ``(time, y, x)``: the demo truth's cover code at the middle scene of each period, on
    the classes' grid; where the middle scene has no data (outside its swath: a ``cloud_nodata``
    code), the code of the nearest scene of the period that has (255 where none has, or a period
    has no scene).

    Before stop 15 a pixel outside the middle scene's swath kept the no-data code, which is not a
    disturbed cover: ground a mine had already taken was then "truly new" when a later period
    showed it. On validation that made up most of the chain's largest misses (Murrin Murrin@41:
    99 % of its missed new area was disturbed in the baseline year's clear scenes)."""
    from geomon.classify.demo_data import NO_LABEL, truth_on_grid

    crs = str(classes.rio.crs)
    transform = classes.rio.transform(recalc=True)
    shape = (classes.sizes["y"], classes.sizes["x"])
    gap = gap_codes(str(catalog.root))  # type: ignore[attr-defined]

    def read(item: str) -> np.ndarray:
        return truth_on_grid(str(catalog.truth_path(item)), crs, transform, shape)[0]  # type: ignore[attr-defined]

    out = np.full((classes.sizes["time"], *shape), NO_LABEL, np.uint8)
    for t, ids in enumerate(classes["item_ids"].values if "item_ids" in classes.coords else []):
        group = [i for i in str(ids).split(",") if i]
        if group:
            out[t] = middle_scene(group, read, gap)
    return out


def middle_scene(
    group: Sequence[T], read: Callable[[T], np.ndarray], gap: np.ndarray
) -> np.ndarray:
    """The truth codes of a period's middle scene (``read(group[len(group) // 2])``), each gap
    (``gap[code]``: :func:`gap_codes`) filled from the nearest scene of ``group`` that has data
    (:func:`nearest_first`, :func:`first_known`); scenes are only read while a gap remains. The
    footprint check's truth (:func:`truth_codes`) and the middle-scene pixel accuracy of
    :func:`geomon.classify.recipes.evaluate_on_demo` both count a period by this rule."""
    return first_known((read(group[k]) for k in nearest_first(len(group))), gap)


def first_known(scenes: Iterable[np.ndarray], gap: np.ndarray) -> np.ndarray:
    """The first of ``scenes`` (uint8 code arrays of one shape), each pixel where it is a gap
    (``gap[code]``, a bool lookup of 256) taken from the next scene that is not; scenes are only
    read while a gap remains."""
    it = iter(scenes)
    out = np.array(next(it), dtype=np.uint8)
    missing = gap[out]
    while missing.any():
        scene = next(it, None)
        if scene is None:
            break
        out[missing] = scene[missing]
        missing = gap[out]
    return out


def gap_codes(root: str) -> np.ndarray:
    """bool lookup of 256: the truth codes that say nothing of the ground (the ``cloud_nodata``
    contract class, and the 255 of no data)."""
    from geomon.classify.demo_data import NO_LABEL

    lut = _code_lookup(root, "contract_class", "cloud_nodata")
    lut[NO_LABEL] = True
    return lut


def truth_as_classes(classes: xr.Dataset, codes: np.ndarray, lut: np.ndarray) -> xr.Dataset:
    """``classes`` with each pixel's class set to its period's middle-scene truth (``codes``:
    :func:`truth_codes`; ``lut``: truth code -> contract class, 255 for none) where the
    composite saw it clear (class not 0), at probability 1: what a perfect classifier of the
    period's middle scene would hand the change rules. A date view's map is
    left out: the rules read the truth here (before stop 34 they read a date-view model's
    ``composite_class``, so the "truth" runs were the classifier's). What the new-area check's
    rules' reach (:attr:`FootprintCheck.reach_new_ha`) and ``bench.change_sweep
    --truth-classes`` run the rules on."""
    from geomon.classify.apply import COMPOSITE_PREFIX

    classes = rule_inputs(classes)  # the composite's own classes: "seen" is the composite's
    classes = classes.drop_vars(
        [v for v in classes.data_vars if str(v).startswith(COMPOSITE_PREFIX)]
    )
    seen = classes["class"].values > 0
    mapped = lut[codes]
    out = classes.copy()
    cls = np.where(seen & (mapped != 255), mapped, 0).astype(classes["class"].dtype)
    out["class"] = (classes["class"].dims, cls)
    if "probability" in classes:
        out["probability"] = (
            classes["probability"].dims,
            np.ones(cls.shape, classes["probability"].dtype),
        )
    return out


def truth_disturbed(catalog: object, classes: xr.Dataset) -> np.ndarray:
    """bool ``(time, y, x)``: mine ground (a disturbed cover not vegetated:
    :func:`_mine_ground_codes`) at the middle scene of each period (gaps filled:
    :func:`truth_codes`), what the new-area check counts (since stop 34; before, every disturbed
    cover, revegetated mine land too). Pass it to :func:`check_demo_footprint` to check several
    change options against one run without reading the truth again."""
    return _mine_ground_codes(str(catalog.root))[truth_codes(catalog, classes)]  # type: ignore[attr-defined]


def _mine_ground_codes(root: str) -> np.ndarray:
    """Disturbed covers that are not vegetated (``rehab_vegetated`` is left out): what a
    footprint's ``new`` and ``persisting`` stand for; revegetated mine land is ``rehabilitated``
    or, where the chain never saw it bare, plain vegetation."""
    return _disturbed_codes(root) & ~_code_lookup(root, "contract_class", "vegetation")


def _against_truth(
    catalog: object,
    classes: xr.Dataset,
    aoi_mask: np.ndarray,
    options: ChangeOptions | None,
    truth: np.ndarray | None = None,
) -> tuple[ChangeResult, np.ndarray, np.ndarray, np.ndarray, float]:
    """The change the chain finds in ``classes`` and the demo truth: the change result, ``new``
    per period inside the AOI ``(time, y, x)``, the truth per period, the truly new pixels inside
    the AOI (disturbed after the baseline period and not at it) and the pixel area in hectares."""
    classes = rule_inputs(classes)  # what trace_footprint's rules read
    counts = classes["clear_count"].values if "clear_count" in classes else None
    prob = classes["probability"].values if "probability" in classes else None
    crs, transform = _grid(classes)
    pixel_m = pixel_metres(crs, transform, classes["class"].shape[1:])
    rules = (options or ChangeOptions()).resolved(rules_of(classes))
    result = track_change(classes["class"].values, counts, rules, prob, pixel_m)
    if truth is None:
        truth = truth_disturbed(catalog, classes)
    truth_new = truly_new(truth) & aoi_mask
    xs = classes["x"].values
    px_ha = float(abs(xs[1] - xs[0])) ** 2 / 10_000
    return result, (result.status == NEW) & aoi_mask, truth, truth_new, px_ha


def truly_new(ground: np.ndarray) -> np.ndarray:
    """bool ``(y, x)``: mine ground in some period after the baseline that was not at it
    (``ground``: :func:`truth_disturbed`, ``(time, y, x)``, index 0 the baseline)."""
    return ground[1:].any(axis=0) & ~ground[0]


def check_demo_footprint(
    catalog: object,
    classes: xr.Dataset,
    aoi_mask: np.ndarray,
    mine_id: str,
    options: ChangeOptions | None = None,
    truth: np.ndarray | None = None,
) -> FootprintCheck:
    """Compare the change the chain finds in ``classes`` with the demo truth, inside ``aoi_mask``
    (``truth``: :func:`truth_disturbed` of this run, read when not given). When the truth is
    read here, the footprint itself (new + persisting, the reports' "disturbed ha") is also
    compared with the unvegetated disturbed land, per period (``disturbed_ha`` ...), and its
    precision with all the land the mine disturbed, revegetated or not."""
    disturbed = None
    reach: float | None = None
    if truth is None:
        from geomon.classify.demo_data import contract_lookup

        root = str(catalog.root)  # type: ignore[attr-defined]
        codes = truth_codes(catalog, classes)
        disturbed, truth = _disturbed_codes(root)[codes], _mine_ground_codes(root)[codes]
        perfect = truth_as_classes(classes, codes, contract_lookup(catalog))  # type: ignore[arg-type]
        _, found_t, _, found_new, px = _against_truth(catalog, perfect, aoi_mask, options, truth)
        reach = float((found_new & found_t.any(axis=0)).sum()) * px
    result, new_t, truth, truth_new, px_ha = _against_truth(
        catalog, classes, aoi_mask, options, truth
    )
    new = new_t.any(axis=0)
    ever = truth.any(axis=0)
    counted = aoi_mask & (classes["class"].values > 0).any(axis=0)  # inside, seen clear

    def per_period(a: np.ndarray) -> tuple[float, ...]:
        return tuple(float(n) * px_ha for n in (a & counted).sum(axis=(1, 2)))

    land: dict[str, tuple[float, ...]] = {}
    if disturbed is not None:
        footprint = np.isin(result.status, (NEW, PERSISTING))
        land = {
            "disturbed_ha": per_period(footprint),
            "truth_disturbed_ha": per_period(truth),
            "found_ha": per_period(footprint & truth),
            "true_footprint_ha": per_period(footprint & disturbed),
        }
    return FootprintCheck(
        mine_id=mine_id,
        aoi_ha=float(counted.sum()) * px_ha,
        new_ha=float(new.sum()) * px_ha,
        truth_new_ha=float(truth_new.sum()) * px_ha,
        false_new_ha=float((new & ~ever).sum()) * px_ha,
        missed_new_ha=float((truth_new & ~new).sum()) * px_ha,
        **land,
        reach_new_ha=reach,
    )


@dataclass(frozen=True)
class NewByPeriod:
    """Where one mine's new-disturbance error sits in time (hectares per period, index 0 the
    baseline, pixel-counted in the AOI)."""

    truth_ha: np.ndarray
    """Truly new area by the period in which the truth first shows it disturbed."""
    new_ha: np.ndarray
    """Area the chain marks ``new`` in each period."""
    missed_ha: np.ndarray
    """Truly new area never marked new, by the period the truth first shows it."""
    unseen_baseline_ha: float
    """Truly new area whose first clear view came at or after the truth's onset: the chain
    sees it disturbed at its first view and calls it ``persisting`` (no baseline to compare)."""


def new_by_period(
    catalog: object,
    classes: xr.Dataset,
    aoi_mask: np.ndarray,
    options: ChangeOptions | None = None,
    truth: np.ndarray | None = None,
) -> NewByPeriod:
    """:func:`check_demo_footprint`'s new-disturbance areas split by period (``truth`` as
    there)."""
    result, new, truth, truth_new, px_ha = _against_truth(
        catalog, classes, aoi_mask, options, truth
    )
    n = truth.shape[0]
    onset = np.where(truth.any(axis=0), truth.argmax(axis=0), -1)
    missed = truth_new & ~new.any(axis=0)
    by_onset = np.bincount(onset[truth_new], minlength=n)[:n]
    by_missed = np.bincount(onset[missed], minlength=n)[:n]
    unseen = missed & (result.baseline_index >= onset)
    return NewByPeriod(
        truth_ha=by_onset * px_ha,
        new_ha=new.sum(axis=(1, 2)) * px_ha,
        missed_ha=by_missed * px_ha,
        unseen_baseline_ha=float(unseen.sum()) * px_ha,
    )


def format_checks(checks: list[FootprintCheck]) -> str:
    """A table of the checks plus totals."""
    head = f"{'mine':24s}{'AOI ha':>10s}{'new ha':>10s}{'truth ha':>10s}{'error':>9s}{'false ha':>10s}{'false/AOI':>11s}"
    lines = ["new disturbance against the truth (pixels inside the AOI)", head]
    for c in checks:
        lines.append(
            f"{c.mine_id:24s}{c.aoi_ha:10.2f}{c.new_ha:10.2f}{c.truth_new_ha:10.2f}"
            f"{100 * c.new_error:8.1f}%{c.false_new_ha:10.2f}{100 * c.false_share_of_aoi:10.2f}%"
        )
    tot = FootprintCheck(
        "total",
        sum(c.aoi_ha for c in checks),
        sum(c.new_ha for c in checks),
        sum(c.truth_new_ha for c in checks),
        sum(c.false_new_ha for c in checks),
        sum(c.missed_new_ha for c in checks),
    )
    lines.append(
        f"{tot.mine_id:24s}{tot.aoi_ha:10.2f}{tot.new_ha:10.2f}{tot.truth_new_ha:10.2f}"
        f"{100 * tot.new_error:8.1f}%{tot.false_new_ha:10.2f}{100 * tot.false_share_of_aoi:10.2f}%"
    )
    errors = [abs(c.new_error) for c in checks if c.truth_new_ha]
    if errors:
        within = sum(e <= 0.05 for e in errors)
        lines.append(
            f"mines within 5 % of the truth: {within} of {len(errors)}; median |error| "
            f"{100 * float(np.median(errors)):.1f} %; largest false/AOI "
            f"{100 * max(c.false_share_of_aoi for c in checks):.2f} %"
        )
        lines.append(
            f"error parts: false {tot.false_new_ha:.1f} ha, over-counted at the baseline "
            f"{tot.over_new_ha:.1f} ha, missed {tot.missed_new_ha:.1f} ha; gross "
            f"{tot.gross_error_ha:.1f} ha ({100 * tot.gross_error_ha / tot.truth_new_ha:.1f} % "
            f"of the truly new area); mean |error| {100 * float(np.mean(errors)):.2f} %"
        )
        lines += _reach_lines([c for c in checks if c.truth_new_ha])
    return "\n".join(lines + _disturbed_lines(checks))


def _reach_lines(checks: list[FootprintCheck]) -> list[str]:
    """The rules' reach (:attr:`FootprintCheck.reach_new_ha`) over ``checks`` (mines with truly
    new area): how many mines the rules bring within 5 % of the truth with perfect classes,
    which they cannot, and how many mines the chain brings within 5 % of that reach (the
    classifier's part of the error); nothing when a check lacks it."""
    if not checks or any(c.reach_new_ha is None for c in checks):
        return []
    beyond = [c for c in checks if abs(c.reach_error) > 0.05]
    beyond_ha = sum(c.truth_new_ha - (c.reach_new_ha or 0.0) for c in checks)
    out_of_reach = ", ".join(f"{c.mine_id} {100 * c.reach_error:+.1f} %" for c in beyond)
    reached = [c for c in checks if c.reach_new_ha]
    near = sum(
        abs(c.new_ha - (c.reach_new_ha or 0.0)) <= 0.05 * (c.reach_new_ha or 0.0) for c in reached
    )
    return [
        f"the rules' reach (the truth's own classes through the same rules: a perfect "
        f"classifier): {len(checks) - len(beyond)} of {len(checks)} mines within 5 % of the "
        f"truth, {beyond_ha:.1f} ha of the truly new area beyond it (seen clear too seldom at "
        f"the series end to confirm, or first seen after its onset)"
        + (f"; beyond 5 % even with perfect classes: {out_of_reach}" if beyond else ""),
        f"mines within 5 % of the area the rules can reach (the classifier's part): {near} of "
        f"{len(reached)}",
    ]


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    - "


def _disturbed_lines(checks: list[FootprintCheck]) -> list[str]:
    """The footprint ("disturbed ha": new + persisting) against the truly disturbed land in the
    first and the last period: how much of the disturbed land not revegetated it holds (found),
    and how much of it the mine truly disturbed, revegetated or not (precision); nothing when
    the checks do not carry the per-period areas."""
    rows = [c for c in checks if c.disturbed_ha and c.truth_disturbed_ha and c.true_footprint_ha]
    if not rows:
        return []

    def cells(label: str, mapped: float, truth: float, found: float, true: float) -> str:
        return f"{label:>7s}{mapped:10.2f}{truth:10.2f}{_share(found, truth):>9s}{_share(true, mapped):>9s}"

    lines = [
        "",
        "disturbed land (new + persisting) against the truly disturbed land not revegetated "
        "(found: its share the footprint holds), first and last period (pixels inside the AOI "
        "seen clear); precise: the footprint's share the mine truly disturbed, revegetated or not",
        f"{'mine':24s}{'':7s}{'map ha':>10s}{'truth ha':>10s}{'found':>9s}{'precise':>9s}"
        f"{'':7s}{'map ha':>10s}{'truth ha':>10s}{'found':>9s}{'precise':>9s}",
    ]
    sums = np.zeros(8)
    for c in rows:
        first = (c.disturbed_ha[0], c.truth_disturbed_ha[0], c.found_ha[0], c.true_footprint_ha[0])
        last = (c.disturbed_ha[-1], c.truth_disturbed_ha[-1], c.found_ha[-1], c.true_footprint_ha[-1])  # fmt: skip
        sums += (*first, *last)
        lines.append(f"{c.mine_id:24s}{cells('first', *first)}{cells('last', *last)}")
    lines.append(f"{'all mines':24s}{cells('first', *sums[:4])}{cells('last', *sums[4:])}")
    lines.append(
        f"{DISTURBED_SUMMARY}: first period {_share(sums[2], sums[1]).strip()} of the truly "
        f"disturbed land (precision {_share(sums[3], sums[0]).strip()}), last period "
        f"{_share(sums[6], sums[5]).strip()} (precision {_share(sums[7], sums[4]).strip()})"
    )
    return lines


def demo_footprint_checks(
    model: object,
    seeds: list[int] | tuple[int, ...],
    period: str = "year",
    years: int = 5,
    progress: bool = False,
    rules: ChangeOptions | None = None,
) -> list[FootprintCheck]:
    """Run the chain over every mine of the demo catalogs of ``seeds`` and check it
    (``progress``: a bar of the mines done, on stderr), under the change ``rules`` (default:
    :class:`ChangeOptions`); the footprint and the check use the same rules."""
    import datetime as dt

    from geomon.classify.recipes import demo_mines
    from geomon.footprint import FootprintOptions
    from geomon.footprint.polygons import aoi_mask
    from geomon.footprint.run import RunOptions, run_footprint
    from geomon.imagery import Aoi, StaticCatalogSource
    from geomon.registry import load_registry

    registry = load_registry()
    options = RunOptions(period=period, footprint=FootprintOptions(rules or ChangeOptions()))
    checks = []
    for catalog, mine_ids in demo_mines(seeds, years, progress, "footprint check"):
        cfg = catalog.config
        start, end = dt.date(cfg.start_year, 1, 1), dt.date(cfg.start_year + cfg.years - 1, 12, 31)
        source = StaticCatalogSource(catalog.catalog_path, name="demo")
        for mine_id in mine_ids:
            aoi = Aoi.from_registry(registry, mine_id)
            run = run_footprint(aoi, start, end, source, options, model)  # type: ignore[arg-type]
            crs = str(run.classes.rio.crs)
            mask = aoi_mask(
                aoi.projected(crs),
                (run.classes.sizes["y"], run.classes.sizes["x"]),
                run.classes.rio.transform(recalc=True),
            )
            used = run.footprint_options.change if run.footprint_options else None
            checks.append(
                check_demo_footprint(catalog, run.classes, mask, f"{mine_id}@{cfg.seed}", used)
            )
    return checks
