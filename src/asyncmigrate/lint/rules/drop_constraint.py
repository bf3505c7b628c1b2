"""drop-constraint: (advisory) removing a guarantee that clients may rely on.

## What it flags

``ALTER TABLE ... DROP CONSTRAINT`` (``op.drop_constraint``) on an existing table: foreign keys,
CHECK, UNIQUE and primary keys alike.

## Why

PostgreSQL: the lock is brief, so this is only advisory; but code and other tables may rely on
the guarantee (uniqueness for an upsert, a foreign key for cascades, a CHECK for valid values),
and data that breaks it can be written from then on. Dropping the helper CHECK of the
``set-not-null`` recipe is fine.

## Example

```python
op.drop_constraint("fk_orders_user", "orders", type_="foreignkey")
```

## Fix

Confirm nothing depends on it, then say so on the line:

```python
op.drop_constraint(
    "fk_orders_user", "orders", type_="foreignkey"
)  # asyncmigrate: ignore[drop-constraint] orders are archived, users may be deleted
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        if pg.is_cmd(cmd, "AT_DropConstraint"):
            yield Hit(
                f"dropping constraint {cmd.name} on {pg.relation_name(statement.node)} removes a"
                " guarantee that code or other tables may rely on",
                "# confirm nothing depends on it; helper CHECKs of the SET NOT NULL recipe are fine",
                statement=statement,
            )


RULE = Rule(
    "drop-constraint", Severity.ADVISORY, "DROP CONSTRAINT", POSTGRESQL, check, group="Backward compatibility"
)
