"""Accuracy and area with honest uncertainty: confusion matrix, per-class scores, Olofsson areas.

Conventions: a confusion matrix here has **rows = map (predicted) class, columns = reference
class**, as in Olofsson et al. (2014) "Good practices for estimating area and assessing accuracy
of land change", Remote Sensing of Environment 148, 42-57. Precision is the user's accuracy (a row
score), recall the producer's accuracy (a column score).

The error-adjusted area (Olofsson et al. 2014, eqs. 9-10) treats the reference sample as a
stratified random sample with the map classes as strata: with ``W_i`` the mapped area share of
class ``i`` and ``n_ij`` the sample counts, the area share of reference class ``j`` is
``p_j = sum_i W_i n_ij / n_i``, its standard error ``sqrt(sum_i W_i^2 (n_ij/n_i)(1 - n_ij/n_i) / (n_i - 1))``
and the 95 % interval ``± 1.96 SE`` times the total area. When the reference covers every mapped
pixel (a census), the estimate equals the reference area and the interval is near zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geomon.errors import EvaluationError

__all__ = [
    "DISTURBED_SUMMARY",
    "MIDDLE_SCENE_TITLE",
    "AccuracyReport",
    "AreaEstimate",
    "assess",
    "confusion_matrix",
    "error_adjusted_area",
    "format_report",
]

Z95 = 1.959964

#: what titles ``geomon evaluate --demo-seeds``'s second report, the one that scores every pixel
#: at its period's middle scene (:func:`geomon.classify.recipes.format_demo_accuracy`); model
#: cards are read by it (:func:`geomon.report.model_card.parse_card`)
MIDDLE_SCENE_TITLE = "every pixel seen clear, at its period's middle scene"

#: what starts the last line of ``geomon evaluate --footprint``'s check of the footprint itself
#: against the truly disturbed land (:func:`geomon.footprint.assess.format_checks`); read back
#: from model cards as :data:`MIDDLE_SCENE_TITLE` is
DISTURBED_SUMMARY = "disturbed land the footprint holds"


def confusion_matrix(
    predicted: np.ndarray, reference: np.ndarray, n_classes: int, *, ignore: int | None = None
) -> np.ndarray:
    """Counts ``[map, reference]`` of integer codes ``0..n_classes-1``; pixels whose reference
    or map code is ``ignore`` (e.g. no data) are left out."""
    p = np.asarray(predicted).ravel().astype(np.int64)
    r = np.asarray(reference).ravel().astype(np.int64)
    if p.shape != r.shape:
        raise EvaluationError(
            f"map has {p.size} pixels and reference {r.size}; put them on the same grid first"
        )
    keep = (p >= 0) & (p < n_classes) & (r >= 0) & (r < n_classes)
    if ignore is not None:
        keep &= (p != ignore) & (r != ignore)
    return np.bincount(p[keep] * n_classes + r[keep], minlength=n_classes * n_classes).reshape(
        n_classes, n_classes
    )


@dataclass(frozen=True)
class AreaEstimate:
    """Error-adjusted area of one reference class (hectares), with its 95 % interval."""

    mapped_ha: float
    """Area the map gives the class."""
    area_ha: float
    """Stratified estimate of the class's true area."""
    ci95_ha: float
    """Half-width of the 95 % confidence interval."""
    users: float
    """User's accuracy (precision) of the class as a map stratum."""
    users_ci95: float
    producers: float
    """Producer's accuracy (recall), area-weighted."""
    producers_ci95: float


def _se_share(weights: np.ndarray, props: np.ndarray, n_row: np.ndarray) -> np.ndarray:
    """SE of each reference class's area share (Olofsson eq. 10), per column."""
    with np.errstate(divide="ignore", invalid="ignore"):
        var = weights[:, None] ** 2 * props * (1 - props) / (n_row[:, None] - 1)
    return np.sqrt(np.nansum(np.where(n_row[:, None] > 1, var, 0.0), axis=0))


