"""Safe apply: the apply lock under real concurrency, SIGKILL, lock timeouts with retries,
CREATE INDEX CONCURRENTLY under the lock, and history verification."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate import Migrator
from asyncmigrate.api.migrator import MigrationFailed
from asyncmigrate.dialects.postgresql import lock_key
from asyncmigrate.scaffold import init_project

from .conftest import (
    asyncpg_connect,
    drop_database,
    fresh_database,
    run_cli,
    table_columns,
    version_rows,
)

AUDITED = '''\
"""{message}"""
import os
import textwrap
import time

from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None
{extra}

def upgrade():
    if {first!r}:
        op.create_table(
            "audit",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("revision", sa.String(32), nullable=False),
        )
    op.create_table("t_{revision}", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("INSERT INTO audit (revision) VALUES ('{revision}')")
    marker = os.environ.get("SLEEP_IN_{revision}")
    if marker:
        open(marker, "w").close()
        time.sleep(120)


def downgrade():
    op.drop_table("t_{revision}")
    if {first!r}:
        op.drop_table("audit")
'''


def write_audited_history(project: Path, count: int, extra: dict[int, str] | None = None) -> list[str]:
    """``count`` revisions; each creates a table and inserts one audit row naming itself."""
    revisions: list[str] = []
    for number in range(count):
        revision = f"r{number:03d}"
        (project / "migrations" / "versions" / f"{revision}_audited.py").write_text(
            AUDITED.format(
                message=f"step {number}",
                revision=revision,
                down=revisions[-1] if revisions else None,
                first=number == 0,
                extra=(extra or {}).get(number, ""),
            )
        )
        revisions.append(revision)
    return revisions


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    init_project(project_dir=root, models="unused")
    return root


async def audit_counts(url: str) -> Counter[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT revision FROM audit"))
            return Counter(row[0] for row in rows)
    finally:
        await engine.dispose()


def start_cli(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "asyncmigrate", *args],
        cwd=project,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- many replicas at once -------------------------------------------------------------------

PROCESSES = 8
#: 3 rounds in the default run (the whole suite must stay under its time budget); the full soak of
#: 20 with ASYNCMIGRATE_MATRIX=all (README.md)
ROUNDS = 20 if os.environ.get("ASYNCMIGRATE_MATRIX") == "all" else 3


@pytest.mark.parametrize("kind", ["postgresql", "sqlite", "mariadb"])
async def test_replicas_upgrade_at_once(project: Path, tmp_path: Path, kind: str) -> None:
    """8 processes run `upgrade head` at once on an empty database, ROUNDS rounds: all exit 0,
    one version row at head, every revision's body ran exactly once."""
    revisions = write_audited_history(project, 4)
    outcomes: Counter[str] = Counter()
    started = time.monotonic()
    for round_number in range(ROUNDS):
        url = await fresh_database(kind, tmp_path, round_number)
        try:
            processes = [start_cli(project, "--url", url, "upgrade", "head") for _ in range(PROCESSES)]
            results = [(p.wait(timeout=240), *p.communicate()) for p in processes]
            for code, out, err in results:
                assert code == 0, f"round {round_number}: {out}{err}"
                outcomes["did the work" if "Database is at" in out else "found it done"] += 1
            assert await version_rows(url) == [revisions[-1]]
            assert await audit_counts(url) == Counter({rev: 1 for rev in revisions})
        finally:
            await drop_database(kind, url)
    elapsed = time.monotonic() - started
    print(f"\n{kind}: {ROUNDS} rounds x {PROCESSES} processes in {elapsed:.1f}s; {dict(outcomes)}")
    assert outcomes["did the work"] == ROUNDS
    assert outcomes["found it done"] == ROUNDS * (PROCESSES - 1)


# -- a killed migrator -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_sigkill_leaves_no_stale_lock(project: Path, tmp_path: Path, kind: str) -> None:
    revisions = write_audited_history(project, 3)
    url = await fresh_database(kind, tmp_path, 0)
    try:
        marker = tmp_path / "sleeping"
        victim = start_cli(project, "--url", url, "upgrade", "head", env={"SLEEP_IN_r001": str(marker)})
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        # At a revision boundary: r000 committed, r001 rolled back whole.
        assert await version_rows(url) == ["r000"]
        assert "t_r001" not in await table_columns(url)
        result = run_cli("--url", url, "upgrade", "head", "--no-wait", cwd=project)
        assert result.returncode == 0, result.output
        assert await version_rows(url) == [revisions[-1]]
        assert await audit_counts(url) == Counter({rev: 1 for rev in revisions})
    finally:
        await drop_database(kind, url)


