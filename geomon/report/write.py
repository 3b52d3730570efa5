"""Build reports from results and write them: JSON, HTML, PDF, footprint GeoJSON and GeoParquet."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geomon.errors import ConfigError
from geomon.esg.flags import with_polygon_ids
from geomon.report._json import dumps
from geomon.report.content import site_content
from geomon.report.document import Document
from geomon.report.inputs import ReportOptions, SiteResults
from geomon.report.site import site_document, site_figures

__all__ = [
    "FORMATS",
    "Report",
    "build_company_report",
    "build_site_report",
    "report_versions",
    "write_report",
]

FORMATS = ("json", "html", "pdf", "geojson", "geoparquet")
_RENDER_LIBS = ("matplotlib", "reportlab", "jinja2")


@dataclass(frozen=True, eq=False)
class Report:
    """A built report: its figures (``content``, the JSON), the document and the footprint."""

    kind: str
    """``site`` or ``company``."""
    stem: str
    """File name stem, e.g. ``site_weda_bay``."""
    content: dict[str, Any]
    document: Document
    footprint: gpd.GeoDataFrame
    """Footprint polygons with ``polygon_id`` (all mines of a company report)."""


def report_versions() -> dict[str, str]:
    """geomon and library versions recorded in every report's provenance."""
    from geomon.versions import versions

    out = dict(versions())
    for lib in _RENDER_LIBS:
        try:
            out[lib] = md.version(lib)
        except md.PackageNotFoundError:  # pragma: no cover - hard dependencies
            out[lib] = "not installed"
    return out


def build_site_report(results: SiteResults, options: ReportOptions | None = None) -> Report:
    """The site report of one mine's results (nothing is written)."""
    opts = options or ReportOptions()
    content = site_content(results, opts, report_versions())
    figs = site_figures(results, content, opts)
    doc = site_document(content, figs)
    fp = with_polygon_ids(results.footprint)
    return Report("site", f"site_{results.mine['mine_id']}", content, doc, fp)


def build_company_report(
    company: str, sites: list[Report], ownership: pd.DataFrame, options: ReportOptions | None = None
) -> Report:
    """The company report of ``company`` from the site reports of its mines (nothing is written)."""
    from geomon.registry.schema import slugify
    from geomon.report.company import (
        company_content,
        company_document,
        company_figures,
        company_footprint,
    )

    opts = options or ReportOptions()
    content = company_content(
        company, [s.content for s in sites], ownership, opts, report_versions()
    )
    doc = company_document(content, company_figures(content, opts.dpi))
    ids = {m["mine_id"] for m in content["mines"]}
    fp = company_footprint([s.footprint for s in sites if s.content["mine"]["mine_id"] in ids])
    return Report("company", f"company_{slugify(content['company'])}", content, doc, fp)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _footprint_for_files(fp: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = fp.copy()
    for col in ("period_start", "period_end"):
        if col in out.columns:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
    return out


def _write_footprint(fp: gpd.GeoDataFrame, stem: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    out: dict[str, Path] = {}
    data = _footprint_for_files(fp)
    if "geojson" in formats:
        path = stem.with_name(stem.name + "_footprint.geojson")
        geo = data.to_crs(4326) if data.crs is not None and not data.empty else data
        _atomic_write(path, geo.to_json(drop_id=True, to_wgs84=False).encode("utf-8"))
        out["footprint_geojson"] = path
    if "geoparquet" in formats:
        path = stem.with_name(stem.name + "_footprint.parquet")
        tmp = path.with_name(f".{path.name}.tmp")
        data.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        out["footprint_geoparquet"] = path
    return out


def write_report(
    report: Report, out_dir: str | Path, formats: tuple[str, ...] = FORMATS
) -> dict[str, Path]:
    """Write ``report`` into ``out_dir``; returns the paths by kind.

    The JSON is deterministic: the same results give the same bytes except ``generated_at``.
    """
    bad = sorted(set(formats) - set(FORMATS))
    if bad:
        raise ConfigError(
            f"unknown report format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}"
        )
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / report.stem
    paths = _write_footprint(report.footprint, stem, formats)
    if "html" in formats:
        from geomon.report.render_html import render_html

        paths["html"] = stem.with_suffix(".html")
        _atomic_write(paths["html"], render_html(report.document).encode("utf-8"))
    if "pdf" in formats:
        from geomon.report.render_pdf import render_pdf

        paths["pdf"] = stem.with_suffix(".pdf")
        _atomic_write(paths["pdf"], render_pdf(report.document))
    if "json" in formats:
        paths["json"] = stem.with_suffix(".json")
        files = {k: p.name for k, p in sorted(paths.items()) if k != "json"}
        body = {
            **report.content,
            "files": files,
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        _atomic_write(paths["json"], (dumps(body) + "\n").encode("utf-8"))
    return paths
