"""mysql-enum-set-copy: ENUM changes other than appending at the end copy the table.

## What it flags

``alter_column(..., type_=sa.Enum(...))`` of an existing ENUM column (the old values from
``existing_type=`` or the replayed history) whose new values do not start with the old ones in
the same order (a value removed, renamed, reordered or inserted before the end), or that crosses
255 values. SET columns are not judged.

## Why

MySQL / MariaDB: appending values at the end of an ENUM changes only metadata (INSTANT or
INPLACE) as long as the storage size stays the same (up to 255 values). Any other change makes
the server copy the table: writes are blocked for the copy, and replicas replay it afterwards.

## Example

```python dialect=mysql
op.alter_column(
    "orders",
    "status",
    type_=sa.Enum("new", "paid", "shipped"),
    existing_type=sa.Enum("new", "shipped"),
)
```

## Fix

Append new values at the end:

```python dialect=mysql
op.alter_column(
    "orders",
    "status",
    type_=sa.Enum("new", "shipped", "paid"),
    existing_type=sa.Enum("new", "shipped"),
)
```
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from ..context import RevisionContext, column_name_of, table_of
from ..model import Severity
from . import MYSQL, Hit, Rule


def check(ctx: RevisionContext) -> Iterator[Hit]:
    for call in ctx.calls("alter_column"):
        table = table_of(call)
        new = call.kwargs.get("type_")
        column = column_name_of(call)
        old = call.kwargs.get("existing_type") or ctx.state.column_type(table, column)
        if new is None or old is None or ctx.is_new_table(table, call.seq):
            continue
        new, old = sa.types.to_instance(new), sa.types.to_instance(old)
        if not (isinstance(new, sa.Enum) and isinstance(old, sa.Enum)):
            continue
        old_values, new_values = list(old.enums), list(new.enums)
        appended = new_values[: len(old_values)] == old_values
        crosses = (len(old_values) <= 255) != (len(new_values) <= 255)
        if appended and not crosses:
            continue
        yield Hit(
            f"changing the ENUM of {table}.{column} other than by appending values at the end (or"
            " crossing 255 values) makes MySQL copy the table: writes are blocked",
            f'op.alter_column("{table}", "{column}",'
            f" type_=sa.Enum({', '.join(map(repr, old_values))}, <new values last>))",
            op=call,
        )


RULE = Rule(
    "mysql-enum-set-copy",
    Severity.ERROR,
    "ENUM change that copies the table",
    MYSQL,
    check,
    group="MySQL / MariaDB",
)
