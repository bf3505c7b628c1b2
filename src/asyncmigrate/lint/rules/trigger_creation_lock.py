"""trigger-creation-lock: ``CREATE TRIGGER`` on an existing (busy) table.

## What it flags

``CREATE TRIGGER`` on a table that this revision did not create.

## Why

PostgreSQL: creating a trigger takes a SHARE ROW EXCLUSIVE lock on the table. It is brief once
granted, but writes wait while it is held, and the request queues behind every long transaction
on the table, with every later query queued behind it. A warning, not an error: there is no
lock-free way to create a trigger, only a safer way to wait.

## Example

```python
op.execute(
    "CREATE TRIGGER orders_audit AFTER UPDATE ON orders"
    " FOR EACH ROW EXECUTE FUNCTION audit_row()"
)
```

## Fix

Fail fast instead of queueing (retry later, at a quiet time), and say on the line that you did:

```python
op.execute("SET LOCAL lock_timeout = '2s'")
op.execute(
    "CREATE TRIGGER orders_audit AFTER UPDATE ON orders"
    " FOR EACH ROW EXECUTE FUNCTION audit_row()"
)  # asyncmigrate: ignore[trigger-creation-lock] lock_timeout set above
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("CreateTrigStmt"):
        table = pg.relation_name(statement.node)
        if ctx.is_new_table(statement.node.relation, statement.seq):
            continue
        yield Hit(
            f"CREATE TRIGGER takes a SHARE ROW EXCLUSIVE lock on {table!r}: writes wait, and the"
            " request queues behind long transactions",
            "op.execute(\"SET LOCAL lock_timeout = '2s'\")  # fail fast instead of queueing\n"
            f'op.execute("CREATE TRIGGER ... ON {table} ...")',
            statement=statement,
        )


RULE = Rule(
    "trigger-creation-lock",
    Severity.WARNING,
    "CREATE TRIGGER on an existing table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
