"""What differs between databases, one module per database, looked up by backend name.

Alembic keeps each database's DDL in a ``DefaultImpl`` subclass that registers itself for its
dialect name (``alembic/ddl/postgresql.py`` ...). We do the same for what asyncmigrate adds on top:
the apply lock, the per-revision timeouts, how a lock timeout is recognised, whether DDL rolls
back, how a running revision is stopped, how engines are prepared, the version tables read
without SQLAlchemy, throwaway and wiped databases for the tests, and what a failed ``CREATE INDEX
CONCURRENTLY`` leaves behind. Lint rules keep their own dialect lists (a rule names the databases
it judges; ``lint/model.py``'s ``DIALECTS`` lists those lint knows).

Adding a database: one module here with a :class:`Database` subclass, imported at the bottom of
this file, plus its tests (ARCHITECTURE.md lists the files; ``tests/test_dialects.py`` checks
that no other module names a database).

Importing this package imports neither SQLAlchemy nor a driver: the read commands' fast path
looks up a URL's module before deciding whether it needs them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..errors import AsyncMigrateError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..apply.environment import ApplyOptions
    from ..apply.lock import ApplyLock
    from ..config import Settings
    from ..tables.read import DatabaseState

_REGISTRY: dict[str, type[Database]] = {}


class DirectTables(Protocol):
    """A database whose version and history tables can be read with its driver alone, answering
    what SQLAlchemy's ``has_table`` and Alembic's ``SELECT`` would (``tables/read.py``)."""

    def reads(self, settings: Settings) -> bool:
        """These settings' tables are within reach (else SQLAlchemy reads them)."""

    def read(self, settings: Settings, events: bool) -> DatabaseState:
        """The tables, or ``GraphUnavailable`` to let SQLAlchemy read them and word any error."""

    def display(self) -> str:
        """The URL as SQLAlchemy renders it, password hidden."""


class Database:
    """One database's ways. Subclasses set the class attributes and override what applies; the
    defaults are those of a database that has none of the features (no timeouts, nothing to
    clean up)."""

    #: SQLAlchemy backend names this module serves (``URL.get_backend_name()``)
    backends: ClassVar[tuple[str, ...]] = ()
    #: the driver ``upgrade`` uses for a sync URL of this backend
    async_driver: ClassVar[str] = ""
    #: our pip extra that installs that driver (``pip install 'asyncmigrate[extra]'``)
    extra: ClassVar[str] = ""
    #: a file on this machine, not a server: nothing to pool, tests get a file of their own
    embedded: ClassVar[bool] = False
    #: autogenerate writes batch (copy-and-move) ALTERs unless ``render_as_batch`` says otherwise
    render_as_batch: ClassVar[bool] = False
    #: one query giving (table, text) whose text changes when the table's definition does: lets
    #: the stairway's snapshots reuse the reflection of unchanged tables (None: reflect all)
    fingerprint_sql: ClassVar[str | None] = None
    #: the port a URL without one connects to (for messages)
    default_port: ClassVar[int | None] = None
    #: DDL runs in the revision's transaction and rolls back with it (not MySQL's implicit commits)
    transactional_ddl: ClassVar[bool] = True
    #: an ALTER of a column must repeat its auto-increment property or lose it (MySQL's MODIFY)
    alter_repeats_autoincrement: ClassVar[bool] = False
    #: a failed statement can leave unusable indexes behind (see :meth:`invalid_indexes`)
    leaves_invalid_indexes: ClassVar[bool] = False
    #: ``ALTER COLUMN ... TYPE`` takes a ``USING`` expression (see :meth:`casts_by_itself`)
    alter_type_using: ClassVar[bool] = False
    #: autogenerate compares declared views, functions, triggers and policies here (their catalog
    #: SQL is in autogenerate/objects.py)
    declared_objects: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return self.backends[0]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for backend in cls.backends:
            _REGISTRY[backend] = cls

    # -- connecting ----------------------------------------------------------------------------

    def prepare_engine(self, engine: Engine) -> None:
        """Set up each engine asyncmigrate creates (driver events) before its first use."""

    def identity(self, url: URL) -> tuple[str | None, int | None, str | None]:
        """(host, port, database) that name the same database whatever the URL's spelling."""
        return (url.host or "").lower() or None, url.port or self.default_port, url.database

    def direct_tables(self, url: str) -> DirectTables | None:
        """The version tables of ``url`` read without SQLAlchemy, where the URL is plain enough
        to mean the same to the driver alone (None: read through SQLAlchemy)."""
        return None

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

    # -- autogenerate ---------------------------------------------------------------------------

    #: columns per temporary table when server defaults are mirrored side by side (a wider one
    #: the database refuses is retried a table at a time)
    mirror_width: ClassVar[int] = 100

    def drop_temporary_sql(self, name: str) -> str | None:
        """The statement that drops temporary table ``name`` without ending the transaction, where
        rolling back to a savepoint does not drop it (None: the rollback does)."""
        return None

    def same_default(self, connection: Connection, first: str, second: str, type_sql: str) -> bool:
        """Whether two server default texts a database reflected differently are one value of
        type ``type_sql`` (only where it keeps defaults as written: elsewhere the texts decide)."""
        return False

    def index_sql(self, connection: Connection, schema: str | None, name: str) -> str | None:
        """The statement that made index ``name``, where the database keeps it as written (SQLite),
        for indexes its reflection reads only in part (None: reflection is the whole answer)."""
        return None

    def partitions(self, connection: Connection, schema: str | None) -> set[str]:
        """Tables of ``schema`` that are partitions of another table: the partitioned table
        manages them, a model never declares them, and autogenerate must not drop them."""
        return set()

    def casts_by_itself(self, connection: Connection, old_sql: str, new_sql: str) -> bool | None:
        """Whether ``ALTER COLUMN ... TYPE new_sql`` converts a column of ``old_sql`` with no
        ``USING`` (None: a type the database does not know yet). Asked only where ALTER takes a
        ``USING`` (``alter_type_using``); elsewhere the database converts by itself or refuses,
        and Alembic's ALTER is all there is."""
        return True

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

    def wipe(self, connection: Connection) -> None:
        """Drop every table and view (and, where there are, sequences and types) in the default
        schema, inside the caller's transaction."""
        raise AsyncMigrateError(f"cannot wipe a '{self.name}' database")


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
    from sqlalchemy.engine import make_url

    return for_backend(make_url(url).get_backend_name())


def _scheme_backend(url: str) -> str:
    """The backend a URL string names, without parsing it (nor importing SQLAlchemy):
    ``postgresql+asyncpg://...`` names ``postgresql``."""
    return url.partition(":")[0].partition("+")[0]


def for_scheme(url: str) -> Database:
    """The module of a URL string by its scheme alone."""
    return for_backend(_scheme_backend(url))


def is_known(url: str) -> bool:
    """A module serves this URL's database."""
    return _scheme_backend(url) in _REGISTRY


def extra_for_driver(module: str) -> str | None:
    """Our pip extra that installs the driver module ``module`` (``asyncpg`` -> postgresql)."""
    for database in known():
        if database.async_driver == module:
            return database.extra
    return None


def known() -> Iterator[type[Database]]:
    """Each registered database module once."""
    return iter(dict.fromkeys(_REGISTRY.values()))


from . import mysql, postgresql, sqlite  # noqa: E402,F401  (register them)
