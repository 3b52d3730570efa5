"""Site and company reports: HTML, PDF, a JSON of every figure, and the footprints as GeoJSON/GeoParquet.

Build a report from a mine's stage results, then write it::

    report = build_site_report(SiteResults(mine, footprint, impacts, ownership, start, end, ...))
    paths = write_report(report, "out/")
"""

from geomon.report.inputs import ReportOptions, SiteResults
from geomon.report.write import (
    FORMATS,
    Report,
    build_company_report,
    build_site_report,
    write_report,
)

__all__ = [
    "FORMATS",
    "Report",
    "ReportOptions",
    "SiteResults",
    "build_company_report",
    "build_site_report",
    "write_report",
]
