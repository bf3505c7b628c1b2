"""enum-value-used-same-transaction: ``ALTER TYPE ... ADD VALUE`` then using it before COMMIT.

## What it flags

``ALTER TYPE ... ADD VALUE 'x'`` inside a transaction, followed in the same transaction by a
statement that mentions ``'x'``; and, when linting for PostgreSQL older than 12, any ``ADD
VALUE`` inside a transaction.

## Why

PostgreSQL 12 and later allow ``ADD VALUE`` inside a transaction but refuse to use the new value
until that transaction commits ("unsafe use of new value"). Before 12, ``ADD VALUE`` cannot run
inside a transaction block at all. Either way the migration fails at deploy time, and Alembic
runs every revision in a transaction.

## Example

```python
op.execute("ALTER TYPE order_status ADD VALUE 'archived'")
op.execute("UPDATE orders SET status = 'archived' WHERE closed_at < now() - interval '1 year'")
```

```python version=11
op.execute("ALTER TYPE order_status ADD VALUE 'archived'")
```

## Fix

Add the value in an ``autocommit_block()`` (it commits at once), and use it after the block or in
a later revision:

```python
with op.get_context().autocommit_block():
    op.execute("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'archived'")
op.execute("UPDATE orders SET status = 'archived' WHERE closed_at < now() - interval '1 year'")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def _recipe(type_name: str, value: str) -> str:
    return (
        "with op.get_context().autocommit_block():\n"
        f"    op.execute(\"ALTER TYPE {type_name} ADD VALUE IF NOT EXISTS '{value}'\")\n"
        "# use the new value in a later statement (after the block) or revision"
    )


def check(ctx: RevisionContext) -> Iterator[Hit]:
    added: list[tuple[int, str, str]] = []
    for statement in ctx.parsed():
        node = statement.node
        if statement.kind == "AlterEnumStmt" and node.newVal and not node.oldVal:
            type_name = ".".join(pg.dotted(node.typeName))
            if statement.transaction is not None and not ctx.version_at_least(12):
                yield Hit(
                    f"before PostgreSQL 12, ALTER TYPE {type_name} ADD VALUE cannot run inside a"
                    " transaction block: the migration fails",
                    _recipe(type_name, node.newVal),
                    statement=statement,
                )
            elif statement.transaction is not None:
                added.append((statement.transaction, type_name, node.newVal))
            continue
        for transaction, type_name, value in added:
            if statement.transaction == transaction and f"'{value}'" in statement.text:
                yield Hit(
                    f"the enum value {value!r} added to {type_name} is used before the transaction"
                    " that added it commits: PostgreSQL fails with 'unsafe use of new value'",
                    _recipe(type_name, value),
                    statement=statement,
                )


RULE = Rule(
    "enum-value-used-same-transaction",
    Severity.ERROR,
    "new enum value used in the transaction that added it",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
