"""The mine registry: which mines geomon watches and who owns them."""

from geomon.registry.core import Registry, bundled_registry_dir, load_registry, save_registry

__all__ = ["Registry", "bundled_registry_dir", "load_registry", "save_registry"]
