"""Lint a project's revisions: pick them (range, ``--since-ref``, ``start_after``), replay the
ones before, and lint the rest in history order with the project's models for intent."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError

from ..config import URL_EMBEDDED, Settings
from ..errors import AsyncMigrateError
from .engine import LintConfig, LintConfigError, Linter, RevisionSource, parse_version
from .model import DIALECTS, Finding, LintReport, Severity
from .rules.non_linear_history import RULE as NON_LINEAR_HISTORY

T = TypeVar("T")


@dataclass
class LintRequest:
    """What the command line asked for, on top of ``[tool.asyncmigrate.lint]``."""

    rev_range: str | None = None
    since_ref: str | None = None
    downgrade: bool = False
    dialect: str | None = None
    pg_version: str | None = None
    mysql_version: str | None = None
    only_paths: Sequence[Path] = ()


def dialect_of(url: str) -> str:
    """The URL's database (``postgresql+psycopg2://`` -> postgresql); ``""`` when it is no URL."""
    try:
        backend = sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        return ""
    return {"postgres": "postgresql", "mariadb": "mariadb"}.get(backend, backend)


@dataclass(frozen=True)
class LiveServer:
    """What the configured database said it is."""

    dialect: str
    version: str


def build_config(settings: Settings, request: LintRequest, live: LiveServer | None) -> LintConfig:
    """Command line over live server over ``[tool.asyncmigrate.lint]`` over the newest version."""
    table = settings.lint
    dialect = request.dialect or table.get("dialect") or (live.dialect if live else dialect_of(settings.url))
    live_version = live.version if live is not None and live.dialect == dialect else None
    if dialect not in DIALECTS:
        raise LintConfigError(_unknown_dialect(dialect, settings.url))
    if dialect == "postgresql":
        version = request.pg_version or live_version or table.get("pg_version")
    elif dialect in ("mysql", "mariadb"):
        version = request.mysql_version or live_version or table.get("mysql_version")
    else:
        version = live_version
    severity = {}
    for rule_id, level in dict(table.get("severity", {})).items():
        try:
            severity[rule_id] = Severity(level)
        except ValueError:
            raise LintConfigError(f"severity of {rule_id!r} must be error, warning or advisory") from None
    return LintConfig(
        dialect=dialect,
        version=parse_version(str(version) if version is not None else None, dialect),
        disabled=frozenset(table.get("disable", ())),
        enabled=frozenset(table.get("enable", ())),
        severity=severity,
        start_after=table.get("start_after"),
        lock_timeout_configured=settings.lock_timeout > 0,
        statement_timeout_configured=settings.statement_timeout > 0,
    )


def _unknown_dialect(dialect: str, url: str) -> str:
    """One line: a real database lint does not judge, or a placeholder URL (``driver://unused``
    in an alembic.ini whose env.py finds the URL elsewhere) that names no database at all."""
    choices = "|".join(DIALECTS)
    setting = f"pass --dialect {choices} or set dialect in [tool.asyncmigrate.lint]"
    try:
        sa.engine.make_url(url).get_dialect()
    except Exception:  # noqa: BLE001  (unknown plugin, no URL at all: a placeholder)
        shown = _shown_url(url)
        return f"lint cannot tell the database from the configured URL {shown!r}: {setting}"
    return f"cannot lint for the {dialect!r} dialect; {setting}"


def _shown_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def has_live_server(settings: Settings) -> bool:
    """A server URL worth asking (not the embedded SQLite file, not a placeholder)."""
    if settings.url_source == URL_EMBEDDED or dialect_of(settings.url) in ("sqlite", ""):
        return False
    try:
        sa.engine.make_url(settings.url).get_dialect()
    except Exception:  # noqa: BLE001  (driver://unused and the like name no database)
        return False
    return True


async def live_server(settings: Settings, timeout: float = 5.0) -> LiveServer | None:
    """The configured server's version, when a real (non-embedded) URL is set and reachable.

    Lint needs no connection for anything else, so any failure here (a placeholder URL, a
    sync driver that is not installed, a server that does not answer) only means "unknown"."""
    if not has_live_server(settings):
        return None
    url = sa.engine.make_url(settings.url)
    is_async = url.get_dialect().is_async
    try:
        if is_async:
            info, mariadb = await asyncio.wait_for(_probe_async(url), timeout)
        else:
            info, mariadb = await _in_daemon_thread(lambda: _probe_sync(url), timeout)
    except Exception:  # noqa: BLE001  (unreachable server: fall back to config / newest)
        return None
    if not info:
        return None
    dialect = "mariadb" if mariadb else dialect_of(settings.url)
    return LiveServer(dialect, ".".join(str(part) for part in info if isinstance(part, int)))


