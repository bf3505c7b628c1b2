"""Small readers over pglast's PostgreSQL parse trees, shared by the PostgreSQL rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: Functions a column default may call without forcing a rewrite on PostgreSQL >= 11: their
#: value is computed once (immutable or stable). Anything else is treated as volatile.
NON_VOLATILE_FUNCTIONS = frozenset(
    {
        "now",
        "transaction_timestamp",
        "statement_timestamp",
        "current_timestamp",
        "current_date",
        "localtimestamp",
        "lower",
        "upper",
        "coalesce",
        "to_jsonb",
        "jsonb_build_object",
        "json_build_object",
        "jsonb_build_array",
        "array",
        "make_interval",
        "to_timestamp",
        "date_trunc",
    }
)


def dotted(names: Any) -> list[str]:
    """``('pg_catalog', 'int4')`` style name lists as plain strings."""
    return [getattr(name, "sval", str(name)) for name in names or ()]


def enum_name(value: Any) -> str:
    return getattr(value, "name", str(value))


def is_cmd(cmd: Any, subtype: str) -> bool:
    return enum_name(getattr(cmd, "subtype", None)) == subtype


def alter_commands(node: Any) -> Iterator[Any]:
    """The sub-commands of an ``ALTER TABLE`` (empty for anything else)."""
    if type(node).__name__ == "AlterTableStmt":
        yield from node.cmds or ()


def added_constraint(cmd: Any) -> Any | None:
    if is_cmd(cmd, "AT_AddConstraint") and type(cmd.def_).__name__ == "Constraint":
        return cmd.def_
    return None


def added_column(cmd: Any) -> Any | None:
    if is_cmd(cmd, "AT_AddColumn") and type(cmd.def_).__name__ == "ColumnDef":
        return cmd.def_
    return None


def constraint_kind(constraint: Any) -> str:
    return enum_name(constraint.contype).removeprefix("CONSTR_")


def is_check(constraint: Any) -> bool:
    return constraint_kind(constraint) == "CHECK"


def column_constraints(column: Any) -> list[Any]:
    return list(column.constraints or ())


def column_constraint(column: Any, kind: str) -> Any | None:
    return next((c for c in column_constraints(column) if constraint_kind(c) == kind), None)


def type_name(column_or_type: Any) -> str:
    type_node = getattr(column_or_type, "typeName", column_or_type)
    names = dotted(getattr(type_node, "names", ()))
    return names[-1].lower() if names else ""


def not_null_check_column(constraint: Any) -> str | None:
    """``CHECK (col IS NOT NULL)`` → ``col``; anything else → None."""
    expr = getattr(constraint, "raw_expr", None)
    if expr is None or type(expr).__name__ != "NullTest" or enum_name(expr.nulltesttype) != "IS_NOT_NULL":
        return None
    if type(expr.arg).__name__ != "ColumnRef":
        return None
    return dotted(expr.arg.fields)[-1]


def function_names(expr: Any) -> Iterator[str]:
    """Every function called anywhere inside an expression tree."""
    if expr is None:
        return
    if type(expr).__name__ == "FuncCall":
        yield dotted(expr.funcname)[-1].lower()
    if isinstance(expr, tuple | list):
        for item in expr:
            yield from function_names(item)
        return
    for slot in getattr(expr, "__slots__", ()):
        child = getattr(expr, slot, None)
        if child is not None and (hasattr(child, "__slots__") or isinstance(child, tuple | list)):
            yield from function_names(child)


def is_volatile(expr: Any) -> bool:
    return any(name not in NON_VOLATILE_FUNCTIONS for name in function_names(expr))


def index_columns(node: Any) -> str:
    """An IndexStmt's columns as Alembic code: ``["a", "b"]`` (``[...]`` for expressions)."""
    names = [getattr(elem, "name", None) for elem in getattr(node, "indexParams", None) or ()]
    if not names or None in names:
        return "[...]"
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"


def created_relation(node: Any) -> Any | None:
    """The relation a statement creates: CREATE TABLE, CREATE TABLE AS, CREATE MATERIALIZED
    VIEW, SELECT ... INTO. Nobody else can see it before COMMIT, so its locks harm no one."""
    kind = type(node).__name__
    if kind == "CreateStmt":
        return node.relation
    if kind == "CreateTableAsStmt":
        return node.into.rel
    if kind == "SelectStmt" and node.intoClause is not None:
        return node.intoClause.rel
    return None


def relation_name(node: Any) -> str | None:
    relation = getattr(node, "relation", None)
    return getattr(relation, "relname", None)


def has_option(node: Any, option: str, attribute: str = "params") -> bool:
    return any(getattr(item, "defname", None) == option for item in getattr(node, attribute, None) or ())


def transaction_kind(node: Any) -> str:
    return enum_name(getattr(node, "kind", "")).removeprefix("TRANS_STMT_")


def recreated_types(ctx: Any) -> tuple[set[tuple[str, ...]], set[tuple[str, ...]]]:
    """Types a revision recreates under their own name (``ALTER TYPE t RENAME TO t_old``, then
    ``CREATE TYPE t``, columns moved, ``DROP TYPE t_old``): the names kept, and the stand-ins'.
    Clients see the same name before and after; only the column rewrites matter."""
    created = {tuple(dotted(s.node.typeName)) for s in ctx.parsed("CreateEnumStmt")}
    kept: set[tuple[str, ...]] = set()
    stand_ins: set[tuple[str, ...]] = set()
    for statement in ctx.parsed("RenameStmt"):
        node = statement.node
        if enum_name(node.renameType) != "OBJECT_TYPE":
            continue
        old = tuple(dotted(node.object))
        if old in created:
            kept.add(old)
            stand_ins.add((*old[:-1], node.newname))
    return kept, stand_ins
