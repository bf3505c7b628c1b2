"""SQLAlchemy: the private names the batched reflection of ``check``/``revision --autogenerate``
uses (reflection.py says what it does as a whole).

* ``Inspector._reflect_column`` and ``SchemaType._create_events``: reflect a column of a schema
  type (an ENUM, a BOOLEAN) without its four CREATE/DROP listeners, which tables reflected only
  for a comparison never fire (8000 listeners for 2000 tables with an ENUM each). Fallback: the
  Inspector as it is (same tables, with the listeners).
* ``SQLiteDialect._get_table_pragma`` / ``_get_table_sql``: the two functions every SQLite
  reflection read goes through; a copy of the dialect answers them from a catalog read in a few
  statements over all tables (~12 statements per table otherwise). Fallback: the dialect's own
  reads.
* ``SQLiteDialect.get_unique_constraints``: the same search, stopping once every UNIQUE index has
  its constraint. Its two patterns are read from the bytecode of the dialect's function
  (``__wrapped__.__code__``) and ``_find_cols_in_sig``/``_get_table_sql`` are called as it calls
  them. Fallback: the dialect's own function.
* ``Inspector._operation_context``: the connection an Inspector reads with. Fallback: its public
  ``bind`` (the Connection, or a connection of the Engine).
* ``Table._extra_dependencies`` and SQLAlchemy 2.1's ``_TableViaSelect``/``_creator_ddl``: what
  ``MetaData.sorted_tables`` sorts by beside foreign keys, for a linear-time sort of the same
  order. Fallback: ``MetaData.sorted_tables`` itself.
* ``DefaultDialect._overrides_default``: whether a dialect has its own ``get_multi_*``. Fallback:
  the same comparison of the two functions' code objects.

What these buy is measured by ``bench/`` on ``check`` (``bench/run wide`` on wide
SQLite and PostgreSQL schemas); see bench/RESULTS.md.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.engine import Connection, Inspector
from sqlalchemy.schema import Table

from . import trick


def _params(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


# -- reflecting a column without its type's CREATE/DROP listeners ---------------------------


@trick("sqlalchemy.reflect_column", "no CREATE/DROP listeners on reflected schema types")
def REFLECT_COLUMN() -> bool:
    from sqlalchemy import Enum

    params = _params(Inspector._reflect_column)
    return params[:3] == ["self", "table", "col_d"] and Enum("a", name="e")._create_events is True


def quiet_reflect_column(inspector: Inspector) -> None:
    """Make ``inspector`` reflect schema-type columns without their CREATE/DROP listeners."""
    if REFLECT_COLUMN.usable:
        quiet = functools.partial(_reflect_column_quietly, inspector._reflect_column)
        setattr(inspector, "_reflect_column", quiet)  # noqa: B010  (this one inspector: mypy sees a method)


def _reflect_column_quietly(
    reflect_column: Any, table: Table, column_info: Any, *args: Any, **kw: Any
) -> None:
    """``Inspector._reflect_column`` without CREATE/DROP listeners for the column's type.

    A schema type attached to a table listens for the table's and the MetaData's CREATE and
    DROP, to create or drop itself along with them. The type is built exactly the same and says
    it creates events again right after its column is attached; only those listeners are
    missing, so the reflected tables must not be used to create or drop anything.
    """
    from sqlalchemy.types import SchemaType

    type_ = column_info.get("type")
    quiet = isinstance(type_, SchemaType) and type_._create_events is True
    if quiet:
        type_._create_events = False
    try:
        reflect_column(table, column_info, *args, **kw)
    finally:
        if quiet:
            type_._create_events = True


# -- SQLite reads served from a catalog ---------------------------------------------------------


@trick("sqlalchemy.sqlite_reads", "SQLite PRAGMA and sqlite_master reads served from one catalog")
def SQLITE_READS() -> bool:
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    pragma = _params(SQLiteDialect._get_table_pragma)
    sql = _params(SQLiteDialect._get_table_sql)
    return pragma[:5] == ["self", "connection", "pragma", "table_name", "schema"] and sql[:4] == [
        "self",
        "connection",
        "table_name",
        "schema",
    ]


def serve_sqlite_reads(
    dialect: Any,
    pragma_rows: Callable[[str, str], Any | None],
    table_sql: Callable[[str], str | None],
) -> Any | None:
    """A copy of the SQLite ``dialect`` whose PRAGMA and ``sqlite_master`` reads of a table in
    ``main`` ask ``pragma_rows(pragma, table)`` and ``table_sql(table)`` first (None: not known,
    read it). None when this SQLAlchemy reads differently: then use ``dialect`` itself."""
    if not SQLITE_READS.usable:
        return None
    import copy

    served = copy.copy(dialect)
    read_pragma = dialect._get_table_pragma
    read_sql = dialect._get_table_sql

    def get_table_pragma(connection: Connection, pragma: str, table_name: str, schema: Any = None) -> Any:
        if schema is None:
            rows = pragma_rows(pragma, table_name)
            if rows is not None:
                return rows
        return read_pragma(connection, pragma, table_name, schema=schema)

    def get_table_sql(connection: Connection, table_name: str, schema: Any = None, **kw: Any) -> Any:
        if schema is None:
            found = table_sql(table_name)
            if found is not None:
                return found
        return read_sql(connection, table_name, schema=schema, **kw)

    served._get_table_pragma = get_table_pragma
    served._get_table_sql = get_table_sql
    if UNIQUE_SEARCH.usable and _sqlite_own(type(dialect), "get_unique_constraints"):
        served.get_unique_constraints = functools.partial(_sqlite_unique_constraints, served)
    return served


def _sqlite_own(cls: type, name: str) -> bool:
    """Whether ``cls`` (a SQLite dialect) has SQLiteDialect's own ``name``, not a subclass's."""
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    return getattr(cls, name, None) is getattr(SQLiteDialect, name)


#: The two patterns SQLite's dialect finds UNIQUE constraints with in a table's CREATE statement.
_UNIQUE_PATTERN = r'(?:CONSTRAINT\s+(?:"(.+?)"|(\w+))\s+)?UNIQUE\s*\((.+?)\)'
_INLINE_UNIQUE_PATTERN = (
    r'(?:(".+?")|(?:[\[`])?([a-z0-9_]+)(?:[\]`])?)[\t ]'
    r"+[a-z0-9_]+(?:[\t ]+[a-z0-9_]+)*?[\t ]+UNIQUE"
)


@trick("sqlalchemy.sqlite_unique", "SQLite's UNIQUE search, stopping once every index is matched")
def UNIQUE_SEARCH() -> bool:
    """Whether the dialect's ``get_unique_constraints`` still searches with these two patterns
    (its nested ``parse_uqs`` holds them as constants) through ``_find_cols_in_sig``."""
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    method = getattr(SQLiteDialect.get_unique_constraints, "__wrapped__", None)
    if method is None or not callable(getattr(SQLiteDialect, "_find_cols_in_sig", None)):
        return False
    constants: set[Any] = set()
    codes = [method.__code__]
    while codes:
        code = codes.pop()
        for constant in code.co_consts:
            if isinstance(constant, type(code)):
                codes.append(constant)
            else:
                constants.add(constant)
    return {_UNIQUE_PATTERN, _INLINE_UNIQUE_PATTERN} <= constants


def _sqlite_unique_constraints(
    dialect: Any, connection: Connection, table_name: str, schema: Any = None, **kw: Any
) -> list[Any]:
    """SQLite's ``get_unique_constraints``, stopping once every UNIQUE index has its constraint.

    The dialect matches each ``sqlite_autoindex`` index (what a UNIQUE constraint creates) with
    a UNIQUE found in the CREATE statement; a match for no remaining index adds nothing. The
    second pattern (inline ``col TYPE UNIQUE``) backtracks over the whole statement, 0.3 ms per
    table, so it runs only while an index is still unmatched: same result, a third of a second
    less at 2000 tables.
    """
    from sqlalchemy.engine.reflection import ReflectionDefaults

    auto_index_by_sig = {}
    for index in dialect.get_indexes(connection, table_name, schema=schema, include_auto_indexes=True, **kw):
        if index["name"].startswith("sqlite_autoindex"):
            auto_index_by_sig[tuple(index["column_names"])] = index
    table_data = dialect._get_table_sql(connection, table_name, schema=schema, **kw)
    unique_constraints = []

    def found(name: str | None, cols: list[str]) -> bool:
        if tuple(cols) in auto_index_by_sig:
            auto_index_by_sig.pop(tuple(cols))
            unique_constraints.append({"name": name, "column_names": cols})
        return not auto_index_by_sig

    if table_data is not None and auto_index_by_sig:
        for match in re.finditer(_UNIQUE_PATTERN, table_data, re.I):
            quoted_name, unquoted_name, cols = match.group(1, 2, 3)
            if found(quoted_name or unquoted_name, list(dialect._find_cols_in_sig(cols))):
                break
        else:  # an index is still unmatched: look for inline UNIQUE
            for match in re.finditer(_INLINE_UNIQUE_PATTERN, table_data, re.I):
                if found(None, list(dialect._find_cols_in_sig(match.group(1) or match.group(2)))):
                    break
    return unique_constraints or ReflectionDefaults.unique_constraints()


# -- the Inspector's connection -----------------------------------------------------------------


@trick("sqlalchemy.operation_context", "the connection an Inspector reads with")
def OPERATION_CONTEXT() -> bool:
    return _params(Inspector._operation_context) == ["self"]


@contextlib.contextmanager
def inspector_connection(inspector: Inspector) -> Iterator[Connection]:
    """The connection ``inspector`` runs its queries on, for the block."""
    if OPERATION_CONTEXT.usable:
        with inspector._operation_context() as connection:
            yield connection
        return
    bind = inspector.bind
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as connection:
            yield connection


# -- what MetaData.sorted_tables sorts by ------------------------------------------------------


@trick("sqlalchemy.table_dependencies", "MetaData.sorted_tables' order in linear time")
def TABLE_DEPENDENCIES() -> bool:
    from sqlalchemy import MetaData

    return isinstance(Table("t", MetaData())._extra_dependencies, set)


def extra_dependencies(table: Table) -> set[Table] | None:
    """The tables ``table`` depends on beside its foreign keys (``add_is_dependent_on``); None
    when this cannot be known here (a ``CREATE TABLE AS`` of SQLAlchemy 2.1, another
    SQLAlchemy): then only ``MetaData.sorted_tables`` gives the order."""
    if not TABLE_DEPENDENCIES.usable:
        return None
    import sqlalchemy.sql.ddl

    # SQLAlchemy 2.1 (CREATE TABLE AS); 2.0 has no such tables
    table_via_select: type | None = getattr(sqlalchemy.sql.ddl, "_TableViaSelect", None)
    creator = getattr(table, "_creator_ddl", None)
    if table_via_select is not None and isinstance(creator, table_via_select):
        return None
    return set(table._extra_dependencies)


# -- whether a dialect has its own get_multi_* ----------------------------------------------------


@trick("sqlalchemy.overrides_default", "whether a dialect has its own get_multi_* method")
def OVERRIDES_DEFAULT() -> bool:
    from sqlalchemy.engine.default import DefaultDialect

    return _params(DefaultDialect._overrides_default) == ["self", "method"]


def overrides_default(dialect: Any, method_name: str) -> bool:
    """Whether ``dialect``'s class replaces ``DefaultDialect``'s ``method_name``."""
    if OVERRIDES_DEFAULT.usable:
        return bool(dialect._overrides_default(method_name))
    from sqlalchemy.engine.default import DefaultDialect

    mine = getattr(type(dialect), method_name, None)
    default = getattr(DefaultDialect, method_name, None)
    return getattr(mine, "__code__", mine) is not getattr(default, "__code__", default)
