"""Batched catalog reads for autogenerate (``check``, ``revision --autogenerate``) on wide schemas.

Alembic compares table by table through an Inspector. Alembic 1.20 already pre-loads the
per-table data with ``get_multi_*``, which PostgreSQL serves with a few catalog queries, but:

* on PostgreSQL, ``PostgresqlImpl.autogen_column_reflect`` sends one query per integer column with
  a ``nextval`` default, to learn whether the column owns its sequence (SERIAL);
* on SQLite, ``get_multi_*`` loops per table, and each table costs ~12 statements (PRAGMA
  table_xinfo, index_list, index_info per index, foreign_key_list, sqlite_master reads);
* importing the models and comparing them build many long-lived objects, and the garbage
  collector rescans them all again and again.

This module leaves Alembic's comparison as it is and only changes where its answers come from:
an Alembic plugin swaps in an Inspector whose SQLite PRAGMA and ``sqlite_master`` reads are
served from a handful of statements over all tables (table-valued PRAGMA functions), answers
the SERIAL question from one query over all sequences. Anything the batch did not cover falls
back to the query (or the code) SQLAlchemy or Alembic would have run, so the result stays
Alembic's. Only
asyncmigrate's own ``check``/``revision --autogenerate`` ask for the plugin; the plain
``alembic`` command and foreign ``env.py`` files run unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

from alembic.runtime.plugins import Plugin
from alembic.util import DispatchPriority, PriorityDispatchResult
from sqlalchemy import exc, inspect
from sqlalchemy.engine import Connection, Inspector

from ..cli.process import collector_paused
from ..internals import alembic as alembic_internals
from ..internals import sqlalchemy as sqlalchemy_internals

__all__ = ["AUTOGENERATE_PLUGINS", "collector_paused", "register"]

log = logging.getLogger(__name__)
#: Alembic's own logger for the SERIAL message, so the output is the one Alembic gives.
serial_log = logging.getLogger("alembic.ddl.postgresql")

PLUGIN_NAME = "asyncmigrate.batched_reflection"
#: What ``context.configure(autogenerate_plugins=...)`` gets: Alembic's default set, plus ours.
AUTOGENERATE_PLUGINS = ["alembic.autogenerate.*", PLUGIN_NAME]

_NEXTVAL = re.compile(r"nextval\('(.+?)'::regclass\)")


def batched_inspector(connection: Connection) -> Inspector:
    """An Inspector for ``connection`` whose per-table reads come from batched catalog queries."""
    inspector = inspect(connection)
    if connection.dialect.name == "sqlite":
        catalog = SqliteCatalog.read(connection)
        served = catalog.serving(inspector.dialect) if catalog is not None else None
        if served is not None:
            inspector.dialect = served
    return inspector


class SqliteCatalog:
    """The PRAGMA rows and ``CREATE`` statements of every table in ``main``, read at once.

    SQLite's dialect asks ``PRAGMA main.<pragma>(<table>)`` and, when that is empty,
    ``PRAGMA temp.<pragma>(<table>)``. With no temporary object at all, the second answer is
    always empty, so rows read with ``pragma_<pragma>(name, 'main')`` give the same result; with
    temporary objects, the batch is not used.
    """

    #: pragma -> statement returning (key, *the PRAGMA's own columns), in the PRAGMA's order.
    PRAGMAS = {
        "table_xinfo": (
            'SELECT m.name, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden'
            " FROM main.sqlite_master AS m, pragma_table_xinfo(m.name, 'main') AS p"
            " WHERE m.type = 'table'"
        ),
        "index_list": (
            'SELECT m.name, p.seq, p.name, p."unique", p.origin, p.partial'
            " FROM main.sqlite_master AS m, pragma_index_list(m.name, 'main') AS p"
            " WHERE m.type = 'table'"
        ),
        "index_info": (
            "SELECT l.name, p.seqno, p.cid, p.name"
            " FROM main.sqlite_master AS m, pragma_index_list(m.name, 'main') AS l,"
            " pragma_index_info(l.name, 'main') AS p WHERE m.type = 'table'"
        ),
        "foreign_key_list": (
            'SELECT m.name, p.id, p.seq, p."table", p."from", p."to", p.on_update, p.on_delete, p."match"'
            " FROM main.sqlite_master AS m, pragma_foreign_key_list(m.name, 'main') AS p"
            " WHERE m.type = 'table'"
        ),
    }

    def __init__(self, sql: dict[str, str], tables: set[str], pragmas: dict[str, dict[str, list[Any]]]):
        self.sql = sql
        self.tables = tables
        self.pragmas = pragmas

    @classmethod
    def read(cls, connection: Connection) -> SqliteCatalog | None:
        """Read the catalog in a few statements; None when it cannot stand in for the dialect."""
        try:
            if connection.exec_driver_sql("SELECT count(*) FROM temp.sqlite_master").scalar():
                return None
            sql: dict[str, str] = {}
            tables: set[str] = set()
            rows = connection.exec_driver_sql("SELECT name, type, sql FROM main.sqlite_master")
            for name, kind, text in rows:
                if kind in ("table", "view") and text is not None:
                    sql.setdefault(name, text)
                if kind == "table":
                    tables.add(name)
            pragmas: dict[str, dict[str, list[Any]]] = {}
            # One object per distinct string: column names, types and defaults repeat from table
            # to table, and Alembic's cache keeps them for the whole comparison.
            strings: dict[str, str] = {}
            for pragma, statement in cls.PRAGMAS.items():
                by_key: dict[str, list[Any]] = {name: [] for name in tables} if pragma != "index_info" else {}
                for key, *values in connection.exec_driver_sql(statement):
                    by_key.setdefault(key, []).append(
                        tuple([strings.setdefault(v, v) if type(v) is str else v for v in values])
                    )
                pragmas[pragma] = by_key
        except exc.DBAPIError as error:  # e.g. a virtual table whose module is not loaded
            log.debug("batched SQLite reflection not used: %s", error)
            return None
        return cls(sql, tables, pragmas)

    def release(self) -> None:
        """Forget the rows once Alembic has what it reads from them (its pre-loaded cache):
        ~10 MiB at 2000 tables that would otherwise stay through the whole comparison. Later
        reads, if any, go to SQLite as the dialect's own would."""
        self.sql = {}
        self.pragmas = {}

    @staticmethod
    def of(inspector: Inspector) -> SqliteCatalog | None:
        """The catalog serving ``inspector``'s dialect, if :func:`batched_inspector` set one."""
        return getattr(inspector.dialect, "asyncmigrate_catalog", None)

    def serving(self, dialect: Any) -> Any | None:
        """A copy of ``dialect`` whose PRAGMA and ``sqlite_master`` reads come from this catalog
        (None when this SQLAlchemy reads differently: then the dialect's own reads answer)."""
        served = sqlalchemy_internals.serve_sqlite_reads(
            dialect,
            lambda pragma, table: self.pragmas.get(pragma, {}).get(table),
            lambda table: self.sql.get(table),  # self.sql, not the dict of now: release() empties it
        )
        if served is not None:
            served.asyncmigrate_catalog = self
        return served


