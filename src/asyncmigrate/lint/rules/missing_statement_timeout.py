"""missing-statement-timeout (advisory): locking DDL with no statement_timeout.

Advisory: long backfills legitimately run without one; the lock wait is what lock_timeout bounds.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule
from .missing_lock_timeout import first_unguarded_lock


def check(ctx: RevisionContext) -> Iterator[Hit]:
    if ctx.statement_timeout_configured:
        return
    statement = first_unguarded_lock(ctx, "statement_timeout")
    if statement is not None:
        yield Hit(
            "no statement_timeout bounds how long this revision may hold its locks",
            '# pyproject.toml: [tool.asyncmigrate] statement_timeout = "15min"',
            statement=statement,
        )


RULE = Rule(
    "missing-statement-timeout",
    Severity.ADVISORY,
    "locking DDL without statement_timeout",
    POSTGRESQL,
    check,
    enabled_by_default=False,
    group="Operational hygiene",
)