# -- waiting for, and failing on, a held lock -----------------------------------------------


async def test_no_wait_and_lock_wait_name_the_holder(project: Path, pg_url: str) -> None:
    write_audited_history(project, 1)
    url = make_url(pg_url)
    holder = await asyncpg_connect(pg_url, server_settings={"application_name": "deploy-42"})
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", lock_key(url.database, "alembic_version", None))
        result = run_cli("--url", pg_url, "upgrade", "head", "--no-wait", cwd=project)
        assert result.returncode == 1
        assert "error: another migration holds the apply lock (held by server pid" in result.stderr
        assert "'deploy-42'" in result.stderr and "(--no-wait)" in result.stderr
        started = time.monotonic()
        result = run_cli("--url", pg_url, "upgrade", "head", "--lock-wait", "1.5", cwd=project)
        assert result.returncode == 1
        assert 1.5 <= time.monotonic() - started < 15
        assert "waiting for the apply lock held by server pid" in result.stderr
        assert "gave up after 1." in result.stderr
        assert "alembic_version" not in await table_columns(pg_url)
    finally:
        await holder.close()
    result = run_cli("--url", pg_url, "upgrade", "head", "--no-wait", cwd=project)
    assert result.returncode == 0, result.output


# -- lock_timeout and retries ------------------------------------------------------------------

ALTER_BUSY = '''\
"""alter busy"""
from alembic import op
import sqlalchemy as sa

revision = "b002"
down_revision = "b001"
branch_labels = None
depends_on = None
{options}

def upgrade():
    op.add_column("busy", sa.Column("extra", sa.Integer))


def downgrade():
    op.drop_column("busy", "extra")
'''

CREATE_BUSY = '''\
"""create busy"""
from alembic import op
import sqlalchemy as sa

revision = "b001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("busy", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("busy")
'''


async def _hold_access_exclusive(url: str, seconds: float, holding: asyncio.Event) -> None:
    connection = await asyncpg_connect(url)
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
            holding.set()
            await asyncio.sleep(seconds)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def busy_table_held_forever(project: Path, pg_url: str, options: str = "") -> AsyncIterator[Migrator]:
    """A migrator at b001 while another connection holds ACCESS EXCLUSIVE on `busy`."""
    _write_busy_history(project, options)
    migrator = Migrator.from_pyproject(project, url=pg_url)
    await migrator.upgrade("b001")
    holding = asyncio.Event()
    holder = asyncio.create_task(_hold_access_exclusive(pg_url, 30.0, holding))
    await holding.wait()
    try:
        yield migrator
    finally:
        holder.cancel()


def _write_busy_history(project: Path, options: str = "") -> None:
    versions = project / "migrations" / "versions"
    (versions / "b001_create_busy.py").write_text(CREATE_BUSY)
    (versions / "b002_alter_busy.py").write_text(ALTER_BUSY.format(options=options))


async def test_lock_timeout_is_retried_until_the_lock_is_gone(
    project: Path, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _write_busy_history(project)
    migrator = Migrator.from_pyproject(project, url=pg_url)
    await migrator.upgrade("b001")
    holding = asyncio.Event()
    holder = asyncio.create_task(_hold_access_exclusive(pg_url, 2.0, holding))
    await holding.wait()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="asyncmigrate"):
        result = await migrator.upgrade("head", lock_timeout=0.3, attempts=6)
    await holder
    assert result.applied == ["b002"]
    assert await migrator.current() == ("b002",)
    assert "extra" in (await table_columns(pg_url))["busy"]
    retries = [r.getMessage() for r in caplog.records if "hit the lock timeout" in r.getMessage()]
    assert retries and retries[0].startswith("revision b002 hit the lock timeout (attempt 1 of 6)")
    assert time.monotonic() - started >= 1.5


