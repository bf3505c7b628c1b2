"""Lint one revision: render it, split the SQL, run every rule, apply suppressions and config."""

from __future__ import annotations

import sys
import textwrap
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..errors import AsyncMigrateError
from .capture import Capture, Environment, capture
from .context import RevisionContext
from .model import DIALECTS, SOURCE_LINE, Finding, LintReport, Severity
from .rules import Rule, all_rules, rule_by_id
from .state import SchemaState
from .statements import split_statements
from .suppress import Suppressions, parse_suppressions

#: The version assumed when neither a live server, the command line nor the config says.
NEWEST = {"postgresql": (17,), "mysql": (8, 4), "mariadb": (11, 4), "sqlite": (3, 45)}


class LintConfigError(AsyncMigrateError):
    """A lint option that cannot be honoured (unknown rule id, bad version, bad dialect)."""


def parse_version(text: str | None, dialect: str) -> tuple[int, ...]:
    """``"15"`` -> (15,), ``"8.0.12"`` -> (8, 0, 12); None -> the newest known."""
    if text is None or str(text).strip() == "":
        return NEWEST[dialect]
    try:
        return tuple(int(part) for part in str(text).strip().split("."))
    except ValueError:
        raise LintConfigError(f"server version {text!r} is not like 15 or 8.0.12") from None


@dataclass
class LintConfig:
    """What the project (``[tool.asyncmigrate.lint]``) and the command line ask for."""

    dialect: str = "postgresql"
    version: tuple[int, ...] | None = None
    disabled: frozenset[str] = frozenset()
    enabled: frozenset[str] = frozenset()
    severity: dict[str, Severity] = field(default_factory=dict)
    start_after: str | None = None
    lock_timeout_configured: bool = True
    statement_timeout_configured: bool = False

    def __post_init__(self) -> None:
        if self.dialect not in DIALECTS:
            raise LintConfigError(f"unknown dialect {self.dialect!r}; expected one of {', '.join(DIALECTS)}")
        known = rule_by_id()
        for rule_id in (*self.disabled, *self.enabled, *self.severity):
            if rule_id not in known:
                raise LintConfigError(f"unknown lint rule {rule_id!r} (see `asyncmigrate lint --list-rules`)")

    @property
    def server_version(self) -> tuple[int, ...]:
        return self.version or NEWEST[self.dialect]

    def active_rules(self) -> list[Rule]:
        return [
            rule
            for rule in all_rules()
            if self.dialect in rule.dialects
            and rule.id not in self.disabled
            and (rule.enabled_by_default or rule.id in self.enabled)
        ]

    def severity_of(self, rule: Rule) -> Severity:
        return self.severity.get(rule.id, rule.severity)


@dataclass
class RevisionSource:
    """A revision to lint: the function to render, and the text its line numbers refer to."""

    revision: str
    function: Callable[[], Any]
    filename: str
    source: str
    path: str | None = None
    direction: str = "upgrade"


class Linter:
    """Lints revisions in history order, carrying the schema each one leaves behind."""

    def __init__(
        self, config: LintConfig, metadata: sa.MetaData | None = None, environment: Environment | None = None
    ) -> None:
        self.config = config
        self.metadata = metadata
        self.environment = environment
        self.state = SchemaState()
        self.rules = config.active_rules()
        self.report = LintReport()

    def replay(self, revision: RevisionSource) -> Capture:
        """Render a revision only to learn the schema it builds (before ``start_after``)."""
        rendered = self._render(revision)
        self.state.apply(rendered.ops, split_statements(rendered, self.config.dialect))
        return rendered

    def lint(self, revision: RevisionSource) -> list[Finding]:
        rendered = self._render(revision)
        statements = split_statements(rendered, self.config.dialect)
        context = RevisionContext(
            self.config.dialect,
            self.config.server_version,
            rendered,
            statements,
            self.state,
            self.metadata,
            self.config.lock_timeout_configured,
            self.config.statement_timeout_configured,
            source=revision.source,
            direction=revision.direction,
        )
        suppressions = parse_suppressions(revision.source)
        findings = sorted(self._findings(context, revision, suppressions), key=lambda f: f.line or 0)
        self.state.apply(rendered.ops, statements)
        self.report.findings.extend(findings)
        self.report.sql[revision.revision] = rendered.sql
        self.report.revisions.append(revision.revision)
        return findings

    def _render(self, revision: RevisionSource) -> Capture:
        return capture(
            revision.function,
            filename=revision.filename,
            dialect=self.config.dialect,
            server_version=self.config.server_version,
            environment=self.environment,
        )

    def _findings(
        self, context: RevisionContext, revision: RevisionSource, suppressions: Suppressions
    ) -> Iterable[Finding]:
        lines = revision.source.splitlines()
        seen: set[tuple[str, int | None, str]] = set()
        for rule in self.rules:
            for hit in rule.check(context):
                line = hit.line
                key = (rule.id, line, hit.message)
                if key in seen or suppressions.silences(rule.id, line):
                    continue
                seen.add(key)
                source_line = lines[line - 1].strip() if line and 0 < line <= len(lines) else None
                yield Finding(
                    rule=rule.id,
                    severity=self.config.severity_of(rule),
                    message=hit.message,
                    recipe=hit.recipe.replace(SOURCE_LINE, source_line or "..."),
                    revision=revision.revision,
                    path=revision.path,
                    line=line,
                    source_line=source_line,
                    sql=hit.statement.text if hit.statement is not None else None,
                )


