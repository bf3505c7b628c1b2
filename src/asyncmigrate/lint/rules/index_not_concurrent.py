"""index-not-concurrent: ``CREATE INDEX`` without ``CONCURRENTLY`` on an existing table.

## What it flags

A ``CREATE [UNIQUE] INDEX`` (``op.create_index``, or ``index=True`` on an added column, which
Alembic renders as a separate ``CREATE INDEX``) on a table that this revision did not create,
without ``CONCURRENTLY``. Not flagged: tables created earlier in the same revision (empty and
unused), and ``CREATE INDEX ... ON ONLY parent`` on a partitioned table, which builds nothing.

## Why

PostgreSQL: a plain index build takes a SHARE lock on the table for the whole build. Reads go on,
but every INSERT, UPDATE and DELETE waits until the index is finished, which on a big table is
minutes to hours. ``CREATE INDEX CONCURRENTLY`` takes SHARE UPDATE EXCLUSIVE instead and lets
writes through; it cannot run inside a transaction, so Alembic needs ``autocommit_block()``.

## Example

```python
op.create_index("ix_users_email", "users", ["email"])
```

## Fix

Build it concurrently, outside Alembic's transaction, and make it re-runnable (a failed
concurrent build leaves an INVALID index behind):

```python
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
    for statement in ctx.parsed("IndexStmt"):
        node = statement.node
        table = pg.relation_name(node)
        if node.concurrent or ctx.is_new_table(node.relation, statement.seq):
            continue
        if node.relation is not None and node.relation.inh is False:
            # ON ONLY a partitioned parent: builds nothing, the index stays invalid until attached
            continue
        name = node.idxname or "ix_name"
        unique = ", unique=True" if node.unique else ""
        yield Hit(
            f"CREATE INDEX on existing table {table!r} takes a SHARE lock: every INSERT, UPDATE and"
            " DELETE waits until the whole index is built",
            "with op.get_context().autocommit_block():\n"
            f'    op.create_index("{name}", "{table}", {pg.index_columns(node)}{unique},'
            " postgresql_concurrently=True, if_not_exists=True)",
            statement=statement,
        )


RULE = Rule(
    "index-not-concurrent",
    Severity.ERROR,
    "CREATE INDEX without CONCURRENTLY on an existing table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
