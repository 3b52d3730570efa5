"""What a report says about the classifier: a short summary and the measured accuracy, read from
the model card (``models/<id>.md``) when the run did not pass them.

The cards are Markdown written by ``geomon train``/``geomon evaluate`` (see ``models/``); only the
lines a report needs are read: the training-data source and size, the estimator, the first
evaluation's overall accuracy, per-class F1/precision/recall and the new-disturbance area error.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from geomon.evaluate import DISTURBED_SUMMARY, MIDDLE_SCENE_TITLE

__all__ = [
    "DISTURBED_LAND",
    "MINE_ROW",
    "PER_MINE",
    "REACH",
    "card_text",
    "classifier_info",
    "parse_card",
    "per_mine_text",
]

_CLASSES = ("vegetation", "bare_disturbed", "water", "built_other")
_FLOAT = r"([0-9]*\.[0-9]+)"
_KINDS = {
    "MLPClassifier": "neural network",
    "RandomForestClassifier": "random forest",
    "HistGradientBoostingClassifier": "gradient-boosted trees",
}


def card_text(model: dict[str, Any]) -> str:
    """The model card's Markdown: ``model["card"]`` when it holds the text, else the card of that
    name (or ``<id>.md``) among the bundled models; '' when there is none."""
    card = model.get("card")
    if isinstance(card, str) and "\n" in card:
        return card
    try:
        from geomon.classify.bundled import models_dir

        folder = Path(models_dir())
    except Exception:
        return ""
    names = [str(card)] if isinstance(card, str) and card else []
    if model.get("id"):
        names.append(f"{model['id']}.md")
    for name in names:
        path = folder / Path(name).name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return ""


def _section(text: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


def _bullet(section: str, key: str) -> str:
    m = re.search(rf"^- {re.escape(key)}:\s*(.+)$", section, re.M)
    return m.group(1).strip().strip("`") if m else ""


#: the spread of per-mine new-disturbance errors a model card's evaluation gives
#: (:func:`parse_card`)
PER_MINE = (
    "mines_evaluated",
    "mines_within_5pct",
    "mine_error_median_abs_pct",
    "mine_error_max_abs_pct",
)


#: what the change rules alone reach on a model card's evaluation seeds (``geomon evaluate
#: --footprint`` since stop 40, :func:`geomon.footprint.assess.format_checks`): the mines they
#: bring within 5 % of the truth with the truth's own classes (a perfect classifier), and the
#: mines the chain brings within 5 % of what they reach (the classifier's part)
REACH = ("mines_within_5pct_by_the_rules", "mines_within_5pct_of_the_rules_reach")


def per_mine_text(accuracy: Mapping[str, Any]) -> str:
    """``27 of 40 within 5 %, median |error| 3.2 %, largest 22.4 %`` from the :data:`PER_MINE`
    figures of ``accuracy``; '' when any is missing. With the :data:`REACH` figures it adds how
    many mines the change rules alone bring within 5 % with perfect classes, and how many the
    chain brings within 5 % of that."""
    values = [accuracy.get(k) for k in PER_MINE]
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    if len(numbers) != len(PER_MINE):
        return ""
    n, within, median, largest = numbers
    text = (
        f"{int(within)} of {int(n)} within 5 %, median |error| {median:.1f} %, "
        f"largest {largest:.1f} %"
    )
    rules, chain = (accuracy.get(k) for k in REACH)
    if isinstance(rules, int) and isinstance(chain, int):
        text += (
            f" (with perfect classes the change rules alone put {rules} of {int(n)} within 5 %: "
            f"new ground seen clear too seldom cannot be confirmed; {chain} of {int(n)} are "
            "within 5 % of what the rules can reach)"
        )
    return text


#: a per-mine row of ``geomon evaluate --footprint``'s new-disturbance table
#: (:func:`geomon.footprint.assess.format_checks`): ``mine@seed``, AOI ha, new ha, truth ha and
#: the error in % (rounded to 0.1 %); rows without truly new area (``nan%``) do not match
MINE_ROW = re.compile(r"^(\S+@\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(-?[\d.]+)%", re.M)


def _per_mine(body: str) -> dict[str, float]:
    """The spread of the per-mine new-disturbance errors of an evaluation block (its rows
    ``mine@seed ... error%``): how many mines, how many within 5 %, the median and largest
    absolute error; nothing when the block has no mine rows. The count within 5 % and the
    median are the block's own summary line where it has one (``geomon evaluate`` computes them
    from unrounded errors; the rows are rounded to 0.1 %)."""
    errors = sorted(abs(float(row[4])) for row in MINE_ROW.findall(body))
    if not errors:
        return {}
    out = {
        "mines_evaluated": len(errors),
        "mines_within_5pct": sum(e <= 5.0 for e in errors),
        "mine_error_median_abs_pct": round(statistics.median(errors), 2),
        "mine_error_max_abs_pct": errors[-1],
    }
    line = re.search(
        rf"^mines within 5 % of the truth: (\d+) of (\d+); median \|error\| {_FLOAT} %",
        body,
        re.M,
    )
    if line and int(line.group(2)) == len(errors):
        out["mines_within_5pct"] = int(line.group(1))
        out["mine_error_median_abs_pct"] = float(line.group(3))
    rules = re.search(r"^the rules' reach \(.*?\): (\d+) of (\d+) mines within 5 %", body, re.M)
    chain = re.search(
        r"^mines within 5 % of the area the rules can reach \(.*?\): (\d+) of (\d+)$", body, re.M
    )
    if rules and chain and int(rules.group(2)) == int(chain.group(2)) == len(errors):
        out[REACH[0]] = int(rules.group(1))
        out[REACH[1]] = int(chain.group(1))
    return out


#: what :func:`_disturbed_land` reads from a card's evaluation block
DISTURBED_LAND = (
    "disturbed_found_first_pct",
    "disturbed_precision_first_pct",
    "disturbed_found_last_pct",
    "disturbed_precision_last_pct",
)


def _disturbed_land(body: str) -> dict[str, float]:
    """The footprint against the truly disturbed land (``geomon evaluate --footprint`` since
    stop 28: the line that starts with :data:`~geomon.evaluate.DISTURBED_SUMMARY`): how
    much of it the first and last periods' footprints hold and their precision, in percent."""
    m = re.search(
        rf"^{re.escape(DISTURBED_SUMMARY)}: first period {_FLOAT} % .*?\(precision {_FLOAT} %\), "
        rf"last period {_FLOAT} % \(precision {_FLOAT} %\)",
        body,
        re.M,
    )
    return {k: float(v) for k, v in zip(DISTURBED_LAND, m.groups(), strict=True)} if m else {}


