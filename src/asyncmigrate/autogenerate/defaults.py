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
from dataclasses import dataclass, field
from typing import Any

from alembic.operations import ops
from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import Column, Computed, DefaultClause, Identity, MetaData, Table, inspect
from sqlalchemy.engine import ObjectScope
from sqlalchemy.exc import SAWarning, SQLAlchemyError
from sqlalchemy.schema import CreateTable

__all__ = ["PLUGIN_NAME"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "asyncmigrate.server_defaults"


@dataclass
class _Run:
    """One autogenerate run's view of the defaults: every mirror made at the first column."""

    #: (schema, table, column) -> (kind, text) as the database reflects the model's column
    expected: dict[tuple[str | None, str, str], tuple[str, str]] = field(default_factory=dict)
    #: (schema, table) -> the real table's columns read the plain way, when one was needed
    real: dict[tuple[str | None, str], _Reflected] = field(default_factory=dict)


_Reflected = dict[str, tuple[str, str]]
_runs: weakref.WeakKeyDictionary[Any, _Run] = weakref.WeakKeyDictionary()
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


def _mirror_column(column: Column[Any], name: str | None = None) -> Column[Any]:
    """``column``'s type, default and generation expression, with nothing else of it."""
    server_default: Any = None
    if isinstance(column.server_default, Computed):
        server_default = Computed(column.server_default.sqltext, persisted=column.server_default.persisted)
    elif isinstance(column.server_default, DefaultClause):
        server_default = DefaultClause(column.server_default.arg)
    return Column(name or column.name, column.type.copy(), server_default, nullable=True)


def _texts(reflected: list[Any]) -> _Reflected:
    found = {info["name"]: _reflected(info) for info in reflected}
    return {name: (value[0], _bare(value[1])) for name, value in found.items() if value is not None}


def _conn_text(default: Any) -> str:
    if isinstance(default, Computed):
        return str(default.sqltext)
    return str(getattr(default.arg, "text", default.arg))


def _create(connection: Any, name: str, columns: list[Column[Any]], in_savepoint: bool) -> bool:
    """Create one mirror; False when the database refuses it (a type it does not have yet, a
    read-only transaction, a row too wide), leaving the transaction usable."""
    mirror = Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])
    savepoint = connection.begin_nested() if in_savepoint else None
    try:
        with warnings.catch_warnings():
            # The database's own choices for the mirror (PostgreSQL's STORED) are the model's too.
            warnings.simplefilter("ignore", SAWarning)
            connection.execute(CreateTable(mirror))
    except SQLAlchemyError as error:
        log.debug("A mirror of %d columns was refused: %s", len(columns), error)
        if savepoint is not None:
            savepoint.rollback()
        return False
    if savepoint is not None:
        savepoint.commit()
    return True


def _read(connection: Any, names: list[str]) -> dict[str, _Reflected]:
    """The mirrors' columns: in one read where the dialect lists temporary tables, else one by one."""
    inspector = inspect(connection)
    found: dict[str, _Reflected] = {}
    try:
        multi = inspector.get_multi_columns(filter_names=names, scope=ObjectScope.TEMPORARY)
        for (_, name), columns in multi.items():
            found[name] = _texts(columns)
    except (NotImplementedError, SQLAlchemyError) as error:
        log.debug("Mirrors read one by one: %s", error)
    for name in names:
        if name not in found:
            try:
                found[name] = _texts(inspector.get_columns(name))
            except SQLAlchemyError as error:
                log.debug("Mirror %s not read: %s", name, error)
    return found


#: One mirror: for each of its columns, the model column's (schema, table, column), the model
#: column, and its name in the mirror.
_Plan = list[tuple[tuple[str | None, str, str], Column[Any], str]]


def _whole(table: Table) -> _Plan:
    """A mirror of all of ``table``'s columns under their own names (generation expressions name
    them)."""
    return [((table.schema, table.name, column.name), column, column.name) for column in table.columns]


