"""possible-rename: a column dropped and one of the same type added to its table, or a table
dropped and one with the same columns created, in one revision.

## What it flags

In one revision, ``drop_column`` of an existing column and ``add_column`` of a new column of the
same type (as the history made it) on the same table: the shape autogenerate gives a renamed
model attribute, since Alembic cannot tell a rename from a drop and an add. Likewise
``drop_table`` of an existing table and ``create_table`` of a new one with the same column names
and types: a renamed model. asyncmigrate's own autogenerate writes a "possible rename" comment
above such an ``add_column`` or ``create_table``; this rule catches it in any revision,
hand-written or generated elsewhere.

## Why

``DROP COLUMN`` throws the column's values away and the added column starts empty (or with its
default); a downgrade cannot bring the data back. When the intent was a rename, the rows are
lost for nothing: ``ALTER TABLE ... RENAME COLUMN`` keeps them on every database, and on
PostgreSQL, MySQL and MariaDB it only touches the catalog. The renamed column still breaks the
previous release while it runs (see ``rename-column``), but the data survives.

## Example

```python history
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("mail", sa.String(100)))
```

```python
op.drop_column("users", "mail")
op.add_column("users", sa.Column("email", sa.String(100)))
```

## Fix

Declare the previous name on the model, ``mapped_column(String(100), info={"renamed_from":
"mail"})``, and autogenerate again; or write the rename yourself:

```python
op.alter_column("users", "mail", new_column_name="email", existing_type=sa.String(100))
```

For a table, ``__table_args__ = {"info": {"renamed_from": "users"}}`` on the model, or
``op.rename_table("users", "accounts")``.

If the old values really are to go, say so in the revision and keep the drop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from ..context import RevisionContext
from ..model import Severity
from ..state import column_argument
from . import ALL_DIALECTS, Hit, Rule


def _same_type(old: Any, new: Any) -> bool:
    return type(old) is type(new) and repr(old) == repr(new)


def _same_columns(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return old.keys() == new.keys() and all(_same_type(old[name], new[name]) for name in old)


def check(ctx: RevisionContext) -> Iterator[Hit]:
    yield from _columns(ctx)
    yield from _tables(ctx)


def _tables(ctx: RevisionContext) -> Iterator[Hit]:
    """A table of the history dropped, and a new one with the same columns created."""
    dropped: list[tuple[str, dict[str, Any]]] = []
    for call in ctx.calls("drop_table"):
        table = call.arg(0, "table_name")
        columns = ctx.state_before(call.seq).columns.get(table)
        if columns and table in ctx.state.columns:  # a table of the history, not one this revision made
            dropped.append((table, columns))
    for call in ctx.calls("create_table"):
        table = call.arg(0, "table_name")
        created = {item.name: item.type for item in call.args[1:] if isinstance(item, sa.Column)}
        if not created or ctx.state_before(call.seq).columns.get(table) is not None:
            continue
        alike = [name for name, columns in dropped if name != table and _same_columns(columns, created)]
        if not alike:
            continue
        old = alike[0]
        yield Hit(
            f"{' or '.join(alike)} is dropped and {table} created, with the same columns:"
            " if this is a rename, the rows are lost (possible rename, data will be lost)",
            f'op.rename_table("{old}", "{table}")\n'
            f'# or, from the models: __table_args__ = {{"info": {{"renamed_from": "{old}"}}}}, then'
            " autogenerate",
            op=call,
        )


def _columns(ctx: RevisionContext) -> Iterator[Hit]:
    """A column of the history dropped, and one of its type added to its table."""
    dropped: list[tuple[str, str, Any]] = []
    for call in ctx.calls("drop_column"):
        table = call.batch_table or call.arg(0, "table_name")
        column = call.arg(0, "column_name") if call.batch_table else call.arg(1, "column_name")
        type_ = ctx.state_before(call.seq).column_type(table, column)
        # a column of the history (not one this revision added) of a known type
        if type_ is not None and ctx.state.column_type(table, column) is not None:
            dropped.append((table, column, type_))
    for call in ctx.calls("add_column"):
        table = call.batch_table or call.arg(0, "table_name")
        column = column_argument(call)
        if not isinstance(column, sa.Column):
            continue
        alike = [name for where, name, type_ in dropped if where == table and _same_type(type_, column.type)]
        if not alike:
            continue
        old = alike[0]
        yield Hit(
            f"{table}.{' or '.join(alike)} is dropped and {table}.{column.name} added, of the same type:"
            " if this is a rename, the values are lost (possible rename, data will be lost)",
            f'op.alter_column("{table}", "{old}", new_column_name="{column.name}")\n'
            f'# or, from the models: info={{"renamed_from": "{old}"}} on {column.name}, then autogenerate',
            op=call,
        )


RULE = Rule(
    "possible-rename",
    Severity.WARNING,
    "DROP COLUMN + ADD COLUMN of one type, DROP TABLE + CREATE TABLE of the same columns",
    ALL_DIALECTS,
    check,
    group="Backward compatibility",
)
