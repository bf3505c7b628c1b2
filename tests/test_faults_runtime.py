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
    read_pty,
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
    tables = await table_columns(url)
    if "alembic_version" in tables or expected is not None:
        assert await version_rows(url) == ([expected] if expected else [])
    wanted: set[str] = set()
    for revision in ("a1", "b2", "c3"):
        if expected is None:
            break
        wanted |= TABLES[revision]
        if revision == expected:
            break
    assert set(tables) - BOOKKEEPING == wanted


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


async def test_double_ctrl_c_on_sqlite_still_rolls_back(project: Path, tmp_path: Path) -> None:
    """The issue's case: Ctrl-C twice while the worker thread runs b2's Python code. The second
    one says why the wait; the worker does not commit b2 behind the user's back."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'twice.db'}"
    marker = tmp_path / "paused"
    env = {"PAUSE_MARKER": str(marker), "PAUSE_IN": "upgrade", "PAUSE_SECONDS": "3"}
    process = start_cli(project, "--url", url, "upgrade", "head", env=env)
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        await asyncio.sleep(0.05)
    process.send_signal(signal.SIGINT)
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "stopping: the running revision is busy in its own Python code" in err
    expected = "interrupted by SIGINT: revision b2 (slow one) was rolled back; the database is at a1"
    assert last_line(err) == expected
    await asyncio.sleep(3)  # no thread left behind to commit it later
    await assert_at_boundary(url, "a1")


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


async def test_sigterm_while_waiting_for_the_apply_lock(project: Path, pg_url: str) -> None:
    """Stopped while another migrator holds the lock: nothing ran, and it says so at once."""
    from sqlalchemy.engine import make_url

    from asyncmigrate.dialects.postgresql import lock_key

    from .conftest import asyncpg_connect

    holder = await asyncpg_connect(pg_url)
    try:
        await holder.execute(
            "SELECT pg_advisory_lock($1)", lock_key(make_url(pg_url).database, "alembic_version", None)
        )
        process = start_cli(project, "--url", pg_url, "upgrade", "head")
        # started, and polling the lock: its lock connection has named itself
        for _ in range(600):
            waiting = await holder.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND application_name LIKE 'asyncmigrate%'"
            )
            if waiting or process.poll() is not None:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        await holder.close()
    assert process.returncode == 143, err
    expected = "interrupted by SIGTERM: stopped before any revision ran; the database is at base"
    assert last_line(err) == expected
    await assert_at_boundary(pg_url, None)


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


# -- missing revision files ----------------------------------------------------------------------


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    """a1 -> b2 -> c3, each creating one table."""
    root = tmp_path / "plain"
    root.mkdir()
    init_project(project_dir=root, models="unused")
    write_revision(root, "a1", None, "t1")
    write_revision(root, "b2", "a1", "t2")
    write_revision(root, "c3", "b2", "t3")
    return root


def versions(project: Path) -> Path:
    return project / "migrations" / "versions"


@pytest.mark.parametrize("graph_cache", ["fast", "alembic"])
async def test_status_when_the_applied_heads_file_is_gone(
    plain: Path, any_url: str, graph_cache: str
) -> None:
    """Applied are the revisions the history says ran, not none; `upgrade head` would refuse."""
    assert run_cli("--url", any_url, "upgrade", "head", cwd=plain).returncode == 0
    (versions(plain) / "c3_t3.py").unlink()
    env = {"ASYNCMIGRATE_NO_GRAPH_CACHE": "1"} if graph_cache == "alembic" else {}
    result = run_cli("--url", any_url, "status", cwd=plain, env=env)
    assert result.returncode == 0, result.output
    assert "Applied (2):" in result.stdout and "✓ a1" in result.stdout and "✓ b2" in result.stdout
    assert "Pending" not in result.stdout and "Up to date" not in result.stdout
    assert "'upgrade head' would refuse: the database is at c3, whose revision file is gone" in result.stdout
    expected = (
        "error: the database is at c3, whose revision file is gone (nothing was run): restore the"
        " file; or, if it is lost for good, stamp the database at a revision that exists"
        " ('asyncmigrate stamp --purge REV') and acknowledge the loss ('asyncmigrate verify --accept c3')"
    )
    for command in (["upgrade", "head"], ["downgrade", "-1"]):
        refused = run_cli("--url", any_url, *command, cwd=plain)
        assert refused.returncode == 1, refused.output
        assert refused.stderr.strip() == expected, refused.stderr  # not Alembic's "Can't locate"
    await assert_versions(any_url, ["c3"])


async def test_verify_with_a_deleted_merge_parent(plain: Path, any_url: str) -> None:
    """One finding that names the lost parent and the merge that needs it: no Alembic warning,
    no KeyError; the other commands stop with the same line."""
    write_revision(plain, "x2", "a1", "tx")
    write_revision(plain, "m4", ("c3", "x2"), "tm")
    assert run_cli("--url", any_url, "upgrade", "head", cwd=plain).returncode == 0
    (versions(plain) / "x2_tx.py").unlink()
    expected = "x2, the parent of m4 (m4_tm.py), has no revision file: restore it from version control"
    result = run_cli("--url", any_url, "verify", cwd=plain)
    assert result.returncode == 1
    assert result.stdout.startswith(f"missing: {expected}"), result.output
    for noise in ("UserWarning", "KeyError", "site-packages", "Traceback"):
        assert noise not in result.output
    for command in (["status"], ["upgrade", "head"], ["downgrade", "-1"], ["history"], ["check-heads"]):
        failed = run_cli("--url", any_url, *command, cwd=plain)
        assert failed.returncode == 1, (command, failed.output)
        assert failed.stderr.startswith(f"error: {expected}"), failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    await assert_versions(any_url, ["m4"])


async def assert_versions(url: str, expected: list[str]) -> None:
    assert await version_rows(url) == expected


async def test_verify_accept_after_stamp_purge(plain: Path, any_url: str) -> None:
    """The loss of an applied revision's file can be acknowledged once, for good; an edit too."""
    assert run_cli("--url", any_url, "upgrade", "head", cwd=plain).returncode == 0
    (versions(plain) / "c3_t3.py").unlink()
    refused = run_cli("--url", any_url, "verify", "--accept", "c3", cwd=plain)
    assert refused.returncode == 1
    assert "error: c3 is the database's current revision and its file is gone" in refused.stderr
    assert run_cli("--url", any_url, "stamp", "--purge", "b2", cwd=plain).returncode == 0
    red = run_cli("--url", any_url, "verify", cwd=plain)
    assert red.returncode == 1 and "missing: c3 was applied on" in red.stdout
    accepted = run_cli("--url", any_url, "verify", "--accept", "c3", cwd=plain)
    assert accepted.returncode == 0, accepted.output
    assert "Accepted missing c3" in accepted.stdout
    assert "History verified" in run_cli("--url", any_url, "verify", cwd=plain).stdout
    # an edit made on purpose
    with (versions(plain) / "b2_t2.py").open("a") as file:
        file.write("# reviewed\n")
    assert run_cli("--url", any_url, "verify", cwd=plain).returncode == 1
    assert run_cli("--url", any_url, "verify", "--accept", "b2", cwd=plain).returncode == 0
    assert run_cli("--url", any_url, "verify", cwd=plain).returncode == 0
    # nothing to accept
    nothing = run_cli("--url", any_url, "verify", "--accept", "a1", cwd=plain)
    assert nothing.returncode == 1 and "error: verify finds nothing to accept for 'a1'" in nothing.stderr
    # and the next upgrade works from there
    write_revision(plain, "d4", "b2", "t4")
    assert run_cli("--url", any_url, "upgrade", "head", cwd=plain).returncode == 0
    assert run_cli("--url", any_url, "verify", cwd=plain).returncode == 0


