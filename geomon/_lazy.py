"""Import optional dependencies lazily, with an install hint when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from geomon.errors import MissingDependencyError

#: module name -> the pip extra that provides it
_EXTRAS: dict[str, str] = {
    "ee": "earthengine",
    "xee": "earthengine",
    "planetary_computer": "planetary",
}


def lazy_import(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRAS.get(module.split(".")[0])
        hint = f"pip install 'geomon[{extra}]'" if extra else f"pip install {module}"
        raise MissingDependencyError(
            f"optional dependency '{module}' is not installed; install it with: {hint}"
        ) from exc


def is_available(module: str) -> bool:
    """True when ``module`` can be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
