"""``await Migrator(...)`` inside a running event loop (this test's, from pytest-asyncio)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate import Migrator, SyncMigrator
from asyncmigrate.scaffold import init_project

from .conftest import BOOKKEEPING, table_columns, version_rows, write_revision


def write_linear_history(project: Path, prefix: str, count: int) -> list[str]:
    """``count`` revisions, each creating table ``{prefix}_{n}`` with one row."""
    revisions: list[str] = []
    for number in range(count):
        revision = f"{prefix}{number:04d}"
        down = revisions[-1] if revisions else None
        write_revision(project, revision, down, f"{prefix}_{number}", f"{prefix} step {number}")
        revisions.append(revision)
    return revisions


@pytest.fixture
def project(seed_project: Path) -> Path:
    init_project(project_dir=seed_project)
    return seed_project


async def test_upgrade_inside_running_loop(project: Path, db_url: str) -> None:
    asyncio.get_running_loop()  # this test runs inside pytest-asyncio's loop
    revisions = write_linear_history(project, "a", 3)
    migrator = Migrator.from_pyproject(project, url=db_url)
    await migrator.upgrade("head")
    assert await migrator.current() == (revisions[-1],)
    assert {"a_0", "a_1", "a_2"} <= set(await table_columns(db_url))
    await migrator.downgrade("-1")
    assert await migrator.current() == (revisions[1],)
    await migrator.downgrade("base")
    assert await migrator.current() == ()
    assert set(await table_columns(db_url)) == BOOKKEEPING
    status = await migrator.status()
    assert [info.revision for info in status.pending] == revisions


async def test_callers_async_engine(project: Path, db_url: str) -> None:
    revisions = write_linear_history(project, "e", 2)
    engine = create_async_engine(db_url)
    try:
        migrator = Migrator.from_pyproject(project, engine=engine)
        await migrator.upgrade("head")
        assert await migrator.current() == (revisions[-1],)
        # The engine is the caller's: still usable afterwards.
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM e_1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_callers_connection_in_transaction(project: Path, pg_url: str) -> None:
    """Migrate inside a transaction the caller controls: rolling it back undoes everything."""
    revisions = write_linear_history(project, "t", 2)
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            migrator = Migrator.from_pyproject(project, connection=connection)
            await migrator.upgrade("head")
            assert await migrator.current() == (revisions[-1],)
            count = await connection.execute(text("SELECT count(*) FROM t_1"))
            assert count.scalar() == 1
            await transaction.rollback()
        assert set(await table_columns(pg_url)) == set()
    finally:
        await engine.dispose()


async def test_callers_connection_commits_on_sqlite(project: Path, sqlite_url: str) -> None:
    revisions = write_linear_history(project, "c", 2)
    engine = create_async_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            await Migrator.from_pyproject(project, connection=connection).upgrade("head")
        assert await version_rows(sqlite_url) == [revisions[-1]]
    finally:
        await engine.dispose()


async def test_two_databases_concurrently(
    tmp_path: Path, pg_url: str, pg_url_2: str, sqlite_url: str
) -> None:
    """Three migrations interleaved in one loop: each database gets only its own tables."""
    projects = {}
    for prefix in ("p", "q", "s"):
        root = tmp_path / prefix
        root.mkdir()
        init_project(project_dir=root, models="nothing")
        projects[prefix] = (root, write_linear_history(root, prefix, 15))
    urls = {"p": pg_url, "q": pg_url_2, "s": sqlite_url}
    migrators = {prefix: Migrator.from_pyproject(projects[prefix][0], url=urls[prefix]) for prefix in urls}
    await asyncio.gather(*(m.upgrade("head") for m in migrators.values()))
    for prefix, url in urls.items():
        tables = set(await table_columns(url))
        assert tables == {f"{prefix}_{n}" for n in range(15)} | BOOKKEEPING, prefix
        assert await version_rows(url) == [projects[prefix][1][-1]]
    await asyncio.gather(*(m.downgrade("base") for m in migrators.values()))
    for url in urls.values():
        assert set(await table_columns(url)) == BOOKKEEPING


async def test_callers_logging_is_left_alone(
    project: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app_logger = logging.getLogger("myapp.service")
    app_logger.setLevel(logging.INFO)
    write_linear_history(project, "l", 1)
    await Migrator.from_pyproject(project, url=sqlite_url).upgrade("head")
    assert not app_logger.disabled
    with caplog.at_level(logging.INFO, logger="myapp.service"):
        app_logger.info("still here")
    assert "still here" in caplog.text


async def test_offline_sql_from_api(project: Path) -> None:
    write_linear_history(project, "o", 2)
    migrator = Migrator.from_pyproject(project, url="postgresql+asyncpg://u:p@nowhere.invalid/db")
    sql = (await migrator.upgrade("head", sql=True)).sql
    assert "CREATE TABLE o_0" in sql and "CREATE TABLE o_1" in sql
    # each revision's timeouts are in the script too
    assert sql.count("SET lock_timeout = '5000ms';") == 2
    assert "INSERT INTO o_1 (id) VALUES (1)" in sql


def test_sync_facade(project: Path, sqlite_url: str) -> None:
    revisions = write_linear_history(project, "y", 2)
    migrator = SyncMigrator.from_pyproject(project, url=sqlite_url)
    migrator.upgrade("head")
    assert migrator.current() == (revisions[-1],)
    assert [h.revision for h in migrator.heads()] == [revisions[-1]]


async def test_sync_facade_refuses_inside_loop(project: Path, sqlite_url: str) -> None:
    migrator = SyncMigrator.from_pyproject(project, url=sqlite_url)
    with pytest.raises(RuntimeError, match="await Migrator"):
        migrator.current()


def test_sync_facade_has_every_method_with_the_same_signature() -> None:
    """SyncMigrator is written out (types, help(), dir()); nothing of Migrator may go missing."""
    import inspect

    public = {
        name: member
        for name, member in inspect.getmembers(Migrator)
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    }
    for name, member in public.items():
        assert name in vars(SyncMigrator), f"SyncMigrator has no {name}"
        if isinstance(member, property):
            continue
        mine = inspect.signature(getattr(SyncMigrator, name))
        theirs = inspect.signature(member)
        assert list(mine.parameters.values()) == list(theirs.parameters.values()), name
        assert mine.return_annotation == theirs.return_annotation or name.startswith("from_"), name
    # settings is an attribute of a Migrator, a property here
    assert "settings" in vars(SyncMigrator)


def test_sync_facade_applies_and_reports_in_one_call_each(project: Path, sqlite_url: str) -> None:
    revisions = write_linear_history(project, "z", 3)
    migrator = SyncMigrator.from_pyproject(project, url=sqlite_url)
    result = migrator.upgrade(revisions[1])
    assert list(result.applied) == revisions[:2]
    status = migrator.status()
    assert [r.revision for r in status.pending] == [revisions[2]]
    assert migrator.downgrade("base").applied  # the two revisions, downgraded
    assert migrator.current() == ()
    assert migrator.verify() == []


async def test_read_methods_answer_alike_on_the_fast_path_and_through_alembic(
    project: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """heads/branches/history/show/current/status: the graph read from the files and the tables
    read without Alembic (api/reading.py) give what Alembic's path gives, on each server."""
    revisions = write_linear_history(project, "f", 4)
    migrator = Migrator.from_pyproject(project, url=db_url)
    await migrator.upgrade(revisions[1])

    async def answers() -> tuple[object, ...]:
        status = await migrator.status()
        return (
            await migrator.heads(),
            await migrator.branches(),
            await migrator.history(),
            await migrator.history(f"{revisions[1]}:"),
            await migrator.show(revisions[2]),
            await migrator.current(),
            (status.current, status.heads, status.applied, status.pending, status.problems),
        )

    fast = await answers()
    assert fast[5] == (revisions[1],) == await migrator._current_from_alembic()
    monkeypatch.setenv("ASYNCMIGRATE_NO_GRAPH_CACHE", "1")  # the graph from Alembic's ScriptDirectory
    assert await answers() == fast


