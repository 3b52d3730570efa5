"""The geomon exception hierarchy.

Every error a user can cause derives from :class:`GeomonError`; its message is one line that
says what is wrong and how to fix it. Subclasses also inherit the matching built-in exception so
that callers can catch either (``except LookupError`` still catches :class:`NoImageryError`).
The CLI turns any ``GeomonError`` into a one-line message and a non-zero exit code.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "GeomonError",
    "MissingBandsError",
    "MissingDependencyError",
    "NoImageryError",
    "RegistryError",
    "RegistryValidationError",
    "UnknownMineError",
]


class GeomonError(Exception):
    """Base class of every error geomon raises on purpose."""


class ConfigError(GeomonError, ValueError):
    """An option, a pipeline file or a command-line argument is invalid."""


class MissingDependencyError(GeomonError, ImportError):
    """An optional dependency is needed but not installed; the message names the extra."""


class RegistryError(GeomonError, ValueError):
    """The mine registry or an ownership table cannot be read."""


class RegistryValidationError(RegistryError):
    """A registry failed validation. ``problems`` lists every problem, one per row and reason."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "unknown problem"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{source}: {first}{more}")


class UnknownMineError(GeomonError, KeyError):
    """A mine id is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown mine"


class NoImageryError(GeomonError, LookupError):
    """No usable imagery for a mine, period and source."""


class MissingBandsError(GeomonError, LookupError):
    """A stage needs bands the source does not provide."""


# --- esg, pipelines and reports (issue 6) ---
__all__ += ["PipelineValidationError", "ReportInputError", "UnknownCompanyError"]


class UnknownCompanyError(GeomonError, KeyError):
    """A company name matches no owner or parent in the ownership table."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown company"


class PipelineValidationError(ConfigError):
    """A pipeline file failed validation. ``problems`` lists each one as ``key: what is wrong``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "invalid pipeline"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{source}: {first}{more}")


class ReportInputError(GeomonError, ValueError):
    """The results handed to a report lack something it needs (the message names it)."""


class ModelError(GeomonError, ValueError):
    """A classifier model file is unsafe, corrupt or does not fit the data; the message says the fix."""


class EvaluationError(GeomonError, ValueError):
    """An accuracy assessment cannot be computed from the given reference and map."""


class ReferenceLayerError(GeomonError, ValueError):
    """A reference layer (protected areas, KBA, World Heritage, ecozones, a footprint given to the
    impact stage) is unusable; the message names the layer and the fix."""


class MissingEcozoneError(ReferenceLayerError, LookupError):
    """A mine has no (or an unknown) IPCC ecological zone or continent, needed by the factor tables."""


class FactorTableError(GeomonError, ValueError):
    """A factor table file is malformed (missing header lines or columns)."""


__all__ += ["FactorTableError", "MissingEcozoneError", "ReferenceLayerError"]


class ImagerySourceError(GeomonError, ConnectionError):
    """An imagery source (STAC API, Earth Engine) failed after retries; the message says what to try."""


__all__ += ["ImagerySourceError"]
