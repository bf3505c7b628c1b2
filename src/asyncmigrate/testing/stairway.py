"""The stairway: for every revision, upgrade, step down exactly that revision, compare, upgrade.

Two walks. From an empty database (the default), bottom up, as below. From the models
(``from_models``), top down, for projects that make a new database with ``create_all`` and
``stamp head`` and whose first revision expects those tables: see :func:`_walk_down`.

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
would, in a worker thread (see apply/project_env.py) on the throwaway database, and the snapshots are taken
back in the caller's loop.
"""

from __future__ import annotations

import ast
import inspect as pyinspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from alembic import command
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import RevisionStep
from alembic.script import Script, ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from ..apply import project_env as foreign
from ..apply.environment import MetadataTarget
from ..apply.runner import Runner, preserve_logging
from ..discovery import discover_metadata, import_path, load_metadata_reference
from ..errors import AsyncMigrateError
from .snapshot import Snapshot, SnapshotCache, diff_snapshots, take_snapshot

OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"
#: Passed the schema checks but deserves a look (an empty downgrade on a data-only revision).
WARNING = "warning"
#: Its upgrade fails on the schema its predecessors built: the walk stops there (not a finding
#: about its downgrade, and the revisions after it are not walked).
DOES_NOT_BUILD = "does-not-build"

#: What a FAILED revision's downgrade did wrong (``RevisionResult.kind``).
NOT_RESTORED = "not-restored"
DOWNGRADE_RAISED = "downgrade-raised"
#: A revision file with no downgrade() at all (OpenStack's histories): Alembic raises on it.
NO_DOWNGRADE = "no downgrade() in the revision file"
#: --from-models: the models at head differ from what a revision's upgrade builds.
DRIFT = "the models differ from what its upgrade builds (not its downgrade's doing)"


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
    #: For a failed revision: NOT_RESTORED (its downgrade does not give back the schema) or
    #: DOWNGRADE_RAISED (its downgrade raises).
    kind: str | None = None

    def fail(self, problem: str, diff: list[str] | None = None, kind: str = NOT_RESTORED) -> None:
        self.status = FAILED
        self.kind = self.kind or kind
        self.problems.append(problem)
        self.diff += diff or []

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "message": self.message,
            "status": self.status,
            "kind": self.kind,
            "problems": self.problems,
            "diff": self.diff,
        }


#: ``asyncmigrate test stairway`` exits with these.
EXIT_OK = 0  # every revision walked, none flagged
EXIT_FLAGGED = 1  # a revision's downgrade does not restore the schema, or raises
EXIT_INCOMPLETE = 2  # nothing flagged, but the walk stopped early (see StairwayReport.stopped)


@dataclass
class StairwayReport:
    results: list[RevisionResult]
    #: "empty" (bottom up from an empty database) or "models" (top down from the models at head)
    mode: str = "empty"
    #: Why the walk stopped before the last revision, one line; None when it walked them all.
    stopped: str | None = None
    #: How many revisions the history has (the walk may have stopped before the last one).
    total: int = 0

    @property
    def failed(self) -> list[RevisionResult]:
        """The flagged revisions: the downgrade does not restore the schema, or raises."""
        return [r for r in self.results if r.status == FAILED]

    @property
    def walked(self) -> int:
        return sum(1 for r in self.results if r.status in (OK, WARNING, FAILED))

    @property
    def ok(self) -> bool:
        return self.stopped is None and all(r.status in (OK, WARNING, SKIPPED) for r in self.results)

    @property
    def exit_code(self) -> int:
        if self.failed:
            return EXIT_FLAGGED
        return EXIT_OK if self.ok else EXIT_INCOMPLETE

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "revisions": [r.as_dict() for r in self.results],
            "failed": [r.revision for r in self.failed],
            "not_restored": [r.revision for r in self.failed if r.kind == NOT_RESTORED],
            "downgrade_raised": [r.revision for r in self.failed if r.kind == DOWNGRADE_RAISED],
            "does_not_build": next((r.revision for r in self.results if r.status == DOES_NOT_BUILD), None),
            "stopped": self.stopped,
            "walked": self.walked,
            "total": self.total,
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
    from ..dialects import for_backend

    if connection.in_transaction():
        connection.rollback()
    with connection.begin():
        for_backend(connection.dialect.name).wipe(connection)


