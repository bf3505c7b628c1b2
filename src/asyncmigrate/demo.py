"""``asyncmigrate demo``: the tutorial's whole workflow, run for real in a fresh project.

It writes the tutorial's project (a ``User`` model in its own module under ``src/models``), then
runs the same commands a user types, each in its own process, and checks every result: the
generated revisions contain the expected operations and the database has the expected columns.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .errors import AsyncMigrateError

BASE_MODULE = """\
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
"""

USER_MODULE = """\
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from src.models.base import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
"""

FULL_NAME_LINE = "    full_name: Mapped[str | None] = mapped_column(String(255))\n"


@dataclass
class Step:
    title: str
    args: list[str]
    expect: Callable[[Path, str], str | None] | None = None


def write_seed_project(root: Path) -> None:
    """The tutorial's layout: src/models/base.py with Base, src/models/user.py with User."""
    models = root / "src" / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "__init__.py").write_text("")
    (models / "base.py").write_text(BASE_MODULE)
    (models / "user.py").write_text(USER_MODULE)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1.0"\n')


def _add_full_name(root: Path) -> str:
    user = root / "src" / "models" / "user.py"
    user.write_text(user.read_text() + FULL_NAME_LINE)
    return "edited src/models/user.py: added full_name"


def _choose_embedded_sqlite(root: Path) -> str:
    """The demo's database is the embedded SQLite file by choice: its commands run without a
    terminal, where a project that did not choose it gets an error instead of a fresh file."""
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace("[tool.asyncmigrate]\n", "[tool.asyncmigrate]\nembedded_sqlite = true\n", 1)
    )
    return "edited pyproject.toml: embedded_sqlite = true (the embedded SQLite database, on purpose)"


def _newest_revision(root: Path) -> str:
    files = sorted((root / "migrations" / "versions").glob("*.py"), key=lambda p: p.stat().st_mtime)
    return files[-1].read_text() if files else ""


def _revision_contains(*needles: str) -> Callable[[Path, str], str | None]:
    def expect(root: Path, _output: str) -> str | None:
        text = _newest_revision(root)
        missing = [needle for needle in needles if needle not in text]
        return f"the new revision lacks {', '.join(missing)}" if missing else None

    return expect


def _output_contains(needle: str) -> Callable[[Path, str], str | None]:
    def expect(_root: Path, output: str) -> str | None:
        return None if needle in output else f"expected {needle!r} in the output"

    return expect


def steps(external_url: bool) -> list[tuple[Step, Callable[[Path], str] | None]]:
    """The tutorial's steps; the callable runs before the step (editing the model or the
    config) and says what it did."""
    plan: list[tuple[Step, Callable[[Path], str] | None]] = [
        (Step("init", ["init"], _output_contains("Models: src.models")), None),
        (
            Step(
                "autogenerate the users table",
                ["revision", "--autogenerate", "-m", "Create users table"],
                _revision_contains("op.create_table('users'"),
            ),
            None if external_url else _choose_embedded_sqlite,
        ),
        (Step("upgrade", ["upgrade", "head"], _output_contains("(head)")), None),
        (
            Step(
                "autogenerate full_name",
                ["revision", "--autogenerate", "-m", "Add full_name to User model"],
                _revision_contains("add_column(", "'full_name'", "drop_column("),
            ),
            _add_full_name,
        ),
        (Step("upgrade", ["upgrade", "head"], _output_contains("(head)")), None),
        (Step("models match the database", ["check"], _output_contains("No changes")), None),
        (Step("downgrade -1", ["downgrade", "-1"], _output_contains("Database is at")), None),
        (Step("upgrade again", ["upgrade", "head"], _output_contains("(head)")), None),
        (Step("status", ["status"], _output_contains("Up to date")), None),
    ]
    if external_url:
        plan.append(
            (Step("leave the database as it was", ["downgrade", "base"], _output_contains("base")), None)
        )
    return plan


async def run_demo(directory: str | None, *, url: str | None, console: Console) -> Path:
    """Run the demo; raise AsyncMigrateError naming the step that failed."""
    root = Path(directory or tempfile.mkdtemp(prefix="asyncmigrate-demo-")).resolve()
    if root.exists() and any(root.iterdir()):
        raise AsyncMigrateError(f"demo directory {root} is not empty")
    root.mkdir(parents=True, exist_ok=True)
    write_seed_project(root)
    console.print(f"[bold]asyncmigrate demo[/bold] in {escape(str(root))}")
    console.print("  wrote src/models/base.py (Base) and src/models/user.py (User)")
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    global_args = ["--url", url] if url else []
    plan = steps(external_url=bool(url))
    for number, (step, prepare) in enumerate(plan, start=1):
        if prepare is not None:
            console.print(f"  {escape(prepare(root))}")
        shown = " ".join(["asyncmigrate", *step.args])
        console.print(
            f"\n[bold cyan]{number}/{len(plan)}[/bold cyan] {step.title}: [bold]$ {escape(shown)}[/bold]"
        )
        completed = subprocess.run(
            [sys.executable, "-m", "asyncmigrate", *global_args, *step.args],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        output = completed.stdout
        for line in output.rstrip().splitlines():
            console.print(f"    {escape(line)}")
        problem = None if completed.returncode == 0 else f"exit code {completed.returncode}"
        if problem is None and step.expect is not None:
            problem = step.expect(root, output)
        if problem:
            raise AsyncMigrateError(f"demo step {number} ({shown}) failed: {problem}")
        console.print("    [green]✓[/green]")
    console.print(f"\n[bold green]Demo complete.[/bold green] The project is in {escape(str(root))}")
    return root
