"""The apply lock: one migrator at a time per database, whatever the number of replicas.

Every command that writes (upgrade, downgrade, stamp) holds it for its whole run.

Here: the polling with backoff, the reports of who holds it, and :class:`ConnectionLock` (a lock
that lives on a connection of its own). Each database's lock is in its module under
``dialects/`` (``Database.apply_lock``): PostgreSQL's session advisory lock, MySQL's
``GET_LOCK``, SQLite's ``flock`` on a file beside the database. Each is released by the server
or the OS when the holder dies, even by SIGKILL: no lock is ever left behind.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AsyncMigrateError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_FIRST_DELAY = 0.05
_MAX_DELAY = 1.0
_REPORT_EVERY = 5.0


class LockTimeout(AsyncMigrateError):
    """Another process held the apply lock for longer than we were told to wait."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds the apply lock, as far as the database can tell."""

    description: str


WaitCallback = Callable[[LockHolder | None, float], None]


def identity() -> str:
    """How a holder names itself where the database shows it (PostgreSQL, the SQLite lock file)."""
    return f"asyncmigrate on {socket.gethostname()} pid {os.getpid()}"


def this_user() -> str:
    """This process's user, by name where the system knows it."""
    try:
        import pwd

        return f"user {pwd.getpwuid(os.geteuid()).pw_name}"
    except (ImportError, KeyError):
        return f"uid {os.geteuid()}"


class ApplyLock:
    """Acquire by polling with backoff; report the holder while waiting."""

    async def _try(self) -> bool:
        raise NotImplementedError

    async def holder(self) -> LockHolder | None:
        return None

    async def _open(self) -> None:
        """Open whatever the lock lives on (a connection, a file)."""

    async def _close(self) -> None:
        """Release the lock and close what it lives on."""

    async def acquire(self, wait: float | None, on_wait: WaitCallback | None = None) -> None:
        """Take the lock, waiting up to ``wait`` seconds (None: forever, 0: fail at once)."""
        import asyncio  # not at the top: the read commands import the locks' modules, not asyncio

        await self._open()
        try:
            started = time.monotonic()
            delay = _FIRST_DELAY
            next_report = 0.0
            while not await self._try():
                waited = time.monotonic() - started
                if wait is not None and waited >= wait:
                    holder = await self.holder()
                    who = f" (held by {holder.description})" if holder else ""
                    raise LockTimeout(
                        f"another migration holds the apply lock{who}; gave up after {waited:.1f}s"
                        if wait
                        else f"another migration holds the apply lock{who} (--no-wait)"
                    )
                if on_wait is not None and waited >= next_report:
                    on_wait(await self.holder(), waited)
                    next_report = waited + _REPORT_EVERY
                pause = delay if wait is None else min(delay, max(wait - waited, 0.0))
                await asyncio.sleep(pause)
                delay = min(delay * 2, _MAX_DELAY)
        except BaseException:
            await self._close()
            raise

    async def release(self) -> None:
        await self._close()


class _ThreadedConnection:
    """What the locks use of an AsyncConnection, over a sync driver's Connection: each call in
    a worker thread, one at a time (a sync env.py's lock needs no async driver)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def execute(self, statement: Any, parameters: dict[str, Any] | None = None) -> Any:
        def run() -> Any:
            return self._connection.execute(statement, parameters or {}).freeze()

        import asyncio

        return (await asyncio.to_thread(run))()

    async def close(self) -> None:
        import asyncio

        await asyncio.to_thread(self._connection.close)


class ConnectionLock(ApplyLock):
    """A lock that lives on a dedicated connection in autocommit mode."""

    def __init__(self, engine: AsyncEngine | Engine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | _ThreadedConnection | None = None

    async def _open(self) -> None:
        from .connect import is_async_engine, open_connection

        if not is_async_engine(self._engine):
            engine = self._engine.execution_options(isolation_level="AUTOCOMMIT")
            import asyncio

            self._connection = _ThreadedConnection(await asyncio.to_thread(engine.connect))
            return
        connection = await open_connection(self._engine)
        self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def _scalar(self, sql: str, **params: Any) -> Any:
        return (await self._execute(sql, **params)).scalar()

    async def _execute(self, sql: str, **params: Any) -> Any:
        from sqlalchemy import text

        assert self._connection is not None
        return await self._connection.execute(text(sql), params)

    async def _unlock(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        if self._connection is None:
            return
        try:
            await self._unlock()
        except Exception:
            pass  # closing the session releases it anyway
        finally:
            await self._connection.close()
            self._connection = None


class NoLock(ApplyLock):
    """In-memory SQLite: nobody else can see the database."""

    async def _try(self) -> bool:
        return True


def apply_lock_for(
    engine: AsyncEngine | Engine | None, url: URL | str, version_table: str, version_table_schema: str | None
) -> ApplyLock:
    """The right lock for the database behind ``engine`` (None for SQLite, which needs none)."""
    from sqlalchemy.engine import make_url

    from ..dialects import for_url

    parsed = make_url(url)
    return for_url(parsed).apply_lock(engine, parsed, version_table, version_table_schema)
