"""Model cards: what a shipped model is, what it learnt from, and how well it measured.

``python -m geomon.classify.card MODEL_ID --measured HEADING=FILE ... [--notes FILE]`` rewrites
``models/MODEL_ID.md`` from the model file and the verbatim output of the commands named in each
heading, and updates the model's SHA-256 in ``models/index.json``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from geomon.classify.model import PixelModel
from geomon.classify.model_io import file_format

__all__ = ["model_card", "write_card"]


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _software(versions: object) -> str:
    """The library versions a model was fitted with (the same commands under others can give
    other weights)."""
    if not isinstance(versions, dict):
        return "Library versions of the fit: not recorded (models before stop 29)."
    return "Fitted with " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + "."


def _epochs(epochs: object, hyper: Mapping[str, object]) -> str:
    """How training ended: early stopping, or the ``max_iter`` cap before it."""
    if epochs is not None and epochs == hyper.get("max_iter"):
        return f"Trained for {epochs} epochs: the max_iter cap, reached before early stopping."
    return f"Trained for {epochs if epochs is not None else '?'} epochs (early stopping)."


def _stages(model: PixelModel) -> list[str]:
    """The second stage of a two-stage model: when it decides, and how it was trained (the
    sections above describe the first stage)."""
    if model.refine is None:
        return []
    second = model.refine.model
    info = dict(second.info)
    hyper = info.get("hyper_parameters", {})
    first_id = model.info.get("stages", {}).get("first", "the first stage")
    data = info.get("training_data")
    if data == model.info.get("training_data"):
        trained = "the same training data as the first stage"
    elif isinstance(data, dict):
        trained = f"training data: {json.dumps(data, sort_keys=True)}"
    else:
        trained = "no record of its training data"
    widths = [str(w.shape[1]) for w in second.weights[:-1]]
    first_widths = [str(w.shape[1]) for w in model.weights[:-1]]
    return [
        "## Two stages",
        "",
        f"The sections above describe the first stage ({first_id}; hidden layers "
        f"({', '.join(first_widths)})). Unless its class is {model.refine.describe()}, "
        f"the pixel takes the class, "
        f"probability and cover of the second stage, `{second.model_id}`: the same features and "
        f"labels, hidden layers ({', '.join(widths)}), {trained}. Its hyper-parameters:",
        "",
        f"```json\n{json.dumps(hyper, indent=1, sort_keys=True)}\n```",
        _epochs(info.get("epochs"), hyper),
        "",
    ]


def _route(model: PixelModel) -> list[str]:
    """Which pixels a routing model hands to another, and that model's stages, or nothing."""
    if model.route is None:
        return []
    other = model.route.model
    info = dict(other.info)
    data = info.get("training_data", {})
    widths = [
        f"({', '.join(str(w.shape[1]) for w in stage.weights[:-1])})" for stage in other.stages
    ]
    unless = (
        f", unless its first stage's class is {other.refine.describe()}" if other.refine else ""
    )
    lines = [
        "## Routing",
        "",
        f"The sections above describe the model for most pixels ("
        f"{model.info.get('route', {}).get('first', model.model_id)}; its first layer widened to "
        "these features with zero weights on those it did not read, so its answers are its "
        f"own up to float rounding). Where {model.route.describe()} (features as read, "
        f"float32), the pixel takes the answer of `{other.model_id}` instead: hidden layers "
        f"{' then '.join(widths)}" + f"{unless}.",
        "",
        f"- its training data: {json.dumps(data, sort_keys=True)}",
    ]
    for name, stage in zip(("first stage", "second stage"), other.stages, strict=False):
        hyper = stage.info.get("hyper_parameters", {})
        lines += [
            f"- its {name}'s hyper-parameters: `{json.dumps(hyper, sort_keys=True)}`; "
            + _epochs(stage.info.get("epochs"), hyper)
            + " "
            + _software(stage.info.get("software"))
        ]
    return [*lines, ""]


