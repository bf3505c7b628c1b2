"""index-build-corruption-pg14: CONCURRENTLY index builds on PostgreSQL 14.0 to 14.3.

## What it flags

``CREATE INDEX CONCURRENTLY`` and ``REINDEX ... CONCURRENTLY`` when the PostgreSQL version linted
for (the live server, ``--pg-version`` or the config) is 14.0 to 14.3.

## Why

PostgreSQL 14.0 to 14.3 have a bug that can silently corrupt indexes built or rebuilt
concurrently while rows are being updated: queries then miss rows, with no error. It was fixed
in 14.4, which also advises rebuilding such indexes.

## Example

```python version=14.2
with op.get_context().autocommit_block():
    op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
```

## Fix

Upgrade the server to 14.4 or later before running the migration; the same revision is then
fine:

```python version=14.4
with op.get_context().autocommit_block():
    op.create_index(
        "ix_users_email", "users", ["email"], postgresql_concurrently=True, if_not_exists=True
    )
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext
from ..model import Severity
from . import POSTGRESQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    if not ((14,) <= ctx.version < (14, 4)):
        return
    for statement in ctx.parsed("IndexStmt", "ReindexStmt"):
        node = statement.node
        concurrent = node.concurrent if statement.kind == "IndexStmt" else pg.has_option(node, "concurrently")
        if concurrent:
            yield Hit(
                "PostgreSQL 14.0-14.3 can silently corrupt indexes built or rebuilt CONCURRENTLY",
                "# upgrade the server to 14.4 or later before running this migration",
                statement=statement,
            )


RULE = Rule(
    "index-build-corruption-pg14",
    Severity.ERROR,
    "CONCURRENTLY index build on PostgreSQL 14.0-14.3",
    POSTGRESQL,
    check,
    group="Transaction mode",
)
