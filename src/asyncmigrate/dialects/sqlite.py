"""SQLite: a file (or memory); the apply lock is a lock file beside it; no session timeouts;
the version tables read with the standard library's ``sqlite3``."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..apply.lock import ApplyLock, LockHolder, NoLock, identity, this_user
from ..errors import AsyncMigrateError
from . import Database

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..config import Settings
    from ..tables.read import DatabaseState


class SQLite(Database):
    backends: ClassVar[tuple[str, ...]] = ("sqlite",)
    # (PostgreSQL allows 1600 columns a table, SQLite 2000)
    mirror_width: ClassVar[int] = 1000
    async_driver: ClassVar[str] = "aiosqlite"
    extra: ClassVar[str] = "sqlite"
    embedded: ClassVar[bool] = True
    # ALTER TABLE can do little on SQLite: autogenerate writes batch (copy-and-move) operations
    render_as_batch: ClassVar[bool] = True
    fingerprint_sql: ClassVar[str | None] = (
        "SELECT tbl_name, group_concat(coalesce(sql, name), ';') FROM"
        " (SELECT tbl_name, sql, name FROM sqlite_master WHERE type IN ('table', 'index')"
        " ORDER BY tbl_name, type DESC, name) GROUP BY tbl_name"
    )

    def index_sql(self, connection: Connection, schema: str | None, name: str) -> str | None:
        master = f'"{schema}".sqlite_master' if schema else "sqlite_master"
        row = connection.exec_driver_sql(
            f"SELECT sql FROM {master} WHERE type = 'index' AND name = ?", (name,)
        ).first()
        return row[0] if row and row[0] else None

    def same_default(self, connection: Connection, first: str, second: str, type_sql: str) -> bool:
        # SQLite keeps a default as written: 0 and '0' are one BOOLEAN or INTEGER value once the
        # column's affinity applies (CAST applies it). Constant expressions only: no column is named.
        from sqlalchemy.exc import SQLAlchemyError

        try:
            same = connection.exec_driver_sql(
                f"SELECT CAST(({first}) AS {type_sql}) IS CAST(({second}) AS {type_sql})"
            ).scalar()
        except SQLAlchemyError:
            return False
        return bool(same)

    def prepare_engine(self, engine: Engine) -> None:
        """The driver's own transaction handling off, SQLAlchemy's BEGIN on: DDL then rolls back
        with the revision (pysqlite and aiosqlite would commit before it)."""
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    def identity(self, url: URL) -> tuple[str | None, int | None, str | None]:
        database = url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            database = os.path.abspath(database)
        return None, None, database

    def is_lock_timeout(self, error: BaseException) -> bool:
        return False  # "database is locked" is the busy timeout: another writer, not a DDL lock

    def cancels_statements(self, driver: str) -> bool:
        return False  # the stop request interrupts sqlite3 itself (apply/environment.py)

    def apply_lock(
        self,
        engine: AsyncEngine | Engine | None,
        url: URL,
        version_table: str,
        version_table_schema: str | None,
    ) -> ApplyLock:
        database = url.database or ""
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return NoLock()  # nobody else can see an in-memory database
        return SQLiteApplyLock(Path(database).resolve())

    def direct_tables(self, url: str) -> SqliteFile | None:
        path = sqlite_file(url)
        return None if path is None else SqliteFile(path, url)

    def wipe(self, connection: Connection) -> None:
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        rows = connection.exec_driver_sql(
            "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'table')"
            " AND name NOT LIKE 'sqlite_%' ORDER BY type DESC"
        ).all()
        for kind, object_name in rows:
            connection.exec_driver_sql(f'DROP {kind.upper()} IF EXISTS "{object_name}"')


# -- the apply lock ---------------------------------------------------------------------------


def owner_and_mode(path: Path) -> str:
    """Who owns ``path`` and its permission bits, for a message."""
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
                    f" ({exc.strerror}); the directory must be writable by {this_user()}"
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
                    f" {this_user()} ({owner_and_mode(self.path)}); make it readable by everyone who"
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
            os.pwrite(self._fd, f"{identity()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
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


# -- the version tables read with sqlite3 ------------------------------------------------------

#: ``sqlite[+driver]:///path`` with only characters that SQLAlchemy's URL parser and renderer
#: leave as they are, so the path and the URL shown by ``status`` are the same as through it.
_SQLITE_URL = re.compile(r"sqlite(?:\+(?:aiosqlite|pysqlite))?:///([A-Za-z0-9+\-./_~ ]+)")
#: How SQLAlchemy's SQLite ``DateTime`` stores a value.
_STORED_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?")


def sqlite_file(url: str) -> str | None:
    """The database file of a plain SQLite URL, as SQLAlchemy's pysqlite dialect opens it."""
    match = _SQLITE_URL.fullmatch(url)
    if match is None or match.group(1) == ":memory:":
        return None
    return os.path.abspath(match.group(1))


@dataclass(frozen=True)
class SqliteFile:
    """A plain SQLite URL's file, read with ``sqlite3`` as SQLAlchemy's ``has_table`` and
    Alembic's ``SELECT`` read it."""

    path: str
    url: str

    def display(self) -> str:
        return self.url  # renders to itself (no user, password, host or query)

    def reads(self, settings: Settings) -> bool:
        return settings.version_table_schema is None  # an attached database: SQLAlchemy's path

    def read(self, settings: Settings, events: bool) -> DatabaseState:
        from ..graph.revisions import GraphUnavailable
        from ..tables.history import Event
        from ..tables.read import DatabaseState

        try:
            connection = sqlite3.connect(self.path)
        except sqlite3.Error as exc:
            raise GraphUnavailable(str(exc)) from exc
        try:
            current: tuple[str, ...] = ()
            if _has_table(connection, settings.version_table):
                rows = connection.execute(f"SELECT version_num FROM {_quote(settings.version_table)}")
                current = tuple(row[0] for row in rows)
            history = None
            if events and _has_table(connection, settings.history_table):
                rows = connection.execute(
                    f"SELECT id, revision, event, checksum, applied_at FROM {_quote(settings.history_table)}"
                    " ORDER BY id"
                )
                history = [
                    Event(id_, rev, kind, digest, _stored_datetime(at)) for id_, rev, kind, digest, at in rows
                ]
            return DatabaseState(current, history)
        except sqlite3.Error as exc:
            raise GraphUnavailable(str(exc)) from exc
        finally:
            connection.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    """SQLAlchemy's SQLite ``has_table``: ``PRAGMA main.table_info``, then ``temp``."""
    for schema in ("main", "temp"):
        if connection.execute(f"PRAGMA {schema}.table_info({_quote(name)})").fetchall():
            return True
    return False


def _stored_datetime(value: object) -> dt.datetime:
    from ..graph.revisions import GraphUnavailable

    if not isinstance(value, str) or not _STORED_DATETIME.fullmatch(value):
        raise GraphUnavailable(f"unexpected stored datetime {value!r}")
    return dt.datetime.fromisoformat(value)