def _eight_bit(model: PixelModel) -> list[str]:
    """How a model's stages run in 8 bits (``geomon quantize``), or nothing."""
    names = ("first stage", "second stage") if model.refine else ("the model",)
    stages = list(zip(names, model.stages, strict=True))
    if model.route is not None:
        other = model.route.model
        routed = ("routed first stage", "routed second stage") if other.refine else ("routed",)
        stages += list(zip(routed, other.stages, strict=True))
    rows = [("stage", "integer layers", "calibration pixels", "from", "rounding")]
    for name, stage in stages:
        e = stage.eight_bit
        if e is None:
            rows.append((name, "16 bits", "", "", ""))
            continue
        rows.append((name, f"{len(e.weights)} in 8 bits", str(e.info.get("pixels", "?")),
                     str(e.info.get("source", "?")), str(e.info.get("rounding", "?"))))  # fmt: skip
    if all(stage.eight_bit is None for _, stage in stages):
        return []
    return [
        "## 8-bit layers",
        "",
        "Hidden layers on bytes (`geomon.classify._quant.quantize_layers8`): features on "
        "[-127, 127], later layers' inputs on [0, 255] by the largest calibration value, weight "
        "rows on [-127, 127] with fitted rounding, each unit's bias shifted by its mean error "
        "where the float unit is active; the last layer and the softmax in float32. Where the "
        "calibration pixels came from (`geomon quantize` takes demo seeds only if every stage "
        "was trained on them; imagery is the user's choice):",
        "",
        _table(rows),
        "",
    ]


def model_card(
    model: PixelModel,
    file_name: str,
    sha256: str,
    size: int,
    measured: Mapping[str, str],
    notes: str = "",
    reproduce: str = "",
    chosen: bool = True,
) -> str:
    """Markdown card of ``model``; ``measured`` maps a heading (with the command that printed it)
    to verbatim output; ``chosen``: whether ``select_model`` picks it for sources of its bands."""
    info = dict(model.info)
    data = info.get("training_data", {})
    hyper = info.get("hyper_parameters", {})
    labels = [("label", "contract class", "baseline cover", "training samples")]
    balance = data.get("class_balance", {})
    labels += [
        (lab, cls, cov, str(balance.get(lab, "")))
        for lab, cls, cov in zip(model.labels, model.label_classes, model.label_covers, strict=True)
    ]
    parts = [
        f"# Model card: {model.model_id}",
        "",
        f"- file: `models/{file_name}` ({size} bytes), SHA-256 `{sha256}`",
        f"- model digest (numbers + header): `{model.digest}`",
        f"- format: {file_format(model)} (zip of a JSON header "
        "and float32 .npy arrays; loads without running code, see `geomon/classify/model_io.py`)",
        f"- bands: {', '.join(model.features.bands)}",
        f"- indices: {', '.join(model.features.indices)} (formulas in `geomon/classify/features.py`)",
        *(
            [
                f"- temporal statistics of the period: {', '.join(model.features.temporal)} "
                "(composite variables, `geomon/imagery/_composite.py`; for a single scene, the "
                "statistic of its one observation: `single_observation` in "
                "`geomon/classify/features.py`)"
                + (
                    "; `ndvi_mid` and `view_<band>` are the period's clear observation nearest "
                    "its middle, so composites for this model carry their date view "
                    "(`CompositeOptions(date_view=True)`; geomon's readers ask for it because "
                    "`PixelModel.reads_date_view` is true)"
                    if model.features.reads_date_view
                    else ""
                )
            ]
            if model.features.temporal
            else []
        ),
        *(
            [
                f"- spatial context: {', '.join(c.name for c in model.features.context)} "
                "(statistic and window side in pixels; `ContextFeature` in "
                "`geomon/classify/features.py`)"
            ]
            if model.features.context
            else []
        ),
        (
            "- chosen automatically by `geomon.classify.select_model` when a source has these bands"
            if chosen
            else "- not chosen automatically: a model listed before it in `models/index.json` "
            "reads no band it lacks; give this file with `--model`"
        ),
        *([f"- reproduce: `{reproduce}`"] if reproduce else []),
        *(
            [
                "- change rules it carries (footprints with it use them where a run sets none; "
                f"`geomon model-rules`): `{json.dumps(model.change_rules, sort_keys=True)}`"
            ]
            if model.change_rules
            else []
        ),
        *(
            [
                "- date view: each period's clear observation nearest its middle is classified "
                f"too; where it says bare_disturbed at probability {model.date_view:g} or more "
                "and the composite another clear class, the period takes bare_disturbed"
                + (
                    f"; where it says another clear class at {model.date_view_release:g} or more "
                    "and the composite bare_disturbed, the period takes the view's class"
                    if model.date_view_release is not None
                    else ""
                )
                + (
                    "; the change rules read these amended classes in the baseline period"
                    if model.date_view_baseline
                    else ""
                )
                + " (`geomon model-rules --date-view`"
                + (", `--date-view-release`" if model.date_view_release is not None else "")
                + (", `--date-view-baseline`" if model.date_view_baseline else "")
                + ")"
            ]
            if model.date_view is not None
            else []
        ),
        "",
        "## Labels",
        "",
        _table(labels),
        "",
        "## Training data",
        "",
        f"- source: {data.get('source', '?')}, generator version {data.get('generator_version', '?')}",
        f"- demo seeds: {data.get('seeds', '?')} ({data.get('years', '?')} years, 4 mines each); "
        "never used for any figure below",
        f"- drawn from: {', '.join(data.get('periods', []))} (single clear scenes and composites), "
        f"up to {data.get('per_label_per_mine_and_kind', '?')} pixels per label, mine and kind, "
        + (
            "split evenly over the truth covers of each label"
            if data.get("by_cover")
            else "drawn uniformly within each label"
        ),
        f"- samples: {data.get('samples', '?')}",
        f"- augmentation: `{json.dumps(data.get('augment', {}))}` (brightness, spectral tilt, "
        "additive L1C-like haze on a share of samples"
        + (f"; drawn per {data['augment_unit']}" if data.get("augment_unit") else "")
        + ")",
        "",
        "## Hyper-parameters",
        "",
        f"```json\n{json.dumps(hyper, indent=1, sort_keys=True)}\n```",
        _epochs(info.get("epochs"), hyper),
        _software(info.get("software")),
        "",
        *_stages(model),
        *_route(model),
        *_eight_bit(model),
        "## Measured accuracy",
        "",
    ]
    for heading, text in measured.items():
        parts += [f"### {heading}", "", "```text", text.rstrip(), "```", ""]
    if notes:
        parts += ["## Limitations", "", notes.rstrip(), ""]
    return "\n".join(parts)


