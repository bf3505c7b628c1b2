"""What ``verify``, ``status``, a failed ``downgrade`` and a failed ``--sql`` run tell: what was
checked and what was not, which revision and statement failed, and where the database was left
(rolled back, or part-way after ``autocommit_block``), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate import Migrator
from asyncmigrate.scaffold import init_project

from .conftest import SYNC_ENV_PY, run_alembic, run_cli, table_columns, version_rows

USERS = '''\
"""users"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO users (id) VALUES (1)")


def downgrade():
    op.drop_table("users")
'''

BAD_DOWNGRADE = '''\
"""names, forgets a table in downgrade"""
from alembic import op
import sqlalchemy as sa

revision = "b1"
down_revision = "a1"


def upgrade():
    op.add_column("users", sa.Column("name", sa.String(50)))


def downgrade():
    op.execute("DELETE FROM users")
{before_failure}    op.execute("DROP TABLE nonexistent_table")
'''

OFFLINE_FAILS = '''\
"""tags, cannot render offline"""
from alembic import op
import sqlalchemy as sa

revision = "c1"
down_revision = "b1"


def upgrade():
    op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))
    raise RuntimeError("needs the live database")


def downgrade():
    op.drop_table("tags")
    raise RuntimeError("cannot undo offline")
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    init_project(project_dir=root, models="unused")
    return root


def write(project: Path, name: str, source: str) -> Path:
    path = project / "migrations" / "versions" / f"{name}.py"
    path.write_text(source)
    return path


async def count_users(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one()
    finally:
        await engine.dispose()


async def test_verify_without_history_table_says_what_it_did_not_check(project: Path, db_url: str) -> None:
    """A database migrated without the history table (plain Alembic with its own env.py): an
    edited applied revision cannot be seen, and verify says so instead of "verified"."""
    users = write(project, "a1", USERS)
    write(project, "b1", BAD_DOWNGRADE.format(before_failure=""))
    await Migrator.from_pyproject(project, url=db_url).upgrade("head", record_history=False)
    assert "asyncmigrate_history" not in await table_columns(db_url)
    users.write_text(USERS.replace("VALUES (1)", "VALUES (2)"))  # edited after it was applied

    result = run_cli("--url", db_url, "verify", cwd=project)
    assert result.returncode == 2, result.output
    assert "History verified" not in result.stdout
    assert (
        "not verified: no history table (asyncmigrate_history): checksums and order not checked;"
        " 2 applied revisions found through the version table (at b1), their files are present"
    ) in " ".join(result.stdout.split())

    result = run_cli("--url", db_url, "status", cwd=project)
    assert result.returncode == 0, result.output
    assert "? not verified: no history table (asyncmigrate_history)" in result.stdout
    problems = await Migrator.from_pyproject(project, url=db_url).verify()
    assert [problem.kind for problem in problems] == ["not-checked"]

    # A file that is gone is still found without the table: that much was checked.
    (project / "migrations" / "versions" / "b1.py").unlink()
    result = run_cli("--url", db_url, "verify", cwd=project)
    assert result.returncode == 1, result.output
    assert "b1 is in the version table but its file is gone" in result.stdout


async def test_verify_with_history_table_is_verified(project: Path, db_url: str) -> None:
    write(project, "a1", USERS)
    assert run_cli("--url", db_url, "upgrade", cwd=project).returncode == 0
    result = run_cli("--url", db_url, "verify", cwd=project)
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "History verified: every applied revision matches its file.",
    ), result.output


async def test_failed_downgrade_names_revision_statement_and_rollback(project: Path, db_url: str) -> None:
    write(project, "a1", USERS)
    write(project, "b1", BAD_DOWNGRADE.format(before_failure=""))
    assert run_cli("--url", db_url, "upgrade", cwd=project).returncode == 0

    result = run_cli("--url", db_url, "downgrade", "base", cwd=project)
    assert result.returncode == 1, result.output
    error = " ".join(result.stderr.split())
    assert "revision b1 (names, forgets a table in downgrade) failed" in error
    assert "statement: DROP TABLE nonexistent_table" in error
    assert "b1 was rolled back, the database is at b1" in error
    assert "Traceback" not in result.stderr
    # The database really is where the message says: the DELETE before the failure is undone.
    assert await version_rows(db_url) == ["b1"]
    assert await count_users(db_url) == 1