@pytest.mark.parametrize("graph_cache", ["fast", "alembic"])
async def test_status_with_two_heads_says_upgrade_head_refuses(
    plain: Path, any_url: str, graph_cache: str
) -> None:
    write_revision(plain, "x2", "a1", "tx")
    assert run_cli("--url", any_url, "upgrade", "a1", cwd=plain).returncode == 0
    env = {"ASYNCMIGRATE_NO_GRAPH_CACHE": "1"} if graph_cache == "alembic" else {}
    result = run_cli("--url", any_url, "status", cwd=plain, env=env)
    assert result.returncode == 0, result.output
    assert "'upgrade head' would run" not in result.stdout
    assert "'upgrade head' would refuse: 2 heads (c3, x2)" in result.stdout
    assert "Pending (3), 'upgrade heads' would run, in order:" in result.stdout
    refused = run_cli("--url", any_url, "upgrade", "head", cwd=plain)
    assert refused.returncode == 1 and "multiple heads (c3, x2)" in refused.stderr


# -- smaller ones ---------------------------------------------------------------------------------


async def test_demo_takes_url_after_the_command(tmp_path: Path, pg_url: str) -> None:
    """`demo --help` offers --url; `demo DIR --url URL` runs the steps there."""
    assert "--url" in run_cli("demo", "--help", cwd=tmp_path).stdout
    result = run_cli("demo", str(tmp_path / "demo"), "--url", pg_url, cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "Demo complete" in result.stdout
    assert not (tmp_path / "demo" / "demo.db").exists()
    check_step = result.stdout.split("$ asyncmigrate check", 1)[1].split("$ asyncmigrate", 1)[0]
    assert "No changes" in check_step and "Detected sequence" not in check_step
    assert await version_rows(pg_url) == []  # the demo leaves the database as it was


async def test_check_on_postgresql_does_not_report_serial_columns(seed_project: Path, pg_url: str) -> None:
    assert run_cli("--url", pg_url, "init", cwd=seed_project).returncode == 0
    made = run_cli("--url", pg_url, "revision", "--autogenerate", "-m", "users", cwd=seed_project)
    assert made.returncode == 0, made.output
    assert run_cli("--url", pg_url, "upgrade", "head", cwd=seed_project).returncode == 0
    for _ in range(2):
        result = run_cli("--url", pg_url, "check", cwd=seed_project)
        assert result.returncode == 0, result.output
        assert result.stdout.strip() == "No changes: the database matches the models."
        assert result.stderr == "", result.stderr


PLAIN_REVISION = '''\
"""create accounts"""
from alembic import op
import sqlalchemy as sa

revision = "acc001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("accounts")
'''


async def test_api_reports_applied_revisions_of_a_plain_alembic_project(tmp_path: Path, any_url: str) -> None:
    """A stock `alembic init -t async` project, driven from the API: ApplyResult.applied names
    the revision that ran, both ways."""
    from asyncmigrate import Migrator

    from .conftest import run_alembic

    project = tmp_path / "stock"
    project.mkdir()
    assert run_alembic("init", "-t", "async", "alembic", cwd=project).returncode == 0
    ini = project / "alembic.ini"
    lines = [
        f"sqlalchemy.url = {any_url}" if line.startswith("sqlalchemy.url =") else line
        for line in ini.read_text().splitlines()
    ]
    ini.write_text("\n".join(lines) + "\n")
    (project / "alembic" / "versions" / "acc001_accounts.py").write_text(PLAIN_REVISION)
    migrator = Migrator.from_config(ini)
    result = await migrator.upgrade("head")
    assert (result.before, result.after, result.applied) == ((), ("acc001",), ["acc001"])
    assert "accounts" in await table_columns(any_url)
    result = await migrator.downgrade("base")
    assert (result.before, result.after, result.applied) == (("acc001",), (), ["acc001"])
    result = await migrator.upgrade("head")
    assert result.applied == ["acc001"]
    result = await migrator.upgrade("head")
    assert result.applied == [] and not result.changed


def test_version_names_alembic_sqlalchemy_and_the_drivers(tmp_path: Path) -> None:
    from importlib.metadata import version

    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0, result.output
    line = result.stdout.strip()
    assert line.startswith("asyncmigrate ")
    for name, shown in (("alembic", "Alembic"), ("sqlalchemy", "SQLAlchemy")):
        assert f"{shown} {version(name)}" in line
    for driver in ("asyncpg", "aiosqlite", "asyncmy"):
        assert f"{driver} {version(driver)}" in line


async def test_a_long_revision_shows_its_elapsed_time_on_a_terminal(
    project: Path, tmp_path: Path, any_url: str
) -> None:
    """stderr a terminal (a pty): while b2 runs for 4 s, a live line names it and counts the
    seconds; it is cleared before the next line. Without a terminal, nothing of it."""
    import pty

    env = {"PAUSE_MARKER": str(tmp_path / "paused"), "PAUSE_IN": "upgrade", "PAUSE_SECONDS": "4"}
    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env)
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncmigrate", "--url", any_url, "upgrade", "head"],
        cwd=project,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    text = read_pty(master, process)
    assert process.wait(timeout=60) == 0
    assert "\r  b2 running for 2s\x1b[K" in text, text
    assert "b2 running for 3s" in text
    live_end = text.rindex("running for")
    assert text.index("\r\x1b[K  Running upgrade b2 -> c3", live_end) > live_end
    assert "a1 running" not in text and "c3 running" not in text
    await assert_at_boundary(any_url, "c3")
    # not a terminal: plain lines only
    (tmp_path / "paused").unlink()
    assert run_cli("--url", any_url, "downgrade", "a1", cwd=project).returncode == 0
    plain = run_cli("--url", any_url, "upgrade", "head", cwd=project, env=env)
    assert plain.returncode == 0 and "running for" not in plain.output and "\x1b" not in plain.output