async def test_lock_timeout_gives_up_after_the_attempts(project: Path, pg_url: str) -> None:
    async with busy_table_held_forever(project, pg_url) as migrator:
        started = time.monotonic()
        with pytest.raises(MigrationFailed) as failure:
            await migrator.upgrade("head", lock_timeout=0.2, attempts=2)
        # Each attempt waited at most the lock timeout: the table was never queued behind us long.
        assert time.monotonic() - started < 5
    message = str(failure.value)
    assert message.startswith(
        "revision b002 (alter busy) failed after 2 attempts: canceling statement due to lock timeout"
    )
    assert "statement: ALTER TABLE busy ADD COLUMN extra INTEGER" in message
    assert message.endswith("the database is at b001")
    assert await migrator.current() == ("b001",)


async def test_revision_overrides_the_lock_timeout(project: Path, pg_url: str) -> None:
    """A module-level ``asyncmigrate = {...}`` in the revision file wins over the defaults."""
    options = 'asyncmigrate = {"lock_timeout": "100ms", "attempts": 1}\n'
    async with busy_table_held_forever(project, pg_url, options) as migrator:
        started = time.monotonic()
        with pytest.raises(MigrationFailed, match="b002 .* failed: canceling statement due to lock timeout"):
            await migrator.upgrade("head", lock_timeout=20, attempts=5)
        assert time.monotonic() - started < 3


def test_cli_lock_timeout_error_is_one_line(project: Path, pg_url: str) -> None:
    _write_busy_history(project)
    assert run_cli("--url", pg_url, "upgrade", "b001", cwd=project).returncode == 0

    async def scenario() -> None:
        holding = asyncio.Event()
        holder = asyncio.create_task(_hold_access_exclusive(pg_url, 30.0, holding))
        await holding.wait()
        try:
            result = await asyncio.to_thread(
                run_cli,
                "-q",
                "--url",
                pg_url,
                "upgrade",
                "head",
                "--lock-timeout",
                "0.2",
                "--attempts",
                "2",
                cwd=project,
            )
        finally:
            holder.cancel()
        assert result.returncode == 1
        # Each attempt is logged; the failure itself is one line.
        *attempts, line = result.stderr.strip().splitlines()
        assert [a.strip()[:46] for a in attempts] == ["revision b002 hit the lock timeout (attempt 1 "]
        assert line.startswith("error: revision b002 (alter busy) failed after 2 attempts")

    asyncio.run(scenario())


# -- CREATE INDEX CONCURRENTLY under the lock -------------------------------------------------

CONCURRENT_INDEX = '''\
"""index concurrently"""
from alembic import op
import sqlalchemy as sa

revision = "c002"
down_revision = "c001"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("INSERT INTO items (code) SELECT 'item' || g FROM generate_series(1, 2000) g")
    with op.get_context().autocommit_block():
        op.create_index("ix_items_code", "items", ["code"], unique={unique}, postgresql_concurrently=True)
        # Who holds our advisory lock while the index is built? Recorded for the test.
        op.execute(
            "INSERT INTO lock_seen (holders) SELECT count(*) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted"
        )


def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index("ix_items_code", table_name="items", postgresql_concurrently=True)
'''

CREATE_ITEMS = '''\
"""items"""
from alembic import op
import sqlalchemy as sa

revision = "c001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("items", sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.String(20)))
    op.create_table("lock_seen", sa.Column("holders", sa.Integer))
    {duplicate}


def downgrade():
    op.drop_table("lock_seen")
    op.drop_table("items")
'''


INDEX_IS_VALID = (
    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
    " WHERE c.relname = 'ix_items_code'"
)


