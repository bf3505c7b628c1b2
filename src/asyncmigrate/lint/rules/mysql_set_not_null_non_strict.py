"""mysql-set-not-null-non-strict: NOT NULL on an existing MySQL column.

## What it flags

``alter_column(..., nullable=False)`` of a column of an existing table on MySQL / MariaDB, unless
the column is already NOT NULL (``existing_nullable=False`` or the replayed history). The linter
cannot see the server's ``sql_mode``, so every such change is flagged.

## Why

MySQL / MariaDB: without ``STRICT_TRANS_TABLES`` (or ``STRICT_ALL_TABLES``) in ``sql_mode``, the
existing NULLs are silently turned into the type's zero value (``''``, ``0``) instead of failing,
and data is lost without an error. The change also rebuilds the table.

## Example

```python dialect=mysql
op.alter_column("users", "email", nullable=False, existing_type=sa.String(255))
```

## Fix

Fill the NULLs with a real value first, make sure ``sql_mode`` is strict, then say so on the
line:

```python dialect=mysql
op.execute("UPDATE users SET email = '' WHERE email IS NULL")
op.alter_column(
    "users", "email", nullable=False, existing_type=sa.String(255)
)  # asyncmigrate: ignore[mysql-set-not-null-non-strict] backfilled, sql_mode is strict
```
"""

from __future__ import annotations

from collections.abc import Iterator

from ..context import RevisionContext, columns_made_not_null
from ..model import Severity
from . import MYSQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for call, table, column in columns_made_not_null(ctx):
        yield Hit(
            f"making {table}.{column} NOT NULL without strict sql_mode silently turns existing NULLs"
            " into zero values (and copies the table)",
            f'op.execute("UPDATE {table} SET {column} = <value> WHERE {column} IS NULL")  # backfill first\n'
            "# and make sure sql_mode includes STRICT_TRANS_TABLES",
            op=call,
        )


RULE = Rule(
    "mysql-set-not-null-non-strict",
    Severity.WARNING,
    "NOT NULL on an existing MySQL column",
    MYSQL,
    check,
    group="MySQL / MariaDB",
)
