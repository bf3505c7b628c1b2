"""The migration test harness: the stairway names exactly the bad revisions, on PostgreSQL and
SQLite, on histories with merges, branch points, depends_on and labelled heads."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from asyncmigrate import Migrator
from asyncmigrate.scaffold import init_project
from asyncmigrate.testing import (
    downgrade_leaves_no_trace,
    models_match_migrations,
    revisions_import,
    single_head,
    stairway,
)

from .conftest import run_cli

HEADER = '''\
"""{message}"""
from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = {depends!r}

'''

# revision -> (down, labels, depends_on, message, upgrade body, downgrade body)
MIXED_HISTORY = {
    "a1": (
        None,
        None,
        None,
        "users",
        """
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.Text))
    op.create_index("ix_users_email", "users", ["email"])""",
        """
    op.drop_index("ix_users_email", table_name="users")
    op.drop_table("users")""",
    ),
    "b1": (
        "a1",
        None,
        None,
        "nickname, forgets its index",
        """
    op.add_column("users", sa.Column("nickname", sa.String(30)))
    op.create_index("ix_users_id_email", "users", ["id", "email"])""",
        """
    with op.batch_alter_table("users") as batch:
        batch.drop_column("nickname")""",
    ),
    "c1": (
        "a1",
        None,
        None,
        "tags, empty downgrade",
        """
    op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))""",
        """
    pass""",
    ),
    "d1": (
        "c1",
        None,
        None,
        "labels, downgrade raises",
        """
    op.create_table("labels", sa.Column("id", sa.Integer, primary_key=True))""",
        """
    raise RuntimeError("this migration cannot be undone")""",
    ),
    "m1": (
        ("b1", "d1"),
        None,
        None,
        "merge",
        """
    pass""",
        """
    pass""",
    ),
    "x1": (
        None,
        ("audit",),
        None,
        "audit branch",
        """
    op.create_table("audit_log", sa.Column("id", sa.Integer, primary_key=True))""",
        """
    op.drop_table("audit_log")""",
    ),
    "e1": (
        "m1",
        None,
        "x1",
        "events depend on audit",
        """
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("audit_id", sa.Integer, sa.ForeignKey("audit_log.id", ondelete="CASCADE")),
    )""",
        """
    op.drop_table("events")""",
    ),
}


def write_history(project: Path, history: dict[str, tuple]) -> None:
    versions = project / "migrations" / "versions"
    for revision, (down, labels, depends, message, upgrade, downgrade) in history.items():
        text = HEADER.format(message=message, revision=revision, down=down, labels=labels, depends=depends)
        text += f"\ndef upgrade():{upgrade}\n\n\ndef downgrade():{downgrade}\n"
        (versions / f"{revision}.py").write_text(text)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    init_project(project_dir=root, models="unused")
    return root


async def test_stairway_names_exactly_the_bad_revisions(project: Path, db_url: str) -> None:
    write_history(project, MIXED_HISTORY)
    report = await stairway(Migrator.from_pyproject(project, url=db_url))
    by_revision = {r.revision: r for r in report.results}
    assert set(by_revision) == set(MIXED_HISTORY)
    assert sorted(r.revision for r in report.failed) == ["b1", "c1", "d1"]
    assert by_revision["b1"].problems == ["downgrade does not restore the schema"]
    assert any("ix_users_id_email" in line and "should not exist" in line for line in by_revision["b1"].diff)
    assert by_revision["c1"].problems == ["downgrade is empty (pass)"]
    assert by_revision["d1"].problems == ["downgrade raised RuntimeError: this migration cannot be undone"]
    for good in ("a1", "m1", "x1", "e1"):
        assert by_revision[good].status == "ok", by_revision[good]


def generated_branched_history(seed: int, size: int = 40) -> dict[str, tuple]:
    """A random history with several branch points, merges and two labelled heads."""
    rng = random.Random(seed)
    history: dict[str, tuple] = {}
    heads: dict[str, list[str]] = {"main": [], "reports": []}
    for number in range(size):
        revision = f"g{number:03d}"
        line = "reports" if number % 5 == 4 else "main"
        open_heads = heads[line]
        labels = None
        if not open_heads:
            down = None
            labels = (line,)
        elif len(open_heads) > 1 and rng.random() < 0.4:
            down = tuple(open_heads[:2])  # merge two heads of this line
            del open_heads[:2]
        else:
            down = rng.choice(open_heads)
            if rng.random() < 0.7:
                open_heads.remove(down)  # else: a new branch from a branch point
        open_heads.append(revision)
        table = f"t_{revision}"
        upgrade = f"""
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.String(20)))
    op.create_index("ix_{table}_v", "{table}", ["v"])"""
        downgrade = f"""
    op.drop_index("ix_{table}_v", table_name="{table}")
    op.drop_table("{table}")"""
        history[revision] = (down, labels, None, f"step {number}", upgrade, downgrade)
    return history


async def test_generated_branched_history_passes(project: Path, db_url: str) -> None:
    history = generated_branched_history(seed=7)
    write_history(project, history)
    migrator = Migrator.from_pyproject(project, url=db_url)
    assert len(await migrator.heads()) >= 2  # several heads, labelled lines
    assert any(info.is_merge_point for info in await migrator.history())
    assert any(info.is_branch_point for info in await migrator.history())
    report = await stairway(migrator)
    assert [r.revision for r in report.results if r.status != "ok"] == []
    assert {r.revision for r in report.results} == set(history)


async def test_no_trace_and_imports_and_heads(project: Path, db_url: str) -> None:
    write_history(project, {k: v for k, v in MIXED_HISTORY.items() if k in ("a1", "c1")})
    migrator = Migrator.from_pyproject(project, url=db_url)
    report = await downgrade_leaves_no_trace(migrator)
    assert "table tags should not exist" in report.problems
    assert all("tags" in problem for problem in report.problems)  # and, on PostgreSQL, its sequence
    assert (await single_head(migrator)).ok
    assert revisions_import(migrator).ok
    (project / "migrations" / "versions" / "broken.py").write_text("revision = 'zz'\nimport nothing_here\n")
    imports = revisions_import(migrator)
    assert imports.problems == [
        "broken.py: does not import: ModuleNotFoundError: No module named 'nothing_here'"
    ]


async def test_models_match_migrations_shows_the_drift(seed_project: Path, sqlite_url: str) -> None:
    init_project(project_dir=seed_project)
    migrator = Migrator.from_pyproject(seed_project, url=sqlite_url)
    await migrator.revision("users", autogenerate=True)
    # A model added without a revision: the migrations no longer build what the models say.
    (seed_project / "src" / "models" / "tag.py").write_text(
        "from sqlalchemy.orm import Mapped, mapped_column\nfrom src.models.base import Base\n\n\n"
        "class Tag(Base):\n    __tablename__ = 'tags'\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
    )
    fresh = Migrator.from_pyproject(seed_project, url=sqlite_url.replace("test.db", "fresh.db"))
    report = await models_match_migrations(fresh)
    assert report.problems == ["the models differ from the migrations (1 changes)"]
    assert "op.create_table('tags'" in report.detail


def test_cli_stairway_json(project: Path, tmp_path: Path) -> None:
    write_history(project, MIXED_HISTORY)
    pyproject = project / "pyproject.toml"  # the embedded SQLite default, chosen (no terminal here)
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", "[tool.asyncmigrate]\nembedded_sqlite = true\n"
        )
    )
    result = run_cli("test", "stairway", "--format", "json", cwd=project)
    assert result.returncode == 1, result.output
    report = json.loads(result.stdout)
    assert sorted(report["failed"]) == ["b1", "c1", "d1"]
    result = run_cli("test", "stairway", cwd=project)
    assert result.returncode == 1
    assert "downgrade is empty (pass)" in result.stdout
    assert "ix_users_id_email" in result.stdout


SAMPLE_DATA_TEST = """\
import pytest
from sqlalchemy import text