def error_adjusted_area(
    counts: np.ndarray, mapped_ha: Sequence[float] | np.ndarray
) -> list[AreaEstimate]:
    """Olofsson et al. (2014) stratified area estimate per class from ``counts[map, reference]``
    and the mapped area of each class in hectares."""
    counts = np.asarray(counts, dtype=np.float64)
    mapped = np.asarray(mapped_ha, dtype=np.float64)
    k = counts.shape[0]
    if counts.shape != (k, k) or mapped.shape != (k,):
        raise EvaluationError("counts must be square and mapped_ha have one area per class")
    total = mapped.sum()
    if total <= 0:
        raise EvaluationError("the map has no area; classify something before estimating areas")
    w = mapped / total
    n_row = counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        props = np.where(n_row[:, None] > 0, counts / n_row[:, None], 0.0)
    p = w[:, None] * props
    share = p.sum(axis=0)
    se = _se_share(w, props, n_row)
    users, users_ci = _users(props, n_row)
    producers, producers_ci = _producers(p, share, props, w, n_row)
    return [
        AreaEstimate(
            mapped_ha=float(mapped[j]),
            area_ha=float(share[j] * total),
            ci95_ha=float(Z95 * se[j] * total),
            users=float(users[j]),
            users_ci95=float(users_ci[j]),
            producers=float(producers[j]),
            producers_ci95=float(producers_ci[j]),
        )
        for j in range(k)
    ]


def _users(props: np.ndarray, n_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """User's accuracy and its 95 % half-width (Olofsson eq. 6 variance)."""
    u = np.diag(props)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n_row > 1, u * (1 - u) / (n_row - 1), np.nan)
    return u, Z95 * np.sqrt(var)


