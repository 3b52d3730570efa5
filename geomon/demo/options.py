"""Options of the demo catalog generator."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from geomon.errors import ConfigError

__all__ = ["DEMO_MINES", "GENERATOR_VERSION", "DemoConfig"]

#: Bump whenever the generator's output changes for the same config: the cache key includes it.
GENERATOR_VERSION = "6"

#: The bundled mines the default demo set covers (one per landscape and mining style).
DEMO_MINES: tuple[str, ...] = ("kamoto", "murrin_murrin", "salar_de_atacama_sqm", "weda_bay")


@dataclass(frozen=True)
class DemoConfig:
    """What demo catalog to generate. Equal configs give byte-identical catalogs."""

    seed: int = 42
    """Seed of every random choice (landscapes, mine plans, dates, clouds, noise)."""
    mine_ids: tuple[str, ...] = DEMO_MINES
    """Registry ids of the mines to simulate; each scene is centred on the mine's AOI centroid."""
    start_year: int = 2019
    """First calendar year of the time series."""
    years: int = 5
    """Number of calendar years simulated."""
    dates_per_year: int = 6
    """Acquisitions per year, spread over the seasons with a few days of jitter."""
    window_m: int = 4000
    """Side of the square scene in metres (a multiple of 20): 4000 m is 400 x 400 px at 10 m."""
    cloud_probability: float = 0.7
    """Chance that a date in the cloudiest month of the mine's climate has clouds; drier months
    scale it down by the biome's cloud climate (0 gives cloud-free series)."""
    cirrus_probability: float = 0.3
    """Chance that a date has thin cirrus (scaled like ``cloud_probability``)."""
    swath_edge_probability: float = 0.05
    """Chance that a date is cut by the swath edge (part of the scene is no data)."""

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ConfigError(f"invalid demo config: {problems[0]}")

    def _problems(self) -> list[str]:
        out = []
        if not self.mine_ids:
            out.append("mine_ids is empty; name at least one registry mine id")
        if not 1 <= self.years <= 50:
            out.append(f"years={self.years}; use 1 to 50")
        if not 1 <= self.dates_per_year <= 73:
            out.append(f"dates_per_year={self.dates_per_year}; use 1 to 73 (one per 5-day revisit)")
        if not 2015 <= self.start_year <= 2100:
            out.append(f"start_year={self.start_year}; Sentinel-2 data start in 2015")
        if self.window_m % 20 or not 400 <= self.window_m <= 20000:
            out.append(f"window_m={self.window_m}; use a multiple of 20 between 400 and 20000")
        for name in ("cloud_probability", "cirrus_probability", "swath_edge_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                out.append(f"{name}={getattr(self, name)}; use a value between 0 and 1")
        return out

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able dict of the fields."""
        d = dataclasses.asdict(self)
        d["mine_ids"] = list(self.mine_ids)
        return d

    def fingerprint(self, extra: object = None) -> str:
        """Short hash of the config, the generator version and ``extra`` (the mines' data)."""
        text = json.dumps(
            {"config": self.to_dict(), "version": GENERATOR_VERSION, "extra": extra},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]
