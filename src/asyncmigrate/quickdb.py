"""Read the version table and the history table, in one connection, without Alembic.

``current`` and ``status`` only read two small tables. On SQLite that needs neither SQLAlchemy
(a third of a second to import) nor aiosqlite: the standard library's ``sqlite3`` sends the
queries SQLAlchemy and Alembic send (``PRAGMA main.table_info`` for ``has_table``, then a plain
``SELECT``) to the same file. Only URLs whose meaning is unambiguous are read that way; an error
there raises :class:`GraphUnavailable`, so the caller repeats the command through SQLAlchemy,
which reports it in its usual words. Other databases are read through SQLAlchemy, with the
engine the Migrator would create and Alembic's own ``has_table`` and ``SELECT``, but without
importing Alembic; their errors are the Migrator's errors.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import Settings
from .integrity import Event
from .revgraph import GraphUnavailable

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: ``sqlite[+driver]:///path`` with only characters that SQLAlchemy's URL parser and renderer
#: leave as they are, so the path and the URL shown by ``status`` are the same as through it.
_SQLITE_URL = re.compile(r"sqlite(?:\+(?:aiosqlite|pysqlite))?:///([A-Za-z0-9+\-./_~ ]+)")
#: How SQLAlchemy's SQLite ``DateTime`` stores a value.
_STORED_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?")


@dataclass(frozen=True)
class DatabaseState:
    """What the version table says, and the history table's events (None: no such table)."""

    current: tuple[str, ...]
    events: list[Event] | None


def sqlite_file(url: str) -> str | None:
    """The database file of a plain SQLite URL, as SQLAlchemy's pysqlite dialect opens it."""
    match = _SQLITE_URL.fullmatch(url)
    if match is None or match.group(1) == ":memory:":
        return None
    return os.path.abspath(match.group(1))


def display_url(url: str) -> str:
    """The URL as ``status`` shows it: SQLAlchemy's rendering, password hidden."""
    if sqlite_file(url) is not None:
        return url  # renders to itself (no user, password, host or query)
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_state(settings: Settings, *, events: bool) -> DatabaseState:
    """The current revisions (and, with ``events``, the history events) of the database."""
    path = sqlite_file(settings.url)
    if path is not None and settings.version_table_schema is None:
        return _read_sqlite(path, settings, events)
    return _read_with_sqlalchemy(settings, events)


def _read_sqlite(path: str, settings: Settings, events: bool) -> DatabaseState:
    try:
        connection = sqlite3.connect(path)
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


def _read_with_sqlalchemy(settings: Settings, events: bool) -> DatabaseState:
    """What ``Migrator.current``/``status`` read, on the same kind of engine (``Runner``)."""
    from .engines import create_engine_for, dispose, run_on_connection

    if settings.url.split(":", 1)[0].split("+")[0] not in ("postgresql", "mysql", "mariadb", "sqlite"):
        raise GraphUnavailable("a database Alembic may not support: let it say so")
    engine = create_engine_for(settings.url)

    def read(connection: Connection) -> DatabaseState:
        from sqlalchemy import Column, MetaData, String, Table, select

        from .integrity import history_table, read_events

        version = Table(
            settings.version_table,
            MetaData(),
            Column("version_num", String(32), nullable=False),
            schema=settings.version_table_schema,
        )
        current: tuple[str, ...] = ()
        # MigrationContext.get_current_heads: the dialect's has_table, then the SELECT
        if connection.dialect.has_table(connection, settings.version_table, settings.version_table_schema):
            current = tuple(row[0] for row in connection.execute(select(version.c.version_num)))
        history = None
        if events:
            history = read_events(
                connection, history_table(settings.history_table, settings.version_table_schema)
            )
        return DatabaseState(current, history)

    async def run() -> DatabaseState:
        try:
            return await run_on_connection(engine, read)
        finally:
            await dispose(engine)

    import asyncio

    return asyncio.run(run())


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    """SQLAlchemy's SQLite ``has_table``: ``PRAGMA main.table_info``, then ``temp``."""
    for schema in ("main", "temp"):
        if connection.execute(f"PRAGMA {schema}.table_info({_quote(name)})").fetchall():
            return True
    return False


def _stored_datetime(value: object) -> dt.datetime:
    if not isinstance(value, str) or not _STORED_DATETIME.fullmatch(value):
        raise GraphUnavailable(f"unexpected stored datetime {value!r}")
    return dt.datetime.fromisoformat(value)