class SerialSequences:
    """Which column owns each sequence, for ``PostgresqlImpl.autogen_column_reflect``.

    Alembic asks, per integer column with a ``nextval('<seq>'::regclass)`` default, whether
    ``<seq>`` is owned by that very column (then it is a SERIAL and the default is dropped from
    the comparison). ``<seq>`` is the sequence's ``regclass`` text in this session, so one query
    over all sequences, keyed by ``oid::regclass::text``, answers every column.
    """

    QUERY = (
        "SELECT c.oid::regclass::text, c.relname, a.attname FROM pg_class AS c"
        " LEFT JOIN (pg_depend AS d JOIN pg_class AS t ON t.oid = d.refobjid"
        " JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid)"
        " ON d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
        " WHERE c.relkind = 'S'"
    )

    def __init__(self, impl: Any) -> None:
        self.impl = impl
        self.original = impl.autogen_column_reflect
        self.owners: dict[str, tuple[str, str] | None] | None = None

    def owner(self, inspector: Inspector, sequence: str) -> tuple[str, str] | None | bool:
        """(sequence name, owning column) or None; False when the batch does not know it."""
        if self.owners is None:
            owners: dict[str, tuple[str, str] | None] = {}
            with _connection_of(inspector) as connection:
                for text, relname, attname in connection.exec_driver_sql(self.QUERY):
                    if attname is None:
                        owners.setdefault(text, None)
                    elif owners.get(text) is None:  # the first owner, as Alembic's .first()
                        owners[text] = (relname, attname)
            self.owners = owners
        return self.owners.get(sequence, False)

    def column_reflect(self, inspector: Inspector, table: Any, column_info: Any) -> None:
        """Alembic's ``autogen_column_reflect``, with the sequence owner read from the batch."""
        from sqlalchemy.dialects.postgresql import BIGINT, INTEGER

        default = column_info.get("default")
        if not default or not isinstance(column_info["type"], (INTEGER, BIGINT)):
            return
        match = _NEXTVAL.match(default)
        if not match:
            return
        owner = self.owner(inspector, match.group(1))
        if owner is False:
            self.original(inspector, table, column_info)
            return
        if isinstance(owner, tuple) and owner[1] == column_info["name"]:
            serial_log.info(
                "Detected sequence named '%s' as owned by integer column '%s(%s)',"
                " assuming SERIAL and omitting",
                owner[0],
                table.name,
                owner[1],
            )
            del column_info["default"]