class StepRunner:
    """Runs single revision steps on one connection with one loaded script directory."""

    def __init__(self, runner: Runner, connection: Connection, script: ScriptDirectory) -> None:
        self.runner = runner
        self.connection = connection
        self.script = script
        self.cache = SnapshotCache()
        #: tables made before the first revision (``--base-models``), again at each rebuild
        self.base: MetadataTarget | None = None

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
        if self.base is not None:
            self.create_all(self.base)
        for revision in revisions:
            self.step(revision, upgrade=True)

    def models(self) -> MetadataTarget:
        return discover_metadata(self.runner.settings)

    def create_and_stamp(self, metadata: MetadataTarget) -> None:
        """``create_all`` from the models, then ``stamp heads``: a new database as such a project
        makes one."""
        self.create_all(metadata)
        job = replace(self.runner.job(), connection=self.connection)
        command.stamp(self.runner.alembic_config(job), "heads")
        self._settle()

    def create_all(self, metadata: MetadataTarget) -> None:
        self._settle()
        _create_all(metadata)(self.connection)

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
        self.base: MetadataTarget | None = None

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
        if self.base is not None:
            self.create_all(self.base)
        for revision in revisions:
            self.step(revision, upgrade=True)

    def models(self) -> MetadataTarget:
        """``[tool.asyncmigrate] models`` / ``metadata`` when set, else the ``target_metadata``
        the project's env.py passes to ``context.configure`` (read from a run that migrates
        nothing)."""
        settings = self.runner.settings
        if settings.models or settings.metadata:
            return discover_metadata(settings)
        config = self.runner.alembic_config(self.runner.job())
        with (
            foreign.watching(self.runner.watch(writes=True)),
            EnvironmentContext(config, self.script, fn=lambda _heads, _context: []) as environment,
        ):
            self.script.run_env()
            options = getattr(environment.get_context(), "opts", {})
        metadata = options.get("target_metadata")
        if metadata is None or not _metadatas(metadata):
            raise AsyncMigrateError(
                f"--from-models: {self.runner.settings.env_py} passes no target_metadata to"
                " context.configure; name the models with models = 'yourapp.models' in"
                " [tool.asyncmigrate]"
            )
        return cast(MetadataTarget, metadata)

    def create_and_stamp(self, metadata: MetadataTarget) -> None:
        self.create_all(metadata)
        with foreign.watching(self.runner.watch(writes=True)):
            command.stamp(self.runner.alembic_config(self.runner.job()), "heads")

    def create_all(self, metadata: MetadataTarget) -> None:
        self.portal.call(self.runner.on_connection, _create_all(metadata))


class _NoDowngrade(Exception):
    """The revision has no downgrade() to run."""


def _metadatas(metadata: MetadataTarget) -> list[MetaData]:
    return [metadata] if isinstance(metadata, MetaData) else list(metadata)


def _create_all(metadata: MetadataTarget) -> Callable[[Connection], None]:
    def create(connection: Connection) -> None:
        with connection.begin():
            for one in _metadatas(metadata):
                one.create_all(connection)

    return create


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
        result.fail(f"{label} raised {_error_line(exc)}", kind=NOT_RESTORED if upgrade else DOWNGRADE_RAISED)
        steps.rebuild(done)
        return False
    return True


def run_stairway(
    runner: Runner,
    connection: Connection,
    *,
    from_models: bool = False,
    minimum: str | None = None,
    base_models: str | None = None,
) -> StairwayReport:
    """Walk every revision; see the module docstring. The database must start empty."""
    script = ScriptDirectory.from_config(runner.alembic_config())
    walk = _walk_down if from_models else _walk
    return walk(StepRunner(runner, connection, script), script, minimum, base_models)


async def run_foreign_stairway(
    runner: Runner, *, from_models: bool = False, minimum: str | None = None, base_models: str | None = None
) -> StairwayReport:
    """The stairway through the project's own env.py (see the module docstring)."""
    script = ScriptDirectory.from_config(runner.alembic_config())
    portal = foreign.LoopPortal()
    walk = _walk_down if from_models else _walk
    steps = ForeignStepRunner(runner, script, portal)
    async with runner.one_engine():
        with preserve_logging():
            return await foreign.in_worker(walk, steps, script, minimum, base_models)


def _kept(script: ScriptDirectory, minimum: str | None) -> set[str]:
    """``minimum`` and the revisions below it: their downgrades are not tested (as
    pytest-alembic's ``minimum_downgrade_revision``)."""
    if minimum is None:
        return set()
    try:
        found = script.get_revision(minimum)
    except Exception as exc:
        raise AsyncMigrateError(f"--minimum-downgrade-revision: {exc}") from exc
    if found is None:
        raise AsyncMigrateError(f"--minimum-downgrade-revision: no revision '{minimum}'")
    return {r.revision for r in script.iterate_revisions(found.revision, "base")}


def _empty_downgrade(revision: Script) -> bool:
    module = revision.module
    return _is_empty(getattr(module, "downgrade", None)) and not _is_empty(getattr(module, "upgrade", None))


