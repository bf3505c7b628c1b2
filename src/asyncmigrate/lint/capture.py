"""Run a revision's ``upgrade()`` through Alembic's offline mode and keep what it did.

The linter needs two layers at once: the ``op.*`` calls (intent, arguments, line numbers, batch
mode, ``autocommit_block``) and the SQL Alembic renders for them (where ``unique=True``,
``index=True`` or an inline ``ForeignKey`` finally show up). Both are recorded here, in order,
on one sequence counter so a rule can ask "was this table created before that statement?".

The revision runs inside an offline ``EnvironmentContext`` configured as ``alembic upgrade
--sql`` configures one, so the code real projects put in revisions and column types
(``context.is_offline_mode()``, ``context.get_bind().dialect``, ``op.get_context().as_sql``)
takes the branch it takes under Alembic. What it prints goes to stderr.

Offline SQLite batch mode needs a live database to reflect the table, so on SQLite the
operations inside ``batch_alter_table`` are recorded but not rendered.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects.mysql.base import MySQLDialect

from ..apply import task_local

#: ``op`` attributes that return helpers rather than emitting a schema change.
#: The project's Alembic Config and ScriptDirectory, for the EnvironmentContext revisions see.
Environment = tuple[Config, "ScriptDirectory | None"]

_PASSTHROUGH = frozenset(
    {"get_context", "get_bind", "f", "inline_literal", "invoke", "implementation_for", "migration_context"}
)


@dataclass
class OpCall:
    """One ``op.<name>(...)`` call (or ``batch_op.<name>`` inside a batch)."""

    seq: int
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    line: int | None
    batch_table: str | None = None
    error: str | None = None

    def arg(self, position: int, keyword: str, default: Any = None) -> Any:
        """An argument given either positionally or by keyword."""
        if keyword in self.kwargs:
            return self.kwargs[keyword]
        return self.args[position] if len(self.args) > position else default


@dataclass
class Emitted:
    """One chunk of SQL written by Alembic, with the op call (if any) that produced it."""

    seq: int
    text: str
    op: OpCall | None
    line: int | None


@dataclass
class Capture:
    """Everything one revision did when rendered offline."""

    ops: list[OpCall] = field(default_factory=list)
    emitted: list[Emitted] = field(default_factory=list)
    failure: str | None = None
    failure_line: int | None = None
    transactional: bool = True

    @property
    def sql(self) -> str:
        return "\n\n".join(chunk.text for chunk in self.emitted)


class _Recorder:
    """Shared bookkeeping: the sequence counter, the current op and the revision's file."""

    def __init__(self, filename: str, dialect: str) -> None:
        self.filename = filename
        self.dialect = dialect
        self.capture = Capture()
        self.seq = 0
        self.current: OpCall | None = None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def caller_line(self) -> int | None:
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                return frame.f_lineno
            frame = frame.f_back
        return None

    def write(self, text: str) -> None:
        """The offline output buffer: one call per rendered statement."""
        text = text.strip()
        if not text:
            return
        current = self.current
        self.capture.emitted.append(
            Emitted(self.next_seq(), text, current, current.line if current else self.caller_line())
        )

    def flush(self) -> None:
        pass

    def record(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], batch: str | None) -> OpCall:
        call = OpCall(
            self.next_seq(),
            name,
            args,
            kwargs,
            self.caller_line(),
            batch_table=batch,
        )
        self.capture.ops.append(call)
        return call

    def invoke(self, call: OpCall, method: Callable[..., Any]) -> Any:
        outer, self.current = self.current, call
        try:
            return method(*call.args, **call.kwargs)
        except Exception as exc:  # noqa: BLE001  (reported as a finding, rendering goes on)
            call.error = f"{type(exc).__name__}: {exc}".strip()
            return None
        finally:
            self.current = outer


class _RecordingBatch:
    """Stands in for ``batch_op``: records each call, renders it unless on SQLite."""

    def __init__(self, recorder: _Recorder, table: str, real: Any | None) -> None:
        self._recorder = recorder
        self._table = table
        self._real = real

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            record = self._recorder.record(name, args, kwargs, self._table)
            if self._real is None:
                return None
            return self._recorder.invoke(record, getattr(self._real, name))

        return call


