"""unique-index-may-fail: (advisory) a unique index on existing data may hit duplicates.

## What it flags

A ``CREATE UNIQUE INDEX`` (concurrent or not) or an ``ADD CONSTRAINT ... UNIQUE`` (not ``USING
INDEX``) on a table that this revision did not create.

## Why

PostgreSQL: whether it succeeds depends on the data, not on the code: it passes on a development
database and fails in production on the first duplicate. A failed ``CREATE UNIQUE INDEX
CONCURRENTLY`` also leaves an INVALID index behind, which still slows every write and makes a
re-run fail on the name. Advisory, since the linter cannot see the data.

## Example

```python
with op.get_context().autocommit_block():
    op.create_index(
        "uq_users_email", "users", ["email"], unique=True, postgresql_concurrently=True
    )
```

## Fix

Look for duplicates first (and clean them up), then say on the line that you did:

```sql
SELECT email, count(*) FROM users GROUP BY email HAVING count(*) > 1;
```

```python
with op.get_context().autocommit_block():
    op.create_index(
        "uq_users_email", "users", ["email"], unique=True,
        postgresql_concurrently=True, if_not_exists=True,
    )  # asyncmigrate: ignore[unique-index-may-fail] deduplicated in 2.3
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext, added_constraints
from ..model import Severity
from . import POSTGRESQL, Hit, Rule

_RECIPE = (
    "# check first: SELECT <columns>, count(*) FROM <table> GROUP BY <columns> HAVING count(*) > 1\n"
    "# a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an INVALID index behind"
)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for statement in ctx.parsed("IndexStmt"):
        table = pg.relation_name(statement.node)
        if statement.node.unique and not ctx.is_new_table(statement.node.relation, statement.seq):
            yield Hit(
                f"the unique index on {table!r} fails if existing rows have duplicates", _RECIPE, statement
            )
    for statement, table, constraint in added_constraints(ctx, "UNIQUE"):
        if not constraint.indexname:
            yield Hit(
                f"the UNIQUE constraint on {table!r} fails if existing rows have duplicates",
                _RECIPE,
                statement,
            )


RULE = Rule(
    "unique-index-may-fail",
    Severity.ADVISORY,
    "unique index on existing data",
    POSTGRESQL,
    check,
    group="Data dependent",
)
