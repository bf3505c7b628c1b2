"""Read the version table and the history table, in one connection, without Alembic.

``current`` and ``status`` only read two small tables. That needs neither SQLAlchemy (a third
of a second to import) nor Alembic: on SQLite the standard library's ``sqlite3``, on PostgreSQL
``asyncpg`` itself, sends the queries SQLAlchemy and Alembic send (``has_table``, then a plain
``SELECT``) to the same database, connected with the same arguments. Only URLs whose meaning is
unambiguous are read that way; an error there raises :class:`GraphUnavailable`, so the caller
repeats the command through SQLAlchemy, which reports it in its usual words. Other databases
are read through SQLAlchemy, with the engine the Migrator would create and Alembic's own
``has_table`` and ``SELECT``, but without importing Alembic; their errors are the Migrator's
errors.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from ..config import Settings
from ..graph.revisions import GraphUnavailable
from .history import Event

if TYPE_CHECKING:
    from asyncpg import Connection as PgConnection
    from sqlalchemy.engine import Connection

#: ``sqlite[+driver]:///path`` with only characters that SQLAlchemy's URL parser and renderer
#: leave as they are, so the path and the URL shown by ``status`` are the same as through it.
_SQLITE_URL = re.compile(r"sqlite(?:\+(?:aiosqlite|pysqlite))?:///([A-Za-z0-9+\-./_~ ]+)")
#: How SQLAlchemy's SQLite ``DateTime`` stores a value.
_STORED_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?")
#: ``postgresql+asyncpg://user[:password]@host[:port]/dbname`` without a query string, in
#: characters that SQLAlchemy's URL parser splits the same way: user and password may be
#: percent-encoded, the host is a plain name or IPv4 address.
_PG_URL = re.compile(
    r"postgresql\+asyncpg://"
    r"(?P<user>[A-Za-z0-9\-._~%!$&'()*+,;=]+)"
    r"(?::(?P<password>[A-Za-z0-9\-._~%!$&'()*+,;=:]*))?"
    r"@(?P<host>[A-Za-z0-9\-._]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"/(?P<database>[A-Za-z0-9\-._~%!$&'()*+,;=]+)"
)
#: ``pg_class.relkind`` of what SQLAlchemy's PostgreSQL ``has_table`` counts as a table.
_PG_TABLE_KINDS = ("r", "p", "f", "v", "m")


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


@dataclass(frozen=True)
class PostgresTarget:
    """A plain asyncpg URL's parts, percent-decoded as SQLAlchemy's ``make_url`` decodes them."""

    user: str
    password: str | None
    host: str
    port: int | None
    database: str

    def connect_args(self) -> dict[str, Any]:
        """What SQLAlchemy's asyncpg dialect passes to ``asyncpg.connect`` for this URL: only
        the parts that are set and not empty (``URL.translate_connect_args``)."""
        args = {
            "host": self.host,
            "database": self.database,
            "user": self.user,
            "password": self.password,
            "port": self.port,
        }
        return {name: value for name, value in args.items() if value}

    def display(self) -> str:
        """``URL.render_as_string(hide_password=True)``."""
        shown = f"postgresql+asyncpg://{quote(self.user, safe=' +')}"
        if self.password is not None:
            shown += ":***"
        shown += f"@{self.host}"
        if self.port is not None:
            shown += f":{self.port}"
        return shown + "/" + quote(self.database, safe=" +/")


def postgres_target(url: str) -> PostgresTarget | None:
    """The parts of a plain ``postgresql+asyncpg://`` URL, or None for anything else."""
    match = _PG_URL.fullmatch(url)
    if match is None:
        return None
    user, password, host, port, database = match.group("user", "password", "host", "port", "database")
    if "%" in database:  # SQLAlchemy 2.1 decodes escapes in the database name, 2.0 does not
        return None
    return PostgresTarget(
        user=unquote(user),
        password=None if password is None else unquote(password),
        host=host,
        port=None if port is None else int(port),
        database=unquote(database),
    )