def _producers(
    p: np.ndarray, share: np.ndarray, props: np.ndarray, w: np.ndarray, n_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Producer's accuracy and its 95 % half-width (Olofsson eq. 7 variance, via estimated
    column totals ``N_j = sum_i N_i n_ij / n_i`` in area-share units)."""
    k = p.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        prod = np.where(share > 0, np.diag(p) / share, np.nan)
        nvar = np.where(n_row > 1, 1.0 / (n_row - 1), 0.0)
        ci = np.full(k, np.nan)
        for j in range(k):
            if not share[j] > 0:
                continue
            u_j = props[j, j]
            own = w[j] ** 2 * (1 - prod[j]) ** 2 * u_j * (1 - u_j) * nvar[j]
            others = np.delete(w**2 * props[:, j] * (1 - props[:, j]) * nvar, j).sum()
            ci[j] = Z95 * np.sqrt((own + prod[j] ** 2 * others) / share[j] ** 2)
    return prod, ci


@dataclass(frozen=True)
class AccuracyReport:
    """Accuracy of a classified map against a reference; one entry per class in every list."""

    classes: tuple[str, ...]
    counts: np.ndarray
    """Confusion matrix ``[map, reference]`` of sample (reference) pixels."""
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    iou: tuple[float, ...]
    overall: float
    """Overall accuracy of the sample (unweighted)."""
    areas: tuple[AreaEstimate, ...]
    """Error-adjusted area per class; empty when no mapped areas were given."""
    overall_adjusted: float = float("nan")
    """Area-weighted overall accuracy (Olofsson eq. 1); NaN without mapped areas."""
    overall_adjusted_ci95: float = float("nan")
    """Its 95 % half-width (Olofsson eq. 5)."""

    def score(self, name: str) -> dict[str, float]:
        """Precision, recall, F1 and IoU of class ``name``."""
        i = self.classes.index(name)
        return {
            "precision": self.precision[i],
            "recall": self.recall[i],
            "f1": self.f1[i],
            "iou": self.iou[i],
        }


def _ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return tuple(float(x) for x in np.where(den > 0, num / den, np.nan))


def assess(
    counts: np.ndarray,
    classes: Sequence[str],
    mapped_ha: Sequence[float] | np.ndarray | None = None,
) -> AccuracyReport:
    """Scores from ``counts[map, reference]``; with ``mapped_ha``, also Olofsson areas."""
    c = np.asarray(counts, dtype=np.int64)
    if c.shape != (len(classes), len(classes)):
        raise EvaluationError(f"counts must be {len(classes)}x{len(classes)}, one row per class")
    if c.sum() == 0:
        raise EvaluationError("no reference pixel overlaps the map; check grids and nodata codes")
    tp = np.diag(c).astype(np.float64)
    row, col = c.sum(axis=1), c.sum(axis=0)
    areas = () if mapped_ha is None else tuple(error_adjusted_area(c, mapped_ha))
    adjusted, adjusted_ci = _overall_adjusted(c, mapped_ha)
    return AccuracyReport(
        classes=tuple(classes),
        counts=c,
        precision=_ratio(tp, row),
        recall=_ratio(tp, col),
        f1=_ratio(2 * tp, row + col),
        iou=_ratio(tp, row + col - tp),
        overall=float(tp.sum() / c.sum()),
        areas=areas,
        overall_adjusted=adjusted,
        overall_adjusted_ci95=adjusted_ci,
    )


def _overall_adjusted(
    counts: np.ndarray, mapped_ha: Sequence[float] | np.ndarray | None
) -> tuple[float, float]:
    if mapped_ha is None:
        return float("nan"), float("nan")
    mapped = np.asarray(mapped_ha, dtype=np.float64)
    w = mapped / mapped.sum()
    n_row = counts.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        users = np.where(n_row > 0, np.diag(counts) / n_row, 0.0)
        var = np.where(n_row > 1, w**2 * users * (1 - users) / (n_row - 1), 0.0)
    return float((w * users).sum()), float(Z95 * np.sqrt(var.sum()))


def format_report(report: AccuracyReport, title: str = "accuracy") -> str:
    """The report as plain text: confusion matrix, per-class scores, error-adjusted areas."""
    names = report.classes
    width = max(12, *(len(n) + 1 for n in names))
    lines = [
        f"{title}",
        f"confusion matrix (rows = map, columns = reference), {report.counts.sum()} px",
    ]
    lines.append("map \\ ref".ljust(width) + "".join(n.rjust(width) for n in names))
    for name, row in zip(names, report.counts, strict=True):
        lines.append(name.ljust(width) + "".join(str(v).rjust(width) for v in row))
    lines.append("")
    lines.append(
        "class".ljust(width) + "".join(h.rjust(10) for h in ("precision", "recall", "F1", "IoU"))
    )
    for i, name in enumerate(names):
        vals = (report.precision[i], report.recall[i], report.f1[i], report.iou[i])
        lines.append(name.ljust(width) + "".join(f"{v:10.4f}" for v in vals))
    lines.append(f"overall accuracy {report.overall:.4f} (sample)")
    if report.areas:
        lines.append(
            f"overall accuracy {report.overall_adjusted:.4f} ± {report.overall_adjusted_ci95:.4f} "
            "(area-weighted, 95 %)"
        )
    if report.areas:
        lines.append("")
        lines.append("error-adjusted area (Olofsson et al. 2014), hectares")
        heads = ("mapped", "estimate", "± 95 %", "user's", "producer's")
        lines.append("class".ljust(width) + "".join(h.rjust(12) for h in heads))
        for name, a in zip(names, report.areas, strict=True):
            lines.append(
                name.ljust(width)
                + f"{a.mapped_ha:12.2f}{a.area_ha:12.2f}{a.ci95_ha:12.2f}"
                + f"{a.users:7.3f}±{a.users_ci95:4.2f}{a.producers:7.3f}±{a.producers_ci95:4.2f}"
            )
    return "\n".join(lines)
