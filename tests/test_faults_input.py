"""Faults and bad input (issue 14): a lost DATABASE_URL, the SQLite lock file and other OS users,
a server that never answers, raw exception names, a reused --rev-id. Each ends in one clear
line and a non-zero exit, on the real servers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from asyncmigrate.demo import write_seed_project
from asyncmigrate.scaffold import init_project

from .conftest import (
    CliResult,
    asyncpg_connect,
    drop_database,
    fresh_database,
    one_error_line,
    run_cli,
    version_rows,
    write_body_revision,
    write_revision,
)


@pytest.fixture
def project(seed_project: Path) -> Path:
    init_project(project_dir=seed_project)
    return seed_project


# -- 7. revision --rev-id with an id already used -------------------------------------------


def test_used_rev_id_is_refused_before_writing(project: Path) -> None:
    write_revision(project, "aaa111", None, "one")
    versions = project / "migrations" / "versions"
    before = sorted(p.name for p in versions.iterdir())
    message = one_error_line(run_cli("revision", "-m", "again", "--rev-id", "aaa111", cwd=project))
    assert message == (
        f"revision id 'aaa111' is already used by {versions / 'aaa111_one.py'}:"
        " choose another --rev-id (nothing was written)"
    )
    assert sorted(p.name for p in versions.iterdir()) == before
    # the project still works: no self-loop was written
    result = run_cli("heads", cwd=project)
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == "aaa111 (head)"
    result = run_cli("merge", "-m", "m", "--rev-id", "aaa111", cwd=project)
    assert one_error_line(result).startswith("revision id 'aaa111' is already used by")
    assert sorted(p.name for p in versions.iterdir()) == before


# -- 6. raw exception names ---------------------------------------------------------------------


def test_lint_reads_a_declared_encoding_and_names_an_unreadable_file(project: Path, sqlite_url: str) -> None:
    versions = project / "migrations" / "versions"
    write_revision(project, "aaa111", None, "one")
    (versions / "bbb222_latin.py").write_bytes(
        b'# -*- coding: latin-1 -*-\n"""caf\xe9"""\nrevision = "bbb222"\ndown_revision = "aaa111"\n'
        b"branch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\n"
        b"def downgrade():\n    pass\n"
    )
    result = run_cli("--url", sqlite_url, "lint", cwd=project)
    assert result.returncode == 0, result.output
    assert "2 revision(s) linted" in result.stdout
    # bytes that are not UTF-8 without a coding line: Python cannot import it either
    (versions / "bbb222_latin.py").write_bytes(
        b'"""caf\xe9"""\nrevision = "bbb222"\ndown_revision = "aaa111"\n'
    )
    message = one_error_line(run_cli("--url", sqlite_url, "lint", cwd=project))
    assert message.startswith(f"syntax error in {versions / 'bbb222_latin.py'}, line 1:")
    assert "UnicodeDecodeError" not in message


def test_revision_that_fails_to_import_during_upgrade_is_named(project: Path, sqlite_url: str) -> None:
    write_revision(project, "aaa111", None, "one")
    versions = project / "migrations" / "versions"
    (versions / "bbb222_broken.py").write_text(
        'import no_such_module_here\nrevision = "bbb222"\ndown_revision = "aaa111"\n'
    )
    message = one_error_line(run_cli("--url", sqlite_url, "upgrade", "head", cwd=project))
    assert message == (
        "cannot import the revision file migrations/versions/bbb222_broken.py, line 1:"
        " No module named 'no_such_module_here'"
    )
    assert version_rows_missing(sqlite_url)
    (versions / "bbb222_broken.py").write_text(
        'revision = "bbb222"\ndown_revision = "aaa111"\nLIMIT = 1 / 0\n'
    )
    message = one_error_line(run_cli("--url", sqlite_url, "check", cwd=project))
    assert message == (
        "cannot import the revision file migrations/versions/bbb222_broken.py, line 3: division by zero"
    )


def version_rows_missing(url: str) -> bool:
    """Nothing was applied: no version table, or an empty one."""
    path = Path(url.split(":///", 1)[1])
    if not path.exists():
        return True
    import sqlite3

    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        return (
            "alembic_version" not in tables
            or not connection.execute("SELECT * FROM alembic_version").fetchall()
        )


@pytest.mark.parametrize(
    ("url", "shown", "reason"),
    [
        ("nonsense", "'nonsense'", "Could not parse SQLAlchemy URL from"),
        (
            "postgresql+asyncpg//app:secret@db/app",
            "'postgresql+asyncpg//app:secret@db/app'",
            "Could not parse SQLAlchemy URL from",
        ),
        (
            "postgresql+asyncpg://app:secret@db:notaport/app",
            "'postgresql+asyncpg://app:***@db:notaport/app'",
            "invalid literal for int() with base 10: 'notaport'",
        ),
    ],
)
@pytest.mark.parametrize("command", ["upgrade", "status", "current", "check"])
def test_unparsable_url(project: Path, url: str, shown: str, reason: str, command: str) -> None:
    write_revision(project, "aaa111", None, "one")
    message = one_error_line(run_cli("--url", url, command, cwd=project))
    # SQLAlchemy's own words differ between versions ("... from string '...'" in 2.0)
    assert message.startswith(f"not a database URL: {shown.replace('secret', '***')} ({reason}")
    assert message.endswith("); expected dialect+driver://user:password@host:port/database")
    assert "secret" not in message


@pytest.mark.parametrize("command", ["upgrade", "status", "current"])
def test_sqlite_file_that_is_not_a_database(project: Path, tmp_path: Path, command: str) -> None:
    write_revision(project, "aaa111", None, "one")
    database = tmp_path / "notes.db"
    database.write_text("these are my notes, not a database\n" * 100)
    message = one_error_line(run_cli("--url", f"sqlite+aiosqlite:///{database}", command, cwd=project))
    assert message == f"{database} is not an SQLite database (file is not a database): check the URL"
    assert database.read_text().startswith("these are my notes")


@pytest.fixture
async def role_without_createdb(pg_url: str) -> AsyncIterator[str]:
    """A login role without CREATEDB, and its URL to the test's database."""
    name = f"nocreate_{os.getpid()}"
    connection = await asyncpg_connect(pg_url)
    try:
        await connection.execute(f"DROP ROLE IF EXISTS {name}")
        await connection.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw' NOCREATEDB")
        yield make_url(pg_url).set(username=name, password="pw").render_as_string(hide_password=False)
    finally:
        await connection.execute(f"DROP ROLE IF EXISTS {name}")
        await connection.close()