def _reports(body: str) -> tuple[str, str]:
    """An evaluation block's first report (stable pixels) and its second (every pixel at its
    period's middle scene; '' in blocks written before stop 22): the second opens with the line
    that holds :data:`~geomon.evaluate.MIDDLE_SCENE_TITLE` and ends at the reference-count line or
    the footprint check, whichever comes first."""
    at = body.find(MIDDLE_SCENE_TITLE)
    if at < 0:
        return body, ""
    start = body.rfind("\n", 0, at) + 1
    ends = [body.find(s, at) for s in ("\nstable-pixel reference", "\nnew disturbance against")]
    end = min([e for e in ends if e >= 0], default=len(body))
    return body[:start], body[start:end]


def _middle_scene(report: str) -> dict[str, float]:
    """``bare_disturbed`` F1 and IoU of the second report (:func:`_reports`), which scores every
    pixel at its period's middle scene (ground that changed within the period included)."""
    m = re.search(rf"^bare_disturbed\s+{_FLOAT}\s+{_FLOAT}\s+{_FLOAT}\s+{_FLOAT}\s*$", report, re.M)
    if not m:
        return {}
    return {
        "bare_disturbed_f1_middle": float(m.group(3)),
        "bare_disturbed_iou_middle": float(m.group(4)),
    }


def rules_phrase(
    rules: Mapping[str, float],
    date_view: float | None = None,
    release: float | None = None,
    baseline: bool = False,
) -> str:
    """The change rules and date view a model file carries
    (:attr:`geomon.classify.PixelModel.change_rules`, ``date_view``, ``date_view_release``,
    ``date_view_baseline``),
    in words for a report's model summary; "" when it carries neither. Read from the file,
    never from its card: a copy with other rules keeps the model id."""
    parts = []
    if date_view is not None:
        parts.append(
            "each period's clear observation nearest its middle is classified too, and gives "
            f"the class maps bare_disturbed where it says so at probability {date_view:g} or "
            "more"
            + (
                f", and its other clear class where it says so at {release:g} or more and the "
                "composite says bare_disturbed"
                if release is not None
                else ""
            )
            + (
                " (footprints read the composite's own classes, and these in the baseline period)"
                if baseline
                else " (footprints read the composite's own classes)"
            )
        )
    if rules:
        carried = ", ".join(f"{k} {v:g}" for k, v in sorted(rules.items()))
        parts.append(f"its footprints use its own change rules ({carried}) where a run sets none")
    return "; ".join(parts)


