"""A project's own sync env.py runs in the process plain Alembic would give it: a revision that
works only because some other module happened to be imported first fails under asyncmigrate as
it does under ``alembic`` (manila's history has one: it uses ``sa.orm`` without importing
sqlalchemy.orm), the apply lock is then held by the env.py's own driver, and an error of the
env.py is reported as itself when AnyIO is not installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from .conftest import SYNC_ENV_PY, drop_database, fresh_database, run_alembic, run_cli, table_columns

USERS = '''\
"""users"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("users")
'''

#: Uses sa.orm, imported only when ``import_orm`` is set.
USES_ORM = '''\
"""touch users through a Session"""
from alembic import op
import sqlalchemy as sa
{import_orm}
revision = "b1"
down_revision = "a1"
branch_labels = None
depends_on = None


def upgrade():
    session = sa.orm.Session(bind=op.get_bind())
    session.execute(sa.text("INSERT INTO users (id) VALUES (1)"))
    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("notes")
'''

#: Fails unless another session of this database holds an advisory lock (the apply lock).
LOCK_HELD = '''\
"""the apply lock is held meanwhile"""
from alembic import op
import sqlalchemy as sa

revision = "b1"
down_revision = "a1"
branch_labels = None
depends_on = None


def upgrade():
    held = op.get_bind().exec_driver_sql(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()"
        " AND a.datname = current_database()"
    ).scalar()
    if held != 1:
        raise RuntimeError(f"advisory locks held by other sessions: {held}")
    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("notes")
'''


#: Fails unless another session holds the apply lock, MySQL's named lock (``GET_LOCK``).
NAMED_LOCK_HELD = '''\
"""the apply lock is held meanwhile"""
from alembic import op
import sqlalchemy as sa

revision = "b1"
down_revision = "a1"
branch_labels = None
depends_on = None


def upgrade():
    holder = op.get_bind().exec_driver_sql("SELECT IS_USED_LOCK('{name}'), CONNECTION_ID()").one()
    if holder[0] is None or holder[0] == holder[1]:
        raise RuntimeError(f"the apply lock is held by {{holder[0]}}, this session is {{holder[1]}}")
    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("notes")
