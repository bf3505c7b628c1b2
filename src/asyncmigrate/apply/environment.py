"""What the project's ``env.py`` runs: configure Alembic's context from our settings.

``asyncmigrate init`` writes an ``env.py`` that only calls :func:`run_migrations`. Three cases:

* driven by asyncmigrate: the runner has put a :class:`MigrationJob` with a live (synchronous
  facade of an async) connection into ``config.attributes``; we run on it, inside the caller's
  event loop, with no engine, thread or loop of our own;
* offline (``--sql``): we configure Alembic with the URL only and emit SQL;
* driven by the plain ``alembic`` command (the project can always go back to it): we load the
  settings from pyproject.toml and run on our own engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from alembic.operations import ops
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, make_url

from ..config import Settings, load_settings
from ..errors import EmptyModelsError

JOB_KEY = "asyncmigrate.job"

MetadataTarget = MetaData | Sequence[MetaData]


@dataclass(frozen=True)
class ApplyOptions:
    """Per-run safety settings for commands that write; revisions may override them."""

    lock_timeout: float = 5.0
    statement_timeout: float = 0.0
    attempts: int = 3
    record_history: bool = True


#: The module-level name a revision file uses to override options, e.g.
#: ``asyncmigrate = {"lock_timeout": 30, "attempts": 5}``.
REVISION_OPTIONS = "asyncmigrate"


def revision_options(module: Any, defaults: ApplyOptions) -> ApplyOptions:
    """The options for one revision: its module-level ``asyncmigrate`` dict over the defaults."""
    from ..config import parse_seconds

    overrides = getattr(module, REVISION_OPTIONS, None)
    if not isinstance(overrides, dict):
        return defaults
    values: dict[str, Any] = {}
    for name in ("lock_timeout", "statement_timeout"):
        if name in overrides:
            values[name] = parse_seconds(overrides[name], f"{name} in {getattr(module, '__file__', '?')}")
    if "attempts" in overrides:
        values["attempts"] = int(overrides["attempts"])
    return replace(defaults, **values)


@dataclass(frozen=True)
class StepEvent:
    """A revision starting (``phase="start"``) or applied (``"done"``) in an upgrade or
    downgrade: what a progress display needs, handed to the ``on_step`` callback of
    :class:`~asyncmigrate.Migrator` (as Django's executor hands ``progress_callback`` its
    actions). The callback runs in the thread that runs the revision: keep it short."""

    phase: str
    revision: str
    direction: str
    #: Seconds the revision took (``done``); 0 at ``start``.
    seconds: float = 0.0


@dataclass
class Progress:
    """How far a run got: lets an error name the revision that failed, and times each one."""

    started: bool = False
    applied: list[str] = field(default_factory=list)
    #: The revision whose upgrade()/downgrade() is running (or last ran).
    current: str | None = None
    current_started: float = 0.0
    #: The current revision committed part of its work through autocommit_block().
    partly_committed: bool = False
    #: The script's heads, read from the graph the run already loaded (None until it ran).
    heads: tuple[str, ...] | None = None
    #: sha256 of each revision file the run reached, read just before it ran
    #: (see :func:`_prepare_revisions`).
    checksums: dict[str, str | None] = field(default_factory=dict)
    #: Told of each revision as it starts and once it is applied (see :class:`StepEvent`).
    listener: Callable[[StepEvent], None] | None = None

    def current_duration_ms(self) -> int:
        """How long the current revision has been running."""
        return int((time.monotonic() - self.current_started) * 1000)

    def step_started(self, revision: str, direction: str) -> None:
        self.current = revision
        self.current_started = time.monotonic()
        self.partly_committed = False
        if self.listener is not None:
            self.listener(StepEvent("start", revision, direction))

    def step_done(self, revision: str, direction: str) -> None:
        self.applied.append(revision)
        if self.listener is not None:
            seconds = time.monotonic() - self.current_started if revision == self.current else 0.0
            self.listener(StepEvent("done", revision, direction, seconds))


class Interrupted(Exception):
    """Raised inside a run once a stop was requested: at a revision boundary, or (where DDL is
    transactional) before the next statement, so the current revision rolls back."""


class StopRequest:
    """A request to stop a run (Ctrl-C, SIGTERM, a cancelled caller), checked by the run.

    ``request`` may be called from any thread; the cancellers it calls are thread-safe
    (``sqlite3.Connection.interrupt``)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        #: The caller's task was cancelled (rather than interrupt() called): the run stops the
        #: same way, then the cancellation goes on.
        self.caller_cancelled = False
        #: The migration itself has begun (before that, a stop only ends the wait for the lock).
        self.started = False
        self._cancellers: list[Callable[[], None]] = []

    def request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        for cancel in list(self._cancellers):
            with contextlib.suppress(Exception):
                cancel()

    def check(self) -> None:
        if self.reason is not None:
            raise Interrupted(self.reason)

    @contextlib.contextmanager
    def cancelling(self, cancel: Callable[[], None]) -> Iterator[None]:
        """Call ``cancel`` on a request made while the block runs (and at once if one was)."""
        self._cancellers.append(cancel)
        try:
            if self.reason is not None:
                cancel()
            yield
        finally:
            self._cancellers.remove(cancel)


