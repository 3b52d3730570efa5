"""Maps and charts of a report, drawn with matplotlib (Agg, no pyplot state) into PNG bytes."""

from __future__ import annotations

import io
import math
from typing import Any

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import numpy as np
import shapely
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

__all__ = ["co2e_chart", "company_chart", "disturbed_chart", "msa_chart", "site_map", "true_colour"]

COLORS = {
    "persisting": "#f28e2b",
    "new": "#e15759",
    "rehabilitated": "#59a14f",
    "protected": "#4e79a7",
    "licence": "#ffffff",
    "aoi": "#edc948",
    "gap": "#bab0ac",
}
_MAX_PX = 700


def _png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def true_colour(
    composites: xr.Dataset, index: int
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """RGB (H, W, 3, 0..1, 2-98 % stretch) of time step ``index`` and its extent (x0, x1, y0, y1)."""
    ds = composites.isel(time=index)
    step = max(1, math.ceil(max(ds.sizes["x"], ds.sizes["y"]) / _MAX_PX))
    ds = ds.isel(x=slice(None, None, step), y=slice(None, None, step))
    rgb = np.stack(
        [np.asarray(ds[b].values, dtype="float64") for b in ("red", "green", "blue")], axis=-1
    )
    finite = rgb[np.isfinite(rgb).all(axis=-1)]
    lo, hi = np.percentile(finite, [2, 98], axis=0) if finite.size else (np.zeros(3), np.ones(3))
    rgb = np.clip((rgb - lo) / np.maximum(hi - lo, 1e-6), 0, 1) ** 0.8
    rgb[~np.isfinite(rgb)] = 1.0
    x, y = ds["x"].values, ds["y"].values
    dx = float(abs(x[1] - x[0])) if len(x) > 1 else 10.0
    dy = float(abs(y[1] - y[0])) if len(y) > 1 else 10.0
    extent = (
        float(x.min()) - dx / 2,
        float(x.max()) + dx / 2,
        float(y.min()) - dy / 2,
        float(y.max()) + dy / 2,
    )
    if y[0] < y[-1]:
        rgb = rgb[::-1]
    return rgb, extent


def _nice_length(width_m: float) -> float:
    target = width_m / 4
    exp = 10 ** math.floor(math.log10(target))
    return max(m * exp for m in (1, 2, 5) if m * exp <= target)


def _scale_bar(ax: Any, extent: tuple[float, float, float, float]) -> None:
    x0, x1, y0, y1 = extent
    length = _nice_length(x1 - x0)
    bx, by, h = x0 + 0.04 * (x1 - x0), y0 + 0.05 * (y1 - y0), 0.015 * (y1 - y0)
    ax.add_patch(
        Rectangle(
            (bx - 0.02 * (x1 - x0), by - h),
            length + 0.12 * (x1 - x0),
            5 * h,
            fc="white",
            ec="none",
            alpha=0.8,
            zorder=5,
        )
    )
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * length / 4, by),
                length / 4,
                h,
                fc="black" if i % 2 == 0 else "white",
                ec="black",
                lw=0.6,
                zorder=6,
            )
        )
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx, by + 1.6 * h, "0", fontsize=7, ha="center", va="bottom", zorder=6)
    label_x = bx + length + 0.01 * (x1 - x0)
    ax.text(label_x, by, label, fontsize=7, ha="left", va="bottom", zorder=6)


def _north_arrow(ax: Any) -> None:
    ax.annotate(
        "N",
        xy=(0.93, 0.95),
        xytext=(0.93, 0.80),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        arrowprops={
            "facecolor": "black",
            "edgecolor": "white",
            "width": 3,
            "headwidth": 9,
            "headlength": 8,
        },
        bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "black", "lw": 0.6},
        zorder=7,
    )


def _visible(
    layer: gpd.GeoDataFrame | gpd.GeoSeries | None, box: shapely.Polygon, outline: bool
) -> bool:
    if layer is None or layer.empty:
        return False
    geoms = layer.geometry if isinstance(layer, gpd.GeoDataFrame) else layer
    geoms = geoms[geoms.notna() & ~geoms.is_empty]
    if outline:
        geoms = geoms.boundary
    return bool(geoms.intersects(box).any())


def _draw(ax: Any, layer: gpd.GeoDataFrame | gpd.GeoSeries | None, **style: Any) -> None:
    if layer is not None and not layer.empty:
        layer.plot(ax=ax, **style)


