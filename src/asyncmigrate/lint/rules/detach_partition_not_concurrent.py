"""detach-partition-not-concurrent: ``DETACH PARTITION`` without ``CONCURRENTLY``.

## What it flags

``ALTER TABLE parent DETACH PARTITION child`` without ``CONCURRENTLY``, on a parent table that
this revision did not create.

## Why

PostgreSQL: a plain detach takes an ACCESS EXCLUSIVE lock on the partitioned parent, so every
query on any partition of the table waits, and the lock request itself queues behind running
transactions. ``DETACH PARTITION ... CONCURRENTLY`` (PostgreSQL 14 and later) takes only SHARE
UPDATE EXCLUSIVE on the parent; it cannot run inside a transaction.

## Example

```python
op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2020")
```

## Fix

```python
with op.get_context().autocommit_block():
    op.execute("ALTER TABLE measurements DETACH PARTITION measurements_2020 CONCURRENTLY")
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
        if not pg.is_cmd(cmd, "AT_DetachPartition") or cmd.def_.concurrent:
            continue
        parent = pg.relation_name(statement.node)
        child = getattr(cmd.def_.name, "relname", "<partition>")
        yield Hit(
            f"DETACH PARTITION {child} takes an ACCESS EXCLUSIVE lock on the parent {parent!r}:"
            " every query on the partitioned table waits",
            "with op.get_context().autocommit_block():  # PostgreSQL >= 14\n"
            f'    op.execute("ALTER TABLE {parent} DETACH PARTITION {child} CONCURRENTLY")',
            statement=statement,
        )


RULE = Rule(
    "detach-partition-not-concurrent",
    Severity.ERROR,
    "DETACH PARTITION without CONCURRENTLY",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
