"""The apply lock: one migrator at a time per database, whatever the number of replicas.

Every command that writes (upgrade, downgrade, stamp) holds it for its whole run.

* PostgreSQL: a *session* advisory lock, on a connection of its own (never the one migrations
  run on, so ``autocommit_block`` and per-revision commits cannot release it), taken by polling
  ``pg_try_advisory_lock`` with backoff. A blocking ``pg_advisory_lock`` would sit in a
  transaction that ``CREATE INDEX CONCURRENTLY`` in the holder waits for: a deadlock.
* MySQL / MariaDB: ``GET_LOCK(name, 0)`` on a connection of its own, polled the same way.
* SQLite: an exclusive ``flock`` on a file next to the database, which every process on the
  machine respects.

All three are released by the server or the OS when the holder dies, even by SIGKILL: no lock is
ever left behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine, make_url

from ..errors import AsyncMigrateError

if TYPE_CHECKING:
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


def lock_key(database: str, version_table: str, schema: str | None) -> int:
    """A stable signed 64-bit key from the database and version table names."""
    digest = hashlib.sha256(f"asyncmigrate:{database}:{schema or ''}.{version_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _identity() -> str:
    return f"asyncmigrate on {socket.gethostname()} pid {os.getpid()}"


def _user() -> str:
    """This process's user, by name where the system knows it."""
    try:
        import pwd

        return f"user {pwd.getpwuid(os.geteuid()).pw_name}"
    except (ImportError, KeyError):
        return f"uid {os.geteuid()}"


def _owner_and_mode(path: Path) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        return exc.strerror or "cannot stat it"
    try:
        import pwd

        owner = pwd.getpwuid(info.st_uid).pw_name
    except (ImportError, KeyError):
        owner = str(info.st_uid)
    return f"owner {owner}, mode {info.st_mode & 0o777:o}"


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

        return (await asyncio.to_thread(run))()

    async def close(self) -> None:
        await asyncio.to_thread(self._connection.close)


