"""Every command on a project's own env.py, unchanged: Alembic's ``generic`` and ``async``
templates, the tutorial's env.py, an env.py that runs the migration through
``anyio.from_thread.run``, and one that takes the URL from the application's settings while
alembic.ini keeps ``driver://unused``; with async and sync drivers, on SQLite, PostgreSQL and
MariaDB. Each runs upgrade, current, status, the stairway (which must name the revision whose
downgrade is broken, and leave the real database alone) and downgrade through the CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from .conftest import (
    FIXTURES,
    drop_database,
    fresh_database,
    run_alembic,
    run_cli,
    table_columns,
    version_rows,
)

PLACEHOLDER = "driver://unused"

USERS = '''\
"""users"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.String(99)))


def downgrade():
    op.drop_table("users")
'''

FORGETS_INDEX = '''\
"""email index, forgotten on the way down"""
from alembic import op

revision = "b1"
down_revision = "a1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_users_email", "users", ["email"])


def downgrade():
    pass
'''

#: An async application's env.py: its code runs Alembic's commands with
#: ``anyio.to_thread.run_sync(command.upgrade, ...)``, and the migration goes back to the
#: application's loop. ``anyio.from_thread.run`` fails in any thread that is not AnyIO's.
ANYIO_ENV = """\
from logging.config import fileConfig

import anyio.from_thread
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import async_engine_from_config

from alembic import context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
target_metadata = None


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations():
    connectable = async_engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    async with connectable.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await connectable.dispose()


if context.is_offline_mode():
    raise SystemExit("offline mode is not used here")
anyio.from_thread.run(run_async_migrations)
"""

#: The database URL comes from the application's settings; alembic.ini keeps the placeholder.
SETTINGS_ENV = """\
import asyncio
from logging.config import fileConfig

from sqlalchemy import create_engine, pool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import context

from app_settings import settings

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)


def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def run_async():
    engine = create_async_engine(settings.database_url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=settings.database_url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif make_url(settings.database_url).get_dialect().is_async:
    asyncio.run(run_async())
else:
    engine = create_engine(settings.database_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        do_run_migrations(connection)
"""

APP_SETTINGS = """\
import os


class Settings:
    database_url = os.environ["APP_DATABASE_URL"]


settings = Settings()
"""

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "mysql": "mysql+asyncmy"}


def _as_async(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername=ASYNC_DRIVERS[parsed.get_backend_name()]).render_as_string(
        hide_password=False
    )


def make_project(root: Path, kind: str, url: str) -> tuple[Path, dict[str, str]]:
    """An Alembic project whose env.py is ``kind``, with two revisions; returns the project and
    the environment its commands need."""
    template = "generic" if kind == "generic" else "async"
    result = run_alembic("init", "-t", template, "alembic", cwd=root)
    assert result.returncode == 0, result.output
    ini = root / "alembic.ini"
    in_ini = PLACEHOLDER if kind == "settings" else url
    ini.write_text(
        re.sub(r"^sqlalchemy\.url = .*$", f"sqlalchemy.url = {in_ini}", ini.read_text(), flags=re.M)
    )
    env_py = root / "alembic" / "env.py"
    env: dict[str, str] = {}
    if kind == "seed":
        from asyncmigrate.demo import write_seed_project

        write_seed_project(root)
        shutil.copy(FIXTURES / "seed_env.py", env_py)
    elif kind == "anyio":
        env_py.write_text(ANYIO_ENV)
    elif kind == "settings":
        env_py.write_text(SETTINGS_ENV)
        (root / "app_settings.py").write_text(APP_SETTINGS)
        env["APP_DATABASE_URL"] = url
    versions = root / "alembic" / "versions"
    (versions / "a1_users.py").write_text(USERS)
    (versions / "b1_index.py").write_text(FORGETS_INDEX)
    return root, env


#: The module each driver (and the AnyIO env.py) needs: without it the case is skipped.
MODULES = {
    "postgresql": "psycopg2",
    "postgresql+psycopg2": "psycopg2",
    "postgresql+psycopg": "psycopg",
    "mysql+pymysql": "pymysql",
    "anyio": "anyio",
}


def _needs_modules(kind: str, driver: str) -> None:
    for name in (kind, driver):
        if name in MODULES:
            pytest.importorskip(MODULES[name])


CASES = [
    ("generic", "sqlite", "sqlite"),
    ("generic", "postgresql", "postgresql"),
    ("generic", "postgresql", "postgresql+psycopg2"),
    ("generic", "postgresql", "postgresql+psycopg"),
    ("generic", "mariadb", "mysql+pymysql"),
    ("async", "sqlite", "sqlite+aiosqlite"),
    ("async", "postgresql", "postgresql+asyncpg"),
    ("async", "mariadb", "mysql+asyncmy"),
    ("seed", "sqlite", "sqlite+aiosqlite"),
    ("seed", "postgresql", "postgresql+asyncpg"),
    ("anyio", "sqlite", "sqlite+aiosqlite"),
    ("anyio", "postgresql", "postgresql+asyncpg"),
    ("settings", "sqlite", "sqlite"),
    ("settings", "sqlite", "sqlite+aiosqlite"),
    ("settings", "postgresql", "postgresql+asyncpg"),
    ("settings", "postgresql", "postgresql+psycopg2"),
    ("settings", "mariadb", "mysql+pymysql"),
]


@pytest.mark.parametrize(("kind", "server", "driver"), CASES, ids=["-".join(case) for case in CASES])
async def test_every_command_on_the_projects_own_env_py(
    tmp_path: Path, kind: str, server: str, driver: str
) -> None:
    _needs_modules(kind, driver)
    database = await fresh_database(server, tmp_path)
    url = make_url(database).set(drivername=driver).render_as_string(hide_password=False)
    real = _as_async(url)
    (tmp_path / "project").mkdir()
    project, env = make_project(tmp_path / "project", kind, url)
    try:
        result = run_cli("upgrade", "head", cwd=project, env=env)
        assert result.returncode == 0, result.output
        assert await version_rows(real) == ["b1"]

        result = run_cli("current", cwd=project, env=env)
        assert result.returncode == 0, result.output
        assert result.stdout.strip() == "b1 (head)"

        result = run_cli("status", cwd=project, env=env)
        assert result.returncode == 0, result.output
        assert "Up to date" in result.stdout
        assert PLACEHOLDER not in result.stdout
        assert make_url(url).database.rsplit("/", 1)[-1] in result.stdout  # the database in use

        result = run_cli("test", "stairway", "--format", "json", cwd=project, env=env)
        assert result.returncode == 1, result.output
        report = json.loads(result.stdout)
        assert report["failed"] == ["b1"], result.output
        [a1, b1] = report["revisions"]
        assert a1["status"] == "ok"
        assert b1["problems"] == ["downgrade is empty (pass)"]
        assert any("ix_users_email" in line for line in b1["diff"])
        # the stairway ran on a throwaway database: the real one is as it was
        assert await version_rows(real) == ["b1"]
        assert "users" in await table_columns(real)

        result = run_cli("test", "no-trace", cwd=project, env=env)
        assert result.returncode == 0, result.output
        assert "leaves no trace: ok" in result.stdout

        result = run_cli("downgrade", "base", cwd=project, env=env)
        assert result.returncode == 0, result.output
        assert await version_rows(real) == []
        assert "users" not in await table_columns(real)
        assert "Traceback" not in result.output
    finally:
        await drop_database(server, database)


def test_anyio_env_py_needs_an_anyio_thread(tmp_path: Path) -> None:
    """The AnyIO env.py is real: Alembic's own command runs it from an AnyIO worker thread, and
    fails in any other thread, which is what asyncmigrate used to give it."""
    import asyncio

    pytest.importorskip("anyio")

    import anyio.to_thread
    from alembic import command
    from alembic.config import Config

    root = tmp_path / "project"
    root.mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    project, _env = make_project(root, "anyio", url)
    config = Config(str(project / "alembic.ini"))

    async def main() -> None:
        with pytest.raises(RuntimeError):  # anyio's NoEventLoopError
            await asyncio.to_thread(command.upgrade, config, "a1")
        await anyio.to_thread.run_sync(command.upgrade, config, "a1")

    from asyncmigrate.apply.runner import preserve_logging

    with preserve_logging():  # the env.py's fileConfig would disable this process's loggers
        asyncio.run(main())
    result = run_cli("current", cwd=project)
    assert result.stdout.strip() == "a1", result.output


async def test_api_runs_anyio_env_py_in_callers_loop(tmp_path: Path) -> None:
    from asyncmigrate import Migrator

    pytest.importorskip("anyio")

    root = tmp_path / "project"
    root.mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    project, _env = make_project(root, "anyio", url)
    migrator = Migrator.from_config(project / "alembic.ini")
    result = await migrator.upgrade("head")
    assert result.after == ("b1",)
    await migrator.downgrade("a1")
    assert await migrator.current() == ("a1",)


def test_placeholder_url_with_stock_env_py_says_what_to_give(tmp_path: Path) -> None:
    """The stock env.py uses sqlalchemy.url itself: with the placeholder nobody knows the
    database, and every command says so in one line."""
    root = tmp_path / "project"
    root.mkdir()
    project, _env = make_project(root, "generic", PLACEHOLDER)
    for args in (["upgrade", "head"], ["current"], ["status"], ["test", "stairway"]):
        result = run_cli(*args, cwd=project)
        assert result.returncode == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert "driver://unused" in lines[0] and "--url" in lines[0], lines[0]
        assert "Traceback" not in result.output


async def test_url_given_wins_over_the_env_py_settings(tmp_path: Path) -> None:
    """``--url`` names the database to migrate even when env.py would connect elsewhere; the
    application's database is left alone."""
    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    root = tmp_path / "project"
    root.mkdir()
    project, env = make_project(root, "settings", app_url)
    result = run_cli("--url", other_url, "upgrade", "a1", cwd=project, env=env)
    assert result.returncode == 0, result.output
    assert await version_rows(_as_async(other_url)) == ["a1"]
    assert not (tmp_path / "app.db").exists() or "users" not in await table_columns(_as_async(app_url))
    result = run_cli("--url", other_url, "current", cwd=project, env=env)
    assert result.stdout.strip() == "a1", result.output


async def test_ini_url_the_env_py_ignores_is_refused_before_writing(tmp_path: Path) -> None:
    """alembic.ini names one database, the env.py migrates another: the apply lock would guard
    the wrong one, so nothing runs and the message says which --url to give."""
    app_url = f"sqlite:///{tmp_path / 'app.db'}"
    root = tmp_path / "project"
    root.mkdir()
    project, env = make_project(root, "settings", app_url)
    ini = project / "alembic.ini"
    ini.write_text(ini.read_text().replace(PLACEHOLDER, f"sqlite:///{tmp_path / 'ini.db'}"))
    result = run_cli("upgrade", "head", cwd=project, env=env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "app.db" in line and "--url" in line, line
    assert not (tmp_path / "app.db").exists() or "users" not in await table_columns(_as_async(app_url))


def test_pytest_plugin_on_the_projects_own_sync_env_py(tmp_path: Path) -> None:
    """The one-line conftest.py on a stock ``alembic init`` project (sync driver): the built-in
    tests run through its env.py on a throwaway SQLite database with its own driver."""
    import subprocess
    import sys

    root = tmp_path / "project"
    root.mkdir()
    project, _env = make_project(root, "generic", f"sqlite:///{tmp_path / 'app.db'}")
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\nasyncio_mode = 'auto'\n")
    tests = project / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text("from asyncmigrate.testing.builtin import *  # noqa: F403\n")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "stairway or trace"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "b1 (email index, forgotten on the way down): downgrade is empty (pass)" in output
    assert "1 failed, 1 passed" in output
    assert not (tmp_path / "app.db").exists()


def test_placeholders_and_database_identity() -> None:
    """What counts as no URL at all, and when two URLs name the same database."""
    from asyncmigrate.apply.project_env import is_usable_url, same_database

    assert not is_usable_url(PLACEHOLDER)
    assert not is_usable_url("")
    assert not is_usable_url("not a url")
    assert is_usable_url("postgresql+psycopg2://u@h/db")  # the driver itself is not imported
    assert same_database("postgresql+asyncpg://a:x@Host/db", "postgresql://b@host:5432/db")
    assert not same_database("postgresql://h/db", "postgresql://h/other")
    assert not same_database("postgresql://h/db", "mysql://h/db")
    assert same_database("sqlite:///app.db", f"sqlite+aiosqlite:///{Path('app.db').resolve()}")


@pytest.mark.parametrize("kind", ["ours", "generic", "async"])
async def test_step_events_reach_the_callback_on_every_env_py(tmp_path: Path, kind: str) -> None:
    """``Migrator(on_step=...)`` hears each revision start and be applied, in order, whether
    env.py is ours or the project's own (sync or async): the progress a display needs, with no
    log line read."""
    from asyncmigrate import Migrator, StepEvent
    from asyncmigrate.scaffold import init_project

    database = await fresh_database("sqlite", tmp_path)
    (tmp_path / "project").mkdir()
    if kind == "ours":
        project = tmp_path / "project"
        init_project(project_dir=project)
        versions = project / "migrations" / "versions"
        (versions / "a1_users.py").write_text(USERS)
        (versions / "b1_index.py").write_text(FORGETS_INDEX)
        migrator = Migrator.from_pyproject(project, url=database)
    else:
        driver = "sqlite" if kind == "generic" else "sqlite+aiosqlite"
        url = make_url(database).set(drivername=driver).render_as_string(hide_password=False)
        project, _ = make_project(tmp_path / "project", kind, url)
        migrator = Migrator.from_config(project / "alembic.ini")
    events: list[StepEvent] = []
    migrator.on_step = events.append
    await migrator.upgrade("head")
    await migrator.downgrade("base")
    assert [(e.phase, e.revision, e.direction) for e in events] == [
        ("start", "a1", "upgrade"),
        ("done", "a1", "upgrade"),
        ("start", "b1", "upgrade"),
        ("done", "b1", "upgrade"),
        ("start", "b1", "downgrade"),
        ("done", "b1", "downgrade"),
        ("start", "a1", "downgrade"),
        ("done", "a1", "downgrade"),
    ]
    assert all(e.seconds >= 0 for e in events) and any(e.seconds > 0 for e in events if e.phase == "done")