@dataclass
class MigrationJob:
    """One command's run-time state, handed to env.py through ``config.attributes``."""

    settings: Settings
    connection: Connection | None = None
    #: Loads the models only when a command needs them (autogenerate, check).
    metadata_loader: Callable[[], MetadataTarget | None] | None = None
    allow_empty_models: bool = False
    #: Baseline: compare the models with an empty schema so every table is "new".
    baseline: bool = False
    progress: Progress = field(default_factory=Progress)
    #: Set for commands that write (upgrade, downgrade, stamp).
    apply: ApplyOptions | None = None
    #: Autogenerate reads the catalog in batches (see reflection/batched.py); only our own commands ask.
    batched_reflection: bool = False
    #: Set by the caller to stop an upgrade/downgrade part-way (see :class:`StopRequest`).
    stop: StopRequest | None = None
    _metadata: MetadataTarget | None = field(default=None, repr=False)
    _metadata_loaded: bool = field(default=False, repr=False)

    def target_metadata(self) -> MetadataTarget | None:
        if not self._metadata_loaded and self.metadata_loader is not None:
            self._metadata = self.metadata_loader()
            self._metadata_loaded = True  # None is an answer too: load (and warn) once
        return self._metadata


def _models_are_empty(metadata: MetadataTarget | None) -> bool:
    if metadata is None:
        return True
    tables = metadata.tables if isinstance(metadata, MetaData) else [t for m in metadata for t in m.tables]
    return len(tables) == 0


def _guard_empty_models(job: MigrationJob) -> Callable[..., None]:
    """Refuse an autogenerate that would drop tables because no model was found."""

    def process_revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
        if job.allow_empty_models or not directives:
            return
        if not _models_are_empty(job.target_metadata()):
            return
        drops = [
            op.table_name
            for script in directives
            for op in script.upgrade_ops.ops
            if isinstance(op, ops.DropTableOp)
        ]
        if drops:
            raise EmptyModelsError(
                f"refusing to autogenerate: the models define no tables, so the revision would"
                f" drop all {len(drops)} tables of the database ({', '.join(sorted(drops)[:5])}"
                f"{', ...' if len(drops) > 5 else ''}); check 'models' in [tool.asyncmigrate],"
                " or pass --allow-empty-models if that is really what you want"
            )

    return process_revision_directives


