"""column-type-change: ``ALTER COLUMN ... TYPE`` that is not binary-coercible.

## What it flags

A column type change (``alter_column(..., type_=...)``, ``batch_op.alter_column``, or raw
``ALTER TABLE ... ALTER COLUMN ... TYPE`` / ``MODIFY`` / ``CHANGE``) that makes the server rewrite
the table. The old type comes from ``existing_type=`` or from the replayed history; when neither
says, the change is flagged. Not flagged, because nothing is rewritten:

- PostgreSQL: varchar / char / varbit widening, varchar -> text, text -> varchar without a
  length, dropping a length limit, a numeric precision increase at the same scale, a
  timestamp / time / interval precision increase, cidr -> inet; none of them with ``USING``.
- MySQL / MariaDB: VARCHAR widening while the length prefix stays one byte (up to 63 characters,
  utf8mb4) or was already two bytes. ENUM changes are left to ``mysql-enum-set-copy``.

## Why

PostgreSQL: any other type change rewrites every row and rebuilds every index of the table under
an ACCESS EXCLUSIVE lock (no reads, no writes) for as long as that takes. It can also break
running code that reads the old type.

MySQL / MariaDB: the table is copied (``ALGORITHM=COPY``); writes are blocked until the copy
ends, and replicas replay the copy after the primary finished it (replica lag).

## Example

```python
op.alter_column("users", "age", type_=sa.BigInteger(), existing_type=sa.Integer())
```

```python dialect=mysql version=8.0
op.alter_column("users", "name", type_=sa.String(100), existing_type=sa.String(50))
```

## Fix

Changes that only widen are not flagged; say the old type so the linter can tell:

```python
op.alter_column("users", "name", type_=sa.String(200), existing_type=sa.String(100))
```

For a real type change, expand and contract over several releases:

```python
op.add_column("users", sa.Column("age_new", sa.BigInteger(), nullable=True))
# deploy code that writes both columns, backfill age_new in batches,
# switch reads to age_new, then drop age in a later release
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .. import pg
from ..context import RevisionContext, alter_call, column_name_of, table_of, type_code
from ..model import Severity
from . import Hit, Rule, per_dialect

_RECIPE = """op.add_column("{t}", sa.Column("{c}_new", {type}, nullable=True))
# deploy code that writes both columns, backfill {c}_new in batches,
# switch reads to {c}_new, then drop {c} in a later release"""

_WIDENABLE = frozenset(
    {"varchar", "bpchar", "varbit", "timestamp", "timestamptz", "time", "timetz", "interval"}
)


def _type_node(sql_type: str) -> Any | None:
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        select: Any = parse_sql(f"SELECT NULL::{sql_type}")[0].stmt
        return select.targetList[0].val.typeName
    except (ParseError, AttributeError, IndexError):
        return None


def _pg_type(value: Any) -> Any | None:
    if value is None:
        return None
    try:
        # SQLAlchemy's dialect constructors take untyped **kwargs
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        return _type_node(sa.types.to_instance(value).compile(dialect=dialect))
    except Exception:  # noqa: BLE001  (a type PostgreSQL cannot render: treat as unknown)
        return None


def _mods(type_node: Any) -> tuple[int, ...]:
    values = []
    for mod in getattr(type_node, "typmods", None) or ():
        val = getattr(mod, "val", None)
        values.append(getattr(val, "ival", 0))
    return tuple(values)


def pg_binary_coercible(old: Any, new: Any) -> bool:
    old_name, new_name = pg.type_name(old), pg.type_name(new)
    old_mods, new_mods = _mods(old), _mods(new)
    if (old_name, old_mods) == (new_name, new_mods):
        return True
    if old_name == new_name and old_name in _WIDENABLE:
        return not new_mods or (bool(old_mods) and new_mods[0] >= old_mods[0])
    if old_name == new_name == "numeric":
        if not new_mods:
            return True
        old_scale = old_mods[1] if len(old_mods) > 1 else 0
        new_scale = new_mods[1] if len(new_mods) > 1 else 0
        return bool(old_mods) and new_mods[0] >= old_mods[0] and new_scale == old_scale
    if old_name == "varchar" and new_name == "text":
        return True
    if old_name == "text" and new_name == "varchar" and not new_mods:
        return True
    return (old_name, new_name) == ("cidr", "inet")


