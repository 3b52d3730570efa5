"""Pipeline files: YAML validated by pydantic, with errors that point at the key.

A pipeline says which mines (ids or a registry query), which imagery source, which periods and
baseline, which classifier, the impact and flag parameters, and what to write. Every section has
defaults, so ``periods: {start: 2019-01-01, end: 2023-12-31}`` is a complete pipeline.

Errors read ``pipelines/x.yaml: periods.start: invalid date '2021-13-01' (use YYYY-MM-DD)``.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geomon.config import bundled_dir
from geomon.errors import PipelineValidationError

__all__ = [
    "ClassifierSpec",
    "FlagSpec",
    "ImpactSpec",
    "MineQuery",
    "OutputSpec",
    "PeriodSpec",
    "Pipeline",
    "bundled_pipeline",
    "load_pipeline",
    "parse_pipeline",
]

Format = Literal["json", "html", "pdf", "geojson", "geoparquet"]
_FORMATS: tuple[Format, ...] = ("json", "html", "pdf", "geojson", "geoparquet")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MineQuery(_Strict):
    """Which mines: explicit ids, narrowed by commodity, country and owner (all optional)."""

    ids: tuple[str, ...] = ()
    """Registry ids; empty = every mine of the registry (or the demo mines with ``source: demo``)."""
    commodity: str | None = None
    country: str | None = None
    """ISO 3166-1 alpha-3."""
    owner: str | None = None
    """A company at any level of the ownership chain."""

    @field_validator("country")
    @classmethod
    def _iso3(cls, v: str | None) -> str | None:
        if v is not None and (len(v) != 3 or not v.isalpha()):
            raise ValueError(f"'{v}' is not an ISO 3166-1 alpha-3 code (e.g. IDN, COD)")
        return v.upper() if v else v


class PeriodSpec(_Strict):
    """The window and how it is cut into composites."""

    start: dt.date
    end: dt.date
    period: Literal["year", "quarter", "month"] = "year"
    max_cloud: float = Field(default=80.0, ge=0, le=100)
    """Skip scenes cloudier than this (percent)."""

    @model_validator(mode="after")
    def _order(self) -> PeriodSpec:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; swap them")
        return self


class ClassifierSpec(_Strict):
    model: str | None = None
    """A bundled model id or a model folder; empty = the bundled model that fits the bands."""
    min_mapping_unit_ha: float = Field(default=0.5, ge=0)


class ImpactSpec(_Strict):
    """Parameters of geomon.impacts (ImpactParams)."""

    soc_ref_t_c_per_ha: float | None = Field(default=None, ge=0)
    unknown_vegetation_cover: (
        Literal["forest", "shrubland", "grassland", "wetland", "cropland"] | None
    ) = None
    forest_state: str = "primary"
    pa_buffers_km: tuple[float, ...] = (10.0,)
    edge_depth_m: float = Field(default=100.0, gt=0)
    """Edge depth (m) for fragmentation core area (ImpactParams.edge_depth_m)."""
    seed: int = 20201231
    interval: float = Field(default=0.90, gt=0, lt=1)


class FlagSpec(_Strict):
    """Thresholds of the flags (geomon.esg.FlagOptions)."""

    cutoff: dt.date = dt.date(2020, 12, 31)
    near_km: float = Field(default=10.0, ge=0)
    licence_tolerance_m: float = Field(default=30.0, ge=0)
    licence_min_ha: float = Field(default=0.5, ge=0)
    expansion_k: float = Field(default=3.0, gt=0)
    expansion_min_history: int = Field(default=3, ge=1)
    expansion_min_excess_ha_per_year: float = Field(default=5.0, ge=0)
    min_clear_fraction: float = Field(default=0.5, ge=0, le=1)


class OutputSpec(_Strict):
    dir: str = "reports"
    """Output folder, relative to the working directory."""
    site_reports: bool = True
    companies: tuple[str, ...] = ()
    """Company reports to write, over the selected mines each company holds."""
    formats: tuple[Format, ...] = _FORMATS
    trends: bool = False
    """Write ``footprint_trends.csv``: disturbed, new and rehabilitated ha per mine and period."""


class Pipeline(_Strict):
    """A whole pipeline file."""

    name: str = "pipeline"
    description: str = ""
    registry: str | None = None
    """Registry folder; empty = the bundled registry."""
    mines: MineQuery = Field(default_factory=MineQuery)
    source: str = "demo"
    """Imagery source: demo | earth-search | planetary-computer | earthengine | stac:PATH | files:DIR."""
    periods: PeriodSpec
    baseline: str | None = None
    """First period used as the baseline, as a label (``2019``) or date; empty = the first period."""
    classifier: ClassifierSpec = Field(default_factory=ClassifierSpec)
    impacts: ImpactSpec = Field(default_factory=ImpactSpec)
    flags: FlagSpec = Field(default_factory=FlagSpec)
    control_threshold_pct: float | None = Field(default=50.0, ge=0, le=100)
    """A parent holding more than this of the operator reports 100 % under operational control."""
    outputs: OutputSpec = Field(default_factory=OutputSpec)


def _models_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Pipeline
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return model
        ann = model.model_fields[part].annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return model


def _message(err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        parent = _models_at(loc[:-1])
        known = sorted(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of {', '.join(known)}"
        return f"{where}: unknown key{hint}"
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind.startswith("date"):
        return f"{where}: invalid date '{value}' (use YYYY-MM-DD)"
    if kind == "literal_error":
        return f"{where}: '{value}' is not allowed; {err['msg'].replace('Input should be', 'use')}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" + (
        f" (got '{value}')" if kind not in ("value_error",) and not isinstance(value, dict) else ""
    )


def parse_pipeline(data: Any, source: str = "<pipeline>") -> Pipeline:
    """Validate a parsed YAML document; raises :class:`PipelineValidationError` listing every problem."""
    if not isinstance(data, dict):
        raise PipelineValidationError(
            source, ["the file must be a mapping of keys (name:, periods:, ...)"]
        )
    try:
        return Pipeline.model_validate(data)
    except ValidationError as exc:
        errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        problems = [_message(e) for e in errors]  # type: ignore[arg-type]  # unknown keys first
        raise PipelineValidationError(source, problems) from None


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so pydantic reports a bad one against its key."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def bundled_pipeline(name: str) -> Path:
    """The path of a pipeline shipped in the repository's ``pipelines/`` (``"demo"`` or
    ``"demo.yaml"``; a wheel installs them as ``geomon/bundled_pipelines``)."""
    folder = bundled_dir("pipelines", "demo.yaml")
    path = folder / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml"))) or "none"
        raise PipelineValidationError(str(path), [f"no such bundled pipeline; shipped: {known}"])
    return path


def load_pipeline(path: str | Path) -> Pipeline:
    """Read and validate a pipeline YAML file."""
    p = Path(path)
    if not p.is_file():
        raise PipelineValidationError(str(p), ["file not found; see the examples in pipelines/"])
    try:
        data = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PipelineValidationError(str(p), [f"{where}: {problem}"]) from None
    return parse_pipeline(data, str(p))
