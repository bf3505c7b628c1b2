"""The version-row UPDATE from a template (tables/version_update.py): the same statement Alembic sends, the
same heads, the same check that exactly one row moved, on every database."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.runtime.migration import HeadMaintainer, MigrationContext
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate import Migrator
from asyncmigrate.api.migrator import MigrationFailed
from asyncmigrate.scaffold import init_project
from asyncmigrate.tables.version_update import VersionUpdate

from .conftest import drop_database, fresh_database, version_rows, write_body_revision


@pytest.mark.parametrize("dialect_name", ["postgresql", "sqlite", "mysql", "mariadb"])
@pytest.mark.parametrize(
    ("table", "schema"),
    [
        ("alembic_version", None),
        ("alembic_version", "audit"),
        ("Version Table", "Odd Schema"),
        ("select", None),
    ],
)
def test_template_renders_the_statement_alembic_sends(
    dialect_name: str, table: str, schema: str | None
) -> None:
    output = io.StringIO()
    context = MigrationContext.configure(
        dialect_name=dialect_name,
        opts={
            "as_sql": True,
            "output_buffer": output,
            "version_table": table,
            "version_table_schema": schema,
        },
    )
    HeadMaintainer(context, ["a1b2c3"])._update_version("a1b2c3", "d4e5f6")  # Alembic's own, offline
    alembic_sent = output.getvalue().strip()
    ours = VersionUpdate(context)
    assert f"{ours.sql('a1b2c3', 'd4e5f6')}{context.impl.command_terminator}" == alembic_sent
    assert ours.table == (table, schema)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    init_project(project_dir=tmp_path, models="unused")
    return tmp_path


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
async def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url = await fresh_database(request.param, tmp_path)
    yield url
    await drop_database(request.param, url)


async def _history(url: str) -> list[tuple[str, str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT revision, event FROM asyncmigrate_history ORDER BY id")
            )
            return [(row.revision, row.event) for row in rows]
    finally:
        await engine.dispose()


async def test_upgrade_and_downgrade_move_the_version_row(project: Path, any_url: str) -> None:
    for number in range(1, 5):
        write_body_revision(project, f"v{number}", f"v{number - 1}" if number > 1 else None, "pass")
    migrator = Migrator.from_pyproject(project, url=any_url)
    assert (await migrator.upgrade("head")).applied == ["v1", "v2", "v3", "v4"]
    assert await version_rows(any_url) == ["v4"]
    await migrator.downgrade("-2")
    assert await version_rows(any_url) == ["v2"]
    assert await _history(any_url) == [
        ("v1", "upgrade"),
        ("v2", "upgrade"),
        ("v3", "upgrade"),
        ("v4", "upgrade"),
        ("v4", "downgrade"),
        ("v3", "downgrade"),
    ]
    assert await migrator.verify() == []


async def test_a_version_row_that_is_gone_fails_thewrite_body_revision(project: Path, any_url: str) -> None:
    """Alembic's check that its UPDATE matched exactly one row still holds: the revision that
    deleted the row fails and rolls back, with Alembic's message."""
    write_body_revision(project, "c1", None, "pass")
    write_body_revision(project, "c2", "c1", 'op.execute("DELETE FROM alembic_version")')
    with pytest.raises((MigrationFailed, CommandError)) as failure:
        await Migrator.from_pyproject(project, url=any_url).upgrade("head")
    assert "expected to match one row when updating 'c1' to 'c2' in 'alembic_version'; 0 found" in str(
        failure.value
    )
    assert await version_rows(any_url) == ["c1"]
    assert await _history(any_url) == [("c1", "upgrade")]


async def test_a_callers_own_engine_gets_the_same_rows(project: Path, pg_url: str) -> None:
    """On an engine we did not create (no simple-query path), the statement goes out as driver
    SQL and the history row is inserted on its own."""
    for number in range(1, 4):
        write_body_revision(project, f"e{number}", f"e{number - 1}" if number > 1 else None, "pass")
    engine = create_async_engine(pg_url)
    try:
        result = await Migrator.from_pyproject(project, engine=engine).upgrade("head")
    finally:
        await engine.dispose()
    assert result.applied == ["e1", "e2", "e3"]
    assert await version_rows(pg_url) == ["e3"]
    assert await _history(pg_url) == [("e1", "upgrade"), ("e2", "upgrade"), ("e3", "upgrade")]
