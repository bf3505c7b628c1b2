"""validate-in-same-transaction: ``NOT VALID`` then ``VALIDATE`` in one transaction.

## What it flags

A constraint added ``NOT VALID`` and then validated (``ALTER TABLE ... VALIDATE CONSTRAINT``) in
the same transaction of the same revision.

## Why

PostgreSQL: the ADD took an ACCESS EXCLUSIVE lock (SHARE ROW EXCLUSIVE on both tables for a
foreign key), and a lock is held until COMMIT. Validating before the commit holds that lock
through the whole validation scan, which is exactly what ``NOT VALID`` was meant to avoid:
reads and writes are blocked as if the constraint had been added validated.

## Example

```python
op.create_check_constraint(
    "ck_orders_quantity", "orders", "quantity > 0", postgresql_not_valid=True
)
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_quantity")
```

## Fix

Commit the ADD first: validate in an ``autocommit_block()`` (or in the next revision), where the
validation takes only SHARE UPDATE EXCLUSIVE:

```python
op.create_check_constraint(
    "ck_orders_quantity", "orders", "quantity > 0", postgresql_not_valid=True
)
with op.get_context().autocommit_block():
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_quantity")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    added_in: dict[tuple[str, str], int | None] = {}
    for statement in ctx.parsed("AlterTableStmt"):
        table = pg.relation_name(statement.node) or ""
        for cmd in pg.alter_commands(statement.node):
            constraint = pg.added_constraint(cmd)
            if constraint is not None and constraint.skip_validation and constraint.conname:
                added_in[(table, constraint.conname)] = statement.transaction
            elif pg.is_cmd(cmd, "AT_ValidateConstraint"):
                transaction = added_in.get((table, cmd.name), -1)
                if transaction is not None and transaction == statement.transaction:
                    yield Hit(
                        f"VALIDATE CONSTRAINT {cmd.name} runs in the transaction that added it NOT"
                        f" VALID: the ADD's lock on {table!r} is held for the whole validation scan",
                        "with op.get_context().autocommit_block():\n"
                        f'    op.execute("ALTER TABLE {table} VALIDATE CONSTRAINT {cmd.name}")\n'
                        "# or move the VALIDATE to the next revision",
                        statement=statement,
                    )


RULE = Rule(
    "validate-in-same-transaction",
    Severity.ERROR,
    "NOT VALID and VALIDATE in the same transaction",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
