"""destructive-without-check: (advisory) dropping data with no assertion about it first.

## What it flags

A ``drop_table`` or ``drop_column`` of an existing object in a revision that runs no ``SELECT``
through ``op.execute`` (for instance a check that the table is empty) before or after it.

## Why

A drop cannot be undone by a downgrade; the only protection is to verify, in the migration
itself, that the data really is no longer needed (empty, archived, copied elsewhere), so that a
production database that differs from staging stops the migration instead of losing rows. The
same on every database. Advisory: many drops are of data known to be gone.

## Example

```python
op.drop_table("legacy_sessions")
```

## Fix

Assert first, so the migration fails when the data is still there:

```python
op.execute(
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM legacy_sessions)"
    " THEN RAISE EXCEPTION 'legacy_sessions is not empty'; END IF; END $$"
)  # asyncmigrate: ignore[raw-sql-uninspected] only reads legacy_sessions
op.drop_table("legacy_sessions")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, schema_changes
from ..model import Severity
from . import ALL_DIALECTS, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    checked = any("select" in str(call.args[:1]).lower() for call in ctx.calls("execute"))
    if checked:
        return
    for change in schema_changes(ctx):
        if change.kind in ("drop_table", "drop_column"):
            target = change.table + (f".{change.column}" if change.column else "")
            yield Hit(
                f"{target} is dropped with no check that its data is no longer needed",
                "# assert first, e.g. that the table is empty:\n"
                f'# op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM {change.table}) THEN'
                " RAISE EXCEPTION 'not empty'; END IF; END $$\")",
                statement=change.statement,
                op=change.op,
            )


RULE = Rule(
    "destructive-without-check",
    Severity.ADVISORY,
    "destructive change without a check",
    ALL_DIALECTS,
    check,
    group="History",
)