@pytest.fixture
async def mariadb_user_without_create() -> AsyncIterator[str]:
    """A MariaDB account with no privileges, and its URL to the server (no database)."""
    admin = os.environ.get("ASYNCMIGRATE_TEST_MYSQL_URL")
    if not admin:
        pytest.skip("MariaDB is not configured: run the tests with scripts/test")
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"nocreate_{os.getpid()}"
    engine = create_async_engine(admin)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP USER IF EXISTS '{name}'@'%'"))
            await connection.execute(text(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'pw'"))
        server = make_url(admin).set(username=name, password="pw").render_as_string(hide_password=False)
        yield server.rsplit("/", 1)[0]  # no database: none is granted to this account
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP USER IF EXISTS '{name}'@'%'"))
        await engine.dispose()


def test_test_command_says_what_to_grant_on_mariadb(project: Path, mariadb_user_without_create: str) -> None:
    write_revision(project, "aaa111", None, "one")
    user = make_url(mariadb_user_without_create).username
    result = run_cli("--url", mariadb_user_without_create, "test", "models", cwd=project)
    assert result.returncode == 1, result.output
    assert "OperationalError" not in result.output and "Traceback" not in result.output
    assert (
        f"the role '{user}' may not create databases, and the migration tests run on a throwaway"
        f" database they create: GRANT CREATE, DROP ON *.* TO '{user}', or run 'asyncmigrate test'"
        " with --url naming a role that may (the project's own database is never used)"
    ) in result.output


@pytest.mark.parametrize("check", ["models", "stairway"])
def test_test_command_says_what_to_grant(project: Path, role_without_createdb: str, check: str) -> None:
    write_revision(project, "aaa111", None, "one")
    role = make_url(role_without_createdb).username
    result = run_cli("--url", role_without_createdb, "test", check, cwd=project)
    assert result.returncode == 1, result.output
    assert "ProgrammingError" not in result.output and "Traceback" not in result.output
    expected = (
        f"the role '{role}' may not create databases, and the migration tests run on a throwaway"
        f" database they create: ALTER ROLE \"{role}\" CREATEDB, or run 'asyncmigrate test' with --url"
        " naming a role that may (the project's own database is never used)"
    )
    assert expected in result.output


# -- 4. a server that accepts the connection and never answers --------------------------------


class SilentPort(int):
    """The port, and the connections accepted on it so far (a client is waiting once one is)."""

    accepted: list[socket.socket]


@pytest.fixture
def silent_server() -> Iterator[SilentPort]:
    """A loopback port that accepts TCP connections and never sends a byte (at most 60 s)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = SilentPort(listener.getsockname()[1])
    port.accepted = accepted
    try:
        yield port
    finally:
        stop.set()
        thread.join(5)
        for connection in accepted:
            connection.close()
        listener.close()


SILENT_URLS = {
    "postgresql": "postgresql+asyncpg://app:secret@127.0.0.1:{port}/app",
    "mariadb": "mysql+asyncmy://app:secret@127.0.0.1:{port}/app",
}


@pytest.mark.parametrize("command", ["upgrade", "current", "status", "check"])
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_silent_server_times_out_naming_host_and_port(
    project: Path, silent_server: int, backend: str, command: str
) -> None:
    write_revision(project, "aaa111", None, "one")
    url = SILENT_URLS[backend].format(port=silent_server)
    started = time.monotonic()
    result = run_cli("--url", url, "--connect-timeout", "2", command, cwd=project)
    elapsed = time.monotonic() - started
    message = one_error_line(result, allow=("waiting for",))
    assert message == (
        f"no answer from 127.0.0.1:{silent_server} within 2s: the server accepted no connection or"
        " never answered it (is that the database's host and port, and is it up?);"
        " --connect-timeout S or connect_timeout in [tool.asyncmigrate] waits longer"
    )
    assert f"  waiting for 127.0.0.1:{silent_server} to answer (gives up after 2s)" in result.stderr
    assert "TimeoutError" not in result.output
    assert elapsed < 20  # 2 s of waiting plus the interpreter; was 61 s (PostgreSQL), forever (MariaDB)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_silent_server_times_out_for_the_scratch_database_too(
    project: Path, silent_server: int, backend: str
) -> None:
    """``test`` creates its throwaway database on the server first: the same timeout applies."""
    write_revision(project, "aaa111", None, "one")
    url = SILENT_URLS[backend].format(port=silent_server)
    started = time.monotonic()
    result = run_cli("--url", url, "--connect-timeout", "2", "test", "stairway", cwd=project)
    elapsed = time.monotonic() - started
    message = one_error_line(result, allow=("waiting for",))
    assert message.startswith(f"no answer from 127.0.0.1:{silent_server} within 2s:"), result.output
    assert elapsed < 20, elapsed  # the default would wait 10 s


@pytest.mark.parametrize("command", ["current", "status"])
def test_ctrl_c_in_a_read_only_command_exits_130(
    project: Path, silent_server: SilentPort, command: str
) -> None:
    """Not click's "Aborted!" and exit 1: the same one line and exit code as a migrating command."""
    write_revision(project, "aaa111", None, "one")
    url = SILENT_URLS["postgresql"].format(port=silent_server)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncmigrate", "--url", url, "--connect-timeout", "30", command],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as on a terminal: a test run started in the background (`cmd &` in a script)
        # passes SIGINT on ignored, and Python then keeps ignoring it, as it should
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60  # a loaded machine may take long to import
    while not silent_server.accepted and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)  # connected, and waiting for the silent server's answer
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Aborted!" not in err and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "interrupted by SIGINT"


def test_connect_timeout_from_the_config(project: Path, silent_server: int) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", '[tool.asyncmigrate]\nconnect_timeout = "1s"\n'
        )
    )
    url = SILENT_URLS["postgresql"].format(port=silent_server)
    message = one_error_line(
        run_cli("upgrade", cwd=project, env={"DATABASE_URL": url}), allow=("waiting for",)
    )
    assert message.startswith(f"no answer from 127.0.0.1:{silent_server} within 1s:")


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
async def test_connect_timeout_leaves_a_live_server_alone(
    project: Path, tmp_path: Path, backend: str
) -> None:
    """The timeout bounds the wait for an answer, not the work: a revision that sleeps longer than
    it runs to the end."""
    url = await fresh_database(backend, tmp_path)
    try:
        sleep = "SELECT pg_sleep(2)" if backend == "postgresql" else "SELECT SLEEP(2)"
        write_body_revision(project, "aaa111", None, f'op.execute("{sleep}")')
        result = run_cli("--url", url, "--connect-timeout", "1", "upgrade", cwd=project)
        assert result.returncode == 0, result.output
        assert "waiting for" not in result.stderr
        assert await version_rows(url) == ["aaa111"]
    finally:
        await drop_database(backend, url)


