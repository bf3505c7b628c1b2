"""SQLAlchemy: the private names the batched reflection of ``check``/``revision --autogenerate``
uses (reflection/batched.py says what it does as a whole).

* ``SQLiteDialect._get_table_pragma`` / ``_get_table_sql``: the two functions every SQLite
  reflection read goes through; a copy of the dialect answers them from a catalog read in a few
  statements over all tables (~12 statements per table otherwise). Fallback: the dialect's own
  reads. Worth 1.26x on ``check`` at 500 SQLite tables and 1.5x to 1.7x at 2000
  (``bench/run tricks``, bench/RESULTS.md 2026-12-03).

Five more were dropped on 2026-12-03 because that benchmark showed none worth 10 % on
``check`` at 500 or 2000 tables (the schema types' CREATE/DROP listeners, SQLite's UNIQUE
search, the Inspector's connection, the linear-time table sort, ``_overrides_default``): the
public path runs instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from . import trick


def _params(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


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
    return served
