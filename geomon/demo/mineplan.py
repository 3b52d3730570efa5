"""Mine plans: where and when each mine feature appears, and the land cover at a date.

A plan is a set of per-pixel *times* (years after 1 January of the start year; ``inf`` = never):
when a pixel becomes pit, waste dump, tailings, evaporation pond or road, when a pit is backfilled
and when rehabilitation starts. The land cover at any date follows by comparison, so the mine
grows smoothly and deterministically. Plans are laid out in *stages* (0-1 over the life shown:
the first three years before the series and one after) and converted to years.

Styles:

- ``open_pit`` (copper-cobalt): one or two pits that widen and deepen (benched walls), waste
  dumps that grow outwards (the oldest lobe is rehabilitated and regreens), a tailings facility
  with a pond whose size follows the rains, a plant and haul roads.
- ``laterite`` (nickel laterite): shallow cells strip-mined in sequence, each backfilled then
  rehabilitated, connected by a road network, with clearing well ahead of mining.
- ``brine`` (lithium brine): a growing grid of evaporation ponds on the salt crust, colour
  stepping from turquoise to yellow as the brine concentrates, earth berms, salt stockpiles.
- ``underground``: plant, a small dump and a tailings facility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geomon.demo.fields import Array, fractal_noise, segment_distance
from geomon.demo.sites import Site
from geomon.demo.spectra import Cover

__all__ = ["REHAB_VEGETATED_PROGRESS", "MinePlan", "MineState", "make_plan"]

_INF = np.float32(np.inf)
_PRE_YEARS = 3.0  # years of mine history before the series
_POST_YEARS = 1.0
_REHAB_YEARS = 3.5  # years for seeded ground to regain the local green cover
#: Progress from which rehabilitated ground counts as vegetated in the truth.
REHAB_VEGETATED_PROGRESS = 0.45
_CLEARABLE = (Cover.FOREST, Cover.SHRUBLAND, Cover.GRASSLAND, Cover.CROPLAND, Cover.BARE_SOIL)


@dataclass(frozen=True)
class MineState:
    """The mine at one date."""

    cover: NDArray[np.uint8]
    """Land cover (natural cover with the mine painted over it)."""
    relief_m: Array
    """Elevation added by the mine: negative in pits, positive on dumps."""
    rehab_progress: Array
    """Rehabilitation progress of rehabilitated pixels, 0 (just seeded) to 1 (green cover as
    dense as the local natural vegetation); 0 elsewhere."""
    pond_stage: Array
    """Brine concentration stage of evaporation ponds, 0 (turquoise) to 1 (yellow)."""


@dataclass(frozen=True, eq=False)
class MinePlan:
    """Per-pixel times (years after 1 January of the start year) of each mine feature."""

    style: str
    pit_t: Array
    pit_end: Array
    pit_depth_m: float
    pit_tau: float
    dump_t: Array
    dump_height_m: Array
    rehab_t: Array
    tail_t: Array
    tail_d: Array
    pond_t: Array
    pond_stage: Array
    road_t: Array
    plant: NDArray[np.bool_]
    clear_lead: float
    first_t: Array

    def state(self, natural: NDArray[np.uint8], t: float, wetness: float) -> MineState:
        """Land cover and mine relief at ``t`` years; ``wetness`` (0-1) swells the tailings pond."""
        cover = natural.copy()
        lead = np.float32(self.clear_lead)
        cleared = (self.first_t - lead <= t) & (t < self.first_t) & np.isin(natural, _CLEARABLE)
        cover[cleared] = Cover.CLEARED
        dumped = (self.dump_t <= t) | (self.pit_end <= t)
        cover[dumped] = Cover.WASTE_DUMP
        tails = self.tail_t <= t
        cover[tails] = Cover.TAILINGS_BEACH
        cover[tails & (self.tail_d < 0.42 + 0.12 * wetness)] = Cover.TAILINGS_POND
        cover[self.pond_t <= t] = Cover.EVAPORATION_POND
        cover[self.road_t <= t] = Cover.HAUL_ROAD
        progress = np.zeros(cover.shape, dtype=np.float32)
        rehab = dumped & (self.rehab_t <= t)
        if rehab.any():
            age = np.clip((t - self.rehab_t[rehab]) / _REHAB_YEARS, 0.0, 1.0)
            progress[rehab] = 0.9 * age**1.2
            vegetated = progress[rehab] >= REHAB_VEGETATED_PROGRESS
            cover[rehab] = np.where(vegetated, Cover.REHAB_VEGETATED, Cover.REHAB_BARE)
        pit = (self.pit_t <= t) & (t < self.pit_end)
        cover[pit] = Cover.PIT
        cover[self.plant] = Cover.PLANT
        return MineState(cover, self._relief(t, pit, dumped), progress, self.pond_stage)

    def _relief(self, t: float, pit: NDArray[np.bool_], dumped: NDArray[np.bool_]) -> Array:
        relief = np.zeros(pit.shape, dtype=np.float32)
        if pit.any():
            depth = self.pit_depth_m * np.tanh((t - self.pit_t[pit]) / self.pit_tau)
            bench = 12.0 if self.pit_depth_m > 60 else 4.0
            relief[pit] = -np.ceil(depth / bench) * bench
        dump = dumped & np.isfinite(self.dump_t)
        if dump.any():
            relief[dump] = self.dump_height_m[dump] * np.tanh((t - self.dump_t[dump]) / 2.0 + 0.3)
        return relief


@dataclass(frozen=True)
class _Ctx:
    """Geometry shared by the plan builders."""

    site: Site
    rng: np.random.Generator
    rows: Array
    cols: Array
    span: float  # years per stage unit
    rough: Array  # unit-variance field roughening blob edges

    @property
    def n(self) -> int:
        return self.site.size

    @property
    def r(self) -> float:
        return self.site.radius_px

    def years(self, stage: NDArray[np.floating[Any]] | float) -> Array:
        return np.asarray(np.asarray(stage, dtype=np.float32) * self.span - _PRE_YEARS, np.float32)

    def polar(self, dist: float, angle: float) -> tuple[float, float]:
        return (self.n / 2 + dist * math.sin(angle), self.n / 2 + dist * math.cos(angle))

    def blob(self, centre: tuple[float, float], a: float, b: float, angle: float) -> Array:
        """Normalised distance (1 on the rim) of a rough ellipse."""
        dy, dx = self.rows - centre[0], self.cols - centre[1]
        u = dx * math.cos(angle) + dy * math.sin(angle)
        v = dy * math.cos(angle) - dx * math.sin(angle)
        d = np.sqrt((u / max(a, 1.0)) ** 2 + (v / max(b, 1.0)) ** 2)
        return (d / (1.0 + 0.12 * self.rough)).astype(np.float32)

    def grow(self, d: Array, start: float, full: float, initial: float = 0.0) -> Array:
        """Stage at which each pixel of a blob is reached when it grows from ``initial`` of its
        area at stage ``start`` to all of it at ``full``; ``inf`` outside."""
        frac = np.clip((d * d - initial) / max(1.0 - initial, 1e-6), 0.0, None)
        stage = np.where(d <= 1.0, start + (full - start) * frac, np.inf)
        if initial > 0:
            stage = np.where(d * d <= initial, start - 0.3, stage)
        return self.years(stage)

    def road(
        self, p0: tuple[float, float], p1: tuple[float, float], width: float = 1.3
    ) -> NDArray[np.bool_]:
        return np.asarray(segment_distance(self.rows, self.cols, p0, p1) <= width)


class _Layers:
    """Mutable per-feature time layers, combined with the earliest time winning."""

    def __init__(self, n: int) -> None:
        full = lambda: np.full((n, n), _INF, dtype=np.float32)  # noqa: E731
        self.pit_t, self.pit_end, self.dump_t, self.rehab_t = full(), full(), full(), full()
        self.tail_t, self.pond_t, self.road_t = full(), full(), full()
        self.dump_h = np.zeros((n, n), dtype=np.float32)
        self.tail_d = np.full((n, n), 9.0, dtype=np.float32)
        self.pond_stage = np.zeros((n, n), dtype=np.float32)
        self.plant = np.zeros((n, n), dtype=bool)

    def add(self, name: str, times: Array) -> None:
        setattr(self, name, np.minimum(getattr(self, name), times).astype(np.float32))

    def add_road(self, mask: NDArray[np.bool_], year: float) -> None:
        self.road_t[mask] = np.minimum(self.road_t[mask], np.float32(year))


def _plant(ctx: _Ctx, layers: _Layers, dist: float, angle: float) -> tuple[float, float]:
    centre = ctx.polar(dist, angle)
    a, b = max(0.22 * ctx.r, 4.0), max(0.14 * ctx.r, 3.0)
    dy, dx = ctx.rows - centre[0], ctx.cols - centre[1]
    u = dx * math.cos(angle) + dy * math.sin(angle)
    v = dy * math.cos(angle) - dx * math.sin(angle)
    layers.plant |= (np.abs(u) <= a) & (np.abs(v) <= b)
    return centre


def _access_road(ctx: _Ctx, layers: _Layers, start: tuple[float, float], angle: float) -> None:
    end = ctx.polar(ctx.n, angle)
    layers.add_road(ctx.road(start, end, 1.6), -99.0)


def _dump(
    ctx: _Ctx,
    layers: _Layers,
    centre: tuple[float, float],
    size: float,
    start: float,
    height: float,
    rehab: bool,
) -> None:
    angle = ctx.rng.uniform(0, math.pi)
    d = ctx.blob(centre, size, size * ctx.rng.uniform(0.6, 0.9), angle)
    times = ctx.grow(d, start, 1.0, initial=0.25 if start < 0 else 0.0)
    layers.add("dump_t", times)
    inside = d <= 1.0
    layers.dump_h[inside] = np.maximum(layers.dump_h[inside], height * np.sqrt(1 - d[inside] ** 2))
    if rehab:
        lag_years = 2.0 + 1.5 * ctx.rng.random()
        sel = inside & (ctx.rough > -0.4) & (d < 0.9)
        layers.rehab_t[sel] = np.minimum(layers.rehab_t[sel], times[sel] + lag_years)


def _tailings(ctx: _Ctx, layers: _Layers, centre: tuple[float, float], size: float) -> None:
    d = ctx.blob(centre, size, size * ctx.rng.uniform(0.7, 0.95), ctx.rng.uniform(0, math.pi))
    layers.add("tail_t", ctx.grow(d, -0.2, 1.0, initial=0.5))
    layers.tail_d = np.minimum(layers.tail_d, d)


def _open_pit(ctx: _Ctx, layers: _Layers) -> tuple[float, float]:
    rng, r = ctx.rng, ctx.r
    phi = rng.uniform(0, 2 * math.pi)
    jitter = lambda: rng.uniform(-0.3, 0.3)  # noqa: E731
    main = ctx.polar(0.08 * r, rng.uniform(0, 2 * math.pi))
    d = ctx.blob(main, 0.38 * r, 0.38 * r * rng.uniform(0.6, 0.85), rng.uniform(0, math.pi))
    layers.add("pit_t", ctx.grow(d, 0.0, 1.0, initial=0.35))
    if rng.random() < 0.7:
        start = rng.uniform(0.3, 0.55)
        second = ctx.polar(0.55 * r, phi + math.pi + jitter())
        d2 = ctx.blob(second, 0.2 * r, 0.15 * r, rng.uniform(0, math.pi))
        layers.add("pit_t", ctx.grow(d2, start, 1.0))
    plant = _plant(ctx, layers, 0.78 * r, phi + 4.7 + jitter())
    for i, start in enumerate((-0.6, rng.uniform(-0.3, 0.3))):
        centre = ctx.polar(0.74 * r, phi + i * 1.75 + jitter())
        _dump(ctx, layers, centre, 0.27 * r, start, 45.0, rehab=(i == 0))
        layers.add_road(ctx.road(plant, centre), float(ctx.years(max(start, 0.0))))
    _tailings(ctx, layers, ctx.polar(0.76 * r, phi + 3.4 + jitter()), 0.25 * r)
    layers.add_road(ctx.road(plant, main), -99.0)
    return plant


def _laterite_cells(ctx: _Ctx) -> list[tuple[float, float]]:
    rng, r, n = ctx.rng, ctx.r, ctx.n
    near = np.hypot(ctx.rows - n / 2, ctx.cols - n / 2) <= 0.82 * r
    pool = near & ctx.site.aoi if (near & ctx.site.aoi).sum() > 0.3 * near.sum() else near
    ys, xs = np.nonzero(pool)
    order = rng.permutation(len(ys))
    count = int(np.clip(round(4 + r / 25), 5, 11))
    cells: list[tuple[float, float]] = []
    for k in order:
        p = (float(ys[k]), float(xs[k]))
        if all(math.hypot(p[0] - q[0], p[1] - q[1]) > 0.3 * r for q in cells):
            cells.append(p)
        if len(cells) == count:
            break
    return sorted(cells, key=lambda p: math.atan2(p[0] - n / 2, p[1] - n / 2))


def _laterite(ctx: _Ctx, layers: _Layers) -> tuple[float, float]:
    rng, r = ctx.rng, ctx.r
    coast_angle = {"south": math.pi / 2, "north": -math.pi / 2, "east": 0.0, "west": math.pi}
    phi = coast_angle.get(ctx.site.coast, rng.uniform(0, 2 * math.pi))
    plant = _plant(ctx, layers, 0.85 * r, phi)
    cells = _laterite_cells(ctx)
    hubs = [plant]
    for k, centre in enumerate(cells):
        start = -0.45 + 1.3 * k / max(len(cells), 1) + rng.uniform(-0.05, 0.05)
        duration = rng.uniform(0.22, 0.38)
        a = rng.uniform(0.14, 0.22) * r
        d = ctx.blob(centre, a, a * rng.uniform(0.55, 0.9), rng.uniform(0, math.pi))
        open_t = ctx.grow(d, start, start + 0.6 * duration)
        layers.add("pit_t", open_t)
        end = float(ctx.years(start + duration))
        inside = np.isfinite(open_t)
        layers.pit_end[inside] = np.minimum(layers.pit_end[inside], end)
        layers.rehab_t[inside] = np.minimum(layers.rehab_t[inside], end + rng.uniform(0.3, 1.2))
        hub = min(hubs, key=lambda q: math.hypot(q[0] - centre[0], q[1] - centre[1]))
        layers.add_road(ctx.road(hub, centre), float(ctx.years(start)) - 0.3)
        hubs.append(centre)
    _dump(ctx, layers, ctx.polar(0.55 * r, phi + 1.2), 0.16 * r, -0.5, 20.0, rehab=True)
    _tailings(ctx, layers, ctx.polar(0.8 * r, phi - 1.0), 0.2 * r)
    return plant


def _brine(ctx: _Ctx, layers: _Layers) -> tuple[float, float]:
    rng, r, n = ctx.rng, ctx.r, ctx.n
    phi = rng.uniform(0, 2 * math.pi)
    plant = _plant(ctx, layers, 0.85 * r, phi)
    angle = rng.uniform(0, math.pi / 2)
    pw, ph, berm = max(6.0, 0.22 * r), max(4.0, 0.14 * r), 1.0
    a = (ctx.cols - n / 2) * math.cos(angle) + (ctx.rows - n / 2) * math.sin(angle)
    b = (ctx.rows - n / 2) * math.cos(angle) - (ctx.cols - n / 2) * math.sin(angle)
    ia, ib = np.floor(a / (pw + berm)), np.floor(b / (ph + berm))
    ca, cb = (ia + 0.5) * (pw + berm), (ib + 0.5) * (ph + berm)
    cy = n / 2 + cb * math.cos(angle) + ca * math.sin(angle)
    cx = n / 2 + ca * math.cos(angle) - cb * math.sin(angle)
    in_region = np.hypot(cy - n / 2, cx - n / 2) <= 0.8 * r
    in_region &= np.hypot(cy - plant[0], cx - plant[1]) > 0.45 * r
    span_a = max(float(ia[in_region].max() - ia[in_region].min()), 1.0) if in_region.any() else 1.0
    span_b = max(float(ib[in_region].max() - ib[in_region].min()), 1.0) if in_region.any() else 1.0
    ia0 = float(ia[in_region].min()) if in_region.any() else 0.0
    ib0 = float(ib[in_region].min()) if in_region.any() else 0.0
    cell_noise = (np.sin(ia * 12.9898 + ib * 78.233) * 43758.5453) % 1.0  # per-cell hash
    stage = -0.2 + 1.1 * (ia - ia0) / span_a + 0.1 * cell_noise
    pond = in_region & ((a % (pw + berm)) >= berm) & ((b % (ph + berm)) >= berm)
    layers.pond_t[pond] = ctx.years(stage[pond])
    layers.pond_stage[pond] = np.clip(
        (ib[pond] - ib0) / span_b + 0.25 * (cell_noise[pond] - 0.5), 0, 1
    )
    berms = in_region & ~pond
    layers.road_t[berms] = ctx.years(stage[berms] - 0.02)
    for k in range(2):
        centre = ctx.polar(0.55 * r, math.atan2(plant[0] - n / 2, plant[1] - n / 2) + (k - 0.5))
        _dump(ctx, layers, centre, 0.14 * r, -0.5 + 0.4 * k, 25.0, rehab=False)
    layers.add_road(ctx.road(plant, (n / 2, n / 2)), -99.0)
    return plant


def _underground(ctx: _Ctx, layers: _Layers) -> tuple[float, float]:
    phi = ctx.rng.uniform(0, 2 * math.pi)
    plant = _plant(ctx, layers, 0.1 * ctx.r, phi)
    _dump(ctx, layers, ctx.polar(0.5 * ctx.r, phi + 2.0), 0.2 * ctx.r, -0.5, 30.0, rehab=True)
    _tailings(ctx, layers, ctx.polar(0.6 * ctx.r, phi + 4.0), 0.25 * ctx.r)
    return plant


_BUILDERS = {
    "open_pit": _open_pit,
    "laterite": _laterite,
    "brine": _brine,
    "underground": _underground,
}
_PIT_DEPTH = {"open_pit": (250.0, 4.0), "laterite": (30.0, 0.8)}
_CLEAR_LEAD = {"laterite": 0.7, "open_pit": 0.4}


def make_plan(
    site: Site, rng: np.random.Generator, rows: Array, cols: Array, years: int
) -> MinePlan:
    """Lay out the mine of ``site`` over a series of ``years`` years."""
    rough = fractal_noise(rng, (site.size, site.size), beta=2.8)
    ctx = _Ctx(site, rng, rows, cols, float(years) + _PRE_YEARS + _POST_YEARS, rough)
    layers = _Layers(site.size)
    plant = _BUILDERS[site.style](ctx, layers)
    _access_road(ctx, layers, plant, math.atan2(plant[0] - site.size / 2, plant[1] - site.size / 2))
    depth, tau = _PIT_DEPTH.get(site.style, (0.0, 1.0))
    first = np.minimum.reduce([layers.pit_t, layers.dump_t, layers.tail_t, layers.pond_t])
    return MinePlan(
        style=site.style,
        pit_t=layers.pit_t,
        pit_end=layers.pit_end,
        pit_depth_m=depth,
        pit_tau=tau,
        dump_t=layers.dump_t,
        dump_height_m=layers.dump_h,
        rehab_t=layers.rehab_t,
        tail_t=layers.tail_t,
        tail_d=layers.tail_d,
        pond_t=layers.pond_t,
        pond_stage=layers.pond_stage,
        road_t=layers.road_t,
        plant=layers.plant,
        clear_lead=_CLEAR_LEAD.get(site.style, 0.3),
        first_t=np.minimum(first, layers.road_t).astype(np.float32),
    )