def _mirror_all(autogen_context: Any) -> _Run:
    """Every model column with a server default or generation expression, on a table the
    database has, mirrored in temporary tables that are read together and dropped together:
    plain defaults side by side (their expressions name no column), a table with computed columns
    whole. A side-by-side mirror the database refuses is retried table by table; a table it still
    refuses is left to Alembic's rules."""
    from ..dialects import for_backend

    run = _Run()
    connection = autogen_context.connection
    database = for_backend(connection.dialect.name)
    inspector = autogen_context.inspector
    existing: dict[str | None, set[str]] = {}
    side_by_side: list[tuple[tuple[str | None, str, str], Column[Any]]] = []
    planned: list[_Plan] = []
    for table in autogen_context.sorted_tables:
        if table.schema not in existing:
            existing[table.schema] = set(inspector.get_table_names(schema=table.schema))
        kinds = [_kind(column.server_default) for column in table.columns]
        if table.name not in existing[table.schema] or not {"default", "computed"} & set(kinds):
            continue
        if "computed" in kinds:
            planned.append(_whole(table))
        else:
            side_by_side += [
                ((table.schema, table.name, column.name), column)
                for column, kind in zip(table.columns, kinds, strict=True)
                if kind == "default"
            ]
    # Columns alike in type and default are read back alike: one of each is mirrored (a
    # created_at with now() on every table is one column).
    alike: dict[tuple[str, str], list[tuple[str | None, str, str]]] = {}
    distinct: list[tuple[tuple[str | None, str, str], Column[Any]]] = []
    for key, column in side_by_side:
        signature = _signature(column, connection.dialect)
        if signature is not None and signature in alike:
            alike[signature].append(key)
            continue
        if signature is not None:
            alike[signature] = [key]
        distinct.append((key, column))
    width = database.mirror_width
    for start in range(0, len(distinct), width):
        chunk = distinct[start : start + width]
        planned.append([(key, column, f"c{index}") for index, (key, column) in enumerate(chunk)])

    drop = database.drop_temporary_sql
    transactional = drop("t") is None  # else a mirror outlives a rollback: each is dropped
    outer = connection.begin_nested() if transactional else None
    made: dict[str, _Plan] = {}
    try:
        while planned:
            plan = planned.pop(0)
            name = f"asyncmigrate_mirror_{next(_names)}"
            columns = [_mirror_column(column, as_name) for _, column, as_name in plan]
            if _create(connection, name, columns, transactional):
                made[name] = plan
                continue
            tables = {id(column.table): column.table for _, column, _ in plan}
            if len(tables) > 1:
                planned += [_whole(table) for table in tables.values() if isinstance(table, Table)]
        reflected = _read(connection, list(made))
    finally:
        if outer is not None:
            outer.rollback()
        else:
            for name in made:
                connection.exec_driver_sql(drop(name) or "")
    for name, plan in made.items():
        for key, column, as_name in plan:
            if as_name in reflected.get(name, {}):
                run.expected[key] = reflected[name][as_name]
                signature = _signature(column, connection.dialect)
                for other in alike.get(signature, []) if signature is not None else []:
                    run.expected.setdefault(other, reflected[name][as_name])
    return run


def _signature(column: Column[Any], dialect: Any) -> tuple[str, str] | None:
    """The column's type and plain default as the database is sent them (None: not comparable
    this way, mirror it on its own)."""
    try:
        type_ = str(column.type.compile(dialect=dialect))
        default = column.server_default.arg  # type: ignore[union-attr]
        text = (
            default
            if isinstance(default, str)
            else str(default.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        )
    except Exception:  # noqa: BLE001 - a type or default that does not compile alone
        return None
    return (type_, text)


def _real(autogen_context: Any, run: _Run, table: Table) -> _Reflected:
    """The real table's columns read the plain way (once per table, and only where needed)."""
    key = (table.schema, table.name)
    if key not in run.real:
        try:
            run.real[key] = _texts(
                inspect(autogen_context.connection).get_columns(table.name, schema=table.schema)
            )
        except SQLAlchemyError:
            run.real[key] = {}
    return run.real[key]


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
    if (
        isinstance(metadata_col.server_default, Identity)
        and conn_kind is None
        and not autogen_context.dialect.supports_identity_columns
    ):
        # SQLite, MySQL, MariaDB: no identity columns; SQLAlchemy made an autoincrement, or
        # nothing, of the model's Identity() and Alembic reads its absence as a change.
        return PriorityDispatchResult.STOP
    if model_kind not in ("default", "computed") or conn_kind == "other":
        return PriorityDispatchResult.CONTINUE  # nothing declared, identity, sequences: Alembic's
    if autogen_context.connection is None or not isinstance(metadata_col.table, Table):
        return PriorityDispatchResult.CONTINUE
    run = _runs.get(autogen_context)
    if run is None:
        run = _runs[autogen_context] = _mirror_all(autogen_context)
    table = metadata_col.table
    expected = run.expected.get((table.schema, table.name, cname))
    if expected is None:
        return PriorityDispatchResult.CONTINUE
    if conn_kind is not None:
        actual: tuple[str, str] | None = (conn_kind, _bare(_conn_text(conn_col.server_default)))
    else:
        # Alembic's reading drops the default it takes for a SERIAL's (a model may still spell
        # it out, as sqlacodegen does): read that column the plain way, as the mirror was.
        actual = _real(autogen_context, run, table).get(cname)
    if model_kind == "computed":
        # A changed expression cannot be altered: Alembic's comparator warns about it.
        return PriorityDispatchResult.STOP if actual == expected else PriorityDispatchResult.CONTINUE
    _keep_autoincrement(autogen_context, alter, metadata_col)
    alter.existing_server_default = conn_col.server_default
    if (
        actual is not None
        and actual != expected
        and _same_value(autogen_context, metadata_col, actual, expected)
    ):
        actual = expected
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


def _same_value(
    autogen_context: Any, column: Column[Any], actual: tuple[str, str], expected: tuple[str, str]
) -> bool:
    """Where the database keeps a default as written (SQLite), two spellings of one value
    (``0`` and ``'0'`` for a BOOLEAN) are asked of the database as values of the column's type."""
    from ..dialects import for_backend

    connection = autogen_context.connection
    try:
        type_sql = str(column.type.compile(dialect=connection.dialect))
    except Exception:  # noqa: BLE001 - a type that does not compile alone: the texts decide
        return False
    return for_backend(connection.dialect.name).same_default(connection, actual[1], expected[1], type_sql)


def setup(plugin: Plugin) -> None:
    # FIRST, after Alembic's own first comparator, which honours compare_server_default=False
    # or a function of the project's: both stop the group before this one runs.
    plugin.add_autogenerate_comparator(
        _compare_server_default, "column", "server_default", priority=DispatchPriority.FIRST
    )
