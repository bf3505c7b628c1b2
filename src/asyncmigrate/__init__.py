"""asyncmigrate: async-first schema migrations for SQLAlchemy projects, built on Alembic."""

from .api import ApplyResult, BaselineResult, CheckResult, MigrationFailed, Migrator, SyncMigrator
from .config import Settings, load_settings
from .errors import AsyncMigrateError
from .history import RevisionInfo, Status

__version__ = "0.1.0"

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
    "SyncMigrator",
    "load_settings",
]
