"""refresh-matview-not-concurrent: ``REFRESH MATERIALIZED VIEW`` without ``CONCURRENTLY``.

## What it flags

``REFRESH MATERIALIZED VIEW`` of a materialized view that this revision did not create, without
``CONCURRENTLY``.

## Why

PostgreSQL: a plain refresh takes an ACCESS EXCLUSIVE lock on the materialized view for as long
as its query runs: every read of the view waits (and queues behind it) until the revision
commits. ``CONCURRENTLY`` keeps the view readable while it is refreshed (it needs a unique
index on the view, and may run inside the revision's transaction).

## Example

```python
op.execute("REFRESH MATERIALIZED VIEW user_stats")
```

## Fix

Refresh it concurrently (after ``CREATE UNIQUE INDEX ... ON user_stats (...)`` once):

```python
op.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY user_stats")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("RefreshMatViewStmt"):
        node = statement.node
        if node.concurrent or ctx.is_new_table(node.relation, statement.seq):
            continue
        view = pg.relation_name(node)
        yield Hit(
            f"REFRESH MATERIALIZED VIEW {view} locks it (ACCESS EXCLUSIVE): reads wait until the"
            " revision commits",
            f'op.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY {view}")  # needs a unique index',
            statement=statement,
        )


RULE = Rule(
    "refresh-matview-not-concurrent",
    Severity.WARNING,
    "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
