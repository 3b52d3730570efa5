"""Render a :class:`Document` to one self-contained HTML file (figures embedded as PNG data URIs)."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import jinja2

from geomon._version import __version__
from geomon.report.document import Bullets, Document, Figure, Heading, KeyValues, Para, Table

__all__ = ["render_html"]

_KINDS = {
    Heading: "heading",
    Para: "para",
    Bullets: "bullets",
    KeyValues: "kv",
    Table: "table",
    Figure: "figure",
}


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("geomon.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _block(block: Any) -> dict[str, Any]:
    out = {f.name: getattr(block, f.name) for f in dataclasses.fields(block) if f.name != "png"}
    out["kind"] = _KINDS[type(block)]
    if isinstance(block, Figure):
        out["data"] = base64.b64encode(block.png).decode("ascii")
    return out


def render_html(doc: Document) -> str:
    """The HTML text of ``doc``."""
    view = {
        "title": doc.title,
        "subtitle": doc.subtitle,
        "footer": doc.footer,
        "blocks": [_block(b) for b in doc.blocks],
    }
    return _env().get_template("report.html.j2").render(doc=view, version=__version__)
