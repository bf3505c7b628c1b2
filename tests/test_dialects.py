"""Each database's module (src/asyncmigrate/dialects/) on its real server: the statements it
hands out run there, and what it recognises is what the server really says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate.apply.environment import ApplyOptions
from asyncmigrate.dialects import Database, UnknownDatabase, for_backend, for_url, known
from asyncmigrate.errors import AsyncMigrateError, driver_errors

from .conftest import drop_database, fresh_database


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
async def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url = await fresh_database(request.param, tmp_path)
    yield url
    await drop_database(request.param, url)


def test_every_backend_we_support_has_a_module() -> None:
    served = {backend: cls for cls in known() for backend in cls.backends}
    assert set(served) == {"postgresql", "sqlite", "mysql", "mariadb"}
    for backend, cls in served.items():
        database = for_backend(backend)
        assert isinstance(database, cls) and database.async_driver, backend
    assert isinstance(for_url("oracle+oracledb://u:p@h/db"), UnknownDatabase)
    with pytest.raises(AsyncMigrateError, match="no apply lock is known for the 'oracle' dialect"):
        for_backend("oracle").apply_lock(None, make_url("oracle://h/db"), "alembic_version", None)


async def test_session_timeouts_run_and_reset_on_the_server(any_url: str) -> None:
    database = for_url(any_url)
    engine = create_async_engine(any_url)
    try:
        async with engine.connect() as connection:
            dialect = connection.dialect
            sets = database.timeout_statements(
                dialect, ApplyOptions(lock_timeout=2.0, statement_timeout=30.0)
            )
            resets = database.reset_statements(dialect)
            assert bool(sets) == bool(resets) == (dialect.name != "sqlite")
            for statement in [*sets, *resets]:
                await connection.execute(text(statement))
            if dialect.name == "postgresql":
                await connection.execute(text(sets[0]))
                assert (await connection.execute(text("SHOW lock_timeout"))).scalar() == "2s"
            elif dialect.name in ("mysql", "mariadb"):
                await connection.execute(text(sets[0]))
                assert (await connection.execute(text("SELECT @@SESSION.lock_wait_timeout"))).scalar() == 2
    finally:
        await engine.dispose()


async def test_a_real_lock_timeout_is_recognised(any_url: str) -> None:
    """A second session waits for the first one's lock and gives up: the module says so."""
    database = for_url(any_url)
    if make_url(any_url).get_backend_name() == "sqlite":
        assert not database.is_lock_timeout(RuntimeError("database is locked"))
        return
    engine = create_async_engine(any_url)
    try:
        async with engine.connect() as holder, engine.connect() as waiter:
            await holder.execute(text("CREATE TABLE held (id INTEGER PRIMARY KEY)"))
            await holder.commit()
            await holder.execute(text("INSERT INTO held VALUES (1)"))  # holds a row/table lock
            dialect = waiter.dialect
            for statement in database.timeout_statements(
                dialect, ApplyOptions(lock_timeout=1.0, statement_timeout=30.0)
            ):
                await waiter.execute(text(statement))
            with pytest.raises(Exception) as raised:
                await waiter.execute(text("ALTER TABLE held ADD COLUMN x INTEGER"))
            assert any(database.is_lock_timeout(error) for error in driver_errors(raised.value))
            await holder.rollback()
    finally:
        await engine.dispose()
    assert not database.is_lock_timeout(RuntimeError("syntax error"))


async def test_postgresql_names_the_invalid_index_a_failed_concurrent_build_leaves(pg_url: str) -> None:
    database = for_url(pg_url)
    assert database.leaves_invalid_indexes
    engine = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TABLE dup (v INTEGER)"))
            await connection.execute(text("INSERT INTO dup VALUES (1), (1)"))
            with pytest.raises(IntegrityError, match="could not create unique index"):
                await connection.execute(text("CREATE UNIQUE INDEX CONCURRENTLY dup_v ON dup (v)"))
            assert await connection.run_sync(database.invalid_indexes) == ["public.dup_v"]
    finally:
        await engine.dispose()
    assert (
        not for_backend("sqlite").leaves_invalid_indexes and not for_backend("mariadb").leaves_invalid_indexes
    )


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
async def test_scratch_database_statements_run_on_the_server(backend: str, tmp_path: Path) -> None:
    from asyncmigrate.testing.scratch import create_database
    from asyncmigrate.testing.scratch import drop_database as drop_scratch

    server = await fresh_database(backend, tmp_path)  # skips when the server is not configured
    try:
        url = await create_database(server)
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
        await engine.dispose()
        await drop_scratch(server, url)
    finally:
        await drop_database(backend, server)
    assert for_backend(backend).grant_to_create("app") in (
        'ALTER ROLE "app" CREATEDB',
        "GRANT CREATE, DROP ON *.* TO 'app'",
    )