class _ConnectionLock(ApplyLock):
    """A lock that lives on a dedicated connection in autocommit mode."""

    def __init__(self, engine: AsyncEngine | Engine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | _ThreadedConnection | None = None

    async def _open(self) -> None:
        from .connect import is_async_engine, open_connection

        if not is_async_engine(self._engine):
            engine = self._engine.execution_options(isolation_level="AUTOCOMMIT")
            self._connection = _ThreadedConnection(await asyncio.to_thread(engine.connect))
            return
        connection = await open_connection(self._engine)
        self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def _scalar(self, sql: str, **params: Any) -> Any:
        assert self._connection is not None
        return (await self._connection.execute(text(sql), params)).scalar()

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


class PostgresApplyLock(_ConnectionLock):
    def __init__(self, engine: AsyncEngine | Engine, key: int) -> None:
        super().__init__(engine)
        self.key = key
        self._held = False

    async def _open(self) -> None:
        await super()._open()
        name = _identity()[:63]
        await self._scalar("SELECT set_config('application_name', :name, false)", name=name)

    async def _try(self) -> bool:
        self._held = bool(await self._scalar("SELECT pg_try_advisory_lock(:key)", key=self.key))
        return self._held

    async def _unlock(self) -> None:
        if self._held:
            await self._scalar("SELECT pg_advisory_unlock(:key)", key=self.key)
            self._held = False

    async def holder(self) -> LockHolder | None:
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        row = None
        assert self._connection is not None
        result = await self._connection.execute(
            text(
                "SELECT a.pid, a.application_name, a.client_addr, a.backend_start"
                " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
                " AND l.classid = :high AND l.objid = :low"
                " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF},
        )
        row = result.first()
        if row is None:
            return None
        pid, application, address, since = row
        where = f" from {address}" if address else ""
        return LockHolder(
            f"server pid {pid} '{application or '?'}'{where}, connected since {since:%Y-%m-%d %H:%M:%S%z}"
        )


class MySQLApplyLock(_ConnectionLock):
    def __init__(self, engine: AsyncEngine | Engine, name: str) -> None:
        super().__init__(engine)
        self.name = name
        self._held = False

    async def _try(self) -> bool:
        self._held = (await self._scalar("SELECT GET_LOCK(:name, 0)", name=self.name)) == 1
        return self._held

    async def _unlock(self) -> None:
        if self._held:
            await self._scalar("SELECT RELEASE_LOCK(:name)", name=self.name)
            self._held = False

    async def holder(self) -> LockHolder | None:
        assert self._connection is not None
        owner = await self._scalar("SELECT IS_USED_LOCK(:name)", name=self.name)
        if owner is None:
            return None
        row = (
            await self._connection.execute(
                text("SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = :id"),
                {"id": owner},
            )
        ).first()
        if row is None:
            return LockHolder(f"connection {owner}")
        return LockHolder(f"connection {owner} ({row[0]}@{row[1]}, for {row[2]}s)")


class SQLiteApplyLock(ApplyLock):
    """``flock`` on ``<database>.asyncmigrate.lock``; the file names the holder.

    Not a lock on the database file itself: opening and closing a second descriptor on it drops
    the POSIX locks SQLite holds in this process (SQLite's "how to corrupt" list), and on NFS
    ``flock`` is emulated with those very locks. Several OS users may migrate one database: the
    lock file takes the database's mode and group, and a user who cannot write it still takes
    the lock through a read-only descriptor (``flock`` needs no write access)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".asyncmigrate.lock")
        self._fd: int | None = None
        self._writable = False
        self._held = False

    async def _open(self) -> None:
        if not self.path.parent.is_dir():
            raise AsyncMigrateError(
                f"cannot open the SQLite database {self.database}:"
                f" directory {self.path.parent} does not exist"
            )
        self._fd, self._writable = self._open_lock_file()
        if self._writable:
            self._share_like_database()

    def _open_lock_file(self) -> tuple[int, bool]:
        for _ in range(3):  # a holder may remove it between our tries
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666), True
            except FileExistsError:
                pass
            except OSError as exc:
                raise AsyncMigrateError(
                    f"cannot take the apply lock of {self.database}: cannot create {self.path}"
                    f" ({exc.strerror}); the directory must be writable by {_user()}"
                    " (SQLite writes its journal there too)"
                ) from exc
            for flags, writable in ((os.O_RDWR, True), (os.O_RDONLY, False)):
                try:
                    return os.open(self.path, flags), writable
                except FileNotFoundError:
                    break
                except OSError:  # EACCES, or EROFS for writing
                    continue
            else:
                raise AsyncMigrateError(
                    f"cannot take the apply lock of {self.database}: {self.path} is not readable by"
                    f" {_user()} ({_owner_and_mode(self.path)}); make it readable by everyone who"
                    " migrates this database (chmod a+r), or remove it when no migration runs"
                )
        raise AsyncMigrateError(f"cannot take the apply lock of {self.database}: {self.path} keeps vanishing")

    def _share_like_database(self) -> None:
        """Give the lock file the database's permission bits and group, so every user who may
        write the database may write the lock too (a file of ours only: others' stay as is)."""
        assert self._fd is not None
        try:
            database = os.stat(self.database)
            mine = os.fstat(self._fd)
        except OSError:
            return  # no database yet: the umask decides, as it does for the database file
        if mine.st_uid != os.geteuid():
            return
        try:
            if mine.st_gid != database.st_gid:
                os.fchown(self._fd, -1, database.st_gid)
            if mine.st_mode & 0o777 != database.st_mode & 0o666:
                os.fchmod(self._fd, database.st_mode & 0o666)
        except OSError:
            pass  # not a member of the database's group: the read-only fallback still works

    async def _try(self) -> bool:
        import fcntl

        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        if self._writable:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{_identity()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        return True

    async def holder(self) -> LockHolder | None:
        try:
            content = self.path.read_text().strip()
        except OSError:
            return None
        return LockHolder(content) if content else None

    async def _close(self) -> None:
        if self._fd is not None:
            if self._held and self._writable:
                # a later holder that may not write the file must not appear to be this one
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
            self._held = False


class NoLock(ApplyLock):
    """In-memory SQLite: nobody else can see the database."""

    async def _try(self) -> bool:
        return True


def apply_lock_for(
    engine: AsyncEngine | Engine | None, url: URL | str, version_table: str, version_table_schema: str | None
) -> ApplyLock:
    """The right lock for the database behind ``engine`` (None for SQLite, which needs none)."""
    from ..dialects import for_url

    parsed = make_url(url)
    return for_url(parsed).apply_lock(engine, parsed, version_table, version_table_schema)
