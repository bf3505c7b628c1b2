"""non-idempotent-ddl: DDL outside a transaction without IF [NOT] EXISTS.

## What it flags

In an ``autocommit_block()`` (outside any transaction): ``CREATE INDEX`` without ``IF NOT
EXISTS``, ``DROP ...`` without ``IF EXISTS`` and ``ALTER TYPE ... ADD VALUE`` without ``IF NOT
EXISTS``. Not flagged: a ``CREATE INDEX`` that the revision prepares with ``DROP INDEX IF
EXISTS`` of the same name (the rerun drops the leftover first).

## Why

PostgreSQL: outside a transaction nothing is rolled back when the migration fails half-way: a
failed ``CREATE INDEX CONCURRENTLY`` leaves an INVALID index, and an earlier statement of the
block stays done. The rerun then fails on "already exists" (or "does not exist"), and someone
has to clean up by hand during the incident. ``asyncmigrate upgrade`` drops INVALID index
leftovers before retrying; plain Alembic does not.

## Example

```python
with op.get_context().autocommit_block():
    op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
```

## Fix

```python
with op.get_context().autocommit_block():
    op.create_index(
        "ix_users_email", "users", ["email"], postgresql_concurrently=True, if_not_exists=True
    )
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    cleared: set[str] = set()  # indexes this revision drops IF EXISTS before it creates them
    for statement in ctx.parsed("IndexStmt", "DropStmt", "AlterEnumStmt"):
        node = statement.node
        dropped_index = statement.kind == "DropStmt" and pg.enum_name(node.removeType) == "OBJECT_INDEX"
        if dropped_index and node.missing_ok:
            cleared.update(pg.dotted(names)[-1] for names in node.objects or ())
        if statement.transaction is not None:
            continue
        if statement.kind == "AlterEnumStmt":
            robust = node.skipIfNewValExists or bool(node.oldVal)
        elif statement.kind == "IndexStmt":
            robust = node.if_not_exists or node.idxname in cleared
        else:
            robust = node.missing_ok
        if not robust:
            yield Hit(
                "this runs outside a transaction: if it fails half-way, a rerun fails on the leftover",
                "op.create_index(..., postgresql_concurrently=True, if_not_exists=True)\n"
                "op.drop_index(..., postgresql_concurrently=True, if_exists=True)\n"
                "op.execute(\"ALTER TYPE ... ADD VALUE IF NOT EXISTS '...'\")",
                statement=statement,
            )


RULE = Rule(
    "non-idempotent-ddl",
    Severity.WARNING,
    "DDL in autocommit without IF [NOT] EXISTS",
    POSTGRESQL,
    check,
    group="Operational hygiene",
)
