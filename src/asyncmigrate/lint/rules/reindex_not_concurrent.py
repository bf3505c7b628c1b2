"""reindex-not-concurrent: ``REINDEX`` without ``CONCURRENTLY``.

## What it flags

Any ``REINDEX`` statement (index, table, schema or database) run through ``op.execute`` without
the ``CONCURRENTLY`` option.

## Why

PostgreSQL: a plain ``REINDEX`` takes a SHARE lock on the table, so writes are blocked for the
whole rebuild, and it locks the index itself exclusively, so reads that would use the index
block too. ``REINDEX CONCURRENTLY`` (PostgreSQL 12 and later) rebuilds beside the old index and
swaps it in, letting reads and writes through; it cannot run inside a transaction.

## Example

```python
op.execute("REINDEX INDEX ix_users_email")
```

## Fix

```python
with op.get_context().autocommit_block():
    op.execute("REINDEX INDEX CONCURRENTLY ix_users_email")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("ReindexStmt"):
        if pg.has_option(statement.node, "concurrently"):
            continue
        target = pg.relation_name(statement.node) or statement.node.name or "..."
        yield Hit(
            f"REINDEX {target} takes a SHARE lock on the table (writes blocked) and blocks reads"
            " that would use the index until the rebuild ends",
            "with op.get_context().autocommit_block():\n"
            f'    op.execute("REINDEX INDEX CONCURRENTLY {target}")  # PostgreSQL >= 12',
            statement=statement,
        )


RULE = Rule(
    "reindex-not-concurrent",
    Severity.ERROR,
    "REINDEX without CONCURRENTLY",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
