"""missing-statement-timeout: (advisory, opt-in) locking DDL with no statement_timeout.

## What it flags

Off unless enabled in ``[tool.asyncmigrate.lint]``. When the project sets no
``statement_timeout`` (``[tool.asyncmigrate]`` default: none): the first statement of the
revision that locks an existing table, before any ``SET statement_timeout`` of its own.

## Why

PostgreSQL: ``lock_timeout`` bounds only the wait for a lock; once granted, a statement holds
its lock for as long as it runs. A ``statement_timeout`` bounds that too, so an index build or
rewrite that turns out far slower than in staging stops instead of blocking the table for an
hour. Advisory: long backfills legitimately run without one.

## Example

```python timeouts=off enable
op.add_column("users", sa.Column("bio", sa.Text()))
```

## Fix

Set one for the project (``[tool.asyncmigrate] statement_timeout = "15min"``), or in the
revision before the first lock:

```python timeouts=off enable
op.execute("SET LOCAL lock_timeout = '5s'")
op.execute("SET LOCAL statement_timeout = '15min'")
op.add_column("users", sa.Column("bio", sa.Text()))
```
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
