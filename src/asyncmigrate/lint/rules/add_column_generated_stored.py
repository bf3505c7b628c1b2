"""add-column-generated-stored: adding a ``GENERATED ALWAYS AS (...) STORED`` column.

## What it flags

``ADD COLUMN ... GENERATED ALWAYS AS (expression) STORED`` (``sa.Computed(...)``) on a table that
this revision did not create.

## Why

PostgreSQL: a stored generated column is computed and written for every existing row, so the
whole table is rewritten under an ACCESS EXCLUSIVE lock (reads and writes blocked) for as long
as the copy takes. The default (fast) path of ``ADD COLUMN`` does not apply to it.

## Example

```python
op.add_column(
    "orders",
    sa.Column("total", sa.Numeric(), sa.Computed("price * quantity", persisted=True)),
)
```

## Fix

Add a plain nullable column, keep it up to date with a trigger, and fill the old rows with a
batched backfill (or compute the value in a query or a view):

```python
op.add_column("orders", sa.Column("total", sa.Numeric(), nullable=True))
# CREATE TRIGGER ... BEFORE INSERT OR UPDATE ... SET NEW.total = NEW.price * NEW.quantity
# then backfill old rows in batches
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
        column = pg.added_column(cmd)
        if column is None:
            continue
        generated = pg.column_constraint(column, "GENERATED")
        # pglast 7 (PostgreSQL 17's parser) has no generated_kind: every generated column is STORED
        if not generated or getattr(generated, "generated_kind", "s") != "s":
            continue
        table = pg.relation_name(statement.node)
        yield Hit(
            f"adding the STORED generated column {column.colname!r} rewrites all of {table!r}"
            " under an ACCESS EXCLUSIVE lock (reads and writes blocked)",
            f'op.add_column("{table}", sa.Column("{column.colname}", ...))  # plain, nullable\n'
            "# then a trigger keeps it up to date, and a batched backfill fills old rows",
            statement=statement,
        )


RULE = Rule(
    "add-column-generated-stored",
    Severity.ERROR,
    "adding a STORED generated column rewrites the table",
    POSTGRESQL,
    check,
    group="PostgreSQL: locks and rewrites",
)
