"""The asyncpg fast paths (apply/direct_statements.py): DDL and the version UPDATE in one
simple-query round trip, the history row riding on that UPDATE (or through asyncpg's statement
cache), with the same transactions, row counts and errors as SQLAlchemy's own path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.util import CommandError
from sqlalchemy import event, text

from asyncmigrate import Migrator
from asyncmigrate.api.migrator import MigrationFailed
from asyncmigrate.apply.connect import create_engine_for
from asyncmigrate.scaffold import init_project

from .conftest import table_columns, version_rows, write_body_revision


@pytest.fixture
def project(tmp_path: Path) -> Path:
    init_project(project_dir=tmp_path, models="unused")
    return tmp_path


def _logged_engine(url: str) -> tuple[Any, list[str]]:
    """Our migration engine, with asyncpg's query logger on every connection: it sees what goes
    through Connection.execute (the fast paths), not SQLAlchemy's prepare + execute."""
    engine = create_engine_for(url)
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _log(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda record: seen.append(record.query))

    return engine, seen


async def test_ddl_version_update_and_history_take_the_fast_path(project: Path, pg_url: str) -> None:
    write_body_revision(
        project, "a1", None, 'op.create_table("t1", sa.Column("id", sa.Integer, primary_key=True))'
    )
    write_body_revision(project, "a2", "a1", 'op.add_column("t1", sa.Column("note", sa.Text))')
    write_body_revision(project, "a3", "a2", "op.execute(\"INSERT INTO t1 (id, note) VALUES (1, 'x')\")")
    engine, seen = _logged_engine(pg_url)
    try:
        result = await Migrator.from_pyproject(project, engine=engine).upgrade("head")
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT revision, event, checksum, pid FROM asyncmigrate_history ORDER BY id")
                )
            ).all()
    finally:
        await engine.dispose()
    assert result.applied == ["a1", "a2", "a3"]
    assert await version_rows(pg_url) == ["a3"]
    assert [(r.revision, r.event) for r in rows] == [("a1", "upgrade"), ("a2", "upgrade"), ("a3", "upgrade")]
    assert all(len(r.checksum) == 64 and r.pid > 0 for r in rows)
    fast = "\n".join(seen)
    assert "CREATE TABLE t1" in fast
    assert "ALTER TABLE t1 ADD COLUMN note TEXT" in fast
    assert fast.count("UPDATE alembic_version SET version_num=") == 2  # a1 INSERTs the first row
    # a1's row is inserted on its own (its version row is an INSERT); a2's and a3's ride on the
    # version UPDATE, in the same statement
    assert fast.count("INSERT INTO asyncmigrate_history") == 3
    assert fast.count("WITH version_row AS (UPDATE alembic_version") == 2
    # a text() statement may return rows: it goes the usual way
    assert "INSERT INTO t1" not in fast


async def test_failing_revision_rolls_back_its_fast_path_ddl(project: Path, pg_url: str) -> None:
    """The DDL opens the revision's transaction itself; the failure must still undo it."""
    write_body_revision(
        project, "b1", None, 'op.create_table("kept", sa.Column("id", sa.Integer, primary_key=True))'
    )
    write_body_revision(
        project,
        "b2",
        "b1",
        """
        op.create_table("undone", sa.Column("id", sa.Integer, primary_key=True))
        op.add_column("no_such_table", sa.Column("x", sa.Integer))
        """,
    )
    with pytest.raises(MigrationFailed) as failure:
        await Migrator.from_pyproject(project, url=pg_url).upgrade("head")
    assert 'relation "no_such_table" does not exist' in str(failure.value)
    assert "the database is at b1" in str(failure.value)
    tables = await table_columns(pg_url)
    assert "kept" in tables and "undone" not in tables
    assert await version_rows(pg_url) == ["b1"]


async def test_version_update_row_count_is_still_checked(project: Path, pg_url: str) -> None:
    """Alembic checks that its UPDATE matched one row; the simple-query path must report it."""
    write_body_revision(project, "c1", None, "pass")
    write_body_revision(project, "c2", "c1", 'op.execute("DELETE FROM alembic_version")')
    with pytest.raises((MigrationFailed, CommandError)) as failure:
        await Migrator.from_pyproject(project, url=pg_url).upgrade("head")
    assert "expected to match one row" in str(failure.value)
    assert await version_rows(pg_url) == ["c1"]
    engine = create_engine_for(pg_url)
    try:
        async with engine.connect() as connection:
            events = (
                await connection.execute(text("SELECT revision, event FROM asyncmigrate_history ORDER BY id"))
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in events] == [("c1", "upgrade")]  # no row for c2, nothing failed


async def test_history_rows_riding_on_the_version_update_equal_the_plain_ones(
    project: Path, pg_url: str
) -> None:
    """Upgrade and downgrade rows written with the version UPDATE hold what record() writes:
    checksum of the file, timestamps in order, host, pid, tool version; verify finds them true."""
    from asyncmigrate import __version__
    from asyncmigrate.tables.history import file_checksum

    for number in range(1, 5):
        down = f"d{number - 1}" if number > 1 else None
        write_body_revision(project, f"d{number}", down, f'op.execute("CREATE TABLE it{number} (id int)")')
    migrator = Migrator.from_pyproject(project, url=pg_url)
    await migrator.upgrade("head")
    await migrator.downgrade("-2")
    engine = create_engine_for(pg_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT revision, event, checksum, applied_at, duration_ms, host, pid,"
                        " tool_version, detail FROM asyncmigrate_history ORDER BY id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert [(r.revision, r.event) for r in rows] == [
        ("d1", "upgrade"),
        ("d2", "upgrade"),
        ("d3", "upgrade"),
        ("d4", "upgrade"),
        ("d4", "downgrade"),
        ("d3", "downgrade"),
    ]
    versions = project / "migrations" / "versions"
    for row in rows:
        assert row.checksum == file_checksum(versions / f"{row.revision}.py")
        assert row.applied_at.tzinfo is not None and row.duration_ms >= 0
        assert row.pid > 0 and row.host and row.tool_version == __version__ and row.detail is None
    times = [r.applied_at for r in rows]
    assert times == sorted(times)
    assert len({(r.host, r.pid) for r in rows[:4]}) == 1
    assert await migrator.verify() == []


async def test_history_literals_are_quoted_by_the_dialect(pg_url: str) -> None:
    """The row written with the version UPDATE carries its values as literals: quotes and
    backslashes in them arrive as they were."""
    from asyncmigrate.tables.history import history_insert_select, history_table

    table = history_table("asyncmigrate_history_quoting", None)
    awkward = "o'k\\n\"; DROP TABLE x; --"
    engine = create_engine_for(pg_url)
    try:
        async with engine.connect() as connection:

            def write_and_read(sync: Any) -> Any:
                table.create(sync)
                sql = history_insert_select(sync, table, awkward, "upgrade", None, 7)
                sync.exec_driver_sql(f"WITH version_row AS (SELECT 1) {sql} FROM version_row")
                return sync.execute(table.select()).one()

            row = await connection.run_sync(write_and_read)
            await connection.rollback()
    finally:
        await engine.dispose()
    assert row.revision == awkward and row.event == "upgrade" and row.duration_ms == 7
    assert row.checksum is None and row.detail is None and row.applied_at.tzinfo is not None
