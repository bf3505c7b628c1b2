"""The async core: run Alembic's (synchronous) commands on an async connection, in the caller's
event loop.

Alembic's commands are plain functions that load env.py and call ``op.*`` on a synchronous
``Connection``. SQLAlchemy's ``AsyncConnection.run_sync`` hands exactly that to a function, in a
greenlet of the awaiting task: database I/O then goes through the event loop, with no thread and
no second loop. The runner builds the Alembic ``Config`` in memory (no ini file needed), puts a
:class:`~asyncmigrate.apply.environment.MigrationJob` into its attributes, and runs the command there.

A project that keeps its own Alembic ``env.py`` (the stock templates, the tutorial's) creates its
own engine and calls ``asyncio.run`` (or ``anyio.from_thread.run``), which cannot work inside a
running loop; that one command runs in a worker thread instead (see apply/project_env.py), and the
caller's logging configuration, which such env.py files reset with ``fileConfig``, is put back
afterwards. When such a project's alembic.ini holds only a placeholder URL, the env.py decides
the database: it is learned from an env.py run before anything reads or locks it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from alembic.config import Config
from sqlalchemy.engine import URL, Connection, Engine, make_url

from ..config import URL_EMBEDDED, URL_FROM_ENV, URL_FROM_OPTION, Settings, missing_url
from ..dialects import for_backend, for_url
from ..discovery import import_path
from ..errors import ConfigError
from . import project_env as foreign
from . import task_local
from .connect import create_engine_for, dispose, is_async_engine, run_on_connection
from .environment import JOB_KEY, MetadataTarget, MigrationJob
from .lock import WaitCallback, apply_lock_for

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def _async_variant(url: URL) -> URL:
    if url.get_dialect().is_async:
        return url
    backend = url.get_backend_name()
    return url.set(drivername=f"{backend}+{for_backend(backend).async_driver or url.get_driver_name()}")


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
        #: The URL a foreign env.py connected to, when the settings only had a placeholder.
        self._learned_url: str | None = None
        #: A person was told that the embedded SQLite default is in use (the CLI on a terminal).
        self.embedded_confirmed = False

    def project_imports(self) -> contextlib.AbstractContextManager[None]:
        """The project's modules importable while a command runs (a foreign env.py imports them,
        as it would run from its root; revisions may too), and ``sys.path`` as it was after."""
        return import_path(self.settings.project_dir)

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
        return self._learned_url or self.settings.url

    @property
    def given_connection(self) -> bool:
        """The caller handed over its engine or connection: every read goes through it."""
        return self._engine is not None or self._connection is not None

    @property
    def needs_learning(self) -> bool:
        """A foreign env.py decides the database and the settings hold no real URL (a placeholder
        such as ``driver://unused``, or none at all): learn it from the env.py."""
        if self.own_env or self.given_connection:
            return False
        if self._learned_url is not None or self.settings.url_source == URL_FROM_OPTION:
            return False
        embedded = self.settings.url_source == URL_EMBEDDED and self.settings.alembic_ini is not None
        return embedded or not foreign.is_usable_url(self.settings.url)

    def refuse_unchosen_default(self) -> None:
        """No URL anywhere and our env.py: the embedded SQLite file is used only when the project
        chose it (``embedded_sqlite = true``) or a person at a terminal was told. A library call
        has nobody to tell, and an app that lost DATABASE_URL must not migrate a fresh file."""
        given = self.given_connection
        if given or not self.own_env or self.settings.url_source != URL_EMBEDDED:
            return
        if self.settings.embedded_sqlite or self.embedded_confirmed:
            return
        raise ConfigError(missing_url(self.settings, "no terminal to warn (a library call)"))

    async def ensure_url(self) -> None:
        """Learn the database URL from the project's env.py when the settings cannot say it."""
        self.refuse_unchosen_default()
        if not self.needs_learning:
            return
        from alembic.script import ScriptDirectory
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        config = self.alembic_config()
        env_py = str(self.settings.env_py)
        where = self.settings.alembic_ini or self.settings.pyproject or "the settings"
        placeholder = (
            f"{where} names no database (sqlalchemy.url = {self.settings.url})"
            if self.settings.url_source != URL_EMBEDDED
            else f"{where} names no database (no sqlalchemy.url)"
        )
        try:
            with preserve_logging(), self.project_imports():
                learned = await foreign.in_worker(
                    foreign.learn_url, config, ScriptDirectory.from_config(config), env_py
                )
        except (NoSuchModuleError, ArgumentError) as exc:
            raise ConfigError(
                f"{placeholder} and {env_py} did not connect anywhere ({exc}): give the database"
                " with --url, or set sqlalchemy.url"
            ) from exc
        if not learned or not foreign.is_usable_url(learned):
            raise ConfigError(
                f"{placeholder} and {env_py} did not say which database it migrates: give the"
                " database with --url, or set sqlalchemy.url"
            )
        self._learned_url = learned

    def watch(self, *, writes: bool) -> foreign.Watch:
        """What to check when the project's own env.py configures Alembic (see apply/project_env.py)."""
        env_py = str(self.settings.env_py)
        given = self.given_connection
        if given or self.settings.url_source == URL_FROM_OPTION:
            return foreign.Watch(self.url, redirect=True, env_py=env_py)
        if self._learned_url is not None:
            return foreign.Watch(self.url, source="learned from env.py", env_py=env_py)
        if writes and foreign.is_usable_url(self.settings.url):
            where = self.settings.alembic_ini or self.settings.pyproject
            source = URL_FROM_ENV if self.settings.url_source == URL_FROM_ENV else f"from {where}"
            return foreign.Watch(self.url, source=source, env_py=env_py)
        return foreign.Watch(env_py=env_py)

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    @property
    def cancels_statements(self) -> bool:
        """Whether cancelling the task that runs a migration cancels its running statement and
        rolls the revision back: asyncpg does, and PostgreSQL's DDL is transactional."""
        url = make_url(self.url)
        return self.own_env and for_url(url).cancels_statements(url.get_driver_name())

    def job(self, *, load_models: bool = False, **options: Any) -> MigrationJob:
        return MigrationJob(
            settings=replace(self.settings, url=self.url),
            metadata_loader=self._metadata_loader if load_models else None,
            **options,
        )

    # -- running -----------------------------------------------------------------------------

    async def offline(
        self,
        command: Callable[[Config], T],
        job: MigrationJob,
        output_buffer: Any = None,
        *,
        renders_sql: bool = False,
    ) -> T:
        """A command that touches no database (script files, ``--sql`` output)."""
        config = self.alembic_config(job, output_buffer=output_buffer)
        if self.own_env:
            if renders_sql:
                self.refuse_unchosen_default()  # SQL for SQLite is not what a deploy wanted
            with self.project_imports(), task_local.routed():
                return command(config)
        with preserve_logging(), self.project_imports():
            return await foreign.in_worker(foreign.run_watched, foreign.Watch(), command, config)

    async def online(self, command: Callable[[Config], T], job: MigrationJob) -> T:
        """A command that runs env.py against the database."""
        if not self.own_env:
            config = self.alembic_config(job)
            watch = self.watch(writes=job.apply is not None)
            watch.progress = job.progress  # its steps reach the job as ours do
            with preserve_logging(), self.project_imports():
                return await foreign.in_worker(foreign.run_watched, watch, command, config)
        with self.project_imports(), task_local.routed():
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
        await self.ensure_url()
        engine = create_engine_for(
            self.url, direct_sqlite=True, connect_timeout=self.settings.connect_timeout
        )
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
        await self.ensure_url()
        # A server: two connections, the apply lock holds one while the work uses the other.
        # An embedded file costs nothing to open (and its lock is a file of its own).
        embedded = for_url(self.url).embedded
        self._scoped_engine = create_engine_for(
            self.url,
            direct_sqlite=True,
            pool_size=0 if embedded else 2,
            connect_timeout=self.settings.connect_timeout,
        )
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
        await self.ensure_url()
        url = make_url(self.url)
        engine: AsyncEngine | Engine | None = None
        owned = False
        if not for_url(url).embedded:  # an embedded file's lock is a file: no connection
            if self._connection is not None:
                engine = self._connection.engine
            elif is_async_engine(given := self._engine or self._scoped_engine):
                engine = given
            elif url.get_dialect().is_async or uses_our_env(settings):
                engine = create_engine_for(_async_variant(url), connect_timeout=settings.connect_timeout)
                owned = True
            else:
                # a sync env.py of the project's own: its driver holds the lock, and SQLAlchemy's
                # asyncio extension stays unimported, as under plain Alembic (see apply/connect.py)
                engine = create_engine_for(url, connect_timeout=settings.connect_timeout)
                owned = True
        lock = apply_lock_for(engine, url, settings.version_table, settings.version_table_schema)
        try:
            await lock.acquire(wait, on_wait)
            try:
                yield
            finally:
                await lock.release()
        finally:
            if owned and engine is not None:
                await dispose(engine)

    async def invalid_indexes(self) -> list[str]:
        """PostgreSQL indexes marked INVALID (what a failed CREATE INDEX CONCURRENTLY leaves)."""
        database = for_url(self.url)
        if not database.leaves_invalid_indexes:
            return []  # nothing to read: no connection for it

        def read(connection: Connection) -> list[str]:
            return database.invalid_indexes(connection)

        try:
            return await self.on_connection(read)
        except Exception:  # a caller's aborted transaction: nothing to learn here
            return []

    async def drop_index_concurrently(self, qualified_name: str) -> None:
        def drop(connection: Connection) -> None:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {qualified_name}")

        await self.on_connection(drop)
