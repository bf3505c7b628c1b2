"""The stairway: for every revision, upgrade, step down exactly that revision, compare, upgrade.

For each revision in topological order (parents and dependencies first):

1. snapshot the schema (``before``), run exactly that revision's ``upgrade()``, snapshot (``after``);
2. run exactly that revision's ``downgrade()``, and check the schema equals ``before``;
3. run its ``upgrade()`` again, and check the schema equals ``after``.

Each step is one Alembic ``RevisionStep`` run through the project's env.py, so merges, branch
points, ``depends_on`` and several labelled heads need no relative target and never hit
"Ambiguous walk". After a failure the database is rebuilt up to that revision and the walk goes
on, so one run names every bad revision.

With the env.py written by ``asyncmigrate init``, everything runs on one connection with one
loaded script directory. A project's own env.py runs each step itself, as ``alembic upgrade``
would, in a worker thread (see foreign.py) on the throwaway database, and the snapshots are taken
back in the caller's loop.
"""

from __future__ import annotations

import ast
import inspect as pyinspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import RevisionStep
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection

from .. import foreign
from ..errors import AsyncMigrateError
from ..runner import Runner, preserve_logging
from .snapshot import Snapshot, SnapshotCache, diff_snapshots, take_snapshot

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"
#: Passed the schema checks but deserves a look (an empty downgrade on a data-only revision).
WARNING = "warning"


@dataclass
class RevisionResult:
    """What the stairway found for one revision."""

    revision: str
    message: str
    status: str = OK
    #: Which check failed, in words: "downgrade is empty (pass)", "downgrade raised: ...".
    problems: list[str] = field(default_factory=list)
    #: The schema difference behind a failed comparison, one line per difference.
    diff: list[str] = field(default_factory=list)

    def fail(self, problem: str, diff: list[str] | None = None) -> None:
        self.status = FAILED
        self.problems.append(problem)
        self.diff += diff or []

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "message": self.message,
            "status": self.status,
            "problems": self.problems,
            "diff": self.diff,
        }


@dataclass
class StairwayReport:
    results: list[RevisionResult]

    @property
    def failed(self) -> list[RevisionResult]:
        return [r for r in self.results if r.status == FAILED]

    @property
    def ok(self) -> bool:
        return all(r.status in (OK, WARNING) for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "revisions": [r.as_dict() for r in self.results],
            "failed": [r.revision for r in self.failed],
        }


def topological_order(script: ScriptDirectory) -> list[Script]:
    """Every revision, parents and dependencies before children."""
    return list(reversed(list(script.walk_revisions())))