async def test_read_methods_do_not_run_revision_files(project: Path, sqlite_url: str) -> None:
    """The fast path reads revision files without importing them (as the command line does):
    a revision whose module cannot be imported here still shows in heads and history."""
    revisions = write_linear_history(project, "g", 2)
    path = next((project / "migrations" / "versions").glob(f"*{revisions[-1]}*.py"))
    path.write_text("import module_that_is_not_installed_here\n" + path.read_text())
    migrator = Migrator.from_pyproject(project, url=sqlite_url)
    assert [info.revision for info in await migrator.heads()] == [revisions[-1]]
    assert [info.revision for info in await migrator.history()] == revisions[::-1]
    assert await migrator.current() == ()


async def test_read_through_the_callers_connection_sees_its_transaction(project: Path, pg_url: str) -> None:
    """Given the caller's connection, current() reads through it (its open transaction), never
    on a second connection of its own."""
    revisions = write_linear_history(project, "h", 1)
    await Migrator.from_pyproject(project, url=pg_url).upgrade("head")
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("DELETE FROM alembic_version"))  # not committed
            assert await Migrator.from_pyproject(project, connection=connection).current() == ()
            assert await Migrator.from_pyproject(project, url=pg_url).current() == (revisions[0],)
            await connection.rollback()
    finally:
        await engine.dispose()