# -- 3. the SQLite lock file and other OS users ---------------------------------------------------


@dataclass
class OsUsers:
    group: str
    first: str
    second: str


@pytest.fixture
def os_users() -> Iterator[OsUsers]:
    """Two throwaway OS users sharing a group (needs root and useradd)."""
    if os.geteuid() != 0:
        pytest.skip("creating OS users needs root (useradd)")
    if not shutil.which("useradd"):
        pytest.skip("useradd is not installed")
    suffix = uuid.uuid4().hex[:6]
    users = OsUsers(f"amg{suffix}", f"ama{suffix}", f"amb{suffix}")
    subprocess.run(["groupadd", users.group], check=True)
    try:
        for name in (users.first, users.second):
            subprocess.run(
                ["useradd", "--no-create-home", "--gid", users.group, "--shell", "/usr/sbin/nologin", name],
                check=True,
            )
        yield users
    finally:
        for name in (users.first, users.second):
            subprocess.run(["userdel", name], check=False, capture_output=True)
        subprocess.run(["groupdel", users.group], check=False, capture_output=True)


def _interpreter_for(user: str) -> tuple[list[str], dict[str, str]]:
    """An interpreter ``user`` may run with this asyncmigrate importable (ours may sit in a
    directory only its owner can enter, as pyenv's under /root)."""
    paths = [p for p in sys.path if p and not p.startswith(sys.base_prefix)]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=os.pathsep.join(paths), HOME="/tmp")
    major, minor = sys.version_info[:2]
    for candidate in (
        sys.executable,
        f"/usr/bin/python{major}.{minor}",
        f"/usr/local/bin/python{major}.{minor}",
    ):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import asyncmigrate.cli.main"],
                user=user,
                env=env,
                capture_output=True,
                check=False,
            )
        except OSError:  # not there, or not for this user to run
            continue
        if probe.returncode == 0:
            return [candidate], env
    pytest.skip(f"no Python {major}.{minor} that user {user} may run with this checkout importable")