@pytest.mark.asyncio
async def test_data_migration_keeps_rows(migrator):
    revisions = [info.revision for info in reversed(await migrator.history())]
    await migrator.upgrade(revisions[0])
    await migrator.run_sync(lambda c: c.execute(text("INSERT INTO users (id, email) VALUES (1, 'a@b.c')")))
    await migrator.upgrade("head")
    rows = await migrator.run_sync(lambda c: c.execute(text("SELECT email, full_name FROM users")).all())
    assert rows == [("a@b.c", None)]


@pytest.mark.asyncio
async def test_starts_at_head(migrated_database, asyncmigrate_settings):
    from asyncmigrate import Migrator

    migrator = Migrator(asyncmigrate_settings.with_url(migrated_database))
    assert (await migrator.status()).up_to_date
    rows = await migrator.run_sync(lambda c: c.execute(text("SELECT count(*) FROM users")).scalar())
    assert rows == 0
"""


def _run_pytest(project: Path, *args: str) -> tuple[int, str]:
    import subprocess
    import sys

    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.mark.parametrize("server", ["sqlite", "postgresql"])
def test_plugin_in_a_sample_project(seed_project: Path, server: str, pg_admin_url: str) -> None:
    """One line in conftest.py: the built-in tests run (pytest-asyncio, strict mode), and a data
    migration test uses the async ``migrator`` fixture."""
    from asyncmigrate.demo import FULL_NAME_LINE

    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{seed_project / 'dev.db'}"}
    assert run_cli("init", cwd=seed_project, env=env).returncode == 0
    assert run_cli("revision", "--autogenerate", "-m", "users", cwd=seed_project, env=env).returncode == 0
    assert run_cli("upgrade", "head", cwd=seed_project, env=env).returncode == 0
    user = seed_project / "src" / "models" / "user.py"
    user.write_text(user.read_text() + FULL_NAME_LINE)
    assert run_cli("revision", "--autogenerate", "-m", "full name", cwd=seed_project, env=env).returncode == 0
    tests = seed_project / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text("from asyncmigrate.testing.builtin import *  # noqa: F403\n")
    (tests / "test_data.py").write_text(SAMPLE_DATA_TEST)
    args = ["--migrations-url", pg_admin_url] if server == "postgresql" else []
    code, output = _run_pytest(seed_project, *args)
    assert code == 0, output
    assert "7 passed" in output

    # Empty the newest revision's downgrade: the stairway names it.
    newest = max((seed_project / "migrations" / "versions").glob("*.py"), key=lambda p: p.stat().st_mtime)
    text = newest.read_text()
    newest.write_text(text[: text.index("def downgrade()")] + "def downgrade() -> None:\n    pass\n")
    code, output = _run_pytest(seed_project, *args)
    assert code == 1
    assert "(full name): downgrade is empty (pass)" in output
    assert "1 failed, 6 passed" in output  # no-trace still passes: the first revision drops users

    # The stairway's options reach the built-in test from the ini, as they reach the command
    rev = re.search(r"^revision[^=]*= ['\"](\w+)", text, re.M)
    assert rev is not None
    code, output = _run_pytest(seed_project, *args, "-o", f"asyncmigrate_minimum_downgrade_revision={rev[1]}")
    assert code == 0, output
    assert "7 passed" in output
    completed = run_cli("test", "all", "--minimum-downgrade-revision", rev[1], cwd=seed_project, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert run_cli("test", "all", cwd=seed_project, env=env).returncode == 1


async def test_data_only_revision_with_empty_downgrade_is_a_warning(project: Path, sqlite_url: str) -> None:
    history = {
        "a1": MIXED_HISTORY["a1"],
        "f1": (
            "a1",
            None,
            None,
            "backfill",
            """
    op.execute("UPDATE users SET email = lower(email)")""",
            """
    pass""",
        ),
    }
    write_history(project, history)
    report = await stairway(Migrator.from_pyproject(project, url=sqlite_url))
    assert report.ok
    [backfill] = [r for r in report.results if r.revision == "f1"]
    assert backfill.status == "warning"
    assert backfill.problems == [
        "downgrade is empty (pass): the schema is unchanged, but data is not reverted"
    ]


async def test_snapshot_cache_sees_every_change(db_url: str) -> None:
    """The fingerprint cache must never hide a change: cached and uncached snapshots agree."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from asyncmigrate.testing.snapshot import SnapshotCache, take_snapshot

    changes = [
        "CREATE TABLE a (id INTEGER PRIMARY KEY, name VARCHAR(20))",
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id))",
        "CREATE INDEX ix_a_name ON a (name)",
        "ALTER TABLE a ADD COLUMN note VARCHAR(30) DEFAULT 'x'",
        "DROP INDEX ix_a_name",
        "CREATE UNIQUE INDEX ix_a_note ON a (note)",
    ]
    cache = SnapshotCache()
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as connection:
            for statement in changes:
                await connection.exec_driver_sql(statement)
                await connection.commit()
                cached = await connection.run_sync(lambda c: take_snapshot(c, cache=cache))
                fresh = await connection.run_sync(take_snapshot)
                await connection.rollback()
                assert cached == fresh, statement
    finally:
        await engine.dispose()
