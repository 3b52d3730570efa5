"""Plain-text summaries of what a load will read (``geomon imagery show``)."""

from __future__ import annotations

from geomon.imagery._facade import Plan

__all__ = ["format_plan"]


def _cloud(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:5.1f}%"


def format_plan(p: Plan) -> str:
    """Source, area, grid, then one line per scene: date, id, platform, cloud cover, bands."""
    box = p.geobox
    lines = [
        f"source: {p.source}   sensor: {p.sensor}   mask: {p.mask}",
        f"area: {p.query.aoi.name}   {p.query.start}..{p.query.end}   max cloud {p.query.max_cloud:g}%",
        f"grid: {box.crs} {box.resolution.x:g} m, {box.shape.x} x {box.shape.y} px",
        f"bands: {', '.join(p.bands)}",
        f"{'date':<10}  {'cloud':>6}  {'platform':<12} {'scaling':<26} item / bands",
    ]
    for s in p.scenes:
        scaling = f"{s.scale:g}x{s.offset:+g} ({s.scaling_source})"
        lines.append(
            f"{s.datetime:%Y-%m-%d}  {_cloud(s.cloud_cover)}  {s.platform:<12} {scaling:<26} "
            f"{s.id} / {','.join(s.bands)}{'+' + s.mask_layer if s.mask_layer else ''}"
        )
    dates = sorted({s.datetime.date() for s in p.scenes})
    lines.append(f"{len(p.scenes)} scenes on {len(dates)} dates")
    return "\n".join(lines)
