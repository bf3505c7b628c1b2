"""Server defaults and computed columns compared in the form the database itself gives them.

The database rewrites what a model declares: PostgreSQL adds casts (``'0'::numeric``), MariaDB
writes ``0.00`` for ``'0'``, ``1`` for ``true`` and ``current_timestamp()`` for ``now()``, SQLite
keeps the text as written. Alembic compares the model's text with the database's by hand-written
rules per dialect, which miss cases: each miss is a false ``alter_column`` in every autogenerate
(alembic #1203, #1454, #1837) and, on PostgreSQL, a default with a quote in it stops autogenerate
with a syntax error.

Here the database normalises both sides. For each model table that has server defaults or
computed columns, the same columns (types, defaults, generation expressions; no constraints)
are created as a temporary table inside a savepoint, reflected with SQLAlchemy's inspector
beside the real table (read the same plain way: Alembic's own reading drops the default it
takes for a SERIAL's), and dropped with the savepoint. A default whose reflected text matches
the real column's is unchanged; one that differs is a change, written as Alembic writes it. A
computed column's expression is compared the same way, which silences Alembic's "cannot be
modified" warning when nothing was modified. Where the temporary table cannot be made (a type
that does not exist yet, a read-only transaction), the table's columns are left to Alembic's
comparison as before. Identity columns and sequences stay Alembic's.
"""

from __future__ import annotations

import itertools
import logging
import warnings
import weakref
from typing import Any

from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import Column, Computed, DefaultClause, MetaData, Table, inspect
from sqlalchemy.exc import SAWarning, SQLAlchemyError
from sqlalchemy.schema import CreateTable

