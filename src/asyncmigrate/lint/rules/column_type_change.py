"""column-type-change: ``ALTER COLUMN ... TYPE`` that is not binary-coercible.

Only real rewrites are flagged. PostgreSQL changes nothing on disk for varchar widening,
varchar -> text, dropping a length limit, a numeric precision increase at the same scale, a
time precision increase or cidr -> inet. MySQL widens VARCHAR in place while the length prefix
stays one byte (<= 63 characters in utf8mb4) or was already two. The old type comes from
``existing_type=`` (of ``op.alter_column`` or ``batch_op.alter_column``) or from the replayed
history; unknown means flagged.
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
        return parse_sql(f"SELECT NULL::{sql_type}")[0].stmt.targetList[0].val.typeName
    except (ParseError, AttributeError, IndexError):
        return None


def _pg_type(value: Any) -> Any | None:
    if value is None:
        return None
    try:
        return _type_node(sa.types.to_instance(value).compile(dialect=postgresql.dialect()))
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
        table, column = pg.relation_name(statement.node), cmd.name
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
