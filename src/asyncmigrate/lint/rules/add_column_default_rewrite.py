"""add-column-default-rewrite: a column default that forces a table rewrite.

## What it flags

``ADD COLUMN`` on an existing table with a default that makes the server write every row:

- PostgreSQL: a volatile default (any function not known to be stable or immutable, such as
  ``gen_random_uuid()``, ``clock_timestamp()``, ``random()``, ``nextval(...)``); before
  PostgreSQL 11, any non-NULL default.
- MySQL / MariaDB: a ``server_default`` that is an expression (``(UUID())``, ``now()``); on
  servers older than MySQL 8.0.12 or MariaDB 10.3.2, any non-NULL default.

## Why

PostgreSQL: since version 11 a constant or stable default (``now()``, ``'{}'``, ``0``) is stored
once in the catalogue ("fast default") and the ALTER is instant. A volatile default has to be
computed per row, so the whole table is rewritten under an ACCESS EXCLUSIVE lock: no reads, no
writes, for as long as the copy takes, plus twice the disk while it runs.

MySQL / MariaDB: a literal default is added INSTANT on MySQL >= 8.0.12 and MariaDB >= 10.3.2.
An expression default rebuilds the table; writes are blocked for the copy, and replicas replay
the rebuild afterwards (replica lag).

## Example

```python
op.add_column(
    "users",
    sa.Column("token", sa.Uuid(), server_default=sa.text("gen_random_uuid()")),
)
```

```python dialect=mysql version=8.0
op.add_column(
    "users",
    sa.Column("created_at", sa.DateTime(), server_default=sa.text("(now())")),
)
```

## Fix

Add the column without a default, set the default for new rows only, and fill the old rows in
batches in a later revision or a script:

```python
op.add_column("users", sa.Column("token", sa.Uuid(), nullable=True))
op.alter_column("users", "token", server_default=sa.text("gen_random_uuid()"))
# later: UPDATE users SET token = gen_random_uuid() WHERE id BETWEEN ... (in batches)
```
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import pg
from ..context import RevisionContext, added_columns, is_literal_sql, server_default_sql
from ..model import Severity
from . import Hit, Rule, per_dialect


def _recipe(table: str, column: str) -> str:
    return (
        f'op.add_column("{table}", sa.Column("{column}", ..., nullable=True))  # no default\n'
        f'op.alter_column("{table}", "{column}", server_default=...)  # new rows only\n'
        "# backfill old rows in batches in a later revision, then SET NOT NULL if needed"
    )


def _postgresql(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        column = pg.added_column(cmd)
        if column is None:
            continue
        default = pg.column_constraint(column, "DEFAULT")
        if not default:
            continue
        expr = default.raw_expr
        if type(expr).__name__ == "A_Const" and expr.isnull:
            continue
        volatile = pg.is_volatile(expr)
        if not volatile and ctx.version_at_least(11):
            continue
        table = pg.relation_name(statement.node) or ""
        why = (
            "its default is volatile (computed per row)"
            if volatile
            else "before PostgreSQL 11 every non-NULL default is written into each row"
        )
        yield Hit(
            f"adding {column.colname!r} with a default rewrites all of {table!r} under an ACCESS"
            f" EXCLUSIVE lock: {why}",
            _recipe(table, column.colname),
            statement=statement,
        )


def _mysql(ctx: RevisionContext) -> Iterator[Hit]:
    instant = (10, 3, 2) if ctx.dialect == "mariadb" else (8, 0, 12)
    for call, table, column in added_columns(ctx):
        default = server_default_sql(column)
        if default is None or default.upper() == "NULL":
            continue
        if is_literal_sql(default) and ctx.version_at_least(*instant):
            continue
        why = "an expression default" if not is_literal_sql(default) else "a default on this server version"
        yield Hit(
            f"adding {column.name!r} with {why} ({default}) rebuilds {table!r}: writes are blocked"
            " for the copy (literal defaults are INSTANT on MySQL >= 8.0.12, MariaDB >= 10.3.2)",
            _recipe(table, column.name),
            op=call,
        )


RULE = Rule(
    "add-column-default-rewrite",
    Severity.ERROR,
    "a column default that rewrites the table",
    *per_dialect(postgresql=_postgresql, mysql=_mysql),
    group="PostgreSQL: locks and rewrites",
)
