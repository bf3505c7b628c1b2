"""A normalised, comparable snapshot of a live database's schema, and a readable diff.

Built from SQLAlchemy's inspector ``get_multi_*`` calls, which read the catalog a few queries at a
time instead of one query per table, plus the inspector's enum, sequence and view listings. The
result is plain data (dicts, lists, strings): two snapshots compare with ``==``, and
:func:`diff_snapshots` says what differs in words a reviewer would use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

#: Tables that are bookkeeping, not schema.
IGNORED_TABLES = frozenset({"alembic_version", "asyncmigrate_history"})

Snapshot = dict[str, Any]


def _type_text(column_type: Any, dialect: Any) -> str:
    try:
        return str(column_type.compile(dialect=dialect))
    except Exception:
        return repr(column_type)


def _default_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    # SQLite keeps the quotes and parentheses as written; PostgreSQL adds casts. Normalise a
    # little so the same default compares equal before and after a round trip.
    return re.sub(r"\s+", " ", text)


def _key(name: tuple[str | None, str]) -> str:
    schema, table = name
    return f"{schema}.{table}" if schema else table


def _sorted(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: repr(sorted(item.items())))


class SnapshotCache:
    """Reflected tables kept between snapshots of one database, keyed by their fingerprint.

    A stairway takes four snapshots per revision, and most revisions touch one table: with the
    cache each snapshot costs one catalog query plus the reflection of the tables that changed.
    """

    def __init__(self) -> None:
        self.tables: dict[str, tuple[str, dict[str, Any]]] = {}


def _fingerprints(connection: Connection) -> dict[str, str] | None:
    from ..dialects import for_backend

    # (table, text) per table: equal text means an equal table, so its cached reflection holds
    sql = for_backend(connection.dialect.name).fingerprint_sql
    if sql is None:
        return None
    return {name: text or "" for name, text in connection.exec_driver_sql(sql)}


def take_snapshot(
    connection: Connection, *, ignore: Iterable[str] = IGNORED_TABLES, cache: SnapshotCache | None = None
) -> Snapshot:
    """The schema of the connection's default schema, as comparable plain data."""
    inspector = inspect(connection)
    ignored = set(ignore)
    names = [name for name in inspector.get_table_names() if name not in ignored]
    prints = _fingerprints(connection) if cache is not None else None
    tables: dict[str, Any] = {}
    stale = []
    for name in names:
        cached = cache.tables.get(name) if cache is not None and prints is not None else None
        if cached is not None and prints is not None and cached[0] == prints.get(name):
            tables[name] = cached[1]
        else:
            stale.append(name)
    fresh = _reflect_tables(inspector, connection.dialect, stale)
    tables.update(fresh)
    if cache is not None and prints is not None:
        for name in stale:
            cache.tables[name] = (prints.get(name, ""), fresh[name])
    tables = {name: tables[name] for name in sorted(tables)}
    snapshot: Snapshot = {"tables": tables}
    get_enums = getattr(inspector, "get_enums", None)
    if get_enums is not None:
        snapshot["enums"] = {enum["name"]: list(enum["labels"]) for enum in get_enums()}
    try:
        snapshot["sequences"] = sorted(inspector.get_sequence_names())
    except NotImplementedError:
        pass
    snapshot["views"] = {
        name: _default_text(inspector.get_view_definition(name)) for name in inspector.get_view_names()
    }
    return snapshot


def _reflect_tables(inspector: Any, dialect: Any, filter_names: list[str]) -> dict[str, Any]:
    """Reflect the named tables with the inspector's batched ``get_multi_*`` calls."""
    tables: dict[str, Any] = {name: {} for name in filter_names}
    if not filter_names:
        return tables
    columns = inspector.get_multi_columns(filter_names=filter_names)
    primary_keys = inspector.get_multi_pk_constraint(filter_names=filter_names)
    foreign_keys = inspector.get_multi_foreign_keys(filter_names=filter_names)
    indexes = inspector.get_multi_indexes(filter_names=filter_names)
    uniques = inspector.get_multi_unique_constraints(filter_names=filter_names)
    try:
        checks = inspector.get_multi_check_constraints(filter_names=filter_names)
    except NotImplementedError:
        checks = {}
    for name, cols in columns.items():
        tables[_key(name)]["columns"] = {
            col["name"]: {
                "type": _type_text(col["type"], dialect),
                "nullable": bool(col["nullable"]),
                "default": _default_text(col.get("default")),
                "identity": bool(col.get("identity")),
                "computed": (col.get("computed") or {}).get("sqltext") and str(col["computed"]["sqltext"]),
                "comment": col.get("comment"),
            }
            for col in cols
        }
    for name, pk in primary_keys.items():
        tables[_key(name)]["primary_key"] = {
            "name": pk.get("name"),
            "columns": list(pk.get("constrained_columns") or []),
        }
    for name, fks in foreign_keys.items():
        tables[_key(name)]["foreign_keys"] = _sorted(
            {
                "name": fk.get("name"),
                "columns": list(fk["constrained_columns"]),
                "references": f"{fk['referred_table']}({', '.join(fk['referred_columns'])})",
                "on_delete": (fk.get("options") or {}).get("ondelete"),
                "on_update": (fk.get("options") or {}).get("onupdate"),
            }
            for fk in fks
        )
    for name, found in indexes.items():
        tables[_key(name)]["indexes"] = _sorted(
            {
                "name": index.get("name"),
                "columns": [str(c) for c in index.get("column_names") or []],
                "expressions": [str(e) for e in index.get("expressions") or []],
                "unique": bool(index.get("unique")),
                "where": _default_text((index.get("dialect_options") or {}).get("postgresql_where")),
            }
            for index in found
        )
    for name, found in uniques.items():
        tables[_key(name)]["unique_constraints"] = _sorted(
            {"name": unique.get("name"), "columns": list(unique["column_names"])} for unique in found
        )
    for name, found in checks.items():
        tables[_key(name)]["check_constraints"] = _sorted(
            {"name": check.get("name"), "sqltext": _default_text(check.get("sqltext"))} for check in found
        )
    return tables