def _is_empty(function: Callable[..., Any] | None) -> bool:
    """True for a function whose body is only ``pass``, ``...`` or a docstring."""
    if function is None:
        return True
    try:
        tree = ast.parse(textwrap.dedent(pyinspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0].body if tree.body and hasattr(tree.body[0], "body") else []
    return all(
        isinstance(node, ast.Pass) or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in body
    )


def wipe_database(connection: Connection) -> None:
    """Drop every table, view, sequence and type in the default schema."""
    name = connection.dialect.name
    if connection.in_transaction():
        connection.rollback()
    with connection.begin():
        if name == "postgresql":
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        elif name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            rows = connection.exec_driver_sql(
                "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'table')"
                " AND name NOT LIKE 'sqlite_%' ORDER BY type DESC"
            ).all()
            for kind, object_name in rows:
                connection.exec_driver_sql(f'DROP {kind.upper()} IF EXISTS "{object_name}"')
        elif name in ("mysql", "mariadb"):
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
            rows = connection.exec_driver_sql(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE()"
            ).all()
            for object_name, kind in rows:
                keyword = "VIEW" if kind == "VIEW" else "TABLE"
                connection.exec_driver_sql(f"DROP {keyword} IF EXISTS `{object_name}`")
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
        else:
            raise AsyncMigrateError(f"cannot wipe a '{name}' database")


class StepRunner:
    """Runs single revision steps on one connection with one loaded script directory."""

    def __init__(self, runner: Runner, connection: Connection, script: ScriptDirectory) -> None:
        self.runner = runner
        self.connection = connection
        self.script = script
        self.cache = SnapshotCache()

    def step(self, revision: Script, *, upgrade: bool) -> None:
        """Run exactly one revision's upgrade() or downgrade(), moving the version table."""
        self._settle()
        job = replace(self.runner.job(), connection=self.connection)
        config = self.runner.alembic_config(job)
        step = RevisionStep(self.script.revision_map, revision, upgrade)
        with EnvironmentContext(config, self.script, fn=lambda _heads, _context: [step]):
            self.script.run_env()
        self._settle()

    def snapshot(self) -> Snapshot:
        self._settle()
        try:
            return take_snapshot(self.connection, cache=self.cache)
        finally:
            self._settle()

    def rebuild(self, revisions: list[Script]) -> None:
        """Wipe the database and upgrade, one step each, through ``revisions``."""
        wipe_database(self.connection)
        for revision in revisions:
            self.step(revision, upgrade=True)

    def _settle(self) -> None:
        # Alembic must own the transactions (autocommit_block asserts otherwise).
        if self.connection.in_transaction():
            self.connection.rollback()


class ForeignStepRunner:
    """Runs single revision steps through the project's own env.py, in a worker thread; the
    schema is read back in the loop that started the thread (``portal``)."""

    def __init__(self, runner: Runner, script: ScriptDirectory, portal: foreign.LoopPortal) -> None:
        self.runner = runner
        self.script = script
        self.portal = portal
        self.cache = SnapshotCache()

    def step(self, revision: Script, *, upgrade: bool) -> None:
        """Run exactly one revision's upgrade() or downgrade() as the env.py runs migrations,
        on the throwaway database whatever URL the env.py would pick itself."""
        config = self.runner.alembic_config(self.runner.job())
        step = RevisionStep(self.script.revision_map, revision, upgrade)
        with (
            foreign.watching(self.runner.watch(writes=True)),
            EnvironmentContext(config, self.script, fn=lambda _heads, _context: [step]),
        ):
            self.script.run_env()

    def snapshot(self) -> Snapshot:
        return self.portal.call(self.runner.on_connection, lambda c: take_snapshot(c, cache=self.cache))

    def rebuild(self, revisions: list[Script]) -> None:
        self.portal.call(self.runner.on_connection, wipe_database)
        for revision in revisions:
            self.step(revision, upgrade=True)


def _error_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {text}" if text else type(original).__name__


def _step_or_report(
    steps: StepRunner | ForeignStepRunner,
    revision: Script,
    upgrade: bool,
    label: str,
    result: RevisionResult,
    done: list[Script],
) -> bool:
    """Run one step; on an exception, report it and rebuild the database up to ``done``."""
    try:
        steps.step(revision, upgrade=upgrade)
    except Exception as exc:
        result.fail(f"{label} raised {_error_line(exc)}")
        steps.rebuild(done)
        return False
    return True


def run_stairway(runner: Runner, connection: Connection) -> StairwayReport:
    """Walk every revision; see the module docstring. The database must start empty."""
    script = ScriptDirectory.from_config(runner.alembic_config())
    return _walk(StepRunner(runner, connection, script), script)


async def run_foreign_stairway(runner: Runner) -> StairwayReport:
    """The stairway through the project's own env.py (see the module docstring)."""
    script = ScriptDirectory.from_config(runner.alembic_config())
    portal = foreign.LoopPortal()
    async with runner.one_engine():
        with preserve_logging():
            return await foreign.in_worker(_walk, ForeignStepRunner(runner, script, portal), script)


def _walk(steps: StepRunner | ForeignStepRunner, script: ScriptDirectory) -> StairwayReport:
    ordered = topological_order(script)
    results: list[RevisionResult] = []
    done: list[Script] = []
    settled: Snapshot | None = None  # the schema after the previous revision, when known
    for index, revision in enumerate(ordered):
        result = RevisionResult(revision.revision, (revision.doc or "").strip())
        results.append(result)
        before = settled if settled is not None else steps.snapshot()
        settled = None
        try:
            steps.step(revision, upgrade=True)
        except Exception as exc:
            result.fail(f"upgrade raised {_error_line(exc)}")
            for later in ordered[index + 1 :]:
                results.append(
                    RevisionResult(
                        later.revision, (later.doc or "").strip(), SKIPPED, ["an earlier upgrade failed"]
                    )
                )
            break
        done.append(revision)
        after = steps.snapshot()
        module = revision.module
        empty_downgrade = _is_empty(getattr(module, "downgrade", None)) and not _is_empty(
            getattr(module, "upgrade", None)
        )
        if not _step_or_report(steps, revision, False, "downgrade", result, done):
            continue
        restored = steps.snapshot()
        differences = diff_snapshots(before, restored)
        if empty_downgrade and differences:
            result.fail("downgrade is empty (pass)", differences)
        elif differences:
            result.fail("downgrade does not restore the schema", differences)
        elif empty_downgrade:
            result.status = WARNING
            result.problems.append(
                "downgrade is empty (pass): the schema is unchanged, but data is not reverted"
            )
        if result.status == FAILED:
            steps.rebuild(done)  # back to this revision, cleanly, and on to the next
            continue
        if not _step_or_report(steps, revision, True, "upgrade after downgrade", result, done):
            continue
        again = steps.snapshot()
        differences = diff_snapshots(after, again)
        if differences:
            result.fail("upgrade after downgrade gives a different schema", differences)
            steps.rebuild(done)
        else:
            settled = again
    return StairwayReport(results)
