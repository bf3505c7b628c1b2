"""The tutorial's whole workflow through the command line, on SQLite and PostgreSQL, with no file
edited by hand; then the same project driven by the plain ``alembic`` command."""

from __future__ import annotations

from pathlib import Path

from asyncmigrate.demo import FULL_NAME_LINE

from .conftest import run_alembic, run_cli, table_columns, version_rows


def _add_full_name(project: Path) -> None:
    user = project / "src" / "models" / "user.py"
    user.write_text(user.read_text() + FULL_NAME_LINE)


def _revision_files(project: Path) -> list[Path]:
    return sorted((project / "migrations" / "versions").glob("*.py"), key=lambda p: p.stat().st_mtime)


async def test_seed_workflow(seed_project: Path, db_url: str) -> None:
    env = {"DATABASE_URL": db_url}
    is_sqlite = db_url.startswith("sqlite")

    result = run_cli("init", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert (seed_project / "migrations" / "env.py").is_file()
    assert 'models = "src.models"' in (seed_project / "pyproject.toml").read_text()

    result = run_cli("revision", "--autogenerate", "-m", "Create users table", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert "Lint: no findings in the new revision." in result.stdout
    [first] = _revision_files(seed_project)
    assert "op.create_table('users'" in first.read_text()
    assert "op.drop_table('users')" in first.read_text()

    result = run_cli("upgrade", "head", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert "Running upgrade  ->" in result.stderr
    # Alembic's progress lines, indented, and nothing of its set-up chatter ("Context impl ...")
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        line for line in result.stderr.splitlines() if line.startswith("  Running upgrade ")
    ]
    assert (await table_columns(db_url))["users"] == {"id", "email"}

    _add_full_name(seed_project)
    result = run_cli(
        "revision", "--autogenerate", "-m", "Add full_name to User model", cwd=seed_project, env=env
    )
    assert result.returncode == 0, result.output
    assert "Lint: no findings in the new revision." in result.stdout
    second = _revision_files(seed_project)[-1]
    text = second.read_text()
    assert second.name.endswith("_add_full_name_to_user_model.py")
    if is_sqlite:  # batch mode is on by default for SQLite
        assert "with op.batch_alter_table('users'" in text
        assert "batch_op.add_column(sa.Column('full_name', sa.String(length=255)" in text
        assert "batch_op.drop_column('full_name')" in text
    else:
        assert "op.add_column('users', sa.Column('full_name', sa.String(length=255)" in text
        assert "op.drop_column('users', 'full_name')" in text

    result = run_cli("upgrade", "head", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert (await table_columns(db_url))["users"] == {"id", "email", "full_name"}

    result = run_cli("check", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert "No changes" in result.stdout

    result = run_cli("downgrade", "-1", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert (await table_columns(db_url))["users"] == {"id", "email"}
    first_rev = first.name.split("_")[0]
    assert await version_rows(db_url) == [first_rev]

    result = run_cli("status", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert "Pending (1)" in result.stdout
    assert "Add full_name to User model" in result.stdout.split("Pending")[1]

    # Not at head: check and autogenerate say what is pending instead of comparing.
    second_rev = second.name.split("_")[0]
    for args in (["check"], ["revision", "--autogenerate", "-m", "x"]):
        result = run_cli(*args, cwd=seed_project, env=env)
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"error: the database is not at head (1 pending: {second_rev});"
            " run 'asyncmigrate upgrade head' first"
        )
    assert len(_revision_files(seed_project)) == 2

    result = run_cli("upgrade", "head", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    result = run_cli("status", cwd=seed_project, env=env)
    assert "Up to date" in result.stdout

    # history / heads / current / show
    result = run_cli("heads", cwd=seed_project, env=env)
    assert result.stdout.strip() == f"{second_rev} (head)"
    result = run_cli("current", cwd=seed_project, env=env)
    assert result.stdout.strip() == f"{second_rev} (head)"
    result = run_cli("history", cwd=seed_project, env=env)
    assert result.stdout.splitlines() == [
        f"{first_rev} -> {second_rev} (head), Add full_name to User model",
        f"<base> -> {first_rev}, Create users table",
    ]
    result = run_cli("show", first_rev, cwd=seed_project, env=env)
    assert f"Rev: {first_rev}" in result.stdout and "Create users table" in result.stdout


async def test_project_goes_back_to_plain_alembic(seed_project: Path, db_url: str) -> None:
    """Revision files and alembic_version stay plain Alembic: both tools drive one project."""
    env = {"DATABASE_URL": db_url}
    assert run_cli("init", cwd=seed_project, env=env).returncode == 0
    assert run_cli("revision", "--autogenerate", "-m", "users", cwd=seed_project, env=env).returncode == 0
    assert run_cli("upgrade", "head", cwd=seed_project, env=env).returncode == 0
    _add_full_name(seed_project)
    assert run_cli("revision", "--autogenerate", "-m", "full name", cwd=seed_project, env=env).returncode == 0
    [first, second] = [p.name.split("_")[0] for p in _revision_files(seed_project)]

    # asyncmigrate -> alembic
    assert run_cli("upgrade", "head", cwd=seed_project, env=env).returncode == 0
    result = run_alembic("current", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert f"{second} (head)" in result.stdout
    result = run_alembic("downgrade", "-1", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert await version_rows(db_url) == [first]
    assert "full_name" not in (await table_columns(db_url))["users"]

    # alembic -> asyncmigrate
    result = run_cli("current", cwd=seed_project, env=env)
    assert result.stdout.strip() == first
    result = run_alembic("upgrade", "head", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    result = run_cli("status", cwd=seed_project, env=env)
    assert "Up to date" in result.stdout
    # A revision written by plain alembic is applied by asyncmigrate.
    result = run_alembic("revision", "-m", "by alembic", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    result = run_cli("upgrade", "head", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert "by alembic" in result.stderr
    # What plain alembic applies through this env.py is in the history too: verify stays clean.
    assert run_alembic("revision", "-m", "applied by alembic", cwd=seed_project, env=env).returncode == 0
    result = run_alembic("upgrade", "head", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    result = run_cli("verify", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output


def test_offline_sql(seed_project: Path, pg_admin_url: str) -> None:
    """``--sql`` prints the whole script (the tutorial's env.py printed nothing)."""
    env = {"DATABASE_URL": pg_admin_url}
    assert run_cli("init", cwd=seed_project, env=env).returncode == 0
    # Autogenerate needs a database; write the revision from an empty SQLite one instead.
    sqlite = {"DATABASE_URL": f"sqlite+aiosqlite:///{seed_project / 'scratch.db'}"}
    assert run_cli("revision", "--autogenerate", "-m", "users", cwd=seed_project, env=sqlite).returncode == 0
    result = run_cli("upgrade", "head", "--sql", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert "CREATE TABLE alembic_version" in result.stdout
    assert "CREATE TABLE users" in result.stdout
    assert "BEGIN;" in result.stdout and "COMMIT;" in result.stdout
    [rev] = [p.name.split("_")[0] for p in _revision_files(seed_project)]
    result = run_cli("downgrade", f"{rev}:base", "--sql", cwd=seed_project, env=env)
    assert result.returncode == 0, result.output
    assert "DROP TABLE users" in result.stdout


def test_check_shows_what_autogenerate_would_write(seed_project: Path, sqlite_url: str) -> None:
    env = {"DATABASE_URL": sqlite_url}
    assert run_cli("init", cwd=seed_project, env=env).returncode == 0
    assert run_cli("revision", "--autogenerate", "-m", "users", cwd=seed_project, env=env).returncode == 0
    assert run_cli("upgrade", "head", cwd=seed_project, env=env).returncode == 0
    _add_full_name(seed_project)
    result = run_cli("check", cwd=seed_project, env=env)
    assert result.returncode == 1
    assert "The models differ from the database (1 change)" in result.stdout
    assert (
        "batch_op.add_column(sa.Column('full_name', sa.String(length=255), nullable=True))" in result.stdout
    )
    assert len(_revision_files(seed_project)) == 1  # check writes nothing