_CASE_HEADER = (
    "from alembic import op\n"
    "import sqlalchemy as sa\n"
    "from sqlalchemy import text\n"
    "from sqlalchemy.dialects import mysql, postgresql\n"
    "\n"
    "\n"
    "def upgrade():\n"
)


def source_revision(name: str, upgrade_body: str, downgrade_body: str | None = None) -> RevisionSource:
    """Compile an ``upgrade()`` body (the names a revision file imports are available), and a
    ``downgrade()`` body when one is given."""
    body = textwrap.indent(textwrap.dedent(upgrade_body).strip("\n") or "pass", "    ")
    source = _CASE_HEADER + body + "\n"
    if downgrade_body is not None:
        down = textwrap.indent(textwrap.dedent(downgrade_body).strip("\n") or "pass", "    ")
        source += "\n\ndef downgrade():\n" + down + "\n"
    filename = f"<revision {name}>"
    namespace: dict[str, Any] = {"__name__": f"asyncmigrate_lint_{name}"}
    exec(compile(source, filename, "exec", dont_inherit=True), namespace)  # noqa: S102  (the caller's own migration code)
    return RevisionSource(name, namespace["upgrade"], filename, source)


def metadata_from_source(models: str | None) -> sa.MetaData | None:
    """Run model source text and find its MetaData (``Base.metadata`` or ``metadata``)."""
    if not models:
        return None
    module = types.ModuleType("asyncmigrate_lint_models")
    # SQLAlchemy resolves Mapped[...] annotations through sys.modules[cls.__module__]
    sys.modules[module.__name__] = module
    try:
        exec(compile(textwrap.dedent(models), "<models>", "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    finally:
        sys.modules.pop(module.__name__, None)
    for value in list(module.__dict__.values()):
        if isinstance(value, sa.MetaData):
            return value
        metadata = getattr(value, "metadata", None)
        if isinstance(metadata, sa.MetaData) and metadata.tables:
            return metadata
    return None


def lint_source(
    upgrade: str,
    *,
    dialect: str = "postgresql",
    server_version: str | None = None,
    models: str | None = None,
    history: Sequence[str] = (),
    timeouts: bool = True,
    config: LintConfig | None = None,
    downgrade: str | None = None,
) -> LintReport:
    """Lint one ``upgrade()`` body (with its ``downgrade()`` body, if given), after replaying
    ``history`` (earlier bodies, oldest first).

    The revision's own SQL is in ``report.sql["case"]``.
    """
    config = config or LintConfig(
        dialect=dialect,
        version=parse_version(server_version, dialect),
        lock_timeout_configured=timeouts,
        statement_timeout_configured=timeouts,
    )
    linter = Linter(config, metadata_from_source(models))
    for index, body in enumerate(history):
        linter.replay(source_revision(f"history{index}", body))
    linter.lint(source_revision("case", upgrade, downgrade))
    return linter.report


__all__ = ["LintConfig", "Linter", "RevisionSource", "lint_source", "parse_version", "Severity"]
