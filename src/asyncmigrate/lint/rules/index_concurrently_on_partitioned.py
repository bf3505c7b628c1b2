"""index-concurrently-on-partitioned: CREATE INDEX CONCURRENTLY on a partitioned parent fails.

## What it flags

``CREATE INDEX CONCURRENTLY`` on a table known to be partitioned: created with ``PARTITION BY``
earlier in this revision or in the replayed history.

## Why

PostgreSQL: the statement is an error ("cannot create index on partitioned table ...
concurrently"), so the migration fails at deploy time. A non-concurrent index on the parent
works, but locks every partition against writes for the whole build.

## Example

```python history
op.execute(
    "CREATE TABLE measurements (id bigint, taken_at date) PARTITION BY RANGE (taken_at)"
)
```

```python
with op.get_context().autocommit_block():
    op.create_index(
        "ix_measurements_taken_at", "measurements", ["taken_at"], postgresql_concurrently=True
    )
```

## Fix

Create the parent's index ``ON ONLY`` the parent (instant; invalid until every partition has
one), build each partition's index concurrently, and attach it:

```python
op.execute("CREATE INDEX ix_measurements_taken_at ON ONLY measurements (taken_at)")
with op.get_context().autocommit_block():
    op.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_m2026_taken_at"
        " ON measurements_2026 (taken_at)"
    )
    op.execute("ALTER INDEX ix_measurements_taken_at ATTACH PARTITION ix_m2026_taken_at")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    partitioned = set(ctx.state.partitioned)
    for statement in ctx.parsed("CreateStmt", "IndexStmt"):
        node = statement.node
        if statement.kind == "CreateStmt" and node.partspec is not None:
            partitioned.add(node.relation.relname)
        elif statement.kind == "IndexStmt" and node.concurrent and pg.relation_name(node) in partitioned:
            table = pg.relation_name(node)
            name = node.idxname or "ix_name"
            yield Hit(
                f"{table!r} is partitioned: CREATE INDEX CONCURRENTLY on it fails with 'cannot create"
                " index on partitioned table concurrently'",
                f'op.execute("CREATE INDEX {name} ON ONLY {table} (...)")  # invalid until attached\n'
                "with op.get_context().autocommit_block():\n"
                "    # for each partition p:\n"
                '    op.execute("CREATE INDEX CONCURRENTLY p_idx ON p (...)")\n'
                f'    op.execute("ALTER INDEX {name} ATTACH PARTITION p_idx")',
                statement=statement,
            )


RULE = Rule(
    "index-concurrently-on-partitioned",
    Severity.ERROR,
    "CREATE INDEX CONCURRENTLY on a partitioned table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