'''

#: The sync driver a stock env.py uses, per backend.
SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}


def _sync(url: str) -> str:
    """The URL with the sync driver a stock env.py uses."""
    parsed = make_url(url)
    driver = SYNC_DRIVERS[parsed.get_backend_name()]
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _project(directory: Path, url: str, second: str) -> Path:
    (directory / "migrations" / "versions").mkdir(parents=True)
    (directory / "migrations" / "env.py").write_text(SYNC_ENV_PY)
    (directory / "migrations" / "versions" / "a1.py").write_text(USERS)
    (directory / "migrations" / "versions" / "b1.py").write_text(second)
    (directory / "alembic.ini").write_text(
        f"[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {_sync(url)}\n"
    )
    return directory


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_revision_using_unimported_sa_orm_fails_as_under_alembic(tmp_path: Path, kind: str) -> None:
    if kind == "postgresql":
        pytest.importorskip("psycopg2")  # the sync driver of Alembic's stock env.py
    urls = [await fresh_database(kind, tmp_path, n) for n in range(2)]
    try:
        failing = USES_ORM.format(import_orm="")
        theirs_dir = _project(tmp_path / "alembic", urls[0], failing)
        ours_dir = _project(tmp_path / "ours", urls[1], failing)
        theirs = run_alembic("upgrade", "head", cwd=theirs_dir)
        ours = run_cli("upgrade", "head", cwd=ours_dir)
        message = "module 'sqlalchemy' has no attribute 'orm'"
        assert theirs.returncode != 0 and message in theirs.stderr, theirs.output
        assert ours.returncode == 1 and message in ours.stderr, ours.output
        assert "Traceback" not in ours.stderr
        # the same database state: "users" on SQLite (a1 committed), nothing on PostgreSQL
        assert await table_columns(urls[1]) == await table_columns(urls[0])

        # the same revision importing what it uses works: the failure was the namespace only
        (ours_dir / "migrations" / "versions" / "b1.py").write_text(
            USES_ORM.format(import_orm="import sqlalchemy.orm\n")
        )
        ours = run_cli("upgrade", "head", cwd=ours_dir)
        assert ours.returncode == 0, ours.output
        assert {"users", "notes"} <= set(await table_columns(urls[1]))
    finally:
        for url in urls:
            await drop_database(kind, url)


async def test_sync_env_py_holds_the_apply_lock_with_its_own_driver(tmp_path: Path) -> None:
    pytest.importorskip("psycopg2")
    url = await fresh_database("postgresql", tmp_path)
    try:
        project = _project(tmp_path / "project", url, LOCK_HELD)
        result = run_cli("upgrade", "head", cwd=project)
        assert result.returncode == 0, result.output
        assert {"users", "notes"} <= set(await table_columns(url))
    finally:
        await drop_database("postgresql", url)


async def test_sync_env_py_on_mariadb_holds_the_named_lock_with_its_own_driver(tmp_path: Path) -> None:
    """A sync URL on MariaDB (pymysql, Alembic's stock env.py): the apply lock is taken with that
    driver on a connection of its own, and held while the revisions run."""
    pytest.importorskip("pymysql")
    from asyncmigrate.dialects.mysql import lock_name

    url = await fresh_database("mariadb", tmp_path)
    try:
        name = lock_name(make_url(url).database or "", "alembic_version")
        project = _project(tmp_path / "project", url, NAMED_LOCK_HELD.format(name=name))
        result = run_cli("upgrade", "head", cwd=project)
        assert result.returncode == 0, result.output
        assert {"users", "notes"} <= set(await table_columns(url))
    finally:
        await drop_database("mariadb", url)


def test_env_py_error_without_anyio_is_reported_as_itself(tmp_path: Path) -> None:
    """Without AnyIO the env.py runs in asyncio's worker thread; its error must not be chained to
    the failed ``import anyio`` (which read as a missing database driver)."""
    project = _project(
        tmp_path / "project", f"sqlite:///{tmp_path / 'app.db'}", USES_ORM.format(import_orm="")
    )
    no_anyio = (
        "import sys; sys.modules['anyio'] = None; sys.argv[0] = 'asyncmigrate';"
        " from asyncmigrate.cli import main; main()"
    )
    completed = subprocess.run(
        [sys.executable, "-c", no_anyio, "upgrade", "head"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "module 'sqlalchemy' has no attribute 'orm'" in completed.stderr
    assert "anyio" not in completed.stderr


#: An env.py whose imports leave the thread that ran it unable to end (as importing eventlet
#: does): a thread-local value whose cleanup at a worker thread's exit never returns.
STUCK_THREAD_ENV_PY = (
    "import threading\n\n\n"
    "class _Stuck:\n"
    "    def __del__(self):\n"
    "        if threading.current_thread() is not threading.main_thread():\n"
    "            threading.Event().wait()\n\n\n"
    "_local = threading.local()\n"
    "_local.stuck = _Stuck()\n" + SYNC_ENV_PY
)


@pytest.mark.parametrize("anyio", ["with AnyIO", "without AnyIO"])
def test_process_ends_when_the_env_py_thread_cannot(tmp_path: Path, anyio: str) -> None:
    """Plain Alembic runs the env.py in the main thread and exits; asyncmigrate runs it in a
    worker thread, and the process must end when its work is done even if that thread never
    does (cinder's env.py imports eventlet: ``asyncio.run`` and the interpreter's exit waited for
    the thread pool's worker forever)."""
    project = _project(tmp_path / "project", f"sqlite:///{tmp_path / 'app.db'}", LOCK_HELD)
    (project / "migrations" / "versions" / "b1.py").unlink()
    (project / "migrations" / "env.py").write_text(STUCK_THREAD_ENV_PY)
    block = "sys.modules['anyio'] = None; " if anyio == "without AnyIO" else ""
    program = f"import sys; {block}sys.argv[0] = 'asyncmigrate'; from asyncmigrate.cli import main; main()"
    for args in (["upgrade", "head"], ["current"], ["lint"], ["downgrade", "base"]):
        completed = subprocess.run(
            [sys.executable, "-c", program, *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert completed.returncode in (0, 1), (args, completed.stderr)
        assert "Traceback" not in completed.stderr, completed.stderr
    alembic = run_alembic("current", cwd=project)
    assert alembic.returncode == 0 and alembic.stdout.strip() == "", alembic.output