def site_map(
    title: str,
    extent: tuple[float, float, float, float],
    rgb: np.ndarray | None,
    rgb_extent: tuple[float, float, float, float] | None,
    layers: dict[str, gpd.GeoDataFrame | gpd.GeoSeries | None],
    dpi: int,
) -> bytes:
    """A true-colour map with footprint, new disturbance, rehabilitation, protected areas,
    licence and AOI outlines, a scale bar and a north arrow. All layers in the map's CRS."""
    fig = Figure(figsize=(4.6, 4.6))
    ax = fig.add_axes((0.02, 0.1, 0.96, 0.82))
    if rgb is not None and rgb_extent is not None:
        ax.imshow(rgb, extent=rgb_extent, interpolation="nearest", zorder=0)
    else:
        ax.set_facecolor("#eeeeee")
        ax.text(
            0.02,
            0.97,
            "no imagery composite supplied",
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=7,
            color="#666666",
        )
    _draw(
        ax,
        layers.get("protected"),
        facecolor="none",
        edgecolor=COLORS["protected"],
        hatch="//",
        lw=1.2,
        zorder=2,
    )
    _draw(
        ax,
        layers.get("persisting"),
        facecolor=COLORS["persisting"],
        edgecolor=COLORS["persisting"],
        alpha=0.45,
        lw=0.6,
        zorder=3,
    )
    _draw(
        ax,
        layers.get("new"),
        facecolor=COLORS["new"],
        edgecolor="#8b0000",
        alpha=0.7,
        lw=0.6,
        zorder=4,
    )
    _draw(
        ax,
        layers.get("rehabilitated"),
        facecolor=COLORS["rehabilitated"],
        edgecolor="#1b5e20",
        alpha=0.7,
        lw=0.6,
        zorder=4,
    )
    _draw(ax, layers.get("licence"), facecolor="none", edgecolor="black", lw=1.6, zorder=4)
    _draw(
        ax,
        layers.get("licence"),
        facecolor="none",
        edgecolor=COLORS["licence"],
        lw=0.9,
        linestyle="--",
        zorder=4,
    )
    _draw(ax, layers.get("aoi"), facecolor="none", edgecolor=COLORS["aoi"], lw=1.0, zorder=4)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(title, fontsize=9)
    _scale_bar(ax, extent)
    _north_arrow(ax)
    box = shapely.box(extent[0], extent[2], extent[1], extent[3])
    entries = (
        ("persisting", False, Patch(fc=COLORS["persisting"], alpha=0.6, label="disturbed")),
        ("new", False, Patch(fc=COLORS["new"], alpha=0.8, label="new in window")),
        (
            "rehabilitated",
            False,
            Patch(fc=COLORS["rehabilitated"], alpha=0.8, label="rehabilitated"),
        ),
        (
            "protected",
            False,
            Patch(fc="none", ec=COLORS["protected"], hatch="//", label="protected area"),
        ),
        ("licence", True, Line2D([], [], color="black", lw=1.2, linestyle="--", label="licence")),
        ("aoi", True, Line2D([], [], color=COLORS["aoi"], lw=1.2, label="AOI")),
    )
    # only what can be seen: a layer in view (an outline only where its line crosses the map)
    handles = [h for key, outline, h in entries if _visible(layers.get(key), box, outline)]
    if not handles:
        handles = [Patch(fc="none", ec="none", label="no overlay in view")]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=3,
        fontsize=7,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    return _png(fig, dpi)


def _bar_axes(title: str, ylabel: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(6.4, 2.4))
    ax = fig.add_axes((0.11, 0.2, 0.86, 0.68))
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _label_periods(ax: Any, periods: list[dict[str, Any]]) -> np.ndarray:
    x = np.arange(len(periods))
    ax.set_xticks(x)
    ax.set_xticklabels([p["period"] for p in periods], rotation=0 if len(periods) <= 12 else 90)
    return x


def _mark_gaps(ax: Any, x: np.ndarray, periods: list[dict[str, Any]]) -> bool:
    gaps = [i for i, p in enumerate(periods) if p["data_gap"]]
    for i in gaps:
        ax.axvspan(x[i] - 0.45, x[i] + 0.45, color=COLORS["gap"], alpha=0.25, lw=0, zorder=0)
    return bool(gaps)


def disturbed_chart(periods: list[dict[str, Any]], dpi: int) -> bytes:
    """Disturbed ha per period (persisting + new, stacked) and rehabilitated ha."""
    fig, ax = _bar_axes("Disturbed land per period", "ha")
    x = _label_periods(ax, periods)
    pers = np.array([p["persisting_ha"] for p in periods])
    new = np.array([p["new_ha"] for p in periods])
    ax.bar(x, pers, color=COLORS["persisting"], label="disturbed earlier (persisting)")
    ax.bar(x, new, bottom=pers, color=COLORS["new"], label="newly disturbed")
    ax.plot(
        x,
        [p["rehabilitated_ha"] for p in periods],
        "o-",
        color=COLORS["rehabilitated"],
        ms=3,
        lw=1,
        label="rehabilitated",
    )
    handles, _ = ax.get_legend_handles_labels()
    if _mark_gaps(ax, x, periods):
        handles.append(
            Patch(fc=COLORS["gap"], alpha=0.4, label="data gap (low clear-sky coverage)")
        )
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left")
    return _png(fig, dpi)


