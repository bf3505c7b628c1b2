"""PostgreSQL read directly with asyncpg gives what SQLAlchemy reads, exactly.

``current`` and ``status`` read the version table and the history table with bare asyncpg when
the URL is a plain ``postgresql+asyncpg://`` one. Here the URL parts are checked against
SQLAlchemy's parser and renderer, and each database state (empty, migrated, tables in another
schema or on the search path, views, odd names) is read both ways on the real server and
compared, down to the types and time zones of the history rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from asyncmigrate.config import URL_FROM_ENV, Settings
from asyncmigrate.dialects.postgresql import postgres_target
from asyncmigrate.graph.revisions import GraphUnavailable
from asyncmigrate.tables.read import DatabaseState, _read_with_sqlalchemy, display_url

from .conftest import asyncpg_connect

ACCEPTED = [
    "postgresql+asyncpg://postgres:pw@127.0.0.1:55432/postgres",
    "postgresql+asyncpg://app@db.internal/app",
    "postgresql+asyncpg://app:@localhost:05432/app",
    "postgresql+asyncpg://us%40er:p%2Fa%3Fs%23s%40w:rd@host-1.example.com:6543/mydb",
    "postgresql+asyncpg://a+b:c+d@h/x+y",
    "postgresql+asyncpg://u:p@h:0/d",
    "postgresql+asyncpg://u:%zz%e2%9c%93@h/de",
]
#: Escapes in the database name: SQLAlchemy 2.1 decodes them, 2.0 keeps them as written.
DATABASE_ESCAPES = [
    "postgresql+asyncpg://us%40er:p%2Fa%3Fs%23s%40w:rd@host-1.example.com:6543/my%20db",
    "postgresql+asyncpg://u:%zz%e2%9c%93@h/d%2Fe",
]
REJECTED = [
    "postgresql+asyncpg://u:p@h/d?ssl=require",
    "postgresql+asyncpg://u:p@h/d?",
    "postgresql+asyncpg://u:p@[::1]:5432/d",
    "postgresql+asyncpg://u:p@h1:5432,h2:5432/d",
    "postgresql+asyncpg://u:p@h/",
    "postgresql+asyncpg://u:p@h",
    "postgresql+asyncpg://u:p@/d",
    "postgresql+asyncpg://h/d",
    "postgresql+asyncpg://:p@h/d",
    "postgresql+asyncpg://u:p@h/d/e",
    "postgresql+asyncpg://u:p@w@h/d",
    "postgresql+asyncpg://u:p/w@h/d",
    "postgresql+asyncpg://u:p@h:5432/d#frag",
    "postgresql+asyncpg://u:p@h:123456/d",
    "postgresql+psycopg://u:p@h/d",
    "postgresql://u:p@h/d",
    "POSTGRESQL+ASYNCPG://u:p@h/d",
    "sqlite+aiosqlite:///x.db",
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_accepted_urls_mean_what_they_mean_to_sqlalchemy(url: str) -> None:
    parsed = make_url(url)
    target = postgres_target(url)
    assert target is not None
    assert display_url(url) == parsed.render_as_string(hide_password=True)
    assert target.connect_args() == parsed.get_dialect()().create_connect_args(parsed)[1]


@pytest.mark.parametrize("url", REJECTED + DATABASE_ESCAPES)
def test_anything_else_is_left_to_sqlalchemy(url: str) -> None:
    assert postgres_target(url) is None


@pytest.mark.parametrize("url", DATABASE_ESCAPES)
def test_escaped_database_names_render_as_the_installed_sqlalchemy_does(url: str) -> None:
    assert display_url(url) == make_url(url).render_as_string(hide_password=True)


# -- the same reads, both ways, on the server ---------------------------------------------------


def execute(url: str, *statements: str) -> None:
    async def run() -> None:
        connection = await asyncpg_connect(url)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def settings_for(url: str, **options: object) -> Settings:
    here = Path.cwd()
    return replace(Settings(here, here / "migrations", url, URL_FROM_ENV), **options)  # type: ignore[arg-type]


def read_both_ways(settings: Settings) -> DatabaseState:
    """The state read by asyncpg, after checking SQLAlchemy reads the same, with and without events."""
    target = postgres_target(settings.url)
    assert target is not None
    for events in (False, True):
        direct = target.read(settings, events)
        through_sqlalchemy = _read_with_sqlalchemy(settings, events)
        assert direct == through_sqlalchemy
        for ours, theirs in zip(direct.events or [], through_sqlalchemy.events or [], strict=True):
            assert [type(value) for value in vars(ours).values()] == [
                type(value) for value in vars(theirs).values()
            ]
            assert ours.applied_at.tzinfo == theirs.applied_at.tzinfo
    return direct


HISTORY_DDL = (
    "CREATE TABLE {table} (id SERIAL PRIMARY KEY, revision VARCHAR(64) NOT NULL, event VARCHAR(16) NOT NULL,"
    " checksum VARCHAR(64), applied_at {stamp} NOT NULL, duration_ms INTEGER, host VARCHAR(255), pid INTEGER,"
    " tool_version VARCHAR(32), detail VARCHAR(2000))"
)


def create_tables(url: str, version: str, history: str, *, stamp: str = "TIMESTAMP WITH TIME ZONE") -> None:
    execute(
        url,
        f"CREATE TABLE {version} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        f"INSERT INTO {version} VALUES ('aaaa0001'), ('bbbb0002')",
        HISTORY_DDL.format(table=history, stamp=stamp),
        f"INSERT INTO {history} (revision, event, checksum, applied_at) VALUES"
        " ('aaaa0001', 'adopted', NULL, '2026-01-02 03:04:05.123456+00'),"
        " ('bbbb0002', 'upgrade', 'c0ffee', '2026-06-30 23:59:59+02')",
    )


def test_empty_database(pg_url: str) -> None:
    assert read_both_ways(settings_for(pg_url)) == DatabaseState((), None)


def test_version_and_history_tables(pg_url: str) -> None:
    create_tables(pg_url, "alembic_version", "asyncmigrate_history")
    state = read_both_ways(settings_for(pg_url))
    assert state.current == ("aaaa0001", "bbbb0002")
    assert state.events is not None
    assert [event.checksum for event in state.events] == [None, "c0ffee"]
    assert state.events[1].applied_at == dt.datetime(2026, 6, 30, 21, 59, 59, tzinfo=dt.timezone.utc)
    # a version table without the history table
    execute(pg_url, "DROP TABLE asyncmigrate_history")
    assert read_both_ways(settings_for(pg_url)) == DatabaseState(("aaaa0001", "bbbb0002"), None)


def test_history_without_time_zone(pg_url: str) -> None:
    create_tables(pg_url, "alembic_version", "asyncmigrate_history", stamp="TIMESTAMP")
    state = read_both_ways(settings_for(pg_url))
    assert state.events is not None and state.events[0].applied_at.tzinfo is None


def test_tables_in_another_schema(pg_url: str) -> None:
    execute(pg_url, "CREATE SCHEMA other")
    create_tables(pg_url, "other.alembic_version", "other.asyncmigrate_history")
    assert read_both_ways(settings_for(pg_url)) == DatabaseState((), None)  # not on the search path
    state = read_both_ways(settings_for(pg_url, version_table_schema="other"))
    assert state.current == ("aaaa0001", "bbbb0002") and state.events is not None


def test_tables_found_on_the_search_path(pg_url: str) -> None:
    name = make_url(pg_url).database
    execute(pg_url, "CREATE SCHEMA sp", f'ALTER DATABASE "{name}" SET search_path = sp, public')
    create_tables(pg_url, "sp.alembic_version", "sp.asyncmigrate_history")
    assert read_both_ways(settings_for(pg_url)).current == ("aaaa0001", "bbbb0002")
    # a table of the same name earlier on the path hides it
    execute(
        pg_url,
        f'ALTER DATABASE "{name}" SET search_path = public, sp',
        "CREATE TABLE public.alembic_version (version_num VARCHAR(32))",
    )
    assert read_both_ways(settings_for(pg_url)).current == ()


def test_views_and_odd_names(pg_url: str) -> None:
    create_tables(pg_url, '"My ""Versions"""', '"History Of It"')
    settings = settings_for(pg_url, version_table='My "Versions"', history_table="History Of It")
    assert read_both_ways(settings).current == ("aaaa0001", "bbbb0002")
    execute(
        pg_url,
        'CREATE VIEW "Version View" AS SELECT * FROM "My ""Versions"""',
        'CREATE MATERIALIZED VIEW "history mv" AS SELECT * FROM "History Of It"',
    )
    state = read_both_ways(replace(settings, version_table="Version View", history_table="history mv"))
    assert state.current == ("aaaa0001", "bbbb0002") and state.events is not None
    # lower case only matches lower case: the unquoted name is another table
    assert read_both_ways(replace(settings, version_table="version view")).current == ()


def test_names_longer_than_postgresql_keeps(pg_url: str) -> None:
    """PostgreSQL truncates the table's name; has_table compares the whole name, so neither
    way finds it (and neither reads the truncated table)."""
    long_name = "v" * 70
    execute(
        pg_url,
        f"CREATE TABLE {long_name} (version_num VARCHAR(32) NOT NULL)",
        f"INSERT INTO {long_name} VALUES ('x')",
    )
    assert read_both_ways(settings_for(pg_url, version_table=long_name)).current == ()


def test_errors_leave_the_words_to_sqlalchemy(pg_url: str) -> None:
    parsed = make_url(pg_url)
    for url in [
        parsed.set(password="wrong"),
        parsed.set(database="no_such_db"),
        parsed.set(host="127.0.0.1", port=1),
    ]:
        target = postgres_target(url.render_as_string(hide_password=False))
        assert target is not None
        with pytest.raises(GraphUnavailable):
            target.read(settings_for(url.render_as_string(hide_password=False)), True)
    # a version table that is not one
    execute(pg_url, "CREATE TABLE alembic_version (revision TEXT)")
    target = postgres_target(pg_url)
    assert target is not None
    with pytest.raises(GraphUnavailable):
        target.read(settings_for(pg_url), False)
