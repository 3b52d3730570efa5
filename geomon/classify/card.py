"""Model cards: what a shipped model is, what it learnt from, and how well it measured."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from geomon.classify.model import PixelModel

__all__ = ["model_card"]


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def model_card(
    model: PixelModel,
    file_name: str,
    sha256: str,
    size: int,
    measured: Mapping[str, str],
    notes: str = "",
    reproduce: str = "",
) -> str:
    """Markdown card of ``model``; ``measured`` maps a heading (with the command that printed it)
    to verbatim output."""
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
        "- format: geomon-pixel-model/1 (zip of a JSON header and float32 .npy arrays; loads without "
        "running code, see `geomon/classify/model_io.py`)",
        f"- bands: {', '.join(model.features.bands)}",
        f"- indices: {', '.join(model.features.indices)} (formulas in `geomon/classify/features.py`)",
        "- chosen automatically by `geomon.classify.select_model` when a source has these bands",
        *([f"- reproduce: `{reproduce}`"] if reproduce else []),
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
        "drawn uniformly within each label",
        f"- samples: {data.get('samples', '?')}",
        f"- augmentation: `{json.dumps(data.get('augment', {}))}` (brightness, spectral tilt, "
        "additive L1C-like haze on a share of samples)",
        "",
        "## Hyper-parameters",
        "",
        f"```json\n{json.dumps(hyper, indent=1, sort_keys=True)}\n```",
        f"Trained for {info.get('epochs', '?')} epochs (early stopping).",
        "",
        "## Measured accuracy",
        "",
    ]
    for heading, text in measured.items():
        parts += [f"### {heading}", "", "```text", text.rstrip(), "```", ""]
    if notes:
        parts += ["## Limitations", "", notes.rstrip(), ""]
    return "\n".join(parts)