def parse_card(text: str) -> dict[str, Any]:
    """``{"summary": str, "accuracy": {metric: value}, "evaluated_on": str}`` from a model card."""
    if not text.strip():
        return {"summary": "", "accuracy": {}, "evaluated_on": ""}
    training = _section(text, "Training data")
    parts = []
    est = re.search(r'"estimator":\s*"([^"]+)"', text)
    ctx = re.search(r"^- spatial context:\s*([^(\n]+)", text, re.M)
    tmp = re.search(r"^- temporal statistics of the period:\s*([^(\n]+)", text, re.M)
    if est:
        name = est.group(1).rsplit(".", 1)[-1]
        scope = "pixel and neighbourhood" if ctx else "per-pixel"
        parts.append(f"{scope} {_KINDS.get(name, 'classifier')} ({name})")
    bands = re.search(r"^- bands:\s*(.+)$", text, re.M)
    idx = re.search(r"^- indices:\s*([^(\n]+)", text, re.M)
    if bands:
        n_bands = len([b for b in bands.group(1).split(",") if b.strip()])
        n_idx = len([b for b in idx.group(1).split(",") if b.strip()]) if idx else 0
        n_ctx = len([b for b in ctx.group(1).split(",") if b.strip()]) if ctx else 0
        n_tmp = len([b for b in tmp.group(1).split(",") if b.strip()]) if tmp else 0
        parts.append(
            f"{n_bands} bands"
            + (f" + {n_idx} spectral indices" if n_idx else "")
            + (f" + {n_tmp} temporal statistic{'s' * (n_tmp > 1)} of the period" if n_tmp else "")
            + (f" + {n_ctx} spatial-context features" if n_ctx else "")
        )
    stages = re.findall(r"hidden layers \(([\d, ]+)\)", _section(text, "Two stages"))
    if len(stages) == 2:
        parts.append(
            f"two stages: hidden layers ({stages[0]}) on every pixel, ({stages[1]}) where the "
            "first is unsure"
        )
    routing = _section(text, "Routing")
    rule = re.search(r"Where (.+?) \(features as read", routing)
    layers = re.search(r"hidden layers ((?:\([\d, ]+\)(?: then )?)+)", routing)
    if rule:
        parts.append(
            f"where {rule.group(1)}, another model decides"
            + (f" (hidden layers {layers.group(1).strip()})" if layers else "")
        )
    source = _bullet(training, "source")
    samples = _bullet(training, "samples")
    if source:
        parts.append(
            "trained on "
            + source
            + (f", {int(samples):,} labelled pixels" if samples.isdigit() else "")
        )
    accuracy: dict[str, float] = {}
    evaluated = ""
    # the first evaluation block of the card (annual composites come first)
    block = re.search(r"```text\n(.*?)```", text, re.S)
    if block:
        body = block.group(1)
        first = body.strip().splitlines()[0] if body.strip() else ""
        on = re.search(r" on (.+)$", first)
        evaluated = on.group(1).strip() if on else ""
        stable, middle = _reports(body)  # each report's figures from its own lines
        m = re.search(rf"overall accuracy {_FLOAT} \(sample\)", stable)
        if m:
            accuracy["overall_accuracy"] = float(m.group(1))
        m = re.search(rf"overall accuracy {_FLOAT}(?: ± {_FLOAT})? \(area-weighted", stable)
        if m:
            accuracy["overall_accuracy_area_weighted"] = float(m.group(1))
        for cls in _CLASSES:
            m = re.search(rf"^{cls}\s+{_FLOAT}\s+{_FLOAT}\s+{_FLOAT}\s+{_FLOAT}\s*$", stable, re.M)
            if m:
                accuracy[f"{cls}_precision"] = float(m.group(1))
                accuracy[f"{cls}_recall"] = float(m.group(2))
                accuracy[f"{cls}_f1"] = float(m.group(3))
        accuracy.update(_middle_scene(middle))
        m = re.search(r"^total\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(-?[\d.]+)%", body, re.M)
        if m:
            accuracy["new_disturbance_area_error_pct"] = float(m.group(1))
        accuracy.update(_per_mine(body))
        accuracy.update(_disturbed_land(body))
    summary = "; ".join(parts)
    return {
        "summary": summary[:1].upper() + summary[1:],
        "accuracy": accuracy,
        "evaluated_on": evaluated,
    }


def _plain(summary: str) -> str:
    """A run-supplied summary without Markdown list/code marks, on one line."""
    text = " ".join(s.strip().lstrip("-").strip() for s in summary.splitlines() if s.strip())
    return text.replace("`", "")


def classifier_info(model: dict[str, Any]) -> dict[str, Any]:
    """Id, hash, summary, accuracy and what it was measured on, for the methods section.

    Values the run passed win; the model card fills what is missing (and replaces a summary that
    is a raw Markdown excerpt of the card)."""
    card = parse_card(card_text(model))
    given = str(model.get("summary") or "")
    raw = given.lstrip().startswith("- ") or "`" in given
    summary = card["summary"] if card["summary"] and (raw or not given) else _plain(given)
    acc = model.get("accuracy") or {}
    accuracy = (
        {str(k): v for k, v in sorted(acc.items())} if isinstance(acc, dict) else {"accuracy": acc}
    )
    from_card = not accuracy and bool(card["accuracy"])
    return {
        "id": model.get("id") or "not recorded",
        "hash": model.get("hash"),
        "summary": summary or "no model card supplied",
        "accuracy": dict(card["accuracy"]) if from_card else accuracy,
        "evaluated_on": card["evaluated_on"] if from_card else str(model.get("evaluated_on") or ""),
        "accuracy_source": "model card"
        if from_card
        else str(model.get("accuracy_source") or ("run" if accuracy else "not recorded")),
    }