def configure_options(job: MigrationJob, dialect_name: str) -> dict[str, Any]:
    """The ``context.configure`` keywords shared by online and offline runs."""
    from ..autogenerate import autogenerate_plugins

    settings = job.settings
    render_as_batch = settings.render_as_batch
    if render_as_batch is None:
        from ..dialects import for_backend

        render_as_batch = for_backend(dialect_name).render_as_batch
    options: dict[str, Any] = {
        "target_metadata": job.target_metadata(),
        "render_as_batch": render_as_batch,
        "compare_type": True,
        "compare_server_default": settings.compare_server_default,
        "transaction_per_migration": settings.transaction_per_migration,
        "version_table": settings.version_table,
        "version_table_schema": settings.version_table_schema,
        "process_revision_directives": _guard_empty_models(job),
    }
    if job.apply is None:
        # What we write beyond Alembic's comparison (declared renames, ...): autogenerate/. Not
        # for the commands that write (their run compares nothing): importing the plugins costs
        # about 50 ms.
        options["autogenerate_plugins"] = autogenerate_plugins()
    history = settings.history_table
    if job.baseline:
        # Hide every existing table from the comparison: the revision then creates them all.
        options["include_name"] = lambda name, type_, parent_names: type_ != "table"
    else:
        # Our side table is bookkeeping, like alembic_version: never a model difference.
        options["include_name"] = lambda name, type_, parent_names: not (type_ == "table" and name == history)
    return options


def _timeout_statements(dialect: Any, options: ApplyOptions) -> list[str]:
    """Session settings that bound how long one revision waits for locks and runs."""
    from ..dialects import for_backend

    return for_backend(dialect.name).timeout_statements(dialect, options)


def _reset_statements(dialect: Any) -> list[str]:
    """Put the session back as it was: the connection may go back to the caller's pool."""
    from ..dialects import for_backend

    return for_backend(dialect.name).reset_statements(dialect)


#: ``SET [LOCAL|SESSION] lock_timeout``, ``set_config('statement_timeout'``, MySQL's and MariaDB's
#: names too, and RESET: a revision that changes a timeout setting itself.
_SETS_TIMEOUT = re.compile(
    r"(\bSET\s+(LOCAL\s+|SESSION\s+|@@)?|\bRESET\s+|set_config\s*\(\s*['\"])"
    r"(innodb_)?(lock_timeout|statement_timeout|lock_wait_timeout|max_statement_time|ALL\b)",
    re.IGNORECASE,
)


def _read_revision_file(path: str | None) -> tuple[bool, str | None]:
    """Whether the revision's source changes a timeout setting (``op.execute("SET lock_timeout
    ...")``), and its checksum for the history: one read of the file for both."""
    from ..tables.history import source_checksum

    try:
        if path:
            with open(path, "rb") as file:
                data = file.read()
        else:
            data = b""
    except OSError:
        return True, None
    sets_timeouts = _SETS_TIMEOUT.search(data.decode(errors="replace")) is not None
    return sets_timeouts, source_checksum(data) if path else None


class _SessionTimeouts:
    """Send a revision's timeout settings only when the session does not have them already.

    The settings are session-wide and survive each revision's COMMIT, so consecutive revisions
    with the same options need them once; that saves two statements per revision. They are sent
    again after a revision that may have changed them itself, and always in ``--sql`` output,
    whose revisions may be run one by one.
    """

    def __init__(self, *, always: bool) -> None:
        self.always = always
        self.current: list[str] | None = None

    def needed(self, statements: list[str], *, changes_them: bool) -> list[str]:
        if not self.always and statements == self.current:
            wanted: list[str] = []
        else:
            wanted = statements
        self.current = None if changes_them else statements
        return wanted


class _Steps:
    """The run's step function, given to ``context.configure(fn=...)`` in place of the command's
    own (which the active ``EnvironmentContext`` holds in its public ``context_opts``): the same
    steps, each prepared by the run's tracker before it runs, the stop request checked between
    them."""

    def __init__(self, steps_for: Callable[..., Any], job: MigrationJob) -> None:
        self.steps_for = steps_for
        self.stop = job.stop
        self.tracker: _RevisionTracker | None = None

    def __call__(self, heads: Any, ctx: Any) -> Iterator[Any]:
        for step in self.steps_for(heads, ctx):
            if self.stop is not None:
                self.stop.check()  # a revision boundary: the previous one is committed
            if self.tracker is not None:
                self.tracker.prepare(step)
            yield step


def _steps_option(context: Any, job: MigrationJob) -> dict[str, Any]:
    """``fn=`` for ``context.configure``: the command's steps as :class:`_Steps` (nothing for a
    command without steps, or a run that applies nothing)."""
    from alembic.runtime.environment import EnvironmentContext

    from .task_local import active

    environment = active(EnvironmentContext)  # what ``alembic.context`` stands for here
    steps_for = environment.context_opts.get("fn") if environment is not None else None
    if isinstance(steps_for, _Steps):  # configured before in this context: wrap Alembic's once
        steps_for = steps_for.steps_for
    if job.apply is None or steps_for is None:
        return {}
    return {"fn": _Steps(steps_for, job)}


