"""geomon: monitor critical-mineral mines from space.

Land disturbance, greenhouse-gas emissions and biodiversity loss of each registered mine, tied to
the companies that own it.
"""

from geomon._version import __version__
from geomon.errors import GeomonError
from geomon.registry import Registry, load_registry

__all__ = ["GeomonError", "Registry", "__version__", "load_registry"]
