"""Benchmark: `check` on wide schemas, asyncmigrate vs plain alembic vs the floor.

For each size (100/500/2000 tables, with indexes, a unique constraint, an FK, enums, server
defaults, a comment), generates the models as an importable package, creates the database from
them once (create_all), then times whole processes interleaved over several rounds after a
warm-up, on SQLite and, with --pg-url, PostgreSQL:

* `asyncmigrate check` (batched reflection, see src/asyncmigrate/reflection/batched.py);
* `alembic check` on the same project (asyncmigrate's env.py also runs under plain alembic);
* the floor: a script that imports the models and reads the catalog once with ``get_multi_*``.

Prints medians, min/max, ratios, peak RSS per process (GNU time) and the statements each
comparison sends (counted in this process with a ``before_cursor_execute`` listener).
The subprocesses run without PYTHONDONTWRITEBYTECODE (should the caller's environment set it):
bytecode is cached as on a user's machine, and the warm-up round writes it.
Run: bench/run wide [--sizes 100,500,2000] [--rounds 3] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from stairway import create_pg_database  # noqa: E402

PER_MODULE = 100

HEADER = '''\
"""Generated wide models, {first}..{last}."""
import enum

import sqlalchemy as sa
from sqlalchemy import func

from .base import Base


class Status(enum.Enum):
    new = "new"
    done = "done"
    gone = "gone"
'''

TABLE = """