def _prepare_revisions(
    context: Any, job: MigrationJob, options: ApplyOptions, history: Any | None = None
) -> None:
    """Track each revision the run reaches: its timeouts set first, its start noted, and once it
    has run, its ``history`` row handed to the version UPDATE that follows (apply/direct_statements.py).

    Only the revisions the run reaches are touched, when it reaches them: an upgrade that
    applies one revision of two thousand reads one file, not all of them."""
    migration_context = context.get_context()
    autocommit_block = migration_context.autocommit_block

    @contextlib.contextmanager
    def tracked_autocommit_block() -> Iterator[None]:
        job.progress.partly_committed = True  # the transaction so far is committed right here
        with autocommit_block():
            yield

    migration_context.autocommit_block = tracked_autocommit_block
    steps = migration_context.opts.get("fn")
    if isinstance(steps, _Steps):  # configured with :func:`_steps_option`
        steps.tracker = _RevisionTracker(migration_context, job, options, history)


class _RevisionTracker:
    """What one run needs to wrap the revisions it reaches (see :func:`_prepare_revisions`)."""

    def __init__(
        self, migration_context: Any, job: MigrationJob, options: ApplyOptions, history: Any
    ) -> None:
        from .direct_statements import carries_history

        self.migration_context = migration_context
        self.job = job
        self.options = options
        connection = migration_context.connection
        #: The history table, when each row can ride on the version UPDATE (decided once per run;
        #: otherwise on_version_apply records the rows the usual way).
        rides = history is not None and connection is not None and carries_history(connection)
        self.history = history if rides else None
        self.session = _SessionTimeouts(always=bool(migration_context.as_sql))

    def prepare(self, step: Any) -> None:
        """Wrap the function ``step`` is about to run (a stamp runs none of a revision's)."""
        script = getattr(step, "revision", None)
        module = getattr(script, "module", None)
        function = getattr(step, "migration_fn", None)
        if script is None or module is None or function is None or isinstance(function, _TrackedRevision):
            return
        options = revision_options(module, self.options)
        statements = _timeout_statements(self.migration_context.dialect, options)
        sets_its_own, self.job.progress.checksums[script.revision] = _read_revision_file(script.path)
        direction = "upgrade" if step.is_upgrade else "downgrade"
        step.migration_fn = _TrackedRevision(
            self, function, script.revision, direction, statements, sets_its_own
        )


class _TrackedRevision:
    """A revision's upgrade() or downgrade(), as Alembic calls it, with the tracking around it."""

    __slots__ = ("tracker", "function", "revision", "direction", "statements", "sets_its_own", "__name__")

    def __init__(
        self,
        tracker: _RevisionTracker,
        function: Callable[..., Any],
        revision: str,
        direction: str,
        statements: list[str],
        sets_its_own: bool,
    ) -> None:
        self.tracker = tracker
        self.function = function
        self.revision = revision
        self.direction = direction
        self.statements = statements
        self.sets_its_own = sets_its_own
        self.__name__ = function.__name__

    def __call__(self, *args: Any, **kw: Any) -> Any:
        tracker = self.tracker
        tracker.job.progress.step_started(self.revision, self.direction)
        if tracker.job.stop is not None:
            tracker.job.stop.check()
        for statement in tracker.session.needed(self.statements, changes_them=self.sets_its_own):
            tracker.migration_context.execute(statement)
        result = self.function(*args, **kw)
        if tracker.history is not None:
            _attach_history(
                tracker.migration_context, tracker.job, tracker.history, self.revision, self.direction
            )
        return result