def _install(autogen_context: Any, upgrade_ops: Any) -> PriorityDispatchResult:
    """Runs first in autogenerate: give Alembic the batched Inspector and SERIAL lookup."""
    connection = autogen_context.connection
    if connection is None:
        return PriorityDispatchResult.CONTINUE
    autogen_context.inspector = batched_inspector(connection)
    impl = autogen_context.migration_context.impl
    if connection.dialect.name == "postgresql":
        from alembic.ddl.postgresql import PostgresqlImpl

        # Only Alembic's own hook is replaced: a custom impl keeps whatever it does.
        if type(impl).autogen_column_reflect is PostgresqlImpl.autogen_column_reflect:
            impl.autogen_column_reflect = SerialSequences(impl).column_reflect
    return PriorityDispatchResult.CONTINUE


@contextlib.contextmanager
def _connection_of(inspector: Inspector) -> Iterator[Connection]:
    """The connection ``inspector`` reads with: its bind, or a connection of its engine."""
    bind = inspector.bind
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as connection:
            yield connection


def _has_its_own(dialect: Any, method_name: str) -> bool:
    """Whether ``dialect``'s class replaces ``DefaultDialect``'s ``method_name`` (a
    ``get_multi_*`` of its own reads a whole schema at once)."""
    from sqlalchemy.engine.default import DefaultDialect

    mine = getattr(type(dialect), method_name, None)
    default = getattr(DefaultDialect, method_name, None)
    return getattr(mine, "__code__", mine) is not getattr(default, "__code__", default)


def _pre_cache_schemas(
    autogen_context: Any, upgrade_ops: Any, schemas: set[str | None]
) -> PriorityDispatchResult:
    """Runs before Alembic's table comparison: load every schema's tables with ``get_multi_*``.

    Alembic pre-loads under a cache key that does not name the schema, so with
    ``include_schemas`` only the first schema it visits is batched and every table of the
    others is reflected on its own. The same ``get_multi_*`` calls, merged under that key for
    all schemas, give Alembic the same data in a few statements per schema.

    On SQLite this also runs for one schema: once the cache is loaded, the batched catalog rows
    it was loaded from are released (:meth:`SqliteCatalog.release`).
    """
    if autogen_context.connection is None:
        return PriorityDispatchResult.CONTINUE
    inspector = autogen_context.inspector
    catalog = SqliteCatalog.of(inspector)
    if len(schemas) < 2 and catalog is None:
        return PriorityDispatchResult.CONTINUE
    insp_keys = alembic_internals.inspector_cache_keys()
    if insp_keys is None:  # another Alembic: its own per-schema reads answer, as without this plugin
        return PriorityDispatchResult.CONTINUE

    migration_context = autogen_context.migration_context
    names: dict[str | None, tuple[list[str], set[str]]] = {}
    for schema in schemas:
        available = set(inspector.get_table_names(schema=schema))
        tables = available
        if schema == migration_context.version_table_schema:
            tables = available - {migration_context.version_table}
        wanted = [t for t in tables if autogen_context.run_name_filters(t, "table", {"schema_name": schema})]
        names[schema] = (wanted, available)
    for key in insp_keys:
        info_key = f"alembic_{key}"
        if info_key in inspector.info_cache:
            continue
        method = getattr(inspector, f"get_multi_{key}")
        merged: dict[Any, Any] = {}
        try:
            for schema, (wanted, available) in names.items():
                # Alembic's heuristic: read the whole schema when most of its tables are wanted.
                whole = len(wanted) > 100 and len(wanted) / max(len(available), 1) > 0.5
                if whole and _has_its_own(inspector.dialect, method.__name__):
                    merged.update(method(schema=schema, filter_names=None))
                else:
                    merged.update(method(schema=schema, filter_names=wanted))
        except NotImplementedError:
            inspector.info_cache[info_key] = NotImplementedError
        else:
            inspector.info_cache[info_key] = merged
    if catalog is not None:
        catalog.release()
        _forget_per_table_results(inspector.info_cache)
    return PriorityDispatchResult.CONTINUE


def _forget_per_table_results(info_cache: dict[Any, Any]) -> None:
    """Drop the per-table results SQLAlchemy cached while ``get_multi_*`` ran: Alembic reads
    them from its own merged entries from now on, so each key (14 per table) only holds memory.
    A later per-table read would still be answered, from the database."""
    for key in [key for key in info_cache if isinstance(key, tuple) and key[0] != "get_table_names"]:
        del info_cache[key]


def setup(plugin: Plugin) -> None:
    plugin.add_autogenerate_comparator(_install, "autogenerate", priority=DispatchPriority.FIRST)
    plugin.add_autogenerate_comparator(_pre_cache_schemas, "schema", priority=DispatchPriority.FIRST)


def register() -> None:
    """Make the plugin known to Alembic (once per process); a run still has to ask for it."""
    import sys

    from ..autogenerate.plugins import register_once

    register_once(sys.modules[__name__], PLUGIN_NAME)