def _primary_group(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def run_cli_as(user: str | None, *args: str, cwd: Path) -> CliResult:
    """``asyncmigrate ARGS`` as another OS user (None: this one)."""
    if user is None:
        return run_cli(*args, cwd=cwd)
    command, env = _interpreter_for(user)
    done = subprocess.run(
        [*command, "-m", "asyncmigrate", *args],
        cwd=cwd,
        env=env,
        user=user,
        group=_primary_group(user),
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def shared_project() -> Iterator[Path]:
    """The tutorial's project with two revisions, in a directory other users can reach (the
    test's own tmp_path sits under a directory only its owner may enter)."""
    root = Path(tempfile.mkdtemp(prefix="asyncmigrate-shared-", dir="/tmp"))
    try:
        os.chmod(root, 0o755)
        write_seed_project(root)
        init_project(project_dir=root)
        write_revision(root, "aaa111", None, "one")
        write_revision(root, "bbb222", "aaa111", "two")
        data = root / "data"
        data.mkdir()
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_second_os_user_can_take_the_sqlite_lock(shared_project: Path, os_users: OsUsers) -> None:
    data = shared_project / "data"
    shutil.chown(data, group=os_users.group)
    os.chmod(data, 0o2775)  # the group's directory: new files get its group
    url = f"sqlite+aiosqlite:///{data / 'app.db'}"
    lock = data / "app.db.asyncmigrate.lock"
    result = run_cli_as(os_users.first, "--url", url, "upgrade", "aaa111", cwd=shared_project)
    assert result.returncode == 0, result.output
    assert lock.stat().st_uid != os.geteuid()
    os.chmod(data / "app.db", 0o664)  # the database is the group's to write
    # the second user cannot write the first one's lock file (0644) and still takes the lock
    result = run_cli_as(os_users.second, "--url", url, "upgrade", "head", cwd=shared_project)
    assert result.returncode == 0, result.output
    assert "Database is at bbb222 (head)" in result.stdout
    # the lock's owner hands it the database's mode and group on its next run
    result = run_cli_as(os_users.first, "--url", url, "downgrade", "-1", cwd=shared_project)
    assert result.returncode == 0, result.output
    assert lock.stat().st_mode & 0o777 == 0o664
    result = run_cli_as(os_users.second, "--url", url, "upgrade", "head", cwd=shared_project)
    assert result.returncode == 0, result.output
    assert lock.read_text() == ""  # a released lock names nobody


def test_unreadable_lock_file_is_one_line(shared_project: Path, os_users: OsUsers) -> None:
    data = shared_project / "data"
    os.chmod(data, 0o777)
    lock = data / "app.db.asyncmigrate.lock"
    lock.write_text("")
    shutil.chown(lock, user=os_users.first)
    os.chmod(lock, 0o600)
    url = f"sqlite+aiosqlite:///{data / 'app.db'}"
    message = one_error_line(run_cli_as(os_users.second, "--url", url, "upgrade", cwd=shared_project))
    assert message == (
        f"cannot take the apply lock of {data / 'app.db'}: {lock} is not readable by user"
        f" {os_users.second} (owner {os_users.first}, mode 600); make it readable by everyone who"
        " migrates this database (chmod a+r), or remove it when no migration runs"
    )
    assert not (data / "app.db").exists()


@pytest.fixture
def unprivileged_user(request: pytest.FixtureRequest) -> str | None:
    """Who runs the command in a read-only directory: this user, or one made for it when this is
    root (whom no directory permission stops)."""
    if os.geteuid() != 0:
        return None
    return request.getfixturevalue("os_users").first  # type: ignore[no-any-return]


def test_read_only_directory_is_one_line(shared_project: Path, unprivileged_user: str | None) -> None:
    data = shared_project / "data"
    os.chmod(data, 0o555)
    url = f"sqlite+aiosqlite:///{data / 'app.db'}"
    result = run_cli_as(unprivileged_user, "--url", url, "upgrade", cwd=shared_project)
    who = f"user {unprivileged_user}" if unprivileged_user else "user "
    message = one_error_line(result)
    assert message.startswith(
        f"cannot take the apply lock of {data / 'app.db'}: cannot create {data / 'app.db.asyncmigrate.lock'}"
        f" (Permission denied); the directory must be writable by {who}"
    )
    assert message.endswith(" (SQLite writes its journal there too)")
    assert "PermissionError" not in result.output
    assert list(data.iterdir()) == []


# -- 1. DATABASE_URL lost in a deploy ------------------------------------------------------------


def run_on_terminal(*args: str, cwd: Path, env: dict[str, str] | None = None) -> CliResult:
    """``asyncmigrate ARGS`` with stdin and stdout on a pseudo-terminal (as typed by a user);
    stderr apart. CI is unset unless ``env`` sets it."""
    import pty
    import select

    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CI")}
    full_env.update(env or {})
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncmigrate", *args],
        cwd=cwd,
        env=full_env,
        stdin=follower,
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    terminal = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is gone
                break
            if not chunk:
                break
            terminal += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    error = process.stderr.read() if process.stderr else b""
    process.wait(10)
    return CliResult(process.returncode, terminal.decode(errors="replace"), error.decode(errors="replace"))


MISSING_URL = (
    "no database URL: DATABASE_URL is not set and [tool.asyncmigrate] has no url; with {reason},"
    " asyncmigrate does not fall back to the embedded SQLite database ./demo.db: set DATABASE_URL or"
    " pass --url (or set embedded_sqlite = true in [tool.asyncmigrate] to use that file on purpose)"
)


@pytest.mark.parametrize(
    "args", [("upgrade", "head"), ("current",), ("status",), ("check",), ("verify",), ("test", "models")]
)
def test_lost_database_url_without_a_terminal_fails(project: Path, args: tuple[str, ...]) -> None:
    write_revision(project, "aaa111", None, "one")
    message = one_error_line(run_cli(*args, cwd=project, env={"CI": ""}))
    assert message == MISSING_URL.format(reason="no terminal")
    assert not (project / "demo.db").exists()


def test_lost_database_url_with_ci_set_fails_on_a_terminal_too(project: Path) -> None:
    write_revision(project, "aaa111", None, "one")
    result = run_on_terminal("upgrade", "head", cwd=project, env={"CI": "true"})
    assert result.returncode == 1, result.output
    assert MISSING_URL.format(reason="CI set") in result.stderr
    assert not (project / "demo.db").exists()


def test_on_a_terminal_the_fallback_is_said_every_time(project: Path) -> None:
    write_revision(project, "aaa111", None, "one")
    notice = (
        "No database URL configured (DATABASE_URL, --url or [tool.asyncmigrate] url):"
        " using the embedded SQLite database ./demo.db"
    )
    for args in [("upgrade", "head"), ("-q", "current"), ("status",)]:
        result = run_on_terminal(*args, cwd=project)
        assert result.returncode == 0, result.output
        assert notice in result.stderr, args  # -q too: it is what a deploy must not miss
    assert (project / "demo.db").is_file()


def test_project_that_chose_the_embedded_database(project: Path) -> None:
    write_revision(project, "aaa111", None, "one")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", "[tool.asyncmigrate]\nembedded_sqlite = true\n"
        )
    )
    result = run_cli("upgrade", "head", cwd=project, env={"CI": "1"})
    assert result.returncode == 0, result.output
    assert (
        "No database URL set: using the embedded SQLite database ./demo.db (embedded_sqlite = true)"
        in result.stderr
    )
    assert "Database is at aaa111 (head)" in result.stdout
    result = run_cli("-q", "current", cwd=project)
    assert result.returncode == 0 and result.stderr == "", result.output
    assert result.stdout.strip() == "aaa111 (head)"
    # a URL still wins over the chosen default
    other = project / "other.db"
    result = run_cli("upgrade", "head", cwd=project, env={"DATABASE_URL": f"sqlite+aiosqlite:///{other}"})
    assert result.returncode == 0 and "embedded" not in result.stderr, result.output
    assert other.is_file()