def _postgresql(ctx: RevisionContext) -> Iterator[Hit]:
    for statement, cmd in ctx.alter_commands():
        if not pg.is_cmd(cmd, "AT_AlterColumnType"):
            continue
        table, column = pg.relation_name(statement.node) or "", cmd.name
        call = statement.op if statement.op is not None and statement.op.name == "alter_column" else None
        if statement.op is None or statement.op.name == "batch_alter_table":
            call = alter_call(ctx, table, column, statement.seq)  # batch_op.alter_column(...)
        old_value = call.kwargs.get("existing_type") if call else None
        if old_value is None:
            old_value = ctx.state_before(call.seq if call else statement.seq).column_type(table, column)
        old = _pg_type(old_value)
        new = cmd.def_.typeName
        using = getattr(cmd.def_, "raw_default", None) is not None
        if old is not None and not using and pg_binary_coercible(old, new):
            continue
        known = "" if old is not None else " (its current type is unknown: pass existing_type=)"
        yield Hit(
            f"changing the type of {table}.{column} to {pg.type_name(new)} rewrites the table and"
            f" rebuilds its indexes under an ACCESS EXCLUSIVE lock{known}",
            _RECIPE.format(t=table, c=column, type=type_code(call.kwargs.get("type_") if call else None)),
            statement=statement,
        )


def _varchar_length(value: Any) -> int | None:
    value = sa.types.to_instance(value)
    if isinstance(value, sa.String) and not isinstance(value, sa.Enum | sa.Text) and value.length:
        return value.length
    return None


def mysql_in_place(old: Any, new: Any) -> bool:
    old_type, new_type = sa.types.to_instance(old), sa.types.to_instance(new)
    if repr(old_type) == repr(new_type):
        return True
    old_len, new_len = _varchar_length(old_type), _varchar_length(new_type)
    if old_len is None or new_len is None or new_len < old_len:
        return False
    return new_len <= 63 or old_len > 63


def _mysql(ctx: RevisionContext) -> Iterator[Hit]:
    yield from _mysql_raw(ctx)
    for call in ctx.calls("alter_column"):
        new = call.kwargs.get("type_")
        table = table_of(call)
        if new is None or ctx.is_new_table(table, call.seq):
            continue
        column = column_name_of(call)
        old = call.kwargs.get("existing_type") or ctx.state_before(call.seq).column_type(table, column)
        if old is not None and isinstance(sa.types.to_instance(old), sa.Enum):
            continue  # mysql-enum-set-copy judges ENUM changes
        if old is not None and mysql_in_place(old, new):
            continue
        yield Hit(
            f"changing the type of {table}.{column} makes MySQL copy the table (ALGORITHM=COPY):"
            " writes are blocked until the copy ends",
            _RECIPE.format(t=table, c=column, type=type_code(new)),
            op=call,
        )


_RAW_MODIFY = re.compile(r"^\s*ALTER\s+TABLE\s+`?(\w+)`?\s.*\b(MODIFY|CHANGE)\b", re.IGNORECASE | re.DOTALL)


def _mysql_raw(ctx: RevisionContext) -> Iterator[Hit]:
    """``op.execute("ALTER TABLE t MODIFY ...")``: the old type is not stated, so it is flagged."""
    for statement in ctx.statements:
        match = _RAW_MODIFY.match(statement.text) if statement.op and statement.op.name == "execute" else None
        if match and not ctx.is_new_table(match.group(1), statement.seq):
            yield Hit(
                f"ALTER TABLE {match.group(1)} {match.group(2).upper()} changes a column definition;"
                " unless it only widens a VARCHAR within its length prefix, MySQL copies the table",
                _RECIPE.format(t=match.group(1), c="<column>", type="..."),
                statement=statement,
            )


RULE = Rule(
    "column-type-change",
    Severity.ERROR,
    "a column type change that rewrites the table",
    *per_dialect(postgresql=_postgresql, mysql=_mysql),
    group="PostgreSQL: locks and rewrites",
)