async def _probe_async(url: sa.engine.URL) -> tuple[tuple[Any, ...] | None, bool]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, poolclass=sa.pool.NullPool)
    try:
        async with engine.connect() as connection:
            return _identity(connection.dialect)
    finally:
        await engine.dispose()


def _identity(dialect: Any) -> tuple[tuple[Any, ...] | None, bool]:
    return dialect.server_version_info, bool(getattr(dialect, "is_mariadb", False))


def _probe_sync(url: sa.engine.URL) -> tuple[tuple[Any, ...] | None, bool]:
    """The same question through a sync driver (``postgresql://``, ``mysql+pymysql://``)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return _identity(connection.dialect)
    finally:
        engine.dispose()


async def _in_daemon_thread(work: Callable[[], T], timeout: float) -> T:
    """``work()`` in a daemon thread, awaited for at most ``timeout`` seconds. A sync driver's
    connect cannot be cancelled; in a daemon thread it cannot keep the process alive either
    (the event loop's default executor would be waited for when the loop closes)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[asyncio.Future[T]], None]) -> None:
        def apply() -> None:
            if not future.done():
                outcome(future)

        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(apply)

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:  # noqa: BLE001  (handed to the awaiting task)
            error = exc
            settle(lambda settled: settled.set_exception(error))
        else:
            settle(lambda settled: settled.set_result(result))

    threading.Thread(target=run, name="asyncmigrate-lint-probe", daemon=True).start()
    return await asyncio.wait_for(future, timeout)


def _history_order(script: ScriptDirectory) -> list[Script]:
    """Every revision, base first (Alembic walks heads to base).

    A revision file that fails to import (often: app code it imports is not installed) is named
    with its own error, not taken for a missing database driver."""
    try:
        return list(reversed(list(script.walk_revisions("base", "heads"))))
    except (CommandError, RevisionError):
        raise
    except Exception as exc:
        culprit = _revision_file_in(exc, script)
        if culprit is None:
            raise
        raise AsyncMigrateError(
            f"revision file {culprit} cannot be imported: {type(exc).__name__}: {exc}"
            " (lint imports every revision, as alembic does; install what it imports)"
        ) from None


def _revision_file_in(exc: BaseException, script: ScriptDirectory) -> str | None:
    """The innermost frame of the traceback that is a file in a versions directory."""
    folders = [Path(folder).resolve() for folder in script.version_locations or [script.versions]]
    found = None
    traceback = exc.__traceback__
    while traceback is not None:
        path = Path(traceback.tb_frame.f_code.co_filename)
        if path.suffix == ".py" and any(path.resolve().is_relative_to(folder) for folder in folders):
            found = path.name
        traceback = traceback.tb_next
    return found


def _selected(script: ScriptDirectory, ordered: list[Script], request: LintRequest) -> set[str]:
    if request.rev_range:
        lower, _, upper = request.rev_range.partition(":")
        try:
            picked = list(script.iterate_revisions(upper or "heads", lower or "base", inclusive=True))
            return {s.revision for s in picked}
        except (CommandError, RevisionError) as exc:
            raise AsyncMigrateError(f"bad revision range {request.rev_range!r}: {exc}") from exc
    if request.since_ref:
        changed = _changed_files(script, request.since_ref)
        return {s.revision for s in ordered if Path(s.path).resolve() in changed}
    if request.only_paths:
        wanted = {Path(p).resolve() for p in request.only_paths}
        return {s.revision for s in ordered if Path(s.path).resolve() in wanted}
    return {s.revision for s in ordered}


def _changed_files(script: ScriptDirectory, ref: str) -> set[Path]:
    """Revision files added or changed since ``ref`` (committed, staged or untracked)."""
    versions = Path(script.versions)
    commands = (
        ["git", "diff", "--name-only", "--diff-filter=AMR", f"{ref}...HEAD", "--", str(versions)],
        ["git", "diff", "--name-only", "--diff-filter=AMR", "HEAD", "--", str(versions)],
        ["git", "ls-files", "--others", "--exclude-standard", "--", str(versions)],
    )
    top = _git(["git", "rev-parse", "--show-toplevel"], versions).strip()
    changed: set[Path] = set()
    for command in commands:
        for line in _git(command, versions).splitlines():
            if line.strip():
                base = Path(top) if command[1] == "diff" else versions
                changed.add((base / line.strip()).resolve())
    return changed


def _git(command: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise AsyncMigrateError("--since-ref needs git on PATH") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise AsyncMigrateError(f"{' '.join(command[:3])} failed: {reason}")
    return done.stdout


def _revision_source(script: Script, direction: str) -> RevisionSource:
    path = Path(script.path)
    module = script.module
    function = getattr(module, direction, None)
    if function is None:
        raise AsyncMigrateError(f"{path.name} has no {direction}() function")
    name = script.revision if direction == "upgrade" else f"{script.revision} (downgrade)"
    filename = module.__file__ or str(path)
    return RevisionSource(name, function, filename, _source_text(path), str(path), direction)


def _source_text(path: Path) -> str:
    """The file as Python decodes it (its ``# -*- coding: ... -*-`` line, else UTF-8), not in
    the locale's encoding; a file that is not text in its encoding is named."""
    from importlib.util import decode_source

    try:
        return decode_source(path.read_bytes())
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        raise AsyncMigrateError(f"cannot read {path} as Python source: {exc}") from exc


def combined_metadata(found: Any) -> sa.MetaData | None:
    if found is None or isinstance(found, sa.MetaData):
        return found
    merged = sa.MetaData()
    for metadata in found:
        for table in metadata.tables.values():
            table.to_metadata(merged)
    return merged


def lint_project(
    script: ScriptDirectory,
    config: LintConfig,
    request: LintRequest,
    metadata: sa.MetaData | None,
    alembic_config: Config | None = None,
) -> LintReport:
    """Lint the selected revisions. What the revision files (or the app code they import) print
    goes where the caller's ``sys.stdout`` goes: the command line sends it to stderr, so its
    machine output stays clean, and a Migrator awaited in an app leaves the app's stdout alone."""
    return _lint_project(script, config, request, metadata, alembic_config)


def _lint_project(
    script: ScriptDirectory,
    config: LintConfig,
    request: LintRequest,
    metadata: sa.MetaData | None,
    alembic_config: Config | None,
) -> LintReport:
    ordered = _history_order(script)
    selected = _selected(script, ordered, request)
    linter = Linter(config, metadata, (alembic_config or Config(), script))
    skipping = config.start_after is not None
    if skipping and config.start_after not in {s.revision for s in ordered}:
        raise LintConfigError(f"start_after = {config.start_after!r} is not a revision of this project")
    linted: list[Script] = []
    for script_revision in ordered:
        source = _revision_source(script_revision, "upgrade")
        if skipping or script_revision.revision not in selected:
            linter.replay(source)
        else:
            linter.lint(source)
            linted.append(script_revision)
        if script_revision.revision == config.start_after:
            skipping = False
    if request.downgrade:
        # head to base, on the schema every upgrade left, as a real downgrade runs
        for script_revision in reversed(linted):
            linter.lint(_revision_source(script_revision, "downgrade"))
    report = linter.report
    report.findings.extend(_graph_findings(script, config, selected))
    return report


def _graph_findings(script: ScriptDirectory, config: LintConfig, selected: set[str]) -> list[Finding]:
    if NON_LINEAR_HISTORY.id in config.disabled:
        return []
    heads = script.get_heads()
    if len(heads) < 2:
        return []
    findings = []
    for head in heads:
        found = script.get_revision(head)
        if found is None or head not in selected:
            continue
        findings.append(
            Finding(
                rule=NON_LINEAR_HISTORY.id,
                severity=config.severity_of(NON_LINEAR_HISTORY),
                message=f"the history has {len(heads)} heads ({', '.join(heads)}): `upgrade head` is"
                " ambiguous and the branches may conflict",
                recipe=f'asyncmigrate merge heads -m "merge {" and ".join(heads)}"',
                revision=head,
                path=found.path,
            )
        )
    return findings
