"""Fragmentation of the natural land in a window around the mine (FRAGSTATS class metrics).

Edge density = length (m) of the boundary between natural and non-natural land inside the window
/ window area (ha). The window's own outline is not edge (FRAGSTATS' default: the landscape
border is not counted), because land continues beyond it. Core area = natural land farther than
the edge depth from any non-natural land; the window outline does not erode the core either.
All planar, in the CRS given (the impact stage passes the footprint's UTM CRS and scales the
results to true size with the projection's scale factor).
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

from geomon.impacts._geo import grow

__all__ = ["Fragmentation", "fragmentation"]

_TOLERANCE_M = 0.001


@dataclass(frozen=True)
class Fragmentation:
    """Class-level metrics of natural land."""

    edge_m: float
    """Edge length (m)."""
    edge_density_m_per_ha: float
    """Edge length per hectare of window."""
    core_area_ha: float
    """Natural land farther than the edge depth from non-natural land (ha)."""
    natural_ha: float
    """Natural land in the window (ha)."""
    window_ha: float
    """Window area (ha)."""


def fragmentation(window: BaseGeometry, non_natural: BaseGeometry, depth_m: float) -> Fragmentation:
    """Metrics of ``window`` minus ``non_natural`` (planar metres)."""
    window_ha = window.area / 1e4
    inside = non_natural.intersection(window)
    natural = window.difference(inside)
    outline = window.boundary.buffer(_TOLERANCE_M)
    edge = natural.boundary.difference(outline).length
    core = natural.difference(grow(inside, depth_m)) if not inside.is_empty else natural
    return Fragmentation(
        edge_m=float(edge),
        edge_density_m_per_ha=float(edge / window_ha) if window_ha else float("nan"),
        core_area_ha=float(core.area / 1e4),
        natural_ha=float(natural.area / 1e4),
        window_ha=float(window_ha),
    )
