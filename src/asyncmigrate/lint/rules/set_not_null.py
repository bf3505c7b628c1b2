"""set-not-null: making an existing column NOT NULL.

## What it flags

``ALTER COLUMN ... SET NOT NULL`` (``alter_column(..., nullable=False)``) on a table that this
revision did not create. Not flagged: a column already NOT NULL (``existing_nullable=False``, or
so in the replayed history), where nothing changes; and on PostgreSQL 12 and later a column that
a validated ``CHECK (col IS NOT NULL)`` already proves, from an earlier revision or an earlier
statement of this one.

## Why

PostgreSQL: ``SET NOT NULL`` scans the whole table to prove there are no NULLs, under an ACCESS
EXCLUSIVE lock (reads and writes blocked for the whole scan). From PostgreSQL 12 a validated
CHECK constraint that proves the same thing lets it skip the scan.

SQLite: batch mode recreates the table and copies the rows into it; the copy fails on the first
NULL, and the migration stops half-way through the batch.

## Example

```python
op.alter_column("users", "email", nullable=False)
```

```python dialect=sqlite
with op.batch_alter_table("users") as batch_op:
    batch_op.alter_column("email", nullable=False)
```

## Fix

PostgreSQL 12 and later: prove it with a CHECK added NOT VALID and validated outside the
transaction (SHARE UPDATE EXCLUSIVE only), after which ``SET NOT NULL`` does not scan:

```python
op.create_check_constraint(
    "ck_users_email_not_null", "users", "email IS NOT NULL", postgresql_not_valid=True
)
with op.get_context().autocommit_block():
    op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_email_not_null")
op.alter_column("users", "email", nullable=False)
op.drop_constraint("ck_users_email_not_null", "users", type_="check")
```

SQLite: fill the NULLs first, then make the column NOT NULL (the copy can then not fail; say so
on the line, since the linter cannot see the data):

```python dialect=sqlite
op.execute("UPDATE users SET email = '' WHERE email IS NULL")
with op.batch_alter_table("users") as batch_op:
    batch_op.alter_column("email", nullable=False)  # asyncmigrate: ignore[set-not-null] backfilled
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..capture import OpCall
from ..context import RevisionContext, already_not_null, alter_call, columns_made_not_null
from ..model import Severity
from ..statements import Statement
from . import Hit, Rule, per_dialect

_PG_RECIPE = """op.create_check_constraint(
    "ck_{t}_{c}_not_null", "{t}", "{c} IS NOT NULL", postgresql_not_valid=True
)
with op.get_context().autocommit_block():
    op.execute("ALTER TABLE {t} VALIDATE CONSTRAINT ck_{t}_{c}_not_null")
op.alter_column("{t}", "{c}", nullable=False)  # PostgreSQL >= 12: no scan now
op.drop_constraint("ck_{t}_{c}_not_null", "{t}", type_="check")"""

_SQLITE_RECIPE = """op.execute("UPDATE {t} SET {c} = <value> WHERE {c} IS NULL")  # backfill first
with op.batch_alter_table("{t}") as batch_op:
    batch_op.alter_column("{c}", nullable=False)"""


def _postgresql(ctx: RevisionContext) -> Iterator[Hit]:
    proven = set(ctx.state.not_null_checks)
    pending = dict(ctx.state.unvalidated_checks)
    for statement in ctx.parsed("AlterTableStmt"):
        table = pg.relation_name(statement.node) or ""
        for cmd in pg.alter_commands(statement.node):
            constraint = pg.added_constraint(cmd)
            if constraint is not None and pg.is_check(constraint):
                column = pg.not_null_check_column(constraint)
                if column and constraint.skip_validation:
                    pending[(table, constraint.conname or "")] = column
                elif column:
                    proven.add((table, column))
            elif pg.is_cmd(cmd, "AT_ValidateConstraint") and (table, cmd.name) in pending:
                proven.add((table, pending.pop((table, cmd.name))))
            elif pg.is_cmd(cmd, "AT_SetNotNull") and not ctx.is_new_table(
                statement.node.relation, statement.seq
            ):
                if ctx.version_at_least(12) and (table, cmd.name) in proven:
                    continue
                if _from_alter_column(statement) and already_not_null(
                    ctx, table, cmd.name, alter_call(ctx, table, cmd.name, statement.seq)
                ):
                    continue  # already NOT NULL: PostgreSQL neither scans nor changes anything
                yield Hit(
                    f"SET NOT NULL on {table}.{cmd.name} scans the whole table under an ACCESS"
                    " EXCLUSIVE lock (reads and writes blocked)",
                    _PG_RECIPE.format(t=table, c=cmd.name),
                    statement=statement,
                )


def _from_alter_column(statement: Statement) -> bool:
    """Rendered by ``alter_column`` (not hand-written SQL, whose intent we cannot see)."""
    op: OpCall | None = statement.op
    return op is None or op.name in ("alter_column", "batch_alter_table")


def _sqlite(ctx: RevisionContext) -> Iterator[Hit]:
    for call, table, column in columns_made_not_null(ctx):
        yield Hit(
            f"making {table}.{column} NOT NULL in batch mode copies the table; the copy fails on"
            " any NULL already there and the migration stops half-way through the batch",
            _SQLITE_RECIPE.format(t=table, c=column),
            op=call,
        )


RULE = Rule(
    "set-not-null",
    Severity.ERROR,
    "SET NOT NULL on an existing column",
    *per_dialect(postgresql=_postgresql, sqlite=_sqlite),
    group="PostgreSQL: locks and rewrites",
)
