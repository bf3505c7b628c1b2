"""Fixtures: real databases (SQLite files, a fresh PostgreSQL database per test), the tutorial's
project in a temporary directory, and a runner for the ``asyncmigrate`` command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate.demo import write_seed_project

# Tests rewrite revision files and run them again within the same second, often at the same
# size: Python's bytecode check (source mtime in whole seconds, and size) would then load the old
# code from __pycache__. No bytecode is written in this process or the commands it starts, so
# the suite behaves the same whatever the environment says.
sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"

PG_ADMIN_URL = os.environ.get("ASYNCMIGRATE_TEST_PG_URL")
#: The tables every migrated database has besides the project's own.
BOOKKEEPING = {"alembic_version", "asyncmigrate_history"}
FIXTURES = Path(__file__).parent / "fixtures"


def pytest_report_header(config: pytest.Config) -> str:
    return f"asyncmigrate PostgreSQL: {PG_ADMIN_URL or 'not configured (run scripts/test)'}"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _run(module: str, args: tuple[str, ...], cwd: Path, env: dict[str, str] | None) -> CliResult:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def one_error_line(result: CliResult, *, allow: tuple[str, ...] = ()) -> str:
    """The single ``error:`` line of a failed command (lines starting with ``allow`` aside):
    exit 1, no traceback."""
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.output
    lines = [
        line for line in result.stderr.splitlines() if line.strip() and not line.strip().startswith(allow)
    ]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> CliResult:
    """Run ``asyncmigrate ARGS`` in its own process, as a user would."""
    return _run("asyncmigrate", args, cwd, env)


def read_pty(master: int, process: subprocess.Popen[Any], answers: dict[str, str] | None = None) -> str:
    """Everything written to the pty ``master`` until ``process`` closes it or exits, answering
    each prompt that contains a key of ``answers`` with its value and Enter (once; a Ctrl-C,
    ``"\\x03"``, alone); closes ``master``."""
    import select

    seen, pending = b"", dict(answers or {})
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:  # the other side closed
                    break
                if not data:
                    break
                seen += data
                for prompt, answer in list(pending.items()):
                    if prompt.encode() in seen:
                        os.write(master, answer.encode() + (b"" if answer == "\x03" else b"\n"))
                        del pending[prompt]
            elif process.poll() is not None:
                break
    finally:
        os.close(master)
    return seen.decode(errors="replace")


def run_alembic(*args: str, cwd: Path, env: dict[str, str] | None = None) -> CliResult:
    """Run the plain ``alembic`` command (to prove the project can go back to it)."""
    return _run("alembic", args, cwd, env)


#: A stock sync env.py: the URL from the ini, one connection, no target metadata.
SYNC_ENV_PY = """\
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
section = config.get_section(config.config_ini_section)
engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
"""


def stock_alembic_project(root: Path, database: Path, configure: str = "target_metadata=metadata") -> None:
    """``alembic init -t generic`` in ``root`` on the SQLite file ``database``, its env.py the
    stock sync one with ``from app_models import metadata`` and ``configure`` added to its
    ``context.configure`` (write ``app_models.py`` beside it)."""
    import re

    result = run_alembic("init", "-t", "generic", "alembic", cwd=root)
    assert result.returncode == 0, result.output
    ini = root / "alembic.ini"
    url = f"sqlalchemy.url = sqlite:///{database}"
    ini.write_text(re.sub(r"^sqlalchemy\.url = .*$", url, ini.read_text(), flags=re.M))
    (root / "alembic" / "env.py").write_text(
        "from app_models import metadata\n"
        + SYNC_ENV_PY.replace(
            "context.configure(connection=connection)",
            f"context.configure(connection=connection, {configure})",
        )
    )


REVISION_TEMPLATE = '''\
"""{message}"""
from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table({table!r}, sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO {table} (id) VALUES (1)")


def downgrade():
    op.drop_table({table!r})
'''


def write_revision(project: Path, revision: str, down: str | None, table: str, message: str = "") -> Path:
    """A hand-written revision that creates ``table`` with one row."""
    path = project / "migrations" / "versions" / f"{revision}_{table}.py"
    path.write_text(
        REVISION_TEMPLATE.format(revision=revision, down=down, table=table, message=message or table)
    )
    return path


@pytest.fixture(autouse=True)
def _isolate_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test's project has modules named alike (src.models.user): forget them afterwards."""
    modules = set(sys.modules)
    path = list(sys.path)
    yield
    projects = str(tmp_path_factory.getbasetemp())
    for name in set(sys.modules) - modules:
        if _from_test_project(sys.modules[name], projects):
            del sys.modules[name]
    sys.path[:] = path


def _from_test_project(module: object, projects: str) -> bool:
    """Only the test projects' modules: a C extension must never be imported twice."""
    places = [getattr(module, "__file__", None) or "", *list(getattr(module, "__path__", []) or [])]
    return any(str(place).startswith(projects) for place in places)


