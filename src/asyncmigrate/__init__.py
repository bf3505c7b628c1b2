"""asyncmigrate: async-first schema migrations for SQLAlchemy projects, built on Alembic.

The public names are imported on first use (PEP 562), so ``asyncmigrate heads`` and friends do
not pay for SQLAlchemy and Alembic when they do not need them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ApplyResult": "api.migrator",
    "AsyncMigrateError": "errors",
    "MigrationFailed": "api.migrator",
    "BaselineResult": "api.migrator",
    "CheckResult": "api.migrator",
    "Migrator": "api.migrator",
    "RevisionInfo": "graph.status",
    "Settings": "config",
    "Status": "graph.status",
    "StepEvent": "apply.environment",
    "SyncMigrator": "api.sync",
    "load_settings": "config",
}

__all__ = [
    "ApplyResult",
    "AsyncMigrateError",
    "MigrationFailed",
    "BaselineResult",
    "CheckResult",
    "Migrator",
    "RevisionInfo",
    "Settings",
    "Status",
    "StepEvent",
    "SyncMigrator",
    "load_settings",
]

if TYPE_CHECKING:
    from .api.migrator import ApplyResult, BaselineResult, CheckResult, MigrationFailed, Migrator
    from .api.sync import SyncMigrator
    from .apply.environment import StepEvent
    from .config import Settings, load_settings
    from .errors import AsyncMigrateError
    from .graph.status import RevisionInfo, Status


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'asyncmigrate' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
