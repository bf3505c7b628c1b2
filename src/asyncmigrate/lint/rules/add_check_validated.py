"""add-check-validated: ``ADD CONSTRAINT ... CHECK`` without ``NOT VALID``.

## What it flags

A CHECK constraint added (``op.create_check_constraint``, or raw ``ALTER TABLE ... ADD
CONSTRAINT ... CHECK``) to a table that this revision did not create, without ``NOT VALID``
(``postgresql_not_valid=True``).

## Why

PostgreSQL: adding a validated CHECK scans every row to verify it while holding an ACCESS
EXCLUSIVE lock on the table: reads and writes are blocked for the whole scan. Added ``NOT
VALID``, the constraint is enforced for new rows at once and the ALTER is instant; ``VALIDATE
CONSTRAINT`` then checks the old rows holding only SHARE UPDATE EXCLUSIVE, which lets reads and
writes through.

## Example

```python
op.create_check_constraint("ck_orders_quantity", "orders", "quantity > 0")
```

## Fix

```python
op.create_check_constraint(
    "ck_orders_quantity", "orders", "quantity > 0", postgresql_not_valid=True
)
with op.get_context().autocommit_block():  # or in the next revision
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_quantity")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, constraint in added_constraints(ctx, "CHECK"):
        if constraint.skip_validation:
            continue
        name = constraint.conname or f"ck_{table}"
        yield Hit(
            f"adding CHECK {name} to {table!r} scans every row under an ACCESS EXCLUSIVE lock"
            " (reads and writes blocked)",
            f'op.create_check_constraint("{name}", "{table}", "...", postgresql_not_valid=True)\n'
            "# in the next revision (or an autocommit_block), SHARE UPDATE EXCLUSIVE only:\n"
            f'op.execute("ALTER TABLE {table} VALIDATE CONSTRAINT {name}")',
            statement=statement,
        )


RULE = Rule(
    "add-check-validated",
    Severity.ERROR,
    "CHECK constraint added without NOT VALID",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
