"""add-primary-key: ``ADD PRIMARY KEY`` that builds its index (and checks NOT NULL) under the lock.

## What it flags

A PRIMARY KEY added to a table that this revision did not create (``op.create_primary_key`` or
raw SQL), other than ``PRIMARY KEY USING INDEX``.

## Why

PostgreSQL: the ADD builds a unique index and, for columns not yet NOT NULL, scans the table to
set them NOT NULL, all under an ACCESS EXCLUSIVE lock: reads and writes are blocked for the
whole build and scan.

## Example

```python
op.create_primary_key("pk_events", "events", ["id"])
```

## Fix

Build the unique index concurrently, then attach it (make the columns NOT NULL first, the way
``set-not-null`` describes, or the attach scans):

```python
with op.get_context().autocommit_block():
    op.create_index(
        "pk_events", "events", ["id"], unique=True,
        postgresql_concurrently=True, if_not_exists=True,
    )
op.execute("ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY USING INDEX pk_events")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, constraint in added_constraints(ctx, "PRIMARY"):
        if constraint.indexname:
            continue
        name = constraint.conname or f"pk_{table}"
        yield Hit(
            f"adding PRIMARY KEY {name} builds a unique index and checks NOT NULL on {table!r}"
            " under an ACCESS EXCLUSIVE lock",
            "with op.get_context().autocommit_block():\n"
            f'    op.create_index("{name}", "{table}", [...], unique=True, postgresql_concurrently=True)\n'
            f'op.execute("ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY USING INDEX {name}")',
            statement=statement,
        )


RULE = Rule(
    "add-primary-key",
    Severity.ERROR,
    "PRIMARY KEY added without USING INDEX",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