class T{n:05d}(Base):
    __tablename__ = "t{n:05d}"
    __table_args__ = (
        sa.UniqueConstraint("code", name="uq_t{n:05d}_code"),
        sa.Index("ix_t{n:05d}_name_status", "name", "status"),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(20), nullable=False)
    name = sa.Column(sa.String(100), nullable=False, comment="display name")
    status = sa.Column(sa.Enum(Status, name="status_{kind}"), nullable=False, server_default="new")
    amount = sa.Column(sa.Numeric(12, 2), server_default="0")
    created_at = sa.Column(sa.DateTime(timezone=True), server_default=func.now(), nullable=False)
    note = sa.Column(sa.Text)
{parent}"""

PARENT = (
    '    parent_id = sa.Column(sa.Integer, sa.ForeignKey("t{p:05d}.id", ondelete="CASCADE"), index=True)\n'
)

FLOOR = '''\
"""The floor: import the models, read the catalog once with get_multi_*."""
import asyncio
import importlib
import pkgutil
import sys

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

import wide_models

for module in pkgutil.walk_packages(wide_models.__path__, "wide_models."):
    importlib.import_module(module.name)

KEYS = ("columns", "pk_constraint", "foreign_keys", "indexes", "unique_constraints", "table_comment",
        "check_constraints", "table_options")


def read(connection):
    inspector = inspect(connection)
    for key in KEYS:
        try:
            getattr(inspector, "get_multi_" + key)()
        except NotImplementedError:
            pass


async def main():
    engine = create_async_engine(sys.argv[1])
    async with engine.connect() as connection:
        await connection.run_sync(read)
    await engine.dispose()


asyncio.run(main())
'''


def generate_models(root: Path, count: int) -> None:
    """A package ``wide_models`` with ``count`` tables, 100 per module."""
    package = root / "wide_models"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text(
        "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n"
    )
    for start in range(0, count, PER_MODULE):
        last = min(count, start + PER_MODULE) - 1
        body = [HEADER.format(first=start, last=last)]
        for n in range(start, last + 1):
            parent = PARENT.format(p=n - 1) if n else ""
            body.append(TABLE.format(n=n, kind=n % 5, parent=parent))
        (package / f"m{start // PER_MODULE:03d}.py").write_text("".join(body))


def load_metadata(root: Path) -> Any:
    import importlib
    import pkgutil

    for name in [name for name in sys.modules if name.split(".")[0] == "wide_models"]:
        del sys.modules[name]  # the previous size's package
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module("wide_models")
        for module in pkgutil.walk_packages(package.__path__, "wide_models."):
            importlib.import_module(module.name)
        return importlib.import_module("wide_models.base").Base.metadata
    finally:
        sys.path.remove(str(root))


def on_database(url: str, work: Callable[[Any], Any]) -> Any:
    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                result = await connection.run_sync(work)
                await connection.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def create_schema(url: str, metadata: Any) -> None:
    """create_all, committed every 200 tables (PostgreSQL's lock table is finite)."""

    def create(connection: Any) -> None:
        tables = metadata.sorted_tables
        for start in range(0, len(tables), 200):
            metadata.create_all(connection, tables=tables[start : start + 200])
            connection.commit()

    on_database(url, create)


def count_statements(url: str, metadata: Any) -> dict[str, tuple[int, int]]:
    """Statements and diffs of one comparison: plain Alembic vs asyncmigrate's batched one."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import event

    from asyncmigrate.autogenerate import autogenerate_plugins
    from asyncmigrate.reflection.batched import PLUGIN_NAME, register

    register()
    # asyncmigrate as its env.py runs it: server defaults compared (through the mirrors of
    # autogenerate/defaults.py), all of its plugins and the batched reads.
    ours = {"compare_server_default": True, "autogenerate_plugins": [*autogenerate_plugins(), PLUGIN_NAME]}
    counts: dict[str, tuple[int, int]] = {}
    for label, extra in (("alembic", {}), ("asyncmigrate", ours)):

        def compare(connection: Any, extra: dict[str, Any] = extra) -> tuple[int, int]:
            seen = [0]

            def count(*args: Any) -> None:
                seen[0] += 1

            event.listen(connection, "before_cursor_execute", count)
            try:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "target_metadata": metadata, **extra}
                )
                diffs = compare_metadata(context, metadata)
            finally:
                event.remove(connection, "before_cursor_execute", count)
            return seen[0], len(diffs)

        counts[label] = on_database(url, compare)
    return counts


def run_measured(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of one whole process. GNU time reports the RSS: a child forked
    from this (large) process would inherit its high-water mark through exec."""
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", report.name, *args], cwd=cwd, env=env, capture_output=True
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout.decode()[-1500:]}"
                f"{result.stderr.decode()[-1500:]}"
            )
        return elapsed, int(report.read().split()[-1])


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} (min {min(values):6.2f}, max {max(values):6.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,2000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("ASYNCMIGRATE_TEST_PG_URL"))
    options = parser.parse_args()
    from asyncmigrate.scaffold import init_project

    ours = [sys.executable, "-m", "asyncmigrate", "check"]
    theirs = [sys.executable, "-m", "alembic", "check"]
    # PYTHONDONTWRITEBYTECODE would make every process recompile the generated models and
    # asyncmigrate's (editable) sources, which a user's machine does not do.
    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")}
    print(f"{options.rounds} rounds after a warm-up, interleaved; whole-process seconds; peak RSS in MiB")
    for size in [int(s) for s in options.sizes.split(",")]:
        root = Path(tempfile.mkdtemp(prefix=f"bench-wide-{size}-"))
        generate_models(root, size)
        init_project(project_dir=root, models="wide_models")
        (root / "floor.py").write_text(FLOOR)
        floor = [sys.executable, "floor.py"]
        metadata = load_metadata(root)
        targets = [("sqlite", f"sqlite+aiosqlite:///{root / 'wide.db'}")]
        if options.pg_url:
            targets.append(("postgresql", create_pg_database(options.pg_url)))
        for label, url in targets:
            create_schema(url, metadata)
            statements = count_statements(url, metadata)
            env = dict(base_env, DATABASE_URL=url, PYTHONPATH=str(root))
            tools = {"asyncmigrate check": ours, "alembic check": theirs, "floor": floor}
            times: dict[str, list[float]] = {name: [] for name in tools}
            rss: dict[str, list[int]] = {name: [] for name in tools}
            floor_args = {"floor": [url]}
            for round_number in range(options.rounds + 1):
                for name, args in tools.items():
                    elapsed, peak = run_measured([*args, *floor_args.get(name, [])], root, env)
                    if round_number:  # the first round is the warm-up
                        times[name].append(elapsed)
                        rss[name].append(peak)
            medians = {name: statistics.median(values) for name, values in times.items()}
            print(f"\n{label}, {size} tables:")
            for name in tools:
                print(f"  {name:20s} {summary(times[name])}  RSS {max(rss[name]) / 1024:6.0f}")
            print(
                f"  alembic / asyncmigrate {medians['alembic check'] / medians['asyncmigrate check']:.2f}x;"
                f" asyncmigrate / floor {medians['asyncmigrate check'] / medians['floor']:.2f}x;"
                f" alembic / floor {medians['alembic check'] / medians['floor']:.2f}x"
            )
            print(
                "  statements (diffs): "
                + ", ".join(f"{tool} {n} ({d})" for tool, (n, d) in statements.items())
            )


if __name__ == "__main__":
    main()
