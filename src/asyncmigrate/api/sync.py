"""The synchronous face of :class:`~asyncmigrate.api.migrator.Migrator`, for scripts without an event loop.

Written out method by method (as httpx writes ``Client`` beside ``AsyncClient``) so that
signatures, types, ``help()`` and ``dir()`` are those of the async API. Each call runs the
async method in a loop of its own; inside a running loop it refuses and says to ``await``.
``tests/test_async_api.py`` checks that every public method of ``Migrator`` is here with the same
parameters.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .migrator import ApplyResult, BaselineResult, CheckResult, Migrator

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection, Engine

    from ..apply.environment import MetadataTarget, StepEvent
    from ..apply.runner import Runner
    from ..autogenerate.renames import RenameQuestion, TableRenameQuestion
    from ..config import Settings
    from ..graph.status import RevisionInfo, Status
    from ..lint.model import LintReport
    from ..lint.project import LintRequest
    from ..tables.history import Problem

T = TypeVar("T")


class SyncMigrator:
    """The same API as :class:`Migrator` for code without an event loop: each call runs a loop
    of its own. Pass a synchronous ``Engine`` (or nothing: the settings' URL) rather than an
    ``AsyncEngine``, whose pooled connections belong to the loop that opened them."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        engine: Engine | None = None,
        url: str | None = None,
        project_dir: str | os.PathLike[str] | None = None,
        metadata: MetadataTarget | None = None,
        on_step: Callable[[StepEvent], None] | None = None,
    ) -> None:
        self._migrator = Migrator(
            settings, engine=engine, url=url, project_dir=project_dir, metadata=metadata, on_step=on_step
        )

    @classmethod
    def from_pyproject(cls, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> SyncMigrator:
        """Settings from the pyproject.toml at ``path`` (see :meth:`Migrator.from_pyproject`)."""
        return cls._wrapping(Migrator.from_pyproject(path, **kwargs))

    @classmethod
    def from_config(cls, config_file: str | os.PathLike[str], **kwargs: Any) -> SyncMigrator:
        """Settings from an ``alembic.ini`` or a pyproject.toml (see :meth:`Migrator.from_config`)."""
        return cls._wrapping(Migrator.from_config(config_file, **kwargs))

    @classmethod
    def _wrapping(cls, migrator: Migrator) -> SyncMigrator:
        instance = cls.__new__(cls)
        instance._migrator = migrator
        return instance

    @property
    def settings(self) -> Settings:
        return self._migrator.settings

    @property
    def url(self) -> str:
        return self._migrator.url

    @property
    def runner(self) -> Runner:
        """The engine room: Alembic commands on this migrator's database."""
        return self._migrator.runner

    def script_directory(self) -> ScriptDirectory:
        return self._migrator.script_directory()

    def running(self) -> tuple[str, float] | None:
        """See :meth:`Migrator.running` (safe from any thread)."""
        return self._migrator.running()

    def interrupt(self, reason: str = "interrupted") -> bool:
        """See :meth:`Migrator.interrupt`; call it in the thread that runs the migration (a
        signal handler)."""
        return self._migrator.interrupt(reason)

    # -- the revision graph ---------------------------------------------------------------------

    def heads(self) -> list[RevisionInfo]:
        return _run("heads", self._migrator.heads)

    def branches(self) -> list[RevisionInfo]:
        return _run("branches", self._migrator.branches)

    def history(self, rev_range: str | None = None) -> list[RevisionInfo]:
        """Revisions newest first; ``rev_range`` is Alembic's ``start:end``."""
        return _run("history", self._migrator.history, rev_range)

    def show(self, revision: str) -> list[RevisionInfo]:
        return _run("show", self._migrator.show, revision)

    def merge(
        self,
        revisions: Sequence[str] = ("heads",),
        message: str | None = None,
        *,
        branch_label: str | None = None,
        rev_id: str | None = None,
    ) -> Path:
        return _run(
            "merge", self._migrator.merge, revisions, message, branch_label=branch_label, rev_id=rev_id
        )

    def check_heads(self) -> list[Problem]:
        """More than one head without a merge (parallel branches): what CI should refuse."""
        return _run("check_heads", self._migrator.check_heads)

    def revision(
        self,
        message: str | None = None,
        *,
        autogenerate: bool = False,
        allow_empty_models: bool = False,
        head: str = "head",
        splice: bool = False,
        branch_label: str | None = None,
        depends_on: str | None = None,
        rev_id: str | None = None,
        version_path: str | None = None,
        rename_question: RenameQuestion | None = None,
        table_rename_question: TableRenameQuestion | None = None,
    ) -> list[Path]:
        """Write a new revision file; with ``autogenerate``, from the models vs the database
        (``rename_question``, ``table_rename_question``: see :meth:`Migrator.revision`)."""
        return _run(
            "revision",
            self._migrator.revision,
            message,
            autogenerate=autogenerate,
            allow_empty_models=allow_empty_models,
            head=head,
            splice=splice,
            branch_label=branch_label,
            depends_on=depends_on,
            rev_id=rev_id,
            version_path=version_path,
            rename_question=rename_question,
            table_rename_question=table_rename_question,
        )

    def lint(self, request: LintRequest | None = None) -> LintReport:
        """Lint revisions (all by default) for dangerous DDL; see ``asyncmigrate lint``."""
        return _run("lint", self._migrator.lint, request)

    # -- the database ---------------------------------------------------------------------------

    def run_sync(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` with a synchronous Connection to this migrator's database."""
        return _run("run_sync", self._migrator.run_sync, work)

    def current(self) -> tuple[str, ...]:
        """The revisions the database is at (empty before the first upgrade)."""
        return _run("current", self._migrator.current)

    def status(self) -> Status:
        """Applied and pending revisions, and what ``verify`` finds."""
        return _run("status", self._migrator.status)

    def verify(self) -> list[Problem]:
        return _run("verify", self._migrator.verify)

    def accept(self, revisions: Sequence[str]) -> list[Problem]:
        """Acknowledge what ``verify`` found for ``revisions`` (see :meth:`Migrator.accept`)."""
        return _run("accept", self._migrator.accept, revisions)

    def upgrade(
        self, target: str = "head", *, sql: bool = False, tag: str | None = None, **safety: Any
    ) -> ApplyResult:
        """Upgrade to ``target`` under the apply lock (see :meth:`Migrator.upgrade`)."""
        return _run("upgrade", self._migrator.upgrade, target, sql=sql, tag=tag, **safety)

    def downgrade(
        self, target: str, *, sql: bool = False, tag: str | None = None, **safety: Any
    ) -> ApplyResult:
        """Downgrade to ``target`` (``-1``, ``base``, a revision) under the apply lock."""
        return _run("downgrade", self._migrator.downgrade, target, sql=sql, tag=tag, **safety)

    def stamp(
        self, revisions: str | Sequence[str], *, sql: bool = False, purge: bool = False, **safety: Any
    ) -> ApplyResult:
        """Set the version table to ``revisions`` without running any migration."""
        return _run("stamp", self._migrator.stamp, revisions, sql=sql, purge=purge, **safety)

    def check(self) -> CheckResult:
        """Compare the models with the database: empty when autogenerate would write nothing."""
        return _run("check", self._migrator.check)

    def baseline(self, message: str = "baseline") -> BaselineResult:
        """Adopt a database made by ``create_all`` (see :meth:`Migrator.baseline`)."""
        return _run("baseline", self._migrator.baseline, message)


def _run(name: str, method: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
    """``asyncio.run`` the async method, refusing inside a running loop (where it would block
    the loop, and ``asyncio.run`` cannot nest) before the coroutine is made."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(method(*args, **kwargs))
    raise RuntimeError(
        f"SyncMigrator.{name}() was called inside a running event loop;"
        f" use 'await Migrator(...).{name}()' there"
    )
