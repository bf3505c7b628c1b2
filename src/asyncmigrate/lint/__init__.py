"""``asyncmigrate lint``: catch dangerous DDL before it ships.

Each revision is rendered through Alembic's offline mode; the linter then reads three layers at
once: the SQL (parsed with pglast on PostgreSQL, with its transaction boundaries), the ``op.*``
calls with their arguments, and the project's models for intent.
"""

from __future__ import annotations

from .engine import LintConfig, Linter, lint_source, parse_version
from .model import Finding, LintReport, Severity
from .project import LintRequest

__all__ = [
    "Finding",
    "LintConfig",
    "LintReport",
    "LintRequest",
    "Linter",
    "Severity",
    "lint_source",
    "parse_version",
]
