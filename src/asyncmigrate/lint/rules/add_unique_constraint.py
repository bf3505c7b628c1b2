"""add-unique-constraint: ``ADD CONSTRAINT ... UNIQUE`` that builds its index under the lock.

## What it flags

A UNIQUE constraint added to a table that this revision did not create, other than ``UNIQUE
USING INDEX``: ``op.create_unique_constraint``, raw SQL, and ``add_column(Column(...,
unique=True))``, which only the rendered SQL shows.

## Why

PostgreSQL: the constraint builds its unique index while holding an ACCESS EXCLUSIVE lock on the
table: reads and writes wait for the whole build, minutes on a big table. An index built
``CONCURRENTLY`` beforehand can be turned into the constraint with ``USING INDEX``, which is
instant.

## Example

```python
op.create_unique_constraint("uq_users_email", "users", ["email"])
```

## Fix

```python
with op.get_context().autocommit_block():
    op.create_index(
        "uq_users_email", "users", ["email"], unique=True,
        postgresql_concurrently=True, if_not_exists=True,
    )
op.execute("ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE USING INDEX uq_users_email")
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

RECIPE = """with op.get_context().autocommit_block():
    op.create_index("{n}", "{t}", [...], unique=True, postgresql_concurrently=True, if_not_exists=True)
op.execute("ALTER TABLE {t} ADD CONSTRAINT {n} UNIQUE USING INDEX {n}")"""


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, table, constraint in added_constraints(ctx, "UNIQUE"):
        if constraint.indexname:
            continue
        name = constraint.conname or f"uq_{table}"
        yield Hit(
            f"adding UNIQUE {name} builds an index on {table!r} under an ACCESS EXCLUSIVE lock:"
            " reads and writes wait for the whole build",
            RECIPE.format(n=name, t=table),
            statement=statement,
        )


RULE = Rule(
    "add-unique-constraint",
    Severity.ERROR,
    "UNIQUE constraint added without USING INDEX",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
