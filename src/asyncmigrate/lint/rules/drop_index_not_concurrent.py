"""drop-index-not-concurrent: ``DROP INDEX`` without ``CONCURRENTLY``.

## What it flags

A ``DROP INDEX`` (``op.drop_index``) without ``CONCURRENTLY``, unless ``op.drop_index`` names a
table (``table_name=``) that this revision created.

## Why

PostgreSQL: ``DROP INDEX`` takes an ACCESS EXCLUSIVE lock on the index's table. The drop itself is
quick, but the lock request queues behind every running transaction on the table, and every
query that arrives after it (reads included) queues behind the request. One long report query
turns a millisecond drop into an outage. ``DROP INDEX CONCURRENTLY`` waits without blocking
others; it cannot run inside a transaction.

## Example

```python
op.drop_index("ix_users_email", table_name="users")
```

## Fix

```python
with op.get_context().autocommit_block():
    op.drop_index(
        "ix_users_email", table_name="users", postgresql_concurrently=True, if_exists=True
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
    for statement in ctx.parsed("DropStmt"):
        node = statement.node
        if pg.enum_name(node.removeType) != "OBJECT_INDEX" or node.concurrent:
            continue
        op = statement.op
        table = op.kwargs.get("table_name") if op else None
        if op is not None and table and ctx.is_new_table(table, statement.seq, op.kwargs.get("schema")):
            continue
        names = ", ".join(".".join(pg.dotted(obj)) for obj in node.objects or ())
        yield Hit(
            f"DROP INDEX {names} takes an ACCESS EXCLUSIVE lock on its table: quick once granted,"
            " but it queues behind running transactions and blocks every query behind it",
            "with op.get_context().autocommit_block():\n"
            f'    op.drop_index("{names}", postgresql_concurrently=True, if_exists=True)',
            statement=statement,
        )


RULE = Rule(
    "drop-index-not-concurrent",
    Severity.WARNING,
    "DROP INDEX without CONCURRENTLY",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
