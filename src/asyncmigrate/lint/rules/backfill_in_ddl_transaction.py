"""backfill-in-ddl-transaction: UPDATE/DELETE/INSERT..SELECT after DDL on that table, same transaction.

## What it flags

An ``UPDATE``, ``DELETE`` or ``INSERT ... SELECT`` on a table in the same transaction as an
earlier ``ALTER TABLE``, ``CREATE INDEX``, rename or ``CREATE TRIGGER`` on that existing table.
``INSERT ... VALUES`` (a few seed rows) is not flagged.

## Why

PostgreSQL: locks are held until COMMIT. The DDL took an ACCESS EXCLUSIVE lock (SHARE for an
index), so the whole backfill, which on a big table takes minutes, runs with the table
unreadable or unwritable for everyone else. One huge UPDATE also bloats the table and produces a
burst of WAL that replicas must replay (replica lag).

## Example

```python
op.add_column("users", sa.Column("status", sa.String(20)))
op.execute("UPDATE users SET status = 'active'")
```

## Fix

Commit the DDL first: backfill in an ``autocommit_block()`` after it, or in its own revision or
script, in batches:

```python
op.add_column("users", sa.Column("status", sa.String(20)))
with op.get_context().autocommit_block():
    op.execute("UPDATE users SET status = 'active' WHERE status IS NULL")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_DDL = frozenset({"AlterTableStmt", "IndexStmt", "RenameStmt", "CreateTrigStmt"})
_DML = frozenset({"UpdateStmt", "DeleteStmt", "InsertStmt"})


def check(ctx: RevisionContext) -> Iterator[Hit]:
    locked: set[tuple[int, str]] = set()
    for statement in ctx.parsed():
        table = pg.relation_name(statement.node)
        if statement.transaction is None or table is None:
            continue
        if statement.kind in _DDL and not ctx.is_new_table(statement.node.relation, statement.seq):
            locked.add((statement.transaction, table))
        elif statement.kind in _DML and (statement.transaction, table) in locked:
            if statement.kind == "InsertStmt" and statement.node.selectStmt is None:
                continue
            yield Hit(
                f"this data change on {table!r} runs in the transaction that altered it: the DDL's"
                " ACCESS EXCLUSIVE lock is held until the whole backfill commits",
                "# move the backfill to its own revision, batched:\n"
                f'op.execute("UPDATE {table} SET ... WHERE id BETWEEN :lo AND :hi")\n'
                "# or run it inside op.get_context().autocommit_block() after the DDL",
                statement=statement,
            )


RULE = Rule(
    "backfill-in-ddl-transaction",
    Severity.ERROR,
    "data backfill in the transaction that altered the table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
