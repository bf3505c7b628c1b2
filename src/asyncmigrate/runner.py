"""The async core: run Alembic's (synchronous) commands on an async connection, in the caller's
event loop.

Alembic's commands are plain functions that load env.py and call ``op.*`` on a synchronous
``Connection``. SQLAlchemy's ``AsyncConnection.run_sync`` hands exactly that to a function, in a
greenlet of the awaiting task: database I/O then goes through the event loop, with no thread and
no second loop. The runner builds the Alembic ``Config`` in memory (no ini file needed), puts a
:class:`~asyncmigrate.environment.MigrationJob` into its attributes, and runs the command there.

A project that keeps its own Alembic ``env.py`` (the stock templates, the tutorial's) creates its
own engine and calls ``asyncio.run``, which cannot work inside a running loop; that one command
runs in a worker thread instead, and the caller's logging configuration, which such env.py files
reset with ``fileConfig``, is put back afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

from alembic.config import Config
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import proxies
from .config import Settings
from .discovery import ensure_import_path
from .engines import create_engine_for, dispose, run_on_connection
from .environment import JOB_KEY, MetadataTarget, MigrationJob
from .locking import WaitCallback, apply_lock_for

#: The async driver for each backend, to hold the apply lock when the URL names a sync one.
ASYNC_DRIVERS = {"postgresql": "asyncpg", "mysql": "asyncmy", "mariadb": "asyncmy", "sqlite": "aiosqlite"}


def _async_variant(url: URL) -> URL:
    if url.get_dialect().is_async:
        return url
    backend = url.get_backend_name()
    return url.set(drivername=f"{backend}+{ASYNC_DRIVERS.get(backend, url.get_driver_name())}")


proxies.install()

T = TypeVar("T")
ENV_MARKER = "asyncmigrate"


def uses_our_env(settings: Settings) -> bool:
    """True when the project's env.py delegates to asyncmigrate (written by ``init``)."""
    try:
        return ENV_MARKER in settings.env_py.read_text(encoding="utf-8")
    except OSError:
        return True  # no env.py yet: commands that need one will say so