def _finite(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def co2e_chart(periods: list[dict[str, Any]], dpi: int) -> bytes:
    """Land-use-change CO2e per period with its 90 % range; 'n.e.' where not estimated."""
    fig, ax = _bar_axes("Land-use-change emissions (CO2e) with 90 % range", "t CO2e")
    x = _label_periods(ax, periods)
    mean = np.array(
        [p["co2e_t_mean"] if _finite(p["co2e_t_mean"]) else np.nan for p in periods], dtype=float
    )
    low = np.array(
        [p["co2e_t_low"] if _finite(p["co2e_t_low"]) else np.nan for p in periods], dtype=float
    )
    high = np.array(
        [p["co2e_t_high"] if _finite(p["co2e_t_high"]) else np.nan for p in periods], dtype=float
    )
    ok = np.isfinite(mean)
    ax.bar(x[ok], mean[ok], color="#76b7b2", label="mean")
    err_ok = ok & np.isfinite(low) & np.isfinite(high)
    ax.errorbar(
        x[err_ok],
        mean[err_ok],
        yerr=[mean[err_ok] - low[err_ok], high[err_ok] - mean[err_ok]],
        fmt="none",
        ecolor="black",
        capsize=3,
        lw=0.8,
        label="90 % range",
    )
    top = float(np.nanmax(high)) if np.isfinite(high).any() else 1.0
    for i in np.where(~ok)[0]:
        ax.text(
            x[i],
            top * 0.03,
            "not\nestimated",
            ha="center",
            va="bottom",
            fontsize=6,
            color="#555555",
        )
    ax.set_ylim(0, max(top, 1.0) * 1.1)
    _mark_gaps(ax, x, periods)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _png(fig, dpi)


def msa_chart(periods: list[dict[str, Any]], dpi: int) -> bytes:
    """MSA-ha lost per period (footprint part, and halo part when the impacts give it)."""
    fig, ax = _bar_axes("Biodiversity: MSA·ha lost (GLOBIO)", "MSA·ha")
    x = _label_periods(ax, periods)
    total = np.array(
        [p["msa_ha_lost"] if _finite(p["msa_ha_lost"]) else np.nan for p in periods], dtype=float
    )
    halo = np.array([p["impacts"].get("msa_ha_lost_halo", np.nan) for p in periods], dtype=float)
    ok = np.isfinite(total)
    foot_given = np.array(
        [p["impacts"].get("msa_ha_lost_footprint", np.nan) for p in periods], dtype=float
    )
    if np.isfinite(halo).any():
        foot = np.where(np.isfinite(foot_given), foot_given, total - np.nan_to_num(halo))
        ax.bar(x[ok], foot[ok], color="#b07aa1", label="footprint")
        ax.bar(
            x[ok],
            np.nan_to_num(halo)[ok],
            bottom=foot[ok],
            color="#d4a6c8",
            label="infrastructure halo",
        )
    else:
        ax.bar(x[ok], total[ok], color="#b07aa1", label="MSA·ha lost")
    for i in np.where(~ok)[0]:
        ax.text(x[i], 0, "not\nestimated", ha="center", va="bottom", fontsize=6, color="#555555")
    _mark_gaps(ax, x, periods)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _png(fig, dpi)


def company_chart(
    title: str, ylabel: str, labels: list[str], series: dict[str, list[float]], dpi: int
) -> bytes:
    """Stacked bars per period, one series per mine (NaN drawn as 0 and noted in the tables)."""
    fig, ax = _bar_axes(title, ylabel)
    x = np.arange(len(labels))
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    bottom = np.zeros(len(labels))
    cmap = matplotlib.colormaps["tab20"]
    for i, (name, values) in enumerate(sorted(series.items())):
        v = np.nan_to_num(np.asarray(values, dtype=float))
        ax.bar(x, v, bottom=bottom, color=cmap(i % 20), label=name)
        bottom += v
    for i in range(len(labels)):
        if all(math.isnan(float(v[i])) for v in series.values()) and series:
            ax.text(
                x[i], 0, "not\nestimated", ha="center", va="bottom", fontsize=6, color="#555555"
            )
    ax.set_ylim(0, max(float(bottom.max()), 1.0) * 1.3)
    ax.legend(fontsize=6, frameon=False, loc="upper left", ncol=4)
    return _png(fig, dpi)
