"""Faults at run time, on the real servers: Ctrl-C and SIGTERM during upgrade/downgrade, missing
revision files, and the smaller cases of issue 14 (demo --url, check's log noise, the API on a
plain Alembic project, --version, progress of a long revision)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asyncmigrate.scaffold import init_project

from .conftest import (
    BOOKKEEPING,
    drop_database,
    fresh_database,
    run_cli,
    table_columns,
    version_rows,
    write_revision,
)

SLOW = '''\
"""{message}"""
import os
import time

from alembic import op
import sqlalchemy as sa

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def _pause(step):
    marker = os.environ.get("PAUSE_MARKER")
    if marker and os.environ.get("PAUSE_IN") == step:
        open(marker, "w").close()
        sql = os.environ.get("PAUSE_SQL")
        if sql:
            op.execute(sql)
        else:
            time.sleep(float(os.environ.get("PAUSE_SECONDS", "60")))


def upgrade():
    op.create_table("slow_a", sa.Column("id", sa.Integer, primary_key=True))
    _pause("upgrade")
    op.create_table("slow_b", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("slow_b")
    _pause("downgrade")
    op.drop_table("slow_a")
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """a1 (table t1) -> b2 (slow_a, a pause, slow_b) -> c3 (table t3)."""
    root = tmp_path / "project"
    root.mkdir()
    init_project(project_dir=root, models="unused")
    write_revision(root, "a1", None, "t1")
    (root / "migrations" / "versions" / "b2_slow.py").write_text(
        SLOW.format(message="slow one", revision="b2", down="a1")
    )
    write_revision(root, "c3", "b2", "t3")
    return root


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
async def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    url = await fresh_database(request.param, tmp_path)
    yield url
    await drop_database(request.param, url)


#: The tables each revision adds.
TABLES = {"a1": {"t1"}, "b2": {"slow_a", "slow_b"}, "c3": {"t3"}}


async def assert_at_boundary(url: str, expected: str | None) -> None:
    """The version row names ``expected`` and the tables are exactly those up to it."""
    assert await version_rows(url) == ([expected] if expected else [])
    wanted: set[str] = set()
    for revision in ("a1", "b2", "c3"):
        if expected is None:
            break
        wanted |= TABLES[revision]
        if revision == expected:
            break
    assert set(await table_columns(url)) - BOOKKEEPING == wanted


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


async def interrupt_when_paused(
    project: Path, tmp_path: Path, url: str, sig: int, *args: str, **pause: str
) -> tuple[int, str, float]:
    """Run the command, send ``sig`` once b2 pauses; the exit code, stderr and seconds from the
    signal to the exit."""
    marker = tmp_path / "paused"
    env = {"PAUSE_MARKER": str(marker), "PAUSE_IN": "upgrade", "PAUSE_SECONDS": "3"}
    env.update({name.upper(): value for name, value in pause.items()})
    process = start_cli(project, "--url", url, *args, env=env)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    os.kill(process.pid, sig)
    sent = time.monotonic()
    _, err = process.communicate(timeout=120)
    return process.returncode, err, time.monotonic() - sent


def last_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, stderr
    return lines[-1]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_signal_during_upgrade_stops_at_a_boundary(
    project: Path, tmp_path: Path, any_url: str, sig: signal.Signals
) -> None:
    """A signal while b2 runs: exit 130/143, one line that names b2 and where the database is,
    the database at a boundary (b2 rolled back where DDL is transactional, finished on MariaDB,
    c3 not started), and the next `upgrade head` completes."""
    code, err, _ = await interrupt_when_paused(project, tmp_path, any_url, sig, "upgrade", "head")
    assert code == 128 + sig, err
    assert "Aborted!" not in err and "Traceback" not in err
    line = last_line(err)
    if any_url.startswith("mysql"):
        assert line == f"interrupted by {sig.name}: stopped after revision b2; the database is at b2", err
        await assert_at_boundary(any_url, "b2")
    else:
        assert line == (
            f"interrupted by {sig.name}: revision b2 (slow one) was rolled back; the database is at a1"
        ), err
        await assert_at_boundary(any_url, "a1")
    result = run_cli("--url", any_url, "upgrade", "head", cwd=project)
    assert result.returncode == 0, result.output
    await assert_at_boundary(any_url, "c3")
    verify = run_cli("--url", any_url, "verify", cwd=project)
    assert verify.returncode == 0, verify.output


async def test_signal_during_downgrade_rolls_the_revision_back(
    project: Path, tmp_path: Path, any_url: str
) -> None:
    assert run_cli("--url", any_url, "upgrade", "head", cwd=project).returncode == 0
    marker = tmp_path / "paused"
    env = {"PAUSE_MARKER": str(marker), "PAUSE_IN": "downgrade", "PAUSE_SECONDS": "3"}
    process = start_cli(project, "--url", any_url, "downgrade", "base", env=env)
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    if any_url.startswith("mysql"):
        assert last_line(err) == "interrupted by SIGINT: stopped after revision b2; the database is at a1"
        await assert_at_boundary(any_url, "a1")
    else:
        assert last_line(err) == (
            "interrupted by SIGINT: revision b2 (slow one) was rolled back; the database is at b2"
        )
        await assert_at_boundary(any_url, "b2")
    assert run_cli("--url", any_url, "upgrade", "head", cwd=project).returncode == 0
    await assert_at_boundary(any_url, "c3")


async def test_sigint_cancels_a_running_statement_on_postgresql(
    project: Path, tmp_path: Path, pg_url: str
) -> None:
    """A revision inside `SELECT pg_sleep(60)`: the statement is cancelled at once, not waited
    for, and the revision rolls back."""
    code, err, waited = await interrupt_when_paused(
        project, tmp_path, pg_url, signal.SIGINT, "upgrade", "head", pause_sql="SELECT pg_sleep(60)"
    )
    assert code == 130, err
    assert waited < 10
    assert last_line(err).endswith("revision b2 (slow one) was rolled back; the database is at a1")
    await assert_at_boundary(pg_url, "a1")


async def test_sigint_interrupts_a_running_statement_on_sqlite(project: Path, tmp_path: Path) -> None:
    """sqlite3's interrupt() ends a long statement in the worker thread."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'slow.db'}"
    slow_sql = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000000)"
        " SELECT count(*) FROM n"
    )
    code, err, waited = await interrupt_when_paused(
        project, tmp_path, url, signal.SIGINT, "upgrade", "head", pause_sql=slow_sql
    )
    assert code == 130, err
    assert waited < 10
    await assert_at_boundary(url, "a1")


async def test_cancelled_api_call_stops_the_sqlite_worker(project: Path, tmp_path: Path) -> None:
    """A caller that cancels `await migrator.upgrade()` does not leave the worker thread running
    on: the revision is rolled back before the cancellation reaches the caller."""
    from asyncmigrate import Migrator

    url = f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
    marker = tmp_path / "paused"
    os.environ.update({"PAUSE_MARKER": str(marker), "PAUSE_IN": "upgrade", "PAUSE_SECONDS": "3"})
    try:
        task = asyncio.ensure_future(Migrator.from_pyproject(project, url=url).upgrade("head"))
        while not marker.exists():
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await assert_at_boundary(url, "a1")  # at once: nothing is still running
        await asyncio.sleep(3.5)
        await assert_at_boundary(url, "a1")
    finally:
        for name in ("PAUSE_MARKER", "PAUSE_IN", "PAUSE_SECONDS"):
            os.environ.pop(name, None)