@contextlib.contextmanager
def preserve_logging() -> Iterator[None]:
    """Undo what ``logging.config.fileConfig`` in a foreign env.py does to the caller's loggers."""
    manager = logging.Logger.manager
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {
        name: (logger.disabled, logger.level, list(logger.handlers), logger.propagate)
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    try:
        yield
    finally:
        root.setLevel(saved_root[0])
        root.handlers[:] = saved_root[1]
        for name, (disabled, level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.disabled = disabled
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate


class Runner:
    """Runs Alembic commands for one project on one database. Holds no global state."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine | Engine | None = None,
        connection: AsyncConnection | None = None,
        metadata_loader: Callable[[], MetadataTarget] | None = None,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._connection = connection
        self._metadata_loader = metadata_loader
        #: an engine of our own kept for a whole ``apply`` (see :meth:`one_engine`)
        self._scoped_engine: AsyncEngine | Engine | None = None
        self.own_env = uses_our_env(settings)
        if not self.own_env:
            # A foreign env.py imports the project's modules, as it would run from its root.
            ensure_import_path(settings.project_dir)

    # -- Alembic configuration ---------------------------------------------------------------

    def alembic_config(
        self, job: MigrationJob | None = None, stdout: Any = None, output_buffer: Any = None
    ) -> Config:
        """An Alembic Config for this project, built in memory unless it has an alembic.ini."""
        settings = self.settings
        kwargs: dict[str, Any] = {"output_buffer": output_buffer}
        if stdout is not None:
            kwargs["stdout"] = stdout
        # quiet: Alembic's own "Generating ... done" lines go to sys.stdout; we report instead.
        kwargs["cmd_opts"] = argparse.Namespace(quiet=True, x=[])
        if settings.alembic_ini is not None:
            config = Config(str(settings.alembic_ini), **kwargs)
        else:
            config = Config(toml_file=str(settings.pyproject) if settings.pyproject else None, **kwargs)
            config.set_main_option("script_location", str(settings.script_location))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        if job is not None:
            config.attributes[JOB_KEY] = job
        return config

    @property
    def url(self) -> str:
        """The URL in use: the caller's engine's when one was given, else the settings'."""
        engine = self._connection.engine if self._connection is not None else self._engine
        if engine is not None:
            return engine.url.render_as_string(hide_password=False)
        return self.settings.url

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    @property
    def cancels_statements(self) -> bool:
        """Whether cancelling the task that runs a migration cancels its running statement and
        rolls the revision back: asyncpg does, and PostgreSQL's DDL is transactional."""
        url = make_url(self.url)
        return self.own_env and url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg"

    def job(self, *, load_models: bool = False, **options: Any) -> MigrationJob:
        return MigrationJob(
            settings=replace(self.settings, url=self.url),
            metadata_loader=self._metadata_loader if load_models else None,
            **options,
        )

    # -- running -----------------------------------------------------------------------------

    async def offline(
        self, command: Callable[[Config], T], job: MigrationJob, output_buffer: Any = None
    ) -> T:
        """A command that touches no database (script files, ``--sql`` output)."""
        config = self.alembic_config(job, output_buffer=output_buffer)
        if self.own_env:
            return command(config)
        with preserve_logging():
            return await asyncio.to_thread(command, config)

    async def online(self, command: Callable[[Config], T], job: MigrationJob) -> T:
        """A command that runs env.py against the database."""
        if not self.own_env:
            config = self.alembic_config(job)
            with preserve_logging():
                return await asyncio.to_thread(command, config)
        return await self.on_connection(
            lambda connection: command(self.alembic_config(replace(job, connection=connection)))
        )

    async def on_connection(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` with a synchronous Connection, in this loop when the driver is async."""
        if self._connection is not None:
            # The caller's connection: commit only a transaction that we began.
            began_here = not self._connection.in_transaction()
            result = await self._connection.run_sync(work)
            if began_here and self._connection.in_transaction():
                await self._connection.commit()
            return result
        engine = self._engine or self._scoped_engine
        if engine is not None:
            return await run_on_connection(engine, work)
        engine = create_engine_for(self.url, direct_sqlite=True)
        try:
            return await run_on_connection(engine, work)
        finally:
            await dispose(engine)

    @contextlib.asynccontextmanager
    async def one_engine(self) -> AsyncIterator[None]:
        """Share one pooled engine between the steps of an apply (the lock, the state reads, the
        migration) instead of an engine, a connection and the dialect's first-connect queries
        for each. Nothing to do when the caller gave us an engine or a connection."""
        if self._engine is not None or self._connection is not None or self._scoped_engine is not None:
            yield
            return
        # PostgreSQL, MySQL: two connections, the apply lock holds one while the work uses the
        # other. An SQLite file costs nothing to open (and its lock is a file of its own).
        sqlite = make_url(self.url).get_backend_name() == "sqlite"
        self._scoped_engine = create_engine_for(self.url, direct_sqlite=True, pool_size=0 if sqlite else 2)
        try:
            yield
        finally:
            engine, self._scoped_engine = self._scoped_engine, None
            await dispose(engine)

    # -- the apply lock and PostgreSQL's INVALID indexes ----------------------------------

    @contextlib.asynccontextmanager
    async def apply_lock(
        self, wait: float | None, on_wait: WaitCallback | None = None
    ) -> AsyncIterator[None]:
        """Hold the database's apply lock (on a connection of its own) for the block."""
        settings = self.settings
        url = make_url(self.url)
        engine: AsyncEngine | None = None
        owned = False
        if url.get_backend_name() != "sqlite":
            if self._connection is not None:
                engine = self._connection.engine
            elif isinstance(self._engine or self._scoped_engine, AsyncEngine):
                engine = self._engine or self._scoped_engine
            else:
                created = create_engine_for(_async_variant(url))
                assert isinstance(created, AsyncEngine)
                engine, owned = created, True
        lock = apply_lock_for(engine, url, settings.version_table, settings.version_table_schema)
        try:
            await lock.acquire(wait, on_wait)
            try:
                yield
            finally:
                await lock.release()
        finally:
            if owned and engine is not None:
                await engine.dispose()

    async def invalid_indexes(self) -> list[str]:
        """PostgreSQL indexes marked INVALID (what a failed CREATE INDEX CONCURRENTLY leaves)."""
        if make_url(self.url).get_backend_name() != "postgresql":
            return []

        def read(connection: Connection) -> list[str]:
            rows = connection.exec_driver_sql(
                "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
                " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid ORDER BY 1"
            )
            return [row[0] for row in rows]

        try:
            return await self.on_connection(read)
        except Exception:  # a caller's aborted transaction: nothing to learn here
            return []

    async def drop_index_concurrently(self, qualified_name: str) -> None:
        def drop(connection: Connection) -> None:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {qualified_name}")

        await self.on_connection(drop)
