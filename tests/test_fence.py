"""The fence (asyncmigrate/internals/): each private-name trick against its public fallback, and
a library call that leaves its host process as it found it.

Each trick's check is forced to fail (``Trick.forced(False)``), and the result must be the one the
fast path gives: the same autogenerate diffs and code, the same version and history rows, the
same lint findings, the same answers. Then every awaited ``Migrator`` call (upgrade, check,
lint, status, history) must leave the garbage collector, ``sys.path``, ``sys.stdout`` and
Alembic's classes as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.runtime.migration import HeadMaintainer, MigrationContext
from alembic.util.langhelpers import ModuleClsProxy
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from asyncmigrate import Migrator
from asyncmigrate.internals import Trick
from asyncmigrate.internals import alembic as alembic_internals
from asyncmigrate.internals import anyio as anyio_internals  # noqa: F401  (registers its trick)
from asyncmigrate.internals import asyncpg as asyncpg_internals  # noqa: F401  (registers its trick)
from asyncmigrate.lint.project import LintRequest
from asyncmigrate.scaffold import init_project

from .conftest import table_columns, version_rows, write_body_revision, write_revision
from .test_batched_reflection import build_metadata, compare, create, on_database

#: Tricks whose check depends on what is installed (AnyIO is optional at run time).
VERSION_DEPENDENT = {"anyio.worker_claim"}


@contextlib.contextmanager
def all_forced(names: list[str], usable: bool) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(Trick.registry[name].forced(usable))
        yield


def test_every_trick_fits_the_installed_libraries() -> None:
    """On every version we declare, each check passes: the fast paths are really used."""
    assert len(Trick.registry) >= 6
    unusable = [name for name, trick in Trick.registry.items() if not trick.usable]
    assert set(unusable) <= VERSION_DEPENDENT, unusable


def test_a_failing_check_means_the_public_path() -> None:
    def broken() -> bool:
        raise AttributeError("moved")

    trick = Trick("test.broken", broken, "a check that raises")
    try:
        assert trick.usable is False
        with trick.forced(True):
            assert trick.usable is True
        assert trick.usable is False
    finally:
        del Trick.registry["test.broken"]


def test_public_paths_can_be_chosen_for_a_whole_process() -> None:
    """What a benchmark uses to measure a trick: the public path in every call of the process."""
    import subprocess

    script = (
        "from asyncmigrate.internals import Trick, alembic, anyio, asyncpg, sqlalchemy\n"
        "print(sorted(n for n, t in Trick.registry.items() if not t.usable))"
    )
    env = {**os.environ, "ASYNCMIGRATE_PUBLIC_PATHS": "alembic.update_version, asyncpg.adapter"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert set(eval(done.stdout)) - VERSION_DEPENDENT == {"alembic.update_version", "asyncpg.adapter"}
    env["ASYNCMIGRATE_PUBLIC_PATHS"] = "all"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert len(eval(done.stdout)) == len(Trick.registry)


REFLECTION_TRICKS = ["sqlalchemy.sqlite_reads", "alembic.insp_keys"]


@pytest.mark.parametrize("state", ["unchanged", "changed"])
async def test_autogenerate_without_the_tricks_gives_the_same_diffs(db_url: str, state: str) -> None:
    """Batched reflection with every SQLAlchemy/Alembic check failed: the same diffs and code as
    with them, and as plain Alembic."""
    postgresql = db_url.startswith("postgresql")
    await create(db_url, build_metadata(8, postgresql=postgresql))
    target = build_metadata(8, postgresql=postgresql, changed=state == "changed")

    def run(connection: Connection) -> Any:
        plain = compare(connection, target, False)
        fast = compare(connection, target, True)
        with all_forced(REFLECTION_TRICKS, False):
            public = compare(connection, target, True)
        return plain, fast, public

    plain, fast, public = await on_database(db_url, run)
    assert public[:2] == fast[:2] == plain[:2]


@pytest.mark.parametrize("forced", [["alembic.update_version"], ["asyncpg.adapter"]])
async def test_upgrade_without_the_tricks_writes_the_same_rows(
    tmp_path: Path, db_url: str, forced: list[str]
) -> None:
    """The version UPDATE and the history rows, with the trick and without it: same database."""
    results = []
    for usable in (True, False):
        project = tmp_path / f"p{usable}"
        project.mkdir()
        init_project(project_dir=project, models="unused")
        write_body_revision(
            project, "a1", None, 'op.create_table("t1", sa.Column("id", sa.Integer, primary_key=True))'
        )
        write_body_revision(project, "a2", "a1", 'op.add_column("t1", sa.Column("note", sa.Text))')
        write_body_revision(
            project,
            "a3",
            "a2",
            "op.execute('DELETE FROM t1')\nop.execute(\"INSERT INTO t1 (id, note) VALUES (1, 'x')\")",
        )
        url = db_url
        with all_forced(forced, usable):
            migrator = Migrator.from_pyproject(project, url=url)
            result = await migrator.upgrade("head")
            await migrator.downgrade("a2")
            await migrator.upgrade("head")
            engine = create_async_engine(url)
            try:
                async with engine.connect() as connection:
                    history = (
                        await connection.execute(
                            text("SELECT revision, event, checksum FROM asyncmigrate_history ORDER BY id")
                        )
                    ).all()
                    await connection.execute(text("DROP TABLE t1"))
                    await connection.execute(text("DROP TABLE alembic_version"))
                    await connection.execute(text("DROP TABLE asyncmigrate_history"))
                    await connection.commit()
            finally:
                await engine.dispose()
        results.append((result.applied, [tuple(row) for row in history]))
    assert results[0] == results[1]
    assert [row[:2] for row in results[0][1]] == [
        ("a1", "upgrade"),
        ("a2", "upgrade"),
        ("a3", "upgrade"),
        ("a3", "downgrade"),
        ("a3", "upgrade"),
    ]


async def test_lint_without_routed_proxies_gives_the_same_findings(tmp_path: Path) -> None:
    """Alembic's own module-global ``op``: the linter records the same operations."""
    init_project(project_dir=tmp_path, models="unused")
    write_body_revision(
        tmp_path, "b1", None, 'op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))'
    )
    write_body_revision(
        tmp_path, "b2", "b1", 'op.add_column("t", sa.Column("n", sa.Integer, nullable=False))'
    )
    write_body_revision(tmp_path, "b3", "b2", 'op.create_index("ix", "t", ["n"])')
    request = LintRequest(dialect="postgresql", pg_version="15")
    fast = await Migrator.from_pyproject(tmp_path).lint(request)
    with alembic_internals.MODULE_PROXIES.forced(False):
        public = await Migrator.from_pyproject(tmp_path).lint(request)
    assert [(f.rule, f.revision, f.line) for f in public.findings] == [
        (f.rule, f.revision, f.line) for f in fast.findings
    ]
    assert public.sql == fast.sql and fast.findings


