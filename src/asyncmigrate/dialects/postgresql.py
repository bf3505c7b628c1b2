"""PostgreSQL: transactional DDL, session timeouts, an advisory lock, INVALID index cleanup, and
the version tables read with asyncpg alone."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, unquote

from ..apply.lock import ConnectionLock, LockHolder, identity
from ..errors import sqlstate
from . import Database

if TYPE_CHECKING:
    from asyncpg import Connection as PgConnection
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ..apply.environment import ApplyOptions
    from ..apply.lock import ApplyLock
    from ..config import Settings
    from ..tables.read import DatabaseState


class PostgreSQL(Database):
    backends: ClassVar[tuple[str, ...]] = ("postgresql",)
    # (PostgreSQL allows 1600 columns a table, SQLite 2000)
    mirror_width: ClassVar[int] = 50
    async_driver: ClassVar[str] = "asyncpg"
    extra: ClassVar[str] = "postgresql"
    default_port: ClassVar[int | None] = 5432
    declared_objects: ClassVar[bool] = True
    alter_type_using: ClassVar[bool] = True
    leaves_invalid_indexes: ClassVar[bool] = True  # a failed CREATE INDEX CONCURRENTLY

    def prepare_engine(self, engine: Engine) -> None:
        from ..apply import direct_statements

        direct_statements.install(engine)  # DDL in one simple-query round trip on asyncpg

    def timeout_statements(self, dialect: Any, options: ApplyOptions) -> list[str]:
        return [
            f"SET lock_timeout = '{int(options.lock_timeout * 1000)}ms'",
            f"SET statement_timeout = '{int(options.statement_timeout * 1000)}ms'",
        ]

    def reset_statements(self, dialect: Any) -> list[str]:
        return ["RESET lock_timeout", "RESET statement_timeout"]

    def is_lock_timeout(self, error: BaseException) -> bool:
        # 55P03 lock_not_available; the text for drivers that do not carry the code
        return sqlstate(error) == "55P03" or "lock timeout" in str(error)

    def cancels_statements(self, driver: str) -> bool:
        # asyncpg cancels the running statement when its task is cancelled; the revision's
        # transaction then rolls back, DDL included
        return driver == "asyncpg"

    def apply_lock(
        self,
        engine: AsyncEngine | Engine | None,
        url: URL,
        version_table: str,
        version_table_schema: str | None,
    ) -> ApplyLock:
        assert engine is not None
        return PostgresApplyLock(engine, lock_key(url.database or "", version_table, version_table_schema))

    def invalid_indexes(self, connection: Connection) -> list[str]:
        rows = connection.exec_driver_sql(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid ORDER BY 1"
        )
        return [row[0] for row in rows]

    def direct_tables(self, url: str) -> PostgresTarget | None:
        return postgres_target(url)

    # -- throwaway databases for the tests ------------------------------------------------------

    def create_database_sql(self, name: str, template: str | None = None) -> str:
        suffix = f' TEMPLATE "{template}"' if template else ""
        return f'CREATE DATABASE "{name}"{suffix}'

    def drop_database_sql(self, name: str) -> str:
        return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'

    def may_not_create(self, error: BaseException, name: str) -> bool:
        return sqlstate(error) == "42501"  # insufficient_privilege

    def grant_to_create(self, role: str) -> str:
        return f'ALTER ROLE "{role}" CREATEDB'

    def partitions(self, connection: Connection, schema: str | None) -> set[str]:
        from sqlalchemy import text

        rows = connection.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relispartition AND n.nspname = coalesce(:schema, current_schema())"
            ),
            {"schema": schema},
        )
        return {name for (name,) in rows}

    def casts_by_itself(self, connection: Connection, old_sql: str, new_sql: str) -> bool | None:
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        try:
            with connection.begin_nested():  # a type spelling it cannot parse (a COLLATE) fails
                row = connection.execute(text(_CASTS_BY_ITSELF), {"old": old_sql, "new": new_sql}).first()
        except DBAPIError:
            return None
        return None if row is None else bool(row[0])

    def wipe(self, connection: Connection) -> None:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")

    fingerprint_sql: ClassVar[str | None] = (
        "SELECT c.relname, concat_ws(';',"
        " (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '"
        "   || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')"
        "   || a.attidentity::text || a.attgenerated::text || coalesce(col_description(c.oid, a.attnum), ''),"
        "   ',' ORDER BY a.attnum)"
        "  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        "  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),"
        " (SELECT string_agg(con.conname || ' ' || pg_get_constraintdef(con.oid), ',' ORDER BY con.conname)"
        "  FROM pg_constraint con WHERE con.conrelid = c.oid),"
        " (SELECT string_agg(pg_get_indexdef(i.indexrelid), ',' ORDER BY i.indexrelid::regclass::text)"
        "  FROM pg_index i WHERE i.indrelid = c.oid))"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"
    )


# -- the apply lock ---------------------------------------------------------------------------


def lock_key(database: str, version_table: str, schema: str | None) -> int:
    """A stable signed 64-bit key from the database and version table names."""
    digest = hashlib.sha256(f"asyncmigrate:{database}:{schema or ''}.{version_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresApplyLock(ConnectionLock):
    """A *session* advisory lock on a connection of its own (never the one migrations run on, so
    ``autocommit_block`` and per-revision commits cannot release it), taken by polling
    ``pg_try_advisory_lock``: a blocking ``pg_advisory_lock`` would sit in a transaction that
    ``CREATE INDEX CONCURRENTLY`` in the holder waits for, a deadlock."""

    def __init__(self, engine: AsyncEngine | Engine, key: int) -> None:
        super().__init__(engine)
        self.key = key
        self._held = False

    async def _open(self) -> None:
        await super()._open()
        await self._scalar("SELECT set_config('application_name', :name, false)", name=identity()[:63])

    async def _try(self) -> bool:
        self._held = bool(await self._scalar("SELECT pg_try_advisory_lock(:key)", key=self.key))
        return self._held

    async def _unlock(self) -> None:
        if self._held:
            await self._scalar("SELECT pg_advisory_unlock(:key)", key=self.key)
            self._held = False

    async def holder(self) -> LockHolder | None:
        unsigned = self.key & 0xFFFFFFFFFFFFFFFF
        result = await self._execute(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid = :high AND l.objid = :low"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            high=unsigned >> 32,
            low=unsigned & 0xFFFFFFFF,
        )
        row = result.first()
        if row is None:
            return None
        pid, application, address, since = row
        where = f" from {address}" if address else ""
        return LockHolder(
            f"server pid {pid} '{application or '?'}'{where}, connected since {since:%Y-%m-%d %H:%M:%S%z}"
        )


# -- the version tables read with asyncpg alone ---------------------------------------------

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

    def reads(self, settings: Settings) -> bool:
        return True

    def read(self, settings: Settings, events: bool) -> DatabaseState:
        """Any failure falls back to the Migrator, whose message for it users already know."""
        import asyncio  # here, not at the top: the SQLite path needs no event loop

        from ..apply.server_wait import ConnectTimeout, bounded
        from ..graph.revisions import GraphUnavailable

        where = f"{self.host}:{self.port or PostgreSQL.default_port}"
        try:
            return asyncio.run(bounded(self._read(settings, events), where, settings.connect_timeout))
        except ConnectTimeout:
            raise  # the slower path would only wait as long again
        except Exception as exc:  # wrong password, no server, no asyncpg, an odd table
            raise GraphUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def _read(self, settings: Settings, events: bool) -> DatabaseState:
        """What ``tables.read`` reads through SQLAlchemy, as the same statements on a bare
        connection."""
        import asyncpg

        from ..tables.history import Event
        from ..tables.read import DatabaseState

        schema = settings.version_table_schema
        connection = await asyncpg.connect(**self.connect_args())
        try:
            current: tuple[str, ...] = ()
            if await _has_table(connection, settings.version_table, schema):
                rows = await connection.fetch(
                    f"SELECT version_num FROM {_table(settings.version_table, schema)}"
                )
                current = tuple(row[0] for row in rows)
            history = None
            if events and await _has_table(connection, settings.history_table, schema):
                rows = await connection.fetch(
                    "SELECT id, revision, event, checksum, applied_at"
                    f" FROM {_table(settings.history_table, schema)} ORDER BY id"
                )
                history = [Event(*row) for row in rows]
            return DatabaseState(current, history)
        finally:
            await connection.close()


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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table(name: str, schema: str | None) -> str:
    return _quote(name) if schema is None else f"{_quote(schema)}.{_quote(name)}"


async def _has_table(connection: PgConnection, name: str, schema: str | None) -> bool:
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


#: Whether ALTER COLUMN ... TYPE converts by itself: the same type (another length), an implicit or
#: assignment cast, or text output into a string type (which PostgreSQL allows on assignment
#: where no cast is listed); an array to an array as its elements. No row: a type it does not
#: know yet (an enum this revision creates).
_CASTS_BY_ITSELF = """
WITH pair AS (
    SELECT CASE WHEN s.typcategory = 'A' AND t.typcategory = 'A' THEN s.typelem ELSE s.oid END AS source,
           CASE WHEN s.typcategory = 'A' AND t.typcategory = 'A' THEN t.typelem ELSE t.oid END AS target
    FROM pg_type s, pg_type t
    WHERE s.oid = to_regtype(:old) AND t.oid = to_regtype(:new)
)
SELECT pair.source = pair.target
    OR EXISTS (SELECT 1 FROM pg_cast c WHERE c.castsource = pair.source AND c.casttarget = pair.target
               AND c.castcontext IN ('i', 'a'))
    OR (t.typcategory = 'S' AND NOT EXISTS (
        SELECT 1 FROM pg_cast c WHERE c.castsource = pair.source AND c.casttarget = pair.target))
FROM pair JOIN pg_type t ON t.oid = pair.target
"""
