"""What differs between databases, one module per database, looked up by backend name.

Alembic keeps each database's DDL in a ``DefaultImpl`` subclass that registers itself for its
dialect name (``alembic/ddl/postgresql.py`` ...). We do the same for what asyncmigrate adds on top:
the apply lock, the per-revision timeouts, how a lock timeout is recognised, whether DDL rolls
back, how a running revision is stopped, throwaway databases for the tests, and what a failed
``CREATE INDEX CONCURRENTLY`` leaves behind. Lint rules keep their own dialect lists (a rule names
the databases it judges).

Adding a database: one module here with a :class:`Database` subclass, imported at the bottom of
this file, plus its tests (``tests/test_dialects.py`` checks that every member is filled in).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.engine import URL, make_url

from ..errors import AsyncMigrateError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..apply.environment import ApplyOptions
    from ..apply.lock import ApplyLock

_REGISTRY: dict[str, type[Database]] = {}


class Database:
    """One database's ways. Subclasses set the class attributes and override what applies; the
    defaults are those of a database that has none of the features (no timeouts, nothing to
    clean up)."""

    #: SQLAlchemy backend names this module serves (``URL.get_backend_name()``)
    backends: ClassVar[tuple[str, ...]] = ()
    #: the driver ``upgrade`` uses for a sync URL of this backend
    async_driver: ClassVar[str] = ""
    #: the port a URL without one connects to (for messages)
    default_port: ClassVar[int | None] = None
    #: DDL runs in the revision's transaction and rolls back with it (not MySQL's implicit commits)
    transactional_ddl: ClassVar[bool] = True
    #: a failed statement can leave unusable indexes behind (see :meth:`invalid_indexes`)
    leaves_invalid_indexes: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return self.backends[0]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for backend in cls.backends:
            _REGISTRY[backend] = cls

    # -- applying a revision ------------------------------------------------------------------

    def timeout_statements(self, dialect: Any, options: ApplyOptions) -> list[str]:
        """Session settings that bound how long one revision waits for locks and runs."""
        return []

    def reset_statements(self, dialect: Any) -> list[str]:
        """Put the session back as it was: the connection may go back to the caller's pool."""
        return []

    def is_lock_timeout(self, error: BaseException) -> bool:
        """The driver error says a statement gave up waiting for a lock (worth a retry)."""
        return False

    def cancels_statements(self, driver: str) -> bool:
        """Cancelling the task that runs a revision cancels its statement and rolls it back."""
        return False

    def apply_lock(
        self,
        engine: AsyncEngine | Engine | None,
        url: URL,
        version_table: str,
        version_table_schema: str | None,
    ) -> ApplyLock:
        """The lock that keeps two deploys from migrating this database at once."""
        raise AsyncMigrateError(f"no apply lock is known for the '{self.name}' dialect")

    def invalid_indexes(self, connection: Connection) -> list[str]:
        """Indexes a failed statement left unusable (PostgreSQL's INVALID ones), to drop."""
        return []

    # -- throwaway databases for the tests ------------------------------------------------------

    def create_database_sql(self, name: str, template: str | None = None) -> str:
        raise AsyncMigrateError(f"cannot create a scratch database on '{self.name}'")

    def drop_database_sql(self, name: str) -> str:
        raise AsyncMigrateError(f"cannot drop a scratch database on '{self.name}'")

    def may_not_create(self, error: BaseException, name: str) -> bool:
        """The driver error says the role may not create databases."""
        return False

    def grant_to_create(self, role: str) -> str:
        """The statement that lets ``role`` create the throwaway databases."""
        return ""


class UnknownDatabase(Database):
    """A backend no module serves: Alembic may still run it; our extras are off."""

    def __init__(self, backend: str) -> None:
        self._backend = backend

    @property
    def name(self) -> str:
        return self._backend


def for_backend(backend: str) -> Database:
    """The module of ``backend`` (``postgresql``, ``sqlite``, ``mysql``, ``mariadb``, ...)."""
    found = _REGISTRY.get(backend)
    return found() if found is not None else UnknownDatabase(backend)


def for_url(url: str | URL) -> Database:
    return for_backend(make_url(url).get_backend_name())


def known() -> Iterator[type[Database]]:
    """Each registered database module once."""
    return iter(dict.fromkeys(_REGISTRY.values()))


from . import mysql, postgresql, sqlite  # noqa: E402,F401  (register them)