def display_url(url: str) -> str:
    """The URL as ``status`` shows it: SQLAlchemy's rendering, password hidden."""
    if sqlite_file(url) is not None:
        return url  # renders to itself (no user, password, host or query)
    target = postgres_target(url)
    if target is not None:
        return target.display()
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_state(settings: Settings, *, events: bool) -> DatabaseState:
    """The current revisions (and, with ``events``, the history events) of the database."""
    path = sqlite_file(settings.url)
    if path is not None and settings.version_table_schema is None:
        return _read_sqlite(path, settings, events)
    target = postgres_target(settings.url)
    if target is not None:
        return _read_postgresql(target, settings, events)
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


def _read_postgresql(target: PostgresTarget, settings: Settings, events: bool) -> DatabaseState:
    """Any failure falls back to the Migrator, whose message for it users already know."""
    import asyncio  # here, not at the top: the SQLite path needs no event loop

    from ..apply.server_wait import ConnectTimeout, bounded

    work = _read_asyncpg(target, settings, events)
    where = f"{target.host}:{target.port or 5432}"
    try:
        return asyncio.run(bounded(work, where, settings.connect_timeout))
    except ConnectTimeout:
        raise  # the slower path would only wait as long again
    except Exception as exc:  # wrong password, no server, no asyncpg, an odd table
        raise GraphUnavailable(f"{type(exc).__name__}: {exc}") from exc


async def _read_asyncpg(target: PostgresTarget, settings: Settings, events: bool) -> DatabaseState:
    """What :func:`_read_with_sqlalchemy` reads, as the same statements on a bare connection."""
    import asyncpg

    schema = settings.version_table_schema
    connection = await asyncpg.connect(**target.connect_args())
    try:
        current: tuple[str, ...] = ()
        if await _pg_has_table(connection, settings.version_table, schema):
            rows = await connection.fetch(
                f"SELECT version_num FROM {_pg_table(settings.version_table, schema)}"
            )
            current = tuple(row[0] for row in rows)
        history = None
        if events and await _pg_has_table(connection, settings.history_table, schema):
            rows = await connection.fetch(
                "SELECT id, revision, event, checksum, applied_at"
                f" FROM {_pg_table(settings.history_table, schema)} ORDER BY id"
            )
            history = [Event(*row) for row in rows]
        return DatabaseState(current, history)
    finally:
        await connection.close()


async def _pg_has_table(connection: PgConnection, name: str, schema: str | None) -> bool:
    """SQLAlchemy's PostgreSQL ``has_table``: a table, view or materialized view of that name in
    ``schema``, or visible on the search path (outside ``pg_catalog``) when there is none. The
    names are compared as VARCHAR, as SQLAlchemy binds them, so a name is never truncated."""
    query = (
        "SELECT c.relname FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = $1::VARCHAR AND c.relkind = ANY ($2::VARCHAR[])"
    )
    if schema is None:
        query += " AND pg_catalog.pg_table_is_visible(c.oid) AND n.nspname != 'pg_catalog'"
        return bool(await connection.fetchval(query, name, _PG_TABLE_KINDS))
    query += " AND n.nspname = $3::VARCHAR"
    return bool(await connection.fetchval(query, name, _PG_TABLE_KINDS, schema))


def _pg_table(name: str, schema: str | None) -> str:
    return _quote(name) if schema is None else f"{_quote(schema)}.{_quote(name)}"


def _read_with_sqlalchemy(settings: Settings, events: bool) -> DatabaseState:
    """What ``Migrator.current``/``status`` read, on the same kind of engine (``Runner``)."""
    from ..apply.connect import create_engine_for, dispose, run_on_connection

    if settings.url.split(":", 1)[0].split("+")[0] not in ("postgresql", "mysql", "mariadb", "sqlite"):
        raise GraphUnavailable("a database Alembic may not support: let it say so")
    engine = create_engine_for(settings.url, connect_timeout=settings.connect_timeout)

    def read(connection: Connection) -> DatabaseState:
        from sqlalchemy import Column, MetaData, String, Table, select

        from .history import history_table, read_events

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
