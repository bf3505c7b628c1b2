"""concurrently-in-transaction: CONCURRENTLY (or VACUUM) inside Alembic's transaction.

## What it flags

``CREATE INDEX CONCURRENTLY``, ``DROP INDEX CONCURRENTLY``, ``REINDEX ... CONCURRENTLY``,
``DETACH PARTITION ... CONCURRENTLY`` and ``VACUUM`` rendered inside a transaction, that is
outside ``op.get_context().autocommit_block()``.

## Why

PostgreSQL refuses them inside a transaction block ("... cannot run inside a transaction
block"), and Alembic runs every revision in one: the migration fails at deploy time.
``postgresql_concurrently=True`` alone is not enough.

## Example

```python
op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
```

## Fix

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
from ..model import SOURCE_LINE, Severity
from . import POSTGRESQL, Hit, Rule


def _concurrent(statement: object) -> bool:
    node = statement.node  # type: ignore[attr-defined]
    kind = statement.kind  # type: ignore[attr-defined]
    if kind in ("IndexStmt", "DropStmt"):
        return bool(node.concurrent)
    if kind == "ReindexStmt":
        return pg.has_option(node, "concurrently")
    if kind == "VacuumStmt":
        return bool(node.is_vacuumcmd)
    return any(
        pg.is_cmd(cmd, "AT_DetachPartition") and cmd.def_.concurrent for cmd in pg.alter_commands(node)
    )


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed():
        if statement.transaction is None or not _concurrent(statement):
            continue
        first_line = statement.text.splitlines()[0]
        yield Hit(
            f"{first_line[:60]} cannot run inside a transaction block, and Alembic runs this"
            " revision in one: the migration fails at deploy time",
            f"with op.get_context().autocommit_block():\n    {SOURCE_LINE}",
            statement=statement,
        )


RULE = Rule(
    "concurrently-in-transaction",
    Severity.ERROR,
    "CONCURRENTLY or VACUUM inside a transaction",
    POSTGRESQL,
    check,
    group="Transaction mode",
)