__all__ = ["PLUGIN_NAME", "register"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.server_defaults"

#: Per autogenerate run: (schema, table) -> (the model's columns as the database reflects them,
#: the real table's columns as the same reflection reads them), each column name -> (kind,
#: text); None when the table could not be mirrored.
_Reflected = dict[str, tuple[str, str]]
_MirroredTable = tuple[_Reflected, _Reflected]
_runs: weakref.WeakKeyDictionary[Any, dict[tuple[str | None, str], _MirroredTable | None]] = (
    weakref.WeakKeyDictionary()
)
_names = itertools.count()


def _kind(default: Any) -> str | None:
    """What ``default`` is, among the kinds compared here ("other": Identity, Sequence, ...)."""
    if default is None:
        return None
    if isinstance(default, Computed):
        return "computed"
    if isinstance(default, DefaultClause):
        return "default"
    return "other"


def _reflected(info: dict[str, Any]) -> tuple[str, str] | None:
    """A reflected column's default or generation expression, as text."""
    computed = info.get("computed")
    if computed:
        return ("computed", str(computed["sqltext"]))
    if info.get("default") is not None:
        return ("default", str(info["default"]))
    return None


def _bare(text: str) -> str:
    """``text`` without parentheses around the whole of it: SQLite keeps a default as written,
    and Alembic writes ``(CURRENT_TIMESTAMP)`` where SQLAlchemy writes ``CURRENT_TIMESTAMP``."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for position, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and position < len(text) - 1:
                return text  # "(a) + (b)": the first parenthesis closes before the end
        text = text[1:-1].strip()
    return text


def _mirror_column(column: Column[Any]) -> Column[Any]:
    """``column``'s type, default and generation expression, with nothing else of it."""
    server_default: Any = None
    if isinstance(column.server_default, Computed):
        server_default = Computed(column.server_default.sqltext, persisted=column.server_default.persisted)
    elif isinstance(column.server_default, DefaultClause):
        server_default = DefaultClause(column.server_default.arg)
    return Column(column.name, column.type.copy(), server_default, nullable=True)


def _mirror(autogen_context: Any, schema: str | None, table: Table) -> _MirroredTable | None:
    """How the database reflects ``table``'s defaults and generation expressions (once per run)."""
    tables = _runs.setdefault(autogen_context, {})
    key = (schema, table.name)
    if key not in tables:
        tables[key] = _reflect_mirror(autogen_context, schema, table)
    return tables[key]


def _texts(reflected: list[Any]) -> _Reflected:
    found = {info["name"]: _reflected(info) for info in reflected}
    return {name: (value[0], _bare(value[1])) for name, value in found.items() if value is not None}


def _reflect_mirror(autogen_context: Any, schema: str | None, table: Table) -> _MirroredTable | None:
    from ..dialects import for_backend

    connection = autogen_context.connection
    columns = [column for column in table.columns if _kind(column.server_default) in ("default", "computed")]
    if not columns:
        return ({}, {})
    name = f"asyncmigrate_mirror_{next(_names)}"
    mirror = Table(
        name, MetaData(), *(_mirror_column(column) for column in table.columns), prefixes=["TEMPORARY"]
    )
    drop = for_backend(connection.dialect.name).drop_temporary_sql(name)
    # Where a drop exists, the temporary table is outside the transaction (rolling it back would
    # warn); elsewhere a savepoint takes it away, whatever happens.
    savepoint = connection.begin_nested() if drop is None else None
    try:
        with warnings.catch_warnings():
            # The database's own choices for the mirror (PostgreSQL's STORED) are the model's too.
            warnings.simplefilter("ignore", SAWarning)
            connection.execute(CreateTable(mirror))
        inspector = inspect(connection)
        reflected = inspector.get_columns(name)
        # Read as plainly as the mirror: Alembic's reflection of the real table drops what it
        # takes for a SERIAL's default (a model may still spell it out, as sqlacodegen does).
        real = inspector.get_columns(table.name, schema=schema)
    except SQLAlchemyError as error:
        log.debug("Server defaults of %r compared by Alembic's rules: %s", table.name, error)
        return None
    finally:
        if savepoint is not None:
            savepoint.rollback()
        elif drop is not None:
            connection.exec_driver_sql(drop)
    return (_texts(reflected), _texts(real))


def _keep_autoincrement(autogen_context: Any, alter: ops.AlterColumnOp, metadata_col: Column[Any]) -> None:
    """What Alembic's own comparator of this group would have noted on the op, which our STOP
    skips: an ALTER of an AUTO_INCREMENT column must say so, or MySQL drops the property. (Only
    where it matters: elsewhere Alembic warns that the keyword means nothing.)"""
    from ..dialects import for_backend

    if not for_backend(autogen_context.dialect.name).alter_repeats_autoincrement:
        return
    if metadata_col.table.autoincrement_column is metadata_col or metadata_col.autoincrement is True:
        alter.kw["autoincrement"] = True
    elif metadata_col.autoincrement is False:
        alter.kw["autoincrement"] = False


def _compare_server_default(
    autogen_context: Any,
    alter: ops.AlterColumnOp,
    schema: str | None,
    tname: str,
    cname: str,
    conn_col: Column[Any],
    metadata_col: Column[Any],
) -> PriorityDispatchResult:
    model_kind, conn_kind = _kind(metadata_col.server_default), _kind(conn_col.server_default)
    if model_kind not in ("default", "computed") or conn_kind == "other":
        return PriorityDispatchResult.CONTINUE  # nothing declared, identity, sequences: Alembic's
    if autogen_context.connection is None or not isinstance(metadata_col.table, Table):
        return PriorityDispatchResult.CONTINUE
    mirrored = _mirror(autogen_context, schema, metadata_col.table)
    if mirrored is None or cname not in mirrored[0]:
        return PriorityDispatchResult.CONTINUE
    expected, actual = mirrored[0][cname], mirrored[1].get(cname)
    if model_kind == "computed":
        # A changed expression cannot be altered: Alembic's comparator warns about it.
        return PriorityDispatchResult.STOP if actual == expected else PriorityDispatchResult.CONTINUE
    _keep_autoincrement(autogen_context, alter, metadata_col)
    alter.existing_server_default = conn_col.server_default
    if actual != expected:
        alter.modify_server_default = metadata_col.server_default
        log.info(
            "Detected server default on column '%s.%s': %s in the database, %s in the model",
            tname,
            cname,
            actual[1] if actual else "none",
            expected[1],
        )
    return PriorityDispatchResult.STOP


def setup(plugin: Plugin) -> None:
    # FIRST, after Alembic's own first comparator, which honours compare_server_default=False
    # or a function of the project's: both stop the group before this one runs.
    plugin.add_autogenerate_comparator(
        _compare_server_default, "column", "server_default", priority=DispatchPriority.FIRST
    )


def register() -> None:
    """Make the plugin known to Alembic (once per process); a run still has to ask for it."""
    import sys

    from .plugins import register_once

    register_once(sys.modules[__name__], PLUGIN_NAME)
