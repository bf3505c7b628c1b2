"""Errors a user can cause: one clear line on stderr, a non-zero exit code, no traceback
(unless --debug), and nothing written or applied half-way."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from asyncmigrate.scaffold import init_project

from .conftest import CliResult, one_error_line, run_cli, table_columns, version_rows, write_revision


@pytest.fixture
def project(seed_project: Path) -> Path:
    init_project(project_dir=seed_project)
    return seed_project


def test_unknown_revision(project: Path, sqlite_url: str) -> None:
    write_revision(project, "aaa111", None, "one")
    result = run_cli("--url", sqlite_url, "upgrade", "zzz999", cwd=project)
    assert one_error_line(result) == "Can't locate revision identified by 'zzz999'"


def test_unreachable_server(project: Path) -> None:
    write_revision(project, "aaa111", None, "one")
    url = "postgresql+asyncpg://postgres:secret@127.0.0.1:1/app"
    message = one_error_line(run_cli("--url", url, "upgrade", "head", cwd=project))
    assert message == "cannot connect to 127.0.0.1:1: connection refused (is the server running?)"


def test_unresolvable_host(project: Path) -> None:
    write_revision(project, "aaa111", None, "one")
    url = "postgresql+asyncpg://postgres:password@postgres:5432/microservices_db"
    message = one_error_line(run_cli("upgrade", "head", cwd=project, env={"DATABASE_URL": url}))
    assert message.startswith("cannot resolve host 'postgres' (hint: 'postgres' looks like a Docker")


def test_wrong_password(project: Path, pg_url: str) -> None:
    write_revision(project, "aaa111", None, "one")
    url = make_url(pg_url).set(password="wrong").render_as_string(hide_password=False)
    message = one_error_line(run_cli("--url", url, "upgrade", "head", cwd=project))
    assert message == 'authentication failed: password authentication failed for user "postgres"'


def test_missing_database(project: Path, pg_url: str) -> None:
    url = make_url(pg_url).set(database="no_such_db").render_as_string(hide_password=False)
    message = one_error_line(run_cli("--url", url, "current", cwd=project))
    assert message == 'database does not exist: database "no_such_db" does not exist'


def test_missing_driver_names_the_package(project: Path) -> None:
    url = "mysql+aiomysql://u:p@127.0.0.1/app"
    message = one_error_line(run_cli("--url", url, "current", cwd=project))
    assert (
        message
        == "the database driver 'aiomysql' (for mysql+aiomysql://) is not installed: pip install aiomysql"
    )


def test_missing_driver_names_our_extra(project: Path) -> None:
    """asyncpg made unimportable: the message names asyncmigrate's extra to install."""
    code = "import sys; sys.modules['asyncpg'] = None; from asyncmigrate.cli.main import main; main()"
    completed = subprocess.run(
        [sys.executable, "-c", code, "--url", "postgresql+asyncpg://u:p@127.0.0.1/app", "current"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    message = one_error_line(CliResult(completed.returncode, completed.stdout, completed.stderr))
    assert message == (
        "the database driver 'asyncpg' (for postgresql+asyncpg://) is not installed:"
        " pip install 'asyncmigrate[postgresql]'"
    )


def test_not_a_url(project: Path) -> None:
    message = one_error_line(run_cli("--url", "not a url", "current", cwd=project))
    assert message.startswith("not a database URL: 'not a url'")


def test_model_module_fails_to_import(project: Path, sqlite_url: str) -> None:
    (project / "src" / "models" / "broken.py").write_text(
        "from src.models.base import Base\nundefined_thing\n\n\nclass Broken(Base):\n"
        "    __tablename__ = 'broken'\n"
    )
    result = run_cli("--url", sqlite_url, "revision", "--autogenerate", "-m", "x", cwd=project)
    message = one_error_line(result)
    assert message == (
        "cannot import model module 'src.models.broken': NameError: name 'undefined_thing' is not defined"
    )
    assert list((project / "migrations" / "versions").glob("*.py")) == []
    assert not Path(make_url(sqlite_url).database).exists()  # the database was not even opened


def test_no_models_found(tmp_path: Path, sqlite_url: str) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("VALUE = 1\n")
    init_project(project_dir=tmp_path)
    message = one_error_line(run_cli("--url", sqlite_url, "check", cwd=tmp_path))
    assert message.startswith("no models found in models: no DeclarativeBase or MetaData is defined there")


def test_no_models_configured(tmp_path: Path, sqlite_url: str) -> None:
    init_project(project_dir=tmp_path)
    message = one_error_line(run_cli("--url", sqlite_url, "check", cwd=tmp_path))
    assert message.startswith("no models found: set models = 'yourapp.models'")


def test_two_metadata_objects(seed_project: Path, sqlite_url: str) -> None:
    (seed_project / "src" / "models" / "other.py").write_text(
        "from sqlalchemy import MetaData, Table, Column, Integer\n"
        "other_metadata = MetaData()\n"
        "Table('other', other_metadata, Column('id', Integer, primary_key=True))\n"
    )
    init_project(project_dir=seed_project)
    message = one_error_line(run_cli("--url", sqlite_url, "check", cwd=seed_project))
    assert message.startswith(
        "found 2 MetaData objects (src.models.base:Base.metadata, src.models.other:other_metadata)"
    )


def test_multiple_heads(project: Path, sqlite_url: str) -> None:
    write_revision(project, "aaa111", None, "root")
    write_revision(project, "bbb222", "aaa111", "left")
    write_revision(project, "ccc333", "aaa111", "right")
    message = one_error_line(run_cli("--url", sqlite_url, "upgrade", "head", cwd=project))
    assert message == (
        "multiple heads (bbb222, ccc333) where one is needed: merge them with"
        " 'asyncmigrate merge heads -m \"merge\"', or name one, or use 'heads'"
    )
    # The suggested fix works.
    result = run_cli("merge", "heads", "-m", "merge", cwd=project)
    assert result.returncode == 0, result.output
    result = run_cli("--url", sqlite_url, "upgrade", "head", cwd=project)
    assert result.returncode == 0, result.output


def test_revision_file_with_syntax_error(project: Path, sqlite_url: str) -> None:
    path = write_revision(project, "aaa111", None, "one")
    path.write_text(path.read_text().replace("def upgrade():", "def upgrade(:"))
    message = one_error_line(run_cli("--url", sqlite_url, "upgrade", "head", cwd=project))
    assert message.startswith(f"syntax error in {path}, line 11:")


def test_not_initialised(tmp_path: Path, sqlite_url: str) -> None:
    message = one_error_line(run_cli("--url", sqlite_url, "upgrade", "head", cwd=tmp_path))
    assert message == f"no migrations directory at {tmp_path / 'migrations'}: run 'asyncmigrate init' first"


def test_init_twice(project: Path) -> None:
    message = one_error_line(run_cli("init", cwd=project))
    assert message == f"directory {project / 'migrations'} already exists and is not empty"


def test_debug_shows_the_traceback(project: Path, sqlite_url: str) -> None:
    result = run_cli("--debug", "--url", sqlite_url, "upgrade", "zzz999", cwd=project)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr


async def test_failing_revision_leaves_last_good_revision(project: Path, db_url: str) -> None:
    """A revision that fails half-way is rolled back whole; the error names the revision."""
    write_revision(project, "aaa111", None, "good")
    bad = write_revision(project, "bbb222", "aaa111", "bad")
    bad.write_text(
        bad.read_text().replace(
            "\n\ndef downgrade():", '    op.execute("SELECT * FROM no_such_table")\n\n\ndef downgrade():'
        )
    )
    result = run_cli("-q", "--url", db_url, "upgrade", "head", cwd=project)
    message = one_error_line(result)
    assert message.startswith("revision bbb222 (bad) failed: ")
    assert "no_such_table" in message
    assert message.endswith(
        "; statement: SELECT * FROM no_such_table; bbb222 was rolled back, the database is at aaa111"
    )
    assert await version_rows(db_url) == ["aaa111"]
    assert "bad" not in await table_columns(db_url)


def test_sqlite_file_in_a_missing_directory(project: Path) -> None:
    url = "sqlite+aiosqlite:////nonexistent/dir/app.db"
    message = one_error_line(run_cli("--url", url, "upgrade", "head", cwd=project))
    directory = "/nonexistent/dir"
    assert (
        message == f"cannot open the SQLite database {directory}/app.db: directory {directory} does not exist"
    )


def test_sync_url_without_its_driver_suggests_the_async_one(project: Path) -> None:
    # mysql:// means mysqlclient (MySQLdb), which the tests do not install (psycopg2 they do)
    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("mysqlclient is installed")
    message = one_error_line(run_cli("--url", "mysql://u:p@127.0.0.1/app", "current", cwd=project))
    assert message.startswith("the database driver 'MySQLdb'")
    assert message.endswith("or use the async driver: mysql+asyncmy://")


def test_broken_revision_template_is_one_line_with_its_traceback_file(project: Path, sqlite_url: str) -> None:
    """mako's error output stays what Alembic writes, with mako's pygments plugin kept out of
    the command's process (cli.process.plain_mako_errors)."""
    template = project / "migrations" / "script.py.mako"
    template.write_text(template.read_text() + "${undefined_name.attribute}\n")
    message = one_error_line(run_cli("--url", sqlite_url, "revision", "-m", "x", cwd=project))
    assert message.startswith("Template rendering failed; see ")
    traceback_file = Path(message.split("see ", 1)[1].split(" for ", 1)[0])
    assert "undefined_name" in traceback_file.read_text()
    traceback_file.unlink()


def test_command_process_does_not_import_pygments_for_mako() -> None:
    code = (
        "import sys\n"
        "from asyncmigrate.cli.process import plain_mako_errors\n"
        "plain_mako_errors()\n"
        "import alembic.command, mako.exceptions\n"
        "assert mako.exceptions.pygments_html_formatter is None\n"
        "print(sorted(name for name in sys.modules if name.startswith('pygments')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