def _describe_column(column: dict[str, Any]) -> str:
    parts = [column["type"], "NULL" if column["nullable"] else "NOT NULL"]
    if column.get("default"):
        parts.append(f"DEFAULT {column['default']}")
    return " ".join(parts)


def _describe_item(kind: str, item: dict[str, Any]) -> str:
    name = item.get("name") or "(unnamed)"
    details = {k: v for k, v in item.items() if k != "name" and v not in (None, [], False)}
    rendered = ", ".join(f"{k}={v}" for k, v in details.items())
    return f"{kind} {name} ({rendered})"


def diff_snapshots(expected: Snapshot, actual: Snapshot) -> list[str]:
    """What ``actual`` has that ``expected`` does not, and the reverse, one line each."""
    lines: list[str] = []
    expected_tables, actual_tables = expected.get("tables", {}), actual.get("tables", {})
    for name in sorted(set(expected_tables) - set(actual_tables)):
        lines.append(f"table {name} is missing")
    for name in sorted(set(actual_tables) - set(expected_tables)):
        lines.append(f"table {name} should not exist")
    for name in sorted(set(expected_tables) & set(actual_tables)):
        lines += _diff_table(name, expected_tables[name], actual_tables[name])
    for kind in ("enums", "views"):
        want, got = expected.get(kind, {}), actual.get(kind, {})
        for key in sorted(set(want) | set(got)):
            if key not in got:
                lines.append(f"{kind[:-1]} {key} is missing")
            elif key not in want:
                lines.append(f"{kind[:-1]} {key} should not exist")
            elif want[key] != got[key]:
                lines.append(f"{kind[:-1]} {key} differs: expected {want[key]}, found {got[key]}")
    want_seq, got_seq = set(expected.get("sequences", [])), set(actual.get("sequences", []))
    lines += [f"sequence {s} is missing" for s in sorted(want_seq - got_seq)]
    lines += [f"sequence {s} should not exist" for s in sorted(got_seq - want_seq)]
    return lines


def _diff_table(table: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    want_cols, got_cols = expected.get("columns", {}), actual.get("columns", {})
    for col in sorted(set(want_cols) - set(got_cols)):
        lines.append(f"{table}.{col} is missing ({_describe_column(want_cols[col])})")
    for col in sorted(set(got_cols) - set(want_cols)):
        lines.append(f"{table}.{col} should not exist ({_describe_column(got_cols[col])})")
    for col in sorted(set(want_cols) & set(got_cols)):
        for attribute, want in want_cols[col].items():
            got = got_cols[col].get(attribute)
            if want != got:
                lines.append(f"{table}.{col}: {attribute} is {got!r}, expected {want!r}")
    if expected.get("primary_key") != actual.get("primary_key"):
        lines.append(
            f"{table}: primary key is {actual.get('primary_key')}, expected {expected.get('primary_key')}"
        )
    for kind, label in (
        ("foreign_keys", "foreign key"),
        ("indexes", "index"),
        ("unique_constraints", "unique constraint"),
        ("check_constraints", "check constraint"),
    ):
        want_items, got_items = expected.get(kind, []), actual.get(kind, [])
        for item in want_items:
            if item not in got_items:
                lines.append(f"{table}: {_describe_item(label, item)} is missing")
        for item in got_items:
            if item not in want_items:
                lines.append(f"{table}: {_describe_item(label, item)} should not exist")
    return lines