def _attach_history(migration_context: Any, job: MigrationJob, table: Any, revision: str, name: str) -> None:
    """A revision ran: its history row goes out with the version UPDATE (apply/direct_statements.py)."""
    from ..tables.history import DOWNGRADE, UPGRADE, history_insert_select
    from .direct_statements import PendingHistory, attach_history

    connection = migration_context.connection
    event = UPGRADE if name == "upgrade" else DOWNGRADE
    checksum = job.progress.checksums.get(revision)
    duration = job.progress.current_duration_ms()
    insert = history_insert_select(connection, table, revision, event, checksum, duration)
    version = (migration_context.version_table, migration_context.version_table_schema)
    attach_history(connection, PendingHistory(revision, version, insert))


def _history_recorder(job: MigrationJob, table: Any) -> Callable[..., None]:
    from ..tables.history import DOWNGRADE, STAMP, UPGRADE, file_checksum, record
    from .direct_statements import take_recorded

    def on_version_apply(*, ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        if step.is_stamp:
            event, duration = STAMP, None
        else:
            event = UPGRADE if step.is_upgrade else DOWNGRADE
            duration = job.progress.current_duration_ms()
        recorded = take_recorded(ctx.connection) if ctx.connection is not None else None
        direction = "upgrade" if step.is_upgrade else "downgrade"
        for revision in step.up_revision_ids:
            job.progress.step_done(revision, direction)
            if revision == recorded and not step.is_stamp:
                continue  # written with the version UPDATE
            if table is not None and ctx.connection is not None:
                if revision in job.progress.checksums:
                    checksum = job.progress.checksums[revision]
                else:
                    checksum = file_checksum(step.revision_map.get_revision(revision).path)
                record(ctx.connection, table, revision, event, checksum, duration)

    return on_version_apply


def _run_online(context: Any, job: MigrationJob, connection: Connection) -> None:
    settings = job.settings
    table = None
    if job.apply is not None and job.apply.record_history:
        from ..tables.history import ensure_history, history_table

        table = history_table(settings.history_table, settings.version_table_schema)
        external = connection.in_transaction()
        probe = _version_context(connection, settings)
        ensure_history(connection, table, context.script, probe.get_current_heads())
        if not external and connection.in_transaction():
            connection.commit()
    options = configure_options(job, connection.dialect.name)
    comparing: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if job.batched_reflection:
        from ..autogenerate.plugins import ALEMBIC_DEFAULT
        from ..reflection.batched import PLUGIN_NAME, collector_paused, register

        register()
        options["autogenerate_plugins"] = [*options.get("autogenerate_plugins", ALEMBIC_DEFAULT), PLUGIN_NAME]
        comparing = collector_paused()
    options.update(_steps_option(context, job))
    context.configure(connection=connection, on_version_apply=_history_recorder(job, table), **options)
    updating_version: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if job.apply is not None:
        from ..tables import version_update

        updating_version = version_update.enable(context.get_context())
        _prepare_revisions(context, job, job.apply, table)
    job.progress.started = True
    try:
        with comparing, updating_version, _stoppable(job, connection, context), context.begin_transaction():
            context.run_migrations()
    finally:
        if table is not None:
            from .direct_statements import take_recorded

            take_recorded(connection)  # nothing pending may outlive the run on a pooled connection
    job.progress.heads = tuple(context.script.get_heads())
    if job.apply is not None:
        resets = _reset_statements(connection.dialect)
        if resets:
            external = connection.in_transaction()
            for statement in resets:
                connection.exec_driver_sql(statement)
            if not external:
                connection.commit()


@contextlib.contextmanager
def _stoppable(job: MigrationJob, connection: Connection, context: Any) -> Iterator[None]:
    """Where DDL is transactional (PostgreSQL, SQLite), a stop request also ends the current
    revision: no statement starts once one was made, and SQLite's running statement is
    interrupted, so the revision's transaction rolls back. MySQL and MariaDB commit DDL as it
    runs: there the run only stops at the next revision boundary."""
    stop = job.stop
    if stop is None or job.apply is None:
        yield
        return
    cancel: Callable[[], None] = lambda: None  # noqa: E731
    driver_connection = getattr(connection.connection, "driver_connection", None)
    if isinstance(driver_connection, sqlite3.Connection) and driver_connection.isolation_level is None:
        cancel = driver_connection.interrupt  # our engine: explicit BEGIN, DDL included
    elif not context.get_context().impl.transactional_ddl:
        yield
        return
    from sqlalchemy import event

    def before_statement(*_args: Any) -> None:
        stop.check()

    event.listen(connection, "before_cursor_execute", before_statement)
    try:
        with stop.cancelling(cancel):
            yield
    finally:
        event.remove(connection, "before_cursor_execute", before_statement)


def _version_context(connection: Connection, settings: Settings) -> Any:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(
        connection,
        opts={"version_table": settings.version_table, "version_table_schema": settings.version_table_schema},
    )


def _plain_alembic_job(config: Any) -> MigrationJob:
    """Settings for a run started by the ``alembic`` command itself."""
    start = Path(config.toml_file_name or config.config_file_name or ".").resolve().parent
    settings = load_settings(start=start)
    has_ini = config.file_config.has_section(config.config_ini_section)
    url = config.get_main_option("sqlalchemy.url") if has_ini else None
    if url:
        settings = settings.with_url(url)
    # A command that writes still gets the per-revision timeouts and the history rows, so
    # `verify` stays true for a project that moves between the two tools.
    command = getattr(getattr(config.cmd_opts, "cmd", None), "__getitem__", None)
    name = getattr(command(0), "__name__", "") if command else ""
    apply = None
    if name in ("upgrade", "downgrade", "stamp"):
        apply = ApplyOptions(
            lock_timeout=settings.lock_timeout,
            statement_timeout=settings.statement_timeout,
            attempts=settings.attempts,
        )
    return MigrationJob(settings=settings, metadata_loader=_tolerant_loader(settings, name), apply=apply)


def _tolerant_loader(settings: Settings, command_name: str) -> Callable[[], MetadataTarget | None]:
    """Models for a run started outside asyncmigrate. Only autogenerate needs them: for other
    commands (or a caller that does not say which, like a test harness), a model that fails to
    import is logged, not fatal. Autogenerate with no models is still refused, see above."""
    from ..discovery import discover_metadata
    from ..errors import ModelDiscoveryError

    def load() -> MetadataTarget | None:
        if command_name in ("upgrade", "downgrade", "stamp", "current", "history", "heads", "show"):
            return None
        try:
            return discover_metadata(settings)
        except ModelDiscoveryError as exc:
            if command_name in ("revision", "check"):
                raise
            logging.getLogger("asyncmigrate").warning("models not loaded: %s", exc)
            return None

    return load


async def _run_with_own_engine(context: Any, job: MigrationJob) -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from .connect import create_engine_for, open_connection

    engine = create_engine_for(job.settings.url, connect_timeout=job.settings.connect_timeout)
    assert isinstance(engine, AsyncEngine)
    try:
        connection = await open_connection(engine)
        try:
            await connection.run_sync(lambda sync: _run_online(context, job, sync))
            await connection.commit()
        finally:
            await connection.close()
    finally:
        await engine.dispose()


def run_migrations() -> None:
    """The whole body of the ``env.py`` that ``asyncmigrate init`` writes."""
    from alembic import context

    config = context.config
    job: MigrationJob | None = config.attributes.get(JOB_KEY)
    if job is None:
        job = _plain_alembic_job(config)
        shared = config.attributes.get("connection")  # Alembic's "connection sharing" recipe
        if isinstance(shared, Connection):
            job.connection = shared
    if context.is_offline_mode():
        dialect_name = make_url(job.settings.url).get_backend_name()
        context.configure(
            url=job.settings.url,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **configure_options(job, dialect_name),
            **_steps_option(context, job),
        )
        if job.apply is not None:
            _prepare_revisions(context, job, job.apply)  # the SQL script sets the timeouts too
        with context.begin_transaction():
            context.run_migrations()
    elif job.connection is not None:
        _run_online(context, job, job.connection)
    elif make_url(job.settings.url).get_dialect().is_async:
        asyncio.run(_run_with_own_engine(context, job))
    else:
        from sqlalchemy import create_engine, pool

        engine = create_engine(job.settings.url, poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                _run_online(context, job, connection)
                connection.commit()
        finally:
            engine.dispose()
