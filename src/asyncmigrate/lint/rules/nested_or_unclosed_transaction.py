"""nested-or-unclosed-transaction: explicit BEGIN/COMMIT/ROLLBACK inside a revision.

## What it flags

A ``BEGIN``, ``START TRANSACTION``, ``COMMIT`` or ``ROLLBACK`` that the revision issues itself
through ``op.execute`` (Alembic's own transaction statements are not flagged).

## Why

PostgreSQL: Alembic already runs the revision in a transaction and writes the version row in it.
A ``COMMIT`` in the middle commits part of the revision early, so a later failure leaves it half
applied with no version row to say so; a ``BEGIN`` inside a transaction only warns and is
ignored; a ``ROLLBACK`` throws away work Alembic believes was done.

## Example

```python
op.execute("COMMIT")
op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
```

## Fix

Use Alembic's own transaction control for statements that must run outside a transaction:

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
    for statement in ctx.parsed("TransactionStmt"):
        kind = pg.transaction_kind(statement.node)
        if not statement.explicit or kind not in ("BEGIN", "START", "COMMIT", "ROLLBACK"):
            continue
        yield Hit(
            f"an explicit {kind} inside the revision fights Alembic's own transaction: work is"
            " committed early, or the version row is written outside it",
            "with op.get_context().autocommit_block():\n"
            "    ...  # statements that must run outside a transaction",
            statement=statement,
        )


RULE = Rule(
    "nested-or-unclosed-transaction",
    Severity.ERROR,
    "explicit BEGIN/COMMIT in a revision",
    POSTGRESQL,
    check,
    group="Transaction mode",
)
