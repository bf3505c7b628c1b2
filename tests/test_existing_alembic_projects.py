"""Existing Alembic projects run unchanged: the tutorial's env.py verbatim, and Alembic's stock
``generic`` and ``async`` templates, driven with ``asyncmigrate -c alembic.ini``; and back."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest

from asyncmigrate import Migrator

from .conftest import FIXTURES, run_alembic, run_cli, table_columns, version_rows

SEED_URL = "postgresql+asyncpg://postgres:password@postgres:5432/microservices_db"

HAND_WRITTEN = '''\
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


def alembic_init(project: Path, template: str, url: str) -> Path:
    """``alembic init -t TEMPLATE alembic`` with the real command, then set the URL in the ini."""
    result = run_alembic("init", "-t", template, "alembic", cwd=project)
    assert result.returncode == 0, result.output
    ini = project / "alembic.ini"
    text = re.sub(r"^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}", ini.read_text(), flags=re.M)
    ini.write_text(text)
    return ini


@pytest.fixture
def seed_alembic_project(seed_project: Path) -> Path:
    """The tutorial followed literally: alembic init, its alembic.ini URL, its env.py verbatim."""
    alembic_init(seed_project, "generic", SEED_URL)
    shutil.copy(FIXTURES / "seed_env.py", seed_project / "alembic" / "env.py")
    return seed_project


async def test_seed_env_py_driven_unchanged(seed_alembic_project: Path, pg_url: str) -> None:
    project = seed_alembic_project
    args = ["-c", "alembic.ini", "--url", pg_url]
    result = run_cli(*args, "revision", "--autogenerate", "-m", "Add users", cwd=project)
    assert result.returncode == 0, result.output
    [revision_file] = (project / "alembic" / "versions").glob("*.py")
    assert "op.create_table('users'" in revision_file.read_text()
    result = run_cli(*args, "upgrade", "head", cwd=project)
    assert result.returncode == 0, result.output
    assert (await table_columns(pg_url))["users"] == {"id", "email"}
    result = run_cli(*args, "status", cwd=project)
    assert "Up to date" in result.stdout, result.output
    result = run_cli(*args, "check", cwd=project)
    assert result.returncode == 0, result.output
    result = run_cli(*args, "downgrade", "-1", cwd=project)
    assert result.returncode == 0, result.output
    assert "users" not in await table_columns(pg_url)


def test_seed_env_py_docker_host_is_explained(seed_alembic_project: Path) -> None:
    """The tutorial's URL names host 'postgres', a Docker Compose service."""
    (seed_alembic_project / "alembic" / "versions" / "acc001_accounts.py").write_text(HAND_WRITTEN)
    result = run_cli("-c", "alembic.ini", "upgrade", "head", cwd=seed_alembic_project)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot resolve host 'postgres'")
    assert "Docker Compose service name" in lines[0]
    assert "Traceback" not in result.output


def test_seed_env_py_offline_does_nothing_and_we_say_so(seed_alembic_project: Path) -> None:
    (seed_alembic_project / "alembic" / "versions" / "acc001_accounts.py").write_text(HAND_WRITTEN)
    result = run_cli("-c", "alembic.ini", "upgrade", "head", "--sql", cwd=seed_alembic_project)
    assert result.returncode == 1
    assert "produced no SQL" in result.stderr


async def test_seed_env_py_from_running_loop_keeps_callers_logging(
    seed_alembic_project: Path, pg_url: str
) -> None:
    """The tutorial's env.py calls asyncio.run and fileConfig; awaiting it must still work and
    must leave the application's loggers enabled."""
    (seed_alembic_project / "alembic" / "versions" / "acc001_accounts.py").write_text(HAND_WRITTEN)
    app_logger = logging.getLogger("myapp.api")
    migrator = Migrator.from_config(seed_alembic_project / "alembic.ini", url=pg_url)
    await migrator.upgrade("head")
    assert await migrator.current() == ("acc001",)
    assert "accounts" in await table_columns(pg_url)
    assert not app_logger.disabled


@pytest.mark.parametrize("template", ["async", "generic"])
async def test_stock_templates_both_directions(tmp_path: Path, template: str) -> None:
    project = tmp_path / "stock"
    project.mkdir()
    database = project / "app.db"
    url = f"sqlite+aiosqlite:///{database}" if template == "async" else f"sqlite:///{database}"
    alembic_init(project, template, url)
    (project / "alembic" / "versions" / "acc001_accounts.py").write_text(HAND_WRITTEN)
    async_url = f"sqlite+aiosqlite:///{database}"

    result = run_cli("-c", "alembic.ini", "upgrade", "head", cwd=project)
    assert result.returncode == 0, result.output
    assert await version_rows(async_url) == ["acc001"]
    result = run_alembic("current", cwd=project)
    assert "acc001 (head)" in result.stdout, result.output
    result = run_alembic("downgrade", "base", cwd=project)
    assert result.returncode == 0, result.output
    result = run_cli("-c", "alembic.ini", "current", cwd=project)
    assert result.returncode == 0 and result.stdout == "", result.output  # as 'alembic current'
    assert "base (no revision applied)" in result.stderr
    result = run_alembic("upgrade", "head", cwd=project)
    assert result.returncode == 0, result.output
    result = run_cli("-c", "alembic.ini", "status", cwd=project)
    assert "Up to date" in result.stdout
    # With no -c, the alembic.ini in the current directory is found.
    result = run_cli("downgrade", "base", cwd=project)
    assert result.returncode == 0, result.output
    assert "accounts" not in await table_columns(async_url)