class _RecordingOperations:
    """Stands in for ``op``: records each call, then lets Alembic render it."""

    def __init__(self, recorder: _Recorder, operations: Operations) -> None:
        self._recorder = recorder
        self._operations = operations

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._operations, name)
        if name in _PASSTHROUGH or not callable(target):
            return target
        if name == "batch_alter_table":
            return self._batch

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._recorder.invoke(self._recorder.record(name, args, kwargs, None), target)

        return call

    @contextlib.contextmanager
    def _batch(self, table_name: str, *args: Any, **kwargs: Any) -> Iterator[_RecordingBatch]:
        record = self._recorder.record("batch_alter_table", (table_name, *args), kwargs, None)
        if self._recorder.dialect == "sqlite":
            yield _RecordingBatch(self._recorder, table_name, None)
            return
        outer = self._recorder.current
        try:
            with self._operations.batch_alter_table(table_name, *args, **kwargs) as real:
                yield _RecordingBatch(self._recorder, table_name, real)
                self._recorder.current = record  # the ALTERs are written when the batch closes
        finally:
            self._recorder.current = outer


def _track_autocommit(recorder: _Recorder, context: MigrationContext) -> None:
    """Wrap ``autocommit_block`` on this one MigrationContext (an instance attribute, no class is
    patched), so every way a revision reaches it (``op.get_context()``, ``op.migration_context``,
    ``alembic.context.get_context()``) is seen. The COMMIT and BEGIN it writes belong to Alembic's
    transaction frame, not to whatever op call is being rendered around it."""
    real = context.autocommit_block

    @contextlib.contextmanager
    def autocommit_block() -> Iterator[None]:
        outer, recorder.current = recorder.current, None
        try:
            with real():
                recorder.current = outer
                try:
                    yield
                finally:
                    recorder.current = None
        finally:
            recorder.current = outer

    context.autocommit_block = autocommit_block  # type: ignore[method-assign]


def offline_environment(
    dialect: str,
    server_version: tuple[int, ...] | None,
    output: Any,
    environment: Environment | None = None,
) -> EnvironmentContext:
    """An EnvironmentContext configured as ``alembic upgrade --sql`` configures it: offline
    (``as_sql``), for ``dialect`` at ``server_version``, writing to ``output``. Revisions (and
    the project's column types) that call ``context.get_bind()``, ``context.is_offline_mode()``
    or ``context.config`` find what they find under Alembic."""
    config, script = environment if environment is not None else (Config(), None)
    env = EnvironmentContext(config, script, as_sql=True)  # type: ignore[arg-type]
    render_dialect = "mysql" if dialect == "mariadb" else dialect
    with _quiet_alembic():
        # literal_binds: as every Alembic template's offline branch, so a Core UPDATE renders
        # with its values rather than as unparseable %(name)s placeholders
        env.configure(dialect_name=render_dialect, output_buffer=output, literal_binds=True)
    context = env.get_context()
    if server_version:
        context.dialect.server_version_info = server_version
    if dialect == "mariadb" and isinstance(context.dialect, MySQLDialect):
        context.dialect.is_mariadb = True
    return env


def capture(
    function: Callable[[], Any],
    *,
    filename: str,
    dialect: str,
    server_version: tuple[int, ...] | None,
    environment: Environment | None = None,
) -> Capture:
    """Call ``function`` (a revision's upgrade or downgrade) with a recording ``op``, inside an
    active offline EnvironmentContext. What the revision prints goes to the caller's stdout (the
    command line's lint sends it to stderr: its stdout may be carrying ``--format json``)."""
    recorder = _Recorder(filename, dialect)
    env = offline_environment(dialect, server_version, recorder, environment)
    context = env.get_context()
    _track_autocommit(recorder, context)
    impl = context.impl
    recorder.capture.transactional = bool(impl.transactional_ddl)
    operations = _RecordingOperations(recorder, Operations(context))
    if impl.transactional_ddl:
        impl.emit_begin()
    with (
        task_local.activate(EnvironmentContext, env),
        task_local.activate(Operations, operations),
    ):
        try:
            function()
        except Exception as exc:  # noqa: BLE001  (the revision's own code failed offline)
            recorder.capture.failure = f"{type(exc).__name__}: {exc}".strip()
            recorder.capture.failure_line = _failing_line(exc, filename)
    recorder.current = None
    if impl.transactional_ddl:
        impl.emit_commit()
    return recorder.capture


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic announces "Generating static SQL" for every offline context; once per revision
    is noise in lint output."""
    logger = logging.getLogger("alembic.runtime.migration")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _failing_line(exc: BaseException, filename: str) -> int | None:
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
