"""Our Alembic autogenerate plugins (batched reflection, declared renames), each made known to
Alembic once per process: Alembic refuses a second registration of a name."""

from __future__ import annotations

from types import ModuleType

from alembic.runtime.plugins import Plugin

_registered: set[str] = set()


def register_once(module: ModuleType, name: str) -> None:
    """Register ``module`` (its ``setup(plugin)``) under ``name``, unless already done; a run
    still has to ask for it in ``autogenerate_plugins``."""
    if name in _registered:
        return
    try:
        Plugin.setup_plugin_from_module(module, name)
    except ValueError:  # "already registered": by another import of the module
        pass
    _registered.add(name)