def write_card(
    folder: Path,
    model_id: str,
    measured: Mapping[str, str],
    notes: str = "",
    reproduce: str = "",
) -> Path:
    """Rewrite ``folder/<card>`` of the index entry ``model_id`` from its model file and
    ``measured`` outputs, and record the file's current SHA-256 in ``folder/index.json``."""
    from geomon.classify.model_io import file_sha256, load_model

    index_path = folder / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    entry = next(e for e in index["models"] if e["model_id"] == model_id)
    path = folder / entry["file"]
    sha = file_sha256(path)
    model = load_model(path, sha256=sha)
    entry["sha256"] = sha
    entry["bands"] = list(model.features.bands)
    index_path.write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    card = folder / entry.get("card", f"{model_id}.md")
    before = index["models"][: index["models"].index(entry)]
    chosen = not any(set(e["bands"]) <= set(entry["bands"]) for e in before)
    text = model_card(
        model, entry["file"], sha, path.stat().st_size, measured, notes, reproduce, chosen
    )
    card.write_text(text, encoding="utf-8")
    return card


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (see the module docstring)."""
    from geomon.classify.bundled import models_dir

    parser = argparse.ArgumentParser(prog="python -m geomon.classify.card")
    parser.add_argument("model_id")
    parser.add_argument("--measured", action="append", default=[], help="HEADING=FILE")
    parser.add_argument("--notes", type=Path, default=None, help="Markdown file: limitations")
    parser.add_argument("--reproduce", default="", help="Command that retrains the model")
    parser.add_argument("--models", type=Path, default=None, help="Models folder")
    args = parser.parse_args(argv)
    measured = {}
    for item in args.measured:
        heading, _, file = item.rpartition("=")
        measured[heading] = Path(file).read_text(encoding="utf-8")
    notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
    card = write_card(args.models or models_dir(), args.model_id, measured, notes, args.reproduce)
    print(f"wrote {card}")


if __name__ == "__main__":
    main()
