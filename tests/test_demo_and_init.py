"""``asyncmigrate demo`` (the README's first command) and ``asyncmigrate init``."""

from __future__ import annotations

import ast
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
from pathlib import Path

from .conftest import BOOKKEEPING, run_cli, table_columns


def test_demo_on_embedded_sqlite(tmp_path: Path) -> None:
    result = run_cli("demo", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "9/9 status" in result.stdout
    assert result.stdout.count("✓") >= 9
    assert "Demo complete." in result.stdout
    assert (tmp_path / "demo" / "demo.db").is_file()


def test_demo_in_a_temporary_directory(tmp_path: Path) -> None:
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "asyncmigrate-demo-" in result.stdout


async def test_demo_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    result = run_cli("--url", pg_url, "demo", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "10/10 leave the database as it was" in result.stdout
    assert set(await table_columns(pg_url)) == BOOKKEEPING


def test_demo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    result = run_cli("demo", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: demo directory {tmp_path / 'demo'} is not empty"


def test_init_keeps_an_existing_pyproject(tmp_path: Path) -> None:
    original = '[project]\nname = "shop"\nversion = "1.0"\n\n[tool.ruff]\nline-length = 99\n'
    (tmp_path / "pyproject.toml").write_text(original)
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "models.py").write_text("")
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.output
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(original)
    document = tomllib.loads(text)
    assert document["tool"]["asyncmigrate"] == {"models": "shop.models", "script_location": "migrations"}
    assert document["tool"]["alembic"]["script_location"] == "%(here)s/migrations"
    assert document["tool"]["ruff"] == {"line-length": 99}
    env_py = (tmp_path / "migrations" / "env.py").read_text()
    assert "run_migrations()" in env_py
    assert len(ast.parse(env_py).body) == 3  # docstring, import, call
    assert (tmp_path / "migrations" / "script.py.mako").is_file()
    assert (tmp_path / "migrations" / "versions").is_dir()


def test_init_in_a_named_directory_without_pyproject(tmp_path: Path) -> None:
    result = run_cli("init", "db/migrations", "--models", "app.db.models", cwd=tmp_path)
    assert result.returncode == 0, result.output
    document = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert document["tool"]["asyncmigrate"]["script_location"] == "db/migrations"
    assert document["tool"]["asyncmigrate"]["models"] == "app.db.models"
    assert (tmp_path / "db" / "migrations" / "env.py").is_file()
    result = run_cli("heads", cwd=tmp_path)
    assert result.returncode == 0, result.output
