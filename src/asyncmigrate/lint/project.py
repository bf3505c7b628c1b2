"""Lint a project's revisions: pick them (range, ``--since-ref``, ``start_after``), replay the
ones before, and lint the rest in history order with the project's models for intent."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError

from ..config import URL_EMBEDDED, Settings
from ..errors import AsyncMigrateError
from .engine import DIALECTS, LintConfig, LintConfigError, Linter, RevisionSource, parse_version
from .model import Finding, LintReport, Severity
from .rules.non_linear_history import RULE as NON_LINEAR_HISTORY


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
    backend = sa.engine.make_url(url).get_backend_name()
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
        raise LintConfigError(f"cannot lint for the {dialect!r} dialect; use --dialect {'/'.join(DIALECTS)}")
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


def has_live_server(settings: Settings) -> bool:
    return settings.url_source != URL_EMBEDDED and dialect_of(settings.url) != "sqlite"


async def live_server(settings: Settings, timeout: float = 5.0) -> LiveServer | None:
    """The configured server's version, when a real (non-embedded) URL is set and reachable."""
    if not has_live_server(settings):
        return None
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(settings.url)
    try:
        async with asyncio.timeout(timeout) if hasattr(asyncio, "timeout") else _no_timeout():
            async with engine.connect() as connection:
                info = connection.dialect.server_version_info
                mariadb = bool(getattr(connection.dialect, "is_mariadb", False))
        if not info:
            return None
        dialect = "mariadb" if mariadb else dialect_of(settings.url)
        return LiveServer(dialect, ".".join(str(part) for part in info if isinstance(part, int)))
    except Exception:  # noqa: BLE001  (unreachable server: fall back to config / newest)
        return None
    finally:
        await engine.dispose()


class _no_timeout:  # Python 3.10 has no asyncio.timeout
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


def _history_order(script: ScriptDirectory) -> list[Script]:
    """Every revision, base first (Alembic walks heads to base)."""
    return list(reversed(list(script.walk_revisions("base", "heads"))))


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
    return RevisionSource(name, function, module.__file__ or str(path), _source_text(path), str(path))


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
    script: ScriptDirectory, config: LintConfig, request: LintRequest, metadata: sa.MetaData | None
) -> LintReport:
    ordered = _history_order(script)
    selected = _selected(script, ordered, request)
    linter = Linter(config, metadata)
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