async def test_failed_downgrade_after_autocommit_block_says_part_way(project: Path, pg_url: str) -> None:
    """What ran in autocommit_block() stays committed: the error says the database is between
    revisions, and it is."""
    write(project, "a1", USERS)
    concurrently = (
        "    with op.get_context().autocommit_block():\n"
        '        op.execute("CREATE INDEX CONCURRENTLY ix_users_part_way ON users (id)")\n'
    )
    write(project, "b1", BAD_DOWNGRADE.format(before_failure=concurrently))
    assert run_cli("--url", pg_url, "upgrade", cwd=project).returncode == 0

    result = run_cli("--url", pg_url, "downgrade", "base", cwd=project)
    assert result.returncode == 1, result.output
    error = " ".join(result.stderr.split())
    assert "revision b1 (names, forgets a table in downgrade) failed" in error
    assert "statement: DROP TABLE nonexistent_table" in error
    assert "the database is at b1" in error
    assert "b1 committed part of its work in autocommit_block() before failing" in error
    assert "was rolled back" not in error
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as connection:
            indexes = await connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'users'")
            )
            assert "ix_users_part_way" in {row[0] for row in indexes}
    finally:
        await engine.dispose()
    assert await version_rows(pg_url) == ["b1"]


@pytest.mark.parametrize(
    "dialect_url", ["sqlite+aiosqlite:///offline.db", "postgresql+asyncpg://u:p@localhost/x"]
)
def test_failed_sql_run_prints_what_rendered_and_names_the_revision(project: Path, dialect_url: str) -> None:
    """Offline, nothing connects: the partial script is printed as Alembic prints it, then one
    line names the revision, the last statement rendered and that no database was touched."""
    write(project, "a1", USERS)
    write(project, "b1", BAD_DOWNGRADE.format(before_failure=""))
    write(project, "c1", OFFLINE_FAILS)
    env = {"DATABASE_URL": dialect_url}

    ours = run_cli("upgrade", "head", "--sql", cwd=project, env=env)
    theirs = run_alembic("upgrade", "head", "--sql", cwd=project, env=env)
    assert ours.returncode == 1 and theirs.returncode == 1, (ours.output, theirs.output)
    assert ours.stdout == theirs.stdout
    assert "CREATE TABLE tags" in ours.stdout and "-- Running upgrade b1 -> c1" in ours.stdout
    error = " ".join(ours.stderr.split())
    assert (
        "revision c1 (tags, cannot render offline) failed while rendering SQL:"
        " RuntimeError: needs the live database"
    ) in error
    assert "last statement rendered: CREATE TABLE tags" in error
    assert "no database was touched (--sql)" in error
    assert "Traceback" not in ours.stderr

    ours = run_cli("downgrade", "c1:a1", "--sql", cwd=project, env=env)
    theirs = run_alembic("downgrade", "c1:a1", "--sql", cwd=project, env=env)
    assert ours.returncode == 1 and theirs.returncode == 1, (ours.output, theirs.output)
    assert ours.stdout == theirs.stdout
    assert "DROP TABLE tags" in ours.stdout
    assert "revision c1 (tags, cannot render offline) failed while rendering SQL" in ours.stderr


async def test_failed_downgrade_through_a_projects_own_env_py(tmp_path: Path) -> None:
    """An env.py of the project's own (Alembic's generic one): the revision and statement are
    named, and where the database is comes from its version table, read after the failure (the
    env.py, not asyncmigrate, decided what was committed)."""
    (tmp_path / "alembic" / "versions").mkdir(parents=True)
    (tmp_path / "alembic" / "env.py").write_text(SYNC_ENV_PY)
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///%(here)s/app.db\n"
    )
    for name, source in (("a1", USERS), ("b1", BAD_DOWNGRADE.format(before_failure=""))):
        (tmp_path / "alembic" / "versions" / f"{name}.py").write_text(source)
    assert run_cli("upgrade", "head", cwd=tmp_path).returncode == 0

    result = run_cli("downgrade", "base", cwd=tmp_path)
    assert result.returncode == 1, result.output
    error = " ".join(result.stderr.split())
    assert "revision b1 (names, forgets a table in downgrade) failed" in error
    assert "statement: DROP TABLE nonexistent_table" in error
    assert "the database is at b1 (its version table after the failure)" in error
    assert await version_rows(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}") == ["b1"]
