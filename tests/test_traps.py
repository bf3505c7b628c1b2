"""The traps the tutorial walks into on today's stack, each closed: model discovery, empty
models, SQLite ALTER, greenlet, databases made by create_all, the embedded default."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate import Migrator
from asyncmigrate.errors import EmptyModelsError
from asyncmigrate.scaffold import init_project

from .conftest import BOOKKEEPING, create_all_seed_models, run_cli, table_columns, version_rows

ORDER_MODULE = """\
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from src.models.base import Base


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(50))
"""


def _newest_revision(project: Path) -> str:
    files = sorted((project / "migrations" / "versions").glob("*.py"), key=lambda p: p.stat().st_mtime)
    return files[-1].read_text()


async def test_model_module_nothing_imports_is_seen(seed_project: Path, db_url: str) -> None:
    """src/models/orders/order.py is imported by nobody; autogenerate still creates it."""
    package = seed_project / "src" / "models" / "orders"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "order.py").write_text(ORDER_MODULE)
    init_project(project_dir=seed_project)
    migrator = Migrator.from_pyproject(seed_project, url=db_url)
    [path] = await migrator.revision("initial", autogenerate=True)
    body = path.read_text()
    assert "op.create_table('users'" in body
    assert "op.create_table('orders'" in body
    assert (
        "create_index(batch_op.f('ix_orders_user_id')" in body
        or "create_index(op.f('ix_orders_user_id')" in body
    )
    await migrator.upgrade("head")
    assert set(await table_columns(db_url)) == {"users", "orders"} | BOOKKEEPING
    assert (await migrator.check()).clean


async def test_explicit_metadata_reference(seed_project: Path, sqlite_url: str) -> None:
    init_project(project_dir=seed_project)
    pyproject = seed_project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'models = "src.models"', 'models = "src.models"\nmetadata = "src.models.base:Base"'
        )
    )
    migrator = Migrator.from_pyproject(seed_project, url=sqlite_url)
    [path] = await migrator.revision("initial", autogenerate=True)
    assert "op.create_table('users'" in path.read_text()


async def test_empty_models_refuse_to_drop_everything(tmp_path: Path, sqlite_url: str) -> None:
    """A models package whose Base has no tables would make autogenerate drop every table."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "__init__.py").write_text(
        "from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    pass\n"
    )
    init_project(project_dir=tmp_path)
    engine = create_async_engine(sqlite_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
        await connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    await engine.dispose()

    result = run_cli("--url", sqlite_url, "revision", "--autogenerate", "-m", "oops", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: refusing to autogenerate: the models define no tables, so the revision would drop"
        " all 2 tables of the database (customers, invoices); check 'models' in [tool.asyncmigrate],"
        " or pass --allow-empty-models if that is really what you want"
    )
    assert list((tmp_path / "migrations" / "versions").glob("*.py")) == []

    migrator = Migrator.from_pyproject(tmp_path, url=sqlite_url)
    with pytest.raises(EmptyModelsError):
        await migrator.revision("oops", autogenerate=True)
    [path] = await migrator.revision("drop all", autogenerate=True, allow_empty_models=True)
    assert "op.drop_table('customers')" in path.read_text()


async def test_sqlite_alter_column_works_through_batch(seed_project: Path, sqlite_url: str) -> None:
    """Changing a column's type and nullability on SQLite: plain ALTER COLUMN fails there."""
    init_project(project_dir=seed_project)
    migrator = Migrator.from_pyproject(seed_project, url=sqlite_url)
    await migrator.revision("initial", autogenerate=True)
    await migrator.upgrade("head")
    engine = create_async_engine(sqlite_url)
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO users (id, email) VALUES (1, 'a@example.com')"))
    user = seed_project / "src" / "models" / "user.py"
    user.write_text(
        user.read_text().replace(
            "email: Mapped[str] = mapped_column(String(255), unique=True)",
            "email: Mapped[str | None] = mapped_column(String(320), unique=True)",
        )
    )
    for name in [m for m in list(__import__("sys").modules) if m.startswith("src")]:
        del __import__("sys").modules[name]
    migrator = Migrator.from_pyproject(seed_project, url=sqlite_url)
    [path] = await migrator.revision("widen email", autogenerate=True)
    body = path.read_text()
    assert "with op.batch_alter_table('users'" in body
    assert "batch_op.alter_column('email'" in body
    await migrator.upgrade("head")
    await migrator.downgrade("-1")
    await migrator.upgrade("head")
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT id, email FROM users"))).all()
    await engine.dispose()
    assert rows == [(1, "a@example.com")]


def test_install_brings_greenlet() -> None:
    """SQLAlchemy 2.1 no longer depends on greenlet; every async command needs it."""
    requirements = importlib.metadata.requires("asyncmigrate") or []
    assert any(r.startswith("greenlet") for r in requirements)
    assert any(r.startswith("sqlalchemy[asyncio]") for r in requirements)
    import greenlet  # noqa: F401


async def test_baseline_adopts_a_create_all_database(seed_project: Path, db_url: str) -> None:
    """A database made by create_all, with data, before migrations existed."""
    await create_all_seed_models(
        seed_project, db_url, "INSERT INTO users (id, email) VALUES (7, 'kept@example.com')"
    )

    init_project(project_dir=seed_project)
    result = run_cli("--url", db_url, "baseline", cwd=seed_project)
    assert result.returncode == 0, result.output
    [path] = (seed_project / "migrations" / "versions").glob("*.py")
    revision = path.name.split("_")[0]
    assert "op.create_table('users'" in path.read_text()
    assert await version_rows(db_url) == [revision]
    engine = create_async_engine(db_url)
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT id, email FROM users"))).all()
    await engine.dispose()
    assert rows == [(7, "kept@example.com")]
    # The next change autogenerates only the difference, and applies.
    user = seed_project / "src" / "models" / "user.py"
    user.write_text(user.read_text() + "    nickname: Mapped[str | None] = mapped_column(String(40))\n")
    result = run_cli("--url", db_url, "revision", "--autogenerate", "-m", "nickname", cwd=seed_project)
    assert result.returncode == 0, result.output
    assert "'nickname'" in _newest_revision(seed_project)
    assert "create_table" not in _newest_revision(seed_project)
    assert run_cli("--url", db_url, "upgrade", "head", cwd=seed_project).returncode == 0
    assert "nickname" in (await table_columns(db_url))["users"]
    result = run_cli("--url", db_url, "baseline", cwd=seed_project)
    assert result.returncode == 1
    assert "baseline must be the first revision" in result.stderr


async def test_baseline_revision_builds_an_empty_database(
    seed_project: Path, sqlite_url: str, tmp_path: Path
) -> None:
    await create_all_seed_models(seed_project, sqlite_url)
    init_project(project_dir=seed_project)
    result = await Migrator.from_pyproject(seed_project, url=sqlite_url).baseline()
    assert result.drift.clean
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    migrator = Migrator.from_pyproject(seed_project, url=fresh)
    await migrator.upgrade("head")
    assert (await table_columns(fresh))["users"] == {"id", "email"}
    assert (await migrator.check()).clean


def test_embedded_default_is_announced(seed_project: Path) -> None:
    init_project(project_dir=seed_project)
    pyproject = seed_project / "pyproject.toml"  # chosen: these commands run without a terminal
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", "[tool.asyncmigrate]\nembedded_sqlite = true\n"
        )
    )
    result = run_cli("revision", "--autogenerate", "-m", "initial", cwd=seed_project)
    assert result.returncode == 0, result.output
    assert "using the embedded SQLite database ./demo.db" in result.stderr
    assert (seed_project / "demo.db").is_file()
    result = run_cli("upgrade", "head", cwd=seed_project)
    assert result.returncode == 0, result.output
    assert "using the embedded SQLite database ./demo.db" in result.stderr  # every time
    result = run_cli("status", cwd=seed_project)
    assert f"sqlite+aiosqlite:///{seed_project / 'demo.db'}" in result.stdout


def test_url_from_config_expands_environment(seed_project: Path, tmp_path: Path) -> None:
    init_project(project_dir=seed_project)
    pyproject = seed_project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.asyncmigrate]\n", '[tool.asyncmigrate]\nurl = "sqlite+aiosqlite:///${DB_DIR}/app.db"\n'
        )
    )
    result = run_cli("current", cwd=seed_project, env={"DB_DIR": str(tmp_path)})
    assert result.returncode == 0, result.output
    assert (tmp_path / "app.db").is_file()
    result = run_cli("current", cwd=seed_project)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: the database URL refers to ${DB_DIR}, which is not set"


def test_unknown_config_key_is_warned_about(seed_project: Path, sqlite_url: str) -> None:
    init_project(project_dir=seed_project)
    pyproject = seed_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('models = "src.models"', 'modles = "src.models"'))
    result = run_cli("--url", sqlite_url, "current", cwd=seed_project)
    assert result.returncode == 0, result.output
    assert "warning: unknown keys in [tool.asyncmigrate]: modles" in result.stderr
