"""``asyncmigrate init``: write the migrations directory and the ``[tool.asyncmigrate]`` table.

The env.py written here is three lines that call the library; everything else is read from
pyproject.toml at run time, so there is nothing to edit by hand. A ``[tool.alembic]`` table with
the same script location is added too, so the plain ``alembic`` command keeps working.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .config import _read_toml
from .discovery import CONVENTIONAL_MODEL_PACKAGES
from .errors import ConfigError


@dataclass(frozen=True)
class InitResult:
    script_location: Path
    pyproject: Path
    models: str | None
    wrote_table: bool


def _template(name: str) -> str:
    return resources.files("asyncmigrate").joinpath("templates").joinpath(name).read_text("utf-8")


def guess_models_package(project_dir: Path) -> str | None:
    """The package that holds the models, by convention (``models``, ``app.models``, ...)."""
    src = project_dir / "src"
    if (src / "models").is_dir():
        # The tutorial's layout imports its models as ``src.models``; a src-layout project
        # without that prefix imports them as ``models``.
        mentions_src = any(
            "src.models" in path.read_text("utf-8", errors="ignore") for path in src.rglob("*.py")
        )
        if (src / "__init__.py").is_file() or mentions_src:
            return "src.models"
        return "models"
    for name in CONVENTIONAL_MODEL_PACKAGES:
        relative = Path(*name.split("."))
        if (project_dir / relative).is_dir() or (project_dir / relative).with_suffix(".py").is_file():
            return name
    # A single package with a models module or package: myapp/models.py
    candidates = sorted(
        f"{path.parent.name}.models"
        for path in [*project_dir.glob("*/models.py"), *project_dir.glob("*/models/__init__.py")]
        if (path.parent / "__init__.py").is_file() or path.name == "__init__.py"
    )
    candidates = [c.replace(".models.models", ".models") for c in candidates]
    return candidates[0] if len(candidates) == 1 else None


def _table_text(script_location: str, models: str | None, include_alembic: bool) -> str:
    models_line = (
        f'models = "{models}"' if models else '# models = "yourapp.models"  # the package with your models'
    )
    text = f"""
[tool.asyncmigrate]
{models_line}
script_location = "{script_location}"
# url = "postgresql+asyncpg://app:${{DB_PASSWORD}}@localhost/app"
#   default: the DATABASE_URL environment variable, else an SQLite file next to this one,
#   which a run without a terminal (CI, a deploy) refuses unless: embedded_sqlite = true
"""
    if include_alembic:
        text += f"""
[tool.alembic]
# lets the plain `alembic` command run this project's migrations too
script_location = "%(here)s/{script_location}"
"""
    return text


def init_project(
    directory: str | os.PathLike[str] = "migrations",
    *,
    project_dir: str | os.PathLike[str] | None = None,
    models: str | None = None,
) -> InitResult:
    """Create ``directory`` with env.py, script.py.mako and versions/, and configure pyproject."""
    root = Path(project_dir or os.getcwd()).resolve()
    target = (root / directory).resolve()
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"directory {target} already exists and is not empty")
    try:
        relative = target.relative_to(root).as_posix()
    except ValueError:
        relative = target.as_posix()
    pyproject = root / "pyproject.toml"
    document = _read_toml(pyproject) if pyproject.is_file() else {}
    tool = document.get("tool", {})
    models = models or tool.get("asyncmigrate", {}).get("models") or guess_models_package(root)

    (target / "versions").mkdir(parents=True, exist_ok=True)
    (target / "env.py").write_text(_template("env.py.txt"), "utf-8")
    (target / "script.py.mako").write_text(_template("script.py.mako"), "utf-8")
    (target / "README").write_text(_template("README.txt"), "utf-8")

    wrote_table = "asyncmigrate" not in tool
    if wrote_table:
        existing = pyproject.read_text("utf-8") if pyproject.is_file() else ""
        separator = "" if not existing or existing.endswith("\n") else "\n"
        pyproject.write_text(
            existing + separator + _table_text(relative, models, "alembic" not in tool), "utf-8"
        )
    return InitResult(target, pyproject, models, wrote_table)
