"""sqlite-batch-referenced-table: batch mode recreating a table that other tables reference.

## What it flags

``op.batch_alter_table("t")`` whose operations make Alembic recreate the table (everything but
index changes and ``add_column`` with a constant or no server default, unless
``recreate="never"``), when other tables reference ``t`` with a foreign key, in the replayed
history or earlier in this revision.

## Why

SQLite: batch mode copies the rows into a new table, drops the old one and renames the new one.
With ``PRAGMA foreign_keys=ON`` the ``DROP TABLE`` of the old table runs an implicit DELETE:
children with ``ON DELETE CASCADE`` are silently wiped, and other children make the migration
fail with "FOREIGN KEY constraint failed". The pragma cannot be changed inside a transaction,
so it has to be off before the migration's transaction begins.

## Example

```python history
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.String(255)))
op.create_table(
    "orders",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
)
```

```python dialect=sqlite
with op.batch_alter_table("users") as batch_op:
    batch_op.alter_column("email", type_=sa.String(320))
```

## Fix

Turn foreign keys off on the connection before Alembic begins its transaction (in ``env.py``, or
the engine's connect event), check them after with ``PRAGMA foreign_key_check``, and say so on
the line, since the linter cannot see the connection:

```python dialect=sqlite
with op.batch_alter_table(
    "users"  # asyncmigrate: ignore[sqlite-batch-referenced-table] foreign_keys off in env.py
) as batch_op:
    batch_op.alter_column("email", type_=sa.String(320))
```
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from ..context import RevisionContext
from ..model import Severity
from ..state import column_argument, referenced_tables
from . import SQLITE, Hit, Rule


def _needs_recreate(call: object) -> bool:
    """Alembic's own test (SQLiteImpl.requires_recreate_in_batch): only index changes and
    add_column with a constant (or no) server default avoid the move-and-copy."""
    name = call.name  # type: ignore[attr-defined]
    if name in ("create_index", "drop_index"):
        return False
    if name != "add_column":
        return True
    column = column_argument(call)  # type: ignore[arg-type]
    default = getattr(column, "server_default", None)
    if isinstance(default, sa.DefaultClause) and isinstance(default.arg, sa.sql.ClauseElement):
        return True
    return isinstance(default, sa.Computed) and bool(default.persisted)


def _referencing_in_revision(ctx: RevisionContext, table: str, before: int) -> set[str]:
    children = set()
    for call in ctx.calls("create_table", "add_column", "create_foreign_key"):
        if call.seq > before:
            continue
        items = call.args[1:] if call.name == "create_table" else [column_argument(call)]
        if any(table in referenced_tables(item) for item in items):
            children.add(call.arg(0, "table_name"))
        if call.name == "create_foreign_key" and call.arg(2, "referent_table") == table:
            children.add(call.arg(1, "source_table"))
    return children - {table}


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for batch in ctx.calls("batch_alter_table"):
        table = batch.arg(0, "table_name")
        inner = [c for c in ctx.ops if c.batch_table == table and c.seq > batch.seq]
        recreate = batch.kwargs.get("recreate", "auto")
        if recreate == "never" or (recreate == "auto" and not any(_needs_recreate(c) for c in inner)):
            continue
        if ctx.is_new_table(table, batch.seq):
            continue
        children = ctx.state.referencing(table) | _referencing_in_revision(ctx, table, batch.seq)
        if not children:
            continue
        yield Hit(
            f"batch mode recreates {table!r}, which {', '.join(sorted(children))} reference: with"
            " PRAGMA foreign_keys=ON the DROP of the old table deletes (ON DELETE CASCADE) or fails",
            'op.execute("PRAGMA foreign_keys=OFF")  # outside the transaction: set it in env.py\n'
            f'with op.batch_alter_table("{table}") as batch_op:\n'
            "    ...\n"
            'op.execute("PRAGMA foreign_keys=ON")',
            op=batch,
        )


RULE = Rule(
    "sqlite-batch-referenced-table",
    Severity.ERROR,
    "batch mode recreating a referenced table",
    SQLITE,
    check,
    group="SQLite batch mode",
)