def test_a_new_module_registers_by_subclassing() -> None:
    """What ARCHITECTURE.md promises: a subclass with its backend names is found by name."""

    class Exotic(Database):
        backends = ("exotic-test",)
        async_driver = "exoticdrv"

    try:
        assert isinstance(for_backend("exotic-test"), Exotic)
    finally:
        from asyncmigrate import dialects

        dialects._REGISTRY.pop("exotic-test")


#: Modules that may name a database outside dialects/: lint judges SQL per dialect (its rules and
#: ``lint/model.DIALECTS``), the CLI repeats those choices for ``--dialect`` without importing the
#: linter (checked below), and batched reflection is a speed path for the catalogs it knows (a
#: database without one reflects through Alembic as before).
NAMING_A_DATABASE_IS_THEIR_JOB = (
    "dialects/",
    "lint/",
    "cli/lint.py",
    "reflection/batched.py",
    # enum types are a PostgreSQL catalog of their own (pg_type, pg_enum), compared nowhere else
    "autogenerate/enums.py",
)


def test_no_module_outside_dialects_names_a_database() -> None:
    """What differs between databases lives in its module: anywhere else, a database's name in a
    comparison or a table is a branch a new database would have to find and edit."""
    import ast

    import asyncmigrate

    names = {backend for cls in known() for backend in cls.backends}
    root = Path(asyncmigrate.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(NAMING_A_DATABASE_IS_THEIR_JOB):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{relative}:{node.lineno}: {node.value!r}")
    assert not found, "a database named outside its module:\n" + "\n".join(found)


def test_the_command_line_offers_the_dialects_lint_knows() -> None:
    from asyncmigrate.cli.main import cli
    from asyncmigrate.lint.model import DIALECTS

    lint = cli.commands["lint"]
    option = next(p for p in lint.params if p.name == "dialect")
    assert tuple(option.type.choices) == DIALECTS  # type: ignore[attr-defined]
    assert set(DIALECTS) == {backend for cls in known() for backend in cls.backends}


def test_a_made_up_database_is_served_by_its_module_alone(tmp_path: Path) -> None:
    """One module is the whole of a new database: every lookup the rest of the code does (by URL,
    by scheme, by driver, for the read commands and the tests) reaches it, and what it does not
    fill in falls back to 'no such feature', not to another database's behaviour."""
    from asyncmigrate import dialects
    from asyncmigrate.dialects import extra_for_driver, for_scheme, is_known
    from asyncmigrate.tables.read import display_url

    class MadeUp(Database):
        backends = ("madeupdb",)
        async_driver = "madeup_async"
        extra = "madeup"
        default_port = 4242

    try:
        url = "madeupdb+madeup_async://u@h/db"
        assert isinstance(for_scheme(url), MadeUp) and is_known(url)
        assert extra_for_driver("madeup_async") == "madeup"
        database = for_scheme(url)
        assert database.direct_tables(url) is None  # read through SQLAlchemy
        assert database.identity(make_url("madeupdb://H/db")) == ("h", 4242, "db")
        assert not database.embedded and not database.render_as_batch and database.fingerprint_sql is None
        assert database.timeout_statements(None, ApplyOptions()) == []
        with pytest.raises(AsyncMigrateError, match="cannot wipe a 'madeupdb' database"):
            database.wipe(None)  # type: ignore[arg-type]
        assert display_url("madeupdb://u:secret@h/db") == "madeupdb://u:***@h/db"
    finally:
        dialects._REGISTRY.pop("madeupdb")
    assert not is_known("madeupdb://h/db")
