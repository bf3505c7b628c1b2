"""add-column-required: a NOT NULL column without a server default on an existing table.

## What it flags

``ADD COLUMN ... NOT NULL`` on a table that this revision did not create, with no server-side
default, identity, serial or generated expression. The usual trap is SQLAlchemy's ``default=``:
it lives in Python only and never reaches the DDL.

## Why

PostgreSQL and SQLite: the ALTER fails as soon as the table has a row (existing rows would be
NULL), so the migration passes on an empty development database and fails in production.

MySQL / MariaDB: the ALTER succeeds and silently fills existing rows with the type's zero value
(``''``, ``0``, ``0000-00-00``).

Everywhere: the running release does not know the column, so its INSERTs fail once it is NOT
NULL without a default.

## Example

```python
op.add_column(
    "users", sa.Column("status", sa.String(20), nullable=False, default="active")
)
```

```python dialect=mysql
op.add_column("users", sa.Column("status", sa.String(20), nullable=False))
```

```python dialect=sqlite
op.add_column("users", sa.Column("status", sa.String(20), nullable=False))
```

## Fix

If one constant fits every row, make it the server default and keep it (instant on PostgreSQL
11+, MySQL 8.0.12+, MariaDB 10.3.2+), so the old release can still insert:

```python
op.add_column(
    "users", sa.Column("status", sa.String(20), nullable=False, server_default="active")
)
```

Otherwise add it nullable, backfill in batches, then make it NOT NULL (see ``set-not-null``):

```python
op.add_column("users", sa.Column("status", sa.String(20), nullable=True))
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from .. import pg
from ..context import RevisionContext, added_columns, type_code
from ..model import Severity
from ..state import column_argument
from . import Hit, Rule, per_dialect
from .add_column_auto_increment import SERIAL_TYPES

_RECIPE = """op.add_column("{t}", sa.Column("{c}", {type}, nullable=True))
# backfill in batches, then make it NOT NULL (see set-not-null);
# or, if one constant fits every row, keep it as the server default:
op.add_column("{t}", sa.Column("{c}", {type}, nullable=False, server_default=<constant>))"""


def _message(table: str, column: str, python_default: bool, dialect: str) -> str:
    outcome = (
        "MySQL silently fills existing rows with the zero value"
        if dialect in ("mysql", "mariadb")
        else "the ALTER fails as soon as the table has rows"
    )
    trap = " (its default= is Python-side only and never reaches the database)" if python_default else ""
    return (
        f"{table}.{column} is added NOT NULL with no server default{trap}: {outcome}, and the"
        " running release cannot insert rows without it"
    )


def _python_default(ctx: RevisionContext, table: str, name: str, call: Any) -> bool:
    column = column_argument(call) if call is not None and call.name == "add_column" else None
    return ctx.python_default_only(table, column if isinstance(column, sa.Column) else name)


def _op_type(call: Any) -> Any:
    column = column_argument(call) if call is not None and call.name == "add_column" else None
    return column.type if isinstance(column, sa.Column) else None


def _postgresql(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        column = pg.added_column(cmd)
        if column is None:
            continue
        not_null = column.is_not_null or pg.column_constraint(column, "NOTNULL") is not None
        generated = any(pg.column_constraint(column, kind) for kind in ("DEFAULT", "IDENTITY", "GENERATED"))
        if not not_null or generated or pg.type_name(column) in SERIAL_TYPES:
            continue
        table = pg.relation_name(statement.node) or ""
        yield Hit(
            _message(
                table, column.colname, _python_default(ctx, table, column.colname, statement.op), ctx.dialect
            ),
            _RECIPE.format(t=table, c=column.colname, type=type_code(_op_type(statement.op))),
            statement=statement,
        )


def _from_ops(ctx: RevisionContext) -> Iterator[Hit]:
    for call, table, column in added_columns(ctx):
        if column.nullable or column.server_default is not None or column.computed is not None:
            continue
        if column.primary_key and column.autoincrement is not False:
            continue
        yield Hit(
            _message(table, column.name, ctx.python_default_only(table, column), ctx.dialect),
            _RECIPE.format(t=table, c=column.name, type=type_code(column.type)),
            op=call,
        )


RULE = Rule(
    "add-column-required",
    Severity.ERROR,
    "NOT NULL column added without a server default",
    *per_dialect(postgresql=_postgresql, mysql=_from_ops, sqlite=_from_ops),
    group="Backward compatibility",
)