@pytest.mark.parametrize("args", [("upgrade", "head", "--sql"), ("downgrade", "aaa111:base", "--sql")])
def test_lost_database_url_is_not_rendered_as_sqlite_sql_either(project: Path, args: tuple[str, ...]) -> None:
    """A deploy that renders its SQL for review must not get SQLite's SQL for a lost URL."""
    write_revision(project, "aaa111", None, "one")
    result = run_cli(*args, cwd=project, env={"CI": ""})
    assert one_error_line(result) == MISSING_URL.format(reason="no terminal")
    assert "CREATE TABLE" not in result.stdout and not (project / "demo.db").exists()
    # on a terminal it renders, and says which database it rendered for
    shown = run_on_terminal("upgrade", "head", "--sql", cwd=project)
    assert shown.returncode == 0, shown.output
    assert "using the embedded SQLite database ./demo.db" in shown.stderr
    assert "CREATE TABLE alembic_version" in shown.stdout


async def test_library_call_refuses_the_unchosen_embedded_database(project: Path, monkeypatch) -> None:
    """``await Migrator().upgrade()`` in an app that lost DATABASE_URL: nobody sees a notice, so
    it is refused in one line; the project's choice, or a URL, still works."""
    from asyncmigrate import Migrator
    from asyncmigrate.errors import ConfigError

    write_revision(project, "aaa111", None, "one")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    migrator = Migrator(project_dir=project)
    for call in (migrator.upgrade, migrator.current, lambda: migrator.upgrade(sql=True)):
        with pytest.raises(ConfigError) as refused:
            await call()
        expected = MISSING_URL.format(reason="no terminal to warn (a library call)")
        assert str(refused.value) == expected.replace("./demo.db", str(project / "demo.db"))
    assert not (project / "demo.db").exists()
    # a read of the scripts alone needs no database
    assert [head.revision for head in await migrator.heads()] == ["aaa111"]

    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", "[tool.asyncmigrate]\nembedded_sqlite = true\n"
        )
    )
    chosen = Migrator(project_dir=project)
    result = await chosen.upgrade()
    assert list(result.applied) == ["aaa111"]
    assert (project / "demo.db").is_file()


def test_embedded_sqlite_must_be_a_boolean(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", '[tool.asyncmigrate]\nembedded_sqlite = "yes"\n'
        )
    )
    assert (
        one_error_line(run_cli("current", cwd=project)) == "embedded_sqlite must be true or false, got 'yes'"
    )


def test_plain_alembic_project_names_sqlalchemy_url(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    init_project(project_dir=tmp_path)
    (tmp_path / "pyproject.toml").unlink()
    message = one_error_line(run_cli("upgrade", "head", cwd=tmp_path))
    # "with no terminal" here, "with CI set" under CI: either way the same refusal
    assert message.startswith(
        "no database URL: DATABASE_URL is not set and alembic.ini has no sqlalchemy.url;"
    )
    assert "asyncmigrate does not fall back to the embedded SQLite database" in message