async def scalar(url: str, sql: str) -> object:
    """Run one statement in its own committed transaction; return the first value."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            return (await connection.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def test_create_index_concurrently_under_the_apply_lock(project: Path, pg_url: str) -> None:
    versions = project / "migrations" / "versions"
    (versions / "c001_items.py").write_text(CREATE_ITEMS.format(duplicate=""))
    (versions / "c002_index.py").write_text(CONCURRENT_INDEX.format(unique=False))
    migrator = Migrator.from_pyproject(project, url=pg_url)
    result = await asyncio.wait_for(migrator.upgrade("head"), timeout=60)
    assert result.applied == ["c001", "c002"]
    assert await scalar(pg_url, INDEX_IS_VALID) is True
    assert await scalar(pg_url, "SELECT holders FROM lock_seen") == 1  # the lock was held across it
    await asyncio.wait_for(migrator.downgrade("-1"), timeout=60)
    assert await migrator.current() == ("c001",)


async def test_failed_concurrent_index_reports_the_invalid_index(project: Path, pg_url: str) -> None:
    versions = project / "migrations" / "versions"
    duplicate = "op.execute(\"INSERT INTO items (code) VALUES ('item1')\")"
    (versions / "c001_items.py").write_text(CREATE_ITEMS.format(duplicate=duplicate))
    (versions / "c002_index.py").write_text(CONCURRENT_INDEX.format(unique=True))
    migrator = Migrator.from_pyproject(project, url=pg_url)
    with pytest.raises(MigrationFailed) as failure:
        await migrator.upgrade("head")
    message = str(failure.value)
    assert "revision c002 (index concurrently) failed" in message
    assert "could not create unique index" in message
    assert "INVALID index left behind by CREATE INDEX CONCURRENTLY: public.ix_items_code" in message
    assert "c002 committed part of its work in autocommit_block() before failing" in message
    # The data is fixed; the next run drops the INVALID index first, and the retry succeeds.
    await scalar(pg_url, "DELETE FROM items RETURNING 1")
    result = await migrator.upgrade("head")
    assert result.applied == ["c002"]
    assert await scalar(pg_url, INDEX_IS_VALID) is True


# -- history integrity -------------------------------------------------------------------------


async def test_verify_catches_edited_deleted_and_inserted_revisions(project: Path, db_url: str) -> None:
    revisions = write_audited_history(project, 3)
    result = run_cli("--url", db_url, "upgrade", "head", cwd=project)
    assert result.returncode == 0, result.output
    result = run_cli("--url", db_url, "verify", cwd=project)
    assert result.returncode == 0, result.output
    assert "History verified" in result.stdout

    first = project / "migrations" / "versions" / f"{revisions[0]}_audited.py"
    first.write_text(first.read_text().replace('"""step 0"""', '"""step 0, edited"""'))
    result = run_cli("--url", db_url, "verify", cwd=project)
    assert result.returncode == 1
    assert f"edited: {revisions[0]} (step 0, edited) was edited after it was applied" in result.stdout

    (project / "migrations" / "versions" / f"{revisions[2]}_audited.py").unlink()
    result = run_cli("--url", db_url, "verify", cwd=project)
    assert result.returncode == 1
    assert f"missing: {revisions[2]} is in the version table but its file is gone" in result.stdout
    result = run_cli("--url", db_url, "status", cwd=project)
    assert "was edited after it was applied" in result.stdout


async def test_verify_catches_a_revision_inserted_below_applied_ones(project: Path, sqlite_url: str) -> None:
    revisions = write_audited_history(project, 2)
    migrator = Migrator.from_pyproject(project, url=sqlite_url)
    await migrator.upgrade("head")
    # A branch is rebased: a new revision slides in between r000 and r001, already applied.
    versions = project / "migrations" / "versions"
    (versions / "x999_inserted.py").write_text(
        '"""inserted"""\nrevision = "x999"\ndown_revision = "r000"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    )
    second = versions / f"{revisions[1]}_audited.py"
    second.write_text(second.read_text().replace("down_revision = 'r000'", "down_revision = 'x999'"))
    problems = await Migrator.from_pyproject(project, url=sqlite_url).verify()
    kinds = {(p.kind, p.revision) for p in problems}
    assert ("out-of-order", "x999") in kinds
    assert ("edited", "r001") in kinds


async def test_plain_alembic_database_is_adopted(project: Path, sqlite_url: str) -> None:
    """A database migrated by plain Alembic (no side table) is adopted without error."""
    revisions = write_audited_history(project, 3)
    migrator = Migrator.from_pyproject(project, url=sqlite_url)
    await migrator.upgrade(revisions[1], record_history=False)
    assert "asyncmigrate_history" not in await table_columns(sqlite_url)
    # Without the table only the files' presence can be checked, and verify says so.
    assert [problem.kind for problem in await migrator.verify()] == ["not-checked"]
    await migrator.upgrade("head")
    assert await migrator.verify() == []
    engine = create_async_engine(sqlite_url)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT revision, event FROM asyncmigrate_history ORDER BY id"))
        ).all()
    await engine.dispose()
    assert rows == [("r000", "adopted"), ("r001", "adopted"), ("r002", "upgrade")]


def test_check_heads(project: Path) -> None:
    write_audited_history(project, 2)
    versions = project / "migrations" / "versions"
    (versions / "z777_parallel.py").write_text(
        '"""parallel"""\nrevision = "z777"\ndown_revision = "r000"\nbranch_labels = None\n'
        "depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    )
    result = run_cli("check-heads", cwd=project)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: 2 heads (r001, z777) without a merge: run 'asyncmigrate merge heads -m \"merge\"'"
        " and commit the new revision"
    )
    assert run_cli("merge", "heads", "-m", "merge", cwd=project).returncode == 0
    result = run_cli("check-heads", cwd=project)
    assert result.returncode == 0, result.output


async def test_busy_table_is_never_queued_behind_a_migration_for_long(project: Path, pg_url: str) -> None:
    """A long reader holds ACCESS SHARE on `busy`; our ALTER waits for ACCESS EXCLUSIVE and every
    later reader queues behind it. The lock timeout bounds that queue; retries finish the job."""
    _write_busy_history(project)
    migrator = Migrator.from_pyproject(project, url=pg_url)
    await migrator.upgrade("b001")
    long_reader = await asyncpg_connect(pg_url)
    reader = await asyncpg_connect(pg_url)
    waits: list[float] = []
    try:
        transaction = long_reader.transaction()
        await transaction.start()
        await long_reader.execute("SELECT count(*) FROM busy")  # holds ACCESS SHARE until commit

        async def read_repeatedly() -> None:
            while True:
                started = time.monotonic()
                await reader.execute("SELECT count(*) FROM busy")
                waits.append(time.monotonic() - started)
                await asyncio.sleep(0.02)

        reading = asyncio.create_task(read_repeatedly())
        upgrading = asyncio.create_task(migrator.upgrade("head", lock_timeout=0.3, attempts=20))
        await asyncio.sleep(3)
        await transaction.commit()  # the long reader finishes; the ALTER can now get its lock
        result = await asyncio.wait_for(upgrading, timeout=30)
        reading.cancel()
    finally:
        await long_reader.close()
        await reader.close()
    assert result.applied == ["b002"]
    assert len(waits) > 20
    print(f"\nreaders behind the migration: {len(waits)} reads, longest wait {max(waits):.2f}s")
    assert max(waits) < 1.0  # bounded by the 0.3 s lock timeout, not by the 3 s reader


def _probe_revision(project: Path, rev: str, down: str | None, body: str) -> None:
    path = project / "migrations" / "versions" / f"{rev}_probe.py"
    path.write_text(
        "from alembic import op\n\n"
        f"revision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"
        "    op.execute(\"INSERT INTO probe VALUES ('%s', current_setting('lock_timeout'))\")\n\n\n"
        "def downgrade():\n    pass\n" % rev
    )


OURS = "SET lock_timeout = '5000ms'"


async def test_timeouts_are_sent_once_and_again_after_a_revision_changes_them(
    project: Path, pg_url: str
) -> None:
    """Session timeouts survive each revision's COMMIT: consecutive revisions need them once, but
    a revision that sets its own must not leak its value into the next one."""
    _probe_revision(project, "p1", None, "op.execute('CREATE TABLE probe (rev text, lock_timeout text)')")
    _probe_revision(project, "p2", "p1", "pass")
    _probe_revision(project, "p3", "p2", "op.execute('SET lock_timeout = 0')")
    _probe_revision(project, "p4", "p3", "pass")
    engine = create_async_engine(pg_url)
    sent: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("SET lock_timeout"):
            sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await Migrator.from_pyproject(project / "pyproject.toml", engine=engine).upgrade("head")
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT rev, lock_timeout FROM probe ORDER BY rev"))).all()
    finally:
        await engine.dispose()
    assert [tuple(row) for row in rows] == [("p1", "5s"), ("p2", "5s"), ("p3", "0"), ("p4", "5s")]
    # p1 sets them; p2 and p3 have them already (p3 then changes them); p4 gets them again
    assert sent == [OURS, "SET lock_timeout = 0", OURS], sent