# -- the host process -----------------------------------------------------------------------------


def host_state() -> dict[str, Any]:
    return {
        "gc": (gc.isenabled(), gc.get_threshold()),
        "frozen": gc.get_freeze_count(),
        "sys.path": list(sys.path),
        "stdout": sys.stdout,
        "stderr": sys.stderr,
        "HeadMaintainer": dict(vars(HeadMaintainer)),
        "MigrationContext": dict(vars(MigrationContext)),
        "ModuleClsProxy": dict(vars(ModuleClsProxy)),
    }


@pytest.fixture
def host_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A host with its own collector settings and frozen objects, put back afterwards; the list
    of collector calls made meanwhile (there must be none)."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(1234, 11, 12)
    calls: list[str] = []
    for name in ("disable", "enable", "freeze", "unfreeze", "set_threshold", "collect"):
        function = getattr(gc, name)

        def recorded(*args: Any, _name: str = name, _function: Any = function) -> Any:
            calls.append(_name)
            return _function(*args)

        monkeypatch.setattr(gc, name, recorded)
    try:
        yield calls
    finally:
        monkeypatch.undo()
        gc.set_threshold(*threshold)
        gc.unfreeze()


async def test_migrator_calls_leave_the_host_process_as_they_found_it(
    tmp_path: Path, db_url: str, seed_project: Path, host_app: list[str]
) -> None:
    project = seed_project
    init_project(project_dir=project)
    write_revision(project, "h1", None, "plain")
    write_body_revision(
        project,
        "h2",
        "h1",
        "op.create_table('user', sa.Column('id', sa.Integer, primary_key=True),"
        " sa.Column('email', sa.String(255), nullable=False, unique=True))\nprint('from the revision')",
    )
    migrator = Migrator.from_pyproject(project, url=db_url)
    assert str(project) not in sys.path and str(project / "src") not in sys.path
    seen_during: list[bool] = []
    done = asyncio.Event()

    async def other_task_of_the_host() -> None:
        while not done.is_set():
            seen_during.append(gc.isenabled())
            await asyncio.sleep(0)

    watcher = asyncio.create_task(other_task_of_the_host())
    before = host_state()
    calls = {
        "upgrade": lambda: migrator.upgrade("head"),
        "check": migrator.check,
        "lint": lambda: migrator.lint(LintRequest(dialect="postgresql", pg_version="15")),
        "status": migrator.status,
        "history": migrator.history,
        "downgrade": lambda: migrator.downgrade("h1"),
    }
    try:
        for name, call in calls.items():
            await call()
            after = host_state()
            for key, value in before.items():
                if key == "frozen":
                    # the host's frozen objects stay frozen: none unfrozen, none frozen by us; a few
                    # may be freed meanwhile (a cache entry replaced), so the count may drop a little
                    assert value * 0.95 <= after[key] <= value, (name, key, after[key], value)
                else:
                    assert after[key] == value, (name, key)
    finally:
        done.set()
        await watcher
    assert seen_during and all(seen_during)  # the host's other coroutines never saw it paused
    assert host_app == []  # nor was the collector touched
    # Alembic's own op/context proxy methods, not ours, once no run of ours is going
    assert ModuleClsProxy.__dict__["_install_proxy"].__module__ == "alembic.util.langhelpers"
    assert ModuleClsProxy.__dict__["_remove_proxy"].__module__ == "alembic.util.langhelpers"
    assert await version_rows(db_url) == ["h1"]
    assert "plain" in await table_columns(db_url)
