"""Engines for migrations: async or sync from the URL, each prepared by its database's module
(``Database.prepare_engine``: SQLite made transactional, asyncpg's simple-query DDL).

aiosqlite is sqlite3 behind a worker thread: each statement is a hop to that thread and back.
For a unit of work of our own (a whole ``upgrade``), the engine can use sqlite3 directly and run
the work in one worker thread: the same file, the same I/O off the event loop, without a hop per
statement (``direct_sqlite``).
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ..errors import ConfigError, missing_driver, unparsable_url
from .server_wait import DEFAULT_CONNECT_TIMEOUT, bounded

if TYPE_CHECKING:
    # Imported when an async engine is made, not before: sqlalchemy.ext.asyncio imports
    # sqlalchemy.orm, which makes ``sa.orm`` exist for a project's revisions, where plain Alembic
    # running a sync env.py does not (a revision that uses it without importing it must fail alike).
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
    from typing_extensions import TypeIs  # typing's own from Python 3.13

    AnyEngine = AsyncEngine | Engine
T = TypeVar("T")


def is_async_engine(engine: object) -> TypeIs[AsyncEngine]:
    """Whether ``engine`` is an AsyncEngine, without importing the asyncio extension (no
    AsyncEngine exists until it is imported)."""
    module = sys.modules.get("sqlalchemy.ext.asyncio")
    return module is not None and isinstance(engine, module.AsyncEngine)


#: The connect timeout of each engine we created (a caller's engine keeps its own settings).
_connect_timeouts: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def server_address(url: str | URL) -> str:
    """``host:port`` of a server URL, with the backend's default port when none is given."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001  (only used in messages)
        return "the server"
    from ..dialects import for_backend

    default = for_backend(parsed.get_backend_name()).default_port
    port = parsed.port or default
    return f"{parsed.host or 'localhost'}:{port}" if port else parsed.host or "the server"


async def open_connection(engine: AsyncEngine) -> AsyncConnection:
    """``engine.connect()``, started, within the engine's connect timeout. On an engine's first
    connection this covers the dialect's first queries too (server version, settings)."""
    connection = engine.connect()
    await bounded(connection.start(), server_address(engine.url), _connect_timeouts.get(engine.sync_engine))
    return connection


#: Compiled statements kept per engine we create (SQLAlchemy's default: 500).
COMPILED_CACHE_SIZE = 50


def create_engine_for(
    url: str | URL,
    *,
    direct_sqlite: bool = False,
    pool_size: int = 0,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
) -> AnyEngine:
    """An engine for one command run. ``direct_sqlite``: an aiosqlite URL gets the stdlib driver,
    for work run whole in a worker thread. ``pool_size``: connections kept for reuse until the
    engine is disposed (0: none, each checkout connects afresh). ``connect_timeout``: seconds
    :func:`open_connection` waits for a server (0 or None: as long as the driver does)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(unparsable_url(str(url), exc)) from exc
    if direct_sqlite and parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+pysqlite")
    try:
        dialect_cls = parsed.get_dialect()
    except NoSuchModuleError as exc:
        raise ConfigError(f"unknown database dialect '{parsed.drivername}' in the URL") from exc
    options: dict[str, Any] = {"pool_size": pool_size} if pool_size else {"poolclass": pool.NullPool}
    # A migration's statements are nearly all unique (DDL, Alembic's version UPDATE with the
    # revisions inlined): SQLAlchemy's default cache of 500 compiled statements only holds them
    # until the process ends, ~4 MiB on a 500-revision upgrade. A few dozen keep what repeats.
    options["query_cache_size"] = COMPILED_CACHE_SIZE
    try:
        if dialect_cls.is_async:
            from sqlalchemy.ext.asyncio import create_async_engine

            async_engine = create_async_engine(parsed, **options)
            engine: AnyEngine = async_engine
            sync_engine = async_engine.sync_engine
        else:
            engine = create_engine(parsed, **options)
            sync_engine = engine
    except ModuleNotFoundError as exc:
        raise missing_driver((exc.name or "?").split(".")[0], str(url)) from exc
    if connect_timeout and is_async_engine(engine):
        _connect_timeouts[sync_engine] = connect_timeout
    from ..dialects import for_backend

    for_backend(parsed.get_backend_name()).prepare_engine(sync_engine)
    return engine


async def run_on_connection(engine: AnyEngine, work: Callable[[Any], T]) -> T:
    """Run ``work`` with a synchronous Connection and commit: in this loop when the driver is
    async, in a worker thread otherwise."""
    if is_async_engine(engine):
        connection = await open_connection(engine)
        try:
            result = await connection.run_sync(work)
            await connection.commit()
            return result
        finally:
            await connection.close()

    def sync_work() -> T:
        with engine.connect() as connection:
            result = work(connection)
            connection.commit()
            return result

    return await asyncio.to_thread(sync_work)


async def dispose(engine: AnyEngine) -> None:
    if is_async_engine(engine):
        await engine.dispose()
    else:
        engine.dispose()