def _walk(
    steps: StepRunner | ForeignStepRunner,
    script: ScriptDirectory,
    minimum: str | None,
    base_models: str | None = None,
) -> StairwayReport:
    ordered = topological_order(script)
    kept = _kept(script, minimum)
    report = StairwayReport([], "empty" if base_models is None else "base-models", total=len(ordered))
    results = report.results
    start = "an empty database"
    if base_models is not None:
        # the project makes these tables with create_all, then runs the whole history on them
        start = f"the tables of {base_models}"
        with import_path(steps.runner.settings.project_dir):  # as discover_metadata does
            steps.base = load_metadata_reference(base_models)
        try:
            steps.create_all(steps.base)
        except Exception as exc:
            report.stopped = f"--base-models {base_models} does not make a database: {_error_line(exc)}"
            return report
    done: list[Script] = []
    settled: Snapshot | None = None  # the schema after the previous revision, when known
    for revision in ordered:
        result = RevisionResult(revision.revision, (revision.doc or "").strip())
        results.append(result)
        before = settled if settled is not None else steps.snapshot()
        settled = None
        try:
            steps.step(revision, upgrade=True)
        except Exception as exc:
            # Not a finding about its downgrade: the history cannot be walked from here on.
            report.stopped = (
                f"the history does not build from {start} at revision {revision.revision}: {_error_line(exc)}"
            )
            result.status = DOES_NOT_BUILD
            result.problems.append(f"upgrade raised {_error_line(exc)}: the walk stops here")
            break
        done.append(revision)
        if revision.revision in kept:
            result.status = SKIPPED
            result.problems.append(f"downgrade not tested (at or below {minimum})")
            continue
        after = steps.snapshot()
        if not callable(getattr(revision.module, "downgrade", None)):
            result.fail(NO_DOWNGRADE, kind=DOWNGRADE_RAISED)
            settled = after  # nothing ran: on from here
            continue
        empty_downgrade = _empty_downgrade(revision)
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
    return report


def _walk_down(
    steps: StepRunner | ForeignStepRunner,
    script: ScriptDirectory,
    minimum: str | None,
    _base_models: str | None = None,
) -> StairwayReport:
    """From the models at head, top down: ``create_all`` from the models, ``stamp heads``, then
    for each revision, newest first: step down exactly it, step it up again (an upgrade that
    raises there meets what the downgrade left), step down again and check the schema equals
    the one the first downgrade left; the walk goes on from there. The walk stops at the first
    downgrade that raises (the revisions below it cannot be reached), and at
    ``minimum`` (whose own downgrade is not tested)."""
    ordered = list(script.walk_revisions())  # heads first, every revision before its ancestors
    kept = _kept(script, minimum)
    report = StairwayReport([], "models", total=len(ordered))
    metadata = steps.models()
    try:
        steps.create_and_stamp(metadata)
    except Exception as exc:
        report.stopped = f"the models do not make a database: {_error_line(exc)}"
        return report
    current = steps.snapshot()
    for revision in ordered:
        if revision.revision in kept:
            break
        result = RevisionResult(revision.revision, (revision.doc or "").strip())
        report.results.append(result)
        before = current
        try:
            if not callable(getattr(revision.module, "downgrade", None)):
                raise _NoDowngrade
            steps.step(revision, upgrade=False)
        except Exception as exc:
            problem = (
                NO_DOWNGRADE if isinstance(exc, _NoDowngrade) else f"downgrade raised {_error_line(exc)}"
            )
            result.fail(problem, kind=DOWNGRADE_RAISED)
            report.stopped = (
                f"stopped at {revision.revision}: its downgrade raises, so the"
                f" {len(ordered) - len(report.results)} revisions below it were not walked"
            )
            break
        down = steps.snapshot()
        empty_downgrade = _empty_downgrade(revision)
        label = "downgrade is empty (pass)" if empty_downgrade else "downgrade does not restore the schema"
        try:
            steps.step(revision, upgrade=True)
        except Exception as exc:
            # the upgrade meets what the downgrade left behind ("already exists")
            result.fail(f"{label}: upgrade after downgrade raised {_error_line(exc)}")
            current = steps.snapshot()
            if diff_snapshots(down, current):
                report.stopped = (
                    f"stopped at {revision.revision}: its upgrade after the downgrade failed half-way"
                )
                break
            continue  # at the revision below, as the downgrade left it
        again = steps.snapshot()  # the revision as its upgrade builds it
        try:
            steps.step(revision, upgrade=False)
        except Exception as exc:
            result.fail(f"second downgrade raised {_error_line(exc)}", kind=DOWNGRADE_RAISED)
            report.stopped = f"stopped at {revision.revision}: its second downgrade raised"
            break
        current = steps.snapshot()
        # The finding: from what its own upgrade built, the downgrade must give back the schema
        # the first downgrade left. A difference between the models and what the upgrade builds
        # (a default, an index the models name) is drift, not the downgrade's: a warning.
        differences = diff_snapshots(down, current)
        drift = diff_snapshots(before, again)
        if differences:
            result.fail(label, differences)
        elif drift:
            result.status = WARNING
            result.problems.append(DRIFT)
            result.diff += drift
        elif empty_downgrade and not diff_snapshots(before, down):
            result.status = WARNING
            result.problems.append(
                "downgrade is empty (pass): the schema is unchanged, but data is not reverted"
            )
    return report
