"""``asyncmigrate lint`` on revisions written the way real projects write them: code that asks
Alembic's ``context`` what mode it runs in, revisions that print or leave threads behind,
sync-driver and placeholder URLs, app imports that are missing. Each runs the command in its own
process, as a user (or CI) would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import revision_source, run_alembic, run_cli


def write_revision(
    project: Path,
    revision: str,
    down: str | None,
    upgrade: str,
    downgrade: str = "pass  # asyncmigrate: ignore[empty-downgrade] test fixture",
    imports: str = "",
    versions: str = "migrations/versions",
) -> Path:
    path = project / versions / f"{revision}_step.py"
    path.write_text(
        revision_source(revision, down, upgrade, downgrade, message=f"step {revision}", imports=imports)
    )
    return path


@pytest.fixture
def project(seed_project: Path) -> Path:
    """An initialised project with one table, created by the first revision."""
    assert run_cli("init", cwd=seed_project).returncode == 0
    write_revision(
        seed_project,
        "a1",
        None,
        'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),'
        ' sa.Column("total", sa.Integer))',
        'op.drop_table("orders")',
    )
    return seed_project


def lint_json(project: Path, *args: str) -> tuple[dict[str, object], str]:
    """Run ``lint --format json``; stdout must parse whatever the revisions printed."""
    result = run_cli("lint", *args, "--format", "json", cwd=project)
    assert result.returncode in (0, 1), result.output
    return json.loads(result.stdout), result.stderr


def rules(report: dict[str, object], revision: str) -> list[str]:
    return [f["rule"] for f in report["findings"] if f["revision"] == revision]  # type: ignore[index,union-attr]


def test_revision_code_sees_an_offline_environment_context(project: Path) -> None:
    """A project's own column type and helpers ask ``context.is_offline_mode()``,
    ``context.get_bind()``, ``op.get_context()`` and ``context.get_context()``: they get the
    answers ``alembic upgrade --sql`` gives, so the revision renders in full and is judged."""
    write_revision(
        project,
        "b2",
        "a1",
        """
        assert context.is_offline_mode()
        assert context.get_bind().dialect.name == "postgresql"
        assert op.get_context().as_sql and context.get_context() is op.get_context()
        assert context.config.get_main_option("script_location")
        op.add_column("orders", sa.Column("note", Note()))
        with context.get_context().autocommit_block():
            op.create_index(
                "ix_orders_total", "orders", ["total"], postgresql_concurrently=True, if_not_exists=True
            )
        op.create_index("ix_orders_note", "orders", ["note"])
        """,
        imports="""
        from alembic import context


        class Note(sa.types.TypeDecorator):
            impl = sa.String
            cache_ok = True

            def load_dialect_impl(self, dialect):
                # a project type that looks at the migration context, as many do
                offline = context.is_offline_mode()
                return dialect.type_descriptor(sa.Text() if offline else sa.String(20))
        """,
    )
    report, stderr = lint_json(project, "--dialect", "postgresql", "--pg-version", "15")
    assert rules(report, "b2") == ["index-not-concurrent"], report
    [finding] = [f for f in report["findings"] if f["revision"] == "b2"]  # type: ignore[union-attr]
    assert "ix_orders_note" in finding["sql"]
    assert "no Alembic" not in stderr


def test_what_a_revision_prints_goes_to_stderr(project: Path) -> None:
    write_revision(
        project,
        "b2",
        "a1",
        """
        print("upgrading orders")
        op.create_index("ix_orders_total", "orders", ["total"])
        """,
        imports='print("loading revision b2")',
    )
    for output_format in ("json", "sarif"):
        result = run_cli("lint", "--dialect", "postgresql", "--format", output_format, cwd=project)
        assert result.returncode == 1, result.output
        json.loads(result.stdout)  # nothing but the report on stdout
        assert "loading revision b2" in result.stderr
        assert "upgrading orders" in result.stderr


def test_lint_exits_although_app_code_left_a_thread_running(project: Path) -> None:
    """App code a revision imports may start a non-daemon thread that never ends (a scheduler,
    a connection thread): the report is written and the process exits anyway."""
    write_revision(
        project,
        "b2",
        "a1",
        'op.create_index("ix_orders_total", "orders", ["total"])',
        imports="""
        import threading

        threading.Thread(target=threading.Event().wait, name="app-scheduler").start()
        """,
    )
    completed = subprocess.run(
        [sys.executable, "-m", "asyncmigrate", "lint", "--dialect", "postgresql", "--format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert rules(json.loads(completed.stdout), "b2") == ["index-not-concurrent"]


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("postgresql://nobody@127.0.0.1:9/none", "postgresql"),
        ("postgresql+psycopg2://nobody@127.0.0.1:9/none", "postgresql"),
        ("mysql+pymysql://nobody@127.0.0.1:9/none", "mysql"),
        ("sqlite:///{project}/app.db", "sqlite"),
    ],
)
def test_sync_driver_urls_lint_for_their_dialect(project: Path, url: str, dialect: str) -> None:
    """Lint needs only the dialect (and the server version when one answers): a sync driver,
    installed or not, is no reason to fail."""
    write_revision(project, "b2", "a1", 'op.add_column("orders", sa.Column("note", sa.Text))')
    result = run_cli("--url", url.format(project=project), "lint", "--format", "json", cwd=project)
    assert result.returncode in (0, 1), result.output
    assert "is not async" not in result.stderr and "not installed" not in result.stderr
    report = json.loads(result.stdout)
    assert report["revisions"] == ["a1", "b2"]
    if dialect != "sqlite":
        assert f"the database did not answer: linting for {dialect}" in result.stderr


@pytest.fixture
def placeholder_project(seed_project: Path) -> Path:
    """A plain Alembic project whose env.py finds the URL elsewhere: the ini holds Alembic's
    own placeholder."""
    assert run_alembic("init", "alembic", cwd=seed_project).returncode == 0
    ini = seed_project / "alembic.ini"
    assert "sqlalchemy.url = driver://user:pass@localhost/dbname" in ini.read_text()
    write_revision(
        seed_project,
        "a1",
        None,
        'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True))\n'
        'op.create_index("ix_orders_id", "orders", ["id"])',
        'op.drop_table("orders")',
        versions="alembic/versions",
    )
    return seed_project


def test_placeholder_url_asks_for_the_dialect_in_one_line(placeholder_project: Path) -> None:
    result = run_cli("-c", "alembic.ini", "lint", cwd=placeholder_project)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert (
        "lint cannot tell the database from the configured URL 'driver://user:***@localhost/dbname'" in line
    )
    assert "pass --dialect postgresql|mysql|mariadb|sqlite or set dialect in [tool.asyncmigrate.lint]" in line
    assert "Traceback" not in result.output


def test_placeholder_url_with_a_dialect_lints_quietly(placeholder_project: Path) -> None:
    args = ("-c", "alembic.ini", "lint", "--format", "json")
    result = run_cli(*args, "--dialect", "sqlite", cwd=placeholder_project)
    assert result.returncode == 0, result.output
    assert json.loads(result.stdout)["revisions"] == ["a1"]
    assert result.stderr == ""  # no "did not answer" about a server that was never named
    (placeholder_project / "pyproject.toml").write_text('[tool.asyncmigrate.lint]\ndialect = "postgresql"\n')
    result = run_cli(*args, cwd=placeholder_project)
    assert result.returncode == 0, result.output  # a new table's index is no finding
    assert result.stderr == ""


def test_a_revision_whose_app_import_fails_is_named(project: Path) -> None:
    write_revision(project, "b2", "a1", "pass", imports="from myapp.types import Money  # noqa: F401")
    result = run_cli("lint", "--dialect", "postgresql", cwd=project)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "revision file b2_step.py cannot be imported: ModuleNotFoundError: No module named 'myapp'" in line
    assert "driver" not in line