@pytest.fixture
def pg_admin_url() -> str:
    if not PG_ADMIN_URL:
        pytest.skip("PostgreSQL is not configured: run the tests with scripts/test")
    return PG_ADMIN_URL


async def asyncpg_connect(url: str, **options: object) -> Any:
    """A raw asyncpg connection to the database a SQLAlchemy URL names (to hold locks, etc.)."""
    import asyncpg

    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
        **options,
    )


async def _admin_execute(admin_url: str, statement: str) -> None:
    connection = await asyncpg_connect(admin_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _create_database(admin_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def _drop_database(admin_url: str, database_url: str) -> None:
    name = make_url(database_url).database
    await _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pg_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for this test."""
    url = await _create_database(pg_admin_url)
    yield url
    await _drop_database(pg_admin_url, url)


@pytest.fixture
async def pg_url_2(pg_admin_url: str) -> AsyncIterator[str]:
    url = await _create_database(pg_admin_url)
    yield url
    await _drop_database(pg_admin_url, url)


async def fresh_database(kind: str, directory: Path, round_number: int = 0) -> str:
    """A new, empty database: an SQLite file in ``directory``, or one on the test PostgreSQL or
    MariaDB server (the test is skipped when that server is not configured)."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{directory / f'round{round_number}.db'}"
    if kind == "postgresql":
        if not PG_ADMIN_URL:
            pytest.skip("PostgreSQL is not configured: run the tests with scripts/test")
        return await _create_database(PG_ADMIN_URL)
    admin = os.environ.get("ASYNCMIGRATE_TEST_MYSQL_URL")
    if not admin:
        pytest.skip("MariaDB is not configured: run the tests with scripts/test")
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(admin)
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE DATABASE {name}"))
    await engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


async def drop_database(kind: str, url: str) -> None:
    """Drop what :func:`fresh_database` made on a server."""
    if kind == "postgresql":
        await _drop_database(PG_ADMIN_URL or "", url)
    elif kind == "mariadb":
        engine = create_async_engine(os.environ["ASYNCMIGRATE_TEST_MYSQL_URL"])
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database}"))
        await engine.dispose()


def revision_source(
    revision: str,
    down: str | tuple[str, ...] | None,
    upgrade: str,
    downgrade: str = "pass",
    *,
    message: str | None = None,
    imports: str | None = None,
) -> str:
    """The text of a revision file: ``op`` and ``sa`` imported (and ``imports``, on a line of
    its own even when empty, so line numbers do not depend on it), the bodies dedented and
    indented as function bodies."""

    def body(code: str) -> str:
        return textwrap.indent(textwrap.dedent(code).strip(), "    ")

    extra = "" if imports is None else textwrap.dedent(imports).strip() + "\n"
    return (
        f'"""{revision if message is None else message}"""\nfrom alembic import op\nimport sqlalchemy as sa\n'
        f"{extra}\n"
        f"revision = {revision!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n{body(upgrade)}\n\n\ndef downgrade():\n{body(downgrade)}\n"
    )


def write_body_revision(project: Path, rev: str, down: str | None, body: str) -> None:
    """A revision file whose upgrade() is ``body`` (op and sa imported) and downgrade() passes."""
    (project / "migrations" / "versions" / f"{rev}.py").write_text(revision_source(rev, down, body))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that takes it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not PG_ADMIN_URL:
        pytest.skip("PostgreSQL is not configured: run the tests with scripts/test")
    url = await _create_database(PG_ADMIN_URL)
    yield url
    await _drop_database(PG_ADMIN_URL, url)


@pytest.fixture
def seed_project(tmp_path: Path) -> Path:
    """The tutorial's project: src/models/base.py (Base) and src/models/user.py (User)."""
    root = tmp_path / "project"
    root.mkdir()
    write_seed_project(root)
    return root


async def create_all_seed_models(project: Path, url: str, *statements: str) -> None:
    """Make the tutorial's tables with ``create_all``, as a project did before migrations."""
    import importlib

    sys.path.insert(0, str(project))
    base = importlib.import_module("src.models.base")
    importlib.import_module("src.models.user")
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(base.Base.metadata.create_all)
        for statement in statements:
            await connection.execute(text(statement))
    await engine.dispose()


async def table_columns(url: str) -> dict[str, set[str]]:
    """Tables and their columns, read from the live database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:

            def read(sync_connection: object) -> dict[str, set[str]]:
                inspector = inspect(sync_connection)
                return {
                    table: {column["name"] for column in inspector.get_columns(table)}
                    for table in inspector.get_table_names()
                }

            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def version_rows(url: str, table: str = "alembic_version") -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text(f"SELECT version_num FROM {table}"))
            return sorted(row[0] for row in result)
    finally:
        await engine.dispose()
