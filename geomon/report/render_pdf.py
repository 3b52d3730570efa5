"""Render a :class:`Document` to PDF with reportlab.

reportlab is a pure PyPI wheel: no system pango/cairo as weasyprint needs, so the PDF works on a
fresh machine after ``pip install -e .``. Text is set in DejaVu Sans, the TrueType font matplotlib
ships, so names in any Latin, Greek or Cyrillic script print (the PDF base fonts are Latin-1 only).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RLTable

from geomon.report.document import Bullets, Document, Figure, Heading, KeyValues, Para, Table

__all__ = ["render_pdf"]

_FONT, _BOLD = "GeomonSans", "GeomonSans-Bold"
_MARGIN = 15 * mm
_BLUE = colors.HexColor("#4e79a7")


def _register_fonts() -> None:
    if _FONT in pdfmetrics.getRegisteredFontNames():
        return
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(_FONT, str(ttf / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(_BOLD, str(ttf / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_BOLD, italic=_FONT, boldItalic=_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "body", fontName=_FONT, fontSize=9, leading=12, spaceAfter=4, splitLongWords=1
    )
    return {
        "body": base,
        "lead": ParagraphStyle("lead", parent=base, fontSize=10.5, leading=14),
        "note": ParagraphStyle(
            "note", parent=base, fontSize=7.5, leading=10, textColor=colors.HexColor("#555555")
        ),
        "warning": ParagraphStyle(
            "warning",
            parent=base,
            borderColor=colors.HexColor("#e15759"),
            borderWidth=0.8,
            borderPadding=5,
            backColor=colors.HexColor("#fdf0f0"),
            spaceBefore=6,
            spaceAfter=10,
        ),
        "title": ParagraphStyle(
            "title", parent=base, fontName=_BOLD, fontSize=17, leading=21, spaceAfter=2
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=10, textColor=colors.HexColor("#555555"), spaceAfter=8
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=_BOLD,
            fontSize=12.5,
            leading=16,
            spaceBefore=10,
            spaceAfter=5,
            textColor=_BLUE,
        ),
        "h3": ParagraphStyle(
            "h3", parent=base, fontName=_BOLD, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3
        ),
        "bullet": ParagraphStyle(
            "bullet", parent=base, leftIndent=11, bulletIndent=2, spaceAfter=2
        ),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.2, spaceAfter=0),
        "cellnum": ParagraphStyle(
            "cellnum", parent=base, fontSize=7.5, leading=9.2, spaceAfter=0, alignment=TA_RIGHT
        ),
        "head": ParagraphStyle(
            "head", parent=base, fontName=_BOLD, fontSize=7.5, leading=9.2, spaceAfter=0
        ),
        "kvkey": ParagraphStyle(
            "kvkey", parent=base, fontName=_BOLD, fontSize=8.5, leading=11, spaceAfter=0
        ),
        "kvval": ParagraphStyle("kvval", parent=base, fontSize=8.5, leading=11, spaceAfter=0),
        "caption": ParagraphStyle(
            "caption",
            parent=base,
            fontSize=7.5,
            leading=9.5,
            textColor=colors.HexColor("#555555"),
            spaceAfter=8,
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)), style)


class _Doc(BaseDocTemplate):
    """Page frame, running footer with page numbers, and a PDF outline of the level-2 headings."""

    def __init__(self, buf: io.BytesIO, doc: Document) -> None:
        super().__init__(
            buf,
            pagesize=A4,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN,
            bottomMargin=_MARGIN + 4 * mm,
            title=doc.title,
            author="geomon",
            subject=doc.subtitle,
            creator="geomon",
            invariant=1,
        )
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
        self.addPageTemplates([PageTemplate("page", [frame], onPage=self._footer)])
        self._footer_text = doc.footer

    def _footer(self, canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 7)
        canvas.setFillColor(colors.HexColor("#777777"))
        canvas.drawString(_MARGIN, 9 * mm, self._footer_text)
        canvas.drawRightString(A4[0] - _MARGIN, 9 * mm, f"page {doc.page}")
        canvas.restoreState()

    def afterFlowable(self, flowable: Flowable) -> None:
        key = getattr(flowable, "_outline", None)
        if key:
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(flowable.getPlainText(), key, level=0)


def _table(t: Table, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rel = t.widths or tuple(1.0 for _ in t.columns)
    widths = [width * w / sum(rel) for w in rel]
    head = [_p(c, st["head"]) for c in t.columns]
    body = [
        [_p(cell, st["cellnum"] if i in t.numeric else st["cell"]) for i, cell in enumerate(row)]
        for row in t.rows
    ]
    table = RLTable([head, *body], colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    out: list[Flowable] = [table]
    out.append(_p(t.caption, st["caption"]) if t.caption else Spacer(1, 6))
    return out


def _kv(kv: KeyValues, st: dict[str, ParagraphStyle], width: float) -> Flowable:
    rows = [[_p(k, st["kvkey"]), _p(v, st["kvval"])] for k, v in kv.items]
    table = RLTable(rows, colWidths=[0.27 * width, 0.73 * width])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.HexColor("#dddddd")),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _image(fig: Figure, width: float) -> Image:
    img = Image(io.BytesIO(fig.png))
    scale = fig.width * width / img.imageWidth
    img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
    return img


def _figures(
    first: Figure, second: Figure | None, st: dict[str, ParagraphStyle], width: float
) -> Flowable:
    if second is None:
        parts: list[Flowable] = [_image(first, width)]
        if first.caption:
            parts.append(_p(first.caption, st["caption"]))
        return KeepTogether(parts)
    row = RLTable([[_image(first, width), _image(second, width)]], colWidths=[width / 2, width / 2])
    row.setStyle(
        TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
    )
    caption = " ".join(c for c in (first.caption, second.caption) if c)
    return KeepTogether([row, _p(caption, st["caption"])] if caption else [row])


def _heading(h: Heading, st: dict[str, ParagraphStyle], n: int) -> list[Flowable]:
    para = _p(h.text, st["h2" if h.level <= 2 else "h3"])
    if h.level <= 2:
        para._outline = f"s{n}"
    return [CondPageBreak(45 * mm if h.level <= 2 else 25 * mm), para]


class _KeepWithNext(Spacer):
    """Marker: the heading before it stays on the page of the flowable after it."""

    def __init__(self) -> None:
        super().__init__(0, 0)


def _glue_headings(items: list[Flowable]) -> list[Flowable]:
    out: list[Flowable] = []
    i = 0
    while i < len(items):
        if isinstance(items[i], _KeepWithNext) and out and i + 1 < len(items):
            nxt = items[i + 1]
            out[-1] = (
                KeepTogether([out[-1], nxt])
                if not isinstance(nxt, KeepTogether)
                else KeepTogether([out[-1], *nxt._content])
            )
            i += 2
            continue
        if not isinstance(items[i], _KeepWithNext):
            out.append(items[i])
        i += 1
    return out


def _flowables(doc: Document, st: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    out: list[Flowable] = [_p(doc.title, st["title"]), _p(doc.subtitle, st["subtitle"])]
    blocks = list(doc.blocks)
    i = 0
    while i < len(blocks):
        b = blocks[i]
        if isinstance(b, Heading):
            out += _heading(b, st, i)
            out.append(_KeepWithNext())
        elif isinstance(b, Para):
            out.append(_p(b.text, st.get(b.style, st["body"])))
        elif isinstance(b, Bullets):
            out += [Paragraph(escape(item), st["bullet"], bulletText="•") for item in b.items]
        elif isinstance(b, KeyValues):
            out.append(_kv(b, st, width))
        elif isinstance(b, Table):
            out += _table(b, st, width)
        elif isinstance(b, Figure):
            nxt = blocks[i + 1] if b.pair and i + 1 < len(blocks) else None
            second = nxt if isinstance(nxt, Figure) else None
            out.append(_figures(b, second, st, width))
            i += 1 if second is not None else 0
        i += 1
    return _glue_headings(out)


def render_pdf(doc: Document) -> bytes:
    """The PDF bytes of ``doc``."""
    _register_fonts()
    buf = io.BytesIO()
    template = _Doc(buf, doc)
    template.build(_flowables(doc, _styles(), template.width))
    return buf.getvalue()
