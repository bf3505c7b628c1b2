"""Read the version table and the history table, in one connection, without Alembic.

``current`` and ``status`` only read two small tables. That needs neither SQLAlchemy (a third
of a second to import) nor Alembic: a database's module (``Database.direct_tables``: on SQLite
the standard library's ``sqlite3``, on PostgreSQL ``asyncpg`` itself) sends the queries
SQLAlchemy and Alembic send (``has_table``, then a plain ``SELECT``) to the same database,
connected with the same arguments. Only URLs whose meaning is
unambiguous are read that way; an error there raises :class:`GraphUnavailable`, so the caller
repeats the command through SQLAlchemy, which reports it in its usual words. Other databases
are read through SQLAlchemy, with the engine the Migrator would create and Alembic's own
``has_table`` and ``SELECT``, but without importing Alembic; their errors are the Migrator's
errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Settings
from ..dialects import for_scheme, is_known
from ..graph.revisions import GraphUnavailable
from .history import Event

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class DatabaseState:
    """What the version table says, and the history table's events (None: no such table)."""

    current: tuple[str, ...]
    events: list[Event] | None


def display_url(url: str) -> str:
    """The URL as ``status`` shows it: SQLAlchemy's rendering, password hidden."""
    direct = for_scheme(url).direct_tables(url)
    if direct is not None:
        return direct.display()
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def read_state(settings: Settings, *, events: bool) -> DatabaseState:
    """The current revisions (and, with ``events``, the history events) of the database."""
    direct = for_scheme(settings.url).direct_tables(settings.url)
    if direct is not None and direct.reads(settings):
        return direct.read(settings, events)
    return _read_with_sqlalchemy(settings, events)


def _read_with_sqlalchemy(settings: Settings, events: bool) -> DatabaseState:
    """What ``Migrator.current``/``status`` read, on the same kind of engine (``Runner``)."""
    from ..apply.connect import create_engine_for, dispose, run_on_connection

    if not is_known(settings.url):
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
